"""Request and response bodies of the /auth API (and the admin routes for passwords and MFA)."""

from __future__ import annotations

from datetime import datetime
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sekisho.accounts.passwords import MAX_LENGTH

Password = Annotated[str, Field(min_length=1, max_length=MAX_LENGTH)]
Code = Annotated[str, Field(min_length=1, max_length=64)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class LoginIn(_In):
    """Sign in with a password."""

    email: Annotated[str, Field(min_length=3, max_length=320)]
    password: Password
    org: Annotated[str | None, Field(max_length=100)] = Field(
        None, description="The organisation's slug; needed only when the e-mail is in several."
    )


class SecondFactorIn(_In):
    """A TOTP code or a recovery code (exactly one)."""

    code: Code | None = None
    recovery_code: Code | None = None

    @model_validator(mode="after")
    def _one(self) -> SecondFactorIn:
        if (self.code is None) == (self.recovery_code is None):
            raise ValueError("give either code or recovery_code")
        return self


class CodeIn(_In):
    """A current TOTP code."""

    code: Code


class DisableMfaIn(_In):
    """Proof that it is the user: a TOTP code, a recovery code or the password (exactly one)."""

    code: Code | None = None
    recovery_code: Code | None = None
    password: Password | None = None

    @model_validator(mode="after")
    def _one(self) -> DisableMfaIn:
        given = [v for v in (self.code, self.recovery_code, self.password) if v is not None]
        if len(given) != 1:
            raise ValueError("give exactly one of code, recovery_code or password")
        return self


class PasswordChangeIn(_In):
    """Change one's own password."""

    current_password: Password
    new_password: Password


class PasswordSetIn(_In):
    """An administrator sets a user's password."""

    password: Password


class UserOut(BaseModel):
    id: str
    email: str
    name: str
    role: str


class OrgOut(BaseModel):
    id: str
    slug: str
    name: str


class SignedInOut(BaseModel):
    """The answer to a sign-in step."""

    user: UserOut
    org: OrgOut
    mfa_required: bool = Field(description="Send a code to /auth/v1/mfa/verify before anything else.")
    mfa_enrollment_required: bool = Field(
        description="The organisation requires MFA: enrol (/auth/v1/mfa/enroll) before anything else."
    )
    csrf_token: str = Field(description="Echo in the X-CSRF-Token header of every state-changing request.")


class SessionInfo(BaseModel):
    id: str
    method: str
    mfa_verified: bool
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None
    current: bool


class MfaStateOut(BaseModel):
    enabled: bool
    verified: bool
    recovery_codes_left: int


class WhoAmIOut(SignedInOut):
    """The signed-in user, their organisation and the session."""

    session: SessionInfo
    mfa: MfaStateOut


class EnrollOut(BaseModel):
    secret: str = Field(description="The base32 secret, for typing into an authenticator app.")
    otpauth_uri: str = Field(description="The otpauth:// URI, to show as a QR code.")


class RecoveryCodesOut(BaseModel):
    recovery_codes: list[str] = Field(description="Shown this once; each works once.")
    csrf_token: str | None = None


class SessionsRevokedOut(BaseModel):
    user_id: str
    sessions_revoked: int
