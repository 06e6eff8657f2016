"""Unit tests: the SSE splitter, the Router's retries/back-off/fallbacks, and what the HTTP providers send."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

import orjson
import pytest

from sekisho.providers import (
    Attempt,
    ChatResult,
    Router,
    StreamInterrupted,
    UpstreamConnectError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from sekisho.providers import router as router_module
from sekisho.providers.openai_http import AzureOpenAIProvider, OpenAIProvider
from sekisho.providers.sse import data_payloads
from sekisho.settings import ConfigError, ModelSettings, ProviderSettings
from sekisho.testing.mock_upstream import answer_lifespan, read_body
from tests.conftest import ServerThread

pytestmark = pytest.mark.anyio


# SSE ---------------------------------------------------------------------------------------------


async def _chunks(parts: Iterable[bytes]) -> AsyncIterator[bytes]:
    for part in parts:
        yield part


async def payloads(parts: Iterable[bytes]) -> list[bytes]:
    return [p async for p in data_payloads(_chunks(parts))]


STREAM = b'data: {"a":1}\n\ndata: {"b":2}\n\ndata: [DONE]\n\n'


async def test_sse_whole_events_in_one_chunk() -> None:
    assert await payloads([STREAM]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]


async def test_sse_events_split_at_every_byte() -> None:
    assert await payloads([STREAM[i : i + 1] for i in range(len(STREAM))]) == [
        b'{"a":1}',
        b'{"b":2}',
        b"[DONE]",
    ]


async def test_sse_event_boundary_split_between_the_two_newlines() -> None:
    cut = STREAM.index(b"\n\n") + 1
    assert await payloads([STREAM[:cut], STREAM[cut:]]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]


async def test_sse_crlf_line_endings() -> None:
    crlf = STREAM.replace(b"\n", b"\r\n")
    assert await payloads([crlf]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"]
    # A CRLF pair cut in half by a chunk boundary, at every possible place.
    for cut in range(1, len(crlf)):
        assert await payloads([crlf[:cut], crlf[cut:]]) == [b'{"a":1}', b'{"b":2}', b"[DONE]"], cut


async def test_sse_multi_line_data_is_joined_with_newlines() -> None:
    raw = b"data: first\ndata: second\ndata:third\n\n"
    assert await payloads([raw]) == [b"first\nsecond\nthird"]


async def test_sse_comments_and_other_fields_carry_nothing() -> None:
    raw = (
        b": keep-alive\n\n"
        b": another comment\n\n"
        b"event: message\nid: 7\nretry: 1000\ndata: kept\n\n"
        b"event: ping\n\n"
        b": comment inside\ndata: also kept\n\n"
    )
    assert await payloads([raw]) == [b"kept", b"also kept"]


async def test_sse_data_without_a_space_after_the_colon() -> None:
    assert await payloads([b'data:{"x":1}\n\n']) == [b'{"x":1}']


async def test_sse_last_event_without_a_blank_line_is_not_lost() -> None:
    assert await payloads([b"data: one\n\ndata: two"]) == [b"one", b"two"]
    assert await payloads([b"data: one\n\n", b"\n", b""]) == [b"one"]


async def test_sse_nothing_in_nothing_out() -> None:
    assert await payloads([]) == []
    assert await payloads([b"\n\n\n\n"]) == []


# Router ------------------------------------------------------------------------------------------


Outcome = UpstreamError | str


class FakeProvider:
    """A provider whose answers are scripted per model: an error to raise, or a text to return."""

    def __init__(self, name: str, script: dict[str, list[Outcome]]) -> None:
        self.settings = ProviderSettings(name=name, base_url="http://unused")
        self.script = {model: list(outcomes) for model, outcomes in script.items()}
        self.calls: list[str] = []

    async def chat(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        self.calls.append(model.name)
        outcome = self.script[model.name].pop(0)
        if isinstance(outcome, UpstreamError):
            raise outcome
        data = {"answer": outcome}
        return ChatResult(orjson.dumps(data), data)


class FakeSleep:
    """Records the delays the router asks for instead of waiting."""

    def __init__(self) -> None:
        self.delays: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.delays.append(seconds)


def model(name: str, provider: str = "p", **kwargs: Any) -> ModelSettings:
    return ModelSettings(name=name, provider=provider, **kwargs)


def make_router(
    models: list[ModelSettings], providers: list[FakeProvider], backoff: float = 0.5
) -> tuple[Router, FakeSleep]:
    sleep = FakeSleep()
    router = Router(
        {m.name: m for m in models},
        {p.settings.name: p for p in providers},  # type: ignore[misc]
        backoff=backoff,
        sleep=sleep,
    )
    return router, sleep


async def chat(provider: Any, candidate: ModelSettings) -> ChatResult:
    result: ChatResult = await provider.chat(candidate, {})
    return result


def e500() -> UpstreamHTTPError:
    return UpstreamHTTPError(500, b'{"error": {"message": "boom"}}')


async def test_router_retries_max_retries_times_with_doubling_backoff() -> None:
    a = model("a", max_retries=3)
    provider = FakeProvider("p", {"a": [e500(), e500(), e500(), e500()]})
    router, sleep = make_router([a], [provider], backoff=0.5)
    with pytest.raises(UpstreamHTTPError) as raised:
        await router.call(a, chat)
    assert raised.value.status == 500
    assert provider.calls == ["a"] * 4
    assert sleep.delays == [0.5, 1.0, 2.0]  # no sleep after the last attempt


async def test_router_returns_the_first_success_and_every_attempt() -> None:
    a = model("a", max_retries=2)
    provider = FakeProvider("p", {"a": [e500(), UpstreamConnectError("refused"), "ok"]})
    router, sleep = make_router([a], [provider], backoff=0.1)
    result, served, tried = await router.call(a, chat)
    assert result.data == {"answer": "ok"}
    assert served is a
    assert [t.model for t in tried] == ["a", "a", "a"]
    assert [t.error is None for t in tried] == [False, False, True]
    assert sleep.delays == [0.1, 0.2]


async def test_router_with_no_retries_tries_once() -> None:
    a = model("a", max_retries=0)
    provider = FakeProvider("p", {"a": [e500()]})
    router, sleep = make_router([a], [provider])
    with pytest.raises(UpstreamHTTPError):
        await router.call(a, chat)
    assert provider.calls == ["a"]
    assert sleep.delays == []


@pytest.mark.parametrize(
    ("retry_after", "expected"),
    [
        (3.0, 3.0),  # longer than the back-off: the upstream knows best
        (0.01, 0.5),  # shorter: the back-off still applies
        (0.0, 0.5),
        (1000.0, router_module._MAX_RETRY_AFTER),  # capped, so one header cannot stall a request
    ],
)
async def test_router_honours_retry_after_up_to_its_cap(retry_after: float, expected: float) -> None:
    assert router_module._MAX_RETRY_AFTER < 1000.0
    a = model("a", max_retries=1)
    limited = UpstreamHTTPError(429, b"{}", retry_after=retry_after)
    provider = FakeProvider("p", {"a": [limited, "ok"]})
    router, sleep = make_router([a], [provider], backoff=0.5)
    result, _, _ = await router.call(a, chat)
    assert result.data == {"answer": "ok"}
    assert sleep.delays == [expected]


async def test_router_falls_back_in_order_after_retries() -> None:
    a = model("a", max_retries=1, fallbacks=["b", "c", "d"])
    b = model("b", provider="q", max_retries=0)
    c = model("c", max_retries=2)
    d = model("d")
    p = FakeProvider("p", {"a": [e500(), e500()], "c": [e500(), "from c"], "d": ["from d"]})
    q = FakeProvider("q", {"b": [UpstreamConnectError("refused")]})
    router, sleep = make_router([a, b, c, d], [p, q], backoff=0.25)
    result, served, tried = await router.call(a, chat)
    assert result.data == {"answer": "from c"}
    assert served is c
    assert [t.model for t in tried] == ["a", "a", "b", "c", "c"]
    assert [t.error is None for t in tried] == [False, False, False, False, True]
    assert p.calls == ["a", "a", "c", "c"]
    assert q.calls == ["b"]
    assert p.script["d"] == ["from d"]  # never reached
    # Back-off restarts for each candidate; no sleep between candidates.
    assert sleep.delays == [0.25, 0.25]


async def test_router_raises_the_last_error_when_every_candidate_fails() -> None:
    a = model("a", max_retries=0, fallbacks=["b"])
    b = model("b", max_retries=0)
    last = UpstreamHTTPError(503, b"")
    provider = FakeProvider("p", {"a": [e500()], "b": [last]})
    router, _ = make_router([a, b], [provider])
    with pytest.raises(UpstreamHTTPError) as raised:
        await router.call(a, chat)
    assert raised.value is last


@pytest.mark.parametrize("status", [400, 401, 404, 413, 422])
async def test_router_does_not_retry_or_fall_back_on_client_errors(status: int) -> None:
    a = model("a", max_retries=3, fallbacks=["b"])
    b = model("b")
    refused = UpstreamHTTPError(status, b'{"error": {"message": "no"}}')
    provider = FakeProvider("p", {"a": [refused], "b": ["should not be asked"]})
    router, sleep = make_router([a, b], [provider])
    tried: list[Attempt] = []
    with pytest.raises(UpstreamHTTPError) as raised:
        await router.call(a, chat, tried=tried)
    assert raised.value is refused
    assert provider.calls == ["a"]
    assert sleep.delays == []
    assert [t.model for t in tried] == ["a"]


async def test_router_timeout_falls_back_without_retrying() -> None:
    a = model("a", max_retries=3, fallbacks=["b"])
    b = model("b")
    provider = FakeProvider("p", {"a": [UpstreamTimeout("too slow")], "b": ["from b"]})
    router, sleep = make_router([a, b], [provider])
    result, served, _ = await router.call(a, chat)
    assert (result.data, served) == ({"answer": "from b"}, b)
    assert provider.calls == ["a", "b"]
    assert sleep.delays == []


async def test_router_fills_the_callers_attempt_list_even_when_it_raises() -> None:
    a = model("a", max_retries=2)
    provider = FakeProvider("p", {"a": [e500(), e500(), e500()]})
    router, _ = make_router([a], [provider])
    tried: list[Attempt] = []
    with pytest.raises(UpstreamHTTPError):
        await router.call(a, chat, tried=tried)
    assert [t.model for t in tried] == ["a", "a", "a"]
    assert all(t.error for t in tried)


# Azure OpenAI and the OpenAI provider, against a recording server on loopback -------------------
#
# The providers are exercised over real HTTP rather than through a client-library mock transport,
# so these tests check what goes on the wire whichever HTTP client the provider uses.


@dataclass
class Seen:
    """One request as the server received it."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes


