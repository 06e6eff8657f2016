"""A scripted OpenAI-compatible upstream, as a raw ASGI app (fast enough to benchmark against).

The upstream model name chooses the behaviour, so one server plays every failure a test needs:

- ``mock-…`` (default): answers ``Echo: <last user message>``; streams it word by word.
- ``mock-500`` / ``mock-429``: always fails with that status (429 with ``Retry-After: 0``).
- ``mock-flaky-N`` (or ``mock-flaky-N-<suffix>``): the first N calls per model name fail with 503,
  then it answers.
- ``mock-slow-MS``: waits MS milliseconds before answering.
- ``mock-drop``: streams two chunks, then drops the connection without finishing.
- ``mock-nousage``: answers without a ``usage`` object.
- ``mock-trickle-MS``: streams one word every MS milliseconds (to disconnect from mid-stream).
- ``mock-pieces-N``: streams the answer in N-character pieces, splitting words and values.
- ``mock-judge``: answers like an LLM judge: ``{"injection": true, ...}`` when the text says "ignore".

Every request body is kept in ``requests`` (most recent last) so tests can check what was forwarded.
Run it standalone with ``python -m sekisho.testing.mock_upstream --port 9999``.
"""

from __future__ import annotations

import asyncio
import time
from collections import defaultdict
from typing import Any

import orjson

Scope = dict[str, Any]


class MockUpstream:
    """ASGI callable implementing /v1/chat/completions, /v1/embeddings and /v1/models."""

    def __init__(self, *, keep_requests: int = 1000, chunk_delay: float = 0.0) -> None:
        self.requests: list[dict[str, Any]] = []
        self.headers: list[dict[str, str]] = []
        self._keep = keep_requests
        self._calls: defaultdict[str, int] = defaultdict(int)
        self.chunk_delay = chunk_delay

    async def __call__(self, scope: Scope, receive: Any, send: Any) -> None:
        if scope["type"] == "lifespan":
            await answer_lifespan(receive, send)
            return
        path = scope["path"]
        if scope["method"] == "GET" and path.endswith("/models"):
            await _json(send, 200, {"object": "list", "data": [{"id": "mock", "object": "model"}]})
            return
        body = await read_body(receive)
        try:
            data = orjson.loads(body)
        except orjson.JSONDecodeError:
            await _json(send, 400, {"error": {"message": "bad json", "type": "invalid_request_error"}})
            return
        if self._keep:
            self.requests.append(data)
            self.headers.append({k.decode(): v.decode() for k, v in scope["headers"]})
            del self.requests[: -self._keep]
            del self.headers[: -self._keep]
        if path.endswith("/embeddings"):
            await self._embeddings(send, data)
        elif path.endswith("/chat/completions"):
            await self._chat(send, data, path)
        else:
            await _json(
                send, 404, {"error": {"message": f"no route {path}", "type": "invalid_request_error"}}
            )

    async def _embeddings(self, send: Any, data: dict[str, Any]) -> None:
        inputs = data.get("input")
        texts = [inputs] if isinstance(inputs, str) else list(inputs or [])
        vectors = [
            {"object": "embedding", "index": i, "embedding": [0.1, 0.2, 0.3]} for i in range(len(texts))
        ]
        tokens = sum(len(str(t).split()) for t in texts)
        await _json(
            send,
            200,
            {
                "object": "list",
                "data": vectors,
                "model": data.get("model"),
                "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
            },
        )

    async def _chat(self, send: Any, data: dict[str, Any], path: str) -> None:
        model = str(data.get("model") or path.split("/deployments/")[-1].split("/")[0])
        self._calls[model] += 1
        if model.startswith("mock-500"):
            await _json(send, 500, {"error": {"message": "upstream exploded", "type": "server_error"}})
            return
        if model.startswith("mock-429"):
            await _json(
                send, 429, {"error": {"message": "slow down", "type": "rate_limit"}}, [(b"retry-after", b"0")]
            )
            return
        if model.startswith("mock-flaky-") and self._calls[model] <= _flaky_failures(model):
            await _json(send, 503, {"error": {"message": "temporarily unavailable", "type": "server_error"}})
            return
        if model.startswith("mock-slow-"):
            await asyncio.sleep(int(model.rsplit("-", 1)[1]) / 1000)
        if model.startswith("mock-400"):
            await _json(
                send,
                400,
                {
                    "error": {
                        "message": "context too long",
                        "type": "invalid_request_error",
                        "param": "messages",
                        "code": "context_length_exceeded",
                    }
                },
            )
            return
        text = "Echo: " + _last_user_text(data)
        if model.startswith("mock-judge"):
            # A stand-in for an LLM judge: flags texts that tell the assistant to ignore its instructions.
            flagged = "ignore" in _last_user_text(data).lower()
            text = orjson.dumps({"injection": flagged, "confidence": 0.9 if flagged else 0.1}).decode()
        words = text.split(" ")
        usage = {
            "prompt_tokens": _count(data),
            "completion_tokens": len(words),
            "total_tokens": _count(data) + len(words),
        }
        created = int(time.time())
        if data.get("stream"):
            await self._stream(send, data, model, words, usage, created)
            return
        n = int(data.get("n") or 1)
        message: dict[str, Any] = {"role": "assistant", "content": text}
        finish = "stop"
        if data.get("tools") and data.get("tool_choice") not in (None, "none", "auto"):
            tool = data["tools"][0]["function"]["name"]
            message = {
                "role": "assistant",
                "content": None,
                "tool_calls": [
                    {"id": "call_1", "type": "function", "function": {"name": tool, "arguments": "{}"}}
                ],
            }
            finish = "tool_calls"
        out: dict[str, Any] = {
            "id": "chatcmpl-mock",
            "object": "chat.completion",
            "created": created,
            "model": model,
            "choices": [{"index": i, "message": message, "finish_reason": finish} for i in range(n)],
        }
        if not model.startswith("mock-nousage"):
            out["usage"] = usage
        await _json(send, 200, out)

    async def _stream(
        self,
        send: Any,
        data: dict[str, Any],
        model: str,
        words: list[str],
        usage: dict[str, int],
        created: int,
    ) -> None:
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", b"text/event-stream")],
            }
        )
        base = {"id": "chatcmpl-mock", "object": "chat.completion.chunk", "created": created, "model": model}
        first = {
            **base,
            "choices": [{"index": 0, "delta": {"role": "assistant", "content": ""}, "finish_reason": None}],
        }
        await _event(send, first)
        if model.startswith("mock-pieces-"):
            # Fixed-size pieces that ignore word boundaries: values arrive split across chunks.
            size = int(model.rsplit("-", 1)[1])
            text = " ".join(words)
            words = [text[i : i + size] for i in range(0, len(text), size)]
        for i, word in enumerate(words):
            if model.startswith("mock-drop") and i == 2:
                # Abort the response mid-body: the client sees a broken chunked transfer.
                raise ConnectionResetError("mock upstream dropped the stream")
            delay = self.chunk_delay
            if model.startswith("mock-trickle-"):
                delay = int(model.rsplit("-", 1)[1]) / 1000
            if delay:
                await asyncio.sleep(delay)
            piece = word if i == 0 or model.startswith("mock-pieces-") else " " + word
            await _event(
                send, {**base, "choices": [{"index": 0, "delta": {"content": piece}, "finish_reason": None}]}
            )
        await _event(send, {**base, "choices": [{"index": 0, "delta": {}, "finish_reason": "stop"}]})
        include = (data.get("stream_options") or {}).get("include_usage")
        if include and not model.startswith("mock-nousage"):
            await _event(send, {**base, "choices": [], "usage": usage})
        await send({"type": "http.response.body", "body": b"data: [DONE]\n\n", "more_body": False})


