"""Settled spend made durable: ``budget_spend`` rows, written in batches off the request path.

Settlements add to an in-process tally; every ``flush_seconds`` one write transaction adds the
tally to ``budget_spend`` (an upsert, so replicas add to the same rows without losing each other's
increments) and records the alert thresholds crossed by the new totals in the same transaction.
A batch that fails (the database is away) is kept and retried; a budget deleted meanwhile is dropped.
What a process settled but had not flushed when it was killed is the one thing a crash can lose
from the durable record; Redis keeps counting it for the period (see docs/budgets.md).
"""

from __future__ import annotations

import asyncio
import logging
import threading
from collections.abc import Callable, Collection
from contextlib import suppress
from dataclasses import dataclass

import anyio.to_thread
from sqlalchemy import Connection, Engine
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.exc import IntegrityError

from sekisho.clock import utcnow
from sekisho.limits.alerts import AlertWriter, Fired
from sekisho.limits.backend import BackendUnavailable
from sekisho.limits.model import Budget
from sekisho.limits.periods import Period
from sekisho.limits.store import LimitStore
from sekisho.store.tables_budgets import budget_spend
from sekisho.store.tx import write_transaction

log = logging.getLogger("sekisho.limits")


@dataclass(slots=True)
class _Tally:
    budget: Budget
    period: Period
    amount: int


class SpendLedger:
    """Batches settled spend into ``budget_spend`` and fires alerts."""

    def __init__(
        self,
        engine: Engine,
        store: LimitStore,
        alerts: AlertWriter,
        *,
        interval: float = 1.0,
        on_email: Callable[[], None] | None = None,
    ) -> None:
        self._engine = engine
        self._store = store
        self._alerts = alerts
        self._interval = interval
        self._on_email = on_email
        self._pending: dict[tuple[str, str], _Tally] = {}
        # The batch being written: still counted by pending() until its transaction has committed.
        self._writing: dict[tuple[str, str], int] = {}
        self._lock = threading.Lock()
        # One flush at a time: the timer's and an explicit one (start-up, shutdown, a rebuild).
        self._flushing = threading.Lock()
        self._task: asyncio.Task[None] | None = None

    def add(self, budget: Budget, period: Period, amount: int) -> None:
        """Count ``amount`` of settled spend (written at the next flush)."""
        if amount <= 0:
            return
        key = (budget.id, period.start)
        with self._lock:
            tally = self._pending.get(key)
            if tally is None:
                self._pending[key] = _Tally(budget, period, amount)
            else:
                tally.amount += amount

    def pending(self, key: tuple[str, str]) -> int:
        """Spend settled here and not yet written for one (budget id, period start)."""
        with self._lock:
            tally = self._pending.get(key)
            return (tally.amount if tally else 0) + self._writing.get(key, 0)

    async def spent(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Durable spend plus what this process has not written yet (the backends' SpentSource).

        The unwritten part is read first: a batch committing in between is then counted twice
        (which errs towards refusing) rather than not at all (which would let spend through).
        """
        unwritten = {key: self.pending(key) for key in keys}
        try:
            durable = await anyio.to_thread.run_sync(self._store.spent, list(keys))
        except Exception as exc:  # the database is away: counters cannot be (re)built now
            raise BackendUnavailable(f"budget_spend cannot be read: {type(exc).__name__}") from exc
        return {key: value + unwritten[key] for key, value in durable.items()}

    def flush(self) -> int:
        """Write the tally now (blocking; run it in a thread). Returns how many rows changed."""
        with self._flushing:
            with self._lock:
                batch, self._pending = list(self._pending.values()), {}
                self._writing = {(t.budget.id, t.period.start): t.amount for t in batch}
            if not batch:
                return 0
            try:
                fired = self._write(batch)
            except IntegrityError:
                # A budget was deleted since its spend was counted: write the rest one by one.
                fired = []
                for tally in batch:
                    try:
                        fired += self._write([tally])
                    except IntegrityError:
                        log.info("dropping spend of deleted budget %s", tally.budget.id)
            except Exception:
                with self._lock:
                    self._writing = {}
                    for tally in batch:
                        self._merge(tally)
                raise
            with self._lock:
                self._writing = {}
            self._alerts.remember(fired)
            if self._on_email is not None and any(f.emails for f in fired):
                self._on_email()
            return len(batch)

    def _merge(self, tally: _Tally) -> None:
        key = (tally.budget.id, tally.period.start)
        current = self._pending.get(key)
        if current is None:
            self._pending[key] = tally
        else:
            current.amount += tally.amount

    def _write(self, batch: list[_Tally]) -> list[Fired]:
        fired: list[Fired] = []
        with write_transaction(self._engine) as conn:
            for tally in sorted(batch, key=lambda t: (t.budget.id, t.period.start)):
                total = _add_spend(conn, tally.budget.id, tally.period.start, tally.amount)
                fired += self._alerts.crossed_in(conn, tally.budget, tally.period, total)
        return fired

    def start(self) -> None:
        """Flush every ``interval`` seconds on the running loop."""
        if self._task is None:
            self._task = asyncio.get_running_loop().create_task(self._run(), name="sekisho-spend-ledger")

    async def _run(self) -> None:
        while True:
            await asyncio.sleep(self._interval)
            try:
                await anyio.to_thread.run_sync(self.flush)
            except Exception as exc:  # the database may be away for a moment; the tally is kept
                log.warning("writing settled spend failed (kept for the next try): %s", type(exc).__name__)

    async def aclose(self) -> None:
        """Stop the timer and write what is left."""
        task, self._task = self._task, None
        if task is not None:
            task.cancel()
            with suppress(asyncio.CancelledError):
                await task
        try:
            await anyio.to_thread.run_sync(self.flush)
        except Exception:
            log.exception("settled spend could not be written at shutdown")


def _add_spend(conn: Connection, budget_id: str, period: str, amount: int) -> int:
    """Add ``amount`` to a (budget, period) row, creating it; returns the new total."""
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    insert = dialect.insert(budget_spend).values(
        budget_id=budget_id, period_start=period, spent=amount, updated_at=utcnow()
    )
    statement = insert.on_conflict_do_update(
        index_elements=[budget_spend.c.budget_id, budget_spend.c.period_start],
        set_={
            "spent": budget_spend.c.spent + insert.excluded.spent,
            "updated_at": insert.excluded.updated_at,
        },
    ).returning(budget_spend.c.spent)
    return int(conn.execute(statement).scalar_one())
