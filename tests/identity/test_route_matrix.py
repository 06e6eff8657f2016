"""Every route × every role, generated from the app's own route table (issue 5).

* Every route has an authorization rule: admin routes declare a permission (``Allow``), the rest
  are listed below with the credential they take instead. A new route without either fails here.
* Every admin route is called as every organisation role and every project role; the answer is a
  ``403 insufficient_role`` exactly when the permission matrix says the role lacks the permission.
* Every admin route with an object in its path is called by another organisation's owner (and by a
  project role of another project) with that object's id: the answer is 404 and the object is intact.
"""

from __future__ import annotations

import secrets
import typing
from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from datetime import timedelta
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import insert, select

from sekisho.admin.deps import Allow, Authenticated, MasterKeyOnly
from sekisho.admin.route_table import PUBLIC_ROUTES, RouteInfo, app_routes, fill, reference_markdown
from sekisho.clock import new_id, utcnow
from sekisho.identity.members import MemberStore
from sekisho.identity.permissions import PROJECT_ROLES, org_permissions, project_permissions
from sekisho.identity.principal import ORG_ROLES
from sekisho.store.tables import (
    api_keys,
    appeals,
    budgets,
    client_certificates,
    enforcement_actions,
    idp_configs,
    network_rules,
    rate_limits,
    review_items,
    scim_tokens,
    users,
    verified_domains,
)
from sekisho.store.tx import write_transaction
from tests.conftest import MASTER_KEY, Gateway

pytestmark = pytest.mark.anyio

PUBLIC = PUBLIC_ROUTES
SESSION_PREFIX = "/auth/v1/"  # the rest of /auth/v1: the caller's own console session
SCIM_PREFIX = "/scim/v2"  # an organisation's SCIM token
API_KEY_PREFIX = "/v1/"  # an API key (or a mapped client certificate)

PROJECT_ROLE_USERS = {f"project_{r}": r for r in PROJECT_ROLES}


@dataclass
class Org:
    """One organisation with a key per role and a set of objects to aim routes at."""

    id: str
    slug: str
    keys: dict[str, str] = field(default_factory=dict)
    objects: dict[str, str] = field(default_factory=dict)


def _key(gw: Gateway, org_id: str, project_id: str, role: str, email: str) -> tuple[str, str]:
    tenancy = gw.core.tenancy
    user = tenancy.create_user(org_id, email, role, role, actor="test")
    project = tenancy.get_project(project_id, org_id)
    _k, secret = tenancy.create_key(project, user, f"{role} key", actor="test")
    return user.id, str(secret)


