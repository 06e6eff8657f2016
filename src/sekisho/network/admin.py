"""Admin routes: /admin/v1/network-rules, /admin/v1/domains, /admin/v1/client-certificates.

Changing them takes the ``identity:manage`` permission (owners and admins), reading them
``identity:read``; another organisation's objects answer 404. Every change is written to the audit
log in the transaction that makes it.
"""

from __future__ import annotations

from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request, Response

from sekisho.admin.deps import IdentityManager, IdentityReader, Services, in_thread, org_scope
from sekisho.gateway.errors import GatewayError, bad_request
from sekisho.network.cert_store import CertificateMapping
from sekisho.network.certs import (
    CertificateError,
    fingerprint,
    load_pem_chain,
    normalise_fingerprint,
    normalise_subject,
)
from sekisho.network.domains import DnsUnavailable, VerifiedDomain
from sekisho.network.models import (
    ClientCertificateIn,
    ClientCertificateOut,
    DomainIn,
    DomainOut,
    NetworkRuleIn,
    NetworkRuleOut,
)
from sekisho.network.services import NetworkServices


def network_of(request: Request) -> NetworkServices:
    services: NetworkServices = request.app.state.network
    return services


Network = Annotated[NetworkServices, Depends(network_of)]


def network_admin_router() -> APIRouter:
    """All network admin routes."""
    router = APIRouter(prefix="/admin/v1", tags=["network"])
    _rule_routes(router)
    _domain_routes(router)
    _certificate_routes(router)
    return router


def _rule_routes(router: APIRouter) -> None:
    @router.get("/network-rules", response_model=list[NetworkRuleOut])
    async def list_rules(
        caller: IdentityReader, services: Services, net: Network, org_id: str | None = None
    ) -> list[Any]:
        """The organisation's IP allow-list: org-wide rules, then per-project rules."""
        org = org_scope(caller, org_id, services)
        return await in_thread(lambda: net.rules.list(org))

    @router.post("/network-rules", response_model=NetworkRuleOut, status_code=201)
    async def create_rule(
        body: NetworkRuleIn, request: Request, caller: IdentityManager, services: Services, net: Network
    ) -> Any:
        """Allow a network. An org-wide rule that excludes your own address needs ``force``."""
        org = org_scope(caller, body.org_id, services)
        address = net.trusted.client_address(request.scope)
        return await in_thread(
            lambda: net.rules.create(
                org,
                body.cidr,
                project_id=body.project_id,
                note=body.note,
                actor=caller.actor,
                caller_address=address,
                force=body.force,
            )
        )

    @router.delete("/network-rules/{rule_id}", status_code=204)
    async def delete_rule(
        rule_id: str,
        request: Request,
        caller: IdentityManager,
        services: Services,
        net: Network,
        org_id: str | None = None,
        force: bool = False,
    ) -> Response:
        """Remove a rule; removing the org-wide rule your address depends on needs ``force``."""
        org = org_scope(caller, org_id, services)
        address = net.trusted.client_address(request.scope)
        await in_thread(
            lambda: net.rules.delete(rule_id, org, actor=caller.actor, caller_address=address, force=force)
        )
        return Response(status_code=204)


def _domain_out(found: VerifiedDomain) -> dict[str, Any]:
    return {
        "id": found.id,
        "org_id": found.org_id,
        "domain": found.domain,
        "verified": found.verified,
        "verified_at": found.verified_at,
        "join_policy": found.join_policy,
        "default_role": found.default_role,
        "created_at": found.created_at,
        "created_by": found.created_by,
        "txt_record": {"name": found.record_name, "type": "TXT", "value": found.record_value},
        "record": found.record,
    }


