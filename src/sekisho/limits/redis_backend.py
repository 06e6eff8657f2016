"""Live counters in Redis (backend 'redis'): several gateway replicas share them.

One Lua script reserves on every counter of a request or on none (:mod:`sekisho.limits.lua`).
PostgreSQL's ``budget_spend`` stays the truth: when a budget's hash has no ``spent`` (a new period,
Redis restarted or lost the key) the script says so, the replica loads the durable spend and
retries; a periodic reconciliation raises any counter that fell behind the durable value.
Any Redis failure surfaces as :class:`BackendUnavailable`, and settings decide what it means.
"""

from __future__ import annotations

import logging
import math
import time
from collections.abc import Callable, Collection, Mapping
from typing import Any

from redis.asyncio import BlockingConnectionPool, Redis
from redis.exceptions import RedisError

from sekisho.limits import lua
from sekisho.limits.backend import BackendUnavailable, BudgetState, Denied, RateState, SpentSource
from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import Period, window_of
from sekisho.limits.plan import Plan, RateCharge

log = logging.getLogger("sekisho.limits")
_KIND = {"requests": "r", "tokens": "t", "concurrent": "c"}
_WINDOW_TTL = 120  # a one-minute window is read in its minute only; two minutes cover clock skew
_INIT_RETRIES = 3


