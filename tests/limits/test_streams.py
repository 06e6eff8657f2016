"""Streams through a real uvicorn server: a client that leaves mid-stream gives its reservation back
and is charged what it used (the upstream bills those tokens too); a finished stream is charged in full."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from typing import Any

import httpx
import pytest

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, ServerThread, mock_config
from tests.limits.conftest import EXTRA_MODELS, redis_keys


@pytest.fixture(params=["memory", "redis"])
def backend(request: pytest.FixtureRequest) -> dict[str, Any]:
    if request.param == "memory":
        return {}
    return {"backend": "redis", "key_prefix": request.getfixturevalue("redis_prefix")}


@contextmanager
def serving(settings: Settings) -> Iterator[tuple[ServerThread, str, str, str]]:
    """The app behind uvicorn: (server, key secret, key id, usd budget id on the key)."""
    app = build_app(settings)
    with ServerThread(app) as server:
        tenancy = app.state.core.tenancy
        org = tenancy.ensure_default_org()
        key, secret = tenancy.create_key(
            tenancy.get_project("default", org.id),
            tenancy.service_account_for(org.id, actor="t"),
            "t",
            actor="t",
        )
        response = httpx.post(
            f"{server.url}/admin/v1/budgets",
            json={"scope_type": "key", "scope_id": key.id, "amount": 10**9},
            headers={"authorization": f"Bearer {MASTER_KEY}"},
        )
        assert response.status_code == 201, response.text
        yield server, str(secret), key.id, response.json()["id"]


def budget_now(server: ServerThread, budget_id: str) -> dict[str, Any]:
    response = httpx.get(
        f"{server.url}/admin/v1/budgets/{budget_id}", headers={"authorization": f"Bearer {MASTER_KEY}"}
    )
    current: dict[str, Any] = response.json()["current"]
    return current


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 15.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_client_leaving_mid_stream_releases_and_pays_for_what_it_got(
    database_url: str,
    upstream: tuple[MockUpstream, str],
    make_settings: Callable[..., Settings],
    backend: dict[str, Any],
) -> None:
    config = mock_config(upstream[1])
    config["models"] += EXTRA_MODELS
    off = {"enabled": False}
    limits = {"flush_seconds": 0.1, **backend}
    settings = make_settings(
        {**config, "guardrails": off, "policy": off, "crisis": off, "limits": limits},
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    words = " ".join(f"word{i}" for i in range(40))
    body = {
        "model": "trickle",
        "stream": True,
        "max_tokens": 100,
        "messages": [{"role": "user", "content": words}],
    }
    with serving(settings) as (server, secret, _key_id, budget_id):
        with (
            httpx.Client(base_url=server.url, timeout=10) as client,
            client.stream(
                "POST", "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}
            ) as response,
        ):
            assert response.status_code == 200
            assert budget_now(server, budget_id)["reserved"] > 0
            received = 0
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    received += 1
                if received == 4:
                    break  # leaving the block closes the connection mid-stream
        wait_until(lambda: budget_now(server, budget_id)["reserved"] == 0, "the reservation to be released")
        wait_until(lambda: budget_now(server, budget_id)["spent"] > 0, "the partial use to be charged")
        spent = budget_now(server, budget_id)["spent"]
        # Charged the prompt and the few words that were streamed: far below the whole answer (41 words).
        assert spent < 40 * 150 + 41 * 600
        # A stream read to the end is charged what its usage chunk says.
        short = {**body, "messages": [{"role": "user", "content": "three little words"}]}
        finished = httpx.post(
            f"{server.url}/v1/chat/completions",
            json=short,
            headers={"authorization": f"Bearer {secret}"},
            timeout=10,
        )
        assert finished.status_code == 200 and "[DONE]" in finished.text
        wait_until(
            lambda: budget_now(server, budget_id)["spent"] == spent + 3 * 150 + 4 * 600,
            "the full stream to be charged",
        )
        assert budget_now(server, budget_id)["reserved"] == 0
    if backend:
        assert not [k for k, v in redis_keys(backend["key_prefix"]).items() if isinstance(v, list) and v]
