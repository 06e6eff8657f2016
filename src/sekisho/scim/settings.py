"""Operator settings for SCIM 2.0 provisioning (issue 5)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, model_validator


class ScimSettings(BaseModel):
    """SCIM 2.0 at /scim/v2."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    enabled: bool = Field(True, description="Serve /scim/v2 (each organisation still needs a SCIM token).")
    max_page_size: int = Field(200, ge=1, description="Largest `count` a list request is answered with.")
    default_page_size: int = Field(
        100, ge=1, description="How many resources a list request without `count` is answered with."
    )
    max_body_bytes: int = Field(
        4 * 1024 * 1024,
        ge=1024,
        description="Largest SCIM request body accepted (a PUT of a large group lists every member).",
    )

    @model_validator(mode="after")
    def _default_within_max(self) -> ScimSettings:
        if self.default_page_size > self.max_page_size:
            raise ValueError("scim.default_page_size must not exceed scim.max_page_size")
        return self
