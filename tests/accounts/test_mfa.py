"""TOTP MFA through the real app, with pyotp computing the codes at the test's clock."""

from __future__ import annotations

from datetime import timedelta
from typing import Any

import httpx
import pytest
from sqlalchemy import select

from sekisho.store.tables import users
from tests.accounts.conftest import COOKIE, Console, csrf, login, totp

pytestmark = pytest.mark.anyio

EMAIL = "hanako@example.co.jp"


async def enrol(console: Console, browser: httpx.AsyncClient) -> tuple[str, list[str]]:
    """Enrol the signed-in user; their secret and recovery codes."""
    started = await browser.post("/auth/v1/mfa/enroll", headers=csrf(browser))
    assert started.status_code == 200, started.text
    secret = started.json()["secret"]
    assert started.json()["otpauth_uri"].startswith("otpauth://totp/Sekisho:")
    assert f"secret={secret}" in started.json()["otpauth_uri"]
    done = await browser.post(
        "/auth/v1/mfa/enroll/confirm", headers=csrf(browser), json={"code": totp(secret, console.clock.now)}
    )
    assert done.status_code == 200, done.text
    return secret, done.json()["recovery_codes"]


async def user_with_mfa(console: Console) -> tuple[dict[str, Any], str, list[str]]:
    user = await console.user(EMAIL)
    browser = console.browser()
    await login(browser, EMAIL)
    secret, codes = await enrol(console, browser)
    await browser.post("/auth/v1/logout", headers=csrf(browser))
    console.clock.advance(seconds=30)  # the next code is a new one
    return user, secret, codes


async def test_enrolment_is_pending_until_a_code_confirms_it(console: Console) -> None:
    user = await console.user(EMAIL)
    browser = console.browser()
    await login(browser, EMAIL)
    started = (await browser.post("/auth/v1/mfa/enroll", headers=csrf(browser))).json()

    # Not yet on: signing in elsewhere needs no code.
    assert (await login(console.browser(), EMAIL)).json()["mfa_required"] is False
    wrong = await browser.post("/auth/v1/mfa/enroll/confirm", headers=csrf(browser), json={"code": "000000"})
    assert wrong.status_code == 401 and wrong.json()["error"]["code"] == "invalid_mfa_code"
    before = browser.cookies[COOKIE]
    done = await browser.post(
        "/auth/v1/mfa/enroll/confirm",
        headers=csrf(browser),
        json={"code": totp(started["secret"], console.clock.now)},
    )

    assert done.status_code == 200, done.text
    codes = done.json()["recovery_codes"]
    assert len(codes) == 10 and len(set(codes)) == 10
    assert browser.cookies[COOKIE] != before  # more privilege, new token
    assert done.json()["csrf_token"] == browser.cookies["sekisho_csrf"]
    with console.core.engine.connect() as conn:
        row = conn.execute(select(users).where(users.c.id == user["id"])).mappings().one()
    assert row["mfa_enabled_at"] is not None
    assert started["secret"] not in row["mfa_secret"]  # sealed, not stored plain
    assert not any(code in str(row["recovery_codes"]) for code in codes)  # digests only
    again = await browser.post("/auth/v1/mfa/enroll", headers=csrf(browser))
    assert again.status_code == 409
    assert [r["data"]["user_id"] for r in console.audit("auth.mfa.enrolled")] == [user["id"]]


