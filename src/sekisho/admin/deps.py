"""Authentication, role checks and organisation scoping shared by every admin route."""

from __future__ import annotations

from collections.abc import Callable
from typing import Annotated, TypeVar

import anyio
from fastapi import Depends, Request

from sekisho.admin.services import AdminServices
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.identity import AuthError, Conflict, NotFound, Principal

T = TypeVar("T")
READ_USAGE = frozenset({"owner", "admin", "auditor", "analytics_viewer"})
"""Roles that may read usage and cost."""
READ_AUDIT = frozenset({"owner", "admin", "auditor"})
"""Roles that may read and verify the audit log."""


def services_of(request: Request) -> AdminServices:
    services: AdminServices = request.app.state.admin
    return services


async def principal_of(request: Request) -> Principal:
    try:
        return await services_of(request).authenticator.authenticate(request.headers.get("authorization"))
    except AuthError as exc:
        raise GatewayError(exc.status, str(exc), type=exc.type, code=exc.code) from None


Caller = Annotated[Principal, Depends(principal_of)]
Services = Annotated[AdminServices, Depends(services_of)]


def require(principal: Principal, roles: frozenset[str] | None = None) -> None:
    allowed = principal.superuser or (principal.role in roles if roles else principal.is_admin)
    if not allowed:
        raise forbidden("Your role does not allow this action.", code="insufficient_role")


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
