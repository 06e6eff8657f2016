"""Authentication, permission checks and organisation scoping shared by every admin route.

A route declares what it needs with a ``Principal`` parameter annotated by one of the aliases
below (``Annotated[Principal, Depends(Allow(Perm.X))]``). ``Allow`` is the only place a route's
permission is checked against the caller's roles, and the route × role test finds it on every route.
Callers authenticate with an API key (``Authorization: Bearer``) or a console session cookie; with
the cookie, a state-changing request must also carry the session's CSRF token.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from sekisho.accounts.cookies import CSRF_HEADER
from sekisho.admin.services import AdminServices
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.identity import AuthError, Conflict, NotFound, Principal
from sekisho.identity.permissions import Perm

T = TypeVar("T")


def services_of(request: Request) -> AdminServices:
    services: AdminServices = request.app.state.admin
    return services


async def principal_of(request: Request) -> Principal:
    """The caller: by API key when an Authorization header is sent, else by session cookie."""
    services = services_of(request)
    authorization = request.headers.get("authorization")
    try:
        token = request.cookies.get(services.cookie_name) if authorization is None else None
        if token:
            principal = await services.sessions.authenticate(
                token, method=request.method, csrf_header=request.headers.get(CSRF_HEADER)
            )
        else:
            principal = await services.authenticator.authenticate(authorization)
    except AuthError as exc:
        raise GatewayError(exc.status, str(exc), type=exc.type, code=exc.code) from None
    check = services.network_check
    if check is not None:
        await check(principal, request)
    return principal


class Allow:
    """Dependency: the caller, if it holds ``perm`` organisation-wide — or, with ``per_project``,
    for at least one project (the route then narrows what it shows or changes to those projects)."""

    def __init__(self, perm: Perm, *, per_project: bool = False) -> None:
        self.perm = perm
        self.per_project = per_project

    async def __call__(self, principal: Annotated[Principal, Depends(principal_of)]) -> Principal:
        allowed = principal.can(self.perm) or (
            self.per_project and principal.projects_with(self.perm) != frozenset()
        )
        if allowed:
            return principal
        raise forbidden(
            f"Your role does not include the permission {self.perm.value!r}.", code="insufficient_role"
        )


class MasterKeyOnly:
    """Dependency for the few operator actions only the bootstrap master key may take."""

    perm = "master-key"

    async def __call__(self, principal: Annotated[Principal, Depends(principal_of)]) -> Principal:
        if not principal.superuser:
            raise forbidden("Only the master key may do this.", code="insufficient_role")
        return principal


class Authenticated:
    """Dependency for routes any signed-in caller of an organisation may use (their own things)."""

    perm = None

    async def __call__(self, principal: Annotated[Principal, Depends(principal_of)]) -> Principal:
        return principal


Caller = Annotated[Principal, Depends(Authenticated())]
MasterKey = Annotated[Principal, Depends(MasterKeyOnly())]
OrgReader = Annotated[Principal, Depends(Allow(Perm.ORG_READ))]
ProjectReader = Annotated[Principal, Depends(Allow(Perm.ORG_READ, per_project=True))]
OrgManager = Annotated[Principal, Depends(Allow(Perm.ORG_MANAGE))]
MembersReader = Annotated[Principal, Depends(Allow(Perm.MEMBERS_READ))]
MembersManager = Annotated[Principal, Depends(Allow(Perm.MEMBERS_MANAGE))]
ProjectMembersReader = Annotated[Principal, Depends(Allow(Perm.MEMBERS_READ, per_project=True))]
ProjectMembersManager = Annotated[Principal, Depends(Allow(Perm.MEMBERS_MANAGE, per_project=True))]
KeysReader = Annotated[Principal, Depends(Allow(Perm.KEYS_READ, per_project=True))]
KeysManager = Annotated[Principal, Depends(Allow(Perm.KEYS_MANAGE, per_project=True))]
UsageReader = Annotated[Principal, Depends(Allow(Perm.USAGE_READ, per_project=True))]
AuditReader = Annotated[Principal, Depends(Allow(Perm.AUDIT_READ))]
PolicyReader = Annotated[Principal, Depends(Allow(Perm.POLICY_READ))]
PolicyManager = Annotated[Principal, Depends(Allow(Perm.POLICY_MANAGE))]
ReviewReader = Annotated[Principal, Depends(Allow(Perm.REVIEW_READ))]
ReviewDecider = Annotated[Principal, Depends(Allow(Perm.REVIEW_DECIDE))]
EnforcementReader = Annotated[Principal, Depends(Allow(Perm.ENFORCEMENT_READ))]
EnforcementManager = Annotated[Principal, Depends(Allow(Perm.ENFORCEMENT_MANAGE))]
AppealsDecider = Annotated[Principal, Depends(Allow(Perm.APPEALS_DECIDE))]
TransparencyReader = Annotated[Principal, Depends(Allow(Perm.TRANSPARENCY_READ))]
IdentityReader = Annotated[Principal, Depends(Allow(Perm.IDENTITY_READ))]
IdentityManager = Annotated[Principal, Depends(Allow(Perm.IDENTITY_MANAGE))]
BudgetsReader = Annotated[Principal, Depends(Allow(Perm.BUDGETS_READ))]
BudgetsManager = Annotated[Principal, Depends(Allow(Perm.BUDGETS_MANAGE))]
Services = Annotated[AdminServices, Depends(services_of)]


def require(principal: Principal, perm: Perm, project_id: str | None = None) -> None:
    """A second, object-level check inside a route (e.g. the project a key belongs to)."""
    if not principal.can(perm, project_id):
        raise forbidden(
            f"Your role does not include the permission {perm.value!r} here.", code="insufficient_role"
        )


def org_scope(principal: Principal, requested: str | None, services: AdminServices) -> str:
    """The organisation a call acts on: the caller's own, or any one for the master key."""
    if principal.superuser:
        if requested is None:
            return services.tenancy.ensure_default_org().id
        return found(lambda: services.tenancy.get_org(requested)).id
    if requested is not None and requested != principal.org_id:
        raise GatewayError(404, f"organisation {requested!r} not found", code="not_found")
    if principal.org_id is None:  # pragma: no cover - only the master key has no organisation
        raise forbidden("no organisation")
    return principal.org_id


def found(fn: Callable[[], T]) -> T:
    """Run a lookup, turning NotFound into a 404 and Conflict into a 409."""
    try:
        return fn()
    except (NotFound, ValueError) as exc:
        raise http_error(exc) from None


def http_error(exc: NotFound | ValueError) -> GatewayError:
    """NotFound → 404, Conflict → 409, any other ValueError → 400."""
    if isinstance(exc, NotFound):
        return GatewayError(404, str(exc), code="not_found")
    if isinstance(exc, Conflict):
        return GatewayError(409, str(exc), code="conflict")
    return GatewayError(400, str(exc), code="invalid_value")


async def in_thread(fn: Callable[[], T]) -> T:
    """Run a blocking store call off the event loop, with NotFound/Conflict mapped to HTTP errors."""
    return await anyio.to_thread.run_sync(found, fn)
