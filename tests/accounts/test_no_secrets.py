"""Passwords, TOTP secrets, recovery codes and session tokens appear in no log and no audit record."""

from __future__ import annotations

import logging

import orjson
import pytest
from sqlalchemy import select

from sekisho.store.tables import sessions, users
from tests.accounts.conftest import COOKIE, PASSWORD, Console, csrf, login, totp

pytestmark = pytest.mark.anyio


async def test_nothing_secret_is_logged_audited_or_stored_plain(
    console: Console, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets: set[str] = {PASSWORD}
    user = await console.user("hanako@example.co.jp", role="admin")
    browser = console.browser()
    await login(browser, "hanako@example.co.jp")
    secrets |= {browser.cookies[COOKIE], browser.cookies["sekisho_csrf"]}
    secret = (await browser.post("/auth/v1/mfa/enroll", headers=csrf(browser))).json()["secret"]
    secrets.add(secret)
    first_code = totp(secret, console.clock.now)
    codes = (
        await browser.post("/auth/v1/mfa/enroll/confirm", headers=csrf(browser), json={"code": first_code})
    ).json()["recovery_codes"]
    secrets |= set(codes) | {browser.cookies[COOKIE]}
    await browser.post("/auth/v1/logout", headers=csrf(browser))

    wrong = "Hunter2-but-longer-and-wrong"
    secrets.add(wrong)
    await login(browser, "hanako@example.co.jp", wrong)
    await login(browser, "hanako@example.co.jp")
    secrets.add(browser.cookies[COOKIE])
    await browser.post("/auth/v1/mfa/verify", headers=csrf(browser), json={"code": "999999"})
    await browser.post("/auth/v1/mfa/verify", headers=csrf(browser), json={"recovery_code": codes[0]})
    secrets.add(browser.cookies[COOKIE])
    changed = "the second passphrase here"
    secrets.add(changed)
    await browser.post(
        "/auth/v1/password",
        headers=csrf(browser),
        json={"current_password": PASSWORD, "new_password": changed},
    )
    temporary = "temporary passphrase for her"
    secrets.add(temporary)
    await console.admin_client().post(
        f"/admin/v1/users/{user['id']}/password", headers=console.master(), json={"password": temporary}
    )
    # An invalid body must not echo the password back either.
    bad = await console.browser().post(
        "/auth/v1/login", json={"email": "x", "password": PASSWORD, "unexpected": PASSWORD}
    )
    assert bad.status_code == 400 and PASSWORD not in bad.text

    audit = orjson.dumps(console.audit()).decode()
    kinds = {r["kind"] for r in console.audit()}
    assert {
        "auth.login.succeeded",
        "auth.login.failed",
        "auth.mfa.enrolled",
        "auth.password.changed",
        "auth.password.set",
    } <= kinds
    with console.core.engine.connect() as conn:
        stored = str(conn.execute(select(sessions)).all()) + str(conn.execute(select(users)).all())
    for value in secrets:
        assert value not in caplog.text
        assert value not in audit
        assert value not in stored
