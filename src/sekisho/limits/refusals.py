"""The 429 answers: OpenAI's error shape, a distinct ``code`` per cause, and ``Retry-After``.

- ``budget_exceeded`` (type ``insufficient_quota``): a budget has no room for the request's largest
  cost. ``Retry-After`` is the time to the period's reset, none for a budget that never resets, and
  one second when only in-flight reservations hold the rest (they settle, usually below what they hold).
- ``rate_limit_exceeded`` (type ``requests`` or ``tokens``): this minute's requests or tokens are
  used up; ``Retry-After`` is the time to the next minute.
- ``concurrency_limit_exceeded`` (type ``requests``): too many requests running; ``Retry-After: 1``.

The error object also names the ``scope`` (org, project, user, key or model) and the budget or limit.
A request that could never fit (its own maximum is larger than the whole budget or minute's tokens)
gets the same code without ``Retry-After``: waiting will not help, a smaller ``max_tokens`` may.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sekisho.gateway.errors import GatewayError
from sekisho.limits.alerts import amount_text
from sekisho.limits.backend import Denied
from sekisho.limits.periods import window_seconds_left
from sekisho.limits.plan import BudgetCharge, Plan, RateCharge


def refusal(plan: Plan, denied: Denied, now: datetime) -> GatewayError:
    """The 429 for the counter that had no room."""
    if denied.index < len(plan.budgets):
        return _over_budget(plan.budgets[denied.index], denied, now)
    return _over_rate(plan.rates[denied.index - len(plan.budgets)], denied, now)


def _over_budget(charge: BudgetCharge, denied: Denied, now: datetime) -> GatewayError:
    budget = charge.budget
    period = charge.period
    need = amount_text(budget.unit, charge.amount)
    cap = amount_text(budget.unit, budget.amount)
    where = f"The {budget.scope_type} budget {budget.label}"
    retry: int | None
    if charge.amount > budget.amount:
        retry = None
        message = (
            f"{where} ({cap} per {_period_word(budget.period)}) is smaller than the most this request "
            f"could cost ({need}); lower max_tokens or shorten the prompt."
        )
    elif denied.used + charge.amount <= budget.amount:
        retry = 1
        message = (
            f"{where}: requests in flight hold the rest of it ({amount_text(budget.unit, denied.reserved)} "
            f"reserved, {amount_text(budget.unit, denied.used)} spent of {cap}); this request needs up "
            f"to {need}. Retry shortly."
        )
    else:
        retry = period.seconds_left(now)
        resets = f"It resets at {period.ends_at.isoformat()}." if period.ends_at else "It does not reset."
        message = (
            f"{where} is used up: {amount_text(budget.unit, denied.used)} spent of {cap} "
            f"{_period_phrase(budget.period)}; this request needs up to {need}. {resets}"
        )
    extra: dict[str, Any] = {
        "scope": budget.scope_type,
        "scope_id": budget.scope_id,
        "budget_id": budget.id,
        "period": budget.period,
        "resets_at": period.ends_at.isoformat() if period.ends_at else None,
    }
    return GatewayError(
        429, message, type="insufficient_quota", code="budget_exceeded", headers=_retry(retry), extra=extra
    )


def _over_rate(rate: RateCharge, denied: Denied, now: datetime) -> GatewayError:
    limit = rate.limit
    where = f"the {limit.scope_type} {limit.scope_id}"
    extra = {"scope": limit.scope_type, "scope_id": limit.scope_id, "limit_id": limit.id}
    if rate.kind == "concurrent":
        message = f"Too many requests at once for {where}: at most {rate.cap} may run concurrently."
        return GatewayError(
            429, message, type="requests", code="concurrency_limit_exceeded", headers=_retry(1), extra=extra
        )
    retry: int | None = window_seconds_left(now.timestamp())
    if rate.kind == "requests":
        message = f"Rate limit reached for {where}: {rate.cap} requests per minute."
    elif rate.amount > rate.cap:
        retry = None
        message = (
            f"This request may use up to {rate.amount} tokens, more than the {rate.cap} tokens per minute "
            f"allowed for {where}; lower max_tokens."
        )
    else:
        message = (
            f"Rate limit reached for {where}: {rate.cap} tokens per minute ({denied.used} used this minute; "
            f"this request may use up to {rate.amount})."
        )
    return GatewayError(
        429, message, type=rate.kind, code="rate_limit_exceeded", headers=_retry(retry), extra=extra
    )


def _retry(seconds: int | None) -> dict[str, str]:
    return {"retry-after": str(seconds)} if seconds is not None else {}


def _period_word(period: str) -> str:
    return {"day": "day", "week": "week", "month": "month"}.get(period, "all time")


def _period_phrase(period: str) -> str:
    return "in all" if period == "none" else f"this {period} (UTC)"
