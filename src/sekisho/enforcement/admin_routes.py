"""The administrator's side under /admin/v1: actions, appeals, the transparency report.

Authentication, roles and organisation scoping are the admin API's own (``admin.deps``): every
lookup is made within the caller's organisation, so another tenant's ids answer 404.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any, Literal

from fastapi import APIRouter
from pydantic import BaseModel, ConfigDict, Field

from sekisho.admin.deps import (
    AppealsDecider,
    EnforcementManager,
    EnforcementReader,
    Services,
    TransparencyReader,
    org_scope,
)
from sekisho.enforcement.http import off_loop
from sekisho.enforcement.service import Enforcement
from sekisho.enforcement.transparency import transparency_report
from sekisho.gateway.errors import forbidden


class ActionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    org_id: str | None = None
    subject_type: Literal["key", "user"]
    subject_id: str = Field(min_length=1, max_length=40)
    action: Literal["warn", "require_review", "restrict_models", "suspend_key"]
    reason: str = Field(min_length=1, max_length=2000)
    models: list[str] | None = None


class LiftIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    outcome: Literal["uphold", "overturn"]
    reason: str = Field(min_length=1, max_length=2000)


def enforcement_admin_router(enforcement: Enforcement) -> APIRouter:
    """The routes, bound to ``enforcement``; mount with ``app.include_router``."""
    router = APIRouter(prefix="/admin/v1", tags=["enforcement"])

    @router.get("/enforcement/actions")
    async def list_actions(
        caller: EnforcementReader,
        services: Services,
        org_id: str | None = None,
        subject_type: Literal["key", "user"] | None = None,
        subject_id: str | None = None,
        active: bool | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        org = org_scope(caller, org_id, services)
        actions = await off_loop(
            lambda: enforcement.list_actions(
                org, subject_type=subject_type, subject_id=subject_id, active=active, limit=min(limit, 1000)
            )
        )
        return [a.as_dict() for a in actions]

    @router.post("/enforcement/actions", status_code=201)
    async def take_action(body: ActionIn, caller: EnforcementManager, services: Services) -> dict[str, Any]:
        org = org_scope(caller, body.org_id, services)
        action = await off_loop(
            lambda: enforcement.take_action(
                org_id=org,
                subject_type=body.subject_type,
                subject_id=body.subject_id,
                action=body.action,
                reason=body.reason,
                actor=caller.actor,
                models=body.models,
            )
        )
        return action.as_dict()

    @router.post("/enforcement/actions/{action_id}/lift")
    async def lift(
        action_id: str,
        caller: EnforcementManager,
        services: Services,
        body: LiftIn | None = None,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        action = await off_loop(lambda: enforcement.get_action(action_id, org))
        if (action.subject_type == "key" and action.subject_id == caller.key_id) or (
            action.subject_type == "user" and action.subject_id == caller.user_id
        ):
            raise forbidden("You cannot lift an action on your own key or user.", code="self_decision")
        reason = body.reason if body else None
        lifted = await off_loop(
            lambda: enforcement.lift(action_id, org_id=org, actor=caller.actor, reason=reason)
        )
        return lifted.as_dict()

    @router.get("/appeals")
    async def list_appeals(
        caller: EnforcementReader,
        services: Services,
        org_id: str | None = None,
        status: Literal["open", "upheld", "overturned"] | None = None,
        limit: int = 100,
    ) -> list[dict[str, Any]]:
        org = org_scope(caller, org_id, services)
        found = await off_loop(lambda: enforcement.list_appeals(org, status=status, limit=min(limit, 1000)))
        return [a.as_dict() for a in found]

    @router.get("/appeals/{appeal_id}")
    async def get_appeal(
        appeal_id: str, caller: EnforcementReader, services: Services, org_id: str | None = None
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        return (await off_loop(lambda: enforcement.get_appeal(appeal_id, org))).as_dict()

    @router.post("/appeals/{appeal_id}/decide")
    async def decide(appeal_id: str, body: DecisionIn, caller: AppealsDecider) -> dict[str, Any]:
        appeal = await off_loop(
            lambda: enforcement.decide_appeal(appeal_id, caller, body.outcome, body.reason)
        )
        return appeal.as_dict()

    @router.get("/transparency")
    async def transparency(
        caller: TransparencyReader,
        services: Services,
        since: datetime | None = None,
        until: datetime | None = None,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        end = _utc(until) if until else datetime.now(UTC)
        start = _utc(since) if since else end - timedelta(days=30)
        return await off_loop(lambda: transparency_report(services.engine, start, end, org))

    return router


def _utc(value: datetime) -> datetime:
    return value.replace(tzinfo=UTC) if value.tzinfo is None else value.astimezone(UTC)
