"""The admin REST API under /admin/v1: organisations, projects, users, keys, usage, audit.

Every route authenticates with a bearer key and checks the caller's role; every object is looked
up within the caller's organisation, so another tenant's objects answer 404, not 403.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from sekisho.admin.deps import READ_AUDIT, READ_USAGE, Caller, Services, in_thread, org_scope, require
from sekisho.admin.groups import group_routes
from sekisho.admin.models import (
    CreatedKeyOut,
    KeyIn,
    KeyOut,
    OrgIn,
    OrgOut,
    ProjectIn,
    ProjectOut,
    UsageOut,
    UserIn,
    UserOut,
    VerifyOut,
)
from sekisho.gateway.errors import forbidden
from sekisho.identity import ApiKey
from sekisho.metering import GroupBy, UsageFilter, usage_report


def admin_router() -> APIRouter:
    """All admin routes."""
    router = APIRouter(prefix="/admin/v1", tags=["admin"])

    @router.get("/orgs", response_model=list[OrgOut])
    async def list_orgs(caller: Caller, services: Services) -> list[dict[str, object]]:
        require(caller)
        orgs = await in_thread(
            lambda: services.tenancy.list_orgs(None if caller.superuser else caller.org_id)
        )
        return [asdict(o) for o in orgs]

    @router.post("/orgs", response_model=OrgOut, status_code=201)
    async def create_org(body: OrgIn, caller: Caller, services: Services) -> dict[str, object]:
        if not caller.superuser:
            raise forbidden("Only the master key creates organisations.", code="insufficient_role")
        org = await in_thread(lambda: services.tenancy.create_org(body.slug, body.name, actor=caller.actor))
        return asdict(org)

    @router.get("/projects", response_model=list[ProjectOut])
    async def list_projects(
        caller: Caller, services: Services, org_id: str | None = None
    ) -> list[dict[str, object]]:
        require(caller)
        org = org_scope(caller, org_id, services)
        return [asdict(p) for p in await in_thread(lambda: services.tenancy.list_projects(org))]

    @router.post("/projects", response_model=ProjectOut, status_code=201)
    async def create_project(body: ProjectIn, caller: Caller, services: Services) -> dict[str, object]:
        require(caller)
        org = org_scope(caller, body.org_id, services)
        project = await in_thread(
            lambda: services.tenancy.create_project(org, body.slug, body.name, actor=caller.actor)
        )
        return asdict(project)

    @router.get("/projects/{project_id}", response_model=ProjectOut)
    async def get_project(
        project_id: str, caller: Caller, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        require(caller)
        org = org_scope(caller, org_id, services)
        return asdict(await in_thread(lambda: services.tenancy.get_project(project_id, org)))

    @router.get("/users", response_model=list[UserOut])
    async def list_users(
        caller: Caller, services: Services, org_id: str | None = None
    ) -> list[dict[str, object]]:
        require(caller)
        org = org_scope(caller, org_id, services)
        return [asdict(u) for u in await in_thread(lambda: services.tenancy.list_users(org))]

    @router.post("/users", response_model=UserOut, status_code=201)
    async def create_user(body: UserIn, caller: Caller, services: Services) -> dict[str, object]:
        require(caller)
        org = org_scope(caller, body.org_id, services)
        if body.role == "owner" and caller.role != "owner":
            raise forbidden("Only an owner can create another owner.", code="insufficient_role")
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

    @router.get("/keys", response_model=list[KeyOut])
    async def list_keys(
        caller: Caller, services: Services, org_id: str | None = None, project_id: str | None = None
    ) -> list[dict[str, object]]:
        require(caller)
        org = org_scope(caller, org_id, services)
        scope = project_id
        if project_id is not None:
            wanted = project_id
            scope = (await in_thread(lambda: services.tenancy.get_project(wanted, org))).id
        keys = await in_thread(lambda: services.tenancy.list_keys(org, scope))
        return [_key_dict(k) for k in keys]

    @router.post("/keys", response_model=CreatedKeyOut, status_code=201)
    async def create_key(body: KeyIn, caller: Caller, services: Services) -> dict[str, object]:
        require(caller)
        org = org_scope(caller, body.org_id, services)
        tenancy = services.tenancy

        def create() -> dict[str, object]:
            project = tenancy.get_project(body.project_id, org)
            user = (
                tenancy.get_user(body.user_id, org)
                if body.user_id
                else tenancy.service_account_for(org, actor=caller.actor)
            )
            key, secret = tenancy.create_key(
                project, user, body.name, actor=caller.actor, models=body.models, expires_at=body.expires_at
            )
            return {**_key_dict(key), "key": secret}

        return await in_thread(create)

    @router.get("/keys/{key_id}", response_model=KeyOut)
    async def get_key(
        key_id: str, caller: Caller, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        require(caller)
        org = org_scope(caller, org_id, services) if not caller.superuser or org_id else None
        return _key_dict(await in_thread(lambda: services.tenancy.get_key(key_id, org)))

    @router.post("/keys/{key_id}/revoke", response_model=KeyOut)
    async def revoke_key(
        key_id: str, caller: Caller, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        require(caller)
        org = org_scope(caller, org_id, services) if not caller.superuser or org_id else None
        key = await in_thread(lambda: services.tenancy.revoke_key(key_id, actor=caller.actor, org_id=org))
        services.authenticator.forget(key.id)
        return _key_dict(key)

    @router.delete("/keys/{key_id}", response_model=KeyOut)
    async def delete_key(
        key_id: str, caller: Caller, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        return await revoke_key(key_id, caller, services, org_id)

    @router.get("/usage", response_model=UsageOut)
    async def usage(
        caller: Caller,
        services: Services,
        group_by: Annotated[list[GroupBy], Query()] = ["day"],  # noqa: B006 - FastAPI copies defaults
        org_id: str | None = None,
        project_id: str | None = None,
        key_id: str | None = None,
        user_id: str | None = None,
        model: str | None = None,
        start: date | None = None,
        end: date | None = None,
    ) -> dict[str, object]:
        require(caller, READ_USAGE)
        org = org_scope(caller, org_id, services)
        where = UsageFilter(org, project_id, key_id, user_id, model, start, end)
        rows = await in_thread(lambda: usage_report(services.engine, where, group_by))
        return {"group_by": list(group_by), "data": rows}

    @router.get("/audit/verify", response_model=VerifyOut)
    async def verify_audit(caller: Caller, services: Services) -> dict[str, object]:
        require(caller, READ_AUDIT)
        result = await in_thread(services.audit.verify)
        return asdict(result)

    group_routes(router)
    return router


def _key_dict(key: ApiKey) -> dict[str, object]:
    data = asdict(key)
    data["models"] = list(key.models) if key.models is not None else None
    return data
