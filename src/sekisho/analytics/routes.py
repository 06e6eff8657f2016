"""Analytics API under /admin/v1/analytics: usage and cost, per-person activity, adoption; JSON or CSV.

Every route needs ``usage:read``. A caller holding it through project roles sees only those
projects' usage (all of them, or the one it names), and no breakdown by group: groups are
organisation-wide, and their membership is not a project's to read.
"""

from __future__ import annotations

from dataclasses import asdict
from datetime import date, timedelta
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Query
from sqlalchemy import Engine, select
from starlette.responses import Response

from sekisho.admin.deps import Services, UsageReader, in_thread, org_scope
from sekisho.analytics.adoption import Adoption, GroupAdoption, WeekStats, adoption_report
from sekisho.analytics.csv_export import Cell, csv_response
from sekisho.analytics.models import AdoptionOut, UsageAnalyticsOut, UsersOut
from sekisho.analytics.people import Scope
from sekisho.analytics.usage import LABELS, labelled_usage
from sekisho.analytics.users import user_activity
from sekisho.clock import utcnow
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.identity import Principal
from sekisho.identity.permissions import Perm
from sekisho.metering.report import GroupBy, UsageFilter
from sekisho.store.tables import group_members, groups, projects

Format = Literal["json", "csv"]
MAX_DAYS = 3660
_TOTALS = ("requests", "errors", "prompt_tokens", "completion_tokens", "total_tokens", "cost_usd")


def analytics_router() -> APIRouter:
    """The analytics routes."""
    router = APIRouter(prefix="/admin/v1/analytics", tags=["analytics"])

    @router.get("/usage", response_model=UsageAnalyticsOut)
    async def usage(
        caller: UsageReader,
        services: Services,
        group_by: Annotated[list[GroupBy], Query()] = ["day"],  # noqa: B006 - FastAPI copies defaults
        org_id: str | None = None,
        project_id: str | None = None,
        group_id: str | None = None,
        key_id: str | None = None,
        user_id: str | None = None,
        model: str | None = None,
        start: date | None = None,
        end: date | None = None,
        fmt: Annotated[Format, Query(alias="format")] = "json",
    ) -> Any:
        """Requests, errors, tokens and cost per group (UTC days, ``start`` and ``end`` included;
        the last 30 days by default). ``group_id`` counts the members of one group (chargeback)."""
        org = org_scope(caller, org_id, services)
        scope = await _scope(caller, services.engine, org, project_id, group_id)
        first, last = _window(start, end)
        dims = list(dict.fromkeys(group_by))
        members = await in_thread(lambda: _members(services.engine, group_id)) if group_id else None
        where = UsageFilter(
            org, None, key_id, user_id, model, first, last, projects=scope.projects, users=members
        )
        rows = await in_thread(lambda: labelled_usage(services.engine, where, dims))
        if fmt == "csv":
            columns = [c for g in dims for c in (g, *LABELS.get(g, ()))] + list(_TOTALS)
            return csv_response(columns, ([r.get(c) for c in columns] for r in rows), "usage.csv")
        return {"group_by": dims, "start": first, "end": last, "data": rows}

    @router.get("/users", response_model=UsersOut)
    async def users(
        caller: UsageReader,
        services: Services,
        org_id: str | None = None,
        project_id: str | None = None,
        group_id: str | None = None,
        start: date | None = None,
        end: date | None = None,
        fmt: Annotated[Format, Query(alias="format")] = "json",
    ) -> Any:
        """Each person's messages, errors, active days, tokens and cost in the window, including
        people with none (the last 30 days by default)."""
        org = org_scope(caller, org_id, services)
        scope = await _scope(caller, services.engine, org, project_id, group_id)
        first, last = _window(start, end)
        found = await in_thread(lambda: user_activity(services.engine, scope, first, last))
        rows = []
        for a in found:
            row = asdict(a)
            row["groups"] = list(a.groups)
            row["cost_usd"] = row.pop("cost_nanousd") / 1e9
            rows.append(row)
        if fmt == "csv":
            columns = [
                "user_id", "email", "name", "groups", "requests", "errors", "active_days",
                "prompt_tokens", "completion_tokens", "cost_usd", "first_active", "last_active",
            ]  # fmt: skip
            cells = ([_join(r[c]) for c in columns] for r in rows)
            return csv_response(columns, cells, "users.csv")
        return {"start": first, "end": last, "data": rows}

    @router.get("/adoption", response_model=AdoptionOut)
    async def adoption(
        caller: UsageReader,
        services: Services,
        org_id: str | None = None,
        project_id: str | None = None,
        group_id: str | None = None,
        weeks: Annotated[int, Query(ge=1, le=104)] = 12,
        end: date | None = None,
        fmt: Annotated[Format, Query(alias="format")] = "json",
    ) -> Any:
        """Weekly active users, activation rate and messages per weekly active user, week by week,
        for the scope and for each group (``weeks`` ISO weeks ending with the one holding ``end``)."""
        org = org_scope(caller, org_id, services)
        scope = await _scope(caller, services.engine, org, project_id, group_id)
        last = end or utcnow().date()
        report = await in_thread(lambda: adoption_report(services.engine, scope, weeks=weeks, end=last))
        if fmt == "csv":
            return _adoption_csv(report, scope)
        return asdict(report)

    return router


