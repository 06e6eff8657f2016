"""Live counters in this process (backend 'memory'): one gateway process, SQLite's default.

Every check-and-reserve runs on the event loop without awaiting in between, so it is atomic
across all the counters of a plan. Spend of a period is loaded from the durable store the first
time the period is used here and kept up to date by settlements; reservations carry an expiry like
the Redis ones, so a reservation that was never settled (a bug, not a crash: a crash takes the
counters with it) frees itself after ``reservation_ttl_seconds``.

Several processes each with its own memory backend would each allow the whole budget: use the
'redis' backend for more than one process (``sekisho serve --workers`` included).
"""

from __future__ import annotations

from collections.abc import Collection, Mapping

from sekisho.limits.backend import BudgetState, Denied, RateState, SpentSource
from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import Period, window_of
from sekisho.limits.plan import Plan

_SWEEP_SECONDS = 1.0


class MemoryBackend:
    """In-process atomic counters."""

    def __init__(self, source: SpentSource) -> None:
        self._source = source
        self._spent: dict[tuple[str, str], int] = {}
        self._reserved: dict[tuple[str, str], int] = {}
        self._ends: dict[tuple[str, str], float | None] = {}
        self._holds: dict[str, tuple[float, Plan]] = {}
        self._windows: dict[tuple[str, str, int], int] = {}
        self._running: dict[str, int] = {}
        self._next_sweep = 0.0

    async def reserve(self, rid: str, plan: Plan, expires_at: float) -> None:
        """Check every counter, then take room on all of them (no await in between)."""
        await self._load([(c.budget.id, c.period.start, c.period) for c in plan.budgets])
        self._sweep(plan.now)
        for i, charge in enumerate(plan.budgets):
            key = (charge.budget.id, charge.period.start)
            spent, reserved = self._spent[key], self._reserved.get(key, 0)
            if spent + reserved + charge.amount > charge.budget.amount:
                raise Denied(i, spent, reserved)
        for j, rate in enumerate(plan.rates):
            if rate.kind == "concurrent":
                used = self._running.get(rate.limit.id, 0)
            else:
                used = self._windows.get((rate.limit.id, rate.kind, rate.window), 0)
            if used + rate.amount > rate.cap:
                raise Denied(len(plan.budgets) + j, used, 0)
        for charge in plan.budgets:
            key = (charge.budget.id, charge.period.start)
            self._reserved[key] = self._reserved.get(key, 0) + charge.amount
        for rate in plan.rates:
            if rate.kind == "concurrent":
                self._running[rate.limit.id] = self._running.get(rate.limit.id, 0) + 1
            else:
                key3 = (rate.limit.id, rate.kind, rate.window)
                self._windows[key3] = self._windows.get(key3, 0) + rate.amount
        self._holds[rid] = (expires_at, plan)

    async def settle(self, rid: str, plan: Plan, spend: Mapping[str, int] | None, tokens: int | None) -> None:
        """Release the reservation (if it has not expired) and count real spend."""
        if self._holds.pop(rid, None) is not None:
            self._release(plan, tokens)
        for charge in plan.budgets:
            key = (charge.budget.id, charge.period.start)
            amount = (spend or {}).get(charge.budget.id, 0)
            # A period not loaded here is read from the durable store (which gets this spend) when used.
            if amount and key in self._spent:
                self._spent[key] += amount

    def _release(self, plan: Plan, tokens: int | None) -> None:
        for charge in plan.budgets:
            key = (charge.budget.id, charge.period.start)
            left = self._reserved.get(key, 0) - charge.amount
            if left > 0:
                self._reserved[key] = left
            else:
                self._reserved.pop(key, None)
        for rate in plan.rates:
            if rate.kind == "concurrent":
                running = self._running.get(rate.limit.id, 0) - 1
                if running > 0:
                    self._running[rate.limit.id] = running
                else:
                    self._running.pop(rate.limit.id, None)
            elif rate.kind == "tokens":
                # Tokens reserved at the maximum are corrected to what was used (0 when nothing was).
                key3 = (rate.limit.id, rate.kind, rate.window)
                if key3 in self._windows:
                    self._windows[key3] = max(0, self._windows[key3] - rate.amount + (tokens or 0))

    def _sweep(self, now: float) -> None:
        """Free expired reservations, forget past minutes and ended periods (at most once a second)."""
        if now < self._next_sweep:
            return
        self._next_sweep = now + _SWEEP_SECONDS
        for rid, (expires_at, plan) in list(self._holds.items()):
            if expires_at <= now:
                del self._holds[rid]
                self._release(plan, None)
        current = window_of(now)
        for key3 in [k for k in self._windows if k[2] < current - 1]:
            del self._windows[key3]
        for key, ends in list(self._ends.items()):
            if ends is not None and ends <= now and key not in self._reserved:
                del self._ends[key]
                self._spent.pop(key, None)

    async def _load(self, keys: list[tuple[str, str, Period]]) -> None:
        missing = [(k[0], k[1]) for k in keys if (k[0], k[1]) not in self._spent]
        if not missing:
            return
        loaded = await self._source(missing)
        for budget_id, start, period in keys:
            key = (budget_id, start)
            if key not in self._spent:
                self._spent[key] = loaded.get(key, 0)
                self._ends[key] = period.ends_at.timestamp() if period.ends_at else None

    async def budget_states(self, keys: Collection[tuple[Budget, Period]]) -> dict[str, BudgetState]:
        """Live counters; periods not used yet are read from the durable store."""
        await self._load([(b.id, p.start, p) for b, p in keys])
        return {
            b.id: BudgetState(self._spent[(b.id, p.start)], self._reserved.get((b.id, p.start), 0))
            for b, p in keys
        }

    async def rate_states(self, limits: Collection[RateLimit], now: float) -> dict[str, RateState]:
        """This minute's requests and tokens and the requests running now, per limit."""
        window = window_of(now)
        return {
            limit.id: RateState(
                self._windows.get((limit.id, "requests", window), 0),
                self._windows.get((limit.id, "tokens", window), 0),
                self._running.get(limit.id, 0),
            )
            for limit in limits
        }

    async def reconcile(self, keys: Collection[tuple[Budget, Period]], now: float) -> int:
        """This process settles every request itself; only a counter behind the store is raised."""
        wanted = [(b.id, p.start) for b, p in keys if (b.id, p.start) in self._spent]
        durable = await self._source(wanted) if wanted else {}
        changed = 0
        for key, value in durable.items():
            if self._spent.get(key, value) < value:
                self._spent[key] = value
                changed += 1
        return changed

    def held(self) -> int:
        """Reservations held now (tests and metrics)."""
        return len(self._holds)

    async def aclose(self) -> None:
        """Nothing to release."""
