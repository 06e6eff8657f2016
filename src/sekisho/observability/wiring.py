"""``build_observability``: the app's metrics, tracer, HTTP wrapper and readiness checks, made once."""

from __future__ import annotations

from collections.abc import Callable, Iterable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from typing import TYPE_CHECKING

from sqlalchemy import Engine
from starlette.routing import BaseRoute
from starlette.types import ASGIApp

from sekisho import __version__
from sekisho.network.client import TrustedProxies
from sekisho.observability.context import RequestState
from sekisho.observability.http import HttpObserver
from sekisho.observability.metrics import GatewayMetrics
from sekisho.observability.observer import Observer
from sekisho.observability.queue_depth import ReviewQueueCollector
from sekisho.observability.readiness import Readiness
from sekisho.settings import ConfigError, Settings

if TYPE_CHECKING:
    from sekisho.observability.tracing import Tracing


@dataclass(slots=True)
class Observability:
    """Everything observability holds for one app; ``build_app`` keeps it as ``app.state.observability``."""

    settings: Settings
    observer: Observer
    readiness: Readiness

    @property
    def metrics(self) -> GatewayMetrics | None:
        """The Prometheus metrics (None when ``metrics_enabled`` is off)."""
        return self.observer.metrics

    @property
    def tracing(self) -> Tracing | None:
        """The tracer provider (None unless ``tracing.enabled``)."""
        return self.observer.tracing

    def instrument(
        self, app: ASGIApp, trusted: TrustedProxies, routes: Callable[[], Iterable[BaseRoute]]
    ) -> HttpObserver:
        """``app`` wrapped with request ids, request metrics, root spans and /metrics."""
        return HttpObserver(app, self.observer, self.settings.observability, trusted, routes)

    @contextmanager
    def background(self, request_id: str, name: str) -> Iterator[RequestState]:
        """Observe work that no HTTP request started (the review runner's approved requests)."""
        with self.observer.background(request_id, name) as state:
            yield state

    async def aclose(self) -> None:
        """Export buffered spans, forget this process's live gauges, close the Redis check."""
        await self.readiness.aclose()
        if self.tracing is not None:
            self.tracing.shutdown()
        if self.metrics is not None:
            self.metrics.close()


def build_observability(settings: Settings, engine: Engine) -> Observability:
    """Metrics (unless switched off), tracing (when switched on) and readiness checks."""
    options = settings.observability
    metrics = (
        GatewayMetrics(
            version=__version__,
            instance=settings.instance_id,
            review_queue=ReviewQueueCollector(engine, cache_seconds=options.metrics_cache_seconds),
        )
        if options.metrics_enabled
        else None
    )
    tracing = None
    if options.tracing.enabled:
        # The SDK is imported only here: with tracing off, Sekisho never loads it.
        from sekisho.observability.tracing import Tracing, TracingUnavailable

        try:
            tracing = Tracing(options.tracing, version=__version__, instance=settings.instance_id)
        except TracingUnavailable as exc:
            raise ConfigError(str(exc)) from None
    return Observability(settings, Observer(metrics, tracing), Readiness(settings, engine))
