"""SCIM Users through the real app: CRUD, filters, paging, PATCH, ETags, uniqueness, errors."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import select

from sekisho.settings import Settings
from sekisho.store.tables import users
from tests.conftest import MASTER_KEY, running_gateway
from tests.scim.conftest import ENTERPRISE, USER_SCHEMA, Tenant, new_tenant, scim_error

pytestmark = pytest.mark.anyio


def row(tenant: Tenant, user_id: str) -> dict[str, Any]:
    with tenant.gw.core.engine.connect() as conn:
        return dict(conn.execute(select(users).where(users.c.id == user_id)).mappings().one())


async def test_create_and_read_a_user(acme: Tenant) -> None:
    response = await acme.request(
        "POST",
        "/Users",
        {
            "schemas": [USER_SCHEMA, ENTERPRISE],
            "userName": "Alice@Example.com",
            "externalId": "00u1abc",
            "name": {"givenName": "Alice", "familyName": "Liddell"},
            "title": "Researcher",
            "locale": "ja-JP",
            "emails": [
                {"value": "alice.home@example.org", "type": "home"},
                {"value": "Alice@Example.com", "type": "work", "primary": True},
            ],
            "phoneNumbers": [{"value": "+81-3-1234-5678", "type": "work"}],
            ENTERPRISE: {"department": "R&D", "costCenter": "4130"},
            "password": "never-stored",
        },
    )
    assert response.status_code == 201, response.text
    assert response.headers["content-type"].startswith("application/scim+json")
    user = response.json()
    assert user["id"].startswith("user_")
    assert (
        response.headers["location"]
        == user["meta"]["location"]
        == f"http://sekisho/scim/v2/Users/{user['id']}"
    )
    assert response.headers["etag"] == user["meta"]["version"]
    assert user["meta"]["resourceType"] == "User"
    assert (user["userName"], user["externalId"], user["title"]) == (
        "Alice@Example.com",
        "00u1abc",
        "Researcher",
    )
    assert user[ENTERPRISE] == {"department": "R&D", "costCenter": "4130"}
    assert "password" not in user and "active" not in user

    got = await acme.request("GET", f"/Users/{user['id']}")
    assert got.status_code == 200 and got.json() == user

    # Sekisho's own columns follow the SCIM attributes; the rest stays in the profile as sent.
    stored = row(acme, user["id"])
    assert (stored["org_id"], stored["email"], stored["name"], stored["username"]) == (
        acme.id,
        "alice@example.com",
        "Alice Liddell",
        "Alice@Example.com",
    )
    assert (stored["external_id"], stored["auth_source"], stored["role"], stored["active"]) == (
        "00u1abc",
        "scim",
        "member",
        True,
    )
    assert stored["profile"][ENTERPRISE]["department"] == "R&D"
    assert "never-stored" not in str(stored)
    assert acme.audit() == [
        (
            "scim.user.created",
            {"user_id": user["id"], "token_id": acme.token_id, "revived": False, "active": True},
        )
    ]


async def test_filters_paging_and_sorting(acme: Tenant) -> None:
    made = [
        await acme.create_user(
            f"user{i}@example.com",
            displayName=f"User {i}",
            externalId=f"ext-{i}",
            emails=[{"value": f"user{i}@example.com", "primary": True}, {"value": f"alias{i}@example.org"}],
            active=i != 3,
            **({"title": "Engineer"} if i % 2 == 0 else {}),
        )
        for i in range(5)
    ]
    ids = [u["id"] for u in made]

    async def found(**params: str) -> list[str]:
        response = await acme.request("GET", "/Users", params=params)
        assert response.status_code == 200, response.text
        body = response.json()
        assert body["schemas"] == ["urn:ietf:params:scim:api:messages:2.0:ListResponse"]
        return [r["id"] for r in body["Resources"]]

    assert await found(filter='userName eq "USER1@example.com"') == [ids[1]]
    assert await found(filter='externalId eq "ext-2"') == [ids[2]]
    assert await found(filter='externalId eq "EXT-2"') == []  # externalId is case-exact
    assert await found(filter='emails.value eq "alias4@example.org"') == [ids[4]]
    assert await found(filter='emails[value sw "alias0"]') == [ids[0]]
    assert await found(filter='displayName co "ser 3"') == [ids[3]]
    assert await found(filter="active eq false") == [ids[3]]
    assert await found(filter="title pr and active eq true") == [ids[0], ids[2], ids[4]]
    assert await found(filter='userName eq "user1@example.com" or externalId eq "ext-4"') == [ids[1], ids[4]]
    assert await found(filter='not (userName sw "user")') == [acme.admin.id]
    assert await found(filter='userName ne "user0@example.com" and title pr') == [ids[2], ids[4]]
    since = (datetime.now(UTC) - timedelta(minutes=5)).isoformat()
    assert len(await found(filter=f'meta.lastModified gt "{since}"')) == 6
    assert (
        await found(filter=f'meta.lastModified ge "{(datetime.now(UTC) + timedelta(days=1)).isoformat()}"')
        == []
    )

    page = (await acme.request("GET", "/Users", params={"startIndex": "2", "count": "2"})).json()
    assert (page["totalResults"], page["startIndex"], page["itemsPerPage"]) == (6, 2, 2)
    everyone = await found()
    assert [r["id"] for r in page["Resources"]] == everyone[1:3]
    counted = (await acme.request("GET", "/Users", params={"count": "0"})).json()
    assert (counted["totalResults"], counted["itemsPerPage"], counted["Resources"]) == (6, 0, [])

    assert await found(filter='userName sw "user"', sortBy="userName", sortOrder="descending") == ids[::-1]


async def test_page_size_and_body_size_are_capped(
    database_url: str, make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(
        {"scim": {"max_page_size": 3, "default_page_size": 2, "max_body_bytes": 2048}},
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    async with running_gateway(settings) as gw:
        tenant = await new_tenant(gw, "acme")
        for i in range(4):
            await tenant.create_user(f"u{i}@example.com")
        default = (await tenant.request("GET", "/Users")).json()
        assert (default["totalResults"], default["itemsPerPage"]) == (5, 2)
        asked = (await tenant.request("GET", "/Users", params={"count": "1000"})).json()
        assert (asked["totalResults"], asked["itemsPerPage"]) == (5, 3)
        config = (await tenant.request("GET", "/ServiceProviderConfig")).json()
        assert config["filter"] == {"supported": True, "maxResults": 3}
        big = {"schemas": [USER_SCHEMA], "userName": "big@example.com", "title": "x" * 4096}
        scim_error(await tenant.request("POST", "/Users", big), 413)


async def test_attributes_and_excluded_attributes(acme: Tenant) -> None:
    user = await acme.create_user("bob@example.com", title="CTO", emails=[{"value": "bob@example.com"}])
    only = (await acme.request("GET", f"/Users/{user['id']}", params={"attributes": "title"})).json()
    assert set(only) == {"schemas", "id", "title"}
    without = (
        await acme.request("GET", f"/Users/{user['id']}", params={"excludedAttributes": "emails,title"})
    ).json()
    assert "emails" not in without and "title" not in without and without["userName"] == "bob@example.com"
    listed = (
        await acme.request("GET", "/Users", params={"filter": 'title eq "CTO"', "attributes": "userName"})
    ).json()
    assert listed["Resources"] == [
        {"schemas": [USER_SCHEMA], "id": user["id"], "userName": "bob@example.com"}
    ]
    searched = await acme.request(
        "POST",
        "/Users/.search",
        {
            "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
            "filter": 'userName eq "bob@example.com"',
            "attributes": ["title"],
        },
    )
    assert searched.status_code == 200, searched.text
    assert searched.json()["Resources"] == [{"schemas": [USER_SCHEMA], "id": user["id"], "title": "CTO"}]


async def test_bad_filters_and_bodies_are_scim_errors(acme: Tenant) -> None:
    scim_error(await acme.request("GET", "/Users", params={"filter": "userName eq"}), 400, "invalidFilter")
    scim_error(await acme.request("GET", "/Users", params={"filter": 'nosuch eq "x"'}), 400, "invalidFilter")
    scim_error(await acme.request("GET", "/Users", params={"filter": "active gt true"}), 400, "invalidFilter")
    bad_json = await acme.gw.client.post(
        "/scim/v2/Users",
        headers={**acme.headers(), "content-type": "application/scim+json"},
        content=b"{nope",
    )
    scim_error(bad_json, 400, "invalidSyntax")
    scim_error(await acme.request("POST", "/Users", {"schemas": [USER_SCHEMA]}), 400, "invalidValue")
    scim_error(await acme.request("POST", "/Users", ["not", "an", "object"]), 400, "invalidSyntax")
    not_an_address = {"schemas": [USER_SCHEMA], "userName": "x", "emails": [{"value": "nope"}]}
    scim_error(await acme.request("POST", "/Users", not_an_address), 400, "invalidValue")
    too_long = {"schemas": [USER_SCHEMA], "userName": "x" * 321}  # PostgreSQL would refuse the row
    scim_error(await acme.request("POST", "/Users", too_long), 400, "invalidValue")
    read_only = await acme.create_user("carol@example.com")
    groups_op = {"op": "add", "path": "groups", "value": [{"value": "grp_x"}]}
    scim_error(await acme.patch(f"/Users/{read_only['id']}", groups_op), 400, "mutability")
    scim_error(await acme.patch(f"/Users/{read_only['id']}", {"op": "remove"}), 400, "noTarget")
    scim_error(await acme.request("GET", "/Users/user_doesnotexist"), 404)
    assert acme.audit()[-1][0] == "scim.user.created"  # the refused requests changed nothing


async def test_uniqueness_conflicts_are_409(acme: Tenant) -> None:
    first = await acme.create_user("dave@example.com", emails=[{"value": "dave@example.com"}])
    again = {"schemas": [USER_SCHEMA], "userName": "DAVE@example.com"}
    scim_error(await acme.request("POST", "/Users", again), 409, "uniqueness")
    same_address = {"schemas": [USER_SCHEMA], "userName": "dave2", "emails": [{"value": "Dave@Example.com"}]}
    scim_error(await acme.request("POST", "/Users", same_address), 409, "uniqueness")
    # Accounts made outside SCIM answer to their e-mail address as userName.
    scim_error(
        await acme.request("POST", "/Users", {"schemas": [USER_SCHEMA], "userName": acme.admin.email}),
        409,
        "uniqueness",
    )
    other = await acme.create_user("erin@example.com")
    rename = {"op": "replace", "path": "userName", "value": "dave@EXAMPLE.com"}
    scim_error(await acme.patch(f"/Users/{other['id']}", rename), 409, "uniqueness")
    assert row(acme, first["id"])["username"] == "dave@example.com"


async def test_put_replaces_the_whole_user(acme: Tenant) -> None:
    user = await acme.create_user(
        "frank@example.com", title="Intern", nickName="Frankie", emails=[{"value": "frank@example.com"}]
    )
    replacement = {
        "schemas": [USER_SCHEMA, ENTERPRISE],
        "id": "ignored-read-only",
        "userName": "frank@example.com",
        "displayName": "Frank Zappa",
        "emails": [{"value": "frank.z@example.com", "primary": True}],
        ENTERPRISE: {"department": "Music"},
    }
    response = await acme.request("PUT", f"/Users/{user['id']}", replacement)
    assert response.status_code == 200, response.text
    replaced = response.json()
    assert replaced["id"] == user["id"] and replaced["meta"]["created"] == user["meta"]["created"]
    assert "title" not in replaced and "nickName" not in replaced  # not sent, so removed
    assert replaced["displayName"] == "Frank Zappa" and replaced[ENTERPRISE] == {"department": "Music"}
    assert replaced["meta"]["version"] != user["meta"]["version"]
    stored = row(acme, user["id"])
    assert (stored["email"], stored["name"]) == ("frank.z@example.com", "Frank Zappa")
    kind, data = acme.audit()[-1]
    assert kind == "scim.user.updated"
    assert (
        data["fields"]
        == "displayName,emails,nickName,title,urn:ietf:params:scim:schemas:extension:enterprise:2.0:User"
    )
    scim_error(await acme.request("PUT", "/Users/user_doesnotexist", replacement), 404)


async def test_patch_add_replace_remove(acme: Tenant) -> None:
    user = await acme.create_user(
        "grace@example.com", emails=[{"value": "grace@example.com", "type": "work"}]
    )
    path = f"/Users/{user['id']}"
    response = await acme.patch(
        path,
        {"op": "add", "path": "title", "value": "Admiral"},
        {"op": "replace", "path": 'emails[type eq "work"].value', "value": "grace.hopper@example.com"},
        {"op": "add", "path": f"{ENTERPRISE}:department", "value": "Navy"},
        {"op": "add", "path": "phoneNumbers", "value": [{"value": "+1-555-0100", "type": "work"}]},
    )
    assert response.status_code == 200, response.text
    patched = response.json()
    assert patched["title"] == "Admiral" and patched[ENTERPRISE] == {"department": "Navy"}
    assert patched["emails"] == [{"value": "grace.hopper@example.com", "type": "work"}]
    assert row(acme, user["id"])["email"] == "grace.hopper@example.com"

    # Entra ID: a PATCH without path, capitalised ops, and booleans sent as strings.
    entra = await acme.patch(
        path,
        {"op": "Replace", "value": {"displayName": "Grace Hopper", "title": "Rear Admiral"}},
        {"op": "Add", "path": 'emails[type eq "home"].value', "value": "grace@home.example.org"},
    )
    assert entra.status_code == 200, entra.text
    assert (entra.json()["displayName"], entra.json()["title"]) == ("Grace Hopper", "Rear Admiral")
    assert {"value": "grace@home.example.org", "type": "home"} in entra.json()["emails"]

    removed = await acme.patch(
        path, {"op": "remove", "path": "title"}, {"op": "remove", "path": "phoneNumbers"}
    )
    assert removed.status_code == 200, removed.text
    assert "title" not in removed.json() and "phoneNumbers" not in removed.json()
    assert (await acme.request("GET", path)).json() == removed.json()
    kinds = [kind for kind, _ in acme.audit()]
    assert kinds == ["scim.user.created", "scim.user.updated", "scim.user.updated", "scim.user.updated"]


async def test_etags_guard_writes(acme: Tenant) -> None:
    user = await acme.create_user("heidi@example.com")
    path, version = f"/Users/{user['id']}", user["meta"]["version"]
    assert (await acme.request("GET", path, headers={"if-none-match": version})).status_code == 304
    stale = '"not-the-version"'
    op = {"op": "add", "path": "title", "value": "Chef"}
    scim_error(await acme.patch(path, op, headers={"if-match": stale}), 412)
    updated = await acme.patch(path, op, headers={"if-match": version})
    assert updated.status_code == 200 and updated.headers["etag"] != version
    scim_error(await acme.request("DELETE", path, headers={"if-match": version}), 412)
    assert (
        await acme.request("DELETE", path, headers={"if-match": updated.headers["etag"]})
    ).status_code == 204


async def test_accounts_made_outside_scim_are_shown_and_linked(acme: Tenant) -> None:
    tenancy = acme.gw.core.tenancy
    service = tenancy.service_account_for(acme.id, actor="test")
    listed = (await acme.request("GET", "/Users")).json()["Resources"]
    assert [(u["id"], u["userName"], u["displayName"]) for u in listed] == [
        (acme.admin.id, acme.admin.email, "Admin")
    ]
    assert service.id not in str(listed)  # service accounts are not people to provision
    scim_error(await acme.request("GET", f"/Users/{service.id}"), 404)

    # An identity provider matching on userName finds the existing account and links it.
    match = (
        await acme.request("GET", "/Users", params={"filter": f'userName eq "{acme.admin.email}"'})
    ).json()
    assert [u["id"] for u in match["Resources"]] == [acme.admin.id]
    linked = await acme.patch(
        f"/Users/{acme.admin.id}", {"op": "add", "path": "externalId", "value": "00uADMIN"}
    )
    assert linked.status_code == 200, linked.text
    stored = row(acme, acme.admin.id)
    assert (stored["external_id"], stored["username"], stored["role"]) == (
        "00uADMIN",
        acme.admin.email,
        "admin",
    )
    assert linked.json()["emails"] == [{"value": acme.admin.email, "primary": True, "type": "work"}]
