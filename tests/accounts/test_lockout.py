"""Lock-out per account (in the database) and throttling per client address (per process)."""

from __future__ import annotations

from collections.abc import Callable

import pytest

from sekisho.settings import Settings
from tests.accounts.conftest import PASSWORD, Clock, csrf, login, start_console, totp

pytestmark = pytest.mark.anyio

EMAIL = "taro@example.co.jp"


async def test_an_account_locks_after_repeated_failures_and_unlocks_later(
    console_settings: Callable[..., Settings],
) -> None:
    settings = console_settings({"lockout": {"max_failures": 3, "lock_minutes": 10}})
    async for console in start_console(settings, Clock()):
        user = await console.user(EMAIL)
        browser = console.browser()
        wrong = [await login(browser, EMAIL, f"wrong guess number {i}") for i in range(3)]
        assert {w.status_code for w in wrong} == {401}

        locked = await login(browser, EMAIL)  # the right password, while locked
        assert locked.status_code == 401 and locked.text == wrong[0].text
        console.clock.advance(minutes=9)
        assert (await login(browser, EMAIL)).status_code == 401
        console.clock.advance(minutes=1, seconds=1)
        assert (await login(browser, EMAIL)).status_code == 200

        [lock] = console.audit("auth.account.locked")
        assert lock["data"] == {"user_id": user["id"], "failures": 3, "lock_minutes": 10, "ip": "127.0.0.1"}
        reasons = [r["data"]["reason"] for r in console.audit("auth.login.failed")]
        assert reasons == ["bad_password", "bad_password", "bad_password", "locked", "locked"]
        # The count starts again after a success.
        for i in range(2):
            await login(browser, EMAIL, f"another wrong guess {i}")
        assert (await login(browser, EMAIL)).status_code == 200


async def test_wrong_mfa_codes_count_towards_the_lock_out(console_settings: Callable[..., Settings]) -> None:
    settings = console_settings({"lockout": {"max_failures": 3, "lock_minutes": 5}})
    async for console in start_console(settings, Clock()):
        await console.user(EMAIL)
        browser = console.browser()
        await login(browser, EMAIL)
        secret = (await browser.post("/auth/v1/mfa/enroll", headers=csrf(browser))).json()["secret"]
        await browser.post(
            "/auth/v1/mfa/enroll/confirm",
            headers=csrf(browser),
            json={"code": totp(secret, console.clock.now)},
        )
        console.clock.advance(seconds=60)

        half = console.browser()
        assert (await login(half, EMAIL)).json()["mfa_required"] is True
        for guess in ("000000", "111111", "222222"):
            answer = await half.post("/auth/v1/mfa/verify", headers=csrf(half), json={"code": guess})
            assert answer.status_code == 401
        right = await half.post(
            "/auth/v1/mfa/verify", headers=csrf(half), json={"code": totp(secret, console.clock.now)}
        )
        assert right.status_code == 401 and right.json()["error"]["code"] == "invalid_mfa_code"
        assert (await login(console.browser(), EMAIL)).status_code == 401  # the password too, while locked
        assert len(console.audit("auth.account.locked")) == 1

        console.clock.advance(minutes=5, seconds=30)
        # The password alone does not reset the count: two more wrong codes after it lock again.
        retry = console.browser()
        await login(retry, EMAIL)
        for guess in ("333333", "444444"):
            await retry.post("/auth/v1/mfa/verify", headers=csrf(retry), json={"code": guess})
        await login(retry, EMAIL)
        await retry.post("/auth/v1/mfa/verify", headers=csrf(retry), json={"code": "555555"})
        assert len(console.audit("auth.account.locked")) == 2
        console.clock.advance(minutes=5, seconds=30)
        again = console.browser()
        await login(again, EMAIL)
        ok = await again.post(
            "/auth/v1/mfa/verify", headers=csrf(again), json={"code": totp(secret, console.clock.now)}
        )
        assert ok.status_code == 200, ok.text


async def test_too_many_attempts_from_one_address_get_429(console_settings: Callable[..., Settings]) -> None:
    settings = console_settings({"lockout": {"ip_attempts_per_minute": 3, "max_failures": 100}})
    async for console in start_console(settings, Clock()):
        await console.user(EMAIL)
        sprayer = console.browser("203.0.113.5")
        for i in range(3):
            assert (await login(sprayer, f"user{i}@example.co.jp", "guess guess guess")).status_code == 401
        console.clock.advance(seconds=20)

        refused = await login(sprayer, EMAIL)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "too_many_attempts"
        assert refused.headers["retry-after"] == "40"
        # Another address is not affected; the first one may try again when the window has moved on.
        assert (await login(console.browser("203.0.113.6"), EMAIL)).status_code == 200
        console.clock.advance(seconds=41)
        assert (await login(sprayer, EMAIL)).status_code == 200


async def test_a_locked_account_can_be_opened_by_an_admin_setting_a_password(
    console_settings: Callable[..., Settings],
) -> None:
    settings = console_settings({"lockout": {"max_failures": 2}})
    async for console in start_console(settings, Clock()):
        user = await console.user(EMAIL)
        browser = console.browser()
        for _ in range(2):
            await login(browser, EMAIL, "wrong wrong wrong")
        assert (await login(browser, EMAIL)).status_code == 401
        new = "a temporary passphrase 7"
        reset = await console.admin_client().post(
            f"/admin/v1/users/{user['id']}/password", headers=console.master(), json={"password": new}
        )
        assert reset.status_code == 200
        assert (await login(browser, EMAIL, new)).status_code == 200


async def test_behind_a_trusted_proxy_each_client_is_counted_on_its_own(
    console_settings: Callable[..., Settings],
) -> None:
    settings = console_settings(
        {"lockout": {"ip_attempts_per_minute": 2}}, network={"trusted_proxies": ["10.0.0.0/8"]}
    )
    async for console in start_console(settings, Clock()):
        await console.user(EMAIL)
        proxy = console.browser("10.0.0.1")
        first = {"x-forwarded-for": "198.51.100.1"}
        for _ in range(2):
            await proxy.post("/auth/v1/login", json={"email": EMAIL, "password": "nope nope"}, headers=first)
        over = await proxy.post("/auth/v1/login", json={"email": EMAIL, "password": "x"}, headers=first)
        assert over.status_code == 429
        other = await proxy.post(
            "/auth/v1/login",
            json={"email": EMAIL, "password": PASSWORD},
            headers={"x-forwarded-for": "198.51.100.2"},
        )
        assert other.status_code == 200
        assert console.audit("auth.login.succeeded")[-1]["data"]["ip"] == "198.51.100.2"
        # From an untrusted peer the header is ignored: the peer itself is counted.
        direct = console.browser("192.0.2.50")
        for fake in ("203.0.113.1", "203.0.113.2"):
            await direct.post(
                "/auth/v1/login", json={"email": EMAIL, "password": "x"}, headers={"x-forwarded-for": fake}
            )
        spoofed = await direct.post(
            "/auth/v1/login",
            json={"email": EMAIL, "password": "x"},
            headers={"x-forwarded-for": "203.0.113.3"},
        )
        assert spoofed.status_code == 429
