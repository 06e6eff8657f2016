"""The admin REST API (/admin/v1) through the real app, with the master key and with org keys."""

from __future__ import annotations

import hashlib
from collections import defaultdict
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
import pytest
from fastapi.routing import APIRoute
from sqlalchemy import select

from sekisho.admin import admin_router
from sekisho.identity import Project, User
from sekisho.settings import Settings
from sekisho.store.tables import api_keys, audit_log
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway, mock_config, running_gateway

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
ADMIN = "/admin/v1"


@dataclass
class Tenant:
    """An organisation with an org-admin key (made the way an operator bootstraps one)."""

    gw: Gateway
    org: dict[str, Any]
    project: Project
    admin: User
    admin_key: str

    @property
    def id(self) -> str:
        return str(self.org["id"])

    def headers(self) -> dict[str, str]:
        return self.gw.headers(self.admin_key)

    def key_for(self, role: str, *, project: Project | None = None, email: str | None = None) -> str:
        """A key owned by a new user with ``role`` in this organisation."""
        tenancy = self.gw.core.tenancy
        user = tenancy.create_user(
            self.id, email or f"{role}@{self.org['slug']}.test", role, role, actor="test"
        )
        _key, secret = tenancy.create_key(project or self.project, user, role, actor="test")
        return str(secret)


async def new_tenant(gw: Gateway, slug: str) -> Tenant:
    response = await gw.client.post(
        f"{ADMIN}/orgs", headers=master(gw), json={"slug": slug, "name": f"{slug.title()} Inc"}
    )
    assert response.status_code == 201, response.text
    org = response.json()
    tenancy = gw.core.tenancy
    project = tenancy.get_project("default", org["id"])
    admin = tenancy.create_user(org["id"], f"admin@{slug}.test", "Admin", "admin", actor="test")
    _key, secret = tenancy.create_key(project, admin, "admin key", actor="test")
    return Tenant(gw, org, project, admin, secret)


def master(gw: Gateway) -> dict[str, str]:
    return gw.headers(MASTER_KEY)


def assert_error(response: httpx.Response, status: int, code: str | None = None) -> dict[str, Any]:
    """An error in OpenAI's shape with the given status (and code)."""
    assert response.status_code == status, response.text
    error: dict[str, Any] = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str) and error["message"]
    if code is not None:
        assert error["code"] == code, error
    return error


async def chat(gw: Gateway, key: str, text: str, model: str = "gpt-4o-mini") -> httpx.Response:
    return await gw.client.post(
        CHAT, headers=gw.headers(key), json={"model": model, "messages": [{"role": "user", "content": text}]}
    )


# Organisations, projects, users, keys -------------------------------------------------------------


async def test_only_the_master_key_creates_organisations(gateway: Gateway) -> None:
    acme = await new_tenant(gateway, "acme")
    assert set(acme.org) == {"id", "slug", "name", "created_at"}
    assert acme.org["id"].startswith("org_") and acme.org["slug"] == "acme"

    refused = await gateway.client.post(
        f"{ADMIN}/orgs", headers=acme.headers(), json={"slug": "mine", "name": "Mine"}
    )
    assert assert_error(refused, 403, "insufficient_role")["type"] == "permission_error"
    duplicate = await gateway.client.post(
        f"{ADMIN}/orgs", headers=master(gateway), json={"slug": "acme", "name": "Again"}
    )
    assert_error(duplicate, 409, "conflict")

    everything = await gateway.client.get(f"{ADMIN}/orgs", headers=master(gateway))
    assert {o["slug"] for o in everything.json()} == {"default", "acme"}
    own = await gateway.client.get(f"{ADMIN}/orgs", headers=acme.headers())
    assert [o["id"] for o in own.json()] == [acme.id]
    # A new organisation starts with a default project.
    projects = await gateway.client.get(f"{ADMIN}/projects", headers=acme.headers())
    assert [p["slug"] for p in projects.json()] == ["default"]