@dataclass
class Canned:
    """The response the recording server sends next."""

    status: int = 200
    body: bytes = b"{}"
    headers: list[tuple[bytes, bytes]] = field(
        default_factory=lambda: [(b"content-type", b"application/json")]
    )


class RecordingServer:
    """ASGI app that keeps every request and answers each with ``self.reply``."""

    def __init__(self) -> None:
        self.seen: list[Seen] = []
        self.reply = Canned()

    async def __call__(self, scope: dict[str, Any], receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        body = await read_body(receive)
        self.seen.append(
            Seen(
                method=scope["method"],
                path=scope["path"],
                query=dict(parse_qsl(scope["query_string"].decode())),
                headers={k.decode(): v.decode() for k, v in scope["headers"]},
                body=body,
            )
        )
        reply = self.reply
        headers = [*reply.headers, (b"content-length", str(len(reply.body)).encode())]
        await send({"type": "http.response.start", "status": reply.status, "headers": headers})
        await send({"type": "http.response.body", "body": reply.body})


@pytest.fixture(scope="module")
def recording_server() -> Iterator[tuple[RecordingServer, str]]:
    app = RecordingServer()
    with ServerThread(app) as server:
        yield app, server.url


@pytest.fixture
def recorder(recording_server: tuple[RecordingServer, str]) -> tuple[RecordingServer, str]:
    app, url = recording_server
    app.seen.clear()
    app.reply = Canned()
    return app, url


def azure_settings(url: str, **update: Any) -> ProviderSettings:
    settings = ProviderSettings(
        name="az", type="azure", base_url=url, api_key="azure-secret", api_version="2024-10-21"
    )
    return settings.model_copy(update=update)


DEPLOYMENT = model("gpt-4o", provider="az", upstream_model="gpt4o-prod")


def chat_json() -> dict[str, Any]:
    return {
        "id": "chatcmpl-1",
        "object": "chat.completion",
        "choices": [{"index": 0, "message": {"role": "assistant", "content": "hi"}, "finish_reason": "stop"}],
        "usage": {"prompt_tokens": 1, "completion_tokens": 1, "total_tokens": 2},
    }


async def test_azure_chat_uses_the_deployment_path_api_version_and_api_key(
    recorder: tuple[RecordingServer, str],
) -> None:
    server, url = recorder
    server.reply = Canned(body=orjson.dumps(chat_json()))
    provider = AzureOpenAIProvider(azure_settings(url))
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "temperature": 0}
        result = await provider.chat(DEPLOYMENT, body)
    finally:
        await provider.aclose()
    assert result.data == chat_json()
    (request,) = server.seen
    assert request.method == "POST"
    assert request.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert request.query == {"api-version": "2024-10-21"}
    assert request.headers["api-key"] == "azure-secret"
    assert "authorization" not in request.headers
    assert request.headers["content-type"] == "application/json"
    # The deployment chooses the model; the body keeps everything else.
    assert orjson.loads(request.body) == {"messages": [{"role": "user", "content": "hi"}], "temperature": 0}


