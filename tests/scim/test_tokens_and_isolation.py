"""SCIM tokens (admin API) and tenant isolation: a token reaches its own organisation only."""

from __future__ import annotations

import hashlib
from collections.abc import Callable

import pytest
from sqlalchemy import select

from sekisho.settings import Settings
from sekisho.store.tables import audit_log, scim_tokens
from tests.conftest import MASTER_KEY, running_gateway
from tests.scim.conftest import GROUP_SCHEMA, USER_SCHEMA, Tenant, scim_error

pytestmark = pytest.mark.anyio

TOKENS = "/admin/v1/scim/tokens"


async def test_token_secret_is_shown_once_and_stored_hashed(acme: Tenant) -> None:
    client, headers = acme.gw.client, acme.gw.headers(acme.admin_key)
    made = await client.post(TOKENS, headers=headers, json={"name": "Okta"})
    assert made.status_code == 201, made.text
    token = made.json()
    secret = token["token"]
    assert secret.startswith("scim-sks-") and len(secret) > 40
    assert token["prefix"] == secret[:17] and token["scim_base_url"] == "http://sekisho/scim/v2"
    assert (token["org_id"], token["name"], token["revoked_at"]) == (acme.id, "Okta", None)

    listed = await client.get(TOKENS, headers=headers)
    assert [t["id"] for t in listed.json()] == [token["id"], acme.token_id]
    shown = await client.get(f"{TOKENS}/{token['id']}", headers=headers)
    assert shown.status_code == 200 and "token" not in shown.json()
    assert secret not in listed.text + shown.text
    with acme.gw.core.engine.connect() as conn:
        stored = conn.execute(select(scim_tokens).where(scim_tokens.c.id == token["id"])).mappings().one()
        logged = conn.execute(select(audit_log.c.kind, audit_log.c.record)).all()
    assert stored["token_hash"] == hashlib.sha256(secret.encode()).hexdigest()
    assert secret not in str(dict(stored)) and all(secret not in record for _kind, record in logged)
    assert "scim.token.created" in [kind for kind, _ in logged]

    # The token works, and marks its use.
    assert (
        await acme.request("GET", "/Users", headers={"authorization": f"Bearer {secret}"})
    ).status_code == 200
    assert (await client.get(f"{TOKENS}/{token['id']}", headers=headers)).json()["last_used_at"] is not None

    revoked = await client.delete(f"{TOKENS}/{token['id']}", headers=headers)
    assert revoked.status_code == 200 and revoked.json()["revoked_at"] is not None
    scim_error(await acme.request("GET", "/Users", headers={"authorization": f"Bearer {secret}"}), 401)
    assert (await acme.request("GET", "/Users")).status_code == 200  # the other token still works
    with acme.gw.core.engine.connect() as conn:
        kinds = (
            conn.execute(select(audit_log.c.kind).where(audit_log.c.kind.like("scim.token.%")))
            .scalars()
            .all()
        )
    assert kinds == ["scim.token.created", "scim.token.created", "scim.token.revoked"]


async def test_only_owners_and_admins_manage_tokens(acme: Tenant, globex: Tenant) -> None:
    client, tenancy = acme.gw.client, acme.gw.core.tenancy

    def key_for(role: str) -> str:
        user = tenancy.create_user(acme.id, f"{role}@acme.example.com", role, role, actor="test")
        return tenancy.create_key(acme.project, user, role, actor="test")[1]

    member, auditor = key_for("member"), key_for("auditor")
    assert (await client.post(TOKENS, headers=acme.gw.headers(member), json={"name": "x"})).status_code == 403
    assert (await client.get(TOKENS, headers=acme.gw.headers(member))).status_code == 403
    assert (
        await client.post(TOKENS, headers=acme.gw.headers(auditor), json={"name": "x"})
    ).status_code == 403
    assert (
        await client.delete(f"{TOKENS}/{acme.token_id}", headers=acme.gw.headers(auditor))
    ).status_code == 403
    assert (
        await client.get(TOKENS, headers=acme.gw.headers(auditor))
    ).status_code == 200  # reading is allowed

    # Another organisation's token answers 404, as an unknown one does.
    mine = acme.gw.headers(acme.admin_key)
    assert (await client.get(f"{TOKENS}/{globex.token_id}", headers=mine)).status_code == 404
    assert (await client.delete(f"{TOKENS}/{globex.token_id}", headers=mine)).status_code == 404
    assert (await client.get(TOKENS, headers=mine, params={"org_id": globex.id})).status_code == 404
    assert (await globex.request("GET", "/Users")).status_code == 200  # still working

    # The master key works on any organisation, named by org_id.
    made = await client.post(
        TOKENS, headers=acme.gw.headers(MASTER_KEY), json={"name": "ops", "org_id": globex.id}
    )
    assert made.status_code == 201 and made.json()["org_id"] == globex.id


