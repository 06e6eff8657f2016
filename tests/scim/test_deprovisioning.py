"""Deprovisioning: deactivating or deleting a user ends their sessions and API keys at once."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sekisho.store.tables import api_keys, group_members, sessions, users
from tests.scim.conftest import Tenant, scim_error

pytestmark = pytest.mark.anyio


async def chat(tenant: Tenant, key: str) -> httpx.Response:
    return await tenant.gw.client.post(
        "/v1/chat/completions",
        headers={"authorization": f"Bearer {key}"},
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )


def equip(tenant: Tenant, user_id: str) -> tuple[str, str, str]:
    """Give a user an API key (used once, so it is in the key cache) and a console session."""
    tenancy = tenant.gw.core.tenancy
    key, secret = tenancy.create_key(
        tenant.project, tenancy.get_user(user_id, tenant.id), "laptop", actor="test"
    )
    _session, token = tenant.gw.app.state.sessions.create(
        org_id=tenant.id, user_id=user_id, method="password", mfa_verified=True
    )
    return key.id, secret, token


def revoked(tenant: Tenant, user_id: str) -> tuple[list[Any], list[Any]]:
    with tenant.gw.core.engine.connect() as conn:
        keys = (
            conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.user_id == user_id)).scalars().all()
        )
        ended = (
            conn.execute(select(sessions.c.revoked_reason).where(sessions.c.user_id == user_id))
            .scalars()
            .all()
        )
    return list(keys), list(ended)


@pytest.mark.parametrize("how", ["patch", "put"])
async def test_deactivation_ends_sessions_and_keys_at_once(acme: Tenant, how: str) -> None:
    user = await acme.create_user("ivan@example.com", displayName="Ivan")
    key_id, secret, session_token = equip(acme, user["id"])
    assert (await chat(acme, secret)).status_code == 200  # the key is now cached for minutes
    store = acme.gw.app.state.sessions
    assert store.lookup(session_token) is not None

    if how == "patch":
        # Entra ID sends the boolean as a string.
        response = await acme.patch(
            f"/Users/{user['id']}", {"op": "Replace", "path": "active", "value": "False"}
        )
    else:
        response = await acme.request(
            "PUT", f"/Users/{user['id']}", {**user, "active": False, "meta": None, "id": None}
        )
    assert response.status_code == 200, response.text
    assert response.json()["active"] is False

    refused = await chat(acme, secret)
    assert refused.status_code == 401, refused.text
    assert store.lookup(session_token) is None
    keys, ended = revoked(acme, user["id"])
    assert all(keys) and ended == ["deprovisioned"]
    kind, data = acme.audit()[-1]
    assert kind == "scim.user.deactivated"
    assert data == {
        "user_id": user["id"],
        "token_id": acme.token_id,
        "sessions_revoked": 1,
        "keys_revoked": 1,
    }

    # Reactivation lets the user sign in again, but revoked keys stay revoked.
    back = await acme.patch(f"/Users/{user['id']}", {"op": "replace", "path": "active", "value": True})
    assert back.status_code == 200 and back.json()["active"] is True
    assert acme.audit()[-1][0] == "scim.user.reactivated"
    assert (await chat(acme, secret)).status_code == 401
    with acme.gw.core.engine.connect() as conn:
        assert conn.execute(select(users.c.active).where(users.c.id == user["id"])).scalar() is True
        assert conn.execute(select(api_keys.c.revoked_at).where(api_keys.c.id == key_id)).scalar()


async def test_delete_keeps_the_row_for_the_audit_trail(acme: Tenant) -> None:
    user = await acme.create_user("judy@example.com", emails=[{"value": "judy@example.com"}])
    group = await acme.create_group("Judges", [user["id"]])
    _key_id, secret, session_token = equip(acme, user["id"])
    assert (await chat(acme, secret)).status_code == 200

    assert (await acme.request("DELETE", f"/Users/{user['id']}")).status_code == 204
    scim_error(await acme.request("GET", f"/Users/{user['id']}"), 404)
    scim_error(await acme.request("DELETE", f"/Users/{user['id']}"), 404)
    scim_error(await acme.patch(f"/Users/{user['id']}", {"op": "add", "path": "title", "value": "x"}), 404)
    listed = (await acme.request("GET", "/Users", params={"filter": 'userName eq "judy@example.com"'})).json()
    assert listed["totalResults"] == 0
    assert (await acme.request("GET", f"/Groups/{group['id']}")).json().get("members") is None
    assert (await chat(acme, secret)).status_code == 401
    assert acme.gw.app.state.sessions.lookup(session_token) is None

    with acme.gw.core.engine.connect() as conn:
        kept = conn.execute(select(users).where(users.c.id == user["id"])).mappings().one()
        memberships = conn.execute(select(group_members).where(group_members.c.user_id == user["id"])).all()
    assert (kept["active"], kept["username"], kept["email"]) == (False, None, "judy@example.com")
    assert kept["profile"]["deleted_at"]
    assert memberships == []
    kind, data = acme.audit()[-1]
    assert kind == "scim.user.deleted"
    assert (data["sessions_revoked"], data["keys_revoked"], data["groups_left"]) == (1, 1, 1)

    # The same person provisioned again gets their row back: a plain member, with nothing of before.
    again = await acme.create_user("judy@example.com", emails=[{"value": "judy@example.com"}])
    assert again["id"] == user["id"] and "groups" not in again
    assert acme.audit()[-1] == (
        "scim.user.created",
        {"user_id": user["id"], "token_id": acme.token_id, "revived": True, "active": True},
    )
    assert (await chat(acme, secret)).status_code == 401