async def test_azure_stream_and_embeddings_use_the_deployment_path(
    recorder: tuple[RecordingServer, str],
) -> None:
    server, url = recorder
    sse = (
        b'data: {"choices":[{"index":0,"delta":{"content":"hi"},"finish_reason":null}]}\r\n\r\n'
        b'data: {"choices":[{"index":0,"delta":{},"finish_reason":"stop"}]}\r\n\r\n'
        b"data: [DONE]\r\n\r\n"
    )
    server.reply = Canned(body=sse, headers=[(b"content-type", b"text/event-stream")])
    provider = AzureOpenAIProvider(azure_settings(url + "/"))  # a trailing slash changes nothing
    try:
        body = {"model": "gpt-4o", "messages": [{"role": "user", "content": "hi"}], "stream": True}
        chunks = [orjson.loads(p) async for p in provider.chat_stream(DEPLOYMENT, body)]
        assert [c["choices"][0]["delta"].get("content") for c in chunks] == ["hi", None]
        server.reply = Canned(body=b'{"object": "list", "data": []}')
        embedder = model("embed", provider="az", upstream_model="ada-prod", kind="embedding")
        await provider.embeddings(embedder, {"model": "embed", "input": "x"})
    finally:
        await provider.aclose()
    stream_request, embed_request = server.seen
    assert stream_request.path == "/openai/deployments/gpt4o-prod/chat/completions"
    assert stream_request.query == {"api-version": "2024-10-21"}
    assert "model" not in orjson.loads(stream_request.body)
    assert embed_request.path == "/openai/deployments/ada-prod/embeddings"
    assert embed_request.query == {"api-version": "2024-10-21"}
    assert embed_request.headers["api-key"] == "azure-secret"


