"""The issue's proof: two real ``sekisho serve`` processes share PostgreSQL and Redis, and 500
concurrent requests at one key with a small budget never spend more than the budget.

Each request reserves its largest possible cost before it is sent (prompt estimate + max_tokens at
the model's price) in one Redis script across every counter, so the spend that can settle is bounded
by what was reserved: the documented bound on overspend is 0 when the upstream honours max_tokens
and the prompt estimate is not below the upstream's count (both hold for the mock used here). Then
the period moves to tomorrow (both processes restarted with the clock a day ahead) and requests pass
again — no phantom 429 — and every reservation and concurrency counter in Redis is back to zero.
"""

from __future__ import annotations

import asyncio
import signal
import subprocess
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import ExitStack, contextmanager
from pathlib import Path
from typing import Any

import httpx
import pytest
import yaml
from sqlalchemy import func, select

from sekisho.store import create_db_engine
from sekisho.store.tables import usage_events
from sekisho.store.tables_budgets import budget_spend
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, SEKISHO_BIN, cli_env, free_port, run_sekisho
from tests.limits.conftest import redis_keys

pytestmark = [pytest.mark.slow, pytest.mark.postgres, pytest.mark.timeout(300), pytest.mark.anyio]

PROMPT = "Please summarise the following quarterly numbers for our finance team"
# 1 USD per million prompt tokens, 2 USD per million completion tokens: 1,000 and 2,000 nano-dollars.
ACTUAL = 10 * 1000 + 11 * 2000  # the mock counts 10 prompt words and answers "Echo: " + 10 words
RESERVED = (17 + 4) * 1000 + 40 * 2000  # the prompt estimate (+ message overhead) and max_tokens=40
BUDGET = 5_000_000  # 0.005 USD: room for about 156 answers, so most of the 500 are refused
REQUESTS = 500
TTL = 20  # reservation TTL of the kill test


