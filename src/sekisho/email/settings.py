"""Operator settings for outgoing e-mail (budget alerts)."""

from __future__ import annotations

import os

from pydantic import BaseModel, ConfigDict, Field, model_validator


class EmailError(ValueError):
    """The e-mail settings cannot be used (e.g. the password's environment variable is missing)."""


class EmailSettings(BaseModel):
    """The SMTP server Sekisho sends alerts through. Without ``host``, no e-mail is written or sent."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    host: str | None = Field(None, description="SMTP server host name; null: e-mail is off.")
    port: int = Field(587, ge=1, le=65535, description="SMTP port (587 submission, 465 implicit TLS, 25).")
    starttls: bool = Field(True, description="Upgrade the connection with STARTTLS before signing in.")
    ssl: bool = Field(False, description="Implicit TLS from the first byte (port 465); excludes starttls.")
    username: str | None = Field(None, description="SMTP user name; null: send without signing in.")
    password_env: str | None = Field(
        None, description="Name of the environment variable holding the SMTP password."
    )
    from_address: str = Field("sekisho@localhost", description="The From: address of every message.")
    timeout_seconds: float = Field(15.0, gt=0, le=300, description="Timeout of one SMTP conversation.")
    max_attempts: int = Field(8, ge=1, le=30, description="Attempts before a message is marked failed.")
    poll_seconds: float = Field(5.0, gt=0, description="How often the sender looks for due messages.")
    backoff_seconds: float = Field(30.0, ge=0, description="First retry delay; doubles per attempt.")

    @model_validator(mode="after")
    def _consistent(self) -> EmailSettings:
        if self.ssl and self.starttls:
            raise ValueError("email: choose ssl (implicit TLS) or starttls, not both")
        if self.password_env and not self.username:
            raise ValueError("email: password_env needs a username")
        return self

    @property
    def enabled(self) -> bool:
        """Whether e-mail is configured."""
        return self.host is not None

    def password(self) -> str | None:
        """The SMTP password from ``password_env`` (None when no user signs in)."""
        if not self.password_env:
            return None
        value = os.environ.get(self.password_env)
        if value is None:
            raise EmailError(f"email: environment variable {self.password_env} is not set")
        return value