async def test_scim_tokens_and_api_keys_do_not_mix(acme: Tenant) -> None:
    # An owner's API key is not a SCIM token, and a SCIM token opens neither the admin nor the model API.
    scim_error(
        await acme.request("GET", "/Users", headers={"authorization": f"Bearer {acme.admin_key}"}), 401
    )
    scim_error(await acme.request("GET", "/Users", headers={"authorization": f"Bearer {MASTER_KEY}"}), 401)
    no_token = await acme.gw.client.get("/scim/v2/Users")
    scim_error(no_token, 401)
    assert no_token.headers["www-authenticate"].startswith("Bearer")
    assert (await acme.gw.client.get(TOKENS, headers=acme.headers())).status_code == 401
    chat = await acme.gw.client.post(
        "/v1/chat/completions",
        headers=acme.headers(),
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hi"}]},
    )
    assert chat.status_code == 401


async def test_a_token_reaches_only_its_own_organisation(acme: Tenant, globex: Tenant) -> None:
    theirs = await globex.create_user("victim@example.com", externalId="ext-v")
    group = await globex.create_group("Globex staff", [theirs["id"]])
    mine = await acme.create_user("me@example.com")
    before = (await globex.request("GET", f"/Users/{theirs['id']}")).json()

    for path in (f"/Users/{theirs['id']}", f"/Groups/{group['id']}"):
        scim_error(await acme.request("GET", path), 404)
        scim_error(await acme.request("DELETE", path), 404)
        scim_error(await acme.patch(path, {"op": "replace", "path": "externalId", "value": "stolen"}), 404)
    scim_error(
        await acme.request("PUT", f"/Users/{theirs['id']}", {"schemas": [USER_SCHEMA], "userName": "stolen"}),
        404,
    )
    scim_error(
        await acme.request("PUT", f"/Groups/{group['id']}", {"schemas": [GROUP_SCHEMA], "displayName": "x"}),
        404,
    )
    for query in (f'id eq "{theirs["id"]}"', 'userName eq "victim@example.com"', 'externalId eq "ext-v"'):
        assert (await acme.request("GET", "/Users", params={"filter": query})).json()["totalResults"] == 0
    everything = await acme.request(
        "POST", "/.search", {"schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"]}
    )
    ids = {r["id"] for r in everything.json()["Resources"]}
    assert mine["id"] in ids and theirs["id"] not in ids and group["id"] not in ids
    # The same userName may exist in both organisations.
    assert (await acme.create_user("victim@example.com"))["id"] != theirs["id"]
    # Nothing of globex changed.
    assert (await globex.request("GET", f"/Users/{theirs['id']}")).json() == before
    assert [kind for kind, _ in globex.audit()] == [
        "scim.user.created",
        "scim.group.created",
        "scim.group.member_added",
    ]


async def test_scim_can_be_switched_off(database_url: str, make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        {"scim": {"enabled": False}}, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY
    )
    async with running_gateway(settings) as gw:
        assert (await gw.client.get("/scim/v2/ServiceProviderConfig")).status_code == 404
        assert (await gw.client.get(TOKENS, headers=gw.headers(MASTER_KEY))).status_code == 404