def test_azure_needs_an_api_version() -> None:
    with pytest.raises(ConfigError, match="api_version"):
        AzureOpenAIProvider(azure_settings("http://127.0.0.1:9", api_version=None))


async def test_openai_provider_sends_bearer_key_under_the_base_path(
    recorder: tuple[RecordingServer, str],
) -> None:
    server, url = recorder
    server.reply = Canned(body=orjson.dumps(chat_json()))
    provider = OpenAIProvider(ProviderSettings(name="oa", base_url=f"{url}/v1/", api_key="sk-up"))
    try:
        await provider.chat(
            model("m", provider="oa", upstream_model="real-m"), {"model": "m", "messages": []}
        )
    finally:
        await provider.aclose()
    (request,) = server.seen
    assert request.path == "/v1/chat/completions"
    assert request.query == {}
    assert request.headers["authorization"] == "Bearer sk-up"
    assert "api-key" not in request.headers
    assert orjson.loads(request.body)["model"] == "real-m"


async def test_openai_provider_error_status_carries_body_and_retry_after(
    recorder: tuple[RecordingServer, str],
) -> None:
    server, url = recorder
    body = b'{"error": {"message": "slow down"}}'
    server.reply = Canned(429, body, [(b"content-type", b"application/json"), (b"retry-after", b"2")])
    provider = OpenAIProvider(ProviderSettings(name="oa", base_url=f"{url}/v1", api_key="sk-up"))
    try:
        with pytest.raises(UpstreamHTTPError) as raised:
            await provider.chat(model("m", provider="oa"), {"messages": []})
    finally:
        await provider.aclose()
    assert (raised.value.status, raised.value.body, raised.value.retry_after) == (429, body, 2.0)
    assert raised.value.retryable


async def test_openai_provider_stream_that_ends_unfinished_is_interrupted(
    recorder: tuple[RecordingServer, str],
) -> None:
    server, url = recorder
    cut_short = b'data: {"choices":[{"index":0,"delta":{"content":"par"},"finish_reason":null}]}\n\n'
    server.reply = Canned(body=cut_short, headers=[(b"content-type", b"text/event-stream")])
    provider = OpenAIProvider(ProviderSettings(name="oa", base_url=f"{url}/v1", api_key="sk-up"))
    received: list[bytes] = []
    try:
        with pytest.raises(StreamInterrupted):
            async for payload in provider.chat_stream(model("m", provider="oa"), {"messages": []}):
                received.append(payload)
    finally:
        await provider.aclose()
    assert len(received) == 1


@pytest.mark.anyio
@pytest.mark.parametrize("split", range(1, 40))
async def test_lone_cr_line_ends_split_anywhere(split: int) -> None:
    stream = b'data: {"a":1}\r\rdata:  two spaces\r\r: comment\r\rdata: [DONE]\r\r'
    chunks = [stream[:split], stream[split:]]

    async def source() -> AsyncIterator[bytes]:
        for chunk in chunks:
            yield chunk

    assert [p async for p in data_payloads(source())] == [b'{"a":1}', b" two spaces", b"[DONE]"]
