"""Upstream failures through the real app: retries, fallbacks, timeouts, broken streams, metering.

Every failure must reach the client as an OpenAI-format error (never a bare 500), and every call,
failed or not, must leave an audit record and a usage row that say what happened.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import orjson
import pytest
from sqlalchemy import select

from sekisho.settings import Settings
from sekisho.store.tables import usage_events
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway, free_port, running_gateway

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
Upstream = tuple[MockUpstream, str]


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def sse_events(text: str) -> list[str]:
    """The ``data:`` payloads of an SSE body, in order."""
    return [block[6:] for block in text.split("\n\n") if block.startswith("data: ")]


def assert_openai_error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    """The response is ``status`` with an OpenAI-shaped error body carrying ``code``."""
    assert response.status_code == status, response.text
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert isinstance(error["message"], str)
    assert error["message"]
    assert error["code"] == code
    return dict(error)


def upstream_calls(mock: MockUpstream, upstream_model: str) -> int:
    """How many requests the mock upstream has received for ``upstream_model`` so far."""
    return sum(1 for body in mock.requests if body.get("model") == upstream_model)


def audit_records(gateway: Gateway, request_id: str) -> dict[str, dict[str, Any]]:
    """The audit records of one request, by kind (after the writer has flushed)."""
    gateway.flush()
    return {r["kind"]: r for r in gateway.core.audit.export() if r["request_id"] == request_id}


def usage_row(gateway: Gateway, request_id: str) -> dict[str, Any]:
    """The one usage_events row of a request."""
    gateway.flush()
    with gateway.core.engine.connect() as conn:
        rows = conn.execute(select(usage_events).where(usage_events.c.request_id == request_id)).mappings()
        found = [dict(r) for r in rows]
    assert len(found) == 1, found
    return found[0]


def nano(prompt: int, completion: int, input_per_1m: float, output_per_1m: float) -> int:
    """Expected cost in nano-USD, computed independently of sekisho.metering."""
    return round(prompt * input_per_1m * 1000 + completion * output_per_1m * 1000)


async def chat(gateway: Gateway, model: str, text: str = "hello world", **extra: Any) -> httpx.Response:
    body = {"model": model, "messages": user(text), **extra}
    return await gateway.client.post(CHAT, headers=gateway.headers(), json=body)


# Retries ----------------------------------------------------------------------------------------


async def test_upstream_500_is_retried_then_502(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    model = next(m for m in gateway.settings.models if m.name == "always-500")
    before = upstream_calls(mock, "mock-500")
    response = await chat(gateway, "always-500")
    error = assert_openai_error(response, 502, "upstream_error")
    assert error["type"] == "api_error"
    assert upstream_calls(mock, "mock-500") - before == model.max_retries + 1 == 2
    records = audit_records(gateway, response.headers["x-request-id"])
    assert records["request.failed"]["data"]["attempts"] == 2
    assert records["request.failed"]["data"]["error_code"] == "upstream_error"
    assert "request.completed" not in records


async def test_upstream_500_on_a_stream_is_retried_then_502(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    before = upstream_calls(mock, "mock-500")
    response = await chat(gateway, "always-500", stream=True)
    assert_openai_error(response, 502, "upstream_error")
    assert upstream_calls(mock, "mock-500") - before == 2


async def test_upstream_429_is_retried_then_429(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    before = upstream_calls(mock, "mock-429")
    response = await chat(gateway, "always-429")
    error = assert_openai_error(response, 429, "upstream_rate_limited")
    assert error["type"] == "rate_limit_error"
    assert upstream_calls(mock, "mock-429") - before == 2


async def test_flaky_upstream_succeeds_after_retries(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    flaky = next(m for m in gateway.settings.models if m.name == "flaky")
    response = await chat(gateway, "flaky", "still there")
    assert response.status_code == 200, response.text
    assert response.json()["choices"][0]["message"]["content"] == "Echo: still there"
    # Two 503s, then the answer: three attempts, all on the same model.
    assert upstream_calls(mock, flaky.target) == 3
    completed = audit_records(gateway, response.headers["x-request-id"])["request.completed"]
    assert completed["data"]["attempts"] == 3
    assert completed["data"]["served_model"] == "flaky"


async def test_flaky_upstream_stream_succeeds_after_retries(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    flaky = next(m for m in gateway.settings.models if m.name == "flaky")
    response = await chat(gateway, "flaky", "one two", stream=True)
    assert response.status_code == 200, response.text
    events = sse_events(response.text)
    assert events[-1] == "[DONE]"
    text = "".join(
        c["choices"][0]["delta"].get("content") or "" for c in map(orjson.loads, events[:-1]) if c["choices"]
    )
    assert text == "Echo: one two"
    assert upstream_calls(mock, flaky.target) == 3


# Timeouts and fallbacks -------------------------------------------------------------------------


async def test_slow_upstream_times_out_with_504(gateway: Gateway) -> None:
    for stream in (False, True):
        response = await chat(gateway, "slow", stream=stream)
        error = assert_openai_error(response, 504, "upstream_timeout")
        assert error["type"] == "api_error"
        failed = audit_records(gateway, response.headers["x-request-id"])["request.failed"]
        assert failed["data"]["status_code"] == 504
        assert failed["data"]["attempts"] == 1


async def test_fallback_serves_when_the_model_fails(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    for stream in (False, True):
        before_500, before_ok = upstream_calls(mock, "mock-500"), upstream_calls(mock, "mock-gpt")
        response = await chat(gateway, "with-fallback", "fall back", stream=stream)
        assert response.status_code == 200, response.text
        if stream:
            assert sse_events(response.text)[-1] == "[DONE]"
        else:
            assert response.json()["choices"][0]["message"]["content"] == "Echo: fall back"
        assert upstream_calls(mock, "mock-500") - before_500 == 1  # max_retries 0: one try, then fallback
        assert upstream_calls(mock, "mock-gpt") - before_ok == 1
        request_id = response.headers["x-request-id"]
        completed = audit_records(gateway, request_id)["request.completed"]
        assert completed["data"]["model"] == "with-fallback"
        assert completed["data"]["served_model"] == "gpt-4o-mini"
        assert completed["data"]["attempts"] == 2
        row = usage_row(gateway, request_id)
        assert (row["model"], row["served_model"]) == ("with-fallback", "gpt-4o-mini")
        # Priced at the model that served: "fall back" is 2 prompt tokens, "Echo: fall back" 3.
        assert row["cost_nanousd"] == nano(2, 3, 0.15, 0.60)


# Client errors from upstream --------------------------------------------------------------------


async def test_upstream_400_passes_through_unchanged(gateway: Gateway, upstream: Upstream) -> None:
    mock, _ = upstream
    for stream in (False, True):
        before = upstream_calls(mock, "mock-400")
        response = await chat(gateway, "bad-request", stream=stream)
        assert response.status_code == 400, response.text
        assert response.json() == {
            "error": {
                "message": "context too long",
                "type": "invalid_request_error",
                "param": "messages",
                "code": "context_length_exceeded",
            }
        }
        # The client's mistake: not retried (bad-request has the default max_retries of 2).
        assert upstream_calls(mock, "mock-400") - before == 1
        failed = audit_records(gateway, response.headers["x-request-id"])["request.failed"]
        assert failed["data"]["status_code"] == 400


# Broken streams ---------------------------------------------------------------------------------


async def test_stream_dropped_midway_ends_with_an_error_event(gateway: Gateway) -> None:
    response = await chat(gateway, "drops", "one two three four", stream=True)
    assert response.status_code == 200  # the headers were already sent when the upstream broke
    events = sse_events(response.text)
    assert "[DONE]" not in events
    assert "data: [DONE]" not in response.text
    chunks = [orjson.loads(e) for e in events]
    # What arrived before the break was relayed, then one OpenAI-format error event ends the stream.
    relayed = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks[:-1] if c.get("choices"))
    assert relayed == "Echo: one"
    last = chunks[-1]
    assert set(last) == {"error"}
    assert set(last["error"]) == {"message", "type", "param", "code"}
    assert last["error"]["code"] == "stream_interrupted"
    assert last["error"]["type"] == "api_error"

    request_id = response.headers["x-request-id"]
    records = audit_records(gateway, request_id)
    assert "request.completed" not in records
    failed = records["request.failed"]["data"]
    assert failed["outcome"] == "failed"
    assert failed["error_code"] == "stream_interrupted"
    assert failed["status_code"] == 502
    row = usage_row(gateway, request_id)
    assert row["status_code"] == 502
    assert row["usage_estimated"] is True
    assert row["prompt_tokens"] > 0


# Usage the upstream does not report --------------------------------------------------------------


async def test_missing_upstream_usage_is_estimated_and_priced(gateway: Gateway) -> None:
    for stream in (False, True):
        response = await chat(gateway, "no-usage", "count these words please", stream=stream)
        assert response.status_code == 200, response.text
        if stream:
            assert sse_events(response.text)[-1] == "[DONE]"
        else:
            assert "usage" not in response.json()  # relayed as the upstream sent it
        request_id = response.headers["x-request-id"]
        row = usage_row(gateway, request_id)
        assert row["usage_estimated"] is True
        assert row["prompt_tokens"] > 0
        assert row["completion_tokens"] > 0
        assert row["cost_nanousd"] == nano(row["prompt_tokens"], row["completion_tokens"], 1.0, 2.0)
        assert row["cost_nanousd"] > 0
        completed = audit_records(gateway, request_id)["request.completed"]["data"]
        assert completed["usage_estimated"] is True
        assert completed["cost_nanousd"] == row["cost_nanousd"]


# Unreachable upstream ---------------------------------------------------------------------------


@pytest.fixture
async def unreachable(database_url: str, make_settings: Callable[..., Settings]) -> AsyncIterator[Gateway]:
    """The app with one provider whose base_url points at a port nothing listens on."""
    closed = f"http://127.0.0.1:{free_port()}/v1"
    settings = make_settings(
        {
            "providers": [{"name": "ghost", "type": "openai", "base_url": closed, "api_key": "sk-x"}],
            "models": [{"name": "ghost-model", "provider": "ghost", "max_retries": 1}],
        },
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    async with running_gateway(settings) as gw:
        yield gw


async def test_unreachable_upstream_is_503(unreachable: Gateway) -> None:
    for stream in (False, True):
        response = await chat(unreachable, "ghost-model", stream=stream)
        error = assert_openai_error(response, 503, "upstream_unavailable")
        assert error["type"] == "api_error"
        failed = audit_records(unreachable, response.headers["x-request-id"])["request.failed"]["data"]
        assert failed["attempts"] == 2  # connection failures are retried
        assert failed["error_code"] == "upstream_unavailable"
        assert usage_row(unreachable, response.headers["x-request-id"])["status_code"] == 503


# The shape of every failure ---------------------------------------------------------------------


_FAILURES = [
    ("always-500", 502, "upstream_error"),
    ("always-429", 429, "upstream_rate_limited"),
    ("slow", 504, "upstream_timeout"),
    ("bad-request", 400, "context_length_exceeded"),
    ("embed", 400, "wrong_model_kind"),
    ("no-such-model", 404, "model_not_found"),
]


async def test_every_failure_is_an_openai_error_never_a_500(gateway: Gateway) -> None:
    for model, status, code in _FAILURES:
        for stream in (False, True):
            response = await chat(gateway, model, stream=stream)
            assert response.status_code != 500, (model, stream)
            assert_openai_error(response, status, code)
            assert response.headers["x-request-id"].startswith("req_")


# Metering ---------------------------------------------------------------------------------------


async def test_usage_events_hold_exact_tokens_and_cost(gateway: Gateway) -> None:
    calls = [
        ("hello world", False, 2, 3),  # "Echo: hello world" is 3 words
        ("one two three", True, 3, 4),
        ("a b c d e", False, 5, 6),
        ("x", True, 1, 2),
    ]
    expected: dict[str, tuple[int, int, int]] = {}
    for text, stream, prompt, completion in calls:
        response = await chat(gateway, "gpt-4o-mini", text, stream=stream)
        assert response.status_code == 200, response.text
        expected[response.headers["x-request-id"]] = (
            prompt,
            completion,
            nano(prompt, completion, 0.15, 0.60),
        )

    gateway.flush()
    with gateway.core.engine.connect() as conn:
        rows = conn.execute(select(usage_events).order_by(usage_events.c.id)).mappings().all()
    by_request = {r["request_id"]: r for r in rows}
    assert set(by_request) == set(expected)
    for request_id, (prompt, completion, cost) in expected.items():
        row = by_request[request_id]
        assert (row["prompt_tokens"], row["completion_tokens"]) == (prompt, completion)
        assert row["cost_nanousd"] == cost
        assert row["usage_estimated"] is False
        assert row["status_code"] == 200
        assert (row["model"], row["served_model"]) == ("gpt-4o-mini", "gpt-4o-mini")
        assert row["endpoint"] == "chat.completions"
    # 2 prompt + 3 completion tokens at 0.15 / 0.60 USD per million: 300 + 1,800 nano-USD.
    assert by_request[next(iter(expected))]["cost_nanousd"] == 2100
    assert sum(r["cost_nanousd"] for r in rows) == sum(c for _, _, c in expected.values())