class RedisBackend:
    """Atomic counters in Redis, rebuilt from the durable spend when missing."""

    def __init__(
        self,
        client: Redis,
        source: SpentSource,
        *,
        prefix: str,
        reservation_ttl: int,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._redis = client
        self._clock = clock
        self._source = source
        self._prefix = prefix
        self._ttl = reservation_ttl
        self._reserve = client.register_script(lua.RESERVE)
        self._settle = client.register_script(lua.SETTLE)
        self._raise = client.register_script(lua.RAISE_SPENT)
        self._read = client.register_script(lua.READ_BUDGET)

    @classmethod
    def connect(
        cls,
        url: str,
        source: SpentSource,
        *,
        prefix: str,
        reservation_ttl: int,
        timeout: float,
        max_connections: int = 64,
        clock: Callable[[], float] = time.time,
    ) -> RedisBackend:
        """A client for ``url`` (connections are opened lazily, on first use).

        The pool is bounded: under a burst, requests wait (up to ``timeout``) for one of a few
        connections instead of each opening its own, which on a busy host makes connects time out
        and would turn load into 503s. A refused connection (Redis down) still fails at once.
        """
        pool = BlockingConnectionPool.from_url(
            url,
            max_connections=max_connections,
            timeout=timeout,
            socket_connect_timeout=timeout,
            socket_timeout=timeout,
            decode_responses=True,
        )
        client = Redis.from_pool(pool)
        return cls(client, source, prefix=prefix, reservation_ttl=reservation_ttl, clock=clock)

    # -- key names ------------------------------------------------------------------------------

    def budget_keys(self, org_id: str, budget_id: str, period: str) -> tuple[str, str]:
        """The hash and the sorted set of one budget period."""
        base = f"{self._prefix}{{{org_id}}}:b:{budget_id}:{period}"
        return base, base + ":z"

    def rate_key(self, org_id: str, rate: RateCharge) -> str:
        """The counter of one rate limit: per minute for requests and tokens, one set for concurrency."""
        base = f"{self._prefix}{{{org_id}}}:rl:{rate.limit.id}:{_KIND[rate.kind]}"
        return base if rate.kind == "concurrent" else f"{base}:{rate.window}"

    def _keys(self, plan: Plan) -> list[str]:
        keys: list[str] = []
        for charge in plan.budgets:
            keys.extend(self.budget_keys(plan.org_id, charge.budget.id, charge.period.start))
        keys.extend(self.rate_key(plan.org_id, rate) for rate in plan.rates)
        return keys

    def _budget_ttl(self, period: Period, now: float) -> int:
        """Seconds a period's keys live: to its end, plus the longest reservation, plus a minute."""
        if period.ends_at is None:
            return 0
        return max(60, math.ceil(period.ends_at.timestamp() - now) + self._ttl + 60)

    # -- the protocol ---------------------------------------------------------------------------

    async def reserve(self, rid: str, plan: Plan, expires_at: float) -> None:
        """Run the reserve script; load durable spend for budgets Redis does not know, then retry."""
        args: list[Any] = [
            rid,
            int(plan.now * 1000),
            int(expires_at * 1000),
            len(plan.budgets),
            len(plan.rates),
        ]
        for charge in plan.budgets:
            args += [charge.budget.amount, charge.amount, self._budget_ttl(charge.period, plan.now)]
        for rate in plan.rates:
            ttl = self._ttl + 60 if rate.kind == "concurrent" else _WINDOW_TTL
            args += [_KIND[rate.kind], rate.cap, rate.amount, ttl]
        keys = self._keys(plan)
        for _ in range(_INIT_RETRIES):
            result = await self._call(self._reserve, keys, args)
            status = result[0]
            if status == "ok":
                return
            if status == "deny":
                raise Denied(int(result[1]) - 1, int(result[2]), int(result[3]))
            # One read of the durable spend for every budget of the plan Redis may not know yet.
            await self._init(plan.org_id, [(c.budget, c.period) for c in plan.budgets], plan.now)
        raise BackendUnavailable("budget counters could not be initialised")

    async def settle(self, rid: str, plan: Plan, spend: Mapping[str, int] | None, tokens: int | None) -> None:
        """Release the reservation and add real spend; failures are logged (the TTL frees it)."""
        args: list[Any] = [rid, len(plan.budgets), len(plan.rates)]
        args += [(spend or {}).get(c.budget.id, 0) for c in plan.budgets]
        for rate in plan.rates:
            correction = (tokens or 0) - rate.amount if rate.kind == "tokens" else 0
            args += [_KIND[rate.kind], correction]
        try:
            await self._settle(keys=self._keys(plan), args=args)
        except (RedisError, OSError) as exc:
            # The durable store still gets the spend; the reservation expires by itself.
            log.warning("releasing reservation %s in Redis failed: %s", rid, type(exc).__name__)

    async def budget_states(self, keys: Collection[tuple[Budget, Period]]) -> dict[str, BudgetState]:
        """Live counters; a budget period Redis does not know yet is loaded from the durable store."""
        now = int(self._clock() * 1000)
        out: dict[str, BudgetState] = {}
        missing: list[tuple[Budget, Period]] = []
        for budget, period in keys:
            spent, reserved = await self._call(
                self._read, list(self.budget_keys(budget.org_id, budget.id, period.start)), [now]
            )
            if spent == "":
                missing.append((budget, period))
            else:
                out[budget.id] = BudgetState(int(spent), int(reserved))
        if missing:
            durable = await self._source([(b.id, p.start) for b, p in missing])
            for budget, period in missing:
                out[budget.id] = BudgetState(durable.get((budget.id, period.start), 0), 0)
        return out

    async def rate_states(self, limits: Collection[RateLimit], now: float) -> dict[str, RateState]:
        """This minute's counters and the running requests per limit."""
        window = window_of(now)
        out: dict[str, RateState] = {}
        try:
            for limit in limits:
                base = f"{self._prefix}{{{limit.org_id}}}:rl:{limit.id}"
                pipe = self._redis.pipeline(transaction=False)
                pipe.get(f"{base}:r:{window}")
                pipe.get(f"{base}:t:{window}")
                pipe.zremrangebyscore(f"{base}:c", "-inf", int(now * 1000))
                pipe.zcard(f"{base}:c")
                requests, tokens, _, running = await pipe.execute()
                out[limit.id] = RateState(int(requests or 0), int(tokens or 0), int(running))
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(str(exc)) from exc
        return out

    async def reconcile(self, keys: Collection[tuple[Budget, Period]], now: float) -> int:
        """Raise every counter that is behind ``budget_spend`` (or missing) to the durable value."""
        by_org: dict[str, list[tuple[Budget, Period]]] = {}
        for budget, period in keys:
            by_org.setdefault(budget.org_id, []).append((budget, period))
        return sum([await self._init(org, items, now) for org, items in by_org.items()])

    async def _init(self, org_id: str, items: list[tuple[Budget, Period]], now: float) -> int:
        durable = await self._source([(b.id, p.start) for b, p in items])
        changed = 0
        for budget, period in items:
            hash_key = self.budget_keys(org_id, budget.id, period.start)[0]
            value = durable.get((budget.id, period.start), 0)
            changed += int(await self._call(self._raise, [hash_key], [value, self._budget_ttl(period, now)]))
        return changed

    async def _call(self, script: Any, keys: list[str], args: list[Any]) -> Any:
        try:
            return await script(keys=keys, args=args)
        except (RedisError, OSError) as exc:
            raise BackendUnavailable(f"{type(exc).__name__}: {exc}") from exc

    async def ping(self) -> bool:
        """Whether Redis answers (readiness)."""
        try:
            return bool(await self._redis.ping())
        except (RedisError, OSError):
            return False

    async def aclose(self) -> None:
        """Close the connection pool."""
        await self._redis.aclose()