def _domain_routes(router: APIRouter) -> None:
    @router.get("/domains", response_model=list[DomainOut])
    async def list_domains(
        caller: IdentityReader, services: Services, net: Network, org_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The organisation's domains, verified or waiting for their TXT record."""
        org = org_scope(caller, org_id, services)
        return [_domain_out(d) for d in await in_thread(lambda: net.domains.list(org))]

    @router.post("/domains", response_model=DomainOut, status_code=201)
    async def create_domain(
        body: DomainIn, caller: IdentityManager, services: Services, net: Network
    ) -> dict[str, Any]:
        """Claim a domain; the answer holds the TXT record to publish before verifying."""
        org = org_scope(caller, body.org_id, services)
        found = await in_thread(
            lambda: net.domains.create(
                org,
                body.domain,
                join_policy=body.join_policy,
                default_role=body.default_role,
                actor=caller.actor,
            )
        )
        return _domain_out(found)

    @router.post("/domains/{domain_id}/verify", response_model=DomainOut)
    async def verify_domain(
        domain_id: str, caller: IdentityManager, services: Services, net: Network, org_id: str | None = None
    ) -> dict[str, Any]:
        """Look the TXT record up in DNS; on success the domain is verified."""
        org = org_scope(caller, org_id, services)
        found = await in_thread(lambda: net.domains.get(domain_id, org))
        if found.verified:
            return _domain_out(found)
        try:
            published = await net.domains.published(found)
        except DnsUnavailable as exc:
            raise GatewayError(
                503,
                f"DNS could not be asked for {found.record_name} ({exc}); try again later.",
                type="api_error",
                code="dns_unavailable",
            ) from None
        if not published:
            raise bad_request(
                f"The TXT record was not found. Publish {found.record} and try again "
                "(DNS changes can take a while to be seen).",
                code="domain_not_verified",
            )
        verified = await in_thread(lambda: net.domains.mark_verified(domain_id, org, actor=caller.actor))
        return _domain_out(verified)

    @router.delete("/domains/{domain_id}", status_code=204)
    async def delete_domain(
        domain_id: str, caller: IdentityManager, services: Services, net: Network, org_id: str | None = None
    ) -> Response:
        """Give up a domain."""
        org = org_scope(caller, org_id, services)
        await in_thread(lambda: net.domains.delete(domain_id, org, actor=caller.actor))
        return Response(status_code=204)


def _certificate_out(mapping: CertificateMapping) -> dict[str, Any]:
    return {
        "id": mapping.id,
        "org_id": mapping.org_id,
        "project_id": mapping.project_id,
        "user_id": mapping.user_id,
        "fingerprint_sha256": mapping.fingerprint_sha256,
        "subject": mapping.subject,
        "models": list(mapping.models) if mapping.models is not None else None,
        "active": mapping.revoked_at is None,
        "created_at": mapping.created_at,
        "created_by": mapping.created_by,
        "revoked_at": mapping.revoked_at,
    }


def _identify(body: ClientCertificateIn, net: NetworkServices) -> tuple[str | None, str | None]:
    """(fingerprint, subject) from the body: exactly one of fingerprint, subject or PEM."""
    given = [v for v in (body.fingerprint_sha256, body.subject, body.pem) if v is not None]
    if len(given) != 1:
        raise bad_request("Give exactly one of fingerprint_sha256, subject or pem.", code="invalid_value")
    try:
        if body.fingerprint_sha256 is not None:
            return normalise_fingerprint(body.fingerprint_sha256), None
        if body.subject is not None:
            return None, normalise_subject(body.subject)
        chain = load_pem_chain(body.pem or "")
        if net.verifier is not None:
            # Refuse now what would be refused at every call: another CA's, or an expired, certificate.
            net.verifier.verify(chain[0], chain[1:])
        return fingerprint(chain[0]), None
    except (CertificateError, ValueError) as exc:
        raise bad_request(str(exc), code="invalid_value") from None


def _certificate_routes(router: APIRouter) -> None:
    @router.get("/client-certificates", response_model=list[ClientCertificateOut])
    async def list_certificates(
        caller: IdentityReader, services: Services, net: Network, org_id: str | None = None
    ) -> list[dict[str, Any]]:
        """Client certificates mapped to the organisation's service accounts (revoked ones too)."""
        org = org_scope(caller, org_id, services)
        return [_certificate_out(m) for m in await in_thread(lambda: net.certificates.list(org))]

    @router.post("/client-certificates", response_model=ClientCertificateOut, status_code=201)
    async def create_certificate(
        body: ClientCertificateIn, caller: IdentityManager, services: Services, net: Network
    ) -> dict[str, Any]:
        """Map a client certificate to a service account and project."""
        org = org_scope(caller, body.org_id, services)
        fingerprint_sha256, subject = _identify(body, net)
        mapping = await in_thread(
            lambda: net.certificates.create(
                org,
                project_id=body.project_id,
                user_id=body.user_id,
                service_account_name=body.service_account_name,
                fingerprint_sha256=fingerprint_sha256,
                subject=subject,
                models=body.models,
                actor=caller.actor,
            )
        )
        return _certificate_out(mapping)

    @router.delete("/client-certificates/{cert_id}", status_code=204)
    async def revoke_certificate(
        cert_id: str, caller: IdentityManager, services: Services, net: Network, org_id: str | None = None
    ) -> Response:
        """Stop accepting the certificate (at once here; within the key cache time elsewhere)."""
        org = org_scope(caller, org_id, services)
        await in_thread(lambda: net.certificates.revoke(cert_id, org, actor=caller.actor))
        if net.gate.certificates is not None:
            net.gate.certificates.forget()
        return Response(status_code=204)
