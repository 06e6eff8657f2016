"""The dashboard queries, timed on the roll-ups (Sekisho's own code, as the API runs it) and on the raw
events (the same figures straight from ``usage_events``, the way a per-request spend table is read)."""

from __future__ import annotations

import statistics
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from datetime import time as dtime
from typing import Any

import httpx
from sqlalchemy import Engine, text

from sekisho.analytics.adoption import adoption_report, monday
from sekisho.analytics.people import Scope
from sekisho.analytics.usage import labelled_usage
from sekisho.metering.report import UsageFilter

_TOTALS = (
    "count(*) AS requests, count(*) FILTER (WHERE status_code >= 400) AS errors, "
    "sum(prompt_tokens) AS prompt_tokens, sum(completion_tokens) AS completion_tokens, "
    "sum(cost_nanousd) AS cost_nanousd"
)
_RAW_GROUPED = (
    "SELECT {column}, " + _TOTALS + " FROM usage_events "
    "WHERE org_id = :org AND ts >= :start AND ts < :end GROUP BY {column} ORDER BY {column}"
)
# Weekly active users: distinct people per ISO week, counted as (person, week) groups (PostgreSQL
# hashes those; COUNT(DISTINCT) would sort every row instead).
_RAW_WAU = (
    "SELECT week, count(*) FROM (SELECT user_id, (ts AT TIME ZONE 'UTC')::date "
    "- (extract(isodow FROM ts AT TIME ZONE 'UTC')::int - 1) AS week FROM usage_events "
    "WHERE org_id = :org AND ts >= :start AND ts < :end AND user_id IS NOT NULL "
    "GROUP BY user_id, week) w GROUP BY week ORDER BY week"
)
_ROLLUP_WAU = (
    "SELECT week, count(*) FROM (SELECT user_id, day - (extract(isodow FROM day)::int - 1) AS week "
    "FROM usage_daily_users WHERE org_id = :org AND day >= :start AND day <= :end AND user_id <> '' "
    "GROUP BY user_id, week) w GROUP BY week ORDER BY week"
)


@dataclass(frozen=True)
class Query:
    """One dashboard question, answered three ways."""

    name: str
    rollup: Callable[[], object]
    raw: Callable[[], object] | None
    http: Callable[[], object] | None


def dashboard(engine: Engine, client: httpx.Client | None, org: str, today: date) -> list[Query]:
    """The four dashboard queries of issue 7 (last 30 days by project, model, user; weekly active users)."""
    start = today - timedelta(days=29)
    window = {"org": org, "start": _midnight(start), "end": _midnight(today + timedelta(days=1))}
    first_week = monday(today) - timedelta(weeks=11)
    weeks = {"org": org, "start": _midnight(first_week), "end": _midnight(today + timedelta(days=1))}

    def rows(sql: str, params: dict[str, Any]) -> Callable[[], object]:
        def run() -> object:
            with engine.connect() as conn:
                return conn.execute(text(sql), params).all()

        return run

    def usage(group: str) -> Callable[[], object]:
        where = UsageFilter(org, start=start, end=today)
        return lambda: labelled_usage(engine, where, [group])  # type: ignore[list-item]

    def endpoint(path: str, **params: Any) -> Callable[[], object] | None:
        if client is None:
            return None

        def get() -> object:
            response = client.get(path, params={"org_id": org, **params})
            response.raise_for_status()
            return response.content

        return get

    analytics = "/admin/v1/analytics"
    window_params = {"start": start.isoformat(), "end": today.isoformat()}
    out = [
        Query(
            f"30 days by {group}",
            usage(group),
            rows(_RAW_GROUPED.format(column=column), window),
            endpoint(f"{analytics}/usage", group_by=group, **window_params),
        )
        for group, column in (("project", "project_id"), ("model", "model"), ("user", "user_id"))
    ]
    out.append(
        Query(
            "weekly active users, 12 weeks",
            rows(_ROLLUP_WAU, {"org": org, "start": first_week, "end": today}),
            rows(_RAW_WAU, weeks),
            None,
        )
    )
    # What the adoption dashboard shows: WAU, activation and messages per WAU, for the org and
    # for each of its groups, week by week.
    out.append(
        Query(
            "adoption report, 12 weeks (WAU, activation, by group)",
            lambda: adoption_report(engine, Scope(org), weeks=12, end=today),
            None,
            endpoint(f"{analytics}/adoption", weeks=12, end=today.isoformat()),
        )
    )
    return out


def _midnight(day: date) -> datetime:
    return datetime.combine(day, dtime(), tzinfo=UTC)


def timings(fn: Callable[[], object], *, warmup: int, repeat: int) -> dict[str, float]:
    """Median and p95 wall time in milliseconds over ``repeat`` runs after ``warmup`` runs."""
    for _ in range(warmup):
        fn()
    samples = []
    for _ in range(repeat):
        started = time.perf_counter()
        fn()
        samples.append((time.perf_counter() - started) * 1000)
    samples.sort()
    p95 = samples[min(len(samples) - 1, max(0, round(0.95 * len(samples)) - 1))]
    return {"median_ms": round(statistics.median(samples), 2), "p95_ms": round(p95, 2), "runs": repeat}
