"""The one place that knows the order of the stages (see docs/architecture.md).

authenticate → authorize → admit → inspect input → decide → route → inspect output → settle → respond
"""

from __future__ import annotations

import logging
import re
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from typing import Any

import orjson

from sekisho.gateway.call import Call
from sekisho.gateway.decide import Decide
from sekisho.gateway.errors import GatewayError, bad_request
from sekisho.gateway.guard import GuardInput, GuardOutput
from sekisho.gateway.schemas import ChatCompletionRequest, EmbeddingRequest, validate
from sekisho.gateway.stages import Admit, Authenticate, Authorize, Settle, message_texts
from sekisho.gateway.upstream_errors import upstream_error
from sekisho.guardrails.stream import OutputBlocked, StreamGuard
from sekisho.metering import Usage, estimate_tokens
from sekisho.observability.hooks import attempts, bind, stage, stream_ended, stream_findings
from sekisho.providers import (
    ChatResult,
    Provider,
    Router,
    StreamInterrupted,
    UpstreamError,
    UpstreamHTTPError,
)
from sekisho.settings import ModelSettings

log = logging.getLogger("sekisho.gateway")
_NULL_USAGE = re.compile(rb'"usage"\s*:\s*null')
_FINISHED = re.compile(rb'"finish_reason"\s*:\s*"')


@dataclass(frozen=True, slots=True)
class Stages:
    """The stage objects, created by ``build_app``."""

    authenticate: Authenticate
    authorize: Authorize
    admit: Admit
    guard_input: GuardInput
    decide: Decide
    router: Router
    guard_output: GuardOutput
    settle: Settle


