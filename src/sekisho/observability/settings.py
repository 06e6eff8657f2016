"""Operator settings for metrics, traces and logs (issue 7)."""

from __future__ import annotations

import ipaddress
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

LOOPBACK = ["127.0.0.0/8", "::1/128"]


class TracingSettings(BaseModel):
    """OpenTelemetry traces: a span per pipeline stage, exported over OTLP/HTTP."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(
        False, description="Record traces. Off: no tracer is created and the request path pays nothing."
    )
    exporter: Literal["otlp", "console", "none"] = Field(
        "otlp",
        description="otlp: send spans over OTLP/HTTP (needs the `otlp` extra: pip install 'sekisho[otlp]'); "
        "console: print them to standard output (debugging); none: record without exporting.",
    )
    otlp_endpoint: str | None = Field(
        None,
        description="OTLP/HTTP traces URL, e.g. http://otel-collector:4318/v1/traces. Unset: the "
        "exporter reads OTEL_EXPORTER_OTLP_TRACES_ENDPOINT / OTEL_EXPORTER_OTLP_ENDPOINT.",
    )
    otlp_headers: dict[str, SecretStr] = Field(
        default_factory=dict,
        description="Headers sent with every export (an API key for a hosted backend); kept out of logs.",
    )
    service_name: str = Field("sekisho", min_length=1, description="The service.name resource attribute.")
    sample_ratio: float = Field(
        1.0,
        ge=0.0,
        le=1.0,
        description="Share of new traces recorded. A request carrying a W3C traceparent follows the "
        "caller's sampling decision instead.",
    )
    trust_incoming: bool = Field(
        True,
        description="Continue the trace of an incoming W3C traceparent header. Off: every request "
        "starts a new trace (for a gateway facing untrusted clients that should not steer sampling).",
    )


class ObservabilitySettings(BaseModel):
    """Prometheus metrics, OpenTelemetry traces, structured logs."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    metrics_enabled: bool = Field(True, description="Serve Prometheus metrics at /metrics.")
    metrics_token: SecretStr | None = Field(
        None,
        description="Bearer token /metrics requires (from every client, loopback included); without "
        "one, only clients in `metrics_networks` may read it.",
    )
    metrics_networks: list[str] = Field(
        default_factory=lambda: list(LOOPBACK),
        description="Client addresses or CIDR networks that may read /metrics when no token is set. "
        "The client address is the TCP peer, or the X-Forwarded-For client behind `network.trusted_proxies`.",
    )
    metrics_cache_seconds: float = Field(
        10.0,
        ge=0,
        description="How long gauges read from the database (the review queue) are reused between scrapes.",
    )
    log_format: Literal["auto", "json", "text"] = Field(
        "auto",
        description="Log lines as JSON objects or human-readable text; auto: text on a terminal, JSON "
        "otherwise (containers, systemd). `sekisho serve --log-format` and SEKISHO_LOG_FORMAT override it.",
    )
    tracing: TracingSettings = Field(default_factory=TracingSettings)

    @field_validator("metrics_networks")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return value
