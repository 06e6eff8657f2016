"""What the hooks do: count into the app's metrics and, when tracing, open and close spans.

One ``Observer`` per app. The request path reaches it through the bound ``RequestState`` (see
``context``), so what it records always lands in the registry and tracer of the app serving the
request. Span attributes carry ids and model names only — never prompt text, answers or keys.
"""

from __future__ import annotations

import time
from collections.abc import Awaitable, Callable, Iterator
from contextlib import AbstractContextManager, contextmanager
from typing import TYPE_CHECKING, TypeVar

from opentelemetry import trace
from opentelemetry.trace import Span, SpanKind, Status, StatusCode

from sekisho.gateway.errors import GatewayError
from sekisho.metering import cost_nanousd
from sekisho.observability.context import RequestState, bound
from sekisho.observability.metrics import GatewayMetrics
from sekisho.providers import UpstreamConnectError, UpstreamError, UpstreamTimeout
from sekisho.settings import ModelSettings

if TYPE_CHECKING:
    from sekisho.gateway.call import Call
    from sekisho.guardrails.actions import Outcome
    from sekisho.guardrails.finding import Finding
    from sekisho.observability.tracing import Tracing

T = TypeVar("T")
P = TypeVar("P")
Attempt = Callable[[P, ModelSettings], Awaitable[T]]


class Observer:
    """The app's metrics (None when switched off) and tracing (None unless switched on)."""

    def __init__(self, metrics: GatewayMetrics | None, tracing: Tracing | None) -> None:
        self.metrics = metrics
        self.tracing = tracing
        self._markers: dict[str, _Marker] = {}

    def stage(self, state: RequestState, name: str) -> AbstractContextManager[None]:
        """A span for the stage when the request is traced; otherwise a shared marker that only
        counts the error a stage ends with (no allocation on the request path)."""
        if state.tracing and self.tracing is not None:
            return _SpanStage(self.tracing, self, state, name)
        marker = self._markers.get(name)
        if marker is None:
            marker = self._markers[name] = _Marker(self, name)
        return marker

    def refused(self, stage: str, exc: BaseException) -> None:
        """A stage ended with ``exc``: count it when it is an error answer to the client."""
        if self.metrics is not None and isinstance(exc, GatewayError):
            self.metrics.rejections_of(stage, exc.code or "none").inc()

    def attempts(self, state: RequestState, fn: Attempt[P, T], *, serving: bool) -> Attempt[P, T]:
        """``fn`` (one upstream attempt) counted, timed and traced; see ``hooks.attempts``."""
        metrics = self.metrics
        tracer = self.tracing.tracer if self.tracing is not None and state.tracing else None
        failed: list[str] = []  # the model of the last failed attempt, if any
        first: list[float] = []
        base = state.upstream_seconds

        async def attempt(provider: P, candidate: ModelSettings) -> T:
            model, provider_name = candidate.name, candidate.provider
            retry = bool(failed) and failed[-1] == model
            if failed and metrics is not None:
                if retry:
                    metrics.retries_of(provider_name, model).inc()
                else:
                    metrics.fallbacks_of(failed[-1], model).inc()
            span: Span | None = None
            if tracer is not None:
                span = tracer.start_span(
                    "upstream.attempt",
                    context=state.inner,
                    kind=SpanKind.CLIENT,
                    attributes={
                        "sekisho.provider": provider_name,
                        "sekisho.model": model,
                        "gen_ai.request.model": candidate.target,
                        "sekisho.retry": retry,
                        "sekisho.fallback": bool(failed) and not retry,
                    },
                )
            started = time.perf_counter()
            if serving and not first:
                first.append(started)
                state.upstream_called = True
            outcome = "ok"
            try:
                return await fn(provider, candidate)
            except UpstreamError as exc:
                outcome = error_kind(exc)
                failed.append(model)
                if span is not None and exc.status is not None:
                    span.set_attribute("http.response.status_code", exc.status)
                raise
            except BaseException:
                outcome = "cancelled"
                raise
            finally:
                ended = time.perf_counter()
                if serving:
                    # Back-off between attempts is time spent on the model too, not Sekisho's own.
                    state.upstream_seconds = base + (ended - first[0])
                if metrics is not None:
                    metrics.upstream_duration_of(provider_name, model, outcome).observe(ended - started)
                    if outcome not in ("ok", "cancelled"):
                        metrics.upstream_errors_of(provider_name, model, outcome).inc()
                if span is not None:
                    if outcome != "ok":
                        span.set_attribute("error.type", outcome)
                        span.set_status(Status(StatusCode.ERROR, outcome))
                    span.end()

        return attempt

    def findings(self, outcome: Outcome, direction: str) -> None:
        """Guardrail findings of one scan, by type and the action they drew."""
        if self.metrics is None:
            return
        for action, found in outcome.by_action.items():
            for finding in found:
                self.metrics.findings_of(finding.type, action, direction).inc()

    def stream_findings(self, call: Call, found: list[Finding]) -> None:
        """Findings of a streamed answer (its guards keep findings, not their actions)."""
        if self.metrics is None or not found:
            return
        rules = call.rules
        for finding in found:
            action = rules.action(finding.type, "output") if rules is not None else "unknown"
            self.metrics.findings_of(finding.type, action, "output").inc()

    def settled(self, call: Call, outcome: str) -> None:
        """Tokens, cost and the policy decision of a call about to be settled (once per call)."""
        metrics = self.metrics
        if metrics is None or not call.admitted:
            return
        model = call.served or call.model
        usage = call.usage
        if model is not None and usage is not None:
            metrics.tokens_of(model.name, "prompt").inc(usage.prompt_tokens)
            metrics.tokens_of(model.name, "completion").inc(usage.completion_tokens)
            metrics.cost_of(model.name).inc(cost_nanousd(model, usage) / 1e9)
        if call.canned is not None:
            metrics.policy_of("crisis_reply", "crisis").inc()
        elif call.verdict is not None:
            metrics.policy_of(call.verdict.decision, call.verdict.source).inc()

    def stream_ended(self, call: Call, outcome: str) -> None:
        """A stream that ended in an error after its headers went out (no stage raised it)."""
        if self.metrics is not None and outcome != "completed" and call.error_code:
            self.metrics.rejections_of("stream", call.error_code).inc()

    def request_done(
        self, state: RequestState, route: str, method: str, status: int, first_byte: float | None
    ) -> None:
        """The HTTP answer is complete: requests, latency, and Sekisho's share of it."""
        metrics = self.metrics
        if metrics is None:
            return
        now = time.perf_counter()
        call = state.call
        model = call.model.name if call is not None and call.model is not None else ""
        counter, histogram = metrics.request(route, method, model, str(status))
        counter.inc()
        histogram.observe(now - state.started)
        if state.upstream_called and first_byte is not None:
            added = first_byte - state.started - state.upstream_seconds
            metrics.overhead_of(route).observe(added if added > 0 else 0.0)

    @contextmanager
    def background(self, request_id: str, name: str) -> Iterator[RequestState]:
        """Bind a state (and a root span) for work that no HTTP request started."""
        state = RequestState(request_id, self)
        span = self.tracing.start_background(name) if self.tracing is not None else None
        if span is not None and span.is_recording():
            span.set_attribute("sekisho.request_id", request_id)
            state.root = span
            state.root_ctx = state.inner = trace.set_span_in_context(span)
        try:
            with bound(state):
                yield state
        except BaseException as exc:
            if span is not None:
                mark_error(span, exc)
            raise
        finally:
            if span is not None:
                span.end()