async def test_projects_users_and_keys_lifecycle(gateway: Gateway) -> None:
    acme = await new_tenant(gateway, "acme")
    client, headers = gateway.client, acme.headers()

    created = await client.post(
        f"{ADMIN}/projects", headers=headers, json={"slug": "research", "name": "R&D"}
    )
    assert created.status_code == 201, created.text
    project = created.json()
    assert project["org_id"] == acme.id
    listed = await client.get(f"{ADMIN}/projects", headers=headers)
    assert {p["slug"] for p in listed.json()} == {"default", "research"}
    by_id = await client.get(f"{ADMIN}/projects/{project['id']}", headers=headers)
    by_slug = await client.get(f"{ADMIN}/projects/research", headers=headers)
    assert by_id.json() == by_slug.json() == project
    again = await client.post(f"{ADMIN}/projects", headers=headers, json={"slug": "research", "name": "x"})
    assert_error(again, 409, "conflict")

    made = await client.post(
        f"{ADMIN}/users", headers=headers, json={"email": "Bob@Acme.test", "name": "Bob"}
    )
    assert made.status_code == 201, made.text
    bob = made.json()
    assert (bob["email"], bob["role"], bob["org_id"], bob["active"]) == (
        "bob@acme.test",
        "member",
        acme.id,
        True,
    )
    users = await client.get(f"{ADMIN}/users", headers=headers)
    assert bob["id"] in {u["id"] for u in users.json()}

    response = await client.post(
        f"{ADMIN}/keys",
        headers=headers,
        json={"project_id": "research", "name": "ci", "user_id": bob["id"], "models": ["gpt-4o-mini"]},
    )
    assert response.status_code == 201, response.text
    key = response.json()
    secret = key["key"]
    assert secret.startswith("sk-sks-") and len(secret) > 40
    assert key["prefix"] == secret[:15] and key["prefix"] != secret
    assert (key["project_id"], key["user_id"], key["models"]) == (project["id"], bob["id"], ["gpt-4o-mini"])

    # After creation only the prefix is ever shown again.
    shown = await client.get(f"{ADMIN}/keys/{key['id']}", headers=headers)
    assert shown.status_code == 200
    assert "key" not in shown.json() and shown.json()["prefix"] == key["prefix"]
    assert secret not in shown.text
    every = await client.get(f"{ADMIN}/keys", headers=headers)
    assert key["id"] in {k["id"] for k in every.json()} and secret not in every.text
    in_project = await client.get(f"{ADMIN}/keys", headers=headers, params={"project_id": "research"})
    assert [k["id"] for k in in_project.json()] == [key["id"]]

    # Sekisho stores a hash, never the secret.
    with gateway.core.engine.connect() as conn:
        row = conn.execute(select(api_keys).where(api_keys.c.id == key["id"])).mappings().one()
    assert row["key_hash"] != secret
    assert row["key_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert all(secret not in str(value) for value in row.values())

    # The key works, within its allow-list.
    assert (await chat(gateway, secret, "hi")).status_code == 200
    assert_error(await chat(gateway, secret, "hi", model="no-usage"), 403)

    # Every change is on the audit record, attributed to the org admin's key.
    admin_actor = f"user:{acme.admin.id} key:{acme.admin_key[:15]}"
    with gateway.core.engine.connect() as conn:
        kinds = conn.execute(select(audit_log.c.kind).where(audit_log.c.actor == admin_actor)).scalars().all()
    assert sorted(kinds) == ["admin.key.created", "admin.project.created", "admin.user.created"]


async def test_expired_key_is_refused(gateway: Gateway) -> None:
    acme = await new_tenant(gateway, "acme")
    past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
    response = await gateway.client.post(
        f"{ADMIN}/keys",
        headers=acme.headers(),
        json={"project_id": "default", "name": "old", "expires_at": past},
    )
    assert response.status_code == 201, response.text
    error = assert_error(await chat(gateway, response.json()["key"], "hi"), 401, "invalid_api_key")
    assert "expired" in error["message"]


@pytest.fixture
async def cached_gateway(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    """Like ``gateway``, but caching verified keys for five minutes, as a production process does."""
    settings = make_settings(
        {**mock_config(upstream[1]), "key_cache_seconds": 300},
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    async with running_gateway(settings) as gw:
        yield gw


async def test_revocation_applies_at_once_in_this_process(cached_gateway: Gateway) -> None:
    gw = cached_gateway

    async def new_key(name: str) -> dict[str, Any]:
        response = await gw.client.post(
            f"{ADMIN}/keys", headers=master(gw), json={"project_id": "default", "name": name}
        )
        assert response.status_code == 201, response.text
        key: dict[str, Any] = response.json()
        assert (await chat(gw, key["key"], "warm the cache")).status_code == 200
        return key

    # Control: revoked behind the process's back (as by the CLI or another replica), the cached key
    # keeps working until the cache expires. That is what makes the next assertions meaningful.
    elsewhere = await new_key("elsewhere")
    gw.core.tenancy.revoke_key(elsewhere["id"], actor="test")
    assert (await chat(gw, elsewhere["key"], "still cached")).status_code == 200

    key = await new_key("ci")
    revoked = await gw.client.post(f"{ADMIN}/keys/{key['id']}/revoke", headers=master(gw))
    assert revoked.status_code == 200, revoked.text
    assert revoked.json()["revoked_at"] is not None
    error = assert_error(await chat(gw, key["key"], "hi"), 401, "invalid_api_key")
    assert "revoked" in error["message"]
    # Revoking again changes nothing.
    again = await gw.client.post(f"{ADMIN}/keys/{key['id']}/revoke", headers=master(gw))
    assert again.json()["revoked_at"] == revoked.json()["revoked_at"]

    other = await new_key("other")
    deleted = await gw.client.delete(f"{ADMIN}/keys/{other['id']}", headers=master(gw))
    assert deleted.status_code == 200 and deleted.json()["revoked_at"] is not None
    assert_error(await chat(gw, other["key"], "hi"), 401, "invalid_api_key")
    listed = {k["id"]: k for k in (await gw.client.get(f"{ADMIN}/keys", headers=master(gw))).json()}
    assert listed[key["id"]]["revoked_at"] is not None and listed[other["id"]]["revoked_at"] is not None


# Roles ------------------------------------------------------------------------------------------------


async def test_roles_limit_the_admin_api(gateway: Gateway) -> None:
    acme = await new_tenant(gateway, "acme")
    client = gateway.client
    member = gateway.headers(acme.key_for("member"))
    auditor = gateway.headers(acme.key_for("auditor"))
    viewer = gateway.headers(acme.key_for("analytics_viewer"))
    new_key = {"project_id": "default", "name": "sneaky"}

    for method, path, body in [
        ("GET", "/projects", None),
        ("POST", "/projects", {"slug": "x", "name": "x"}),
        ("GET", "/users", None),
        ("POST", "/users", {"email": "x@y.z", "name": "x"}),
        ("GET", "/keys", None),
        ("POST", "/keys", new_key),
        ("GET", "/usage", None),
        ("GET", "/audit/verify", None),
    ]:
        response = await client.request(method, f"{ADMIN}{path}", headers=member, json=body)
        assert assert_error(response, 403, "insufficient_role")["type"] == "permission_error", path

    assert (await client.get(f"{ADMIN}/usage", headers=auditor)).status_code == 200
    verified = await client.get(f"{ADMIN}/audit/verify", headers=auditor)
    assert verified.status_code == 200 and verified.json()["ok"] is True
    assert_error(await client.post(f"{ADMIN}/keys", headers=auditor, json=new_key), 403, "insufficient_role")
    assert_error(await client.get(f"{ADMIN}/keys", headers=auditor), 403, "insufficient_role")
    key_id = acme.gw.core.tenancy.list_keys(acme.id)[0].id
    assert_error(await client.post(f"{ADMIN}/keys/{key_id}/revoke", headers=auditor), 403)

    assert (await client.get(f"{ADMIN}/usage", headers=viewer)).status_code == 200
    assert_error(await client.get(f"{ADMIN}/audit/verify", headers=viewer), 403, "insufficient_role")

    # An admin may not mint an owner; an owner may.
    owner_body = {"email": "boss@acme.test", "name": "Boss", "role": "owner"}
    assert_error(await client.post(f"{ADMIN}/users", headers=acme.headers(), json=owner_body), 403)
    owner = gateway.headers(acme.key_for("owner"))
    assert (await client.post(f"{ADMIN}/users", headers=owner, json=owner_body)).status_code == 201

    assert_error(await client.get(f"{ADMIN}/keys"), 401, "missing_api_key")
    assert_error(
        await client.get(f"{ADMIN}/keys", headers=gateway.headers("sk-sks-nope")), 401, "invalid_api_key"
    )


# Tenant isolation -------------------------------------------------------------------------------


async def test_an_org_admin_never_reaches_another_organisation(gateway: Gateway) -> None:
    a = await new_tenant(gateway, "alpha")
    b = await new_tenant(gateway, "bravo")
    client, headers = gateway.client, a.headers()
    tenancy = gateway.core.tenancy
    b_project = tenancy.create_project(b.id, "secret", "Secret", actor="test")
    b_user = tenancy.create_user(b.id, "carol@bravo.test", "Carol", "member", actor="test")
    b_key, b_secret = tenancy.create_key(b_project, b_user, "bravo app", actor="test")
    a_secret = a.key_for("member", email="dave@alpha.test")
    assert (await chat(gateway, a_secret, "from alpha")).status_code == 200
    assert (await chat(gateway, b_secret, "from bravo with more words")).status_code == 200
    gateway.flush()

    for method, path, params in [
        ("GET", f"/projects/{b_project.id}", None),
        ("GET", f"/projects/{b_project.id}", {"org_id": b.id}),
        ("GET", "/projects", {"org_id": b.id}),
        ("GET", f"/keys/{b_key.id}", None),
        ("GET", f"/keys/{b_key.prefix}", None),
        ("GET", "/keys", {"org_id": b.id}),
        ("GET", "/keys", {"project_id": b_project.id}),
        ("POST", f"/keys/{b_key.id}/revoke", None),
        ("DELETE", f"/keys/{b_key.id}", None),
        ("GET", "/users", {"org_id": b.id}),
        ("GET", "/usage", {"org_id": b.id}),
    ]:
        response = await client.request(method, f"{ADMIN}{path}", headers=headers, params=params)
        assert_error(response, 404, "not_found")
    for body in [
        {"project_id": b_project.id, "name": "x"},
        {"project_id": "default", "name": "x", "user_id": b_user.id},
        {"project_id": "default", "name": "x", "org_id": b.id},
    ]:
        assert_error(await client.post(f"{ADMIN}/keys", headers=headers, json=body), 404, "not_found")
    moved = await client.post(
        f"{ADMIN}/projects", headers=headers, json={"slug": "x", "name": "x", "org_id": b.id}
    )
    assert_error(moved, 404, "not_found")

    # B's key survived the attempts to revoke it.
    assert (await chat(gateway, b_secret, "still here")).status_code == 200

    keys = (await client.get(f"{ADMIN}/keys", headers=headers)).json()
    assert keys and {k["org_id"] for k in keys} == {a.id}
    users = (await client.get(f"{ADMIN}/users", headers=headers)).json()
    assert {u["org_id"] for u in users} == {a.id}
    usage = (await client.get(f"{ADMIN}/usage", headers=headers, params={"group_by": "project"})).json()
    assert [row["project"] for row in usage["data"]] == [a.project.id]
    assert usage["data"][0]["requests"] == 1
    peek = await client.get(f"{ADMIN}/usage", headers=headers, params={"project_id": b_project.id})
    assert peek.json()["data"] == []

    # The master key sees B.
    seen = await client.get(f"{ADMIN}/keys", headers=master(gateway), params={"org_id": b.id})
    assert b_key.id in {k["id"] for k in seen.json()}
    assert (await client.get(f"{ADMIN}/keys/{b_key.id}", headers=master(gateway))).status_code == 200


# Usage ----------------------------------------------------------------------------------------------

# Prices of ``gpt-4o-mini`` in mock_config, in nano-dollars per token (USD per million × 1000).
IN_NANO, OUT_NANO = 150, 600
GROUPS = ("project", "key", "user", "model")


async def test_usage_report_sums_tokens_and_cost_per_group(gateway: Gateway) -> None:
    acme = await new_tenant(gateway, "acme")
    tenancy = gateway.core.tenancy
    research = tenancy.create_project(acme.id, "research", "Research", actor="test")
    ana = tenancy.create_user(acme.id, "ana@acme.test", "Ana", "member", actor="test")
    ben = tenancy.create_user(acme.id, "ben@acme.test", "Ben", "member", actor="test")
    keys = {
        "k1": (acme.project, ana, tenancy.create_key(acme.project, ana, "k1", actor="test")),
        "k2": (research, ana, tenancy.create_key(research, ana, "k2", actor="test")),
        "k3": (research, ben, tenancy.create_key(research, ben, "k3", actor="test")),
    }
    # (key, model, input): the mock answers "Echo: <input>", counting words as tokens.
    calls: list[tuple[str, str, str | list[str]]] = [
        ("k1", "gpt-4o-mini", "hello world"),
        ("k1", "gpt-4o-mini", "a b c"),
        ("k2", "gpt-4o-mini", "one"),
        ("k2", "embed", "x y z w"),
        ("k3", "gpt-4o-mini", "four words are here"),
        ("k3", "embed", ["a b", "c"]),
    ]
    expected: dict[str, dict[Any, list[int]]] = {g: defaultdict(lambda: [0, 0, 0, 0]) for g in GROUPS}
    day_before = datetime.now(UTC).date()
    for name, model, text in calls:
        project, user, (key, secret) = keys[name]
        if model == "embed":
            response = await gateway.client.post(
                "/v1/embeddings", headers=gateway.headers(secret), json={"model": model, "input": text}
            )
            words = sum(len(t.split()) for t in ([text] if isinstance(text, str) else text))
            prompt, completion, cost = words, 0, 0  # embed has no price
        else:
            assert isinstance(text, str)
            response = await chat(gateway, secret, text)
            prompt, completion = len(text.split()), len(text.split()) + 1
            cost = prompt * IN_NANO + completion * OUT_NANO
        assert response.status_code == 200, response.text
        assert response.json()["usage"]["prompt_tokens"] == prompt
        for group, value in (("project", project.id), ("key", key.id), ("user", user.id), ("model", model)):
            _add(expected[group][value], prompt, completion, cost)
    # Another organisation's traffic must not show up.
    bravo = await new_tenant(gateway, "bravo")
    assert (await chat(gateway, bravo.key_for("member"), "not yours")).status_code == 200
    gateway.flush()

    for group in ("project", "key", "user", "model"):
        assert await usage_by(acme, group) == {k: tuple(v) for k, v in expected[group].items()}, group

    by_day = await usage_by(acme, "day")
    assert set(by_day) <= {day_before.isoformat(), datetime.now(UTC).date().isoformat()}
    total = [sum(v[i] for v in expected["model"].values()) for i in range(4)]
    assert [sum(v[i] for v in by_day.values()) for i in range(4)] == total

    both = await gateway.client.get(
        f"{ADMIN}/usage", headers=acme.headers(), params={"group_by": ["project", "model"]}
    )
    pairs = {(r["project"], r["model"]): r["requests"] for r in both.json()["data"]}
    assert pairs == {
        (acme.project.id, "gpt-4o-mini"): 2,
        (research.id, "gpt-4o-mini"): 2,
        (research.id, "embed"): 2,
    }

    filtered = await gateway.client.get(
        f"{ADMIN}/usage", headers=acme.headers(), params={"group_by": "model", "project_id": research.id}
    )
    assert {r["model"]: r["prompt_tokens"] for r in filtered.json()["data"]} == {"gpt-4o-mini": 5, "embed": 7}
    later = (datetime.now(UTC).date() + timedelta(days=1)).isoformat()
    future = await gateway.client.get(f"{ADMIN}/usage", headers=acme.headers(), params={"start": later})
    assert future.json() == {"group_by": ["day"], "data": []}
    # The master key reads the same report for the organisation it names.
    as_master = await gateway.client.get(
        f"{ADMIN}/usage", headers=master(gateway), params={"group_by": "key", "org_id": acme.id}
    )
    assert (
        as_master.json()
        == (
            await gateway.client.get(f"{ADMIN}/usage", headers=acme.headers(), params={"group_by": "key"})
        ).json()
    )


def _add(totals: list[int], prompt: int, completion: int, cost: int) -> None:
    totals[0] += 1
    totals[1] += prompt
    totals[2] += completion
    totals[3] += cost


async def usage_by(tenant: Tenant, group: str) -> dict[Any, tuple[int, int, int, int]]:
    """requests, prompt, completion and cost (nano-dollars) per group value, checking total_tokens."""
    response = await tenant.gw.client.get(
        f"{ADMIN}/usage", headers=tenant.headers(), params={"group_by": group}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["group_by"] == [group]
    out = {}
    for row in body["data"]:
        assert row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"]
        out[row[group]] = (
            row["requests"],
            row["prompt_tokens"],
            row["completion_tokens"],
            round(row["cost_usd"] * 1e9),
        )
    return out


# Validation and the OpenAPI document --------------------------------------------------------------


@pytest.mark.parametrize(
    ("method", "path", "payload", "param"),
    [
        ("POST", "/orgs", {"slug": "Not A Slug", "name": "x"}, "slug"),
        ("POST", "/orgs", {"slug": "ok"}, "name"),
        ("POST", "/orgs", {"slug": "ok", "name": "x", "colour": "red"}, "colour"),
        ("POST", "/projects", {"slug": "", "name": "x"}, "slug"),
        ("POST", "/users", {"email": "not-an-email", "name": "x"}, "email"),
        ("POST", "/keys", {"name": "x"}, "project_id"),
        ("POST", "/keys", {"project_id": "default", "name": "x", "models": "gpt-4o-mini"}, "models"),
        ("POST", "/keys", {"project_id": "default", "name": "x", "expires_at": "soon"}, "expires_at"),
        ("GET", "/usage", {"group_by": "weekday"}, "group_by.0"),
        ("GET", "/usage", {"start": "yesterday"}, "start"),
    ],
)
async def test_invalid_requests_are_openai_400s(
    gateway: Gateway, method: str, path: str, payload: dict[str, Any], param: str
) -> None:
    kwargs: dict[str, Any] = {"params": payload} if method == "GET" else {"json": payload}
    response = await gateway.client.request(method, f"{ADMIN}{path}", headers=master(gateway), **kwargs)
    error = assert_error(response, 400, "invalid_value")
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param


async def test_unknown_role_and_broken_json_are_400s(gateway: Gateway) -> None:
    wizard = await gateway.client.post(
        f"{ADMIN}/users", headers=master(gateway), json={"email": "w@x.y", "name": "W", "role": "wizard"}
    )
    assert "role" in assert_error(wizard, 400, "invalid_value")["message"]
    broken = await gateway.client.post(
        f"{ADMIN}/orgs",
        headers={**master(gateway), "content-type": "application/json"},
        content=b'{"slug": "x",',
    )
    # Like the /v1 API: the body as a whole is at fault, not a parameter named after a character offset.
    assert assert_error(broken, 400, "invalid_json")["param"] is None


async def test_openapi_document_lists_every_admin_path(gateway: Gateway) -> None:
    response = await gateway.client.get("/openapi.json")
    assert response.status_code == 200
    paths = response.json()["paths"]
    # Every route the admin router declares (the app mounts it as a whole).
    routes = [r for r in admin_router().routes if isinstance(r, APIRoute)]
    assert {r.path for r in routes} >= {
        f"{ADMIN}/{p}"
        for p in (
            "orgs",
            "projects",
            "projects/{project_id}",
            "users",
            "keys",
            "keys/{key_id}",
            "keys/{key_id}/revoke",
            "usage",
            "audit/verify",
        )
    }
    for route in routes:
        assert route.path in paths, route.path
        assert {m.lower() for m in route.methods} <= set(paths[route.path]), route.path
