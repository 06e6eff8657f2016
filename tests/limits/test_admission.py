"""Budgets and rate limits on real requests, through the app, with both counter backends.

What a client sees (429s with distinct codes and Retry-After), what is spent (exactly what the
usage record says, on every scope), and that every way a call can end gives its reservation back.
"""

from __future__ import annotations

import asyncio
import math
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from typing import Any

import pytest
from sqlalchemy import func, select

from sekisho.limits.periods import current_period
from sekisho.store.tables import usage_events
from tests.limits.conftest import LimitsGateway, MakeGateway, cost, redis_keys

pytestmark = pytest.mark.anyio

# "Hello there, how are you today?": the mock counts 6 prompt and 7 completion tokens; Sekisho
# estimates 8 prompt tokens plus 4 for the message, so with max_tokens=20 it reserves this much.
RESERVED_20 = cost(12, 20)
SPENT_ONE = cost(6, 7)


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    """The limits settings of one counter backend."""
    if request.param == "memory":
        return {}
    return {"backend": "redis", "key_prefix": request.getfixturevalue("redis_prefix")}


@pytest.fixture
def gateway_with(
    make_gateway: MakeGateway, backend: dict[str, Any]
) -> Callable[..., AbstractAsyncContextManager[LimitsGateway]]:
    @asynccontextmanager
    async def make(**limits: Any) -> AsyncIterator[LimitsGateway]:
        async with make_gateway(limits={**backend, **limits}) as lg:
            yield lg
            if backend:
                # Whatever the test did, nothing stays reserved in Redis once its requests ended.
                assert not [
                    k for k, v in redis_keys(backend["key_prefix"]).items() if isinstance(v, list) and v
                ]

    return make


async def counters(lg: LimitsGateway, budget_id: str) -> tuple[int, int]:
    lg.flush()
    current = (await lg.get_budget(budget_id))["current"]
    return current["spent"], current["reserved"]


def usage_cost(lg: LimitsGateway, key_id: str) -> tuple[int, int]:
    lg.flush()
    with lg.gw.core.engine.connect() as conn:
        row = conn.execute(
            select(
                func.coalesce(func.sum(usage_events.c.cost_nanousd), 0),
                func.coalesce(func.sum(usage_events.c.prompt_tokens + usage_events.c.completion_tokens), 0),
            ).where(usage_events.c.key_id == key_id)
        ).one()
    return int(row[0]), int(row[1])


async def wait_for(condition: Callable[[], Any], what: str, limit: float = 10.0) -> None:
    deadline = asyncio.get_running_loop().time() + limit
    while not await condition():
        if asyncio.get_running_loop().time() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        await asyncio.sleep(0.02)


