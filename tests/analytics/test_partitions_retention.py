"""Partitions made ahead of time (and strays caught by the default partition moved in), and
retention that drops whole partitions on PostgreSQL and deletes rows on SQLite, with a moving clock.
The roll-ups survive both (issue 7)."""

from __future__ import annotations

import json
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import Connection, func, select, text

from sekisho.analytics import partitions
from sekisho.analytics.maintenance import UsageMaintenance
from sekisho.analytics.settings import UsageDataSettings
from sekisho.store.tables import audit_log
from sekisho.store.tables_usage import usage_daily, usage_events
from tests.analytics.conftest import ANALYTICS, Served, event


class Clock:
    """A clock the test moves."""

    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def _months_after(start: datetime, n: int) -> datetime:
    for _ in range(n):
        start = partitions.next_month(start)
    return start


def _maintenance(served: Served, clock: Clock, **settings: Any) -> UsageMaintenance:
    return UsageMaintenance(served.core.engine, served.core.audit, UsageDataSettings(**settings), clock=clock)


def _where(conn: Connection, request_id: str) -> str:
    """The partition (table) holding an event."""
    return str(
        conn.execute(
            text("SELECT tableoid::regclass::text FROM usage_events WHERE request_id = :r"), {"r": request_id}
        ).scalar_one()
    )


def _rollups(served: Served) -> list[tuple[Any, ...]]:
    with served.core.engine.connect() as conn:
        return [tuple(r) for r in conn.execute(select(usage_daily).order_by(*usage_daily.primary_key))]


def _retention_records(served: Served) -> list[dict[str, Any]]:
    with served.core.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.record).where(audit_log.c.kind == "usage.retention").order_by(audit_log.c.seq)
        ).scalars()
        return [json.loads(r) for r in rows]


def test_partitions_are_made_ahead_and_strays_moved_in(serve: Callable[..., Any], database_url: str) -> None:
    if database_url.startswith("sqlite"):
        pytest.skip("SQLite keeps one unpartitioned table")
    with serve({"usage_data": {"maintenance": False}}) as served:
        engine = served.core.engine
        # Two years out, beyond what the migration made, so every partition here is the job's.
        month = _months_after(partitions.month_start(datetime.now(UTC)), 24)
        clock = Clock(month + timedelta(days=14))
        maintenance = _maintenance(served, clock, partition_months_ahead=2)
        created, moved = maintenance.ensure_partitions()
        names = [partitions.month_partition(_months_after(month, i)).name for i in range(3)]
        assert created == tuple(names) and moved == 0
        with engine.connect() as conn:
            assert set(names) <= {p.name for p in partitions.list_partitions(conn)}
        assert maintenance.ensure_partitions() == ((), 0)  # idempotent

        org = served.core.tenancy.ensure_default_org()
        project = served.core.tenancy.get_project("default", org.id)
        inside = event(month + timedelta(days=20), org.id, project.id, None, None)
        # Five months out there is no partition yet: the default partition takes the row.
        stray_month = _months_after(month, 5)
        stray = event(stray_month + timedelta(days=3, hours=5), org.id, project.id, None, None)
        served.record([inside, stray])
        with engine.connect() as conn:
            assert _where(conn, inside.request_id) == f"{partitions.SCHEMA}.{names[0]}"
            assert _where(conn, stray.request_id) == f"{partitions.SCHEMA}.{partitions.DEFAULT}"
        before = _rollups(served)

        # The clock reaches that month: its partition is made and the stray moves in.
        clock.now = stray_month + timedelta(days=1)
        created, moved = maintenance.ensure_partitions()
        assert created[0] == partitions.month_partition(stray_month).name and moved == 1
        with engine.connect() as conn:
            assert _where(conn, stray.request_id) == f"{partitions.SCHEMA}.{created[0]}"
            assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 2
        assert _rollups(served) == before  # moving a row does not count it again


