"""The admin routes for sign-in: organisation security settings, setting passwords, resetting MFA."""

from __future__ import annotations

from typing import Any

import pytest

from tests.accounts.conftest import Console, csrf, login

pytestmark = pytest.mark.anyio

SECURITY = "/admin/v1/org/security"


async def signed_in(console: Console, email: str, role: str, org_id: str | None = None) -> Any:
    await console.user(email, role=role, org_id=org_id)
    browser = console.browser()
    assert (await login(browser, email)).status_code == 200
    return browser


async def test_org_security_is_read_and_replaced_by_admins(console: Console) -> None:
    admin = await signed_in(console, "admin@example.co.jp", "admin")
    member = await signed_in(console, "member@example.co.jp", "member")

    assert (await admin.get(SECURITY)).json() == {
        "require_mfa": False,
        "session_idle_minutes": None,
        "session_absolute_hours": None,
    }
    body = {"require_mfa": False, "session_idle_minutes": 15, "session_absolute_hours": 8.5}
    put = await admin.put(SECURITY, headers=csrf(admin), json=body)
    assert put.status_code == 200, put.text
    assert (await admin.get(SECURITY)).json() == body
    # Omitted fields return to their defaults.
    assert (await admin.put(SECURITY, headers=csrf(admin), json={})).json()["session_idle_minutes"] is None

    for bad in (
        {"session_idle_minutes": 0},
        {"session_absolute_hours": -1},
        {"require_mfa": "sometimes"},
        {"x": 1},
    ):
        answer = await admin.put(SECURITY, headers=csrf(admin), json=bad)
        assert answer.status_code == 400, bad
    assert (await member.get(SECURITY)).status_code == 403
    assert (await member.put(SECURITY, headers=csrf(member), json={"require_mfa": True})).status_code == 403
    assert (await admin.put(SECURITY, json={"require_mfa": True})).status_code == 403  # no CSRF header

    records = console.audit("org.security.updated")
    assert len(records) == 2
    assert records[0]["data"]["session_absolute_hours.after"] == "8.5"
    assert records[0]["actor"].startswith("user:")


async def test_admins_act_on_their_own_organisation_only(console: Console) -> None:
    other = await console.org("tasha")
    outsider = await console.user("victim@tasha.example", org_id=other["id"])
    admin = await signed_in(console, "admin@example.co.jp", "admin")

    for path in (f"/admin/v1/users/{outsider['id']}/password", f"/admin/v1/users/{outsider['id']}/mfa/reset"):
        answer = await admin.post(path, headers=csrf(admin), json={"password": "take over the account"})
        assert answer.status_code == 404, answer.text
    scoped = await admin.get(f"{SECURITY}?org_id={other['id']}")
    assert scoped.status_code == 404
    assert (await login(console.browser(), "victim@tasha.example")).status_code == 200
    # The master key names the organisation.
    theirs = await console.admin_client().get(f"{SECURITY}?org_id={other['id']}", headers=console.master())
    assert theirs.status_code == 200


async def test_only_an_owner_changes_an_owners_sign_in(console: Console) -> None:
    owner = await console.user("owner@example.co.jp", role="owner")
    admin = await signed_in(console, "admin@example.co.jp", "admin")
    member = await console.user("member@example.co.jp")

    refused = await admin.post(
        f"/admin/v1/users/{owner['id']}/password",
        headers=csrf(admin),
        json={"password": "i am the owner now"},
    )
    assert refused.status_code == 403
    assert (
        await admin.post(f"/admin/v1/users/{owner['id']}/mfa/reset", headers=csrf(admin))
    ).status_code == 403
    allowed = await admin.post(
        f"/admin/v1/users/{member['id']}/password",
        headers=csrf(admin),
        json={"password": "temporary passphrase 1"},
    )
    assert allowed.status_code == 200
    assert (
        await login(console.browser(), "member@example.co.jp", "temporary passphrase 1")
    ).status_code == 200
    owner_browser = console.browser()
    await login(owner_browser, "owner@example.co.jp")
    by_owner = await owner_browser.post(
        f"/admin/v1/users/{owner['id']}/password",
        headers=csrf(owner_browser),
        json={"password": "a fresh passphrase 2"},
    )
    assert by_owner.status_code == 200 and by_owner.json()["sessions_revoked"] == 1
    records = console.audit("auth.password.set")
    assert records[-1]["actor"].startswith(f"user:{owner['id']}")


async def test_service_accounts_get_no_password(console: Console) -> None:
    core = console.core
    service = core.tenancy.service_account_for(core.tenancy.ensure_default_org().id, actor="test")
    answer = await console.admin_client().post(
        f"/admin/v1/users/{service.id}/password",
        headers=console.master(),
        json={"password": "service passphrase"},
    )
    assert answer.status_code == 400 and answer.json()["error"]["code"] == "service_account"
