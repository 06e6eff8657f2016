"""Discovery (RFC 7644 §4), unknown endpoints and wrong methods, the root /.search."""

from __future__ import annotations

import pytest

from tests.scim.conftest import ENTERPRISE, GROUP_SCHEMA, USER_SCHEMA, Tenant, scim_error

pytestmark = pytest.mark.anyio


async def test_service_provider_config(acme: Tenant) -> None:
    response = await acme.request("GET", "/ServiceProviderConfig")
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("application/scim+json")
    config = response.json()
    assert config["patch"] == {"supported": True}
    assert config["bulk"]["supported"] is False
    assert config["filter"] == {"supported": True, "maxResults": 200}
    assert (config["sort"], config["etag"], config["changePassword"]) == (
        {"supported": True},
        {"supported": True},
        {"supported": False},
    )
    assert [s["type"] for s in config["authenticationSchemes"]] == ["oauthbearertoken"]
    assert config["meta"]["location"] == "http://sekisho/scim/v2/ServiceProviderConfig"


async def test_schemas_and_resource_types(acme: Tenant) -> None:
    schemas = (await acme.request("GET", "/Schemas")).json()
    assert [s["id"] for s in schemas["Resources"]] == [USER_SCHEMA, ENTERPRISE, GROUP_SCHEMA]
    group = (await acme.request("GET", f"/Schemas/{GROUP_SCHEMA}")).json()
    members = next(a for a in group["attributes"] if a["name"] == "members")
    assert [s["name"] for s in members["subAttributes"]] == ["value", "$ref", "type"]
    user = (await acme.request("GET", f"/Schemas/{USER_SCHEMA}")).json()
    assert {"userName", "emails", "active", "groups"} <= {a["name"] for a in user["attributes"]}
    assert user["meta"] == {
        "resourceType": "Schema",
        "location": f"http://sekisho/scim/v2/Schemas/{USER_SCHEMA}",
    }
    scim_error(await acme.request("GET", "/Schemas/urn:nope"), 404)

    types = (await acme.request("GET", "/ResourceTypes")).json()["Resources"]
    assert [(t["name"], t["endpoint"], t["schema"]) for t in types] == [
        ("User", "/Users", USER_SCHEMA),
        ("Group", "/Groups", GROUP_SCHEMA),
    ]
    assert types[0]["schemaExtensions"] == [{"schema": ENTERPRISE, "required": False}]
    assert (await acme.request("GET", "/ResourceTypes/Group")).json()["endpoint"] == "/Groups"
    scim_error(await acme.request("GET", "/ResourceTypes/Pet"), 404)


async def test_unknown_endpoints_and_methods(acme: Tenant) -> None:
    scim_error(await acme.request("GET", "/Pets"), 404)
    scim_error(await acme.request("DELETE", "/Users/a/b"), 404)
    for method in ("POST", "PUT", "PATCH", "DELETE"):
        refused = await acme.request(method, "/ServiceProviderConfig")
        scim_error(refused, 405)
        assert refused.headers["allow"] == "GET"
    scim_error(await acme.request("POST", "/Users/user_x"), 405)
    # Unauthenticated callers learn nothing about which endpoints exist.
    scim_error(await acme.gw.client.get("/scim/v2/Pets"), 401)


async def test_root_search_covers_users_and_groups(acme: Tenant) -> None:
    user = await acme.create_user("root@example.com", displayName="Rooted")
    group = await acme.create_group("Rooted", [user["id"]])
    body = {
        "schemas": ["urn:ietf:params:scim:api:messages:2.0:SearchRequest"],
        "filter": 'displayName eq "Rooted"',
        "sortBy": "meta.created",
    }
    response = await acme.request("POST", "/.search", body)
    assert response.status_code == 200, response.text
    found = response.json()["Resources"]
    assert [(r["id"], r["schemas"][0]) for r in found] == [
        (user["id"], USER_SCHEMA),
        (group["id"], GROUP_SCHEMA),
    ]
    scim_error(await acme.request("POST", "/.search", {"filter": "displayName eq"}), 400, "invalidFilter")
