"""Both counter backends against one contract: the in-process one and the real Redis on 127.0.0.1.

Reservations take room on every counter of a plan or on none; settling releases and counts real
spend; reservations of a process that never settles expire; counters are rebuilt from durable spend.
"""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Collection
from datetime import UTC, datetime

import pytest
import redis

from sekisho.limits.backend import Backend, Denied
from sekisho.limits.memory import MemoryBackend
from sekisho.limits.model import Budget, RateLimit
from sekisho.limits.periods import current_period
from sekisho.limits.plan import Demand, Plan, build_plan
from sekisho.limits.redis_backend import RedisBackend
from tests.limits.conftest import REDIS_URL, redis_keys

pytestmark = pytest.mark.anyio

NOW = datetime(2026, 12, 5, 10, 0, 5, tzinfo=UTC).timestamp()
TTL = 900


class Durable:
    """A stand-in for budget_spend (the ledger's SpentSource)."""

    def __init__(self) -> None:
        self.values: dict[tuple[str, str], int] = {}
        self.reads = 0

    async def __call__(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        self.reads += 1
        return {k: self.values.get(k, 0) for k in keys}


@pytest.fixture(params=["memory", "redis"])
async def backend_factory(
    request: pytest.FixtureRequest,
) -> AsyncIterator[tuple[str, Durable, list[Backend]]]:
    """(kind, durable store, [backends…]): call ``make()`` for another replica on the same counters."""
    durable = Durable()
    made: list[Backend] = []
    prefix = ""
    if request.param == "redis":
        prefix = request.getfixturevalue("redis_prefix")
    kind: str = request.param

    def make() -> Backend:
        backend: Backend
        if kind == "memory":
            backend = MemoryBackend(durable)
        else:
            backend = RedisBackend.connect(
                REDIS_URL, durable, prefix=prefix, reservation_ttl=TTL, timeout=1.0, clock=lambda: NOW
            )
        made.append(backend)
        return backend

    request.node.make_backend = make  # type: ignore[attr-defined]
    request.node.prefix = prefix  # type: ignore[attr-defined]
    yield kind, durable, made
    for backend in made:
        await backend.aclose()


def make(request: pytest.FixtureRequest) -> Backend:
    maker = request.node.make_backend
    backend: Backend = maker()
    return backend


def budget(bid: str, amount: int, scope: str = "key", period: str = "day") -> Budget:
    return Budget(bid, "org_t", scope, f"{scope}_1", "usd", amount, period)


def plan(
    budgets: list[Budget], limits: list[RateLimit] | None = None, *, cost: int = 100, now: float = NOW
) -> Plan:
    return build_plan(
        "org_t", budgets, limits or [], Demand(prompt_tokens=10, output_tokens=cost - 10, cost=cost), now
    )


async def state(backend: Backend, b: Budget, now: float = NOW) -> tuple[int, int]:
    found = await backend.budget_states([(b, current_period(b.period, datetime.fromtimestamp(now, UTC)))])
    return found[b.id].spent, found[b.id].reserved


async def test_reserve_settle_and_release(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    b = budget("bud_a", 1000)
    p = plan([b], cost=300)
    await backend.reserve("r1", p, NOW + TTL)
    assert await state(backend, b) == (0, 300)
    await backend.settle("r1", p, {"bud_a": 120}, 100)
    assert await state(backend, b) == (120, 0)
    await backend.reserve("r2", p, NOW + TTL)
    await backend.settle("r2", p, None, None)  # released: nothing used
    assert await state(backend, b) == (120, 0)
    # Settling twice changes nothing the second time.
    await backend.settle("r2", p, None, None)
    assert await state(backend, b) == (120, 0)


async def test_all_or_nothing_across_budgets(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    roomy, tight = budget("bud_org", 10_000, "org"), budget("bud_key", 250)
    p = plan([roomy, tight], cost=300)
    with pytest.raises(Denied) as denied:
        await backend.reserve("r1", p, NOW + TTL)
    assert denied.value.index == 1
    # The budget checked first was not touched.
    assert await state(backend, roomy) == (0, 0)
    assert await state(backend, tight) == (0, 0)


async def test_all_or_nothing_across_budgets_and_rate_counters(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    b = budget("bud_a", 10_000)
    limit = RateLimit("rl_a", "org_t", "key", "key_1", requests_per_minute=100, concurrent=1)
    await backend.reserve("r1", plan([b], [limit]), NOW + TTL)
    with pytest.raises(Denied) as denied:
        await backend.reserve("r2", plan([b], [limit]), NOW + TTL)
    assert denied.value.index == 2  # budget 0, requests 1, concurrent 2
    assert await state(backend, b) == (0, 100)  # only r1's reservation
    state_now = (await backend.rate_states([limit], NOW))["rl_a"]
    assert (state_now.requests, state_now.concurrent) == (1, 1)


async def test_concurrency_frees_on_settle(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    limit = RateLimit("rl_c", "org_t", "key", "key_1", concurrent=2)
    await backend.reserve("r1", plan([], [limit]), NOW + TTL)
    await backend.reserve("r2", plan([], [limit]), NOW + TTL)
    with pytest.raises(Denied):
        await backend.reserve("r3", plan([], [limit]), NOW + TTL)
    await backend.settle("r1", plan([], [limit]), None, None)
    await backend.reserve("r3", plan([], [limit]), NOW + TTL)
    assert (await backend.rate_states([limit], NOW))["rl_c"].concurrent == 2


async def test_requests_per_minute_reset_with_the_minute(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    limit = RateLimit("rl_r", "org_t", "key", "key_1", requests_per_minute=2)
    for rid in ("r1", "r2"):
        await backend.reserve(rid, plan([], [limit]), NOW + TTL)
        await backend.settle(rid, plan([], [limit]), None, None)
    with pytest.raises(Denied):
        await backend.reserve("r3", plan([], [limit]), NOW + TTL)
    later = NOW + 60
    await backend.reserve("r3", plan([], [limit], now=later), later + TTL)


async def test_tokens_per_minute_are_corrected_to_real_use(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    backend = make(request)
    limit = RateLimit("rl_t", "org_t", "key", "key_1", tokens_per_minute=250)
    p = plan([], [limit], cost=100)  # 100 tokens reserved
    await backend.reserve("r1", p, NOW + TTL)
    await backend.reserve("r2", p, NOW + TTL)
    with pytest.raises(Denied):
        await backend.reserve("r3", p, NOW + TTL)
    await backend.settle("r1", p, {}, 20)  # used 20 of the 100
    await backend.reserve("r3", p, NOW + TTL)
    assert (await backend.rate_states([limit], NOW))["rl_t"].tokens == 220


async def test_a_reservation_never_settled_expires(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    """A process that died holds nothing after the reservation TTL: no phantom 429 later."""
    backend = make(request)
    b = budget("bud_a", 500)
    limit = RateLimit("rl_c", "org_t", "key", "key_1", concurrent=1)
    await backend.reserve("dead", plan([b], [limit], cost=400), NOW + 30)
    with pytest.raises(Denied):
        await backend.reserve("r2", plan([b], [limit], cost=400), NOW + TTL)
    later = NOW + 31
    await backend.reserve("r2", plan([b], [limit], cost=400, now=later), later + TTL)
    assert await state(backend, b, later) == (0, 400)
    # The dead process's late settlement (if it ever comes) does not free r2's room.
    await backend.settle("dead", plan([b], [limit], cost=400), None, None)
    assert await state(backend, b, later) == (0, 400)


async def test_counters_start_from_the_durable_spend(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    _kind, durable, _ = backend_factory
    b = budget("bud_a", 1000)
    durable.values[("bud_a", "2026-12-05")] = 950
    backend = make(request)
    with pytest.raises(Denied) as denied:
        await backend.reserve("r1", plan([b], cost=100), NOW + TTL)
    assert denied.value.used == 950
    await backend.reserve("r1", plan([b], cost=50), NOW + TTL)


async def test_exactly_the_budget_is_admitted_under_contention(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    """200 simultaneous reservations (two replicas for Redis) on room for exactly 10."""
    kind, _durable, _ = backend_factory
    replicas = [make(request)] if kind == "memory" else [make(request), make(request)]
    b = budget("bud_a", 1000)

    async def attempt(i: int) -> bool:
        try:
            await replicas[i % len(replicas)].reserve(f"r{i}", plan([b], cost=100), NOW + TTL)
        except Denied:
            return False
        return True

    results = await asyncio.gather(*(attempt(i) for i in range(200)))
    assert sum(results) == 10
    assert await state(replicas[0], b) == (0, 1000)


async def test_reconcile_raises_a_counter_behind_the_durable_spend(
    backend_factory: tuple[str, Durable, list[Backend]], request: pytest.FixtureRequest
) -> None:
    _kind, durable, _ = backend_factory
    backend = make(request)
    b = budget("bud_a", 1000)
    await backend.reserve("r1", plan([b], cost=100), NOW + TTL)
    await backend.settle("r1", plan([b], cost=100), {"bud_a": 100}, 100)
    period = current_period("day", datetime.fromtimestamp(NOW, UTC))
    durable.values[("bud_a", period.start)] = 700  # e.g. spend settled while Redis was away
    assert await backend.reconcile([(b, period)], NOW) == 1
    assert await state(backend, b) == (700, 0)
    # A counter ahead of the store (spend not yet written) is left alone.
    durable.values[("bud_a", period.start)] = 600
    assert await backend.reconcile([(b, period)], NOW) == 0
    assert await state(backend, b) == (700, 0)


async def test_redis_rebuilds_a_lost_budget_hash_from_the_durable_spend(redis_prefix: str) -> None:
    durable = Durable()
    backend = RedisBackend.connect(
        REDIS_URL, durable, prefix=redis_prefix, reservation_ttl=TTL, timeout=1.0, clock=lambda: NOW
    )
    try:
        b = budget("bud_a", 1000)
        await backend.reserve("r1", plan([b], cost=100), NOW + TTL)
        await backend.settle("r1", plan([b], cost=100), {"bud_a": 300}, 100)
        durable.values[("bud_a", "2026-12-05")] = 300  # the ledger wrote it
        client = redis.Redis.from_url(REDIS_URL)
        hash_key, _ = backend.budget_keys("org_t", "bud_a", "2026-12-05")
        client.delete(hash_key)  # Redis restarted without persistence, or evicted the key
        client.close()
        with pytest.raises(Denied) as denied:
            await backend.reserve("r2", plan([b], cost=800), NOW + TTL)
        assert denied.value.used == 300
        await backend.reserve("r2", plan([b], cost=700), NOW + TTL)
        # Keys carry the organisation as a hash tag (one Redis Cluster slot per organisation).
        assert all("{org_t}" in key for key in redis_keys(redis_prefix))
    finally:
        await backend.aclose()


async def test_large_amounts_stay_exact_in_redis(redis_prefix: str) -> None:
    """Nano-dollar totals past 14 digits: Redis must not round them through Lua's number format."""
    durable = Durable()
    backend = RedisBackend.connect(
        REDIS_URL, durable, prefix=redis_prefix, reservation_ttl=TTL, timeout=1.0, clock=lambda: NOW
    )
    try:
        big = 2**52
        b = budget("bud_big", big)
        amount = 123_456_789_012_345
        p = plan([b], cost=amount)
        await backend.reserve("r1", p, NOW + TTL)
        await backend.settle("r1", p, {"bud_big": amount - 1}, 1)
        await backend.reserve("r2", p, NOW + TTL)
        assert await state(backend, b) == (amount - 1, amount)
        await backend.reserve("dead", p, NOW + 1)
        # The next reservation after the expiry frees the dead one's (large) amount exactly.
        await backend.reserve("r3", plan([b], cost=1, now=NOW + 2), NOW + TTL)
        assert await state(backend, b) == (amount - 1, amount + 1)
    finally:
        await backend.aclose()


async def test_a_reservation_dropped_without_settling_is_released() -> None:
    """The safety net for a call whose stream body never started: collecting it frees its room."""
    from types import SimpleNamespace

    from sekisho.limits.admission import LimitReservation
    from sekisho.settings import ModelSettings

    backend = MemoryBackend(Durable())
    b = budget("bud_a", 1000)
    p = plan([b], cost=400)
    await backend.reserve("r1", p, NOW + TTL)
    admitter = SimpleNamespace(backend=backend, ledger=None)
    reservation = LimitReservation(admitter, "r1", p, ModelSettings(name="m", provider="p"), None)  # type: ignore[arg-type]
    assert backend.held() == 1
    del reservation  # no cycle here: dropping the last reference finalizes it at once
    for _ in range(3):
        await asyncio.sleep(0)
    assert backend.held() == 0
    assert await state(backend, b) == (0, 0)
