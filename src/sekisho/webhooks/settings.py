"""Configuration of webhook endpoints: where events go, which ones, and the secret that signs them."""

from __future__ import annotations

import os
import re
from collections.abc import Sequence

import httpx
from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator, model_validator

from sekisho.webhooks.sign import decode_secret

# An event type is dotted lower-case words ("review.approved"); a pattern may end in ".*" or be "*".
_PATTERN = re.compile(r"^(\*|[a-z0-9_]+(\.[a-z0-9_]+)*(\.\*)?)$")


class WebhookSecretError(ValueError):
    """The endpoint's secret cannot be used (missing environment variable or malformed)."""


class WebhookSettings(BaseModel):
    """One receiving endpoint. Every delivery is signed the Standard Webhooks way with ``secret``."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    url: str = Field(description="http:// or https:// URL that receives a POST per event.")
    secret: SecretStr | None = Field(
        None,
        description='Signing secret: "whsec_<base64>" (the Standard Webhooks form, base64 of the key '
        "bytes) or any other text, whose UTF-8 bytes are the key. At least 24 bytes of key.",
    )
    secret_env: str | None = Field(None, description="Name of the environment variable holding the secret.")
    events: list[str] = Field(
        default_factory=lambda: ["*"],
        description='Event types to send: exact ("review.approved"), a family ("review.*") or "*".',
    )
    orgs: list[str] | None = Field(None, description="Organisation slugs whose events are sent; null: all.")
    timeout_seconds: float = Field(5.0, gt=0, le=120, description="Whole-request timeout of one attempt.")
    max_attempts: int = Field(8, ge=1, le=30, description="Attempts before a delivery is marked failed.")

    @field_validator("url")
    @classmethod
    def _http_url(cls, value: str) -> str:
        try:
            url = httpx.URL(value)
        except httpx.InvalidURL as exc:
            raise ValueError(f"invalid URL: {exc}") from None
        if url.scheme not in ("http", "https") or not url.host:
            raise ValueError("webhook url must be an absolute http:// or https:// URL")
        return value

    @field_validator("events")
    @classmethod
    def _patterns(cls, value: list[str]) -> list[str]:
        if not value:
            raise ValueError('events must not be empty (use ["*"] for every event)')
        for pattern in value:
            if not _PATTERN.match(pattern):
                raise ValueError(f'bad event pattern {pattern!r}: use "type.name", "type.*" or "*"')
        return value

    @model_validator(mode="after")
    def _one_secret(self) -> WebhookSettings:
        if (self.secret is None) == (self.secret_env is None):
            raise ValueError("set exactly one of secret and secret_env")
        if self.secret is not None:
            # A literal secret is checked now; one from the environment when it is resolved.
            decode_secret(self.secret.get_secret_value())
        return self

    def matches(self, event_type: str, org_slug: str | None) -> bool:
        """Whether this endpoint receives ``event_type`` from the organisation ``org_slug``.

        Events with no organisation (system events) go only to endpoints without an ``orgs`` filter.
        """
        if self.orgs is not None and (org_slug is None or org_slug not in self.orgs):
            return False
        return any(_pattern_matches(pattern, event_type) for pattern in self.events)

    def signing_key(self) -> bytes:
        """The HMAC key, read from ``secret`` or the environment variable ``secret_env``."""
        if self.secret is not None:
            return decode_secret(self.secret.get_secret_value())
        assert self.secret_env is not None
        value = os.environ.get(self.secret_env)
        if value is None:
            raise WebhookSecretError(
                f"webhook {self.host}: environment variable {self.secret_env} is not set"
            )
        try:
            return decode_secret(value)
        except ValueError as exc:
            raise WebhookSecretError(f"webhook {self.host}: {self.secret_env}: {exc}") from None

    @property
    def host(self) -> str:
        """Scheme, host and port only: safe to log (paths and queries often carry tokens)."""
        url = httpx.URL(self.url)
        port = f":{url.port}" if url.port else ""
        return f"{url.scheme}://{url.host}{port}"


def _pattern_matches(pattern: str, event_type: str) -> bool:
    if pattern == "*":
        return True
    if pattern.endswith(".*"):
        return event_type.startswith(pattern[:-1])
    return event_type == pattern


def check_endpoints(endpoints: Sequence[WebhookSettings]) -> None:
    """Reject two endpoints with one URL: deliveries are stored by URL, so their secrets would clash."""
    seen: set[str] = set()
    for endpoint in endpoints:
        if endpoint.url in seen:
            raise ValueError(f"webhook url configured twice: {endpoint.host}")
        seen.add(endpoint.url)
