"""Password sign-in through the real app: cookies, the answer for every kind of failure, CSRF, logout."""

from __future__ import annotations

from collections.abc import Callable

import httpx
import pytest
from sqlalchemy import select

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.store.tables import users
from tests.accounts.conftest import COOKIE, PASSWORD, Clock, Console, csrf, login, start_console
from tests.conftest import ServerThread

pytestmark = pytest.mark.anyio


async def test_password_sign_in_gives_a_session_the_console_can_use(console: Console) -> None:
    user = await console.user("hanako@example.co.jp", role="admin")
    browser = console.browser()

    signed = await login(browser, "Hanako@Example.co.jp")  # e-mail case does not matter

    assert signed.status_code == 200, signed.text
    body = signed.json()
    assert body["user"] == {
        "id": user["id"],
        "email": "hanako@example.co.jp",
        "name": "hanako",
        "role": "admin",
    }
    assert body["org"]["slug"] == "default"
    assert body["mfa_required"] is False and body["mfa_enrollment_required"] is False
    assert body["csrf_token"] == browser.cookies.get("sekisho_csrf")
    assert signed.headers["cache-control"] == "no-store"
    me = (await browser.get("/auth/v1/session")).json()
    assert me["user"]["id"] == user["id"] and me["session"]["current"] is True
    assert me["mfa"] == {"enabled": False, "verified": True, "recovery_codes_left": 0}
    # The admin API takes the same cookie (reads need no CSRF header).
    listed = await browser.get("/admin/v1/users")
    assert listed.status_code == 200, listed.text
    [record] = console.audit("auth.login.succeeded")
    assert record["data"]["user_id"] == user["id"] and record["data"]["method"] == "password"


async def test_wrong_password_unknown_email_and_disabled_account_look_the_same(console: Console) -> None:
    await console.user("taro@example.co.jp")
    await console.user("nopassword@example.co.jp", password=None)
    service = console.core.tenancy.service_account_for(
        console.core.tenancy.ensure_default_org().id, actor="t"
    )
    browser = console.browser()

    answers = [
        await login(browser, "taro@example.co.jp", "wrong password entirely"),
        await login(browser, "nobody@example.co.jp"),
        await login(browser, "nopassword@example.co.jp"),
        await login(browser, service.email),
        await login(browser, "taro@example.co.jp", org="no-such-org"),
    ]

    assert {a.status_code for a in answers} == {401}
    assert {a.text for a in answers} == {answers[0].text}
    assert answers[0].json()["error"]["code"] == "invalid_credentials"
    assert COOKIE not in browser.cookies
    reasons = sorted(r["data"]["reason"] for r in console.audit("auth.login.failed"))
    assert reasons == ["bad_password", "no_password", "unknown_account", "unknown_account", "unknown_account"]


async def test_sign_in_takes_json_only_and_refuses_cross_site_requests(console: Console) -> None:
    await console.user("taro@example.co.jp")
    browser = console.browser()

    # What an HTML form on another site can send without a CORS preflight.
    form = await browser.post("/auth/v1/login", data={"email": "taro@example.co.jp", "password": PASSWORD})
    plain = await browser.post(
        "/auth/v1/login",
        content=f'{{"email": "taro@example.co.jp", "password": "{PASSWORD}"}}',
        headers={"content-type": "text/plain"},
    )
    cross = await browser.post(
        "/auth/v1/login",
        json={"email": "taro@example.co.jp", "password": PASSWORD},
        headers={"sec-fetch-site": "cross-site"},
    )

    assert form.status_code == 415 and plain.status_code == 415
    assert form.json()["error"]["code"] == "unsupported_media_type"
    assert cross.status_code == 403 and cross.json()["error"]["code"] == "cross_site"
    assert COOKIE not in browser.cookies
    bad = await browser.post("/auth/v1/login", json={"email": "taro@example.co.jp"})
    assert bad.status_code == 400 and bad.json()["error"]["param"] == "password"
    garbage = await browser.post("/auth/v1/login", content=b"{", headers={"content-type": "application/json"})
    assert garbage.status_code == 400


