"""The admin REST API under /admin/v1: organisations, projects, users, keys, usage, audit.

Every route authenticates with a bearer key and checks the caller's role; every object is looked
up within the caller's organisation, so another tenant's objects answer 404, not 403.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date
from typing import Annotated

from fastapi import APIRouter, Query

from sekisho.admin.deps import (
    AuditReader,
    KeysManager,
    KeysReader,
    MasterKey,
    OrgManager,
    ProjectReader,
    Services,
    UsageReader,
    in_thread,
    org_scope,
    require,
)
from sekisho.admin.groups import group_routes
from sekisho.admin.members import member_routes
from sekisho.admin.models import (
    CreatedKeyOut,
    KeyIn,
    KeyOut,
    OrgIn,
    OrgOut,
    ProjectIn,
    ProjectOut,
    UsageOut,
    VerifyOut,
)
from sekisho.gateway.errors import GatewayError
from sekisho.identity import ApiKey, Principal
from sekisho.identity.permissions import Perm
from sekisho.metering import GroupBy, UsageFilter, usage_report


def admin_router() -> APIRouter:
    """All admin routes."""
    router = APIRouter(prefix="/admin/v1", tags=["admin"])

    @router.get("/orgs", response_model=list[OrgOut])
    async def list_orgs(caller: ProjectReader, services: Services) -> list[dict[str, object]]:
        orgs = await in_thread(
            lambda: services.tenancy.list_orgs(None if caller.superuser else caller.org_id)
        )
        return [asdict(o) for o in orgs]

    @router.post("/orgs", response_model=OrgOut, status_code=201)
    async def create_org(body: OrgIn, caller: MasterKey, services: Services) -> dict[str, object]:
        org = await in_thread(lambda: services.tenancy.create_org(body.slug, body.name, actor=caller.actor))
        return asdict(org)

    @router.get("/projects", response_model=list[ProjectOut])
    async def list_projects(
        caller: ProjectReader, services: Services, org_id: str | None = None
    ) -> list[dict[str, object]]:
        org = org_scope(caller, org_id, services)
        visible = caller.projects_with(Perm.ORG_READ)
        projects = await in_thread(lambda: services.tenancy.list_projects(org))
        return [asdict(p) for p in projects if visible is None or p.id in visible]

    @router.post("/projects", response_model=ProjectOut, status_code=201)
    async def create_project(body: ProjectIn, caller: OrgManager, services: Services) -> dict[str, object]:
        org = org_scope(caller, body.org_id, services)
        project = await in_thread(
            lambda: services.tenancy.create_project(org, body.slug, body.name, actor=caller.actor)
        )
        return asdict(project)

    @router.get("/projects/{project_id}", response_model=ProjectOut)
    async def get_project(
        project_id: str, caller: ProjectReader, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services)
        project = await in_thread(lambda: services.tenancy.get_project(project_id, org))
        hidden(caller, Perm.ORG_READ, project.id)
        return asdict(project)

    @router.get("/keys", response_model=list[KeyOut])
    async def list_keys(
        caller: KeysReader, services: Services, org_id: str | None = None, project_id: str | None = None
    ) -> list[dict[str, object]]:
        org = org_scope(caller, org_id, services)
        scope = project_id
        if project_id is not None:
            wanted = project_id
            scope = (await in_thread(lambda: services.tenancy.get_project(wanted, org))).id
            hidden(caller, Perm.KEYS_READ, scope)
        visible = caller.projects_with(Perm.KEYS_READ)
        keys = await in_thread(lambda: services.tenancy.list_keys(org, scope))
        return [_key_dict(k) for k in keys if visible is None or k.project_id in visible]

    @router.post("/keys", response_model=CreatedKeyOut, status_code=201)
    async def create_key(body: KeyIn, caller: KeysManager, services: Services) -> dict[str, object]:
        org = org_scope(caller, body.org_id, services)
        tenancy = services.tenancy

        def create() -> dict[str, object]:
            project = tenancy.get_project(body.project_id, org)
            hidden(caller, Perm.KEYS_MANAGE, project.id)
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
        key_id: str, caller: KeysReader, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services) if not caller.superuser or org_id else None
        key = await in_thread(lambda: services.tenancy.get_key(key_id, org))
        hidden(caller, Perm.KEYS_READ, key.project_id)
        return _key_dict(key)

    @router.post("/keys/{key_id}/revoke", response_model=KeyOut)
    async def revoke_key(
        key_id: str, caller: KeysManager, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        org = org_scope(caller, org_id, services) if not caller.superuser or org_id else None
        existing = await in_thread(lambda: services.tenancy.get_key(key_id, org))
        hidden(caller, Perm.KEYS_MANAGE, existing.project_id)
        key = await in_thread(lambda: services.tenancy.revoke_key(key_id, actor=caller.actor, org_id=org))
        services.authenticator.forget(key.id)
        return _key_dict(key)

    @router.delete("/keys/{key_id}", response_model=KeyOut)
    async def delete_key(
        key_id: str, caller: KeysManager, services: Services, org_id: str | None = None
    ) -> dict[str, object]:
        return await revoke_key(key_id, caller, services, org_id)

    @router.get("/usage", response_model=UsageOut)
    async def usage(
        caller: UsageReader,
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
        org = org_scope(caller, org_id, services)
        visible = caller.projects_with(Perm.USAGE_READ)
        if visible is not None:
            # A project role sees its own projects' usage only: one named, or all of them.
            if project_id is not None and project_id not in visible:
                raise GatewayError(404, f"project {project_id!r} not found", code="not_found")
            if project_id is None and len(visible) != 1:
                raise GatewayError(
                    400,
                    "Name the project: your role shows usage per project (project_id=…).",
                    param="project_id",
                    code="invalid_value",
                )
            project_id = project_id or next(iter(visible))
        where = UsageFilter(org, project_id, key_id, user_id, model, start, end)
        rows = await in_thread(lambda: usage_report(services.engine, where, group_by))
        return {"group_by": list(group_by), "data": rows}

    @router.get("/audit/verify", response_model=VerifyOut)
    async def verify_audit(caller: AuditReader, services: Services) -> dict[str, object]:
        result = await in_thread(services.audit.verify)
        return asdict(result)

    group_routes(router)
    member_routes(router)
    return router


def hidden(caller: Principal, perm: Perm, project_id: str) -> None:
    """Object check for project-scoped roles: a project the caller has no role in answers 404,
    as another organisation's objects do (its existence is not revealed)."""
    if not caller.can(perm, project_id):
        if caller.can(Perm.ORG_READ, project_id):
            require(caller, perm, project_id)  # visible project, missing permission: 403
        raise GatewayError(404, f"project {project_id!r} not found", code="not_found")


def _key_dict(key: ApiKey) -> dict[str, object]:
    data = asdict(key)
    data["models"] = list(key.models) if key.models is not None else None
    return data
