"""Usage and cost queries: grouped by project, key, user, model and day, read from the daily roll-ups.

The roll-ups hold the same sums at three grains, kept current by the database in the transaction
that records each request (see ``store/tables_usage.py``), so these reports are exact. A report reads
the smallest grain that has every column it groups or filters by: its cost then grows with the
number of distinct projects and models, or people and keys, per day, not with the number of requests.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Engine, Table, func, select

from sekisho.store.tables_usage import usage_daily, usage_daily_models, usage_daily_users

GroupBy = Literal["project", "key", "user", "model", "day"]
_COLUMNS = {"project": "project_id", "key": "key_id", "user": "user_id", "model": "model", "day": "day"}


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Which usage to count. ``org_id`` None means every organisation (master key only).

    ``projects`` and ``users`` narrow to sets (a caller's projects, a group's members); None: no
    narrowing. ``start`` and ``end`` are UTC days, both included."""

    org_id: str | None
    project_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    model: str | None = None
    start: date | None = None
    end: date | None = None
    projects: frozenset[str] | None = None
    users: frozenset[str] | None = None


def usage_report(engine: Engine, where: UsageFilter, group_by: Sequence[GroupBy]) -> list[dict[str, Any]]:
    """Requests, errors, tokens and cost per group, ordered by the grouping columns.

    A request made without a user or key shows ``None`` in that column."""
    t = rollup_for(where, group_by)
    keys = [t.c[_COLUMNS[g]].label(g) for g in group_by]
    query = select(
        *keys,
        func.coalesce(func.sum(t.c.requests), 0).label("requests"),
        func.coalesce(func.sum(t.c.errors), 0).label("errors"),
        func.coalesce(func.sum(t.c.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(t.c.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(t.c.cost_nanousd), 0).label("cost_nanousd"),
    )
    filters = {
        "org_id": where.org_id,
        "project_id": where.project_id,
        "key_id": where.key_id,
        "user_id": where.user_id,
        "model": where.model,
    }
    for column, value in filters.items():
        if value is not None:
            query = query.where(t.c[column] == value)
    if where.projects is not None:
        query = query.where(t.c.project_id.in_(sorted(where.projects)))
    if where.users is not None:
        query = query.where(t.c.user_id.in_(sorted(where.users)))
    if where.start is not None:
        query = query.where(t.c.day >= where.start)
    if where.end is not None:
        query = query.where(t.c.day <= where.end)
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        item: dict[str, Any] = {}
        for g in group_by:
            value = row[g]
            if g == "day":
                value = value.isoformat()
            elif g in ("user", "key") and value == "":
                value = None
            item[g] = value
        prompt, completion, cost = (
            int(row["prompt_tokens"]),
            int(row["completion_tokens"]),
            int(row["cost_nanousd"]),
        )
        # With no grouping, an empty selection still gives one row of zeros: report no rows instead.
        if not group_by and not int(row["requests"]):
            continue
        item.update(
            requests=int(row["requests"]),
            errors=int(row["errors"]),
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cost_usd=cost / 1e9,
            cost_nanousd=cost,
        )
        out.append(item)
    return out


def rollup_for(where: UsageFilter, group_by: Sequence[GroupBy]) -> Table:
    """The smallest roll-up holding every column the report groups or filters by."""
    needed = {_COLUMNS[g] for g in group_by}
    filters = {
        "project_id": where.project_id is not None or where.projects is not None,
        "key_id": where.key_id is not None,
        "user_id": where.user_id is not None or where.users is not None,
        "model": where.model is not None,
    }
    needed |= {column for column, used in filters.items() if used}
    for table in (usage_daily_models, usage_daily_users):
        if needed <= set(table.c.keys()):
            return table
    return usage_daily
