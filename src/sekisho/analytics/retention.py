"""Retention of raw usage events: whole partitions dropped on PostgreSQL, batched deletes on SQLite.

Roll-ups are never touched, so reports over old days keep working after their rows are gone.
A run that removes anything is audited (``usage.retention``) in the transaction of its first
removal, so no row disappears without a record of the cut-off that removed it; a run with nothing
to remove leaves no record (replicas that all run the job would otherwise add one each, hourly).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import Connection, Engine, delete, func, select, text

from sekisho.analytics import partitions
from sekisho.audit import AuditEvent, AuditLog
from sekisho.store.tables_usage import usage_events
from sekisho.store.tx import write_transaction

ACTOR = "system:usage-retention"
# Rows per SQLite delete transaction: the writer thread waits for the lock meanwhile.
_SQLITE_CHUNK = 5000


@dataclass(frozen=True, slots=True)
class RetentionRun:
    """What one retention run removed."""

    cutoff: datetime
    partitions_dropped: tuple[str, ...]
    rows_deleted: int


def cutoff_for(now: datetime, days: int) -> datetime:
    """Midnight UTC ``days`` days before ``now``'s date: rows of earlier days go."""
    day: date = now.astimezone(UTC).date() - timedelta(days=days)
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def apply_retention(
    engine: Engine, audit: AuditLog, *, now: datetime, days: int, lock_timeout_ms: int = 2000
) -> RetentionRun | None:
    """Remove raw events older than the cut-off; None when there was nothing to remove."""
    cutoff = cutoff_for(now, days)
    if engine.dialect.name == "postgresql":
        return _drop_partitions(engine, audit, cutoff, days, lock_timeout_ms)
    return _delete_rows(engine, audit, cutoff, days)


def _event(cutoff: datetime, days: int, dropped: tuple[str, ...], rows: int) -> AuditEvent:
    return AuditEvent(
        "usage.retention",
        actor=ACTOR,
        data={
            "cutoff": cutoff.isoformat(),
            "retention_days": days,
            "partitions_dropped": ",".join(dropped) or None,
            "rows": rows,
        },
    )


def _drop_partitions(
    engine: Engine, audit: AuditLog, cutoff: datetime, days: int, lock_timeout_ms: int
) -> RetentionRun | None:
    with write_transaction(engine) as conn:
        partitions.lock(conn)
        old = [p for p in partitions.list_partitions(conn) if p.end <= cutoff]
        counts = {p.name: _count(conn, f'{partitions.SCHEMA}."{p.name}"', None) for p in old}
        strays = _count(conn, f"{partitions.SCHEMA}.{partitions.DEFAULT}", cutoff)
        if not old and not strays:
            return None
        dropped = tuple(p.name for p in old)
        # The audit append takes the audit chain's lock before the partitions' table locks: the
        # order the batch writer takes them in, so the two cannot deadlock.
        audit.append_in(conn, _event(cutoff, days, dropped, sum(counts.values()) + strays))
        for partition in old:
            partitions.drop(conn, partition, lock_timeout_ms)
        if strays:
            conn.execute(
                text(f"DELETE FROM {partitions.SCHEMA}.{partitions.DEFAULT} WHERE ts < :cutoff"),  # noqa: S608
                {"cutoff": cutoff},
            )
    return RetentionRun(cutoff, dropped, sum(counts.values()) + strays)


def _count(conn: Connection, table: str, before: datetime | None) -> int:
    where = " WHERE ts < :cutoff" if before is not None else ""
    # ``table`` is a partition name read from the catalogue or a constant, quoted by the caller.
    sql = f"SELECT count(*) FROM {table}{where}"  # noqa: S608
    return int(conn.execute(text(sql), {"cutoff": before} if before else {}).scalar_one())


def _delete_rows(engine: Engine, audit: AuditLog, cutoff: datetime, days: int) -> RetentionRun | None:
    old = usage_events.c.ts < cutoff
    with engine.connect() as conn:
        total = int(conn.execute(select(func.count()).select_from(usage_events).where(old)).scalar_one())
    if not total:
        return None
    deleted, first = 0, True
    while True:
        with write_transaction(engine) as conn:
            if first:
                audit.append_in(conn, _event(cutoff, days, (), total))
                first = False
            chunk = select(usage_events.c.id).where(old).limit(_SQLITE_CHUNK).scalar_subquery()
            count = conn.execute(delete(usage_events).where(usage_events.c.id.in_(chunk))).rowcount
        deleted += count
        if count < _SQLITE_CHUNK:
            return RetentionRun(cutoff, (), deleted)
