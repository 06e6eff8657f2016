"""Roles that add up (groups, projects), role changes and deactivation, and the admin API by session
cookie with CSRF protection (issue 5)."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sekisho.accounts.sessions import csrf_token_for
from sekisho.store.tables import api_keys, audit_log, sessions
from tests.conftest import Gateway

pytestmark = pytest.mark.anyio
ADMIN = "/admin/v1"


def _user_key(gw: Gateway, role: str, email: str, project: str = "default") -> tuple[str, str]:
    tenancy = gw.core.tenancy
    org = tenancy.ensure_default_org()
    user = tenancy.create_user(org.id, email, email.split("@")[0], role, actor="test")
    _k, secret = tenancy.create_key(tenancy.get_project(project, org.id), user, "k", actor="test")
    return user.id, str(secret)


def _session(gw: Gateway, user_id: str, *, mfa_verified: bool = True) -> str:
    org = gw.core.tenancy.ensure_default_org()
    _s, token = gw.app.state.sessions.create(
        org_id=org.id, user_id=user_id, method="password", mfa_verified=mfa_verified
    )
    return str(token)


async def _get_with_cookie(gw: Gateway, path: str, token: str) -> httpx.Response:
    gw.client.cookies.set(gw.settings.identity.sessions.cookie_name, token)
    try:
        return await gw.client.get(path)
    finally:
        gw.client.cookies.clear()


def _kinds(gw: Gateway) -> list[tuple[str, Any]]:
    gw.flush()
    with gw.core.engine.connect() as conn:
        return [(r.kind, r.record) for r in conn.execute(select(audit_log.c.kind, audit_log.c.record))]


async def test_a_group_grant_adds_a_role_and_taking_it_away_removes_it(gateway: Gateway) -> None:
    admin_id, admin_key = _user_key(gateway, "admin", "admin@acme.test")
    member_id, member_key = _user_key(gateway, "member", "member@acme.test")
    client, admin = gateway.client, gateway.headers(admin_key)
    assert (await client.get(f"{ADMIN}/audit/verify", headers=gateway.headers(member_key))).status_code == 403

    group = (await client.post(f"{ADMIN}/groups", headers=admin, json={"name": "Audit"})).json()
    await client.post(f"{ADMIN}/groups/{group['id']}/members", headers=admin, json={"user_id": member_id})
    granted = await client.put(
        f"{ADMIN}/groups/{group['id']}/grants", headers=admin, json={"org_role": "auditor"}
    )
    assert granted.status_code == 200 and granted.json()["org_role"] == "auditor"
    assert (await client.get(f"{ADMIN}/audit/verify", headers=gateway.headers(member_key))).status_code == 200

    await client.put(f"{ADMIN}/groups/{group['id']}/grants", headers=admin, json={"org_role": None})
    assert (await client.get(f"{ADMIN}/audit/verify", headers=gateway.headers(member_key))).status_code == 403
    assert "admin.group.grants_changed" in [k for k, _ in _kinds(gateway)]

    # Only an owner hands out ownership, directly or through a group.
    owner = await client.put(
        f"{ADMIN}/groups/{group['id']}/grants", headers=admin, json={"org_role": "owner"}
    )
    assert owner.status_code == 403
    unknown = await client.put(
        f"{ADMIN}/groups/{group['id']}/grants", headers=admin, json={"project_roles": {"proj_nope": "admin"}}
    )
    assert unknown.status_code == 404
    bad = await client.put(
        f"{ADMIN}/groups/{group['id']}/grants", headers=admin, json={"org_role": "emperor"}
    )
    assert bad.status_code == 400
    del admin_id


async def test_a_project_admin_manages_keys_and_members_of_their_project_only(gateway: Gateway) -> None:
    _a, admin_key = _user_key(gateway, "admin", "admin@acme.test")
    admin = gateway.headers(admin_key)
    client = gateway.client
    project = (
        await client.post(f"{ADMIN}/projects", headers=admin, json={"slug": "sales", "name": "Sales"})
    ).json()
    lead_id, lead_key = _user_key(gateway, "member", "lead@acme.test")
    rep_id, _rep_key = _user_key(gateway, "member", "rep@acme.test")
    put = await client.put(
        f"{ADMIN}/projects/{project['id']}/members/{lead_id}",
        headers=admin,
        json={"user_id": lead_id, "role": "admin"},
    )
    assert put.status_code == 200 and put.json()["role"] == "admin"
    lead = gateway.headers(lead_key)

    # The project admin adds a member and mints a key for them in the project …
    added = await client.put(
        f"{ADMIN}/projects/{project['id']}/members/{rep_id}",
        headers=lead,
        json={"user_id": rep_id, "role": "member"},
    )
    assert added.status_code == 200
    minted = await client.post(
        f"{ADMIN}/keys", headers=lead, json={"project_id": project["id"], "name": "rep", "user_id": rep_id}
    )
    assert minted.status_code == 201, minted.text
    # … sees only that project …
    projects = (await client.get(f"{ADMIN}/projects", headers=lead)).json()
    assert [p["id"] for p in projects] == [project["id"]]
    usage = await client.get(f"{ADMIN}/usage", headers=lead)
    assert usage.status_code == 200
    # … and nothing elsewhere, nor organisation-wide powers.
    elsewhere = await client.post(f"{ADMIN}/keys", headers=lead, json={"project_id": "default", "name": "x"})
    assert elsewhere.status_code == 404
    assert (await client.get(f"{ADMIN}/users", headers=lead)).status_code == 403
    assert (
        await client.post(f"{ADMIN}/projects", headers=lead, json={"slug": "x", "name": "x"})
    ).status_code == 403
    kinds = [k for k, _ in _kinds(gateway)]
    assert kinds.count("project.member_set") == 2

    removed = await client.delete(f"{ADMIN}/projects/{project['id']}/members/{lead_id}", headers=admin)
    assert removed.status_code == 204
    assert (await client.get(f"{ADMIN}/projects", headers=lead)).status_code == 403


async def test_role_changes_are_audited_and_deactivation_cuts_access_at_once(gateway: Gateway) -> None:
    owner_id, owner_key = _user_key(gateway, "owner", "owner@acme.test")
    admin_id, admin_key = _user_key(gateway, "admin", "admin@acme.test")
    leaver_id, leaver_key = _user_key(gateway, "member", "leaver@acme.test")
    session = _session(gateway, leaver_id)
    client = gateway.client
    admin, owner = gateway.headers(admin_key), gateway.headers(owner_key)

    promoted = await client.patch(f"{ADMIN}/users/{leaver_id}", headers=admin, json={"role": "reviewer"})
    assert promoted.status_code == 200 and promoted.json()["role"] == "reviewer"
    assert (
        await client.patch(f"{ADMIN}/users/{leaver_id}", headers=admin, json={"role": "owner"})
    ).status_code == 403
    assert (
        await client.patch(f"{ADMIN}/users/{owner_id}", headers=admin, json={"role": "member"})
    ).status_code == 403
    assert (
        await client.patch(f"{ADMIN}/users/{admin_id}", headers=admin, json={"active": False})
    ).status_code == 409
    assert (
        await client.patch(f"{ADMIN}/users/{leaver_id}", headers=owner, json={"role": "nope"})
    ).status_code == 400

    chat = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]}
    assert (
        await client.post("/v1/chat/completions", headers=gateway.headers(leaver_key), json=chat)
    ).status_code == 200
    gone = await client.patch(f"{ADMIN}/users/{leaver_id}", headers=admin, json={"active": False})
    assert gone.status_code == 200 and gone.json()["active"] is False
    refused = await client.post("/v1/chat/completions", headers=gateway.headers(leaver_key), json=chat)
    assert refused.status_code == 401
    with gateway.core.engine.connect() as conn:
        assert (
            conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.user_id == leaver_id)).scalar()
            is not None
        )
        assert conn.execute(
            select(sessions.c.revoked_reason).where(sessions.c.user_id == leaver_id)
        ).scalar() == ("deactivated")
    assert (await _get_with_cookie(gateway, f"{ADMIN}/projects", session)).status_code == 401
    records = dict(_kinds(gateway))
    assert "user.role_changed" in records and "user.deactivated" in records


async def test_the_admin_api_by_session_cookie_needs_csrf_for_changes(gateway: Gateway) -> None:
    admin_id, _admin_key = _user_key(gateway, "admin", "admin@acme.test")
    token = _session(gateway, admin_id)
    client = gateway.client
    name = gateway.settings.identity.sessions.cookie_name
    client.cookies.set(name, token)
    try:
        assert (await client.get(f"{ADMIN}/projects")).status_code == 200
        body = {"slug": "csrf", "name": "CSRF"}
        missing = await client.post(f"{ADMIN}/projects", json=body)
        assert missing.status_code == 403 and missing.json()["error"]["code"] == "csrf_failed"
        wrong = await client.post(f"{ADMIN}/projects", json=body, headers={"x-csrf-token": "0" * 64})
        assert wrong.status_code == 403
        ok = await client.post(
            f"{ADMIN}/projects", json=body, headers={"x-csrf-token": csrf_token_for(token)}
        )
        assert ok.status_code == 201, ok.text
        # The audit record names the session, not a key.
        actor = [r for k, r in _kinds(gateway) if k == "admin.project.created"][-1]
        assert "session:" in actor
        # An API key in the Authorization header wins over any cookie, and needs no CSRF token.
        _m, member_key = _user_key(gateway, "member", "m@acme.test")
        as_member = await client.post(
            f"{ADMIN}/projects", json={"slug": "y", "name": "y"}, headers=gateway.headers(member_key)
        )
        assert as_member.status_code == 403 and as_member.json()["error"]["code"] == "insufficient_role"
    finally:
        client.cookies.clear()

    half = _session(gateway, admin_id, mfa_verified=False)
    pending = await _get_with_cookie(gateway, f"{ADMIN}/projects", half)
    assert pending.status_code == 401 and pending.json()["error"]["code"] == "mfa_required"
    gateway.app.state.sessions.revoke(
        gateway.app.state.sessions.lookup(token).id, reason="test", actor="test"
    )
    ended = await _get_with_cookie(gateway, f"{ADMIN}/projects", token)
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_expired"