async def test_an_address_in_two_organisations_signs_in_where_the_password_fits(console: Console) -> None:
    other = await console.org("kaisha")
    await console.user("sato@example.co.jp")
    await console.user("sato@example.co.jp", org_id=other["id"], password=PASSWORD + " two")
    browser = console.browser()

    second = await login(browser, "sato@example.co.jp", PASSWORD + " two")
    assert second.status_code == 200 and second.json()["org"]["slug"] == "kaisha"
    first = await login(browser, "sato@example.co.jp")
    assert first.status_code == 200 and first.json()["org"]["slug"] == "default"

    # The same password in both: the client has to say which organisation.
    await console.user("suzuki@example.co.jp")
    await console.user("suzuki@example.co.jp", org_id=other["id"])
    both = await login(browser, "suzuki@example.co.jp")
    assert both.status_code == 400 and both.json()["error"]["code"] == "org_required"
    chosen = await login(browser, "suzuki@example.co.jp", org="kaisha")
    assert chosen.json()["org"]["id"] == other["id"]


async def test_a_new_sign_in_ends_the_session_the_browser_held(console: Console) -> None:
    await console.user("a@example.co.jp")
    await console.user("b@example.co.jp")
    browser = console.browser()
    await login(browser, "a@example.co.jp")
    first = browser.cookies[COOKIE]

    await login(browser, "b@example.co.jp")

    stale = console.browser()
    stale.cookies.set(COOKIE, first)
    assert (await stale.get("/auth/v1/session")).status_code == 401
    assert (await browser.get("/auth/v1/session")).json()["user"]["email"] == "b@example.co.jp"


async def test_logout_needs_the_csrf_token_and_ends_the_session(console: Console) -> None:
    await console.user("taro@example.co.jp")
    browser = console.browser()
    await login(browser, "taro@example.co.jp")
    token = browser.cookies[COOKIE]

    missing = await browser.post("/auth/v1/logout")
    wrong = await browser.post("/auth/v1/logout", headers={"x-csrf-token": "0" * 64})
    assert missing.status_code == 403 and wrong.status_code == 403
    assert missing.json()["error"]["code"] == "csrf_failed"
    assert (await browser.get("/auth/v1/session")).status_code == 200

    out = await browser.post("/auth/v1/logout", headers=csrf(browser))
    assert out.status_code == 204
    assert COOKIE not in browser.cookies
    replay = console.browser()
    replay.cookies.set(COOKIE, token)
    ended = await replay.get("/auth/v1/session")
    assert ended.status_code == 401 and ended.json()["error"]["code"] == "session_ended"
    [revoked] = console.audit("session.revoked")
    assert revoked["data"]["reason"] == "logout"


async def test_state_changing_routes_refuse_a_missing_or_wrong_csrf_token(console: Console) -> None:
    await console.user("taro@example.co.jp")
    browser = console.browser()
    await login(browser, "taro@example.co.jp")
    session_id = (await browser.get("/auth/v1/session")).json()["session"]["id"]
    attempts = [
        ("POST", "/auth/v1/mfa/enroll", None),
        (
            "POST",
            "/auth/v1/password",
            {"current_password": PASSWORD, "new_password": "a brand new passphrase"},
        ),
        ("DELETE", f"/auth/v1/sessions/{session_id}", None),
        ("POST", "/admin/v1/projects", {"slug": "x", "name": "X"}),
    ]
    for method, path, body in attempts:
        for headers in ({}, {"x-csrf-token": "forged"}):
            answer = await browser.request(method, path, json=body, headers=headers)
            assert answer.status_code == 403, (method, path, answer.text)
            assert answer.json()["error"]["code"] == "csrf_failed"
    assert (await browser.get("/auth/v1/session")).status_code == 200
    assert not console.audit("auth.password.changed") and not console.audit("session.revoked")


