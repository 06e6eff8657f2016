"""Operator settings for usage data at scale (issue 7)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class UsageDataSettings(BaseModel):
    """Usage events, roll-ups and retention."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    retention_days: int | None = Field(
        None,
        ge=1,
        description=(
            "Drop raw usage events older than this many days (the daily roll-ups are kept). On "
            "PostgreSQL whole monthly partitions go, so a row lives at most a month longer. None: keep."
        ),
    )
    maintenance: bool = Field(
        True,
        description=(
            "Run the usage maintenance job in this process (PostgreSQL partitions ahead of time, "
            "retention). Replicas may all run it: they take turns through a database lock."
        ),
    )
    maintenance_interval_seconds: float = Field(
        3600.0, gt=0, description="How often the maintenance job runs after the pass at start-up."
    )
    partition_months_ahead: int = Field(
        2, ge=1, le=24, description="PostgreSQL: monthly partitions kept ready beyond the current month."
    )
    lock_timeout_seconds: float = Field(
        2.0,
        gt=0,
        le=60,
        description=(
            "PostgreSQL: how long dropping or attaching a partition waits for its table lock before "
            "giving up until the next run (writes to usage_events queue behind a waiting lock)."
        ),
    )
