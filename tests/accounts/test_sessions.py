"""Session lifetimes, listing and ending sessions, password changes, and other users' sessions."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sekisho.settings import Settings
from tests.accounts.conftest import COOKIE, PASSWORD, Clock, Console, csrf, login, start_console

pytestmark = pytest.mark.anyio

EMAIL = "taro@example.co.jp"


async def test_idle_and_absolute_expiry(console_settings: Callable[..., Settings]) -> None:
    settings = console_settings({"sessions": {"idle_minutes": 30, "absolute_hours": 2}})
    async for console in start_console(settings, Clock()):
        await console.user(EMAIL)
        idle = console.browser()
        await login(idle, EMAIL)
        console.clock.advance(minutes=29)
        assert (await idle.get("/auth/v1/session")).status_code == 200  # use pushes the deadline on
        console.clock.advance(minutes=29)
        assert (await idle.get("/auth/v1/session")).status_code == 200
        console.clock.advance(minutes=31)
        ended = await idle.get("/auth/v1/session")
        assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_ended"

        busy = console.browser()
        await login(busy, EMAIL)
        for _ in range(4):  # used every 25 minutes: never idle, but 2 hours is the end
            console.clock.advance(minutes=25)
            assert (await busy.get("/auth/v1/session")).status_code == 200
        console.clock.advance(minutes=25)
        assert (await busy.get("/auth/v1/session")).status_code == 401


async def test_an_organisation_can_shorten_sessions(console: Console) -> None:
    await console.user(EMAIL)
    browser = console.browser()
    await login(browser, EMAIL)

    put = await console.admin_client().put(
        "/admin/v1/org/security", headers=console.master(), json={"session_idle_minutes": 5}
    )
    assert put.status_code == 200, put.text
    # Applies to the live session at once, and to new ones.
    console.clock.advance(minutes=6)
    assert (await browser.get("/auth/v1/session")).status_code == 401
    await login(browser, EMAIL)
    me = (await browser.get("/auth/v1/session")).json()["session"]
    assert me["idle_expires_at"] < me["expires_at"]
    console.clock.advance(minutes=4)
    assert (await browser.get("/auth/v1/session")).status_code == 200
    console.clock.advance(minutes=5, seconds=30)
    assert (await browser.get("/auth/v1/session")).status_code == 401
    [record] = console.audit("org.security.updated")
    assert record["data"]["session_idle_minutes.after"] == 5 and record["data"]["sessions_shortened"] == 1


async def test_users_see_and_end_their_own_sessions_only(console: Console) -> None:
    await console.user(EMAIL)
    await console.user("hanako@example.co.jp")
    laptop, phone, hanako = console.browser(), console.browser("198.51.100.4"), console.browser()
    await login(laptop, EMAIL)
    await login(phone, EMAIL)
    await login(hanako, "hanako@example.co.jp")

    mine = (await laptop.get("/auth/v1/sessions")).json()
    assert len(mine) == 2 and [s["current"] for s in mine].count(True) == 1
    assert {s["ip"] for s in mine} == {"127.0.0.1", "198.51.100.4"}
    assert all("token" not in str(s) for s in mine)
    phone_id = next(s["id"] for s in mine if not s["current"])
    hanako_id = (await hanako.get("/auth/v1/session")).json()["session"]["id"]

    # Another user's session id answers as if it did not exist.
    theirs = await laptop.delete(f"/auth/v1/sessions/{hanako_id}", headers=csrf(laptop))
    assert theirs.status_code == 404
    assert (await hanako.get("/auth/v1/session")).status_code == 200
    assert (await laptop.delete("/auth/v1/sessions/sess_nothing", headers=csrf(laptop))).status_code == 404

    assert (await laptop.delete(f"/auth/v1/sessions/{phone_id}", headers=csrf(laptop))).status_code == 204
    assert (await phone.get("/auth/v1/session")).status_code == 401
    assert len((await laptop.get("/auth/v1/sessions")).json()) == 1
    [revoked] = console.audit("session.revoked")
    assert revoked["data"]["session_id"] == phone_id and revoked["data"]["reason"] == "revoked_by_user"


async def test_changing_the_password_ends_every_other_session(console: Console) -> None:
    user = await console.user(EMAIL)
    laptop, phone = console.browser(), console.browser()
    await login(laptop, EMAIL)
    await login(phone, EMAIL)
    old_token = laptop.cookies[COOKIE]
    new = "a much better passphrase"

    wrong = await laptop.post(
        "/auth/v1/password", headers=csrf(laptop), json={"current_password": "guess", "new_password": new}
    )
    assert wrong.status_code == 403 and wrong.json()["error"]["code"] == "reauthentication_failed"
    weak = await laptop.post(
        "/auth/v1/password",
        headers=csrf(laptop),
        json={"current_password": PASSWORD, "new_password": "123456"},
    )
    assert weak.status_code == 400 and weak.json()["error"]["code"] == "weak_password"
    changed = await laptop.post(
        "/auth/v1/password", headers=csrf(laptop), json={"current_password": PASSWORD, "new_password": new}
    )

    assert changed.status_code == 200, changed.text
    assert (await phone.get("/auth/v1/session")).status_code == 401
    assert laptop.cookies[COOKIE] != old_token
    assert (await laptop.get("/auth/v1/session")).status_code == 200
    assert (await login(console.browser(), EMAIL)).status_code == 401
    assert (await login(console.browser(), EMAIL, new)).status_code == 200
    [record] = console.audit("auth.password.changed")
    assert record["data"]["user_id"] == user["id"] and record["data"]["sessions_revoked"] == 1


async def test_routes_need_a_session(console: Console) -> None:
    browser = console.browser()
    for method, path in [
        ("GET", "/auth/v1/session"),
        ("GET", "/auth/v1/sessions"),
        ("POST", "/auth/v1/logout"),
        ("POST", "/auth/v1/mfa/enroll"),
    ]:
        answer = await browser.request(method, path)
        assert answer.status_code == 401 and answer.json()["error"]["code"] == "not_signed_in"
    browser.cookies.set(COOKIE, "made-up-token")
    assert (await browser.get("/auth/v1/session")).json()["error"]["code"] == "session_ended"
