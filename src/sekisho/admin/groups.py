"""Admin routes for groups and their members."""

from __future__ import annotations

from dataclasses import asdict

from fastapi import APIRouter

from sekisho.admin.deps import MembersManager, MembersReader, Services, in_thread, org_scope
from sekisho.admin.models import GroupGrantsIn, GroupIn, GroupMemberIn, GroupOut
from sekisho.gateway.errors import forbidden
from sekisho.identity import Group


def _out(group: Group) -> dict[str, object]:
    data = asdict(group)
    data["member_ids"] = list(group.member_ids)
    data["project_roles"] = dict(group.project_roles)
    return data


def group_routes(router: APIRouter) -> None:
    """Add /groups routes to ``router``."""

    @router.get("/groups", response_model=list[GroupOut])
    async def list_groups(
        caller: MembersReader, services: Services, org_id: str | None = None
    ) -> list[dict[str, object]]:
        org = org_scope(caller, org_id, services)
        return [_out(g) for g in await in_thread(lambda: services.groups.list(org))]

    @router.post("/groups", response_model=GroupOut, status_code=201)
    async def create_group(body: GroupIn, caller: MembersManager, services: Services) -> dict[str, object]:
        org = org_scope(caller, body.org_id, services)
        return _out(await in_thread(lambda: services.groups.create(org, body.name, actor=caller.actor)))

    @router.get("/groups/{group_id}", response_model=GroupOut)
    async def get_group(
        group_id: str, caller: MembersReader, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        return _out(await in_thread(lambda: services.groups.get(group_id, org)))

    @router.post("/groups/{group_id}/members", response_model=GroupOut)
    async def add_member(
        group_id: str,
        body: GroupMemberIn,
        caller: MembersManager,
        services: Services,
        org_id: str | None = None,
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        group = await in_thread(
            lambda: services.groups.add_member(group_id, body.user_id, org, actor=caller.actor)
        )
        return _out(group)

    @router.delete("/groups/{group_id}/members/{user_id}", response_model=GroupOut)
    async def remove_member(
        group_id: str, user_id: str, caller: MembersManager, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        group = await in_thread(
            lambda: services.groups.remove_member(group_id, user_id, org, actor=caller.actor)
        )
        return _out(group)

    @router.put("/groups/{group_id}/grants", response_model=GroupOut)
    async def set_grants(
        group_id: str,
        body: GroupGrantsIn,
        caller: MembersManager,
        services: Services,
        org_id: str | None = None,
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        if body.org_role == "owner" and not (caller.superuser or "owner" in caller.org_roles):
            raise forbidden("Only an owner can grant the owner role.", code="insufficient_role")
        group = await in_thread(
            lambda: services.groups.set_grants(
                group_id, org, org_role=body.org_role, project_roles=body.project_roles, actor=caller.actor
            )
        )
        return _out(group)
