"""Admin routes: /admin/v1/budgets and /admin/v1/rate-limits.

Reading takes ``budgets:read``, changing ``budgets:manage``. Objects of another organisation answer
404; every change is audited in the transaction that makes it. Budgets are shown with their current
period's settled spend and what requests in flight hold.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, Request, Response

from sekisho.admin.deps import BudgetsManager, BudgetsReader, Services, in_thread, org_scope
from sekisho.gateway.errors import bad_request
from sekisho.limits.backend import BudgetState, RateState
from sekisho.limits.model import NANO_PER_USD, Budget, RateLimit
from sekisho.limits.periods import Period
from sekisho.limits.schemas import (
    BudgetIn,
    BudgetOut,
    BudgetPatch,
    RateLimitIn,
    RateLimitOut,
    RateLimitPatch,
)
from sekisho.limits.service import Limits


def limits_of(request: Request) -> Limits:
    limits: Limits = request.app.state.limits
    return limits


LimitsDep = Annotated[Limits, Depends(limits_of)]


def limits_admin_router() -> APIRouter:
    """All budget and rate-limit admin routes."""
    router = APIRouter(prefix="/admin/v1", tags=["budgets"])
    _budget_routes(router)
    _limit_routes(router)
    return router


def _budget_out(budget: Budget, period: Period, state: BudgetState) -> dict[str, Any]:
    usd = budget.unit == "usd"
    return {
        "id": budget.id,
        "org_id": budget.org_id,
        "scope_type": budget.scope_type,
        "scope_id": budget.scope_id,
        "unit": budget.unit,
        "amount": budget.amount,
        "amount_usd": budget.amount / NANO_PER_USD if usd else None,
        "period": budget.period,
        "thresholds": sorted(budget.thresholds),
        "notify": list(budget.notify) if budget.notify is not None else None,
        "name": budget.name,
        "enabled": budget.enabled,
        "created_at": budget.created_at,
        "created_by": budget.created_by,
        "updated_at": budget.updated_at,
        "current": {
            "period_start": period.start,
            "resets_at": period.ends_at,
            "spent": state.spent,
            "reserved": state.reserved,
            "remaining": max(0, budget.amount - state.spent - state.reserved),
            "spent_usd": state.spent / NANO_PER_USD if usd else None,
        },
    }


async def _budgets_out(limits: Limits, found: list[Budget]) -> list[dict[str, Any]]:
    states = await limits.budget_states(found)
    return [_budget_out(b, *states[b.id]) for b in found]


def _budget_routes(router: APIRouter) -> None:
    @router.get("/budgets", response_model=list[BudgetOut])
    async def list_budgets(
        caller: BudgetsReader,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
        scope_type: Literal["org", "project", "user", "key"] | None = None,
        scope_id: str | None = None,
    ) -> list[dict[str, Any]]:
        """The organisation's budgets with their current spend and reservations."""
        org = org_scope(caller, org_id, services)
        found = await in_thread(lambda: limits.store.list_budgets(org, scope_type, scope_id))
        return await _budgets_out(limits, found)

    @router.post("/budgets", response_model=BudgetOut, status_code=201)
    async def create_budget(
        body: BudgetIn, caller: BudgetsManager, services: Services, limits: LimitsDep
    ) -> dict[str, Any]:
        """Create a budget on the organisation, a project, a user or a key."""
        org = org_scope(caller, body.org_id, services)
        scope_id = body.scope_id or (org if body.scope_type == "org" else None)
        if scope_id is None:
            raise bad_request(f"scope_id is required for a {body.scope_type} budget", param="scope_id")
        amount = _nano(body, body.unit)
        budget = Budget(
            id="",
            org_id=org,
            scope_type=body.scope_type,
            scope_id=scope_id,
            unit=body.unit,
            amount=amount,
            period=body.period,
            thresholds=tuple(body.thresholds),
            notify=tuple(body.notify) if body.notify is not None else None,
            name=body.name,
            enabled=body.enabled,
        )
        created = await in_thread(lambda: limits.store.create_budget(budget, actor=caller.actor))
        return (await _budgets_out(limits, [created]))[0]

    @router.get("/budgets/{budget_id}", response_model=BudgetOut)
    async def get_budget(
        budget_id: str,
        caller: BudgetsReader,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """One budget with its current spend."""
        org = org_scope(caller, org_id, services)
        budget = await in_thread(lambda: limits.store.get_budget(budget_id, org))
        return (await _budgets_out(limits, [budget]))[0]

    @router.patch("/budgets/{budget_id}", response_model=BudgetOut)
    async def update_budget(
        budget_id: str,
        body: BudgetPatch,
        caller: BudgetsManager,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """Change a budget's amount, period, thresholds, recipients, name or state."""
        org = org_scope(caller, org_id, services)
        current = await in_thread(lambda: limits.store.get_budget(budget_id, org))
        changes: dict[str, Any] = {
            k: getattr(body, k) for k in body.model_fields_set if k not in ("amount", "amount_usd")
        }
        for field in ("period", "thresholds", "enabled"):
            if field in changes and changes[field] is None:
                raise bad_request(f"{field} cannot be null", param=field)
        if body.amount is not None or body.amount_usd is not None:
            changes["amount"] = _nano(body, current.unit)
        if not changes:
            raise bad_request("nothing to change")
        updated = await in_thread(
            lambda: limits.store.update_budget(budget_id, org, changes, actor=caller.actor)
        )
        return (await _budgets_out(limits, [updated]))[0]

    @router.delete("/budgets/{budget_id}", status_code=204)
    async def delete_budget(
        budget_id: str,
        caller: BudgetsManager,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
    ) -> Response:
        """Remove a budget (its spend history and alert records go with it)."""
        org = org_scope(caller, org_id, services)
        await in_thread(lambda: limits.store.delete_budget(budget_id, org, actor=caller.actor))
        return Response(status_code=204)


def _nano(body: BudgetIn | BudgetPatch, unit: str) -> int:
    try:
        amount = body.nano(unit)
    except ValueError as exc:
        raise bad_request(str(exc), param="amount_usd") from None
    if amount is None:
        raise bad_request("amount (or amount_usd) is required", param="amount")
    return amount


def _limit_out(limit: RateLimit, state: RateState | None) -> dict[str, Any]:
    return {
        "id": limit.id,
        "org_id": limit.org_id,
        "scope_type": limit.scope_type,
        "scope_id": limit.scope_id,
        "requests_per_minute": limit.requests_per_minute,
        "tokens_per_minute": limit.tokens_per_minute,
        "concurrent": limit.concurrent,
        "created_at": limit.created_at,
        "created_by": limit.created_by,
        "updated_at": limit.updated_at,
        "current": (
            {"requests": state.requests, "tokens": state.tokens, "concurrent": state.concurrent}
            if state is not None
            else None
        ),
    }


async def _limits_out(limits: Limits, found: list[RateLimit]) -> list[dict[str, Any]]:
    states = await limits.rate_states(found)
    return [_limit_out(r, states.get(r.id)) for r in found]


def _limit_routes(router: APIRouter) -> None:
    @router.get("/rate-limits", response_model=list[RateLimitOut])
    async def list_limits(
        caller: BudgetsReader,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
        scope_type: Literal["key", "project", "model"] | None = None,
    ) -> list[dict[str, Any]]:
        """The organisation's rate limits with this minute's counters."""
        org = org_scope(caller, org_id, services)
        found = await in_thread(lambda: limits.store.list_limits(org, scope_type))
        return await _limits_out(limits, found)

    @router.post("/rate-limits", response_model=RateLimitOut, status_code=201)
    async def create_limit(
        body: RateLimitIn, caller: BudgetsManager, services: Services, limits: LimitsDep
    ) -> dict[str, Any]:
        """Limit requests per minute, tokens per minute and/or concurrent requests."""
        org = org_scope(caller, body.org_id, services)
        limit = RateLimit(
            id="",
            org_id=org,
            scope_type=body.scope_type,
            scope_id=body.scope_id,
            requests_per_minute=body.requests_per_minute,
            tokens_per_minute=body.tokens_per_minute,
            concurrent=body.concurrent,
        )
        created = await in_thread(lambda: limits.store.create_limit(limit, actor=caller.actor))
        return (await _limits_out(limits, [created]))[0]

    @router.get("/rate-limits/{limit_id}", response_model=RateLimitOut)
    async def get_limit(
        limit_id: str, caller: BudgetsReader, services: Services, limits: LimitsDep, org_id: str | None = None
    ) -> dict[str, Any]:
        """One rate limit with this minute's counters."""
        org = org_scope(caller, org_id, services)
        limit = await in_thread(lambda: limits.store.get_limit(limit_id, org))
        return (await _limits_out(limits, [limit]))[0]

    @router.patch("/rate-limits/{limit_id}", response_model=RateLimitOut)
    async def update_limit(
        limit_id: str,
        body: RateLimitPatch,
        caller: BudgetsManager,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """Change the numbers (null removes one; at least one must stay)."""
        org = org_scope(caller, org_id, services)
        changes = {k: getattr(body, k) for k in body.model_fields_set}
        if not changes:
            raise bad_request("nothing to change")
        updated = await in_thread(
            lambda: limits.store.update_limit(limit_id, org, changes, actor=caller.actor)
        )
        return (await _limits_out(limits, [updated]))[0]

    @router.delete("/rate-limits/{limit_id}", status_code=204)
    async def delete_limit(
        limit_id: str,
        caller: BudgetsManager,
        services: Services,
        limits: LimitsDep,
        org_id: str | None = None,
    ) -> Response:
        """Remove a rate limit."""
        org = org_scope(caller, org_id, services)
        await in_thread(lambda: limits.store.delete_limit(limit_id, org, actor=caller.actor))
        return Response(status_code=204)