def test_retention_drops_old_data_and_keeps_rollups(serve: Callable[..., Any], database_url: str) -> None:
    with serve({"usage_data": {"maintenance": False}}) as served:
        engine = served.core.engine
        # Half a year back: clear of the partitions the migration made for this month onwards.
        month = partitions.month_start(datetime.now(UTC))
        for _ in range(6):
            month = partitions.month_start(month - timedelta(days=1))
        clock = Clock(month)
        maintenance = _maintenance(served, clock, retention_days=30)
        maintenance.ensure_partitions()  # months m, m+1, m+2
        org = served.core.tenancy.ensure_default_org()
        project = served.core.tenancy.get_project("default", org.id)
        old = event(month + timedelta(days=9), org.id, project.id, None, None, prompt=1)
        recent = event(_months_after(month, 1) + timedelta(days=24), org.id, project.id, None, None, prompt=2)
        newest = event(_months_after(month, 2) + timedelta(days=4), org.id, project.id, None, None, prompt=4)
        served.record([old, recent, newest])
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 3

        # Nothing is 30 days old yet.
        clock.now = month + timedelta(days=20)
        assert maintenance.run_once().retention is None
        assert _retention_records(served) == []

        # 30 days before the 15th of month m+2 is mid m+1: month m goes, m+1 stays (it is not all
        # past the cut-off, and on SQLite its one row is newer than the cut-off anyway).
        clock.now = _months_after(month, 2) + timedelta(days=14)
        run = maintenance.run_once().retention
        assert run is not None and run.rows_deleted == 1
        assert run.cutoff == datetime.combine(clock.now.date() - timedelta(days=30), datetime.min.time(), UTC)
        if engine.dialect.name == "postgresql":
            assert run.partitions_dropped == (partitions.month_partition(month).name,)
            with engine.connect() as conn:
                left = {p.name for p in partitions.list_partitions(conn)}
            assert partitions.month_partition(month).name not in left
            assert partitions.month_partition(_months_after(month, 1)).name in left
        with engine.connect() as conn:
            remaining = set(conn.execute(select(usage_events.c.request_id)).scalars())
        assert remaining == {recent.request_id, newest.request_id}

        # The run is on the record, once.
        (record,) = _retention_records(served)
        assert record["actor"] == "system:usage-retention"
        assert record["data"]["rows"] == 1 and record["data"]["retention_days"] == 30
        assert maintenance.run_once().retention is None
        assert len(_retention_records(served)) == 1

        # Reports still see the dropped month through the roll-ups.
        body = served.ok(
            f"{ANALYTICS}/usage",
            group_by="day",
            start=month.date().isoformat(),
            end=_months_after(month, 3).date().isoformat(),
        )
        assert [r["prompt_tokens"] for r in body["data"]] == [1, 2, 4]
        assert served.ok("/admin/v1/audit/verify")["ok"] is True


def test_retention_is_off_by_default(serve: Callable[..., Any]) -> None:
    with serve() as served:
        org = served.core.tenancy.ensure_default_org()
        project = served.core.tenancy.get_project("default", org.id)
        served.record([event(datetime.now(UTC) - timedelta(days=4000), org.id, project.id, None, None)])
        clock = Clock(datetime.now(UTC))
        assert _maintenance(served, clock).run_once().retention is None
        with served.core.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 1


def test_the_running_app_makes_partitions_and_applies_retention(
    serve: Callable[..., Any], database_url: str
) -> None:
    config = {"usage_data": {"retention_days": 30, "maintenance_interval_seconds": 0.1}}
    ahead = partitions.month_partition(_months_after(partitions.month_start(datetime.now(UTC)), 2))
    with serve({"usage_data": {"maintenance": False}}) as served:
        engine = served.core.engine
        org = served.core.tenancy.ensure_default_org()
        project = served.core.tenancy.get_project("default", org.id)
        served.record([event(datetime.now(UTC) - timedelta(days=400), org.id, project.id, None, None)])
        if engine.dialect.name == "postgresql":
            with engine.begin() as conn:
                conn.execute(text(f'DROP TABLE {partitions.SCHEMA}."{ahead.name}"'))
    # Started again on the same database, with the job on: start-up remakes the missing partition,
    # and the periodic pass removes the 400-day-old event.
    with serve(config) as served:
        engine = served.core.engine
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                assert ahead.name in {p.name for p in partitions.list_partitions(conn)}
        deadline = datetime.now(UTC) + timedelta(seconds=30)
        while _retention_records(served) == [] and datetime.now(UTC) < deadline:
            time.sleep(0.05)
        (record,) = _retention_records(served)
        assert record["data"]["rows"] == 1
        with engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == 0
