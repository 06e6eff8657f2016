"""TOTP enrolment, recovery codes, disabling MFA and an administrator's reset.

Enrolment is two steps: the secret is stored (sealed) at once but counts only after the user proves
their app produces codes for it; only then are the recovery codes made, and shown that one time.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, update

from sekisho.accounts.errors import AccountError, invalid_code, reauth_failed
from sekisho.accounts.parts import Client, Parts, second_factor
from sekisho.accounts.records import Account, MfaState, account, clear_failures, open_mfa, seal_mfa
from sekisho.accounts.sessions import Session
from sekisho.accounts.totp import new_enrolment, new_recovery_codes, recovery_digest
from sekisho.identity.org_settings import read_security
from sekisho.store.tables import users
from sekisho.store.tx import write_transaction

ISSUER = "Sekisho"


@dataclass(frozen=True, slots=True)
class Started:
    """A pending enrolment: the secret to type in, or the URI to show as a QR code."""

    secret: str
    uri: str


@dataclass(frozen=True, slots=True)
class Enrolled:
    """MFA is on: the recovery codes (shown once) and the session's new token."""

    recovery_codes: list[str]
    session: Session
    token: str
    completed_sign_in: bool


class MfaService:
    """Everything that changes a user's second factor."""

    def __init__(self, parts: Parts) -> None:
        self._p = parts

    def enroll(self, session: Session) -> Started:
        """Start (or restart) enrolment with a fresh secret."""
        p = self._p
        with write_transaction(p.engine) as conn:
            acct = _live(account(conn, session.user_id, for_update=True))
            if acct.mfa_enabled:
                raise AccountError(409, "MFA is already on; disable it first to enrol again.", "mfa_enabled")
            started = new_enrolment(f"{acct.email} ({acct.org_slug})", ISSUER)
            sealed = seal_mfa(p.box, acct.id, MfaState(started.secret))
            conn.execute(update(users).where(users.c.id == acct.id).values(mfa_secret=sealed))
            p.record(conn, "auth.mfa.enrollment_started", acct, session_id=session.id)
        return Started(started.secret, started.uri)

    def confirm(self, session: Session, code: str, client: Client) -> Enrolled:
        """Turn MFA on once ``code`` proves the app has the secret; the session is elevated."""
        p = self._p
        now = p.clock()
        codes = new_recovery_codes()
        with write_transaction(p.engine) as conn:
            acct = _live(account(conn, session.user_id, for_update=True))
            state = open_mfa(p.box, acct)
            if acct.mfa_enabled or state is None:
                raise AccountError(409, "There is no MFA enrolment in progress.", "no_enrollment")
            step = p.totp.verify(state.secret, code, last_step=None)
            if step is not None:
                conn.execute(
                    update(users)
                    .where(users.c.id == acct.id)
                    .values(
                        mfa_secret=seal_mfa(p.box, acct.id, MfaState(state.secret, step)),
                        mfa_enabled_at=now,
                        recovery_codes=[recovery_digest(acct.id, c) for c in codes],
                        updated_at=now,
                    )
                )
                p.record(conn, "auth.mfa.enrolled", acct, session_id=session.id, ip=client.ip)
                if not session.mfa_verified:
                    clear_failures(conn, acct.id)
                    p.record(
                        conn,
                        "auth.login.succeeded",
                        acct,
                        session_id=session.id,
                        method="password+totp_enrollment",
                        ip=client.ip,
                    )
        # A typo while enrolling is not a guess at the account: it is not counted towards lock-out.
        if step is None:
            raise invalid_code()
        elevated, token = p.sessions.elevate(session.id)
        return Enrolled(codes, elevated, token, completed_sign_in=not session.mfa_verified)

    def disable(
        self,
        session: Session,
        *,
        code: str | None,
        recovery_code: str | None,
        password: str | None,
        client: Client,
    ) -> None:
        """Turn MFA off after proving it is the user (a current code, a recovery code or the password)."""
        p = self._p
        with p.engine.connect() as conn:
            acct = _live(account(conn, session.user_id))
            if read_security(conn, acct.org_id).require_mfa:
                raise AccountError(
                    403, "Your organisation requires MFA; it cannot be turned off.", "mfa_required_by_org"
                )
        if not acct.mfa_enabled:
            raise AccountError(409, "MFA is not on.", "mfa_not_enrolled")
        # The slow password check runs before the write transaction, not inside it.
        password_ok = (
            password is not None
            and code is None
            and recovery_code is None
            and not acct.locked(p.clock())
            and p.passwords.verify(acct.password_hash, password).ok
        )
        with write_transaction(p.engine) as conn:
            acct = _live(account(conn, session.user_id, for_update=True))
            reason = self._reauth(conn, acct, code, recovery_code, password_ok, client, "mfa.disable")
            if reason is None:
                conn.execute(
                    update(users)
                    .where(users.c.id == acct.id)
                    .values(mfa_secret=None, mfa_enabled_at=None, recovery_codes=None, updated_at=p.clock())
                )
                p.record(conn, "auth.mfa.disabled", acct, session_id=session.id, ip=client.ip)
        if reason is not None:
            raise reauth_failed("The code or password is wrong.")

    def regenerate(self, session: Session, code: str, client: Client) -> list[str]:
        """New recovery codes (the old ones stop working), after a current TOTP code."""
        p = self._p
        codes = new_recovery_codes()
        with write_transaction(p.engine) as conn:
            acct = _live(account(conn, session.user_id, for_update=True))
            if not acct.mfa_enabled:
                raise AccountError(409, "MFA is not on.", "mfa_not_enrolled")
            reason = self._reauth(conn, acct, code, None, False, client, "mfa.recovery_codes")
            if reason is None:
                conn.execute(
                    update(users)
                    .where(users.c.id == acct.id)
                    .values(recovery_codes=[recovery_digest(acct.id, c) for c in codes])
                )
                p.record(
                    conn, "auth.mfa.recovery_codes_regenerated", acct, session_id=session.id, ip=client.ip
                )
        if reason is not None:
            raise reauth_failed("The code is wrong or has already been used.")
        return codes

    def reset(self, user_id: str, *, actor: str) -> int:
        """An administrator turns a user's MFA off (lost phone); the user's sessions end.

        Returns how many sessions were ended. With the organisation requiring MFA, the user must
        enrol again at their next sign-in.
        """
        p = self._p
        with write_transaction(p.engine) as conn:
            acct = account(conn, user_id, for_update=True)
            if acct is None:
                raise AccountError(404, f"user {user_id!r} not found", "not_found")
            conn.execute(
                update(users)
                .where(users.c.id == acct.id)
                .values(mfa_secret=None, mfa_enabled_at=None, recovery_codes=None, updated_at=p.clock())
            )
            ended = p.sessions.revoke_user_in(conn, acct.id, reason="mfa_reset")
            p.record(
                conn,
                "auth.mfa.reset",
                acct,
                actor=actor,
                was_enabled=acct.mfa_enabled,
                sessions_revoked=ended,
            )
        return ended

    def _reauth(
        self,
        conn: Connection,
        acct: Account,
        code: str | None,
        recovery_code: str | None,
        password_ok: bool,
        client: Client,
        purpose: str,
    ) -> str | None:
        """None when the user proved themselves; else the failure reason (audited and counted)."""
        p = self._p
        if acct.locked(p.clock()):
            reason: str | None = "locked"
        elif password_ok:
            reason = None
        elif code is not None or recovery_code is not None:
            reason = second_factor(p, conn, acct, code=code, recovery_code=recovery_code).reason
        else:
            reason = "bad_password"
        if reason is not None:
            p.fail(
                conn,
                acct,
                "auth.reauth.failed",
                reason,
                client,
                count=reason != "locked",
                extra={"purpose": purpose},
            )
        return reason


def _live(acct: Account | None) -> Account:
    if acct is None or not acct.may_sign_in:
        raise AccountError(401, "The session has ended; sign in again.", "session_ended")
    return acct
