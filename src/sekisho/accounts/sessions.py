"""Console sessions: a random token in an HttpOnly cookie, its SHA-256 in the ``sessions`` table.

A session ends when it is idle too long, when its absolute lifetime is over, or when it is revoked
(sign-out, password or role change, deprovisioning). The token is replaced whenever the session gains
privilege (MFA passed), so a token planted before sign-in is worthless after it (session fixation).
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity.settings import SessionSettings
from sekisho.store.tables import sessions
from sekisho.store.tx import write_transaction

# An active session's last-seen time is written at most this often: every console request
# extends the idle deadline, but the database sees one write a minute, not one per request.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class Session:
    id: str
    org_id: str
    user_id: str
    method: str
    mfa_verified: bool
    created_at: datetime
    last_seen_at: datetime
    idle_expires_at: datetime
    expires_at: datetime
    ip: str | None
    user_agent: str | None


@dataclass(frozen=True, slots=True)
class Lifetimes:
    """How long sessions of one organisation live (its own settings, within the operator's)."""

    idle: timedelta
    absolute: timedelta


def hash_token(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def csrf_token_for(token: str) -> str:
    """The CSRF token that goes with a session token.

    Derived, not stored: only someone who holds the (HttpOnly) session token can compute it, and
    a cross-site page can neither read the cookie nor the console's copy of this value.
    """
    return hmac.new(token.encode(), b"sekisho-csrf", hashlib.sha256).hexdigest()


def _session(row: RowMapping) -> Session:
    return Session(
        id=row["id"],
        org_id=row["org_id"],
        user_id=row["user_id"],
        method=row["method"],
        mfa_verified=bool(row["mfa_verified"]),
        created_at=as_utc(row["created_at"]),
        last_seen_at=as_utc(row["last_seen_at"]),
        idle_expires_at=as_utc(row["idle_expires_at"]),
        expires_at=as_utc(row["expires_at"]),
        ip=row["ip"],
        user_agent=row["user_agent"],
    )


class SessionStore:
    """Creates, finds and ends sessions. Every change is audited in its own transaction."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        settings: SessionSettings,
        *,
        lifetimes: Callable[[str], Lifetimes] | None = None,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._default = Lifetimes(
            timedelta(minutes=settings.idle_minutes), timedelta(hours=settings.absolute_hours)
        )
        self._lifetimes = lifetimes
        self._clock = clock

    def lifetimes(self, org_id: str) -> Lifetimes:
        """The organisation's session lifetimes (never longer than the operator's)."""
        if self._lifetimes is None:
            return self._default
        own = self._lifetimes(org_id)
        return Lifetimes(min(own.idle, self._default.idle), min(own.absolute, self._default.absolute))

    def create(
        self,
        *,
        org_id: str,
        user_id: str,
        method: str,
        mfa_verified: bool,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[Session, str]:
        """A new session and its token (to be set as the cookie; it is not stored)."""
        with write_transaction(self._engine) as conn:
            return self.create_in(
                conn,
                org_id=org_id,
                user_id=user_id,
                method=method,
                mfa_verified=mfa_verified,
                ip=ip,
                user_agent=user_agent,
            )

    def create_in(
        self,
        conn: Connection,
        *,
        org_id: str,
        user_id: str,
        method: str,
        mfa_verified: bool,
        ip: str | None = None,
        user_agent: str | None = None,
    ) -> tuple[Session, str]:
        """``create`` inside the caller's transaction (sign-in records its audit event with it)."""
        now = self._clock()
        life = self.lifetimes(org_id)
        token = secrets.token_urlsafe(32)
        row = {
            "id": new_id("sess"),
            "token_hash": hash_token(token),
            "org_id": org_id,
            "user_id": user_id,
            "method": method,
            "mfa_verified": mfa_verified,
            "created_at": now,
            "last_seen_at": now,
            "idle_expires_at": min(now + life.idle, now + life.absolute),
            "expires_at": now + life.absolute,
            "ip": ip,
            "user_agent": (user_agent or "")[:300] or None,
        }
        conn.execute(insert(sessions).values(**row))
        return _session(row), token  # type: ignore[arg-type]

    def lookup(self, token: str) -> Session | None:
        """The live session for a token, its idle deadline pushed forward; None when ended."""
        now = self._clock()
        with self._engine.connect() as conn:
            row = (
                conn.execute(select(sessions).where(sessions.c.token_hash == hash_token(token)))
                .mappings()
                .first()
            )
        if row is None or row["revoked_at"] is not None:
            return None
        session = _session(row)
        if session.expires_at <= now or session.idle_expires_at <= now:
            return None
        if now - session.last_seen_at >= _TOUCH_EVERY:
            idle = min(now + self.lifetimes(session.org_id).idle, session.expires_at)
            with write_transaction(self._engine) as conn:
                conn.execute(
                    update(sessions)
                    .where(sessions.c.id == session.id, sessions.c.revoked_at.is_(None))
                    .values(last_seen_at=now, idle_expires_at=idle)
                )
        return session

    def elevate(self, session_id: str) -> tuple[Session, str]:
        """Mark MFA passed and replace the token (the old one stops working at once)."""
        token = secrets.token_urlsafe(32)
        with write_transaction(self._engine) as conn:
            conn.execute(
                update(sessions)
                .where(sessions.c.id == session_id)
                .values(mfa_verified=True, token_hash=hash_token(token))
            )
            row = conn.execute(select(sessions).where(sessions.c.id == session_id)).mappings().one()
        return _session(row), token

    def list_for_user(self, user_id: str) -> list[Session]:
        """The user's sessions that have not ended, newest first."""
        now = self._clock()
        with self._engine.connect() as conn:
            rows = (
                conn.execute(
                    select(sessions)
                    .where(
                        sessions.c.user_id == user_id,
                        sessions.c.revoked_at.is_(None),
                        sessions.c.expires_at > now,
                        sessions.c.idle_expires_at > now,
                    )
                    .order_by(sessions.c.created_at.desc())
                )
                .mappings()
                .all()
            )
        return [_session(r) for r in rows]

    def revoke(self, session_id: str, *, reason: str, actor: str, user_id: str | None = None) -> bool:
        """End one session (``user_id``, when given, must own it). False if there was none to end."""
        with write_transaction(self._engine) as conn:
            where = [sessions.c.id == session_id, sessions.c.revoked_at.is_(None)]
            if user_id is not None:
                where.append(sessions.c.user_id == user_id)
            row = conn.execute(select(sessions.c.org_id, sessions.c.user_id).where(*where)).first()
            if row is None:
                return False
            conn.execute(
                update(sessions).where(*where).values(revoked_at=self._clock(), revoked_reason=reason)
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    kind="session.revoked",
                    actor=actor,
                    org_id=row.org_id,
                    data={"session_id": session_id, "user_id": row.user_id, "reason": reason},
                ),
            )
        return True

    def revoke_user_in(self, conn: Connection, user_id: str, *, reason: str) -> int:
        """End every session of a user inside the caller's transaction; how many were live.

        Used by deprovisioning, password and role changes: the caller audits the whole change.
        """
        result = conn.execute(
            update(sessions)
            .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
            .values(revoked_at=self._clock(), revoked_reason=reason)
        )
        return int(result.rowcount or 0)