class Pipeline:
    """Runs a call through the stages and returns a complete answer or an SSE byte stream."""

    def __init__(self, stages: Stages) -> None:
        self.stages = stages

    async def handle(
        self, call: Call, authorization: str | None, read_body: Callable[[], Awaitable[bytes]]
    ) -> ChatResult | AsyncIterator[bytes]:
        """Run ``call``; raises GatewayError for every failure the client should see."""
        s = self.stages
        bind(call)
        with stage("authenticate"):
            await s.authenticate(call, authorization)
        with stage("parse"):
            call.body = parse_json_body(await read_body())
            if call.endpoint == "chat.completions":
                request = validate(ChatCompletionRequest, call.body)
                call.stream = bool(request.stream)
                model_name = request.model
            else:
                model_name = validate(EmbeddingRequest, call.body).model
        with stage("authorize"):
            s.authorize(call, model_name)
        with stage("admit"):
            await s.admit(call)
        try:
            with stage("guard_input"):
                await s.guard_input(call)
            with stage("decide"):
                await s.decide(call)
            if call.canned is not None:
                result = ChatResult(orjson.dumps(call.canned), call.canned)
                if call.stream:
                    return self._replay(call, call.canned)
            elif call.stream:
                return await self._open_stream(call)
            else:
                result = await self._complete(call)
        except GatewayError as exc:
            call.status_code, call.error_code = exc.status, exc.code
            await s.settle(call, "failed")
            await self._finish_review(call, None, exc.payload()["error"])
            raise
        except BaseException:
            call.status_code, call.error_code = 499, "client_disconnected"
            await s.settle(call, "cancelled")
            raise
        await s.settle(call, "completed")
        await self._finish_review(call, result.data, None)
        return result

    async def resume(self, call: Call) -> ChatResult:
        """Run an approved review's request (no client waiting): admit → guard input → model → settle.

        The decide stage is skipped — a person decided — but admission and input guardrails run
        again, since budgets and a reviewer's edits are checked at the time the call is made.
        """
        s = self.stages
        call.stream = False
        bind(call)
        with stage("admit"):
            await s.admit(call)
        try:
            with stage("guard_input"):
                await s.guard_input(call)
            result = await self._complete(call)
        except GatewayError as exc:
            call.status_code, call.error_code = exc.status, exc.code
            await s.settle(call, "failed")
            raise
        except BaseException:
            call.status_code, call.error_code = 499, "cancelled"
            await s.settle(call, "cancelled")
            raise
        await s.settle(call, "completed")
        return result

    async def _finish_review(
        self, call: Call, answer: dict[str, Any] | None, error: dict[str, Any] | None
    ) -> None:
        gate = self.stages.decide.policy.reviews if self.stages.decide.policy else None
        if call.review_id is not None and gate is not None:
            await gate.finish(call, answer, error)

    async def _replay(self, call: Call, answer: dict[str, Any]) -> AsyncIterator[bytes]:
        """An answer Sekisho wrote itself, as the SSE stream the client asked for."""
        try:
            for choice in answer.get("choices") or []:
                message = choice.get("message") or {}
                chunk = {
                    "id": answer.get("id"),
                    "object": "chat.completion.chunk",
                    "created": answer.get("created"),
                    "model": answer.get("model"),
                    "choices": [
                        {
                            "index": choice.get("index", 0),
                            "delta": {"role": "assistant", "content": message.get("content", "")},
                            "finish_reason": choice.get("finish_reason", "stop"),
                        }
                    ],
                }
                yield b"data: " + orjson.dumps(chunk) + b"\n\n"
            options = call.body.get("stream_options") or {}
            if options.get("include_usage"):
                usage: dict[str, Any] = {
                    "id": answer.get("id"),
                    "object": "chat.completion.chunk",
                    "choices": [],
                    "model": answer.get("model"),
                    "usage": answer.get("usage"),
                }
                yield b"data: " + orjson.dumps(usage) + b"\n\n"
            yield b"data: [DONE]\n\n"
        finally:
            await self.stages.settle(call, "completed")

    async def _complete(self, call: Call) -> ChatResult:
        s = self.stages
        model = call.who()[1]
        body = call.body

        async def attempt(provider: Provider, candidate: ModelSettings) -> ChatResult:
            if call.endpoint == "embeddings":
                return await provider.embeddings(candidate, body)
            return await provider.chat(candidate, body)

        with stage("upstream"):
            try:
                result, call.served, _ = await s.router.call(model, attempts(attempt), tried=call.attempts)
            except UpstreamError as exc:
                raise upstream_error(exc) from exc
        call.usage = Usage.from_openai(result.data.get("usage")) or _estimate(call, result.data)
        if call.endpoint == "chat.completions":
            with stage("guard_output"):
                result = await s.guard_output.complete(call, result)
        return result

    async def _open_stream(self, call: Call) -> AsyncIterator[bytes]:
        s = self.stages
        model = call.who()[1]
        body = dict(call.body)
        options = body.get("stream_options") or {}
        if not options.get("include_usage"):
            # Ask for usage anyway so streams are metered exactly; the client does not see it.
            body["stream_options"] = {**options, "include_usage": True}
            call.hide_usage_chunk = True

        async def attempt(provider: Provider, candidate: ModelSettings) -> tuple[AsyncIterator[bytes], bytes]:
            stream = provider.chat_stream(candidate, body)
            try:
                first = await anext(stream)
            except StopAsyncIteration:
                raise UpstreamHTTPError(502, b"") from None
            except BaseException:
                await _aclose(stream)
                raise
            return stream, first

        with stage("upstream"):
            try:
                (stream, first), call.served, _ = await s.router.call(
                    model, attempts(attempt), tried=call.attempts
                )
            except UpstreamError as exc:
                raise upstream_error(exc) from exc
        return self._relay(call, stream, first)

    async def _relay(self, call: Call, stream: AsyncIterator[bytes], first: bytes) -> AsyncIterator[bytes]:
        s = self.stages
        outcome = "cancelled"
        pieces: list[str] = []
        guards = _Guards(s.guard_output, call) if s.guard_output.active(call) else None
        try:
            payload: bytes | None = first
            while payload is not None:
                if guards is not None:
                    payload = await guards.filter(payload, pieces)
                    if payload is not None and _forward(call, payload, None):
                        yield b"data: " + payload + b"\n\n"
                elif _forward(call, payload, pieces):
                    yield b"data: " + payload + b"\n\n"
                payload = await anext(stream, None)
            if guards is not None:
                tail = await guards.finish()
                if tail is not None:
                    yield b"data: " + tail + b"\n\n"
            yield b"data: [DONE]\n\n"
            outcome = "completed"
        except OutputBlocked as exc:
            outcome = "failed"
            call.status_code, call.error_code = 422, "output_blocked"
            what = ", ".join(exc.types) or f"a failed check ({', '.join(exc.failed)})"
            error = GatewayError(
                422, f"The answer was stopped by guardrails: it contains {what}.", code="output_blocked"
            )
            yield b"data: " + orjson.dumps(error.payload()) + b"\n\n"
        except StreamInterrupted as exc:
            log.warning("stream %s interrupted: %s", call.request_id, exc)
            outcome = "failed"
            call.status_code, call.error_code = 502, "stream_interrupted"
            if guards is not None:
                # What the model said before the break still reaches the client, once it has been checked.
                try:
                    tail = await guards.finish()
                except OutputBlocked:
                    tail = None
                if tail is not None:
                    yield b"data: " + tail + b"\n\n"
            error = GatewayError(
                502,
                f"The upstream stream broke before the answer was complete: {exc}",
                type="api_error",
                code="stream_interrupted",
            )
            yield b"data: " + orjson.dumps(error.payload()) + b"\n\n"
        finally:
            await _aclose(stream)
            if guards is not None:
                guards.record()
            if outcome == "cancelled":
                call.status_code, call.error_code = 499, "client_disconnected"
            if call.usage is None:
                prompt = sum(estimate_tokens(t) for t in message_texts(call.body))
                completion = estimate_tokens("".join(pieces)) if pieces else 0
                call.usage = Usage(prompt, completion, estimated=True)
            stream_ended(call, outcome)
            await s.settle(call, outcome)
            if outcome == "completed":
                await self._finish_review(call, {"object": "chat.completion.stream", "streamed": True}, None)
            else:
                await self._finish_review(call, None, {"code": call.error_code})