class Server:
    """One ``sekisho serve`` process."""

    def __init__(self, config: Path, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("ab")
        self.proc = subprocess.Popen(
            [str(SEKISHO_BIN), "serve", "--config", str(config), "--port", str(self.port)],
            env=env, stdout=self._log, stderr=subprocess.STDOUT,
        )  # fmt: skip

    def wait_ready(self, timeout: float = 90.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited:\n{self.log_path.read_text(errors='replace')}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server not ready:\n{self.log_path.read_text(errors='replace')}")
            time.sleep(0.1)

    def stop(self) -> None:
        """SIGTERM (an orderly stop writes the spend still held in memory), SIGKILL if it hangs."""
        if self.proc.poll() is None:
            self.proc.send_signal(signal.SIGTERM)
            try:
                self.proc.wait(30)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait(10)
        self._log.close()


@contextmanager
def replicas(config: Path, env: dict[str, str], logs: Path) -> Iterator[list[Server]]:
    with ExitStack() as stack:
        servers = []
        for name in ("a", "b"):
            server = Server(config, {**env, "SEKISHO_INSTANCE_ID": f"replica-{name}"}, logs / f"{name}.log")
            stack.callback(server.stop)
            servers.append(server)
        for server in servers:
            server.wait_ready()
        yield servers


def write_config(path: Path, upstream: str, database_url: str, prefix: str, *, offset: float = 0) -> None:
    path.write_text(
        yaml.safe_dump(
            {
                "database_url": database_url,
                "auto_migrate": False,  # migrated once, by `sekisho migrate`, before the replicas start
                "retry_backoff_seconds": 0.01,
                "key_cache_seconds": 0,
                "providers": [{"name": "mock", "type": "openai", "base_url": upstream, "api_key": "sk-up"}],
                "models": [
                    {
                        "name": "m",
                        "provider": "mock",
                        "upstream_model": "mock-slow-50",
                        "max_retries": 0,
                        "input_cost_per_1m": 1.0,
                        "output_cost_per_1m": 2.0,
                    },
                ],
                "guardrails": {"enabled": False},
                "policy": {"enabled": False},
                "crisis": {"enabled": False},
                "limits": {
                    "backend": "redis",
                    "key_prefix": prefix,
                    "flush_seconds": 0.2,
                    "reconcile_seconds": 1,
                    "clock_offset_seconds": offset,
                },
            }
        )
    )


async def fire(servers: list[Server], secret: str, count: int) -> list[httpx.Response]:
    body = {"model": "m", "max_tokens": 40, "messages": [{"role": "user", "content": PROMPT}]}
    limits = httpx.Limits(max_connections=count, max_keepalive_connections=count)
    async with httpx.AsyncClient(timeout=120, limits=limits) as client:
        return await asyncio.gather(
            *(
                client.post(
                    f"{servers[i % 2].url}/v1/chat/completions",
                    json=body,
                    headers={"authorization": f"Bearer {secret}"},
                )
                for i in range(count)
            )
        )


async def admin(method: str, server: Server, path: str, body: dict[str, Any] | None = None) -> httpx.Response:
    async with httpx.AsyncClient(timeout=30) as client:
        return await client.request(
            method,
            f"{server.url}/admin/v1{path}",
            json=body,
            headers={"authorization": f"Bearer {MASTER_KEY}"},
        )


def held(prefix: str) -> dict[str, Any]:
    """Reservations and running requests still recorded in Redis (should be none at rest)."""
    out: dict[str, Any] = {}
    for key, value in redis_keys(prefix).items():
        if isinstance(value, list) and value:
            out[key] = value
        elif isinstance(value, dict):
            live = {f: v for f, v in value.items() if f.startswith("r:") or (f == "reserved" and v != "0")}
            if live:
                out[key] = live
    return out


def durable(database_url: str, budget_id: str, key_id: str) -> tuple[dict[str, int], int]:
    engine = create_db_engine(database_url)
    try:
        with engine.connect() as conn:
            spend = {
                r.period_start: int(r.spent)
                for r in conn.execute(select(budget_spend).where(budget_spend.c.budget_id == budget_id))
            }
            metered = conn.execute(
                select(func.coalesce(func.sum(usage_events.c.cost_nanousd), 0)).where(
                    usage_events.c.key_id == key_id
                )
            ).scalar_one()
    finally:
        engine.dispose()
    return spend, int(metered)


def wait_until(condition: Any, what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.2)


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_two_replicas_never_spend_more_than_the_budget(
    database_url: str, upstream: tuple[MockUpstream, str], redis_prefix: str, tmp_path: Path
) -> None:
    config = tmp_path / "sekisho.yaml"
    write_config(config, upstream[1], database_url, redis_prefix)
    env = cli_env(tmp_path / "data", SEKISHO_MASTER_KEY=MASTER_KEY)
    migrated = run_sekisho("migrate", "--config", str(config), env=env)
    assert migrated.returncode == 0, migrated.stderr

    with replicas(config, env, tmp_path) as servers:
        created = await admin("POST", servers[0], "/keys", {"project_id": "default", "name": "load"})
        assert created.status_code == 201, created.text
        key_id, secret = created.json()["id"], created.json()["key"]
        budget_body = {"scope_type": "key", "scope_id": key_id, "amount": BUDGET, "period": "day"}
        budget = (await admin("POST", servers[1], "/budgets", budget_body)).json()
        limit_body = {"scope_type": "key", "scope_id": key_id, "concurrent": 64}
        limit = await admin("POST", servers[0], "/rate-limits", limit_body)
        assert limit.status_code == 201, limit.text

        responses = await fire(servers, secret, REQUESTS)
        outcomes = Counter(
            r.status_code if r.status_code == 200 else (r.status_code, r.json()["error"]["code"])
            for r in responses
        )
        assert set(outcomes) <= {200, (429, "budget_exceeded"), (429, "concurrency_limit_exceeded")}, outcomes
        answered = outcomes[200]
        assert 0 < answered < REQUESTS and outcomes[(429, "budget_exceeded")] > 0

        # Counters return to zero when traffic stops: no reservation, no running request left in Redis.
        wait_until(lambda: not held(redis_prefix), "Redis reservations to drain")
        # No phantom 429 in the period either: while a whole reservation still fits, requests pass.
        while True:
            (one,) = await fire(servers[answered % 2 :], secret, 1)
            if one.status_code != 200:
                break
            answered += 1
        assert one.status_code == 429 and one.json()["error"]["code"] == "budget_exceeded"
        assert BUDGET - answered * ACTUAL < RESERVED
        today = (await admin("GET", servers[0], f"/budgets/{budget['id']}")).json()["current"]
        wait_until(
            lambda: (
                durable(database_url, budget["id"], key_id)[0].get(today["period_start"]) == answered * ACTUAL
            ),
            "spend to be written",
        )

    spend, metered = durable(database_url, budget["id"], key_id)
    settled = spend[today["period_start"]]
    # The bound: settled spend never exceeds the budget (0 overspend), and it is exactly what was metered.
    assert settled <= BUDGET
    assert settled == metered == answered * ACTUAL
    assert today == {**today, "spent": settled, "reserved": 0}

    # Tomorrow (both replicas restarted with the limits clock a day ahead): no phantom 429.
    write_config(config, upstream[1], database_url, redis_prefix, offset=86400)
    with replicas(config, env, tmp_path) as servers:
        again = await fire(servers, secret, 40)
        assert Counter(r.status_code for r in again) == {200: 40}
        wait_until(lambda: not held(redis_prefix), "Redis reservations to drain")
        tomorrow = (await admin("GET", servers[1], f"/budgets/{budget['id']}")).json()["current"]
        assert tomorrow["period_start"] > today["period_start"]
        assert (tomorrow["spent"], tomorrow["reserved"]) == (40 * ACTUAL, 0)
    assert durable(database_url, budget["id"], key_id)[0][tomorrow["period_start"]] == 40 * ACTUAL


@pytest.mark.parametrize("database_url", ["postgres"], indirect=True)
async def test_a_killed_replicas_reservations_expire(
    database_url: str, upstream: tuple[MockUpstream, str], redis_prefix: str, tmp_path: Path
) -> None:
    """SIGKILL a replica while its request is upstream: its concurrency slot and budget reservation
    stay held until the reservation TTL, then the next admission frees them (no permanent leak)."""
    config = tmp_path / "sekisho.yaml"
    write_config(config, upstream[1], database_url, redis_prefix)
    raw = yaml.safe_load(config.read_text())
    raw["models"].append({"name": "hang", "provider": "mock", "upstream_model": "mock-slow-30000",
                          "timeout_seconds": 60, "max_retries": 0, "input_cost_per_1m": 1.0})  # fmt: skip
    raw["limits"]["reservation_ttl_seconds"] = TTL
    config.write_text(yaml.safe_dump(raw))
    env = cli_env(tmp_path / "data", SEKISHO_MASTER_KEY=MASTER_KEY)
    assert run_sekisho("migrate", "--config", str(config), env=env).returncode == 0

    doomed = Server(config, {**env, "SEKISHO_INSTANCE_ID": "doomed"}, tmp_path / "doomed.log")
    try:
        doomed.wait_ready()
        created = (await admin("POST", doomed, "/keys", {"project_id": "default", "name": "k"})).json()
        key_id, secret = created["id"], created["key"]
        budget = (
            await admin(
                "POST", doomed, "/budgets", {"scope_type": "key", "scope_id": key_id, "amount": BUDGET}
            )
        ).json()
        await admin(
            "POST", doomed, "/rate-limits", {"scope_type": "key", "scope_id": key_id, "concurrent": 1}
        )
        body = {"model": "hang", "max_tokens": 40, "messages": [{"role": "user", "content": PROMPT}]}
        client = httpx.AsyncClient(timeout=60)
        hanging = asyncio.create_task(
            client.post(
                f"{doomed.url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}
            )
        )
        await asyncio.to_thread(wait_until, lambda: bool(held(redis_prefix)), "the request to be admitted")
        admitted = time.monotonic()
        doomed.proc.kill()  # SIGKILL: no settlement, no shutdown
        doomed.proc.wait(10)
        with pytest.raises(httpx.TransportError):
            await hanging
        await client.aclose()
    finally:
        doomed.stop()

    assert held(redis_prefix)  # nobody settled it
    with replicas(config, env, tmp_path) as servers:
        (refused,) = await fire(servers, secret, 1)
        if time.monotonic() - admitted < TTL - 2:  # (unless starting the replicas took longer than the TTL)
            assert refused.status_code == 429  # the dead replica's slot is still held …
            assert refused.json()["error"]["code"] == "concurrency_limit_exceeded"
        deadline = time.monotonic() + 2 * TTL
        answer = refused
        while answer.status_code != 200 and time.monotonic() < deadline:  # … until it expires
            await asyncio.sleep(0.5)
            (answer,) = await fire(servers, secret, 1)
        assert answer.status_code == 200, answer.text
        current = (await admin("GET", servers[0], f"/budgets/{budget['id']}")).json()["current"]
        # Only the request that was answered is charged; the dead one's reservation is gone.
        assert (current["spent"], current["reserved"]) == (ACTUAL, 0)
    assert not held(redis_prefix)
