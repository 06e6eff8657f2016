"""SCIM Groups: membership through PATCH and PUT, and the role grants that follow membership."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sekisho.store.tables import group_members
from tests.scim.conftest import GROUP_SCHEMA, Tenant, scim_error

pytestmark = pytest.mark.anyio


def member_ids(group: dict[str, object]) -> list[str]:
    return [m["value"] for m in group.get("members") or []]  # type: ignore[attr-defined]


async def test_group_lifecycle(acme: Tenant) -> None:
    alice = await acme.create_user("alice@example.com")
    bob = await acme.create_user("bob@example.com")
    response = await acme.request(
        "POST",
        "/Groups",
        {
            "schemas": [GROUP_SCHEMA],
            "displayName": "Engineering",
            "externalId": "00g1",
            # Identity providers send a display name; Sekisho does not store it.
            "members": [{"value": alice["id"], "display": "Alice"}],
        },
    )
    assert response.status_code == 201, response.text
    group = response.json()
    assert response.headers["location"] == group["meta"]["location"]
    assert (group["displayName"], group["externalId"]) == ("Engineering", "00g1")
    assert group["members"] == [
        {"value": alice["id"], "$ref": f"http://sekisho/scim/v2/Users/{alice['id']}", "type": "User"}
    ]
    # The user resource lists the group.
    assert (await acme.request("GET", f"/Users/{alice['id']}")).json()["groups"] == [
        {
            "value": group["id"],
            "$ref": f"http://sekisho/scim/v2/Groups/{group['id']}",
            "display": "Engineering",
            "type": "direct",
        }
    ]

    path = f"/Groups/{group['id']}"
    added = await acme.patch(path, {"op": "add", "path": "members", "value": [{"value": bob["id"]}]})
    assert added.status_code == 200, added.text
    assert sorted(member_ids(added.json())) == sorted([alice["id"], bob["id"]])
    removed = await acme.patch(path, {"op": "remove", "path": f'members[value eq "{alice["id"]}"]'})
    assert member_ids(removed.json()) == [bob["id"]]
    # Entra ID's way: remove with the members in "value".
    entra = await acme.patch(path, {"op": "Remove", "path": "members", "value": [{"value": bob["id"]}]})
    assert entra.status_code == 200, entra.text
    assert "members" not in entra.json()
    renamed = await acme.patch(
        path,
        {"op": "replace", "path": "displayName", "value": "R&D"},
        {"op": "replace", "path": "members", "value": [{"value": alice["id"]}, {"value": bob["id"]}]},
    )
    assert renamed.json()["displayName"] == "R&D" and len(member_ids(renamed.json())) == 2
    replaced = await acme.request(
        "PUT", path, {"schemas": [GROUP_SCHEMA], "displayName": "R&D", "members": [{"value": bob["id"]}]}
    )
    assert replaced.status_code == 200 and member_ids(replaced.json()) == [bob["id"]]
    assert "externalId" not in replaced.json()  # PUT without it clears it

    only_names = (await acme.request("GET", "/Groups", params={"excludedAttributes": "members"})).json()
    assert only_names["Resources"][0]["displayName"] == "R&D" and "members" not in only_names["Resources"][0]
    # Read without its members, a group has no version a full read would contradict.
    assert "version" not in only_names["Resources"][0]["meta"]
    assert (await acme.request("GET", path)).json()["meta"]["version"] == replaced.json()["meta"]["version"]
    by_name = await acme.request("GET", "/Groups", params={"filter": 'displayName eq "r&d"'})
    assert [g["id"] for g in by_name.json()["Resources"]] == [group["id"]]
    by_member = await acme.request("GET", "/Groups", params={"filter": f'members[value eq "{bob["id"]}"]'})
    assert [g["id"] for g in by_member.json()["Resources"]] == [group["id"]]

    assert (await acme.request("DELETE", path)).status_code == 204
    scim_error(await acme.request("GET", path), 404)
    assert "groups" not in (await acme.request("GET", f"/Users/{bob['id']}")).json()

    kinds = [kind for kind, _ in acme.audit() if kind.startswith("scim.group")]
    assert kinds == [
        "scim.group.created",
        "scim.group.member_added",  # alice
        "scim.group.member_added",  # bob
        "scim.group.member_removed",  # alice
        "scim.group.member_removed",  # bob (Entra)
        "scim.group.updated",  # renamed
        "scim.group.member_added",
        "scim.group.member_added",
        "scim.group.updated",  # externalId cleared by PUT
        "scim.group.member_removed",
        "scim.group.deleted",
    ]


async def test_members_must_be_users_of_the_organisation(acme: Tenant, globex: Tenant) -> None:
    outsider = await globex.create_user("mallory@example.com")
    group = await acme.create_group("Staff")
    path = f"/Groups/{group['id']}"
    scim_error(
        await acme.patch(path, {"op": "add", "path": "members", "value": [{"value": outsider["id"]}]}),
        400,
        "invalidValue",
    )
    nested = {"op": "add", "path": "members", "value": [{"value": group["id"], "type": "Group"}]}
    scim_error(await acme.patch(path, nested), 400, "invalidValue")
    body = {"schemas": [GROUP_SCHEMA], "displayName": "Other", "members": [{"value": outsider["id"]}]}
    scim_error(await acme.request("POST", "/Groups", body), 400, "invalidValue")
    scim_error(
        await acme.request("POST", "/Groups", {"schemas": [GROUP_SCHEMA], "displayName": "Staff"}),
        409,
        "uniqueness",
    )
    scim_error(await acme.request("POST", "/Groups", {"schemas": [GROUP_SCHEMA]}), 400, "invalidValue")
    long_id = {"schemas": [GROUP_SCHEMA], "displayName": "Long", "externalId": "x" * 201}
    scim_error(await acme.request("POST", "/Groups", long_id), 400, "invalidValue")
    assert (await globex.request("GET", "/Groups")).json()["totalResults"] == 0


async def test_service_account_members_survive_a_scim_replacement(acme: Tenant) -> None:
    alice = await acme.create_user("alice@example.com")
    group = await acme.create_group("Bots and people", [alice["id"]])
    service = acme.gw.core.tenancy.service_account_for(acme.id, actor="test")
    acme.gw.app.state.admin.groups.add_member(group["id"], service.id, acme.id, actor="test")
    shown = (await acme.request("GET", f"/Groups/{group['id']}")).json()
    assert member_ids(shown) == [alice["id"]]
    await acme.request(
        "PUT", f"/Groups/{group['id']}", {"schemas": [GROUP_SCHEMA], "displayName": "Bots and people"}
    )
    with acme.gw.core.engine.connect() as conn:
        left = conn.execute(
            select(group_members.c.user_id).where(group_members.c.group_id == group["id"])
        ).scalars()
        assert list(left) == [service.id]


async def test_role_grants_follow_membership_at_once(acme: Tenant) -> None:
    """An admin lets a group read the audit log; SCIM moves a user in and out of it."""
    user = await acme.create_user("audrey@example.com")
    tenancy = acme.gw.core.tenancy
    _key, secret = tenancy.create_key(acme.project, tenancy.get_user(user["id"], acme.id), "k", actor="test")
    group = await acme.create_group("Auditors")
    grants = await acme.gw.client.put(
        f"/admin/v1/groups/{group['id']}/grants",
        headers=acme.gw.headers(acme.admin_key),
        json={"org_role": "auditor"},
    )
    assert grants.status_code == 200, grants.text
    audit = "/admin/v1/audit/verify"
    assert (await acme.gw.client.get(audit, headers=acme.gw.headers(secret))).status_code == 403  # now cached

    await acme.patch(
        f"/Groups/{group['id']}", {"op": "add", "path": "members", "value": [{"value": user["id"]}]}
    )
    assert (await acme.gw.client.get(audit, headers=acme.gw.headers(secret))).status_code == 200
    await acme.patch(f"/Groups/{group['id']}", {"op": "remove", "path": f'members[value eq "{user["id"]}"]'})
    assert (await acme.gw.client.get(audit, headers=acme.gw.headers(secret))).status_code == 403
    # SCIM cannot change what a group grants: that attribute is not part of the resource.
    await acme.patch(f"/Groups/{group['id']}", {"op": "replace", "value": {"displayName": "Auditors 2"}})
    listed = await acme.gw.client.get(
        f"/admin/v1/groups/{group['id']}", headers=acme.gw.headers(acme.admin_key)
    )
    assert (listed.json()["name"], listed.json()["org_role"]) == ("Auditors 2", "auditor")
