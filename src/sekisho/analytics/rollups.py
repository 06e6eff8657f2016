"""Rebuilding the daily roll-ups from the raw events, for bulk loads and repairs.

Day to day the roll-ups need no job: an insert trigger on ``usage_events`` adds each event to its
``usage_daily`` row in the same transaction. A bulk load that bypasses triggers (PostgreSQL's
``session_replication_role = replica`` with ``COPY``), or a repair, recomputes days here instead.
Run it while nothing writes the days it rebuilds: it replaces those days' roll-ups wholesale.
"""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

from sqlalchemy import Connection, Date, Engine, Table, case, cast, delete, func, insert, literal, select

from sekisho.store.tables_usage import ROLLUPS, usage_daily, usage_events
from sekisho.store.tx import write_transaction


def rebuild_daily(engine: Engine, start: date, end: date) -> int:
    """Recompute the roll-ups for the UTC days ``start``..``end`` (included): the full grain from
    the events, the others from the full grain. Returns the full-grain rows written.

    Days before the oldest raw event are left alone: retention removed their rows, so their
    roll-ups are the only record left and recomputing them would erase it."""
    e = usage_events
    with engine.connect() as conn:
        oldest = conn.execute(select(func.min(e.c.ts))).scalar()
    if oldest is None:
        return 0
    oldest_day = oldest.date() if oldest.tzinfo is None else oldest.astimezone(UTC).date()
    start = max(start, oldest_day)
    if start > end:
        return 0
    day = cast(e.c.day, Date) if engine.dialect.name == "postgresql" else e.c.day
    key = (
        e.c.org_id,
        day,
        e.c.project_id,
        func.coalesce(e.c.user_id, literal("")),
        func.coalesce(e.c.key_id, literal("")),
        e.c.model,
    )
    source = (
        select(
            *key,
            func.count(),
            func.sum(case((e.c.status_code >= 400, 1), else_=0)),
            func.sum(e.c.prompt_tokens),
            func.sum(e.c.completion_tokens),
            func.sum(e.c.cost_nanousd),
        )
        .where(e.c.day >= start.isoformat(), e.c.day <= end.isoformat())
        # The same window on ``ts`` lets PostgreSQL skip the partitions outside it.
        .where(e.c.ts >= _midnight(start), e.c.ts < _midnight(end + timedelta(days=1)))
        .group_by(*key)
    )
    columns = [c.name for c in usage_daily.columns]
    days = (usage_daily.c.day >= start) & (usage_daily.c.day <= end)
    with write_transaction(engine) as conn:
        for table in ROLLUPS:
            conn.execute(delete(table).where(table.c.day >= start, table.c.day <= end))
        conn.execute(insert(usage_daily).from_select(columns, source))
        for table in ROLLUPS:
            if table is not usage_daily:
                _coarsen(conn, table, start, end)
        # psycopg reports no row count for INSERT … SELECT through SQLAlchemy; count instead.
        return int(conn.execute(select(func.count()).select_from(usage_daily).where(days)).scalar_one())


def _coarsen(conn: Connection, table: Table, start: date, end: date) -> None:
    """Fill a coarser roll-up for the days from the full grain."""
    key = [usage_daily.c[c.name] for c in table.primary_key]
    sums = [func.sum(usage_daily.c[c.name]) for c in table.columns if not c.primary_key]
    source = select(*key, *sums).where(usage_daily.c.day >= start, usage_daily.c.day <= end).group_by(*key)
    conn.execute(insert(table).from_select([c.name for c in table.columns], source))


def _midnight(day: date) -> datetime:
    return datetime.combine(day, time(), tzinfo=UTC)
