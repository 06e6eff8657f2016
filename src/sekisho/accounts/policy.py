"""Changing an organisation's security settings, and making live sessions follow at once.

Turning ``require_mfa`` on restricts the live password sessions of members without MFA to enrolment
(they are marked not MFA-verified); shortening session lifetimes shortens live sessions too. Waiting
for those sessions to end by themselves would leave the old policy in force for hours.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from sqlalchemy import Connection, Engine, select, update

from sekisho.accounts.parts import audit_number
from sekisho.accounts.sessions import Lifetimes
from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc
from sekisho.identity.org_settings import (
    OrgLifetimes,
    OrgNotFound,
    OrgSecurity,
    read_security,
    write_security,
)
from sekisho.identity.settings import SessionSettings
from sekisho.store.tables import sessions, users
from sekisho.store.tx import write_transaction


class OrgPolicy:
    """Reads and writes ``OrgSecurity`` for the admin API."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        defaults: SessionSettings,
        lifetimes: OrgLifetimes,
        clock: Callable[[], datetime],
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._defaults = defaults
        self._lifetimes = lifetimes
        self._clock = clock

    def get(self, org_id: str) -> OrgSecurity:
        """The organisation's settings (defaults when never set)."""
        with self._engine.connect() as conn:
            return read_security(conn, org_id)

    def update(self, org_id: str, new: OrgSecurity, *, actor: str) -> OrgSecurity:
        """Save ``new``, apply it to live sessions and audit the change (``org.security.updated``)."""
        with write_transaction(self._engine) as conn:
            try:
                old = read_security(conn, org_id, for_update=True)
            except OrgNotFound:
                raise LookupError(f"organisation {org_id!r} not found") from None
            write_security(conn, org_id, new)
            restricted = 0
            if new.require_mfa and not old.require_mfa:
                restricted = self._restrict_without_mfa(conn, org_id)
            shortened = self._shorten(conn, org_id, new)
            changed: dict[str, Any] = {}
            for name in OrgSecurity.model_fields:
                before, after = getattr(old, name), getattr(new, name)
                if before != after:
                    changed[f"{name}.before"] = _value(before)
                    changed[f"{name}.after"] = _value(after)
            self._audit.append_in(
                conn,
                AuditEvent(
                    "org.security.updated",
                    actor=actor,
                    org_id=org_id,
                    data={**changed, "sessions_restricted": restricted, "sessions_shortened": shortened},
                ),
            )
        self._lifetimes.invalidate(org_id)
        return new

    def _restrict_without_mfa(self, conn: Connection, org_id: str) -> int:
        without_mfa = select(users.c.id).where(users.c.org_id == org_id, users.c.mfa_enabled_at.is_(None))
        result = conn.execute(
            update(sessions)
            .where(
                sessions.c.org_id == org_id,
                sessions.c.method == "password",
                sessions.c.revoked_at.is_(None),
                sessions.c.mfa_verified.is_(True),
                sessions.c.user_id.in_(without_mfa),
            )
            .values(mfa_verified=False)
        )
        return int(result.rowcount or 0)

    def _shorten(self, conn: Connection, org_id: str, new: OrgSecurity) -> int:
        life = self._effective(new)
        now = self._clock()
        rows = conn.execute(
            select(
                sessions.c.id,
                sessions.c.created_at,
                sessions.c.last_seen_at,
                sessions.c.idle_expires_at,
                sessions.c.expires_at,
            ).where(sessions.c.org_id == org_id, sessions.c.revoked_at.is_(None), sessions.c.expires_at > now)
        ).all()
        shortened = 0
        for row in rows:
            expires = min(as_utc(row.expires_at), as_utc(row.created_at) + life.absolute)
            idle = min(as_utc(row.idle_expires_at), as_utc(row.last_seen_at) + life.idle, expires)
            if expires < as_utc(row.expires_at) or idle < as_utc(row.idle_expires_at):
                conn.execute(
                    update(sessions)
                    .where(sessions.c.id == row.id)
                    .values(expires_at=expires, idle_expires_at=idle)
                )
                shortened += 1
        return shortened

    def _effective(self, security: OrgSecurity) -> Lifetimes:
        idle = timedelta(minutes=self._defaults.idle_minutes)
        absolute = timedelta(hours=self._defaults.absolute_hours)
        if security.session_idle_minutes:
            idle = min(idle, timedelta(minutes=security.session_idle_minutes))
        if security.session_absolute_hours:
            absolute = min(absolute, timedelta(hours=security.session_absolute_hours))
        return Lifetimes(idle, absolute)


def _value(value: object) -> object:
    if isinstance(value, float):
        return audit_number(value)
    return value