async def test_totp_sign_in_replaces_the_token_and_refuses_a_replayed_code(console: Console) -> None:
    user, secret, _codes = await user_with_mfa(console)
    browser = console.browser()
    first = await login(browser, EMAIL)
    assert first.json()["mfa_required"] is True
    planted = browser.cookies[COOKIE]

    # Half signed in: only the second step, "who am I" and sign-out work.
    assert (await browser.get("/auth/v1/sessions")).json()["error"]["code"] == "mfa_required"
    assert (await browser.get("/admin/v1/users")).status_code in (401, 403)
    me = (await browser.get("/auth/v1/session")).json()
    assert me["mfa_required"] is True and me["mfa"]["verified"] is False

    code = totp(secret, console.clock.now)
    verified = await browser.post("/auth/v1/mfa/verify", headers=csrf(browser), json={"code": code})
    assert verified.status_code == 200, verified.text
    assert verified.json()["mfa_required"] is False
    assert browser.cookies[COOKIE] != planted  # session fixation: the pre-MFA token is dead
    fixated = console.browser()
    fixated.cookies.set(COOKIE, planted)
    assert (await fixated.get("/auth/v1/session")).status_code == 401
    assert (await browser.get("/auth/v1/sessions")).status_code == 200

    # Someone who saw the code uses it within the same 30 seconds: refused.
    thief = console.browser("192.0.2.7")
    await login(thief, EMAIL)
    replay = await thief.post("/auth/v1/mfa/verify", headers=csrf(thief), json={"code": code})
    assert replay.status_code == 401 and replay.json()["error"]["code"] == "invalid_mfa_code"
    console.clock.advance(seconds=30)
    fresh = await thief.post(
        "/auth/v1/mfa/verify", headers=csrf(thief), json={"code": totp(secret, console.clock.now)}
    )
    assert fresh.status_code == 200
    reasons = [r["data"]["reason"] for r in console.audit("auth.login.failed")]
    assert reasons == ["totp_code_reused"]
    methods = [r["data"]["method"] for r in console.audit("auth.login.succeeded")]
    assert methods.count("password+totp") == 2
    assert all(r["data"]["user_id"] == user["id"] for r in console.audit("auth.login.succeeded"))


async def test_codes_from_a_neighbouring_step_pass_older_ones_do_not(console: Console) -> None:
    _user, secret, _codes = await user_with_mfa(console)
    console.clock.advance(seconds=60)  # past the step spent at enrolment
    browser = console.browser()
    await login(browser, EMAIL)
    stale = totp(secret, console.clock.now - timedelta(seconds=90))
    old = await browser.post("/auth/v1/mfa/verify", headers=csrf(browser), json={"code": stale})
    assert old.status_code == 401
    previous = totp(secret, console.clock.now - timedelta(seconds=30))
    drift = await browser.post("/auth/v1/mfa/verify", headers=csrf(browser), json={"code": previous})
    assert drift.status_code == 200, drift.text


async def test_a_recovery_code_works_once(console: Console) -> None:
    _user, _secret, codes = await user_with_mfa(console)
    browser = console.browser()
    await login(browser, EMAIL)

    used = await browser.post(
        "/auth/v1/mfa/verify",
        headers=csrf(browser),
        json={"recovery_code": codes[0].upper().replace("-", " ")},
    )
    assert used.status_code == 200, used.text
    assert (await browser.get("/auth/v1/session")).json()["mfa"]["recovery_codes_left"] == 9

    other = console.browser()
    await login(other, EMAIL)
    again = await other.post("/auth/v1/mfa/verify", headers=csrf(other), json={"recovery_code": codes[0]})
    assert again.status_code == 401 and again.json()["error"]["code"] == "invalid_mfa_code"
    both = await other.post(
        "/auth/v1/mfa/verify", headers=csrf(other), json={"code": "1", "recovery_code": "2"}
    )
    assert both.status_code == 400
    ok = await other.post("/auth/v1/mfa/verify", headers=csrf(other), json={"recovery_code": codes[1]})
    assert ok.status_code == 200
    record = console.audit("auth.login.succeeded")[-1]["data"]
    assert record["method"] == "password+recovery_code" and record["recovery_codes_left"] == 8