class _Guards:
    """Output guardrails over a stream: one ``StreamGuard`` per choice, chunks rewritten in place."""

    def __init__(self, guard_output: GuardOutput, call: Call) -> None:
        self._guard_output = guard_output
        self._call = call
        self._by_choice: dict[int, StreamGuard] = {}
        self._all: list[StreamGuard] = []
        self._template: dict[str, Any] | None = None

    def _guard(self, index: int) -> StreamGuard:
        guard = self._by_choice.get(index)
        if guard is None:
            guard = self._guard_output.stream_guard(self._call)
            assert guard is not None  # only built when output guarding is active
            self._by_choice[index] = guard
            self._all.append(guard)
        return guard

    async def filter(self, payload: bytes, pieces: list[str]) -> bytes | None:
        """The chunk with its text replaced by what may be shown now."""
        if b'"content"' not in payload and not _FINISHED.search(payload):
            return payload
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return payload
        if not isinstance(data, dict):
            return payload
        for choice in data.get("choices") or []:
            if not isinstance(choice, dict):
                continue
            delta = choice.get("delta") or {}
            index = choice.get("index", 0) if isinstance(choice.get("index"), int) else 0
            content = delta.get("content") if isinstance(delta, dict) else None
            if isinstance(content, str):
                pieces.append(content)
                self._template = data
                delta["content"] = await self._guard(index).feed(content)
            if choice.get("finish_reason") and index in self._by_choice:
                rest = await self._by_choice.pop(index).flush()
                if rest and isinstance(delta, dict):
                    delta["content"] = (delta.get("content") or "") + rest
                    choice["delta"] = delta
        return orjson.dumps(data)

    async def finish(self) -> bytes | None:
        """What is still held when the upstream ends without a finish_reason, as one last chunk."""
        if not self._by_choice or self._template is None:
            return None
        choices = []
        for index, guard in sorted(self._by_choice.items()):
            choices.append({"index": index, "delta": {"content": await guard.flush()}, "finish_reason": None})
        self._by_choice.clear()
        return orjson.dumps({**self._template, "choices": choices})

    def record(self) -> None:
        """Findings of the streamed answer, for the audit record (headers went out before them)."""
        counts = self._call.finding_counts
        for guard in self._all:
            for finding in guard.findings:
                counts[finding.type] = counts.get(finding.type, 0) + 1
        stream_findings(self._call, [f for guard in self._all for f in guard.findings])


def _forward(call: Call, payload: bytes, pieces: list[str] | None) -> bool:
    """Record what a stream chunk carries; False when the chunk is the hidden usage chunk."""
    if b'"usage"' in payload and not _NULL_USAGE.search(payload):
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return True
        if isinstance(data, dict):
            usage = Usage.from_openai(data.get("usage"))
            if usage is not None:
                call.usage = usage
                if call.hide_usage_chunk and not data.get("choices"):
                    return False
            if pieces is not None:
                pieces.extend(_delta_texts(data))
        return True
    if pieces is not None and b'"content"' in payload:
        try:
            data = orjson.loads(payload)
        except orjson.JSONDecodeError:
            return True
        if isinstance(data, dict):
            pieces.extend(_delta_texts(data))
    return True


def _delta_texts(data: dict[str, Any]) -> list[str]:
    out = []
    for choice in data.get("choices") or []:
        content = (choice.get("delta") or {}).get("content") if isinstance(choice, dict) else None
        if isinstance(content, str):
            out.append(content)
    return out


def _answer_texts(data: dict[str, Any]) -> list[str]:
    out = []
    for choice in data.get("choices") or []:
        content = (choice.get("message") or {}).get("content") if isinstance(choice, dict) else None
        if isinstance(content, str):
            out.append(content)
    return out


def _estimate(call: Call, data: dict[str, Any]) -> Usage:
    prompt = sum(estimate_tokens(t) for t in message_texts(call.body))
    completion = sum(estimate_tokens(t) for t in _answer_texts(data))
    return Usage(prompt, completion, estimated=True)


def parse_json_body(raw: bytes) -> dict[str, Any]:
    if not raw.strip():
        raise bad_request("The request body is empty; send a JSON object.", code="invalid_json")
    try:
        body = orjson.loads(raw)
    except orjson.JSONDecodeError as exc:
        raise bad_request(f"The request body is not valid JSON: {exc}.", code="invalid_json") from None
    if not isinstance(body, dict):
        raise bad_request("The request body must be a JSON object.", code="invalid_json")
    return body


async def _aclose(stream: AsyncIterator[bytes]) -> None:
    close = getattr(stream, "aclose", None)
    if close is not None:
        await close()
