"""Settings for console sign-in: sessions and lock-out (issue 5).

Organisation-wide choices that admins change at run time (require MFA, shorter sessions) live in
``orgs.settings`` instead; these are the operator's defaults and limits.
"""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class SessionSettings(_Strict):
    """Console sessions (cookies)."""

    cookie_name: str = Field("sekisho_session", description="Name of the session cookie.")
    idle_minutes: float = Field(30, gt=0, description="A session unused this long ends.")
    absolute_hours: float = Field(
        12, gt=0, description="A session ends this long after sign-in, used or not."
    )
    secure_cookie: bool | None = Field(
        None,
        description="Mark cookies Secure. Default: yes, unless the request reached Sekisho over plain "
        "HTTP on a loopback address (local development).",
    )


class LockoutSettings(_Strict):
    """Throttling of failed sign-ins."""

    max_failures: int = Field(5, ge=1, description="Failed attempts on one account before it is locked.")
    lock_minutes: float = Field(15, gt=0, description="How long a locked account stays locked.")
    ip_attempts_per_minute: int = Field(
        20, ge=1, description="Sign-in attempts accepted per client address per minute (any account)."
    )


class PasswordSettings(_Strict):
    """Local account passwords (argon2id hashes)."""

    min_length: int = Field(12, ge=8, le=128, description="Shortest password accepted when one is set.")
    argon2_time_cost: int = Field(3, ge=1, description="argon2id iterations (RFC 9106 second choice: 3).")
    argon2_memory_kib: int = Field(
        65536, ge=8, description="argon2id memory per hash in KiB (default 64 MiB, RFC 9106 second choice)."
    )
    argon2_parallelism: int = Field(4, ge=1, description="argon2id lanes.")
    concurrent_hashes: int = Field(
        4, ge=1, description="Password hashes computed at once per process (each takes the memory above)."
    )


class IdentitySettings(_Strict):
    """Console sign-in."""

    public_url: str | None = Field(
        None,
        description="The URL users reach Sekisho at (e.g. https://ai.example.co.jp); SSO redirect URIs "
        "and SAML endpoints are built from it. Default: the request's own scheme and host.",
    )
    sessions: SessionSettings = Field(default_factory=SessionSettings)
    lockout: LockoutSettings = Field(default_factory=LockoutSettings)
    passwords: PasswordSettings = Field(default_factory=PasswordSettings)
