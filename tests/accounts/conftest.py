"""Fixtures for console sign-in: the real app with a controllable clock, users with passwords."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import httpx
import pyotp
import pytest
from fastapi import FastAPI

from sekisho.accounts.cookies import CSRF_COOKIE
from sekisho.accounts.wiring import Accounts, build_accounts
from sekisho.app import build_app
from sekisho.clock import utcnow
from sekisho.crypto import SecretBox
from sekisho.settings import Settings
from tests.conftest import MASTER_KEY

PASSWORD = "correct horse battery staple"
COOKIE = "sekisho_session"
# Cheap argon2 parameters: the tests check behaviour, not the cost of a hash.
FAST_HASHING = {"argon2_time_cost": 1, "argon2_memory_kib": 1024, "argon2_parallelism": 1}


@dataclass
class Clock:
    """A clock the test moves by hand (sessions, TOTP steps, lock-outs and throttling all read it)."""

    now: datetime = field(default_factory=utcnow)

    def __call__(self) -> datetime:
        return self.now

    def advance(self, **delta: float) -> None:
        self.now += timedelta(**delta)


@dataclass
class Console:
    """The app under test, reached as a browser would (cookies) and as an operator (master key)."""

    app: FastAPI
    settings: Settings
    clock: Clock
    accounts: Accounts
    clients: list[httpx.AsyncClient] = field(default_factory=list)

    @property
    def core(self) -> Any:
        return self.app.state.core

    def master(self) -> dict[str, str]:
        return {"authorization": f"Bearer {MASTER_KEY}"}

    def browser(
        self, ip: str = "127.0.0.1", *, base_url: str = "https://sekisho.example"
    ) -> httpx.AsyncClient:
        """A new browser (its own cookie jar) connecting from ``ip``."""
        transport = httpx.ASGITransport(app=self.app, client=(ip, 51000))
        client = httpx.AsyncClient(transport=transport, base_url=base_url)
        self.clients.append(client)
        return client

    async def user(
        self, email: str, *, role: str = "member", password: str | None = PASSWORD, org_id: str | None = None
    ) -> dict[str, Any]:
        """A user created and given a password through the admin API (master key)."""
        body: dict[str, Any] = {"email": email, "name": email.split("@")[0], "role": role}
        if org_id is not None:
            body["org_id"] = org_id
        created = await self.admin_client().post("/admin/v1/users", headers=self.master(), json=body)
        assert created.status_code == 201, created.text
        user: dict[str, Any] = created.json()
        if password is not None:
            query = f"?org_id={org_id}" if org_id else ""
            done = await self.admin_client().post(
                f"/admin/v1/users/{user['id']}/password{query}",
                headers=self.master(),
                json={"password": password},
            )
            assert done.status_code == 200, done.text
        return user

    async def org(self, slug: str) -> dict[str, Any]:
        created = await self.admin_client().post(
            "/admin/v1/orgs", headers=self.master(), json={"slug": slug, "name": slug.title()}
        )
        assert created.status_code == 201, created.text
        org: dict[str, Any] = created.json()
        return org

    def admin_client(self) -> httpx.AsyncClient:
        if not hasattr(self, "_admin"):
            self._admin = self.browser("10.99.99.99")
        return self._admin

    def audit(self, kind: str | None = None) -> list[dict[str, Any]]:
        records = list(self.core.audit.export())
        return [r for r in records if kind is None or r["kind"] == kind]


async def login(
    client: httpx.AsyncClient, email: str, password: str = PASSWORD, org: str | None = None
) -> httpx.Response:
    body: dict[str, Any] = {"email": email, "password": password}
    if org is not None:
        body["org"] = org
    return await client.post("/auth/v1/login", json=body)


def csrf(client: httpx.AsyncClient) -> dict[str, str]:
    """The header the console's script sends: the CSRF cookie's value echoed back."""
    return {"x-csrf-token": client.cookies.get(CSRF_COOKIE) or ""}


def totp(secret: str, at: datetime) -> str:
    return pyotp.TOTP(secret).at(at)


@pytest.fixture
def console_settings(database_url: str, make_settings: Callable[..., Settings]) -> Callable[..., Settings]:
    """Settings for the console app; ``identity`` overrides merge into the fast-hashing defaults."""

    def make(identity: dict[str, Any] | None = None, **config: Any) -> Settings:
        ident = {"passwords": dict(FAST_HASHING), **(identity or {})}
        if identity and "passwords" in identity:
            ident["passwords"] = {**FAST_HASHING, **identity["passwords"]}
        return make_settings(
            {"identity": ident, **config}, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY
        )

    return make


async def start_console(settings: Settings, clock: Clock) -> AsyncIterator[Console]:
    app = build_app(settings)
    core = app.state.core
    # The same services build_app made, but on the test's clock; the admin API's cookie check too.
    accounts = build_accounts(
        settings.identity,
        core.engine,
        core.audit,
        SecretBox.load(settings.data_dir),
        trusted=app.state.network.trusted,
        clock=clock,
    )
    accounts.install(app.state)
    app.state.admin.sessions.sessions = accounts.sessions
    async with app.router.lifespan_context(app):
        console = Console(app, settings, clock, accounts)
        try:
            yield console
        finally:
            for client in console.clients:
                await client.aclose()


@pytest.fixture
async def console(console_settings: Callable[..., Settings]) -> AsyncIterator[Console]:
    """The app with default sign-in settings (fast hashing) on a fresh database."""
    async for c in start_console(console_settings(), Clock()):
        yield c
