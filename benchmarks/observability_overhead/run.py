#!/usr/bin/env python3
"""What observability costs a request: the HTTP wrapper and the pipeline hooks, timed in isolation.

Everything runs in this process with no network and no database, so the figures are the CPU time the
code adds per request (on a shared machine, compare the deltas, not the absolute numbers):

- ``http``: ``HttpObserver`` (request id, request metrics, root span, X-Request-Id) around an ASGI
  app that answers at once, against the same app unwrapped;
- ``hooks``: what the pipeline calls per model call — nine ``stage()`` blocks, one upstream attempt
  through ``attempts()``, ``findings()`` and ``settled()`` — with nothing bound (as in a CLI command),
  with metrics, and with metrics and tracing;
- ``labels``: one request's metric updates through prometheus_client's ``labels()`` on every call
  (what instrumentation libraries usually do) against Sekisho's cache of labelled children.

Usage: ``.venv/bin/python benchmarks/observability_overhead/run.py [--requests 20000] [--rounds 5]``
"""

from __future__ import annotations

import argparse
import asyncio
import statistics
import time
from collections.abc import Awaitable, Callable
from contextlib import nullcontext
from typing import Any

from opentelemetry import trace
from starlette.routing import Route
from starlette.types import Receive, Scope, Send

from sekisho.gateway.call import Call
from sekisho.guardrails.actions import Outcome
from sekisho.metering import Usage
from sekisho.network.client import TrustedProxies
from sekisho.observability.context import RequestState, bound
from sekisho.observability.hooks import attempts, findings, settled, stage
from sekisho.observability.http import HttpObserver
from sekisho.observability.metrics import GatewayMetrics
from sekisho.observability.observer import Observer
from sekisho.observability.settings import ObservabilitySettings, TracingSettings
from sekisho.observability.tracing import Tracing
from sekisho.settings import ModelSettings

STAGES = (
    "authenticate",
    "parse",
    "authorize",
    "admit",
    "guard_input",
    "decide",
    "upstream",
    "guard_output",
    "settle",
)
HEADERS = [
    (b"host", b"sekisho.internal"),
    (b"user-agent", b"OpenAI/Python 1.99.0"),
    (b"authorization", b"Bearer sk-sks-0123456789abcdef0123456789abcdef0123456"),
    (b"content-type", b"application/json"),
    (b"content-length", b"120"),
    (b"accept", b"application/json"),
    (b"x-stainless-lang", b"python"),
]


async def endpoint(scope: Scope, receive: Receive, send: Send) -> None:
    """The app: routed (as Starlette would mark the scope), answering at once."""
    scope["endpoint"] = endpoint
    scope["path_params"] = {}
    await send(
        {"type": "http.response.start", "status": 200, "headers": [(b"content-type", b"application/json")]}
    )
    await send({"type": "http.response.body", "body": b'{"ok":true}'})


async def receive() -> dict[str, Any]:
    return {"type": "http.request", "body": b"", "more_body": False}


async def send(_message: Any) -> None:
    return None


def observer(metrics: bool, tracing: bool, ratio: float = 1.0) -> Observer:
    return Observer(
        GatewayMetrics(version="bench", instance="bench", review_queue=None) if metrics else None,
        Tracing(TracingSettings(enabled=True, exporter="none", sample_ratio=ratio), version="b", instance="b")
        if tracing
        else None,
    )


def wrapped(obs: Observer) -> HttpObserver:
    routes = [Route("/v1/chat/completions", endpoint, methods=["POST"])]
    return HttpObserver(endpoint, obs, ObservabilitySettings(), TrustedProxies([]), lambda: routes)


async def time_http(app: Callable[[Scope, Receive, Send], Awaitable[None]], n: int) -> float:
    scope = {"type": "http", "method": "POST", "path": "/v1/chat/completions", "headers": HEADERS}
    start = time.perf_counter()
    for _ in range(n):
        await app(dict(scope), receive, send)
    return (time.perf_counter() - start) / n


