"""The usage maintenance job: partitions made ahead of time, and retention.

It runs once at start-up, before the app serves (so this month's partition exists before the first
request is recorded), then every ``maintenance_interval_seconds`` in the background. Every replica may
run it: partition changes take a PostgreSQL advisory lock, and each step is idempotent (a step that
finds its work done does nothing), so a replica that was down simply catches up on its next pass.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Callable
from contextlib import suppress
from dataclasses import dataclass
from datetime import datetime

import anyio
from sqlalchemy import Engine

from sekisho.analytics import partitions
from sekisho.analytics.retention import RetentionRun, apply_retention
from sekisho.analytics.settings import UsageDataSettings
from sekisho.audit import AuditLog
from sekisho.clock import utcnow
from sekisho.store.tx import write_transaction

log = logging.getLogger("sekisho.analytics")


@dataclass(frozen=True, slots=True)
class MaintenanceRun:
    """What one pass did."""

    partitions_created: tuple[str, ...]
    rows_moved: int
    retention: RetentionRun | None


class UsageMaintenance:
    """Creates partitions ahead of time and applies retention, now or on a timer."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        settings: UsageDataSettings,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._settings = settings
        self._clock = clock
        self._lock_timeout_ms = int(settings.lock_timeout_seconds * 1000)
        self._task: asyncio.Task[None] | None = None
        self._stop: asyncio.Event | None = None

    @property
    def partitioned(self) -> bool:
        """Whether the database partitions ``usage_events`` (PostgreSQL)."""
        return self._engine.dialect.name == "postgresql"

    def ensure_partitions(self) -> tuple[tuple[str, ...], int]:
        """Create the partitions this month and the months ahead still lack: (names, rows moved)."""
        if not self.partitioned:
            return (), 0
        created: list[str] = []
        moved = 0
        for partition in partitions.wanted(self._clock(), self._settings.partition_months_ahead):
            # One transaction per partition: a lock timeout on one does not undo the others.
            with write_transaction(self._engine) as conn:
                partitions.lock(conn)
                if any(partition.overlaps(p) for p in partitions.list_partitions(conn)):
                    continue
                moved += partitions.create(conn, partition, self._lock_timeout_ms)
            created.append(partition.name)
            log.info("created usage partition %s", partition.name)
        return tuple(created), moved

    def apply_retention(self) -> RetentionRun | None:
        """Remove raw events past ``retention_days`` (None when retention is off or nothing is due)."""
        days = self._settings.retention_days
        if days is None:
            return None
        run = apply_retention(
            self._engine, self._audit, now=self._clock(), days=days, lock_timeout_ms=self._lock_timeout_ms
        )
        if run is not None:
            log.info(
                "usage retention removed %d rows (partitions: %s)",
                run.rows_deleted,
                ", ".join(run.partitions_dropped) or "none",
            )
        return run

    def run_once(self) -> MaintenanceRun:
        """One pass: partitions first (so retention never races a partition being made), then retention."""
        created, moved = self.ensure_partitions()
        return MaintenanceRun(created, moved, self.apply_retention())

    def prepare(self) -> None:
        """At start-up, before serving: this month's partitions and the next ones.

        A failure is logged, not raised: the default partition takes the rows meanwhile, and the
        periodic job tries again (and moves them)."""
        if not self._settings.maintenance:
            return
        try:
            self.ensure_partitions()
        except Exception:
            log.exception("could not prepare usage partitions at start-up")

    def start(self) -> None:
        """Start the periodic job on the running event loop (after ``prepare`` at start-up)."""
        if self._task is None and self._settings.maintenance:
            self._stop = asyncio.Event()
            self._task = asyncio.get_running_loop().create_task(
                self._run(self._stop), name="sekisho-usage-maintenance"
            )

    async def aclose(self) -> None:
        """Stop the job, letting a pass in flight finish first.

        Cancelling instead would leave the pass running in its thread, holding a connection of an
        engine that is about to be disposed."""
        task, self._task = self._task, None
        if task is not None and self._stop is not None:
            self._stop.set()
            await task

    async def _run(self, stop: asyncio.Event) -> None:
        while not stop.is_set():
            try:
                await anyio.to_thread.run_sync(self.run_once)
            except Exception:  # the database may be briefly unavailable; try again next time
                log.exception("usage maintenance pass failed")
            with suppress(TimeoutError):
                await asyncio.wait_for(stop.wait(), self._settings.maintenance_interval_seconds)
