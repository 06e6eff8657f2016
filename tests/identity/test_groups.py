"""Groups through the admin API: members, tenant isolation, audit records."""

from __future__ import annotations

import pytest

from tests.conftest import MASTER_KEY, Gateway

pytestmark = pytest.mark.anyio


async def test_groups_hold_members_and_are_audited(gateway: Gateway) -> None:
    master = gateway.headers(MASTER_KEY)
    user = (
        await gateway.client.post(
            "/admin/v1/users", headers=master, json={"email": "hanako@example.co.jp", "name": "山田花子"}
        )
    ).json()
    created = await gateway.client.post("/admin/v1/groups", headers=master, json={"name": "経理部"})
    assert created.status_code == 201, created.text
    group = created.json()
    added = await gateway.client.post(
        f"/admin/v1/groups/{group['id']}/members", headers=master, json={"user_id": user["id"]}
    )
    assert added.json()["member_ids"] == [user["id"]]
    again = await gateway.client.post(
        f"/admin/v1/groups/{group['id']}/members", headers=master, json={"user_id": user["id"]}
    )
    assert again.json()["member_ids"] == [user["id"]]
    listed = (await gateway.client.get("/admin/v1/groups", headers=master)).json()
    assert [g["name"] for g in listed] == ["経理部"]
    duplicate = await gateway.client.post("/admin/v1/groups", headers=master, json={"name": "経理部"})
    assert duplicate.status_code == 409
    missing = await gateway.client.post(
        f"/admin/v1/groups/{group['id']}/members", headers=master, json={"user_id": "user_nobody"}
    )
    assert missing.status_code == 404
    removed = await gateway.client.delete(
        f"/admin/v1/groups/{group['id']}/members/{user['id']}", headers=master
    )
    assert removed.json()["member_ids"] == []

    kinds = [r["kind"] for r in gateway.core.audit.export()]
    assert {"admin.group.created", "admin.group.member_added", "admin.group.member_removed"} <= set(kinds)


async def test_another_organisation_cannot_see_or_change_groups(gateway: Gateway) -> None:
    master = gateway.headers(MASTER_KEY)
    group = (await gateway.client.post("/admin/v1/groups", headers=master, json={"name": "secret"})).json()
    other = (
        await gateway.client.post(
            "/admin/v1/orgs", headers=master, json={"slug": "other", "name": "Other KK"}
        )
    ).json()
    tenancy = gateway.core.tenancy
    admin = tenancy.create_user(other["id"], "admin@other.example", "Other admin", "admin", actor="test")
    _key, secret = tenancy.create_key(tenancy.get_project("default", other["id"]), admin, "adm", actor="test")
    theirs = gateway.headers(secret)
    assert (await gateway.client.get("/admin/v1/groups", headers=theirs)).json() == []
    assert (await gateway.client.get(f"/admin/v1/groups/{group['id']}", headers=theirs)).status_code == 404
    change = await gateway.client.post(
        f"/admin/v1/groups/{group['id']}/members", headers=theirs, json={"user_id": admin.id}
    )
    assert change.status_code == 404