async def _scope(
    caller: Principal, engine: Engine, org: str, project_id: str | None, group_id: str | None
) -> Scope:
    """What the caller may see: the organisation, narrowed to its projects for a project role."""
    visible = caller.projects_with(Perm.USAGE_READ)
    if project_id is not None and (visible is not None and project_id not in visible):
        raise GatewayError(404, f"project {project_id!r} not found", code="not_found")
    if visible is not None and group_id is not None:
        raise forbidden(
            "Usage by group needs the permission 'usage:read' for the whole organisation.",
            code="insufficient_role",
        )

    def check() -> None:
        with engine.connect() as conn:
            if (
                project_id is not None
                and not conn.execute(
                    select(projects.c.id).where(projects.c.id == project_id, projects.c.org_id == org)
                ).first()
            ):
                raise GatewayError(404, f"project {project_id!r} not found", code="not_found")
            if (
                group_id is not None
                and not conn.execute(
                    select(groups.c.id).where(groups.c.id == group_id, groups.c.org_id == org)
                ).first()
            ):
                raise GatewayError(404, f"group {group_id!r} not found", code="not_found")

    if project_id is not None or group_id is not None:
        await in_thread(check)
    narrowed = frozenset({project_id}) if project_id is not None else visible
    return Scope(org, narrowed, group_id, show_groups=visible is None)


def _members(engine: Engine, group_id: str) -> frozenset[str]:
    """Everyone in the group (checked to be the caller's organisation's by ``_scope``)."""
    with engine.connect() as conn:
        found = conn.execute(select(group_members.c.user_id).where(group_members.c.group_id == group_id))
        return frozenset(found.scalars())


def _window(start: date | None, end: date | None) -> tuple[date, date]:
    last = end or utcnow().date()
    first = start or last - timedelta(days=29)
    if first > last:
        raise GatewayError(400, "'start' is after 'end'.", param="start", code="invalid_value")
    if (last - first).days >= MAX_DAYS:
        raise GatewayError(
            400, f"The window may span at most {MAX_DAYS} days.", param="start", code="invalid_value"
        )
    return first, last


def _join(value: Cell | list[str]) -> Cell:
    # A person's groups go in one cell, separated the way spreadsheets split them easily.
    return "; ".join(value) if isinstance(value, list) else value


_WEEK_COLUMNS = (
    "week_start",
    "days",
    "users",
    "weekly_active_users",
    "wau_rate",
    "messages",
    "messages_per_wau",
)


def _adoption_csv(report: Adoption, scope: Scope) -> Response:
    """One line per week: the scope's own first (no group), then each group's."""
    columns = ["group_id", "group_name", *_WEEK_COLUMNS]

    def lines(group_id: str, name: str, weeks: list[WeekStats]) -> list[list[Cell]]:
        return [[group_id, name, *(getattr(w, c) for c in _WEEK_COLUMNS)] for w in weeks]

    rows = lines(scope.group_id or "", "", report.weeks)
    group: GroupAdoption
    for group in report.groups:
        rows += lines(group.group_id, group.name, group.weeks)
    return csv_response(columns, rows, "adoption.csv")