def _make_org(gw: Gateway, slug: str) -> Org:
    tenancy = gw.core.tenancy
    org_obj = tenancy.create_org(slug, slug.title(), actor="test")
    org = Org(org_obj.id, slug)
    default = tenancy.get_project("default", org.id)
    victim_project = tenancy.create_project(org.id, "victim", "Victim", actor="test")
    for role in ORG_ROLES:
        _uid, org.keys[role] = _key(gw, org.id, default.id, role, f"{role}@{slug}.test")
    members = MemberStore(gw.core.engine, gw.core.audit)
    for name, project_role in PROJECT_ROLE_USERS.items():
        uid, org.keys[name] = _key(gw, org.id, default.id, "member", f"{name}@{slug}.test")
        members.set_project_member(victim_project.id, uid, project_role, org.id, actor="test")
    victim = tenancy.create_user(org.id, f"victim@{slug}.test", "Victim", "member", actor="test")
    victim_key, _secret = tenancy.create_key(victim_project, victim, "victim key", actor="test")
    group = gw.app.state.admin.groups.create(org.id, "victims", actor="test")
    now = utcnow()
    ids = {
        name: new_id(name) for name in ("rev", "act", "apl", "idp", "net", "dom", "crt", "scim", "bud", "rl")
    }
    with write_transaction(gw.core.engine) as conn:
        conn.execute(
            insert(review_items).values(
                id=ids["rev"],
                org_id=org.id,
                project_id=victim_project.id,
                kind="policy",
                status="pending",
                request_id=f"req_{secrets.token_hex(6)}",
                endpoint="chat.completions",
                model="gpt-4o-mini",
                requester_user_id=victim.id,
                requester_key_id=victim_key.id,
                requester_actor=f"user:{victim.id}",
                approvals_required=1,
                approvals=[],
                on_expiry="reject",
                escalated=False,
                request_body='{"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}',
                created_at=now,
                expires_at=now + timedelta(hours=1),
                revision=0,
            )
        )
        conn.execute(
            insert(enforcement_actions).values(
                id=ids["act"],
                org_id=org.id,
                subject_type="user",
                subject_id=victim.id,
                action="warn",
                reason="test",
                created_at=now,
                created_by="test",
            )
        )
        conn.execute(
            insert(appeals).values(
                id=ids["apl"],
                org_id=org.id,
                action_id=ids["act"],
                user_id=victim.id,
                text="please",
                status="open",
                created_at=now,
            )
        )
        conn.execute(
            insert(idp_configs).values(
                id=ids["idp"],
                org_id=org.id,
                slug="corp",
                kind="oidc",
                name="Corp",
                enabled=False,
                config={"issuer": "https://idp.invalid", "client_id": "x"},
                created_at=now,
            )
        )
        conn.execute(
            insert(network_rules).values(
                id=ids["net"], org_id=org.id, cidr="0.0.0.0/0", created_at=now, created_by="test"
            )
        )
        conn.execute(
            insert(verified_domains).values(
                id=ids["dom"],
                org_id=org.id,
                domain=f"{slug}.test",
                token="t",
                join_policy="invite_only",
                default_role="member",
                created_at=now,
                created_by="test",
            )
        )
        conn.execute(
            insert(client_certificates).values(
                id=ids["crt"],
                org_id=org.id,
                project_id=victim_project.id,
                user_id=victim.id,
                fingerprint_sha256=secrets.token_hex(32),
                created_at=now,
                created_by="test",
            )
        )
        conn.execute(
            insert(scim_tokens).values(
                id=ids["scim"],
                org_id=org.id,
                name="test",
                prefix="scim-test",
                token_hash=secrets.token_hex(32),
                created_at=now,
                created_by="test",
            )
        )
        conn.execute(
            insert(budgets).values(
                id=ids["bud"],
                org_id=org.id,
                scope_type="project",
                scope_id=victim_project.id,
                unit="usd",
                amount=10**9,
                period="month",
                thresholds=[80, 100],
                enabled=True,
                created_at=now,
                created_by="test",
            )
        )
        conn.execute(
            insert(rate_limits).values(
                id=ids["rl"],
                org_id=org.id,
                scope_type="project",
                scope_id=victim_project.id,
                requests_per_minute=1000,
                created_at=now,
                created_by="test",
            )
        )
    org.objects = {
        "project_id": victim_project.id,
        "user_id": victim.id,
        "key_id": victim_key.id,
        "group_id": group.id,
        "review_id": ids["rev"],
        "action_id": ids["act"],
        "appeal_id": ids["apl"],
        "idp_id": ids["idp"],
        "rule_id": ids["net"],
        "domain_id": ids["dom"],
        "cert_id": ids["crt"],
        "version": "1",
        "org_slug": slug,
        "idp_slug": "corp",
        "session_id": "sess_0000000000000000",
        "model": "gpt-4o-mini",
        "token_id": ids["scim"],
        "schema_id": "urn:ietf:params:scim:schemas:core:2.0:User",
        "type_id": "User",
        "resource_id": victim.id,
        "path": "Users",
        "budget_id": ids["bud"],
        "limit_id": ids["rl"],
    }
    return org


@pytest.fixture
async def orgs(gateway: Gateway) -> AsyncIterator[tuple[Org, Org]]:
    yield _make_org(gateway, "acme"), _make_org(gateway, "globex")


def admin_routes(gw: Gateway) -> list[RouteInfo]:
    return [r for r in app_routes(gw.app) if r.path.startswith("/admin/")]


def expected_allowed(rule: object, role: str) -> bool:
    """What the matrix says for a caller holding ``role`` (an org role or a project role)."""
    if isinstance(rule, Authenticated):
        return True
    if isinstance(rule, MasterKeyOnly):
        return False
    assert isinstance(rule, Allow)
    if role in PROJECT_ROLE_USERS:  # org role "member" plus a project role
        granted = org_permissions({"member"}) | (
            project_permissions(PROJECT_ROLE_USERS[role]) if rule.per_project else frozenset()
        )
        return rule.perm in granted
    return rule.perm in org_permissions({role})


