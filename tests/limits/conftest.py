"""Fixtures for budgets and rate limits: the app with limits configured, keys with ids, Redis
with a key prefix of its own per test (removed afterwards), and helpers for the admin API."""

from __future__ import annotations

import secrets
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import redis

from sekisho.identity import ApiKey
from sekisho.limits.service import Limits
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway, mock_config, running_gateway

REDIS_URL = "redis://127.0.0.1:6379/0"
CHAT = "/v1/chat/completions"
ADMIN = "/admin/v1"
# gpt-4o-mini in mock_config: 0.15 USD per million prompt tokens, 0.60 per million completion tokens.
IN_NANO, OUT_NANO = 150, 600


def redis_available() -> bool:
    try:
        return bool(redis.Redis.from_url(REDIS_URL, socket_connect_timeout=1).ping())
    except redis.RedisError:
        return False


@pytest.fixture
def redis_prefix() -> Iterator[str]:
    """A key prefix of this test's own; every key under it is deleted afterwards."""
    if not redis_available():
        pytest.fail(f"Redis is not reachable at {REDIS_URL} (scripts/ensure-services.sh starts it)")
    prefix = f"sekisho-test-{secrets.token_hex(4)}:"
    yield prefix
    client = redis.Redis.from_url(REDIS_URL)
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        client.delete(key)
    client.close()


def redis_keys(prefix: str) -> dict[str, Any]:
    """Every key under ``prefix`` with its value (hash, sorted set members or string)."""
    client = redis.Redis.from_url(REDIS_URL, decode_responses=True)
    out: dict[str, Any] = {}
    for key in client.scan_iter(match=f"{prefix}*", count=500):
        kind = client.type(key)
        if kind == "hash":
            out[key] = client.hgetall(key)
        elif kind == "zset":
            out[key] = client.zrange(key, 0, -1)
        elif kind == "string":
            out[key] = client.get(key)
    client.close()
    return out


@dataclass
class LimitsGateway:
    """A running app with helpers for keys, budgets and chat calls."""

    gw: Gateway

    @property
    def client(self) -> httpx.AsyncClient:
        return self.gw.client

    @property
    def limits(self) -> Limits:
        limits: Limits = self.gw.app.state.limits
        return limits

    @property
    def org_id(self) -> str:
        return str(self.gw.core.tenancy.ensure_default_org().id)

    def key(self, **kwargs: Any) -> tuple[ApiKey, str]:
        """A new key of the default project (owned by the service account unless ``user`` is given)."""
        tenancy = self.gw.core.tenancy
        org = tenancy.ensure_default_org()
        project = kwargs.pop("project", None) or tenancy.get_project("default", org.id)
        user = kwargs.pop("user", None) or tenancy.service_account_for(org.id, actor="test")
        key, secret = tenancy.create_key(project, user, "test", actor="test", **kwargs)
        return key, str(secret)

    async def admin(self, method: str, path: str, **kwargs: Any) -> httpx.Response:
        headers = {"authorization": f"Bearer {kwargs.pop('key', MASTER_KEY)}"}
        return await self.client.request(method, ADMIN + path, headers=headers, **kwargs)

    async def budget(self, **body: Any) -> dict[str, Any]:
        response = await self.admin("POST", "/budgets", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def rate_limit(self, **body: Any) -> dict[str, Any]:
        response = await self.admin("POST", "/rate-limits", json=body)
        assert response.status_code == 201, response.text
        result: dict[str, Any] = response.json()
        return result

    async def get_budget(self, budget_id: str) -> dict[str, Any]:
        response = await self.admin("GET", f"/budgets/{budget_id}")
        assert response.status_code == 200, response.text
        result: dict[str, Any] = response.json()
        return result

    async def chat(
        self, secret: str, text: str = "Hello there, how are you today?", **body: Any
    ) -> httpx.Response:
        payload = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": text}], **body}
        return await self.client.post(CHAT, json=payload, headers={"authorization": f"Bearer {secret}"})

    def flush(self) -> None:
        """Write settled spend and queued audit/usage records now."""
        self.limits.ledger.flush()
        self.gw.flush()


PRICED = {"provider": "mock", "input_cost_per_1m": 0.15, "output_cost_per_1m": 0.60}
EXTRA_MODELS: list[dict[str, Any]] = [
    # Answers after 600 ms: requests that are certainly in flight while a test looks.
    {"name": "slow-ok", "upstream_model": "mock-slow-600", "max_retries": 0, **PRICED},
    # Streams one word every 150 ms: a client can leave mid-stream.
    {"name": "trickle", "upstream_model": "mock-trickle-150", **PRICED},
    {"name": "priced-500", "upstream_model": "mock-500", "max_retries": 0, **PRICED},
    {
        "name": "priced-timeout",
        "upstream_model": "mock-slow-3000",
        "timeout_seconds": 0.3,
        "max_retries": 0,
        **PRICED,
    },
]

MakeGateway = Callable[..., AbstractAsyncContextManager[LimitsGateway]]


@pytest.fixture
def make_gateway(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> MakeGateway:
    """``async with make_gateway(limits={...}, **config) as lg:`` — the app on this test's database."""

    @asynccontextmanager
    async def make(limits: dict[str, Any] | None = None, **config: Any) -> AsyncIterator[LimitsGateway]:
        base = mock_config(upstream[1])
        base["models"] += EXTRA_MODELS
        settings = make_settings(
            {
                **base,
                "guardrails": {"enabled": False},
                "policy": {"enabled": False},
                "crisis": {"enabled": False},
                "limits": {"flush_seconds": 0.2, **(limits or {})},
                **config,
            },
            SEKISHO_DATABASE_URL=database_url,
            SEKISHO_MASTER_KEY=MASTER_KEY,
        )
        async with running_gateway(settings) as gw:
            yield LimitsGateway(gw)

    return make


def cost(prompt: int, completion: int) -> int:
    """What gpt-4o-mini costs in nano-dollars for the given tokens."""
    return prompt * IN_NANO + completion * OUT_NANO
