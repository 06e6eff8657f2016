"""Adoption figures from the daily roll-ups: weekly active users, activation, messages per active user.

Definitions (``docs/analytics.md`` has them with examples):

* A week is an ISO week, Monday to Sunday, UTC. The last week of a report may be partial.
* A message is a request to the gateway, whatever its endpoint or outcome.
* A person is *active* in a week when they sent at least one message in it; weekly active users
  (WAU) counts them. ``wau_rate`` is WAU over the people in scope.
* *Activated* people sent at least one message in the report's window; the activation rate is
  activated over the people in scope.
* Messages per WAU is the week's messages by people in scope over that week's WAU.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Set
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import ColumnElement, Connection, Date, Engine, Integer, cast, extract, func, select

from sekisho.analytics.people import Directory, Scope, load_directory, population
from sekisho.store.tables_usage import usage_daily_users


@dataclass(frozen=True, slots=True)
class WeekStats:
    """One week's adoption over a set of people."""

    week_start: date
    days: int  # days of the week inside the report (7 except for a partial last week)
    users: int
    weekly_active_users: int
    wau_rate: float | None
    messages: int
    messages_per_wau: float | None


@dataclass(frozen=True, slots=True)
class Summary:
    """Adoption over the whole window."""

    users: int
    activated_users: int
    activation_rate: float | None
    messages: int
    average_wau: float | None


@dataclass(frozen=True, slots=True)
class GroupAdoption:
    """One group's figures."""

    group_id: str
    name: str
    summary: Summary
    weeks: list[WeekStats]


@dataclass(frozen=True, slots=True)
class Adoption:
    """An adoption report: the scope's figures, week by week, and the same per group."""

    start: date
    end: date
    summary: Summary
    weeks: list[WeekStats]
    groups: list[GroupAdoption]


def monday(day: date) -> date:
    """The Monday starting ``day``'s ISO week."""
    return day - timedelta(days=day.weekday())


def week_of(conn: Connection) -> ColumnElement[date]:
    """SQL for the Monday of ``usage_daily.day``'s week, on this connection's database."""
    day = usage_daily_users.c.day
    if conn.dialect.name == "postgresql":
        # date - integer is a date; ISODOW is 1 on Monday.
        return (day - (cast(extract("isodow", day), Integer) - 1)).label("week")
    # SQLite keeps dates as 'YYYY-MM-DD' text: back six days, then forward to the next Monday.
    return func.date(day, "-6 days", "weekday 1", type_=Date).label("week")


def weekly_activity(conn: Connection, scope: Scope, start: date, end: date) -> dict[tuple[str, date], int]:
    """Messages per (user, week) between ``start`` and ``end`` (UTC days, included)."""
    t = usage_daily_users
    week = week_of(conn)
    query = (
        select(t.c.user_id, week, func.sum(t.c.requests))
        .where(t.c.org_id == scope.org_id, t.c.day >= start, t.c.day <= end, t.c.user_id != "")
        .group_by(t.c.user_id, week)
    )
    if scope.projects is not None:
        query = query.where(t.c.project_id.in_(sorted(scope.projects)))
    out: dict[tuple[str, date], int] = {}
    for user_id, week_start, messages in conn.execute(query):
        # SQLite hands back the text; the Date type parses it only for plain columns.
        ws = week_start if isinstance(week_start, date) else date.fromisoformat(week_start)
        out[(user_id, ws)] = int(messages)
    return out


def adoption_report(engine: Engine, scope: Scope, *, weeks: int, end: date) -> Adoption:
    """Adoption over the ``weeks`` ISO weeks ending with the one holding ``end``.

    ``groups`` breaks the figures down by the organisation's groups (empty when ``scope`` names one,
    or may not show them)."""
    first = monday(end) - timedelta(weeks=weeks - 1)
    week_starts = [first + timedelta(weeks=i) for i in range(weeks)]
    with engine.connect() as conn:
        directory = load_directory(conn, scope.org_id)
        activity = weekly_activity(conn, scope, first, end)
        people = population(directory, conn, scope, {u for u, _ in activity})
    by_user: dict[str, dict[date, int]] = defaultdict(dict)
    for (user_id, week_start), messages in activity.items():
        if user_id in people:
            by_user[user_id][week_start] = messages
    summary, series = _figures(people, by_user, week_starts, end)
    by_group = scope.show_groups and scope.group_id is None
    groups = _by_group(directory, people, by_user, week_starts, end) if by_group else []
    return Adoption(first, end, summary, series, groups)


def _by_group(
    directory: Directory,
    people: set[str],
    by_user: dict[str, dict[date, int]],
    week_starts: list[date],
    end: date,
) -> list[GroupAdoption]:
    out = []
    for group in directory.groups.values():
        members = directory.members_of(group.id) & people
        summary, series = _figures(members, by_user, week_starts, end)
        out.append(GroupAdoption(group.id, group.name, summary, series))
    return out


def _figures(
    members: Set[str], by_user: dict[str, dict[date, int]], week_starts: list[date], end: date
) -> tuple[Summary, list[WeekStats]]:
    series = []
    for week_start in week_starts:
        counts = [by_user[u][week_start] for u in members if week_start in by_user.get(u, {})]
        wau, messages = len(counts), sum(counts)
        days = min(7, (end - week_start).days + 1)
        series.append(
            WeekStats(
                week_start,
                days,
                len(members),
                wau,
                _ratio(wau, len(members)),
                messages,
                _ratio(messages, wau),
            )
        )
    activated = sum(1 for u in members if by_user.get(u))
    summary = Summary(
        len(members),
        activated,
        _ratio(activated, len(members)),
        sum(w.messages for w in series),
        _ratio(sum(w.weekly_active_users for w in series), len(series)),
    )
    return summary, series


def _ratio(part: int, whole: int) -> float | None:
    return round(part / whole, 4) if whole else None