async def time_hooks(obs: Observer | None, n: int, *, hooks: bool = True) -> float:
    """One model call's hooks, ``n`` times, inside one bound request (its state and root span are the
    HTTP wrapper's cost, measured above). ``hooks=False``: the same work with no hook calls at all."""
    model = ModelSettings(name="gpt-4o-mini", provider="mock", input_cost_per_1m=0.15, output_cost_per_1m=0.6)
    call = Call(request_id="req_bench", endpoint="chat.completions", body={}, model=model, admitted=True)
    call.usage = Usage(120, 80)
    outcome = Outcome()

    async def attempt(_provider: object, _candidate: ModelSettings) -> int:
        return 1

    async def observed_request() -> None:
        for name in STAGES:
            with stage(name):
                if name == "upstream":
                    await attempts(attempt)(None, model)
                elif name == "guard_input":
                    findings(outcome, "input")
                elif name == "settle":
                    settled(call, "completed")

    async def plain_request() -> None:
        for name in STAGES:
            if name == "upstream":
                await attempt(None, model)

    one_request = observed_request if hooks else plain_request
    state = RequestState("req_bench", obs)
    if obs is not None and obs.tracing is not None:
        state.root = obs.tracing.start_root("POST", None, None)
        state.root_ctx = state.inner = trace.set_span_in_context(state.root)
    with bound(state) if obs is not None else nullcontext(state):
        start = time.perf_counter()
        for _ in range(n):
            await one_request()
        elapsed = time.perf_counter() - start
    if state.root is not None:
        state.root.end()
    return elapsed / n


def time_labels(cached: bool, n: int) -> float:
    metrics = GatewayMetrics(version="bench", instance="bench", review_queue=None)
    start = time.perf_counter()
    if cached:
        for _ in range(n):
            counter, histogram = metrics.request("/v1/chat/completions", "POST", "gpt-4o-mini", "200")
            counter.inc()
            histogram.observe(0.0123)
            metrics.overhead_of("/v1/chat/completions").observe(0.0004)
            metrics.tokens_of("gpt-4o-mini", "prompt").inc(120)
            metrics.tokens_of("gpt-4o-mini", "completion").inc(80)
            metrics.cost_of("gpt-4o-mini").inc(0.000066)
    else:
        for _ in range(n):
            metrics.requests.labels("/v1/chat/completions", "POST", "gpt-4o-mini", "200").inc()
            metrics.duration.labels("/v1/chat/completions", "POST", "gpt-4o-mini", "200").observe(0.0123)
            metrics.overhead.labels("/v1/chat/completions").observe(0.0004)
            metrics.tokens.labels("gpt-4o-mini", "prompt").inc(120)
            metrics.tokens.labels("gpt-4o-mini", "completion").inc(80)
            metrics.cost.labels("gpt-4o-mini").inc(0.000066)
    return (time.perf_counter() - start) / n


async def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n", 1)[0])
    parser.add_argument("--requests", type=int, default=20_000, help="Requests per round and case.")
    parser.add_argument("--rounds", type=int, default=5, help="Rounds (cases interleaved; medians reported).")
    args = parser.parse_args()
    n = args.requests

    http_cases: dict[str, Callable[[], Awaitable[float]]] = {
        "no wrapper (baseline)": lambda: time_http(endpoint, n),
        "request id only (metrics and tracing off)": lambda: time_http(wrapped(observer(False, False)), n),
        "metrics (default)": lambda: time_http(wrapped(observer(True, False)), n),
        "metrics + tracing, sampled": lambda: time_http(wrapped(observer(True, True)), n),
        "metrics + tracing, ratio 0 (unsampled)": lambda: time_http(wrapped(observer(True, True, 0.0)), n),
    }
    hook_cases: dict[str, Callable[[], Awaitable[float]]] = {
        "no hook calls (baseline)": lambda: time_hooks(None, n, hooks=False),
        "hooks, nothing bound (CLI, unit tests)": lambda: time_hooks(None, n),
        "metrics (default)": lambda: time_hooks(observer(True, False), n),
        "metrics + tracing, sampled": lambda: time_hooks(observer(True, True), n),
    }
    results: dict[str, dict[str, list[float]]] = {"http": {}, "hooks": {}, "labels": {}}
    for _ in range(args.rounds):
        for name, case in http_cases.items():
            results["http"].setdefault(name, []).append(await case())
        for name, case in hook_cases.items():
            results["hooks"].setdefault(name, []).append(await case())
        results["labels"].setdefault("labels() on every update", []).append(time_labels(False, n))
        results["labels"].setdefault("cached children (Sekisho)", []).append(time_labels(True, n))

    print(f"{n} requests × {args.rounds} rounds; median µs per request (delta against the first row)\n")
    for section, cases in results.items():
        print(f"| {section} | µs/request | added µs |")
        print("|---|---:|---:|")
        base = statistics.median(next(iter(cases.values())))
        for name, samples in cases.items():
            median = statistics.median(samples)
            print(f"| {name} | {median * 1e6:.2f} | {(median - base) * 1e6:+.2f} |")
        print()


if __name__ == "__main__":
    asyncio.run(main())