async def test_new_recovery_codes_replace_the_old_and_need_a_code(console: Console) -> None:
    _user, secret, codes = await user_with_mfa(console)
    browser = console.browser()
    await login(browser, EMAIL)
    await browser.post(
        "/auth/v1/mfa/verify", headers=csrf(browser), json={"code": totp(secret, console.clock.now)}
    )

    refused = await browser.post(
        "/auth/v1/mfa/recovery-codes", headers=csrf(browser), json={"code": "123456"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "reauthentication_failed"
    console.clock.advance(seconds=30)
    fresh = await browser.post(
        "/auth/v1/mfa/recovery-codes", headers=csrf(browser), json={"code": totp(secret, console.clock.now)}
    )
    assert fresh.status_code == 200 and len(fresh.json()["recovery_codes"]) == 10
    other = console.browser()
    await login(other, EMAIL)
    old = await other.post("/auth/v1/mfa/verify", headers=csrf(other), json={"recovery_code": codes[2]})
    assert old.status_code == 401
    new = await other.post(
        "/auth/v1/mfa/verify", headers=csrf(other), json={"recovery_code": fresh.json()["recovery_codes"][0]}
    )
    assert new.status_code == 200
    assert console.audit("auth.mfa.recovery_codes_regenerated")


async def test_disabling_mfa_needs_proof(console: Console) -> None:
    _user, secret, _codes = await user_with_mfa(console)
    browser = console.browser()
    await login(browser, EMAIL)
    await browser.post(
        "/auth/v1/mfa/verify", headers=csrf(browser), json={"code": totp(secret, console.clock.now)}
    )

    wrong = await browser.post(
        "/auth/v1/mfa/disable", headers=csrf(browser), json={"password": "not my password"}
    )
    assert wrong.status_code == 403
    none = await browser.post("/auth/v1/mfa/disable", headers=csrf(browser), json={})
    assert none.status_code == 400
    done = await browser.post(
        "/auth/v1/mfa/disable", headers=csrf(browser), json={"password": "correct horse battery staple"}
    )
    assert done.status_code == 204
    assert (await login(console.browser(), EMAIL)).json()["mfa_required"] is False
    assert console.audit("auth.mfa.disabled")
    failed = [(r["data"]["reason"], r["data"]["purpose"]) for r in console.audit("auth.reauth.failed")]
    assert failed == [("bad_password", "mfa.disable")]


async def test_an_organisation_can_require_mfa(console: Console) -> None:
    user = await console.user(EMAIL)
    early = console.browser()
    await login(early, EMAIL)  # a session from before the policy
    assert (await early.get("/auth/v1/sessions")).status_code == 200

    put = await console.admin_client().put(
        "/admin/v1/org/security", headers=console.master(), json={"require_mfa": True}
    )
    assert put.status_code == 200 and put.json()["require_mfa"] is True
    # The live session is restricted to enrolment at once.
    assert (await early.get("/auth/v1/sessions")).json()["error"]["code"] == "mfa_required"
    assert (await early.get("/auth/v1/session")).json()["mfa_enrollment_required"] is True

    browser = console.browser()
    signed = (await login(browser, EMAIL)).json()
    assert signed["mfa_enrollment_required"] is True and signed["mfa_required"] is False
    assert (await browser.get("/auth/v1/sessions")).status_code == 403
    assert (await browser.get("/admin/v1/users")).status_code in (401, 403)
    await enrol(console, browser)
    assert (await browser.get("/auth/v1/sessions")).status_code == 200
    assert (await browser.get("/auth/v1/session")).json()["mfa_enrollment_required"] is False

    refused = await browser.post(
        "/auth/v1/mfa/disable", headers=csrf(browser), json={"password": "correct horse battery staple"}
    )
    assert refused.status_code == 403 and refused.json()["error"]["code"] == "mfa_required_by_org"
    assert console.audit("org.security.updated")[0]["data"]["sessions_restricted"] == 1
    methods = [
        r["data"]["method"]
        for r in console.audit("auth.login.succeeded")
        if r["data"]["user_id"] == user["id"]
    ]
    assert methods[-1] == "password+totp_enrollment"


async def test_an_admin_reset_turns_mfa_off_and_ends_sessions(console: Console) -> None:
    user, secret, _codes = await user_with_mfa(console)
    browser = console.browser()
    await login(browser, EMAIL)
    await browser.post(
        "/auth/v1/mfa/verify", headers=csrf(browser), json={"code": totp(secret, console.clock.now)}
    )

    reset = await console.admin_client().post(
        f"/admin/v1/users/{user['id']}/mfa/reset", headers=console.master()
    )

    assert reset.status_code == 200 and reset.json() == {"user_id": user["id"], "sessions_revoked": 1}
    assert (await browser.get("/auth/v1/session")).status_code == 401
    assert (await login(console.browser(), EMAIL)).json()["mfa_required"] is False
    [record] = console.audit("auth.mfa.reset")
    assert record["actor"] == "master-key" and record["data"]["was_enabled"] is True
