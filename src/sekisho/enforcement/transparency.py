"""The transparency report: what enforcement did in a period, in counts only (no user content).

Violations by category, actions by kind (automatic and manual, and how many were lifted), appeals by
outcome, and — when the review queue exists — held requests by status and category.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import ColumnElement, Engine, Table, func, inspect, select

from sekisho.enforcement.models import AUTO_PREFIX
from sekisho.store.tables import appeals, enforcement_actions, review_items, violations


def transparency_report(
    engine: Engine, since: datetime, until: datetime, org_id: str | None
) -> dict[str, Any]:
    """Counts for ``since <= time < until`` in ``org_id`` (None: every organisation)."""
    if until <= since:
        raise ValueError("'until' must be after 'since'")
    with engine.connect() as conn:

        def counts(table: Table, when: ColumnElement[Any], *by: ColumnElement[Any]) -> list[tuple[Any, ...]]:
            query = select(*by, func.count()).where(when >= since, when < until).group_by(*by)
            if org_id is not None:
                query = query.where(table.c.org_id == org_id)
            return [tuple(r) for r in conn.execute(query)]

        by_category = {
            c or "unknown": n for c, n in counts(violations, violations.c.ts, violations.c.category)
        }
        a = enforcement_actions.c
        automatic = a.created_by.startswith(AUTO_PREFIX)
        by_action: dict[str, dict[str, int]] = {}
        for action, auto, n in counts(enforcement_actions, a.created_at, a.action, automatic):
            entry = by_action.setdefault(action, {"total": 0, "automatic": 0, "manual": 0, "lifted": 0})
            entry["total"] += n
            entry["automatic" if auto else "manual"] += n
        for action, n in counts(enforcement_actions, a.lifted_at, a.action):
            by_action.setdefault(action, {"total": 0, "automatic": 0, "manual": 0, "lifted": 0})[
                "lifted"
            ] += n
        by_outcome = dict(counts(appeals, appeals.c.created_at, appeals.c.status))
        review: dict[str, Any] | None = None
        if inspect(conn).has_table(review_items.name):
            r = review_items.c
            review = {
                "by_status": dict(counts(review_items, r.created_at, r.status)),
                "by_category": {c or "unknown": n for c, n in counts(review_items, r.created_at, r.category)},
            }
    return {
        "org_id": org_id,
        "since": since.isoformat(),
        "until": until.isoformat(),
        "violations": {"total": sum(by_category.values()), "by_category": dict(sorted(by_category.items()))},
        "actions": {"total": sum(e["total"] for e in by_action.values()), "by_action": by_action},
        "appeals": {
            "total": sum(by_outcome.values()),
            "by_outcome": {s: by_outcome.get(s, 0) for s in ("open", "upheld", "overturned")},
        },
        "review_queue": review,
    }
