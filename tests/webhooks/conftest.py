"""Fixtures for webhook tests: a migrated database, a controllable clock, a real HTTP receiver."""

from __future__ import annotations

import asyncio
import os
import secrets
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import psycopg
import pytest
from sqlalchemy import Engine, delete, select
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sekisho.clock import utcnow
from sekisho.store import create_db_engine, upgrade, write_transaction
from sekisho.store.tables import audit_log, webhook_deliveries
from sekisho.webhooks import WebhookOutbox, WebhookSettings
from tests.conftest import PG_ADMIN_URL, ServerThread, _pg_available

SECRET = "whsec_c2VraXNoby13ZWJob29rLXRlc3Qtc2VjcmV0LTMyYnl0ZXM="  # "sekisho-webhook-test-secret-32bytes"


@pytest.fixture(scope="session", params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def _migrated(request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Engine]:
    """One database per backend for the session, migrated once (migrating per test costs ~2 s on PG)."""
    name = f"sekisho_webhooks_{secrets.token_hex(6)}"
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path_factory.mktemp('webhooks') / 'sekisho.db'}"
    else:
        if not _pg_available():
            if os.environ.get("CI"):
                pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
            pytest.skip("PostgreSQL is not running")
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        url = f"{PG_ADMIN_URL.rsplit('/', 1)[0]}/{name}"
    engine = create_db_engine(url)
    try:
        upgrade(engine)
        yield engine
    finally:
        engine.dispose()
        if request.param == "postgres":
            with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.fixture
def engine(_migrated: Engine) -> Engine:
    """The backend's database with no deliveries and no audit records."""
    with write_transaction(_migrated) as conn:
        conn.execute(delete(webhook_deliveries))
        conn.execute(delete(audit_log))
    return _migrated


@pytest.fixture
def make_outbox(engine: Engine, clock: Clock) -> Iterator[Callable[[list[WebhookSettings]], WebhookOutbox]]:
    """Outboxes on the test clock, detached from the engine at the end of the test."""
    made: list[WebhookOutbox] = []

    def make(settings: list[WebhookSettings]) -> WebhookOutbox:
        made.append(WebhookOutbox(engine, settings, clock=clock))
        return made[-1]

    yield make
    for outbox in made:
        outbox.close()


class Clock:
    """A clock the test moves forward, so retries fall due without waiting."""

    def __init__(self) -> None:
        self.now: datetime = utcnow()

    def __call__(self) -> datetime:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += timedelta(seconds=seconds)


@pytest.fixture
def clock() -> Clock:
    return Clock()


@dataclass
class Received:
    path: str
    headers: dict[str, str]
    body: bytes


@dataclass
class Receiver:
    """A webhook receiver whose answers are scripted per path: a list of status codes, then 200."""

    url: str = ""
    script: dict[str, list[int]] = field(default_factory=dict)
    delays: dict[str, float] = field(default_factory=dict)
    retry_after: str | None = None
    received: list[Received] = field(default_factory=list)
    arrived: threading.Event = field(default_factory=threading.Event)

    def on(self, path: str) -> list[Received]:
        return [item for item in self.received if item.path == path]

    async def handle(self, request: Request) -> Response:
        path = request.url.path
        self.received.append(Received(path, dict(request.headers), await request.body()))
        self.arrived.set()
        if path in self.delays:
            await asyncio.sleep(self.delays[path])
        statuses = self.script.get(path) or []
        status = statuses.pop(0) if statuses else 200
        headers = {"retry-after": self.retry_after} if self.retry_after and status in (429, 503) else {}
        return Response(status_code=status, headers=headers)


@pytest.fixture(scope="session")
def _receiver_server() -> Iterator[Receiver]:
    receiver = Receiver()
    app = Starlette(routes=[Route("/{name:path}", receiver.handle, methods=["POST"])])
    with ServerThread(app) as server:
        receiver.url = server.url
        yield receiver


@pytest.fixture
def receiver(_receiver_server: Receiver) -> Receiver:
    """The shared receiver, reset for this test."""
    _receiver_server.script.clear()
    _receiver_server.delays.clear()
    _receiver_server.retry_after = None
    _receiver_server.received.clear()
    _receiver_server.arrived.clear()
    return _receiver_server


def rows(engine: Engine) -> list[dict[str, Any]]:
    """Every delivery row, oldest first."""
    with engine.connect() as conn:
        query = select(webhook_deliveries).order_by(webhook_deliveries.c.created_at, webhook_deliveries.c.id)
        return [dict(row._mapping) for row in conn.execute(query)]
