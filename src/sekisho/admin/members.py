"""Admin routes for users and project members."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter, Response

from sekisho.admin.deps import (
    MembersManager,
    MembersReader,
    ProjectMembersManager,
    ProjectMembersReader,
    Services,
    in_thread,
    org_scope,
)
from sekisho.admin.models import ProjectMemberIn, ProjectMemberOut, UserIn, UserOut, UserPatch
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.identity import Principal
from sekisho.identity.members import MemberStore
from sekisho.identity.permissions import Perm


def _owner_only(caller: Principal, role: str | None) -> None:
    # Admins hold every permission, so the one thing that still separates them from owners is
    # making (or unmaking) owners.
    if role == "owner" and not (caller.superuser or "owner" in caller.org_roles):
        raise forbidden("Only an owner can grant the owner role.", code="insufficient_role")


def member_routes(router: APIRouter) -> None:
    """Add /users and /projects/{id}/members routes to ``router``."""

    def members(services: Services) -> MemberStore:
        return MemberStore(services.engine, services.audit)

    @router.get("/users", response_model=list[UserOut])
    async def list_users(
        caller: MembersReader, services: Services, org_id: str | None = None
    ) -> list[dict[str, object]]:
        org = org_scope(caller, org_id, services)
        return [asdict(u) for u in await in_thread(lambda: services.tenancy.list_users(org))]

    @router.post("/users", response_model=UserOut, status_code=201)
    async def create_user(body: UserIn, caller: MembersManager, services: Services) -> dict[str, object]:
        org = org_scope(caller, body.org_id, services)
        _owner_only(caller, body.role)
        user = await in_thread(
            lambda: services.tenancy.create_user(
                org,
                body.email,
                body.name,
                body.role,
                actor=caller.actor,
                service_account=body.service_account,
            )
        )
        return asdict(user)

    @router.get("/users/{user_id}", response_model=UserOut)
    async def get_user(
        user_id: str, caller: MembersReader, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        return asdict(await in_thread(lambda: services.tenancy.get_user(user_id, org)))

    @router.patch("/users/{user_id}", response_model=UserOut)
    async def update_user(
        user_id: str, body: UserPatch, caller: MembersManager, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        current = await in_thread(lambda: services.tenancy.get_user(user_id, org))
        _owner_only(caller, body.role)
        if current.role == "owner" and body.role not in (None, "owner"):
            _owner_only(caller, "owner")
        if current.id == caller.user_id and (body.active is False or body.role not in (None, current.role)):
            raise GatewayError(
                409, "You cannot deactivate yourself or change your own role.", code="conflict"
            )
        user, revoked = await in_thread(
            lambda: members(services).update_user(
                current.id, org, actor=caller.actor, role=body.role, name=body.name, active=body.active
            )
        )
        for key_id in revoked:
            services.authenticator.forget(key_id)
        if body.role is not None:
            # Cached keys carry the old role: re-read them on next use.
            for key in await in_thread(lambda: services.tenancy.list_keys(org)):
                if key.user_id == user.id:
                    services.authenticator.forget(key.id)
        return asdict(user)

    @router.get("/projects/{project_id}/members", response_model=list[ProjectMemberOut])
    async def list_project_members(
        project_id: str, caller: ProjectMembersReader, services: Services, org_id: str | None = None
    ) -> list[dict[str, object]]:
        org = org_scope(caller, org_id, services)
        _project_visible(caller, Perm.MEMBERS_READ, project_id)
        return [
            asdict(m)
            for m in await in_thread(lambda: members(services).list_project_members(project_id, org))
        ]

    @router.put("/projects/{project_id}/members/{user_id}", response_model=ProjectMemberOut)
    async def set_project_member(
        project_id: str,
        user_id: str,
        body: ProjectMemberIn,
        caller: ProjectMembersManager,
        services: Services,
        org_id: str | None = None,
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        _project_visible(caller, Perm.MEMBERS_MANAGE, project_id)
        if body.user_id != user_id:
            raise GatewayError(
                400, "user_id in the body must match the path", param="user_id", code="invalid_value"
            )
        member = await in_thread(
            lambda: members(services).set_project_member(
                project_id, user_id, body.role, org, actor=caller.actor
            )
        )
        return asdict(member)

    @router.delete("/projects/{project_id}/members/{user_id}", status_code=204)
    async def remove_project_member(
        project_id: str,
        user_id: str,
        caller: ProjectMembersManager,
        services: Services,
        org_id: str | None = None,
    ) -> Response:
        org = org_scope(caller, org_id, services)
        _project_visible(caller, Perm.MEMBERS_MANAGE, project_id)
        await in_thread(
            lambda: members(services).remove_project_member(project_id, user_id, org, actor=caller.actor)
        )
        return Response(status_code=204)


def _project_visible(caller: Principal, perm: Perm, project_id: str) -> None:
    if not caller.can(perm, project_id):
        raise GatewayError(404, f"project {project_id!r} not found", code="not_found")
