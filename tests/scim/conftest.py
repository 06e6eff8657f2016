"""SCIM test fixtures: the real app on SQLite and PostgreSQL, organisations with SCIM tokens."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from sekisho.identity import Project, User
from sekisho.settings import Settings
from sekisho.store.tables import audit_log
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway, mock_config, running_gateway

SCIM = "/scim/v2"
USER_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:User"
GROUP_SCHEMA = "urn:ietf:params:scim:schemas:core:2.0:Group"
ENTERPRISE = "urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
PATCH_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:PatchOp"
ERROR_SCHEMA = "urn:ietf:params:scim:api:messages:2.0:Error"


@dataclass
class Tenant:
    """An organisation: an admin with an API key, and a SCIM token for its identity provider."""

    gw: Gateway
    id: str
    slug: str
    project: Project
    admin: User
    admin_key: str
    token: str
    token_id: str
    prefix: str

    def headers(self, token: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {token or self.token}"}

    async def request(self, method: str, path: str, body: Any = None, **kwargs: Any) -> httpx.Response:
        headers = {**self.headers(), **kwargs.pop("headers", {})}
        if body is not None:
            headers.setdefault("content-type", "application/scim+json")
            kwargs["content"] = orjson.dumps(body)
        return await self.gw.client.request(method, f"{SCIM}{path}", headers=headers, **kwargs)

    async def create_user(self, user_name: str, **attributes: Any) -> dict[str, Any]:
        response = await self.request(
            "POST", "/Users", {"schemas": [USER_SCHEMA], "userName": user_name, **attributes}
        )
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def create_group(
        self, name: str, members: list[str] | None = None, **attributes: Any
    ) -> dict[str, Any]:
        body: dict[str, Any] = {"schemas": [GROUP_SCHEMA], "displayName": name, **attributes}
        if members:
            body["members"] = [{"value": m} for m in members]
        response = await self.request("POST", "/Groups", body)
        assert response.status_code == 201, response.text
        created: dict[str, Any] = response.json()
        return created

    async def patch(self, path: str, *operations: dict[str, Any], **kwargs: Any) -> httpx.Response:
        return await self.request(
            "PATCH", path, {"schemas": [PATCH_SCHEMA], "Operations": list(operations)}, **kwargs
        )

    def audit(self) -> list[tuple[str, dict[str, Any]]]:
        """(kind, data) of the audit records this tenant's SCIM token wrote, in order."""
        with self.gw.core.engine.connect() as conn:
            rows = conn.execute(
                select(audit_log.c.kind, audit_log.c.record)
                .where(audit_log.c.actor == f"scim:{self.prefix}")
                .order_by(audit_log.c.seq)
            ).all()
        return [(kind, orjson.loads(record)["data"]) for kind, record in rows]


def scim_error(response: httpx.Response, status: int, scim_type: str | None = None) -> dict[str, Any]:
    """A SCIM Error response with the given status (and scimType)."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    error: dict[str, Any] = response.json()
    assert error["schemas"] == [ERROR_SCHEMA]
    assert error["status"] == str(status)
    assert error.get("scimType") == scim_type, error
    return error


async def new_tenant(gw: Gateway, slug: str) -> Tenant:
    """An organisation made through the admin API, with an admin key and a SCIM token."""
    master = gw.headers(MASTER_KEY)
    org = await gw.client.post("/admin/v1/orgs", headers=master, json={"slug": slug, "name": slug.title()})
    assert org.status_code == 201, org.text
    org_id = org.json()["id"]
    tenancy = gw.core.tenancy
    project = tenancy.get_project("default", org_id)
    admin = tenancy.create_user(org_id, f"admin@{slug}.example.com", "Admin", "admin", actor="test")
    _key, admin_key = tenancy.create_key(project, admin, "admin key", actor="test")
    made = await gw.client.post(
        "/admin/v1/scim/tokens", headers=gw.headers(admin_key), json={"name": f"{slug} IdP"}
    )
    assert made.status_code == 201, made.text
    token = made.json()
    return Tenant(gw, org_id, slug, project, admin, admin_key, token["token"], token["id"], token["prefix"])


@pytest.fixture
async def gateway(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    """The real app on a fresh database. Keys are cached for minutes, as in production, so tests
    show that deprovisioning and membership changes take effect at once, not at cache expiry."""
    settings = make_settings(
        {**mock_config(upstream[1]), "key_cache_seconds": 300},
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    async with running_gateway(settings) as gw:
        yield gw


@pytest.fixture
async def acme(gateway: Gateway) -> Tenant:
    return await new_tenant(gateway, "acme")


@pytest.fixture
async def globex(gateway: Gateway) -> Tenant:
    return await new_tenant(gateway, "globex")
