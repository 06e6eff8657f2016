"""The HTTP edge of observability: request ids, the request's root span, request metrics, /metrics.

A pure ASGI wrapper around the whole app (``SekishoApp`` hands /v1 requests to the gateway before
FastAPI's middleware would run, so a FastAPI middleware would miss them). /metrics is answered here
too, outside the app's route table: it is no API route, and a scrape is not counted as a request.
"""

from __future__ import annotations

import hmac
import time
from collections.abc import Callable, Iterable
from typing import Any

import anyio
from opentelemetry import trace
from opentelemetry.trace import Span, Status, StatusCode
from prometheus_client.exposition import choose_encoder
from starlette.routing import BaseRoute, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from sekisho.gateway.errors import GatewayError
from sekisho.network.addresses import Networks
from sekisho.network.client import TrustedProxies
from sekisho.observability.context import RequestState, _current, new_request_id, well_formed
from sekisho.observability.observer import Observer, mark_error
from sekisho.observability.settings import ObservabilitySettings

METRICS_PATH = "/metrics"
# Probes hit these every few seconds on every replica: counted, never traced.
_UNTRACED = frozenset({"/healthz", "/readyz"})
_REQUEST_ID = b"x-request-id"
_CLIENT_REQUEST_ID = b"x-client-request-id"


class HttpObserver:
    """Wraps the app: binds a ``RequestState`` per request, answers /metrics."""

    def __init__(
        self,
        app: ASGIApp,
        observer: Observer,
        settings: ObservabilitySettings,
        trusted: TrustedProxies,
        routes: Callable[[], Iterable[BaseRoute]],
    ) -> None:
        self.app = app
        self.observer = observer
        self._trusted = trusted
        self._labels = RouteLabels(routes)
        self._metrics = (
            MetricsEndpoint(observer, settings, trusted)
            if settings.metrics_enabled and observer.metrics is not None
            else None
        )

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        path = scope["path"]
        if path == METRICS_PATH and self._metrics is not None:
            await self._metrics(scope, receive, send)
            return
        state = self._state(scope)
        observer = self.observer
        tracing = observer.tracing
        span = None
        if tracing is not None and path not in _UNTRACED:
            span = tracing.start_root(
                scope["method"], _header(scope, b"traceparent"), _header(scope, b"tracestate")
            )
            if span.is_recording():
                state.root = span
                state.root_ctx = state.inner = trace.set_span_in_context(span)
        request_id = state.request_id.encode("ascii")
        first_byte: float | None = None
        status = 500

        async def observed_send(message: Message) -> None:
            nonlocal first_byte, status
            if message["type"] == "http.response.start":
                first_byte = time.perf_counter()
                status = message["status"]
                headers = message.get("headers") or []
                for name, _ in headers:
                    if name.lower() == _REQUEST_ID:
                        break
                else:
                    message = {**message, "headers": [*headers, (_REQUEST_ID, request_id)]}
            await send(message)

        metrics = observer.metrics
        if metrics is not None:
            metrics.in_flight.inc()
        token = _current.set(state)  # (not ``bound()``: a generator-based block costs a few µs here)
        try:
            await self.app(scope, receive, observed_send)
        except BaseException as exc:
            if state.root is not None:
                mark_error(state.root, exc)
            raise
        finally:
            _current.reset(token)
            if metrics is not None:
                metrics.in_flight.dec()
            route = self._labels(scope)
            observer.request_done(state, route, scope["method"], status, first_byte)
            if state.root is not None:
                _finish_root(state, route, scope["method"], status)
            elif span is not None:
                span.end()

    def _state(self, scope: Scope) -> RequestState:
        incoming = client_id = None
        for name, value in scope["headers"]:
            if name == _REQUEST_ID:
                incoming = value.decode("latin-1")
            elif name == _CLIENT_REQUEST_ID:
                client_id = value.decode("latin-1")
        if not well_formed(client_id):
            client_id = None
        if well_formed(incoming):
            # Adopted only from the operator's own proxy: the id keys the audit record, so a client
            # must not be able to choose it (or make two requests share one). A client's id is kept
            # beside Sekisho's, in logs and spans, for correlation.
            if self._trusted.is_trusted(self._trusted.peer(scope)):
                return RequestState(str(incoming), self.observer, client_request_id=client_id)
            client_id = client_id or incoming
        return RequestState(new_request_id(), self.observer, client_request_id=client_id)


