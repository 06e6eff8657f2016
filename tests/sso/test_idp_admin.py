"""/admin/v1/idps: identity providers per organisation; secrets write-only; other tenants see 404."""

from __future__ import annotations

from typing import Any

import pytest
from sqlalchemy import select

from sekisho.store.tables import idp_configs
from tests.conftest import MASTER_KEY, Gateway

pytestmark = pytest.mark.anyio

SECRET = "client-secret-that-must-never-come-back"
OIDC = {"issuer": "https://login.example.com/tenant/v2.0", "client_id": "sekisho-app", "jit": True}


async def create(gw: Gateway, headers: dict[str, str], **body: Any) -> Any:
    payload = {"slug": "corp", "kind": "oidc", "name": "Corporate", "config": OIDC, "secret": SECRET, **body}
    return await gw.client.post("/admin/v1/idps", headers=headers, json=payload)


def org_admin(gw: Gateway, slug: str, role: str = "admin") -> tuple[str, str]:
    """(org id, key of a user with ``role`` in a new organisation)."""
    tenancy = gw.core.tenancy
    org = tenancy.create_org(slug, slug.title(), actor="test")
    user = tenancy.create_user(org.id, f"{role}@{slug}.test", role, role, actor="test")
    _key, secret = tenancy.create_key(tenancy.get_project("default", org.id), user, "k", actor="test")
    return org.id, str(secret)


async def test_idps_are_managed_and_their_secret_never_shown(gateway: Gateway) -> None:
    org_id, key = org_admin(gateway, "acme")
    admin = gateway.headers(key)

    created = await create(gateway, admin)
    assert created.status_code == 201, created.text
    idp = created.json()
    assert SECRET not in created.text
    assert (idp["org_id"], idp["has_secret"], idp["config"]) == (org_id, True, OIDC)
    assert idp["redirect_uri"] == "http://sekisho/auth/v1/sso/callback"
    assert idp["start_url"] == "http://sekisho/auth/v1/sso/acme/corp/start"
    with gateway.core.engine.connect() as conn:
        stored = conn.execute(select(idp_configs.c.secret).where(idp_configs.c.id == idp["id"])).scalar()
    assert stored.startswith("v1:") and SECRET not in stored

    listed = await gateway.client.get("/admin/v1/idps", headers=admin)
    assert [i["id"] for i in listed.json()] == [idp["id"]] and SECRET not in listed.text

    patched = await gateway.client.patch(
        f"/admin/v1/idps/{idp['id']}",
        headers=admin,
        json={"name": "Okta", "config": {**OIDC, "role_mapping": {"Sekisho Admins": "admin"}}},
    )
    assert patched.status_code == 200, patched.text
    assert patched.json()["name"] == "Okta" and patched.json()["config"]["role_mapping"] == {
        "Sekisho Admins": "admin"
    }
    cleared = await gateway.client.patch(
        f"/admin/v1/idps/{idp['id']}", headers=admin, json={"clear_secret": True}
    )
    assert cleared.json()["has_secret"] is False

    duplicate = await create(gateway, admin)
    assert duplicate.status_code == 409

    deleted = await gateway.client.delete(f"/admin/v1/idps/{idp['id']}", headers=admin)
    assert deleted.status_code == 204
    assert (await gateway.client.get(f"/admin/v1/idps/{idp['id']}", headers=admin)).status_code == 404

    records = list(gateway.core.audit.export(org_id=org_id))
    assert [r["kind"] for r in records if r["kind"].startswith("admin.idp.")] == [
        "admin.idp.created",
        "admin.idp.updated",
        "admin.idp.updated",
        "admin.idp.deleted",
    ]
    assert all(SECRET not in str(r) for r in records)


@pytest.mark.parametrize(
    ("body", "param"),
    [
        ({"config": {**OIDC, "issuer": "http://login.example.com"}}, "config.issuer"),
        ({"config": {**OIDC, "auth_params": {"state": "fixed"}}}, "config.auth_params"),
        ({"config": {**OIDC, "default_role": "owner"}}, "config.default_role"),
        ({"config": {"client_id": "x"}}, "config.issuer"),
        ({"slug": "Not A Slug"}, "slug"),
        ({"kind": "ldap"}, "kind"),
    ],
)
async def test_bad_idp_settings_are_a_400(gateway: Gateway, body: dict[str, Any], param: str) -> None:
    answer = await create(gateway, gateway.headers(MASTER_KEY), **body)
    assert answer.status_code == 400, answer.text
    assert answer.json()["error"]["param"] == param


async def test_another_organisations_idps_are_invisible(gateway: Gateway) -> None:
    _acme, acme_key = org_admin(gateway, "acme")
    _globex, globex_key = org_admin(gateway, "globex")
    idp = (await create(gateway, gateway.headers(acme_key))).json()
    theirs = gateway.headers(globex_key)

    assert (await gateway.client.get("/admin/v1/idps", headers=theirs)).json() == []
    assert (await gateway.client.get(f"/admin/v1/idps/{idp['id']}", headers=theirs)).status_code == 404
    patch = await gateway.client.patch(f"/admin/v1/idps/{idp['id']}", headers=theirs, json={"enabled": False})
    assert patch.status_code == 404
    assert (await gateway.client.delete(f"/admin/v1/idps/{idp['id']}", headers=theirs)).status_code == 404
    still = await gateway.client.get(f"/admin/v1/idps/{idp['id']}", headers=gateway.headers(acme_key))
    assert still.json()["enabled"] is True


async def test_members_cannot_configure_sso(gateway: Gateway) -> None:
    _org, key = org_admin(gateway, "acme", role="member")
    answer = await create(gateway, gateway.headers(key))
    assert answer.status_code == 403
