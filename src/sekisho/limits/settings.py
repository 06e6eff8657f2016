"""Operator settings for budgets and rate limits (issue 7). The budgets and limits themselves are
kept per organisation at run time (tables ``budgets`` and ``rate_limits``); docs/budgets.md explains
how they are enforced."""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field


class LimitSettings(BaseModel):
    """Budgets and rate limits."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Enforce budgets and rate limits at admission.")
    backend: Literal["memory", "redis"] = Field(
        "memory",
        description="Where live counters are kept: 'memory' (one process; SQLite deployments) or "
        "'redis' (several replicas share them; PostgreSQL stays the durable truth).",
    )
    redis_url: str = Field("redis://127.0.0.1:6379/0", description="Redis for backend 'redis'.")
    key_prefix: str = Field(
        "sekisho:",
        min_length=1,
        max_length=100,
        description="Prefix of every Redis key (several deployments can share one Redis).",
    )
    redis_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=30,
        description="Connect, command and pool-wait timeout towards Redis; then on_backend_error. "
        "A refused connection fails at once; this bounds how long a hung Redis holds requests.",
    )
    redis_max_connections: int = Field(
        64, ge=1, le=10000, description="Connections to Redis per process; requests queue for one."
    )
    on_backend_error: Literal["fail_closed", "fail_open"] = Field(
        "fail_closed",
        description="When Redis cannot be reached: refuse requests (503) or let them through unmetered.",
    )
    reservation_ttl_seconds: int = Field(
        900,
        ge=10,
        le=86400,
        description="How long a reservation may be held: longer than the longest request (retries, "
        "fallbacks and streaming included). A reservation of a process that died is freed after this.",
    )
    default_max_output_tokens: int = Field(
        4096,
        ge=1,
        description="Output tokens reserved for a request that names no max_tokens / max_completion_tokens.",
    )
    max_output_tokens: dict[str, int] = Field(
        default_factory=dict,
        description="Per model name: output tokens reserved when a request names no maximum "
        "(overrides default_max_output_tokens).",
    )
    send_output_cap: bool = Field(
        True,
        description="When a budget or token limit applies and the request names no maximum, send the "
        "reserved cap upstream as max_tokens, so the reservation is a true upper bound.",
    )
    cache_seconds: float = Field(
        2.0,
        ge=0,
        description="How long a replica keeps an organisation's budget and limit definitions; a change "
        "made through another replica takes effect here after at most this.",
    )
    flush_seconds: float = Field(
        1.0, gt=0, le=60, description="How often settled spend is written to budget_spend (one batch)."
    )
    reconcile_seconds: float = Field(
        60.0, gt=0, description="How often Redis counters are checked against budget_spend."
    )
    clock_offset_seconds: float = Field(
        0.0,
        description="Shift the clock the limits use (drills and tests: e.g. +86400 is tomorrow's "
        "budget period). Leave 0 in production.",
    )