async def test_cookies_are_httponly_samesite_and_secure_over_https(console: Console) -> None:
    await console.user("taro@example.co.jp")
    signed = await login(console.browser(), "taro@example.co.jp")

    cookies = {c.split("=", 1)[0]: c.lower() for c in signed.headers.get_list("set-cookie")}
    session, token = cookies[COOKIE], cookies["sekisho_csrf"]
    assert "httponly" in session and "samesite=lax" in session and "secure" in session and "path=/" in session
    assert "httponly" not in token and "samesite=strict" in token and "secure" in token


async def test_cookies_over_plain_http_are_secure_except_on_loopback(
    console_settings: Callable[..., Settings],
) -> None:
    settings = console_settings()
    async for console in start_console(settings, Clock()):
        await console.user("taro@example.co.jp")
        internal = await login(console.browser(base_url="http://sekisho.internal"), "taro@example.co.jp")
        assert all("secure" in c.lower() for c in internal.headers.get_list("set-cookie"))
    # Through a real server on 127.0.0.1 (local development): not Secure, so the browser keeps them.
    with ServerThread(build_app(settings)) as server:
        async with httpx.AsyncClient(base_url=server.url) as real:
            signed = await login(real, "taro@example.co.jp")
            assert signed.status_code == 200, signed.text
            assert not any("secure" in c.lower() for c in signed.headers.get_list("set-cookie"))
            assert (await real.get("/auth/v1/session")).status_code == 200
            out = await real.post("/auth/v1/logout", headers=csrf(real))
            assert out.status_code == 204
            assert (await real.get("/auth/v1/session")).status_code == 401
    async for console in start_console(console_settings({"sessions": {"secure_cookie": True}}), Clock()):
        forced = await login(console.browser(base_url="http://127.0.0.1"), "taro@example.co.jp")
        assert all("secure" in c.lower() for c in forced.headers.get_list("set-cookie"))


async def test_weak_passwords_are_refused(console: Console) -> None:
    user = await console.user("yamada.hanako@example.co.jp", password=None)
    for weak, words in [
        ("short", "at least 12"),
        ("password1234", "commonly used"),
        ("Qwertyuiop12!", "commonly used"),
        ("Sakura2024!!!", "commonly used"),
        ("aaaaaaaaaaaaaaaa", "too few different"),
        ("yamada.hanako-secret", "e-mail"),
    ]:
        answer = await console.admin_client().post(
            f"/admin/v1/users/{user['id']}/password", headers=console.master(), json={"password": weak}
        )
        assert answer.status_code == 400, weak
        assert (
            answer.json()["error"]["code"] == "weak_password" and words in answer.json()["error"]["message"]
        )
    assert not console.audit("auth.password.set")


async def test_hashes_are_upgraded_when_the_parameters_change(
    console_settings: Callable[..., Settings],
) -> None:
    async for console in start_console(console_settings(), Clock()):
        user = await console.user("taro@example.co.jp")
        with console.core.engine.connect() as conn:
            before = conn.execute(select(users.c.password_hash).where(users.c.id == user["id"])).scalar_one()
    assert before.startswith("$argon2id$") and "m=1024,t=1,p=1" in before

    stronger = console_settings({"passwords": {"argon2_memory_kib": 2048, "argon2_time_cost": 2}})
    async for console in start_console(stronger, Clock()):
        assert (await login(console.browser(), "taro@example.co.jp")).status_code == 200
        with console.core.engine.connect() as conn:
            after = conn.execute(select(users.c.password_hash).where(users.c.id == user["id"])).scalar_one()
        assert "m=2048,t=2,p=1" in after
        assert console.audit("auth.login.succeeded")[-1]["data"]["rehashed"] is True
        assert (await login(console.browser(), "taro@example.co.jp")).status_code == 200
