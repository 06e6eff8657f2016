"""Per-person activity over a window: messages, errors, active days, tokens, cost, first and last day.

Everyone in scope is listed, including people with no activity: who has not started is half of
what an adoption report is for.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import Engine, func, select

from sekisho.analytics.people import Scope, load_directory, population
from sekisho.store.tables_usage import usage_daily_users


@dataclass(frozen=True, slots=True)
class UserActivity:
    """One person's activity in the window."""

    user_id: str
    email: str
    name: str
    groups: tuple[str, ...]  # group names
    requests: int
    errors: int
    active_days: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanousd: int
    first_active: date | None
    last_active: date | None


def user_activity(engine: Engine, scope: Scope, start: date, end: date) -> list[UserActivity]:
    """Everyone in ``scope``, busiest first (then by e-mail)."""
    t = usage_daily_users
    query = (
        select(
            t.c.user_id,
            func.sum(t.c.requests),
            func.sum(t.c.errors),
            func.count(func.distinct(t.c.day)),
            func.sum(t.c.prompt_tokens),
            func.sum(t.c.completion_tokens),
            func.sum(t.c.cost_nanousd),
            func.min(t.c.day),
            func.max(t.c.day),
        )
        .where(t.c.org_id == scope.org_id, t.c.day >= start, t.c.day <= end, t.c.user_id != "")
        .group_by(t.c.user_id)
    )
    if scope.projects is not None:
        query = query.where(t.c.project_id.in_(sorted(scope.projects)))
    with engine.connect() as conn:
        directory = load_directory(conn, scope.org_id)
        rows = {r[0]: r for r in conn.execute(query)}
        people = population(directory, conn, scope, rows)
    out = []
    for user_id in people:
        person = directory.people[user_id]
        shown = person.groups if scope.show_groups else ()
        names = tuple(sorted(directory.groups[g].name for g in shown if g in directory.groups))
        row = rows.get(user_id)
        if row is None:
            out.append(UserActivity(user_id, person.email, person.name, names, 0, 0, 0, 0, 0, 0, None, None))
            continue
        out.append(
            UserActivity(
                user_id,
                person.email,
                person.name,
                names,
                int(row[1]),
                int(row[2]),
                int(row[3]),
                int(row[4]),
                int(row[5]),
                int(row[6]),
                _day(row[7]),
                _day(row[8]),
            )
        )
    out.sort(key=lambda a: (-a.requests, a.email))
    return out


def _day(value: date | str) -> date:
    # min()/max() of a Date column come back as text on SQLite.
    return value if isinstance(value, date) else date.fromisoformat(value)
