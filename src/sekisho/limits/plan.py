"""What one request may cost at most, and the counters admission must reserve it on.

The reservation is the largest cost a request can reach: its prompt (estimated with
``sekisho.metering.estimate_tokens``, plus a few tokens per message for the chat format) and its
maximum output (``max_completion_tokens`` or ``max_tokens`` times ``n``, or the configured cap),
priced at the dearest of the model and its fallbacks, since a fallback may serve it.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, Literal

import orjson

from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import Period, current_period, window_of
from sekisho.limits.settings import LimitSettings
from sekisho.metering import Usage, estimate_tokens
from sekisho.settings import ModelSettings

# The chat format wraps each message in a few tokens of its own (role, separators).
MESSAGE_OVERHEAD_TOKENS = 4
RateKind = Literal["requests", "tokens", "concurrent"]


@dataclass(frozen=True, slots=True)
class Demand:
    """The most a request can use: prompt tokens (estimated), output tokens, cost in nano-dollars."""

    prompt_tokens: int
    output_tokens: int
    cost: int

    @property
    def tokens(self) -> int:
        """Prompt and output tokens together."""
        return self.prompt_tokens + self.output_tokens


@dataclass(frozen=True, slots=True)
class BudgetCharge:
    """A budget's share of a reservation: ``amount`` in its unit, in the period it is counted in."""

    budget: Budget
    period: Period
    amount: int


@dataclass(frozen=True, slots=True)
class RateCharge:
    """One rate-limit counter of a reservation: ``window`` is the minute (0 for concurrency)."""

    limit: RateLimit
    kind: RateKind
    cap: int
    amount: int
    window: int


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything one request reserves, atomically: every budget and every rate-limit counter."""

    org_id: str
    budgets: tuple[BudgetCharge, ...]
    rates: tuple[RateCharge, ...]
    demand: Demand
    now: float

    def spend_of(self, cost: int, tokens: int) -> dict[str, int]:
        """What real usage adds to each budget (by budget id)."""
        return {c.budget.id: cost if c.budget.unit == "usd" else tokens for c in self.budgets}


class Estimator:
    """Works out a request's :class:`Demand` from its body and the configured prices and caps."""

    def __init__(self, settings: LimitSettings, models: Mapping[str, ModelSettings]) -> None:
        self._settings = settings
        self._models = models

    def output_cap(self, model: ModelSettings) -> int:
        """Output tokens reserved when a request names no maximum."""
        return self._settings.max_output_tokens.get(model.name, self._settings.default_max_output_tokens)

    def demand(self, endpoint: str, body: Mapping[str, Any], model: ModelSettings) -> Demand:
        """The request's largest possible use."""
        prompt = prompt_tokens(body)
        output = 0
        if endpoint != "embeddings":
            output = requested_output(body) or self.output_cap(model)
            n = body.get("n")
            if isinstance(n, int) and n > 1:
                output *= n
        input_price, output_price = self.dearest(model)
        # The same formula as metering's cost_nanousd, rounded up so that it is never below it.
        cost = math.ceil(prompt * input_price * 1000 + output * output_price * 1000)
        return Demand(prompt, output, cost)

    def dearest(self, model: ModelSettings) -> tuple[float, float]:
        """The highest input and output prices among the model and every fallback it may use."""
        seen: set[str] = set()
        todo = [model]
        input_price = output_price = 0.0
        while todo:
            current = todo.pop()
            if current.name in seen:
                continue
            seen.add(current.name)
            input_price = max(input_price, current.input_cost_per_1m)
            output_price = max(output_price, current.output_cost_per_1m)
            todo.extend(self._models[f] for f in current.fallbacks if f in self._models)
        return input_price, output_price


def prompt_tokens(body: Mapping[str, Any]) -> int:
    """Estimated prompt tokens: every message text, tool definitions, embeddings input."""
    total = 0
    messages = body.get("messages")
    if isinstance(messages, list):
        for message in messages:
            total += MESSAGE_OVERHEAD_TOKENS
            content = message.get("content") if isinstance(message, dict) else None
            if isinstance(content, str):
                total += estimate_tokens(content)
            elif isinstance(content, list):
                for part in content:
                    if isinstance(part, dict) and isinstance(part.get("text"), str):
                        total += estimate_tokens(part["text"])
            if isinstance(message, dict) and message.get("tool_calls"):
                total += estimate_tokens(orjson.dumps(message["tool_calls"]).decode())
    for extra in ("tools", "functions", "response_format"):
        if body.get(extra):
            total += estimate_tokens(orjson.dumps(body[extra]).decode())
    raw = body.get("input")
    for item in [raw] if isinstance(raw, str) else raw if isinstance(raw, list) else []:
        if isinstance(item, str):
            total += estimate_tokens(item)
        elif isinstance(item, list):  # already tokens: one id each
            total += len(item)
        elif isinstance(item, int):
            total += 1
    return total


def requested_output(body: Mapping[str, Any]) -> int | None:
    """The request's own output maximum (``max_completion_tokens`` wins over ``max_tokens``)."""
    for name in ("max_completion_tokens", "max_tokens"):
        value = body.get(name)
        if isinstance(value, int) and not isinstance(value, bool) and value > 0:
            return value
    return None


def build_plan(
    org_id: str, budgets: list[Budget], limits: list[RateLimit], demand: Demand, now: float
) -> Plan:
    """The counters to reserve on, with the amounts."""
    moment = datetime.fromtimestamp(now, UTC)
    charges = tuple(
        BudgetCharge(b, current_period(b.period, moment), demand.cost if b.unit == "usd" else demand.tokens)
        for b in budgets
    )
    window = window_of(now)
    rates: list[RateCharge] = []
    for limit in limits:
        if limit.requests_per_minute is not None:
            rates.append(RateCharge(limit, "requests", limit.requests_per_minute, 1, window))
        if limit.tokens_per_minute is not None:
            rates.append(RateCharge(limit, "tokens", limit.tokens_per_minute, demand.tokens, window))
        if limit.concurrent is not None:
            rates.append(RateCharge(limit, "concurrent", limit.concurrent, 1, 0))
    return Plan(org_id, charges, tuple(rates), demand, now)


def usage_tokens(usage: Usage) -> int:
    """Tokens a request used, as budgets and token limits count them."""
    return usage.prompt_tokens + usage.completion_tokens
