"""Where live counters are kept: the protocol both backends ('memory' and 'redis') implement."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Collection, Mapping
from dataclasses import dataclass
from typing import Protocol

from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import Period
from sekisho.limits.plan import Plan

# (budget id, period start) → durable settled spend: budget_spend plus what this process settled
# but has not written yet. Counters are (re)built from it.
SpentSource = Callable[[Collection[tuple[str, str]]], Awaitable[dict[tuple[str, str], int]]]


class Denied(Exception):
    """A counter has no room: ``index`` points into ``plan.budgets``, then ``plan.rates``."""

    def __init__(self, index: int, used: int, reserved: int) -> None:
        super().__init__(f"counter {index} is full")
        self.index = index
        self.used = used
        self.reserved = reserved


class BackendUnavailable(Exception):
    """The counters cannot be reached (Redis is down): settings decide whether to fail closed."""


@dataclass(frozen=True, slots=True)
class BudgetState:
    """A budget's live counters in one period."""

    spent: int
    reserved: int


@dataclass(frozen=True, slots=True)
class RateState:
    """A rate limit's live counters: this minute's requests and tokens, requests running now."""

    requests: int
    tokens: int
    concurrent: int


class Backend(Protocol):
    """Atomic counters: a reservation takes room on every counter of a plan, or on none."""

    async def reserve(self, rid: str, plan: Plan, expires_at: float) -> None:
        """Reserve ``plan`` under ``rid`` until ``expires_at`` (epoch seconds); raise Denied when full."""
        ...

    async def settle(self, rid: str, plan: Plan, spend: Mapping[str, int] | None, tokens: int | None) -> None:
        """Release ``rid`` and add real spend per budget id (None: nothing was used)."""
        ...

    async def budget_states(self, keys: Collection[tuple[Budget, Period]]) -> dict[str, BudgetState]:
        """Live spent and reserved amounts per budget id, in the given periods."""
        ...

    async def rate_states(self, limits: Collection[RateLimit], now: float) -> dict[str, RateState]:
        """Live rate-limit counters per limit id."""
        ...

    async def reconcile(self, keys: Collection[tuple[Budget, Period]], now: float) -> int:
        """Bring counters up to the durable spend where they fell behind; returns how many changed."""
        ...

    async def aclose(self) -> None:
        """Release connections."""
        ...
