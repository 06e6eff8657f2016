"""What sign-in tells a client when it says no.

Wrong password, unknown e-mail, locked or disabled account all give the same answer
(``invalid_credentials``): only the audit log says which it was.
"""

from __future__ import annotations

from sekisho.gateway.errors import GatewayError


class AccountError(Exception):
    """A refusal with an HTTP status, a stable code and a message a person can act on."""

    def __init__(self, status: int, message: str, code: str, *, retry_after: int | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.code = code
        self.retry_after = retry_after

    def gateway_error(self) -> GatewayError:
        """The same refusal as an OpenAI-format error response."""
        kind = {401: "invalid_request_error", 403: "permission_error", 429: "rate_limit_error"}
        headers = {"Retry-After": str(self.retry_after)} if self.retry_after is not None else None
        return GatewayError(
            self.status,
            self.message,
            type=kind.get(self.status, "invalid_request_error"),
            code=self.code,
            headers=headers,
        )


def invalid_credentials() -> AccountError:
    """The one answer for every failed password sign-in."""
    return AccountError(401, "The e-mail address or password is wrong.", "invalid_credentials")


def invalid_code() -> AccountError:
    """The one answer for every failed MFA code (wrong, reused, expired, or the account is locked)."""
    return AccountError(401, "The code is wrong or has already been used.", "invalid_mfa_code")


def reauth_failed(message: str) -> AccountError:
    """A signed-in user failed to prove themselves again before a sensitive change."""
    return AccountError(403, message, "reauthentication_failed")


def throttled(retry_after: int) -> AccountError:
    """Too many attempts from this address."""
    return AccountError(
        429,
        f"Too many sign-in attempts from this address; try again in {retry_after} seconds.",
        "too_many_attempts",
        retry_after=retry_after,
    )
