"""The OpenAI-compatible HTTP routes: /v1/chat/completions, /v1/embeddings, /v1/models.

These are plain Starlette endpoints rather than FastAPI routes: the request path does its own
validation (to answer in OpenAI's error format) and skips dependency injection on every call.
"""

from __future__ import annotations

import logging
import secrets
from collections.abc import AsyncIterator, Awaitable, Callable
from typing import Any

import orjson
from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import Route

from sekisho.gateway.call import Call, Endpoint
from sekisho.gateway.errors import GatewayError
from sekisho.gateway.pipeline import Pipeline
from sekisho.observability.hooks import current_request_id
from sekisho.providers import ChatResult, Router

log = logging.getLogger("sekisho.gateway")


def body_reader(request: Request, limit: int) -> Callable[[], Any]:
    """Read the body, refusing (413) as soon as it is larger than ``limit`` bytes."""

    async def read() -> bytes:
        declared = request.headers.get("content-length")
        if declared is not None and declared.isdigit() and int(declared) > limit:
            raise _too_large(limit)
        chunks = []
        size = 0
        try:
            async for chunk in request.stream():
                size += len(chunk)
                if size > limit:
                    raise _too_large(limit)
                chunks.append(chunk)
        except ClientDisconnect:
            raise GatewayError(
                400, "The client closed the connection while sending.", code="client_disconnected"
            ) from None
        return b"".join(chunks)

    return read


def _too_large(limit: int) -> GatewayError:
    return GatewayError(
        413, f"The request body is larger than the limit of {limit} bytes.", code="request_too_large"
    )


def _with_notes(headers: dict[str, str], call: Call) -> dict[str, str]:
    """Add ``x-sekisho-guardrails`` (redacted and warned finding types) when there is something to say."""
    note = call.guard_header()
    return {**headers, "x-sekisho-guardrails": note} if note else headers


def _request_id() -> str:
    # The id the HTTP layer gave this request (logs, X-Request-Id), so audit records carry the same.
    return current_request_id() or f"req_{secrets.token_hex(12)}"


JsonHandler = Callable[[Request, Call], Awaitable[dict[str, Any]]]


def json_endpoint(pipeline: Pipeline, handler: JsonHandler) -> Callable[[Request], Awaitable[Response]]:
    """A /v1 service route: the caller authenticated like a model call, the answer (or error) as JSON."""

    async def run(request: Request) -> Response:
        call = Call(request_id=_request_id(), endpoint="chat.completions", body={})
        headers = {"x-request-id": call.request_id}
        try:
            await pipeline.stages.authenticate(call, request.headers.get("authorization"))
            answer = await handler(request, call)
        except GatewayError as exc:
            response = exc.response()
            response.headers.update(headers)
            return response
        return Response(orjson.dumps(answer), media_type="application/json", headers=headers)

    return run


def gateway_routes(pipeline: Pipeline, router: Router, *, max_body_bytes: int) -> list[Route]:
    """The /v1 routes bound to ``pipeline``."""

    async def run(request: Request, endpoint: Endpoint) -> Response:
        call = Call(request_id=_request_id(), endpoint=endpoint, body={})
        headers = {"x-request-id": call.request_id}
        try:
            result = await pipeline.handle(
                call, request.headers.get("authorization"), body_reader(request, max_body_bytes)
            )
        except GatewayError as exc:
            response = exc.response()
            response.headers.update(_with_notes(headers, call))
            return response
        except Exception:
            log.exception("unexpected failure in request %s", call.request_id)
            error = GatewayError(
                500,
                f"Internal error; quote request id {call.request_id}.",
                type="api_error",
                code="internal_error",
            )
            response = error.response()
            response.headers.update(headers)
            return response
        headers = _with_notes(headers, call)
        if isinstance(result, ChatResult):
            return Response(result.raw, media_type="application/json", headers=headers)
        return _sse(result, headers)

    async def chat_completions(request: Request) -> Response:
        return await run(request, "chat.completions")

    async def embeddings(request: Request) -> Response:
        return await run(request, "embeddings")

    async def models(request: Request) -> Response:
        call = Call(request_id=_request_id(), endpoint="chat.completions", body={})
        headers = {"x-request-id": call.request_id}
        try:
            await pipeline.stages.authenticate(call, request.headers.get("authorization"))
            body = _models_body(call, request.path_params.get("model"), router)
        except GatewayError as exc:
            response = exc.response()
            response.headers.update(headers)
            return response
        return Response(orjson.dumps(body), media_type="application/json", headers=headers)

    return [
        Route("/v1/chat/completions", chat_completions, methods=["POST"]),
        Route("/v1/embeddings", embeddings, methods=["POST"]),
        Route("/v1/models", models, methods=["GET"]),
        Route("/v1/models/{model:path}", models, methods=["GET"]),
    ]


def _models_body(call: Call, name: str | None, router: Router) -> dict[str, Any]:
    """The model list, or one model, as this caller may see them (others do not exist for it)."""
    principal = call.principal
    if principal is None:  # pragma: no cover - authenticate either sets it or raises
        raise GatewayError(401, "not authenticated", code="invalid_api_key")
    if name is None:
        data = [_model_object(m, router) for m in router.models if principal.may_use_model(m)]
        return {"object": "list", "data": data}
    if name not in router.models or not principal.may_use_model(name):
        raise GatewayError(404, f"The model '{name}' does not exist.", code="model_not_found", param="model")
    return _model_object(name, router)


def _model_object(name: str, router: Router) -> dict[str, Any]:
    model = router.models[name]
    out: dict[str, Any] = {"id": name, "object": "model", "created": 0, "owned_by": model.provider}
    out["kind"] = model.kind
    if model.description:
        out["description"] = model.description
    return out


def _sse(stream: AsyncIterator[bytes], headers: dict[str, str]) -> StreamingResponse:
    return StreamingResponse(
        stream,
        media_type="text/event-stream",
        headers={**headers, "cache-control": "no-cache", "x-accel-buffering": "no"},
    )