async def test_over_budget_is_a_429_with_the_scope_and_the_time_to_the_reset(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        budget = await lg.budget(
            scope_type="key", scope_id=key.id, amount=SPENT_ONE + RESERVED_20, period="day"
        )
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200
        refused = await lg.chat(secret, max_tokens=20)
        assert refused.status_code == 429, refused.text
        error = refused.json()["error"]
        assert (error["code"], error["type"], error["scope"], error["budget_id"]) == (
            "budget_exceeded", "insufficient_quota", "key", budget["id"]
        )  # fmt: skip
        now = lg.limits.clock.now()
        to_midnight = math.ceil((current_period("day", now).ends_at - now).total_seconds())  # type: ignore[operator]
        assert abs(int(refused.headers["retry-after"]) - to_midnight) <= 5
        assert error["resets_at"].startswith(current_period("day", now).ends_at.date().isoformat())  # type: ignore[union-attr]
        # What was spent is exactly what the usage record says.
        assert await counters(lg, budget["id"]) == (2 * SPENT_ONE, 0)
        assert usage_cost(lg, key.id)[0] == 2 * SPENT_ONE


async def test_a_request_larger_than_the_whole_budget_has_no_retry_after(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        await lg.budget(scope_type="key", scope_id=key.id, amount=RESERVED_20 - 1, period="none")
        refused = await lg.chat(secret, max_tokens=20)
        assert refused.status_code == 429
        assert refused.json()["error"]["code"] == "budget_exceeded"
        assert "retry-after" not in refused.headers
        assert (await lg.chat(secret, max_tokens=5)).status_code == 200


async def test_room_held_by_requests_in_flight_says_retry_shortly(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        budget = await lg.budget(scope_type="key", scope_id=key.id, amount=RESERVED_20 + RESERVED_20 // 2)
        first = asyncio.create_task(lg.chat(secret, model="slow-ok", max_tokens=20))

        async def held() -> bool:
            return (await counters(lg, budget["id"]))[1] > 0

        await wait_for(held, "the first request to be admitted")
        refused = await lg.chat(secret, max_tokens=20)
        assert refused.status_code == 429
        assert refused.headers["retry-after"] == "1"
        assert "in flight" in refused.json()["error"]["message"]
        assert (await first).status_code == 200
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200
        assert await counters(lg, budget["id"]) == (2 * SPENT_ONE, 0)


async def test_every_scope_is_checked_and_a_refusal_reserves_nothing(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        tenancy = lg.gw.core.tenancy
        user = tenancy.create_user(lg.org_id, "dev@example.com", "Dev", "member", actor="test")
        key, secret = lg.key(user=user)
        roomy = {"amount": 10**9}
        org_b = await lg.budget(scope_type="org", **roomy)
        project_b = await lg.budget(scope_type="project", scope_id=key.project_id, **roomy)
        user_b = await lg.budget(
            scope_type="user", scope_id=user.id, unit="tokens", amount=100, period="month"
        )
        key_b = await lg.budget(scope_type="key", scope_id=key.id, **roomy)
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200  # 32 tokens reserved, 13 used
        refused = await lg.chat(secret, max_tokens=80)  # 92 tokens more than the 87 left
        assert refused.status_code == 429
        assert refused.json()["error"]["scope"] == "user"
        for b in (org_b, project_b, key_b):
            assert await counters(lg, b["id"]) == (SPENT_ONE, 0)
        assert await counters(lg, user_b["id"]) == (13, 0)
        assert usage_cost(lg, key.id) == (SPENT_ONE, 13)


async def test_spend_equals_the_usage_record_for_chat_streams_and_embeddings(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        usd = await lg.budget(scope_type="key", scope_id=key.id, amount=10**9)
        tokens = await lg.budget(scope_type="key", scope_id=key.id, unit="tokens", amount=10**6)
        assert (await lg.chat(secret, max_tokens=50)).status_code == 200
        assert (await lg.chat(secret, "Tell me a story about a fox", stream=True)).status_code == 200
        assert (await lg.chat(secret, "no usage here", model="no-usage")).status_code == 200
        embedded = await lg.client.post(
            "/v1/embeddings",
            json={"model": "embed", "input": ["one two three"]},
            headers={"authorization": f"Bearer {secret}"},
        )
        assert embedded.status_code == 200
        spent_cost, spent_tokens = usage_cost(lg, key.id)
        assert spent_cost > 0
        assert await counters(lg, usd["id"]) == (spent_cost, 0)
        assert await counters(lg, tokens["id"]) == (spent_tokens, 0)


async def test_requests_per_minute(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        await lg.rate_limit(scope_type="key", scope_id=key.id, requests_per_minute=2)
        assert [(await lg.chat(secret)).status_code for _ in range(2)] == [200, 200]
        refused = await lg.chat(secret)
        assert refused.status_code == 429
        error = refused.json()["error"]
        assert (error["code"], error["type"], error["scope"]) == ("rate_limit_exceeded", "requests", "key")
        assert 1 <= int(refused.headers["retry-after"]) <= 60
        _other_key, other = lg.key()
        assert (await lg.chat(other)).status_code == 200  # another key is not limited
        lg.limits.clock.offset += 60  # the next minute
        assert (await lg.chat(secret)).status_code == 200


async def test_tokens_per_minute_count_what_was_used(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        _key, secret = lg.key()
        limit = await lg.rate_limit(scope_type="model", scope_id="gpt-4o-mini", tokens_per_minute=100)
        # 32 tokens reserved each, 13 used: the reservations are corrected after each call.
        assert [(await lg.chat(secret, max_tokens=20)).status_code for _ in range(6)] == [200] * 6
        current = (await lg.admin("GET", f"/rate-limits/{limit['id']}")).json()["current"]
        assert current["tokens"] == 6 * 13
        refused = await lg.chat(secret, max_tokens=20)
        assert refused.status_code == 429
        assert (refused.json()["error"]["code"], refused.json()["error"]["type"]) == (
            "rate_limit_exceeded",
            "tokens",
        )
        too_big = await lg.chat(secret, max_tokens=500)
        assert "retry-after" not in too_big.headers and "more than" in too_big.json()["error"]["message"]


async def test_concurrent_requests(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        limit = await lg.rate_limit(scope_type="project", scope_id=key.project_id, concurrent=2)
        results = await asyncio.gather(*(lg.chat(secret, model="slow-ok") for _ in range(4)))
        statuses = sorted(r.status_code for r in results)
        assert statuses == [200, 200, 429, 429]
        refused = next(r for r in results if r.status_code == 429)
        assert refused.json()["error"]["code"] == "concurrency_limit_exceeded"
        assert refused.headers["retry-after"] == "1"
        current = (await lg.admin("GET", f"/rate-limits/{limit['id']}")).json()["current"]
        assert current["concurrent"] == 0
        assert [(await lg.chat(secret)).status_code for _ in range(3)] == [200] * 3


@pytest.mark.parametrize(("model", "status"), [("priced-500", 502), ("priced-timeout", 504)])
async def test_an_upstream_failure_releases_the_reservation(
    gateway_with: Any, model: str, status: int
) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        budget = await lg.budget(scope_type="key", scope_id=key.id, amount=10**9)
        limit = await lg.rate_limit(scope_type="key", scope_id=key.id, concurrent=1, tokens_per_minute=10_000)
        response = await lg.chat(secret, model=model, max_tokens=20)
        assert response.status_code == status, response.text
        assert await counters(lg, budget["id"]) == (0, 0)
        current = (await lg.admin("GET", f"/rate-limits/{limit['id']}")).json()["current"]
        assert (current["concurrent"], current["tokens"]) == (0, 0)


async def test_a_client_that_leaves_before_the_answer_releases_the_reservation(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        budget = await lg.budget(scope_type="key", scope_id=key.id, amount=10**9)
        waiting = asyncio.create_task(lg.chat(secret, model="slow-ok", max_tokens=20))

        async def held() -> bool:
            return (await counters(lg, budget["id"]))[1] > 0

        await wait_for(held, "the request to be admitted")
        waiting.cancel()
        with pytest.raises(asyncio.CancelledError):
            await waiting
        assert await counters(lg, budget["id"]) == (0, 0)


async def test_a_later_admission_check_that_refuses_releases_the_earlier_ones() -> None:
    from sekisho.gateway.call import Call
    from sekisho.gateway.errors import GatewayError
    from sekisho.gateway.stages import Admit
    from sekisho.metering import Usage

    settled: list[Usage | None] = []

    class Holds:
        async def settle(self, usage: Usage | None) -> None:
            settled.append(usage)

    class Yes:
        async def admit(self, call: Call) -> Holds:
            return Holds()

    class No:
        async def admit(self, call: Call) -> Holds:
            raise GatewayError(429, "no", code="rate_limit_exceeded")

    call = Call(request_id="req_1", endpoint="chat.completions", body={})
    with pytest.raises(GatewayError):
        await Admit([Yes(), No()], audit=None)(call)  # type: ignore[arg-type]
    assert settled == [None]
    assert call.reservations == []


async def test_the_output_cap_is_sent_upstream_when_a_budget_applies(
    make_gateway: MakeGateway, upstream: Any
) -> None:
    mock = upstream[0]
    async with make_gateway(
        limits={"default_max_output_tokens": 64, "max_output_tokens": {"slow-ok": 32}}
    ) as lg:
        key, secret = lg.key()
        assert (await lg.chat(secret)).status_code == 200
        assert "max_tokens" not in mock.requests[-1]  # no budget, nothing added
        await lg.budget(scope_type="key", scope_id=key.id, amount=10**9)
        assert (await lg.chat(secret)).status_code == 200
        assert mock.requests[-1]["max_tokens"] == 64
        assert (await lg.chat(secret, model="slow-ok")).status_code == 200
        assert mock.requests[-1]["max_tokens"] == 32
        assert (await lg.chat(secret, max_completion_tokens=10)).status_code == 200
        assert "max_tokens" not in mock.requests[-1] and mock.requests[-1]["max_completion_tokens"] == 10


async def test_no_phantom_429_when_the_period_resets(gateway_with: Any) -> None:
    async with gateway_with() as lg:
        key, secret = lg.key()
        budget = await lg.budget(
            scope_type="key", scope_id=key.id, amount=SPENT_ONE + RESERVED_20, period="day"
        )
        await lg.rate_limit(scope_type="key", scope_id=key.id, concurrent=1)
        while (await lg.chat(secret, max_tokens=20)).status_code == 200:
            pass
        today = (await lg.get_budget(budget["id"]))["current"]
        lg.limits.clock.offset += 86400  # tomorrow
        assert (await lg.chat(secret, max_tokens=20)).status_code == 200
        tomorrow = (await lg.get_budget(budget["id"]))["current"]
        assert tomorrow["period_start"] > today["period_start"]
        assert (tomorrow["spent"], tomorrow["reserved"]) == (SPENT_ONE, 0)


async def test_limits_switched_off_admit_everything(make_gateway: MakeGateway) -> None:
    async with make_gateway(limits={"enabled": False}) as lg:
        key, secret = lg.key()
        await lg.budget(scope_type="key", scope_id=key.id, amount=0)
        assert (await lg.chat(secret)).status_code == 200