class _Marker:
    """A stage without a span: counts the error answer the stage ends with."""

    __slots__ = ("_name", "_observer")

    def __init__(self, observer: Observer, name: str) -> None:
        self._observer = observer
        self._name = name

    def __enter__(self) -> None:
        return None

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        if exc is not None:
            self._observer.refused(self._name, exc)


class _SpanStage:
    """A stage's span, child of the request's; the stage's own children (attempts) nest under it."""

    __slots__ = ("_name", "_observer", "_outer", "_span", "_state", "_tracing")

    def __init__(self, tracing: Tracing, observer: Observer, state: RequestState, name: str) -> None:
        self._tracing = tracing
        self._observer = observer
        self._state = state
        self._name = name

    def __enter__(self) -> None:
        state = self._state
        self._outer = state.inner
        self._span = self._tracing.tracer.start_span(self._name, context=state.inner)
        state.inner = trace.set_span_in_context(self._span)

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> None:
        self._state.inner = self._outer
        if exc is not None:
            mark_error(self._span, exc)
            self._observer.refused(self._name, exc)
        self._span.end()


def mark_error(span: Span, exc: BaseException) -> None:
    """Error status and the error's code on ``span``; never the message, which may quote upstream text."""
    if isinstance(exc, GatewayError):
        code = exc.code or "error"
        span.set_attribute("sekisho.error_code", code)
        span.set_attribute("http.response.status_code", exc.status)
    else:
        code = type(exc).__name__
    span.set_attribute("error.type", code)
    span.set_status(Status(StatusCode.ERROR, code))


def error_kind(exc: UpstreamError) -> str:
    """A failed attempt's kind, for labels: timeout, connect, http_429, http_5xx, http_4xx, other."""
    if isinstance(exc, UpstreamTimeout):
        return "timeout"
    if isinstance(exc, UpstreamConnectError):
        return "connect"
    status = exc.status
    if status == 429:
        return "http_429"
    if status is not None and status >= 500:
        return "http_5xx"
    if status is not None and status >= 400:
        return "http_4xx"
    return "other"
