"""Password sign-in, the second step (TOTP or recovery code), and password changes.

Passwords are checked outside any write transaction (argon2 takes tens of milliseconds and must not
hold SQLite's write lock); the outcome is then recorded in one transaction with its audit event.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sqlalchemy import update

from sekisho.accounts.errors import AccountError, invalid_code, invalid_credentials, reauth_failed
from sekisho.accounts.parts import Client, Parts, second_factor
from sekisho.accounts.passwords import WeakPassword
from sekisho.accounts.records import Account, account, accounts_by_email, clear_failures
from sekisho.accounts.sessions import Session
from sekisho.audit import AuditEvent
from sekisho.identity.org_settings import read_security
from sekisho.store.tables import users
from sekisho.store.tx import write_transaction

MAX_EMAIL = 320


@dataclass(frozen=True, slots=True)
class SignedIn:
    """A new (or elevated) session and what the client must do next."""

    account: Account
    session: Session
    token: str
    mfa_required: bool  # a TOTP or recovery code is still needed
    enrollment_required: bool  # the organisation requires MFA and the user has none yet


class SignIn:
    """Password sign-in and everything that checks or changes a password."""

    def __init__(self, parts: Parts) -> None:
        self._p = parts

    def account(self, user_id: str) -> Account | None:
        """The account behind a session (for "who am I")."""
        with self._p.engine.connect() as conn:
            return account(conn, user_id)

    def login(self, email: str, password: str, org_slug: str | None, client: Client) -> SignedIn:
        """Check the password; a session (possibly waiting for MFA) or ``invalid_credentials``."""
        p = self._p
        now = p.clock()
        email = email.strip().lower()[:MAX_EMAIL]
        with p.engine.connect() as conn:
            candidates = [a for a in accounts_by_email(conn, email, org_slug) if a.may_sign_in]
        if not candidates:
            p.passwords.burn(password)
            self._unknown(email, org_slug, client)
            raise invalid_credentials()
        matched: list[tuple[Account, bool]] = []
        refused: list[tuple[Account, str]] = []
        for acct in candidates:
            if acct.locked(now):
                p.passwords.burn(password)
                refused.append((acct, "locked"))
                continue
            checked = p.passwords.verify(acct.password_hash, password)
            if checked.ok:
                matched.append((acct, checked.needs_rehash))
            else:
                refused.append((acct, "bad_password" if acct.password_hash else "no_password"))
        if len(matched) > 1:
            # Only someone who knows the password learns that it opens several organisations.
            raise AccountError(
                400,
                "This e-mail address and password belong to several organisations; say which one (org).",
                "org_required",
            )
        if not matched:
            self._refused(refused, client)
            raise invalid_credentials()
        acct, rehash = matched[0]
        new_hash = p.passwords.hash(password) if rehash else None
        return self._succeed(acct, new_hash, client)

    def _unknown(self, email: str, org_slug: str | None, client: Client) -> None:
        # No account to attribute this to: the audit record names what was typed, never the password.
        with write_transaction(self._p.engine) as conn:
            self._p.audit.append_in(
                conn,
                AuditEvent(
                    "auth.login.failed",
                    actor="anonymous",
                    data={"email": email, "org": org_slug, "reason": "unknown_account", "ip": client.ip},
                ),
            )

    def _refused(self, refused: Sequence[tuple[Account, str]], client: Client) -> None:
        with write_transaction(self._p.engine) as conn:
            for acct, reason in refused:
                # A locked account is not counted again: the lock would otherwise never end under attack.
                self._p.fail(
                    conn,
                    acct,
                    "auth.login.failed",
                    reason,
                    client,
                    count=reason != "locked",
                    extra={"method": "password"},
                )

    def _succeed(self, acct: Account, new_hash: str | None, client: Client) -> SignedIn:
        p = self._p
        now = p.clock()
        with write_transaction(p.engine) as conn:
            fresh = account(conn, acct.id, for_update=True)
            if fresh is None or not fresh.may_sign_in or fresh.locked(now):
                # Locked (or disabled) between the password check and now.
                p.fail(conn, acct, "auth.login.failed", "locked", client, count=False)
                signed = None
            else:
                values: dict[str, object] = {"last_login_at": now}
                if new_hash is not None:
                    values["password_hash"] = new_hash
                conn.execute(update(users).where(users.c.id == fresh.id).values(**values))
                require_mfa = read_security(conn, fresh.org_id).require_mfa
                pending = fresh.mfa_enabled
                enrol = not fresh.mfa_enabled and require_mfa
                if not (pending or enrol):
                    # Only a complete sign-in forgets failures: if the password alone did, someone
                    # who has it could reset the count between guesses at the second factor.
                    clear_failures(conn, fresh.id)
                session, token = p.sessions.create_in(
                    conn,
                    org_id=fresh.org_id,
                    user_id=fresh.id,
                    method="password",
                    mfa_verified=not (pending or enrol),
                    ip=client.ip,
                    user_agent=client.user_agent,
                )
                if pending or enrol:
                    p.record(
                        conn,
                        "auth.login.password_accepted",
                        fresh,
                        session_id=session.id,
                        next="mfa" if pending else "mfa_enrollment",
                        ip=client.ip,
                    )
                else:
                    p.record(
                        conn,
                        "auth.login.succeeded",
                        fresh,
                        session_id=session.id,
                        method="password",
                        rehashed=new_hash is not None,
                        ip=client.ip,
                    )
                signed = SignedIn(fresh, session, token, pending, enrol)
        if signed is None:
            raise invalid_credentials()
        return signed

    def verify_mfa(
        self, session: Session, *, code: str | None, recovery_code: str | None, client: Client
    ) -> SignedIn:
        """Finish a sign-in with the second factor; the session's token is replaced (fixation)."""
        p = self._p
        if session.mfa_verified:
            raise AccountError(409, "This session has already passed MFA.", "mfa_already_verified")
        with write_transaction(p.engine) as conn:
            acct = account(conn, session.user_id, for_update=True)
            if acct is None or not acct.may_sign_in:
                raise AccountError(401, "The session has ended; sign in again.", "session_ended")
            if not acct.mfa_enabled:
                raise AccountError(
                    409, "MFA is not set up for this account; enrol first.", "mfa_not_enrolled"
                )
            ok = False
            if acct.locked(p.clock()):
                p.fail(
                    conn, acct, "auth.login.failed", "locked", client, count=False, extra={"method": "mfa"}
                )
            else:
                factor = second_factor(p, conn, acct, code=code, recovery_code=recovery_code)
                if factor.kind is None:
                    p.fail(
                        conn,
                        acct,
                        "auth.login.failed",
                        factor.reason or "bad_code",
                        client,
                        extra={"method": "mfa"},
                    )
                else:
                    ok = True
                    clear_failures(conn, acct.id)
                    p.record(
                        conn,
                        "auth.login.succeeded",
                        acct,
                        session_id=session.id,
                        method=f"password+{factor.kind}",
                        recovery_codes_left=factor.recovery_codes_left,
                        ip=client.ip,
                    )
        if not ok:
            raise invalid_code()
        elevated, token = p.sessions.elevate(session.id)
        return SignedIn(acct, elevated, token, False, False)

    def change_password(
        self, session: Session, current: str, new: str, client: Client
    ) -> tuple[Session, str]:
        """Change one's own password; every session of the user ends and this client gets a new one."""
        p = self._p
        with p.engine.connect() as conn:
            acct = account(conn, session.user_id)
        if acct is None or not acct.may_sign_in:
            raise AccountError(401, "The session has ended; sign in again.", "session_ended")
        _check_new(p, new, acct.email)
        locked = acct.locked(p.clock())
        checked = p.passwords.verify(acct.password_hash, current) if not locked else None
        if checked is None or not checked.ok:
            with write_transaction(p.engine) as conn:
                p.fail(
                    conn,
                    acct,
                    "auth.reauth.failed",
                    "locked" if locked else "bad_password",
                    client,
                    count=not locked,
                    extra={"purpose": "password.change"},
                )
            raise reauth_failed("The current password is wrong.")
        if current == new:
            raise AccountError(400, "The new password must differ from the current one.", "weak_password")
        new_hash = p.passwords.hash(new)
        with write_transaction(p.engine) as conn:
            conn.execute(
                update(users)
                .where(users.c.id == acct.id)
                .values(password_hash=new_hash, updated_at=p.clock())
            )
            ended = p.sessions.revoke_user_in(conn, acct.id, reason="password_changed")
            # A fresh session for this client: the old token (maybe copied) is among those ended.
            fresh, token = p.sessions.create_in(
                conn,
                org_id=acct.org_id,
                user_id=acct.id,
                method=session.method,
                mfa_verified=session.mfa_verified,
                ip=client.ip,
                user_agent=client.user_agent,
            )
            p.record(
                conn,
                "auth.password.changed",
                acct,
                sessions_revoked=max(0, ended - 1),
                session_id=fresh.id,
                ip=client.ip,
            )
        return fresh, token

    def set_password(self, user_id: str, password: str, *, actor: str) -> int:
        """An administrator sets a user's (initial or temporary) password; their sessions end.

        Also lifts a lock-out. Returns how many sessions were ended.
        """
        p = self._p
        with p.engine.connect() as conn:
            acct = account(conn, user_id)
        if acct is None:
            raise AccountError(404, f"user {user_id!r} not found", "not_found")
        if acct.service_account:
            raise AccountError(
                400, "Service accounts sign in with API keys, not passwords.", "service_account"
            )
        _check_new(p, password, acct.email)
        new_hash = p.passwords.hash(password)
        with write_transaction(p.engine) as conn:
            conn.execute(
                update(users)
                .where(users.c.id == acct.id)
                .values(password_hash=new_hash, updated_at=p.clock())
            )
            clear_failures(conn, acct.id)
            ended = p.sessions.revoke_user_in(conn, acct.id, reason="password_set")
            p.record(conn, "auth.password.set", acct, actor=actor, sessions_revoked=ended)
        return ended


def _check_new(parts: Parts, password: str, email: str) -> None:
    try:
        parts.passwords.check_new(password, email=email)
    except WeakPassword as exc:
        raise AccountError(400, str(exc), "weak_password") from None
