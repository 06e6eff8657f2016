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

from sqlalchemy import Connection, Engine

from sekisho.store.tx import write_transaction

log = logging.getLogger("sekisho.store")


class WriteOp(Protocol):
    """A write that runs inside the writer's transaction."""

    def apply(self, conn: Connection, scratch: dict[str, Any]) -> Any:
        """Perform the write. ``scratch`` lives for one transaction (e.g. the audit chain head)."""


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

    def __init__(self, engine: Engine, *, batch_max: int = 256, name: str = "sekisho-writer") -> None:
        self._engine = engine
        self._batch_max = batch_max
        self._queue: queue.SimpleQueue[_Item | object] = queue.SimpleQueue()
        self._thread = threading.Thread(target=self._run, name=name, daemon=True)
        self._retry: list[_Item] = []
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

    def _run(self) -> None:
        stopping = False
        while not stopping or self._retry:
            batch: list[_Item] = []
            try:
                first = self._queue.get(timeout=0.5 if self._retry else None)
            except queue.Empty:
                first = None
            if first is _STOP:
                stopping = True
            elif isinstance(first, _Item):
                batch.append(first)
            while len(batch) < self._batch_max:
                try:
                    nxt = self._queue.get_nowait()
                except queue.Empty:
                    break
                if nxt is _STOP:
                    stopping = True
                elif isinstance(nxt, _Item):
                    batch.append(nxt)
            if self._retry:
                batch = self._retry + batch
                self._retry = []
            if batch:
                self._commit(batch)
            if stopping and self._retry:
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
        scratch: dict[str, Any] = {}
        with write_transaction(self._engine) as conn:
            results = [item.op.apply(conn, scratch) for item in batch]
        self.stats.transactions += 1
        self.stats.writes += len(batch)
        return results


class _Noop:
    def apply(self, conn: Connection, scratch: dict[str, Any]) -> None:
        return None


def _settle(future: asyncio.Future[Any], result: Any, error: BaseException | None) -> None:
    # The awaiting request may have been cancelled (client went away); the write still happened.
    if future.done():
        return
    if error is not None:
        future.set_exception(error)
    else:
        future.set_result(result)
