"""One writer thread that commits queued writes in groups (group commit).

The request path needs a durable audit record before it calls the upstream, but one transaction per
request would make every call wait for its own commit. Requests instead hand their writes to this
writer; whatever queued up while the previous transaction committed goes into the next one, so under
load many requests share one commit, and when idle a write commits at once.

A batch that fails is retried write by write, so one bad write cannot take others down with it.
Writes nobody waits for (completion records, usage events) are retried until they succeed, with
back-off, rather than dropped.
"""

from __future__ import annotations

import asyncio
import logging
import queue
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any, Protocol

from sqlalchemy import Engine
from sqlalchemy.pool import PoolProxiedConnection

from sekisho.store.rows import Batch

log = logging.getLogger("sekisho.store")


class WriteOp(Protocol):
    """A write that runs inside the writer's transaction."""

    def apply(self, batch: Batch) -> Any:
        """Queue rows on ``batch``; what it returns goes to the waiter."""


@dataclass(slots=True)
class _Item:
    op: WriteOp
    done: Callable[[Any, BaseException | None], None] | None
    attempts: int = 0


@dataclass(slots=True)
class WriterStats:
    """Counters for tests and metrics."""

    transactions: int = 0
    writes: int = 0
    failures: int = 0
    pending_retries: int = 0
    lost: int = field(default=0)


_STOP = object()


class BatchWriter:
    """Serialises writes through one thread and one transaction per batch."""

    def __init__(
        self, engine: Engine, *, batch_max: int = 256, linger: float = 0.005, name: str = "sekisho-writer"
    ) -> None:
        self._engine = engine
        self._sqlite = engine.dialect.name == "sqlite"
        self._batch_max = batch_max
        # Writes nobody waits for may wait this long for company, so under steady traffic a
        # request's completion record rides in the next request's transaction instead of its own.
        self._linger = linger
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._retry: list[_Item] = []
        self._connection: PoolProxiedConnection | None = None
        self.stats = WriterStats()
        self._started = False

    def start(self) -> None:
        """Start the writer thread (idempotent)."""
        if not self._started:
            self._started = True
            self._thread.start()

    def close(self, timeout: float = 10.0) -> None:
        """Flush what is queued, then stop the thread."""
        if self._started:
            self._queue.put(_STOP)
            self._thread.join(timeout)
            self._started = False
        if self._connection is not None:
            self._connection.close()
            self._connection = None

    async def write(self, op: WriteOp) -> Any:
        """Queue ``op`` and wait until its transaction has committed; returns what ``apply`` returned."""
        loop = asyncio.get_running_loop()
        future: asyncio.Future[Any] = loop.create_future()

        def done(result: Any, error: BaseException | None) -> None:
            loop.call_soon_threadsafe(_settle, future, result, error)

        self._queue.put(_Item(op, done))
        return await future

    def submit(self, op: WriteOp) -> None:
        """Queue ``op`` without waiting; it is retried until it commits."""
        self._queue.put(_Item(op, None))

    def flush(self, timeout: float = 10.0) -> None:
        """Block until everything queued before this call has committed (for tests and shutdown)."""
        marker = threading.Event()
        self._queue.put(_Item(_Noop(), lambda _r, _e: marker.set()))
        marker.wait(timeout)

    def _take(self, batch: list[_Item], block: bool, timeout: float | None) -> bool:
        """Move queued items into ``batch``; returns False once the stop sign was taken."""
        running = True
        try:
            item = self._queue.get(block, timeout)
        except queue.Empty:
            return True
        while True:
            if item is _STOP:
                running = False
            elif isinstance(item, _Item):
                batch.append(item)
            if len(batch) >= self._batch_max:
                return running
            try:
                item = self._queue.get_nowait()
            except queue.Empty:
                return running

    def _run(self) -> None:
        running = True
        while running or self._retry:
            batch: list[_Item] = self._retry
            self._retry = []
            running = self._take(batch, block=running, timeout=0.5 if batch else None) and running
            if running and batch and all(item.done is None for item in batch):
                running = self._take(batch, block=True, timeout=self._linger)
            if batch:
                self._commit(batch)
            if not running and self._retry:
                # Give failed writes a last few chances before the process exits.
                if all(item.attempts >= 5 for item in self._retry):
                    self.stats.lost += len(self._retry)
                    log.error("dropping %d writes that keep failing at shutdown", len(self._retry))
                    self._retry = []
                else:
                    time.sleep(0.2)

    def _commit(self, batch: list[_Item]) -> None:
        try:
            results = self._apply(batch)
        except Exception:
            self.stats.failures += 1
            log.exception("batched write of %d items failed; retrying one by one", len(batch))
            for item in batch:
                self._commit_single(item)
            return
        for item, result in zip(batch, results, strict=True):
            if item.done is not None:
                item.done(result, None)

    def _commit_single(self, item: _Item) -> None:
        try:
            (result,) = self._apply([item])
        except Exception as exc:
            item.attempts += 1
            if item.done is not None:
                item.done(None, exc)
            else:
                self._retry.append(item)
                self.stats.pending_retries = len(self._retry)
                time.sleep(min(0.05 * 2**item.attempts, 2.0))
            return
        if item.done is not None:
            item.done(result, None)

    def _apply(self, batch: list[_Item]) -> list[Any]:
        # The writer keeps one connection and drives its transactions through the driver directly:
        # SQLAlchemy's begin/commit bookkeeping cost as much as the writes themselves.
        if self._connection is None:
            self._connection = self._engine.raw_connection()
        dbapi = self._connection.driver_connection
        if dbapi is None:
            self._discard_connection()
            raise RuntimeError("the writer's database connection is closed")
        try:
            if self._sqlite:
                dbapi.execute("BEGIN IMMEDIATE")
            rows = Batch(dbapi, self._engine.dialect)
            results = [item.op.apply(rows) for item in batch]
            rows.flush()
            if self._sqlite:
                dbapi.execute("COMMIT")
            else:
                dbapi.commit()
        except BaseException:
            self._discard_connection()
            raise
        self.stats.transactions += 1
        self.stats.writes += len(batch)
        return results

    def _discard_connection(self) -> None:
        # After a failure the connection may be mid-transaction or broken; never reuse it.
        connection, self._connection = self._connection, None
        if connection is not None:
            try:
                connection.invalidate()
            except Exception:
                log.exception("could not discard the writer's database connection")


class _Noop:
    def apply(self, batch: Batch) -> None:
        return None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    # The awaiting request may have been cancelled (client went away); the write still happened.
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