def _flaky_failures(model: str) -> int:
    # N is the first field after the prefix: tests add a suffix so each gets a fresh call counter.
    return int(model.removeprefix("mock-flaky-").split("-", 1)[0])


async def answer_lifespan(receive: Any, send: Any) -> None:
    """Answer ASGI lifespan start-up and shut-down (the app has nothing to set up)."""
    while True:
        message = await receive()
        if message["type"] == "lifespan.startup":
            await send({"type": "lifespan.startup.complete"})
        elif message["type"] == "lifespan.shutdown":
            await send({"type": "lifespan.shutdown.complete"})
            return


async def read_body(receive: Any) -> bytes:
    """The whole request body of an ASGI HTTP request."""
    body = b""
    more = True
    while more:
        message = await receive()
        body += message.get("body", b"")
        more = message.get("more_body", False)
    return body


def _last_user_text(data: dict[str, Any]) -> str:
    for message in reversed(data.get("messages") or []):
        if message.get("role") == "user":
            content = message.get("content")
            if isinstance(content, list):
                return " ".join(p.get("text", "") for p in content if isinstance(p, dict))
            return str(content or "")
    return ""


def _count(data: dict[str, Any]) -> int:
    return sum(len(str(m.get("content") or "").split()) for m in data.get("messages") or [])


async def _json(
    send: Any, status: int, payload: dict[str, Any], extra: list[tuple[bytes, bytes]] | None = None
) -> None:
    body = orjson.dumps(payload)
    headers = [(b"content-type", b"application/json"), (b"content-length", str(len(body)).encode())]
    await send({"type": "http.response.start", "status": status, "headers": headers + (extra or [])})
    await send({"type": "http.response.body", "body": body})


async def _event(send: Any, payload: dict[str, Any]) -> None:
    await send(
        {"type": "http.response.body", "body": b"data: " + orjson.dumps(payload) + b"\n\n", "more_body": True}
    )


def main() -> None:
    """Serve the mock upstream (used by the benchmarks and by hand)."""
    import argparse

    import uvicorn

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=9999)
    args = parser.parse_args()
    uvicorn.run(
        MockUpstream(keep_requests=0),
        host=args.host,
        port=args.port,
        log_level="warning",
        access_log=False,
        loop="uvloop",
        http="httptools",
    )


if __name__ == "__main__":
    main()
