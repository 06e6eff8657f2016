"""What the sign-in services share: their collaborators, failure accounting, the second-factor check."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, update

from sekisho.accounts.passwords import Passwords
from sekisho.accounts.records import Account, MfaState, open_mfa, record_failure, seal_mfa
from sekisho.accounts.sessions import SessionStore
from sekisho.accounts.totp import TotpVerifier, recovery_digest
from sekisho.audit import AuditEvent, AuditLog
from sekisho.crypto import SecretBox
from sekisho.identity.settings import LockoutSettings
from sekisho.store.tables import users


@dataclass(frozen=True, slots=True)
class Client:
    """Where an attempt came from (for the audit record and the session list)."""

    ip: str | None = None
    user_agent: str | None = None


@dataclass(frozen=True, slots=True)
class Parts:
    """The collaborators of the sign-in and MFA services, built once by ``build_accounts``."""

    engine: Engine
    audit: AuditLog
    sessions: SessionStore
    passwords: Passwords
    totp: TotpVerifier
    box: SecretBox
    lockout: LockoutSettings
    clock: Callable[[], datetime]

    def record(
        self, conn: Connection, kind: str, acct: Account, *, actor: str | None = None, **data: Any
    ) -> None:
        """Append an audit event about ``acct`` inside the caller's transaction (None values left out)."""
        body: dict[str, Any] = {"user_id": acct.id}
        body.update({k: v for k, v in data.items() if v is not None})
        self.audit.append_in(
            conn, AuditEvent(kind, actor=actor or f"user:{acct.id}", org_id=acct.org_id, data=body)
        )

    def fail(
        self,
        conn: Connection,
        acct: Account,
        kind: str,
        reason: str,
        client: Client,
        *,
        count: bool = True,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        """Audit a failed attempt on ``acct``; count it towards the lock-out and audit a lock it causes."""
        self.record(conn, kind, acct, reason=reason, ip=client.ip, **dict(extra or {}))
        if count and record_failure(conn, acct.id, self.clock(), self.lockout):
            self.record(
                conn,
                "auth.account.locked",
                acct,
                actor="system",
                failures=self.lockout.max_failures,
                lock_minutes=_number(self.lockout.lock_minutes),
                ip=client.ip,
            )


@dataclass(frozen=True, slots=True)
class Factor:
    """The result of a second-factor check: which factor passed, or why none did."""

    kind: str | None  # "totp" | "recovery_code" | None
    reason: str | None = None  # why it failed: bad_totp_code | totp_code_reused | bad_recovery_code
    recovery_codes_left: int | None = None


def second_factor(
    parts: Parts, conn: Connection, acct: Account, *, code: str | None, recovery_code: str | None
) -> Factor:
    """Check a TOTP code or a recovery code, and spend it (inside the caller's transaction).

    The caller holds the user's row (``for_update``), so two requests with the same code cannot both
    pass: the second sees the step or the recovery code already spent.
    """
    if recovery_code is not None:
        digest = recovery_digest(acct.id, recovery_code)
        if digest not in acct.recovery_digests:
            return Factor(None, "bad_recovery_code")
        left = [d for d in acct.recovery_digests if d != digest]
        conn.execute(update(users).where(users.c.id == acct.id).values(recovery_codes=left))
        return Factor("recovery_code", recovery_codes_left=len(left))
    state = open_mfa(parts.box, acct)
    if state is None or code is None:
        return Factor(None, "bad_totp_code")
    step = parts.totp.verify(state.secret, code, last_step=None)
    if step is None:
        return Factor(None, "bad_totp_code")
    if state.last_step is not None and step <= state.last_step:
        return Factor(None, "totp_code_reused")
    sealed = seal_mfa(parts.box, acct.id, MfaState(state.secret, step))
    conn.execute(update(users).where(users.c.id == acct.id).values(mfa_secret=sealed))
    return Factor("totp")


def _number(value: float) -> int | str:
    # Audit data holds integers, not floats (the canonical form hashes exact text).
    return int(value) if float(value).is_integer() else str(value)


def audit_number(value: float | None) -> int | str | None:
    """A setting's number as audit data (integers as such, fractions as text)."""
    return None if value is None else _number(value)
