"""PostgreSQL partitions of ``usage_events``: one per calendar month (UTC), made ahead of time.

Why months: a month of events at the benchmark's rate (10 million in 90 days) is about 3.4 million
rows, small enough to index and to drop in one statement, while the number of partitions stays at
twelve a year even when retention is off (the default), so planning and locking a query that spans
them stays cheap. Retention is therefore exact to a month (a partition goes once all of it is older
than the cut-off); the daily roll-ups keep every day regardless.

A partition is made as a free-standing table, filled with any rows the default partition caught
for its month (inserts never fail for want of a partition: the default catches them), then
attached. Attaching takes a weaker lock on ``usage_events`` than ``CREATE TABLE … PARTITION OF`` (it
does not block inserts), and rows moved into a table before it is attached do not fire the
roll-up trigger a second time.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import UTC, datetime

from sqlalchemy import Connection, text

from sekisho.store.tables_usage import usage_events

SCHEMA = "usage_partitions"
DEFAULT = "usage_events_default"
# Any constant: the advisory lock that lets one replica at a time change the partitions.
LOCK_ID = 0x5EC1_0DA7

_BOUNDS = re.compile(r"FROM \('([^']+)'\) TO \('([^']+)'\)")
_COLUMNS = ", ".join(f'"{c.name}"' for c in usage_events.columns)


@dataclass(frozen=True, slots=True, order=True)
class Partition:
    """A partition holding ``start <= ts < end``."""

    start: datetime
    end: datetime
    name: str

    def overlaps(self, other: Partition) -> bool:
        """Whether the two ranges share any instant."""
        return self.start < other.end and other.start < self.end


def month_start(ts: datetime) -> datetime:
    """Midnight UTC on the first of ``ts``'s month."""
    ts = ts.astimezone(UTC)
    return datetime(ts.year, ts.month, 1, tzinfo=UTC)


def next_month(start: datetime) -> datetime:
    """The first of the following month."""
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def month_partition(start: datetime) -> Partition:
    """The partition for the month beginning at ``start``."""
    return Partition(start, next_month(start), f"usage_events_p{start:%Y_%m}")


def wanted(now: datetime, months_ahead: int) -> list[Partition]:
    """The current month's partition and ``months_ahead`` after it."""
    out, start = [], month_start(now)
    for _ in range(months_ahead + 1):
        out.append(month_partition(start))
        start = next_month(start)
    return out


def lock(conn: Connection) -> None:
    """Serialise partition changes across replicas, until the transaction ends."""
    conn.execute(text("SELECT pg_advisory_xact_lock(:id)"), {"id": LOCK_ID})


def list_partitions(conn: Connection) -> list[Partition]:
    """The bounded partitions of ``usage_events``, oldest first (the default partition is left out)."""
    # Bounds are rendered in the session's time zone; UTC makes them parse the same everywhere.
    conn.execute(text("SET LOCAL TimeZone = 'UTC'"))
    rows = conn.execute(
        text(
            "SELECT c.relname, pg_get_expr(c.relpartbound, c.oid) FROM pg_inherits i "
            "JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'usage_events'::regclass"
        )
    ).all()
    out = []
    for name, bound in rows:
        match = _BOUNDS.search(bound or "")
        if match is not None:
            start, end = (datetime.fromisoformat(v).astimezone(UTC) for v in match.groups())
            out.append(Partition(start, end, str(name)))
    return sorted(out)


def create(conn: Connection, partition: Partition, lock_timeout_ms: int) -> int:
    """Make and attach ``partition``, moving in the default partition's rows for its range.

    Returns how many rows were moved. The caller holds the advisory lock and commits."""
    table = f'{SCHEMA}."{partition.name}"'
    bounds = {"lo": partition.start, "hi": partition.end}
    conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
    conn.execute(text(f"CREATE TABLE {table} (LIKE usage_events)"))
    moved = conn.execute(
        text(
            f"WITH moved AS (DELETE FROM {SCHEMA}.{DEFAULT} WHERE ts >= :lo AND ts < :hi "  # noqa: S608
            f"RETURNING {_COLUMNS}) INSERT INTO {table} ({_COLUMNS}) SELECT {_COLUMNS} FROM moved"
        ),
        bounds,
    ).rowcount
    # DDL takes no parameters; the bounds are datetimes computed here, rendered as ISO literals.
    conn.execute(
        text(
            f"ALTER TABLE usage_events ATTACH PARTITION {table} "
            f"FOR VALUES FROM ('{partition.start.isoformat()}') TO ('{partition.end.isoformat()}')"
        )
    )
    return int(moved or 0)


def drop(conn: Connection, partition: Partition, lock_timeout_ms: int) -> None:
    """Drop ``partition`` with its rows (the roll-ups are not touched)."""
    conn.execute(text(f"SET LOCAL lock_timeout = {int(lock_timeout_ms)}"))
    conn.execute(text(f'DROP TABLE {SCHEMA}."{partition.name}"'))
