"""The Prometheus metrics, on a registry of their own per app.

A registry per ``build_app`` (not prometheus_client's global one) lets several apps live in one
process — tests, embedding — without their series colliding. Labels only ever take values from a
bounded set (route templates, configured model and provider names, Sekisho's own error codes,
finding types), never from what a client sends, so a client cannot blow up the number of series.

Every update goes through a cache of labelled children: ``labels()`` validates and locks on each
call, a dict lookup does not, and this code runs on every request.
"""

from __future__ import annotations

import os
from pathlib import Path
from typing import Any, Generic, TypeVar

from prometheus_client import CollectorRegistry, Counter, Gauge, Histogram

from sekisho.observability.queue_depth import ReviewQueueCollector

M = TypeVar("M")

LATENCY_BUCKETS = (0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0, 30.0, 60.0, 120.0)
"""Whole requests: model calls take from milliseconds (embeddings) to minutes (long answers)."""

OVERHEAD_BUCKETS = (0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 1.0)
"""Sekisho's own time: sub-millisecond is the target, so the resolution is there."""


class _Children(Generic[M]):
    """Labelled children of one metric, cached by their label values."""

    __slots__ = ("_cache", "_metric")

    def __init__(self, metric: Any) -> None:
        self._metric = metric
        self._cache: dict[tuple[str, ...], M] = {}

    def __call__(self, *values: str) -> M:
        child = self._cache.get(values)
        if child is None:
            child = self._cache[values] = self._metric.labels(*values)
        return child


def multiprocess_dir() -> str | None:
    """PROMETHEUS_MULTIPROC_DIR when prometheus_client runs in multiprocess mode (several workers)."""
    return os.environ.get("PROMETHEUS_MULTIPROC_DIR") or None


class GatewayMetrics:
    """Every metric Sekisho exports; docs/observability.md is the reference."""

    def __init__(self, *, version: str, instance: str, review_queue: ReviewQueueCollector | None) -> None:
        self.registry = CollectorRegistry(auto_describe=True)
        r = self.registry
        self._review_queue = review_queue
        route = ["route", "method", "model", "status"]
        self.requests = Counter(
            "sekisho_requests",
            "HTTP requests answered, by route template, model and status.",
            route,
            registry=r,
        )
        self.duration = Histogram(
            "sekisho_request_duration_seconds",
            "Time from the request's arrival to the last byte of its answer (whole stream included).",
            route,
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.overhead = Histogram(
            "sekisho_gateway_overhead_seconds",
            "Time Sekisho adds before the first byte of a model call's answer: time to the response "
            "start minus the time spent waiting for the requested model (attempts and back-off).",
            ["route"],
            buckets=OVERHEAD_BUCKETS,
            registry=r,
        )
        self.in_flight = Gauge(
            "sekisho_requests_in_flight",
            "Requests being handled now.",
            registry=r,
            multiprocess_mode="livesum",
        )
        self.upstream_duration = Histogram(
            "sekisho_upstream_duration_seconds",
            "One upstream attempt: until the whole answer, or until the first chunk of a stream.",
            ["provider", "model", "outcome"],
            buckets=LATENCY_BUCKETS,
            registry=r,
        )
        self.upstream_errors = Counter(
            "sekisho_upstream_errors",
            "Failed upstream attempts, by kind (timeout, connect, http_429, http_5xx, http_4xx, other).",
            ["provider", "model", "kind"],
            registry=r,
        )
        self.retries = Counter(
            "sekisho_upstream_retries",
            "Attempts that retried the same model after a failure.",
            ["provider", "model"],
            registry=r,
        )
        self.fallbacks = Counter(
            "sekisho_upstream_fallbacks",
            "Moves to a fallback model after a model failed.",
            ["model", "fallback"],
            registry=r,
        )
        self.tokens = Counter(
            "sekisho_tokens",
            "Tokens of settled calls, by the model that served them and kind (prompt, completion).",
            ["model", "kind"],
            registry=r,
        )
        self.cost = Counter(
            "sekisho_cost_usd",
            "Cost of settled calls in USD, by the model that served them.",
            ["model"],
            registry=r,
        )
        self.findings = Counter(
            "sekisho_guardrail_findings",
            "Guardrail findings on gateway calls, by type, the action taken and direction (input, output).",
            ["type", "action", "direction"],
            registry=r,
        )
        self.policy = Counter(
            "sekisho_policy_decisions",
            "Usage-policy decisions on gateway calls (allow, review, block, crisis_reply), by source.",
            ["decision", "source"],
            registry=r,
        )
        self.rejections = Counter(
            "sekisho_rejections",
            "Gateway calls answered with an error, by the pipeline stage that refused them and the "
            "error code (budget and rate-limit refusals are stage=admit).",
            ["stage", "code"],
            registry=r,
        )
        build = Gauge(
            "sekisho_build_info",
            "Always 1; the labels say which version runs, on which instance.",
            ["version", "instance"],
            registry=r,
            multiprocess_mode="max",
        )
        build.labels(version, instance).set(1)
        if review_queue is not None:
            r.register(review_queue)
        self.request = _Children[tuple[Any, Any]](_Pair(self.requests, self.duration))
        self.overhead_of = _Children[Any](self.overhead)
        self.upstream_duration_of = _Children[Any](self.upstream_duration)
        self.upstream_errors_of = _Children[Any](self.upstream_errors)
        self.retries_of = _Children[Any](self.retries)
        self.fallbacks_of = _Children[Any](self.fallbacks)
        self.tokens_of = _Children[Any](self.tokens)
        self.cost_of = _Children[Any](self.cost)
        self.findings_of = _Children[Any](self.findings)
        self.policy_of = _Children[Any](self.policy)
        self.rejections_of = _Children[Any](self.rejections)

    def scrape_registry(self) -> CollectorRegistry:
        """What /metrics renders: this registry, or in multiprocess mode every worker's files."""
        directory = multiprocess_dir()
        if directory is None:
            return self.registry
        from prometheus_client import multiprocess

        merged = CollectorRegistry()
        multiprocess.MultiProcessCollector(merged, path=directory)  # type: ignore[no-untyped-call]
        if self._review_queue is not None:
            # Read from the database, not kept in the workers' files: added once, not once per worker.
            merged.register(self._review_queue)
        return merged

    def close(self) -> None:
        """Forget this process's live gauges in multiprocess mode (its files would count on otherwise)."""
        directory = multiprocess_dir()
        if directory is not None:
            from prometheus_client import multiprocess

            multiprocess.mark_process_dead(os.getpid(), directory)  # type: ignore[no-untyped-call]


class _Pair:
    """``labels()`` of two metrics with the same label names, as one child pair."""

    def __init__(self, first: Any, second: Any) -> None:
        self._first = first
        self._second = second

    def labels(self, *values: str) -> tuple[Any, Any]:
        return self._first.labels(*values), self._second.labels(*values)


def reset_multiprocess_dir() -> None:
    """Empty PROMETHEUS_MULTIPROC_DIR before workers start (a previous run's files would count on)."""
    directory = multiprocess_dir()
    if directory is None:
        return
    path = Path(directory)
    path.mkdir(parents=True, exist_ok=True)
    for stale in path.glob("*.db"):
        stale.unlink()