def _example_body(route: RouteInfo, objects: dict[str, str]) -> dict[str, Any]:
    """A body that passes validation, so the handler (and its object lookup) is reached."""
    assert route.has_body
    schema = route.route.body_field.field_info.annotation  # type: ignore[attr-defined]
    fields = getattr(schema, "model_fields", {})
    samples: dict[str, Any] = {
        "user_id": objects["user_id"],
        "project_id": objects["project_id"],
        "password": "correct horse battery staple 42",
        "role": "viewer",
        "outcome": "uphold",
        "changes": {"max_tokens": 5},
    }
    # Booleans are left alone: flags such as clear_secret would destroy data if a check were missing.
    by_type: dict[Any, Any] = {str: "renamed", int: 10}
    body: dict[str, Any] = {}
    for name, info in fields.items():
        if info.is_required():
            body[name] = samples.get(name, "a reason for the record")
    if not body and route.method == "PATCH":
        # A change with nothing in it may be refused before the object is looked up: change one field.
        for name, info in fields.items():
            kind = next((t for t in by_type if t in _plain_types(info.annotation)), None)
            if kind is not None and name not in ("enabled", "active"):
                body[name] = samples.get(name, by_type[kind])
                break
    return body


def _plain_types(annotation: Any) -> set[Any]:
    """``int | None``, ``Annotated[int, …] | None`` … → {int, NoneType}."""
    args = typing.get_args(annotation)
    if not args:
        return {annotation}
    if typing.get_origin(annotation) is typing.Annotated:
        return _plain_types(args[0])
    return set().union(*(_plain_types(a) for a in args))


async def _call(
    gw: Gateway, route: RouteInfo, key: str, objects: dict[str, str], *, valid_body: bool
) -> httpx.Response:
    path = fill(route.path, objects)
    kwargs: dict[str, Any] = {"headers": gw.headers(key)}
    if route.method in ("POST", "PUT", "PATCH"):
        kwargs["json"] = _example_body(route, objects) if valid_body and route.has_body else {}
    return await gw.client.request(route.method, path, **kwargs)


def _denied(response: httpx.Response) -> bool:
    return response.status_code == 403 and response.json()["error"]["code"] == "insufficient_role"


async def test_every_route_has_an_authorization_rule(gateway: Gateway) -> None:
    missing = []
    for route in app_routes(gateway.app):
        key = (route.method, route.path)
        if route.path.startswith("/admin/"):
            if route.rule is None:
                missing.append(str(route))
        elif not (key in PUBLIC or route.path.startswith((SESSION_PREFIX, SCIM_PREFIX, API_KEY_PREFIX))):
            missing.append(str(route))
    assert not missing, f"routes without an authorization rule: {missing}"


async def test_routes_without_credentials_are_refused(gateway: Gateway, orgs: tuple[Org, Org]) -> None:
    acme, _ = orgs
    for route in app_routes(gateway.app):
        if (route.method, route.path) in PUBLIC:
            continue
        path = fill(route.path, acme.objects)
        response = await gateway.client.request(
            route.method, path, json={} if route.method != "GET" else None
        )
        # A malformed body may be refused before credentials are looked at; nothing else may pass.
        malformed = route.has_body and response.status_code == 400
        assert response.status_code == 401 or malformed, f"{route}: {response.status_code} {response.text}"
        if route.path.startswith(SCIM_PREFIX):
            # SCIM takes only the organisation's SCIM token, not even the owner's API key.
            owner = await gateway.client.request(
                route.method, path, headers=gateway.headers(acme.keys["owner"])
            )
            assert owner.status_code == 401, f"{route}: {owner.text}"


async def test_every_admin_route_as_every_role(gateway: Gateway, orgs: tuple[Org, Org]) -> None:
    acme, _ = orgs
    wrong = []
    for route in admin_routes(gateway):
        for role in [*ORG_ROLES, *PROJECT_ROLE_USERS]:
            response = await _call(gateway, route, acme.keys[role], acme.objects, valid_body=False)
            allowed = expected_allowed(route.rule, role)
            if response.status_code in (401, 500) or _denied(response) == allowed:
                want = "allow" if allowed else "deny"
                wrong.append(
                    f"{route} as {role}: expected {want}, got {response.status_code} {response.text[:160]}"
                )
        master = await _call(gateway, route, MASTER_KEY, acme.objects, valid_body=False)
        if _denied(master) or master.status_code in (401, 500):
            wrong.append(f"{route} as master key: {master.status_code} {master.text[:160]}")
    assert not wrong, "\n".join(wrong)


