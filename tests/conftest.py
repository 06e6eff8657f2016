"""Shared fixtures: real databases (SQLite files and the PostgreSQL server), a scripted upstream
served over real HTTP, the app in-process and behind a real uvicorn server."""

from __future__ import annotations

import os
import secrets
import socket
import subprocess
import sys
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest
import uvicorn
from fastapi import FastAPI

from sekisho.app import build_app
from sekisho.settings import Settings, load_settings
from sekisho.testing import MockUpstream

PG_ADMIN_URL = os.environ.get("SEKISHO_TEST_PG_URL", "postgresql://postgres@127.0.0.1:5432/postgres")
# The installed console script, run as a real subprocess by the CLI, audit and crash tests.
SEKISHO_BIN = Path(sys.executable).with_name("sekisho")


@pytest.fixture
def anyio_backend() -> str:
    return "asyncio"


def cli_env(data_dir: Path, **overrides: str) -> dict[str, str]:
    """Environment for a ``sekisho`` subprocess: ours without SEKISHO_* settings, plus ``overrides``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("SEKISHO_")}
    env.update(SEKISHO_DATA_DIR=str(data_dir), SEKISHO_LOG_LEVEL="WARNING", **overrides)
    return env


def run_sekisho(*args: str, env: dict[str, str], timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """Run the real CLI to completion (bounded by ``timeout``), capturing its output as text."""
    return subprocess.run(
        [str(SEKISHO_BIN), *args], env=env, capture_output=True, text=True, timeout=timeout, check=False
    )


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerThread:
    """A real uvicorn server on a free loopback port, in a background thread."""

    def __init__(self, app: Any) -> None:
        self.port = free_port()
        self.server = uvicorn.Server(
            uvicorn.Config(
                app, host="127.0.0.1", port=self.port, log_level="warning", access_log=False, lifespan="on"
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    def __enter__(self) -> ServerThread:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(15)


@pytest.fixture(scope="session")
def upstream() -> Iterator[tuple[MockUpstream, str]]:
    """The scripted OpenAI-compatible upstream at a real URL (base URL ends with /v1)."""
    mock = MockUpstream()
    with ServerThread(mock) as server:
        yield mock, f"{server.url}/v1"


def _pg_available() -> bool:
    try:
        with psycopg.connect(PG_ADMIN_URL, connect_timeout=3):
            return True
    except psycopg.Error:
        return False


@pytest.fixture(params=["sqlite", pytest.param("postgres", marks=pytest.mark.postgres)])
def database_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A fresh, empty database: a SQLite file, or a new PostgreSQL database dropped afterwards."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'sekisho.db'}"
        return
    if not _pg_available():
        if os.environ.get("CI"):
            pytest.fail(f"PostgreSQL is not reachable at {PG_ADMIN_URL}")
        pytest.skip("PostgreSQL is not running")
    name = f"sekisho_test_{secrets.token_hex(6)}"
    with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    base = PG_ADMIN_URL.rsplit("/", 1)[0]
    try:
        yield f"{base}/{name}"
    finally:
        with psycopg.connect(PG_ADMIN_URL, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def mock_config(base_url: str) -> dict[str, Any]:
    """Providers and models pointing at the mock upstream; model names choose its behaviour."""
    provider = {"name": "mock", "type": "openai", "base_url": base_url, "api_key": "sk-upstream-secret"}
    models: list[dict[str, Any]] = [
        {
            "name": "gpt-4o-mini",
            "provider": "mock",
            "upstream_model": "mock-gpt",
            "input_cost_per_1m": 0.15,
            "output_cost_per_1m": 0.60,
        },
        {"name": "always-500", "provider": "mock", "upstream_model": "mock-500", "max_retries": 1},
        {"name": "always-429", "provider": "mock", "upstream_model": "mock-429", "max_retries": 1},
        {
            "name": "flaky",
            "provider": "mock",
            "upstream_model": f"mock-flaky-2-{secrets.token_hex(3)}",
            "max_retries": 2,
        },
        {
            "name": "slow",
            "provider": "mock",
            "upstream_model": "mock-slow-3000",
            "timeout_seconds": 0.3,
            "max_retries": 0,
        },
        {"name": "drops", "provider": "mock", "upstream_model": "mock-drop"},
        {
            "name": "no-usage",
            "provider": "mock",
            "upstream_model": "mock-nousage",
            "input_cost_per_1m": 1.0,
            "output_cost_per_1m": 2.0,
        },
        {"name": "bad-request", "provider": "mock", "upstream_model": "mock-400"},
        {
            "name": "with-fallback",
            "provider": "mock",
            "upstream_model": "mock-500",
            "max_retries": 0,
            "fallbacks": ["gpt-4o-mini"],
        },
        {"name": "embed", "provider": "mock", "upstream_model": "mock-embed", "kind": "embedding"},
    ]
    return {"providers": [provider], "models": models}


@pytest.fixture
def make_settings(tmp_path: Path) -> Callable[..., Settings]:
    """Settings from a dict, written to a YAML file the way an operator would."""
    import yaml

    def make(config: dict[str, Any], **env: str) -> Settings:
        path = tmp_path / f"sekisho-{secrets.token_hex(3)}.yaml"
        path.write_text(yaml.safe_dump({"retry_backoff_seconds": 0.01, "key_cache_seconds": 0, **config}))
        environ = {"SEKISHO_DATA_DIR": str(tmp_path / "data"), **env}
        return load_settings(path, environ=environ)

    return make


@dataclass
class Gateway:
    """An app under test: in-process HTTP client, a key, and the core objects."""

    app: FastAPI
    client: httpx.AsyncClient
    key: str
    settings: Settings

    @property
    def core(self) -> Any:
        return self.app.state.core

    def headers(self, key: str | None = None) -> dict[str, str]:
        return {"authorization": f"Bearer {key or self.key}"}

    def flush(self) -> None:
        self.core.writer.flush()

    def new_key(self, **kwargs: Any) -> str:
        tenancy = self.core.tenancy
        org = tenancy.ensure_default_org()
        project = kwargs.pop("project", None) or tenancy.get_project("default", org.id)
        user = kwargs.pop("user", None) or tenancy.service_account_for(org.id, actor="test")
        _key, secret = tenancy.create_key(project, user, kwargs.pop("name", "test"), actor="test", **kwargs)
        return str(secret)


MASTER_KEY = "sk-master-test-0123456789"


@pytest.fixture
async def gateway(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> AsyncIterator[Gateway]:
    """The real app on a fresh database, driven in-process through httpx."""
    settings = make_settings(
        {**mock_config(upstream[1]), "max_body_bytes": 64 * 1024},
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    async with running_gateway(settings) as gw:
        yield gw


@asynccontextmanager
async def running_gateway(settings: Settings) -> AsyncIterator[Gateway]:
    """The app for ``settings``, started, with an httpx client and a fresh key for the default project."""
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sekisho") as client:
            gw = Gateway(app, client, "", settings)
            gw.key = gw.new_key()
            yield gw