class MetricsEndpoint:
    """GET /metrics: a bearer token, or a client in ``metrics_networks`` when no token is set."""

    def __init__(self, observer: Observer, settings: ObservabilitySettings, trusted: TrustedProxies) -> None:
        if observer.metrics is None:
            raise ValueError("metrics are switched off")
        self._metrics = observer.metrics
        token = settings.metrics_token
        self._token = f"Bearer {token.get_secret_value()}".encode() if token is not None else None
        self._networks = Networks.parse(settings.metrics_networks)
        self._trusted = trusted

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        refusal = self._refusal(scope)
        if refusal is not None:
            await refusal.response()(scope, receive, send)
            return
        encoder, content_type = choose_encoder(_header(scope, b"accept") or "")
        registry = self._metrics.scrape_registry()
        # Gauges read from the database are collected here: off the event loop.
        body = await anyio.to_thread.run_sync(encoder, registry)
        await send(
            {
                "type": "http.response.start",
                "status": 200,
                "headers": [(b"content-type", content_type.encode()), (b"cache-control", b"no-store")],
            }
        )
        await send({"type": "http.response.body", "body": b"" if scope["method"] == "HEAD" else body})

    def _refusal(self, scope: Scope) -> GatewayError | None:
        if scope["method"] not in ("GET", "HEAD"):
            return GatewayError(405, "Use GET for /metrics.", code="method_not_allowed")
        if self._token is not None:
            sent = (_header(scope, b"authorization") or "").encode("latin-1")
            if not hmac.compare_digest(sent, self._token):
                return GatewayError(
                    401,
                    "/metrics needs the metrics token: Authorization: Bearer <observability.metrics_token>.",
                    code="invalid_metrics_token",
                    headers={"www-authenticate": 'Bearer realm="metrics"'},
                )
            return None
        address = self._trusted.client_address(scope)
        if address is None or address not in self._networks:
            return GatewayError(
                403,
                "/metrics is served to observability.metrics_networks only (loopback by default); "
                "set observability.metrics_token to scrape it from elsewhere.",
                type="permission_error",
                code="metrics_forbidden",
            )
        return None


class RouteLabels:
    """The route template a request matched (``/admin/v1/orgs/{org_id}``), for metric labels.

    A raw path would give every object id its own series; a request that matched nothing is
    ``unmatched``, whatever its path.
    """

    def __init__(self, routes: Callable[[], Iterable[BaseRoute]]) -> None:
        self._routes = routes
        self._by_endpoint: dict[Any, list[tuple[bool, str]]] | None = None

    def __call__(self, scope: Scope) -> str:
        route = scope.get("route")
        path = getattr(route, "path", None)
        if isinstance(path, str):
            return path
        endpoint = scope.get("endpoint")
        if endpoint is None:
            return "unmatched"
        if self._by_endpoint is None:
            # Built at the first request, when every router has been included.
            self._by_endpoint = {}
            for r in self._routes():
                if isinstance(r, Route):
                    self._by_endpoint.setdefault(r.endpoint, []).append((bool(r.param_convertors), r.path))
        options = self._by_endpoint.get(endpoint)
        if not options:
            return "other"
        # One endpoint may serve several paths (/v1/models and /v1/models/{model}).
        with_params = bool(scope.get("path_params"))
        for has_params, template in options:
            if has_params == with_params:
                return template
        return options[0][1]


def _header(scope: Scope, wanted: bytes) -> str | None:
    for name, value in scope["headers"]:
        if name == wanted:
            return str(value.decode("latin-1"))
    return None


def _finish_root(state: RequestState, route: str, method: str, status: int) -> None:
    span = state.root
    if span is None:
        return
    span.update_name(f"{method} {route}")
    span.set_attribute("http.request.method", method)
    span.set_attribute("http.route", route)
    span.set_attribute("http.response.status_code", status)
    span.set_attribute("sekisho.request_id", state.request_id)
    if state.client_request_id is not None:
        span.set_attribute("sekisho.client_request_id", state.client_request_id)
    call = state.call
    if call is not None:
        _call_attributes(span, call)
    if status >= 500:
        span.set_status(Status(StatusCode.ERROR, f"HTTP {status}"))
    span.end()


def _call_attributes(span: Span, call: Any) -> None:
    """Who and which model: ids and names only (no prompt, answer or key ever goes on a span)."""
    principal, model = call.principal, call.model
    if principal is not None:
        if principal.org_id is not None:
            span.set_attribute("sekisho.org_id", principal.org_id)
        if principal.project_id is not None:
            span.set_attribute("sekisho.project_id", principal.project_id)
    if model is not None:
        span.set_attribute("sekisho.model", model.name)
        span.set_attribute("gen_ai.request.model", model.name)
    if call.served is not None:
        span.set_attribute("sekisho.served_model", call.served.name)
    span.set_attribute("sekisho.stream", bool(call.stream))
    if call.usage is not None:
        span.set_attribute("gen_ai.usage.input_tokens", call.usage.prompt_tokens)
        span.set_attribute("gen_ai.usage.output_tokens", call.usage.completion_tokens)
    if call.error_code:
        span.set_attribute("sekisho.error_code", call.error_code)
