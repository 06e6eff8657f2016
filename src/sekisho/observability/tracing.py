"""OpenTelemetry traces: one tracer provider per app, spans exported over OTLP/HTTP.

Only built when ``observability.tracing.enabled`` is on: otherwise no tracer exists and the request
path checks one attribute per stage. The provider is Sekisho's own, not OpenTelemetry's global one,
so several apps in one process (tests) keep their spans apart and a host application's global
provider is left alone.

Spans are parented explicitly (``context=``) rather than through OpenTelemetry's current-context
variable: a stream's spans end inside an async generator, which may be finalised in another task,
where detaching a context token attached elsewhere fails.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable
from typing import Any

from opentelemetry.context import Context
from opentelemetry.sdk.resources import Resource
from opentelemetry.sdk.trace import SpanProcessor, TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor, ConsoleSpanExporter, SpanExporter
from opentelemetry.sdk.trace.sampling import ParentBased, TraceIdRatioBased
from opentelemetry.trace import Span, SpanKind, Tracer
from opentelemetry.trace.propagation.tracecontext import TraceContextTextMapPropagator

from sekisho.observability.settings import TracingSettings

log = logging.getLogger("sekisho.observability")
_PROPAGATOR = TraceContextTextMapPropagator()


class TracingUnavailable(Exception):
    """Tracing is configured but cannot run (the OTLP exporter is not installed)."""


class Tracing:
    """The app's tracer provider and tracer."""

    def __init__(
        self,
        settings: TracingSettings,
        *,
        version: str,
        instance: str,
        processors: Iterable[SpanProcessor] = (),
    ) -> None:
        self.settings = settings
        resource = Resource.create(
            {
                "service.name": settings.service_name,
                "service.version": version,
                "service.instance.id": instance,
            }
        )
        self.provider = TracerProvider(
            sampler=ParentBased(TraceIdRatioBased(settings.sample_ratio)),
            resource=resource,
            # Shut down with the app (lifespan), not at interpreter exit: tests build many apps.
            shutdown_on_exit=False,
        )
        exporter = _exporter(settings)
        if exporter is not None:
            self.provider.add_span_processor(BatchSpanProcessor(exporter))
        for processor in processors:
            self.provider.add_span_processor(processor)
        self.tracer: Tracer = self.provider.get_tracer("sekisho", version)

    def start_root(self, name: str, traceparent: str | None, tracestate: str | None) -> Span:
        """The server span of a request, continuing the caller's trace when it sent one."""
        parent: Context | None = None
        if traceparent is not None and self.settings.trust_incoming:
            carrier = {"traceparent": traceparent}
            if tracestate is not None:
                carrier["tracestate"] = tracestate
            parent = _PROPAGATOR.extract(carrier)
        return self.tracer.start_span(name, context=parent, kind=SpanKind.SERVER)

    def start_background(self, name: str) -> Span:
        """The root span of work no client waits for (an approved review run later)."""
        return self.tracer.start_span(name, kind=SpanKind.INTERNAL)

    def shutdown(self) -> None:
        """Export what is buffered and stop."""
        self.provider.shutdown()


def _exporter(settings: TracingSettings) -> SpanExporter | None:
    if settings.exporter == "none":
        return None
    if settings.exporter == "console":
        return ConsoleSpanExporter()
    try:
        # An optional extra (sekisho[otlp]): imported only when configured, so a deployment without
        # tracing does not need it installed.
        from opentelemetry.exporter.otlp.proto.http import trace_exporter
    except ImportError as exc:
        raise TracingUnavailable(
            "observability.tracing.exporter is otlp, but the OTLP exporter is not installed: "
            "pip install 'sekisho[otlp]' (or set observability.tracing.exporter to none or console)"
        ) from exc
    headers = {k: v.get_secret_value() for k, v in settings.otlp_headers.items()} or None
    # Typed as Any: mypy sees the class only where the extra is installed.
    exporter_class: Any = trace_exporter.OTLPSpanExporter
    exporter: SpanExporter = exporter_class(endpoint=settings.otlp_endpoint, headers=headers)
    return exporter