async def test_no_admin_route_reaches_another_organisations_objects(
    gateway: Gateway, orgs: tuple[Org, Org]
) -> None:
    acme, globex = orgs
    leaks = []
    for route in admin_routes(gateway):
        params = [p for p in route.params if p not in ("version",)]
        if not params:
            continue
        for role in ("owner", "admin", "auditor", "reviewer"):
            response = await _call(gateway, route, acme.keys[role], globex.objects, valid_body=True)
            if response.status_code != 404 and not _denied(response):
                leaks.append(f"{route} as acme {role}: {response.status_code} {response.text[:160]}")
    assert not leaks, "\n".join(leaks)
    await _globex_objects_intact(gateway, globex)


async def test_project_roles_reach_only_their_projects(gateway: Gateway, orgs: tuple[Org, Org]) -> None:
    acme, _ = orgs
    tenancy = gateway.core.tenancy
    default = tenancy.get_project("default", acme.id)
    # Objects of the "default" project, where the project-role users hold no project role.
    other_user = tenancy.create_user(acme.id, "other@acme.test", "Other", "member", actor="test")
    other_key, _s = tenancy.create_key(default, other_user, "other", actor="test")
    elsewhere = {**acme.objects, "project_id": default.id, "key_id": other_key.id, "user_id": other_user.id}
    leaks = []
    for route in admin_routes(gateway):
        if not set(route.params) & {"project_id", "key_id"}:
            continue
        for role in PROJECT_ROLE_USERS:
            response = await _call(gateway, route, acme.keys[role], elsewhere, valid_body=True)
            if response.status_code != 404 and not _denied(response):
                leaks.append(f"{route} as {role}: {response.status_code} {response.text[:160]}")
    # Listing is narrowed the same way.
    listed = await gateway.client.get("/admin/v1/keys", headers=gateway.headers(acme.keys["project_admin"]))
    assert listed.status_code == 200
    assert {k["project_id"] for k in listed.json()} == {acme.objects["project_id"]}
    other = await gateway.client.get(
        "/admin/v1/keys",
        params={"project_id": default.id},
        headers=gateway.headers(acme.keys["project_admin"]),
    )
    assert other.status_code == 404
    assert not leaks, "\n".join(leaks)
    with gateway.core.engine.connect() as conn:
        assert (
            conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.id == other_key.id)).scalar() is None
        )


async def test_gateway_objects_of_another_organisation_are_not_found(
    gateway: Gateway, orgs: tuple[Org, Org]
) -> None:
    acme, globex = orgs
    for path in (f"/v1/reviews/{globex.objects['review_id']}", f"/v1/appeals/{globex.objects['appeal_id']}"):
        response = await gateway.client.get(path, headers=gateway.headers(acme.keys["owner"]))
        assert response.status_code == 404, f"{path}: {response.text}"


async def _globex_objects_intact(gw: Gateway, org: Org) -> None:
    with gw.core.engine.connect() as conn:
        key = conn.execute(
            select(api_keys.c.revoked_at).where(api_keys.c.id == org.objects["key_id"])
        ).scalar()
        user = conn.execute(
            select(users.c.active, users.c.role).where(users.c.id == org.objects["user_id"])
        ).one()
        review = conn.execute(
            select(review_items.c.status).where(review_items.c.id == org.objects["review_id"])
        ).scalar()
        action = conn.execute(
            select(enforcement_actions.c.lifted_at).where(
                enforcement_actions.c.id == org.objects["action_id"]
            )
        ).scalar()
        rule = conn.execute(
            select(network_rules.c.id).where(network_rules.c.id == org.objects["rule_id"])
        ).scalar()
    assert key is None and user.active and user.role == "member"
    assert review == "pending" and action is None and rule is not None


async def test_the_permission_reference_is_current(gateway: Gateway) -> None:
    doc = Path(__file__).parents[2] / "docs" / "permissions.md"
    assert doc.read_text(encoding="utf-8") == reference_markdown(gateway.app), (
        "docs/permissions.md is stale: run .venv/bin/python scripts/gen_permissions_doc.py"
    )
