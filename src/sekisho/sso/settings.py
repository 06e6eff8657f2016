"""Operator settings for single sign-on (issue 5). Identity providers themselves are configured
per organisation at run time through the admin API (``idp_configs``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class SsoSettings(BaseModel):
    """Single sign-on."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    flow_minutes: float = Field(10, gt=0, description="How long a started sign-in may take to come back.")
    http_timeout_seconds: float = Field(
        10, gt=0, description="Timeout of each request Sekisho makes to an identity provider."
    )
    clock_skew_seconds: int = Field(
        60, ge=0, le=600, description="Clock difference tolerated when checking token and assertion times."
    )
