"""Where the network rules meet requests: the gateway's Authenticate stage and the admin API.

``NetworkGate`` is called by ``sekisho.gateway.stages.Authenticate`` (client certificates, then the
allow-lists of the caller's organisation and project); ``check_admin`` by the admin API's
authentication dependency (the organisation's allow-list only: administration is not per project).
The master key is exempt: it belongs to the operator, not to an organisation, and is the way back
in when an organisation's administrators have locked themselves out.
"""

from __future__ import annotations

from starlette.requests import Request
from starlette.types import Scope

from sekisho.gateway.errors import GatewayError
from sekisho.identity import Principal
from sekisho.network.addresses import IPAddress
from sekisho.network.client import TrustedProxies
from sekisho.network.context import current_scope
from sekisho.network.mtls import ClientCertAuth
from sekisho.network.policy import OPEN, NetworkPolicy

CODE = "ip_not_allowed"


def ip_not_allowed(address: IPAddress | None, *, project: bool = False) -> GatewayError:
    """403 in OpenAI's format, naming the address Sekisho saw so the caller can tell an admin."""
    seen = f"your address {address}" if address is not None else "your address could not be determined"
    scope = "this project" if project else "this organisation"
    return GatewayError(
        403,
        f"Requests to {scope} are accepted only from its allowed networks, and {seen}"
        f"{' is not one of them' if address is not None else ''}.",
        type="permission_error",
        code=CODE,
    )


class NetworkGate:
    """Client-certificate authentication and IP allow-list checks for one application."""

    def __init__(
        self, trusted: TrustedProxies, policy: NetworkPolicy, certificates: ClientCertAuth | None
    ) -> None:
        self.trusted = trusted
        self.policy = policy
        self.certificates = certificates

    async def authenticate(self, authorization: str | None) -> Principal | None:
        """The principal of the request's client certificate when it sent no Authorization header.

        None when mTLS is off, a key was sent, or no certificate came (the key authenticator then
        answers); AuthError when a certificate came and is refused.
        """
        if authorization or self.certificates is None:
            return None
        scope = current_scope()
        if scope is None:
            return None
        return await self.certificates.authenticate(scope, self.trusted)

    async def check_call(self, principal: Principal) -> None:
        """A model (or other /v1) call: the organisation's and the project's allow-lists."""
        if principal.superuser or principal.org_id is None:
            return
        networks = self.policy.cached(principal.org_id) or await self.policy.networks(principal.org_id)
        if networks is OPEN:
            return
        scope = current_scope()
        address = self.trusted.client_address(scope) if scope is not None else None
        if not networks.allows_org(address):
            raise ip_not_allowed(address)
        if not networks.allows(address, principal.project_id):
            raise ip_not_allowed(address, project=True)

    async def check_admin(self, principal: Principal, scope: Scope) -> None:
        """An admin API call: the organisation's allow-list."""
        if principal.superuser or principal.org_id is None:
            return
        networks = self.policy.cached(principal.org_id) or await self.policy.networks(principal.org_id)
        if networks is OPEN:
            return
        address = self.trusted.client_address(scope)
        if not networks.allows_org(address):
            raise ip_not_allowed(address)


async def check_admin(principal: Principal, request: Request) -> None:
    """For the admin API's auth dependency: GatewayError 403 ``ip_not_allowed`` when the caller's
    organisation has an allow-list and the request comes from outside it."""
    services = getattr(request.app.state, "network", None)
    if services is not None:
        gate: NetworkGate = services.gate
        await gate.check_admin(principal, request.scope)
