"""What /readyz checks beyond the database and the providers: the schema, and Redis when used.

A replica is ready when it can serve: its database answers *at the schema revision this code
expects* (a replica started with ``auto_migrate: false`` before ``sekisho migrate`` ran is not), and
the Redis that holds the shared budget counters answers when ``limits.backend`` is ``redis``. A load
balancer then sends traffic only to replicas that will not fail it.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING

import anyio
from alembic.script import ScriptDirectory
from sqlalchemy import Engine

from sekisho.settings import Settings
from sekisho.store import current_revision
from sekisho.store.migrate import alembic_config

if TYPE_CHECKING:
    from redis.asyncio import Redis

log = logging.getLogger("sekisho.observability")
REDIS_TIMEOUT_SECONDS = 2.0


class Readiness:
    """Dependency checks for /readyz, each a name and whether it passed."""

    def __init__(self, settings: Settings, engine: Engine) -> None:
        self._engine = engine
        self._heads = frozenset(ScriptDirectory.from_config(alembic_config(engine)).get_heads())
        limits = settings.limits
        self._redis_url = limits.redis_url if limits.enabled and limits.backend == "redis" else None
        self._redis: Redis | None = None

    async def checks(self) -> dict[str, bool]:
        """Every check's result; a failing check is logged with its reason."""
        out = {"schema": await anyio.to_thread.run_sync(self._schema_current)}
        if self._redis_url is not None:
            out["redis"] = await self._redis_answers()
        return out

    def _schema_current(self) -> bool:
        try:
            revision = current_revision(self._engine)
        except Exception:
            return False  # the database check reports why
        if revision not in self._heads:
            log.warning(
                "database schema at %s, this code needs %s: run `sekisho migrate`", revision, self._heads
            )
            return False
        return True

    async def _redis_answers(self) -> bool:
        import redis.asyncio as aioredis

        if self._redis is None:
            self._redis = aioredis.Redis.from_url(
                self._redis_url or "",
                socket_connect_timeout=REDIS_TIMEOUT_SECONDS,
                socket_timeout=REDIS_TIMEOUT_SECONDS,
            )
        client = self._redis
        try:
            with anyio.fail_after(REDIS_TIMEOUT_SECONDS * 2):
                return bool(await client.ping())
        except Exception as exc:
            log.warning("redis not ready: %s", type(exc).__name__)
            return False

    async def aclose(self) -> None:
        """Close the Redis connection, if one was opened."""
        if self._redis is not None:
            await self._redis.aclose()
            self._redis = None
