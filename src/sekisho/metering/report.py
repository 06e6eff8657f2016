"""Usage and cost queries for the admin API: grouped by project, key, user, model and day."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date
from typing import Any, Literal

from sqlalchemy import Engine, func, select

from sekisho.store.tables import usage_events

GroupBy = Literal["project", "key", "user", "model", "day"]
_COLUMNS = {
    "project": usage_events.c.project_id,
    "key": usage_events.c.key_id,
    "user": usage_events.c.user_id,
    "model": usage_events.c.model,
    "day": usage_events.c.day,
}


@dataclass(frozen=True, slots=True)
class UsageFilter:
    """Which usage to count. ``org_id`` None means every organisation (master key only)."""

    org_id: str | None
    project_id: str | None = None
    key_id: str | None = None
    user_id: str | None = None
    model: str | None = None
    start: date | None = None
    end: date | None = None


def usage_report(engine: Engine, where: UsageFilter, group_by: Sequence[GroupBy]) -> list[dict[str, Any]]:
    """Requests, tokens and cost (USD) per group, ordered by the grouping columns."""
    keys = [_COLUMNS[g].label(g) for g in group_by]
    query = select(
        *keys,
        func.count().label("requests"),
        func.coalesce(func.sum(usage_events.c.prompt_tokens), 0).label("prompt_tokens"),
        func.coalesce(func.sum(usage_events.c.completion_tokens), 0).label("completion_tokens"),
        func.coalesce(func.sum(usage_events.c.cost_nanousd), 0).label("cost_nanousd"),
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
            query = query.where(usage_events.c[column] == value)
    if where.start is not None:
        query = query.where(usage_events.c.day >= where.start.isoformat())
    if where.end is not None:
        query = query.where(usage_events.c.day <= where.end.isoformat())
    if keys:
        query = query.group_by(*keys).order_by(*keys)
    with engine.connect() as conn:
        rows = conn.execute(query).mappings().all()
    out = []
    for row in rows:
        item: dict[str, Any] = {g: row[g] for g in group_by}
        prompt, completion = int(row["prompt_tokens"]), int(row["completion_tokens"])
        item.update(
            requests=int(row["requests"]),
            prompt_tokens=prompt,
            completion_tokens=completion,
            total_tokens=prompt + completion,
            cost_usd=int(row["cost_nanousd"]) / 1e9,
        )
        out.append(item)
    return out
