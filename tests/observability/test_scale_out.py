"""Several processes on one database: migrations run once, and /readyz tells a balancer the truth."""

from __future__ import annotations

import subprocess
from collections.abc import Callable
from pathlib import Path

import pytest
import redis
from alembic.script import ScriptDirectory
from sqlalchemy import text

from sekisho.observability.readiness import Readiness
from sekisho.settings import Settings
from sekisho.store import create_db_engine, current_revision, upgrade
from sekisho.store.migrate import alembic_config
from sekisho.testing import MockUpstream
from tests.conftest import SEKISHO_BIN, Gateway, cli_env, free_port, mock_config, running_gateway

pytestmark = pytest.mark.anyio


def test_processes_migrating_at_once_do_it_once(database_url: str, tmp_path: Path) -> None:
    """Replicas starting together all run the migrations: one migrates, the others wait and find it done.

    Without the migration lock two of three PostgreSQL upgrades failed (``duplicate key value violates
    unique constraint "pg_type_typname_nsp_index"``) and SQLite ones failed with ``database is locked``.
    """
    env = cli_env(tmp_path / "data", SEKISHO_DATABASE_URL=database_url)
    processes = [
        subprocess.Popen(
            [str(SEKISHO_BIN), "migrate"], env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True
        )
        for _ in range(3)
    ]
    results = [(p.wait(timeout=180), p.stderr.read() if p.stderr else "") for p in processes]
    for process in processes:
        for stream in (process.stdout, process.stderr):
            if stream is not None:
                stream.close()
    assert [code for code, _ in results] == [0, 0, 0], [err[-500:] for _, err in results]
    engine = create_db_engine(database_url)
    try:
        head = ScriptDirectory.from_config(alembic_config(engine)).get_current_head()
        assert current_revision(engine) == head
        with engine.connect() as conn:
            assert conn.execute(text("SELECT count(*) FROM alembic_version")).scalar() == 1
    finally:
        engine.dispose()


async def test_readiness_reflects_the_schema_revision(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    settings = make_settings(mock_config(upstream[1]), SEKISHO_DATABASE_URL=database_url)
    async with running_gateway(settings) as gw:
        ready = await gw.client.get("/readyz")
        assert ready.status_code == 200, ready.text
        assert ready.json()["checks"]["schema"] is True
        head = _set_revision(gw, "0001")
        try:
            # As a replica of newer code before `sekisho migrate` ran: alive, but not to be sent traffic.
            stale = await gw.client.get("/readyz")
            assert stale.status_code == 503
            assert stale.json()["checks"]["schema"] is False
            assert (await gw.client.get("/healthz")).status_code == 200
        finally:
            _set_revision(gw, head)
        assert (await gw.client.get("/readyz")).status_code == 200


def _set_revision(gw: Gateway, revision: str) -> str:
    with gw.core.engine.begin() as conn:
        before = str(conn.execute(text("SELECT version_num FROM alembic_version")).scalar())
        conn.execute(text("UPDATE alembic_version SET version_num = :v"), {"v": revision})
    return before


def _redis_running() -> bool:
    try:
        return bool(redis.Redis(socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


async def test_readiness_checks_redis_when_limits_use_it(
    make_settings: Callable[..., Settings], tmp_path: Path
) -> None:
    if not _redis_running():
        pytest.skip("Redis is not running on 127.0.0.1:6379")
    engine = create_db_engine(f"sqlite:///{tmp_path / 'ready.db'}")
    upgrade(engine)
    try:
        reachable = make_settings({"limits": {"backend": "redis", "redis_url": "redis://127.0.0.1:6379/0"}})
        closed = make_settings(
            {"limits": {"backend": "redis", "redis_url": f"redis://127.0.0.1:{free_port()}/0"}}
        )
        memory = make_settings({"limits": {"backend": "memory"}})
        for settings, expected in ((reachable, {"schema": True, "redis": True}), (memory, {"schema": True})):
            readiness = Readiness(settings, engine)
            assert await readiness.checks() == expected
            await readiness.aclose()
        readiness = Readiness(closed, engine)
        assert await readiness.checks() == {"schema": True, "redis": False}
        await readiness.aclose()
    finally:
        engine.dispose()
