"""Redis unreachable (a closed port): fail closed by default (503), or fail open when configured,
in which case spend still reaches budget_spend. Never a 500."""

from __future__ import annotations

import pytest
from sqlalchemy import select

from sekisho.store.tables_budgets import budget_spend
from tests.conftest import free_port
from tests.limits.conftest import MakeGateway, cost

pytestmark = pytest.mark.anyio


def closed_redis() -> str:
    return f"redis://127.0.0.1:{free_port()}/0"


async def test_fail_closed_refuses_with_503_and_sends_nothing(
    make_gateway: MakeGateway, upstream: object
) -> None:
    mock = upstream[0]  # type: ignore[index]
    async with make_gateway(limits={"backend": "redis", "redis_url": closed_redis()}) as lg:
        key, secret = lg.key()
        await lg.budget(scope_type="key", scope_id=key.id, amount=10**9)
        before = len(mock.requests)
        response = await lg.chat(secret, "A request for the closed Redis")
        assert response.status_code == 503, response.text
        error = response.json()["error"]
        assert (error["code"], error["type"]) == ("limits_unavailable", "api_error")
        assert response.headers["retry-after"] == "1"
        assert len(mock.requests) == before
        # A key no budget or limit applies to does not need the counters.
        _other, free = lg.key()
        assert (await lg.chat(free)).status_code == 200
        # The admin API still answers, with the durable spend.
        listed = await lg.admin("GET", "/budgets")
        assert listed.status_code == 200
        assert (await lg.admin("GET", "/rate-limits")).status_code == 200


async def test_fail_open_lets_requests_through_and_still_records_spend(make_gateway: MakeGateway) -> None:
    async with make_gateway(
        limits={"backend": "redis", "redis_url": closed_redis(), "on_backend_error": "fail_open"}
    ) as lg:
        key, secret = lg.key()
        budget = await lg.budget(scope_type="key", scope_id=key.id, amount=1)  # would refuse everything
        await lg.rate_limit(scope_type="key", scope_id=key.id, requests_per_minute=1)
        assert [(await lg.chat(secret, max_tokens=20)).status_code for _ in range(2)] == [200, 200]
        lg.flush()
        with lg.gw.core.engine.connect() as conn:
            spent = conn.execute(
                select(budget_spend.c.spent).where(budget_spend.c.budget_id == budget["id"])
            ).scalar()
        assert spent == 2 * cost(6, 7)
        assert (await lg.get_budget(budget["id"]))["current"]["spent"] == 2 * cost(6, 7)
