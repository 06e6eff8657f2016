"""Admin routes for sign-in: the organisation's security settings, a user's password and MFA.

Within the caller's own organisation only (another organisation's user answers 404). Only an owner
may set an owner's password or reset an owner's MFA: otherwise an admin could take over the
owner's account, and with it the organisation.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Request

from sekisho.accounts.models import PasswordSetIn, SessionsRevokedOut
from sekisho.accounts.web import accounts_of, run
from sekisho.admin.deps import IdentityReader, MembersManager, OrgManager, Services, in_thread, org_scope
from sekisho.admin.services import AdminServices
from sekisho.gateway.errors import forbidden
from sekisho.identity import Principal, User
from sekisho.identity.org_settings import OrgSecurity


def accounts_admin_router() -> APIRouter:
    """``/admin/v1/org/security`` and ``/admin/v1/users/{user_id}/password|mfa/reset``."""
    router = APIRouter(prefix="/admin/v1", tags=["admin"])

    @router.get("/org/security", response_model=OrgSecurity)
    async def get_security(
        request: Request, caller: IdentityReader, services: Services, org_id: str | None = None
    ) -> OrgSecurity:
        """The organisation's security settings (require MFA, session lifetimes)."""
        org = org_scope(caller, org_id, services)
        policy = accounts_of(request).policy
        return await run(lambda: policy.get(org))

    @router.put("/org/security", response_model=OrgSecurity)
    async def put_security(
        body: OrgSecurity, request: Request, caller: OrgManager, services: Services, org_id: str | None = None
    ) -> OrgSecurity:
        """Replace the organisation's security settings (omitted fields return to their defaults).

        Turning ``require_mfa`` on restricts live password sessions of members without MFA to
        enrolment at once; shorter lifetimes shorten live sessions too.
        """
        org = org_scope(caller, org_id, services)
        policy = accounts_of(request).policy
        return await run(lambda: policy.update(org, body, actor=caller.actor))

    @router.post("/users/{user_id}/password", response_model=SessionsRevokedOut)
    async def set_password(
        user_id: str,
        body: PasswordSetIn,
        request: Request,
        caller: MembersManager,
        services: Services,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """Set a user's initial or temporary password; ends their sessions and lifts a lock-out."""
        target = await _target(caller, services, user_id, org_id)
        signin = accounts_of(request).signin
        ended = await run(lambda: signin.set_password(target.id, body.password, actor=caller.actor))
        return {"user_id": target.id, "sessions_revoked": ended}

    @router.post("/users/{user_id}/mfa/reset", response_model=SessionsRevokedOut)
    async def reset_mfa(
        user_id: str, request: Request, caller: MembersManager, services: Services, org_id: str | None = None
    ) -> dict[str, Any]:
        """Turn a user's MFA off (lost device); ends their sessions. They enrol again if required."""
        target = await _target(caller, services, user_id, org_id)
        mfa = accounts_of(request).mfa
        ended = await run(lambda: mfa.reset(target.id, actor=caller.actor))
        return {"user_id": target.id, "sessions_revoked": ended}

    return router


async def _target(caller: Principal, services: AdminServices, user_id: str, org_id: str | None) -> User:
    org = org_scope(caller, org_id, services)
    user = await in_thread(lambda: services.tenancy.get_user(user_id, org))
    if user.role == "owner" and not (caller.superuser or "owner" in caller.org_roles):
        raise forbidden("Only an owner can change an owner's sign-in.", code="insufficient_role")
    return user
