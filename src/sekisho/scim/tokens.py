"""SCIM bearer tokens: one or more per organisation, stored as SHA-256 digests, shown once.

A token is 256 random bits, so a fast hash is enough (as for API keys); only its digest and a
short visible prefix are kept. A token reaches its own organisation's users and groups and
nothing else: it is not an API key and opens neither the admin API nor the model API.
"""

from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import Engine, RowMapping, insert, select, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity import NotFound
from sekisho.store.tables import scim_tokens
from sekisho.store.tx import write_transaction

TOKEN_PREFIX = "scim-sks-"  # noqa: S105 - a label, not a secret
_PREFIX_SHOWN = len(TOKEN_PREFIX) + 8
# ``last_used_at`` is written at most this often, so a busy sync is not one write per request.
_TOUCH_EVERY = timedelta(seconds=60)


@dataclass(frozen=True, slots=True)
class ScimToken:
    """A token as admins see it (never the secret)."""

    id: str
    org_id: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


@dataclass(frozen=True, slots=True)
class ScimCaller:
    """Who a SCIM request acts for: an organisation, through one of its tokens."""

    org_id: str
    token_id: str
    prefix: str

    @property
    def actor(self) -> str:
        """How audit records name the caller."""
        return f"scim:{self.prefix}"


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode("utf-8")).hexdigest()


def _token(row: RowMapping) -> ScimToken:
    return ScimToken(
        id=row["id"],
        org_id=row["org_id"],
        name=row["name"],
        prefix=row["prefix"],
        created_at=as_utc(row["created_at"]),
        created_by=row["created_by"],
        last_used_at=as_utc(row["last_used_at"]) if row["last_used_at"] else None,
        revoked_at=as_utc(row["revoked_at"]) if row["revoked_at"] else None,
    )


class ScimTokenStore:
    """Creates, lists, revokes and verifies SCIM tokens; changes are audited in their transaction."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def create(self, org_id: str, name: str, *, actor: str) -> tuple[ScimToken, str]:
        """A new token and its secret (returned once, never stored)."""
        secret = TOKEN_PREFIX + secrets.token_urlsafe(32)
        now = utcnow()
        token = ScimToken(new_id("scimtok"), org_id, name, secret[:_PREFIX_SHOWN], now, actor, None, None)
        with write_transaction(self._engine) as conn:
            conn.execute(
                insert(scim_tokens).values(
                    id=token.id,
                    org_id=org_id,
                    name=name,
                    prefix=token.prefix,
                    token_hash=_digest(secret),
                    created_at=now,
                    created_by=actor,
                )
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "scim.token.created",
                    actor=actor,
                    org_id=org_id,
                    data={"token_id": token.id, "prefix": token.prefix, "name": name},
                ),
            )
        return token, secret

    def list(self, org_id: str) -> list[ScimToken]:
        """The organisation's tokens, newest first (revoked ones included)."""
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(scim_tokens)
                .where(scim_tokens.c.org_id == org_id)
                .order_by(scim_tokens.c.created_at.desc(), scim_tokens.c.id)
            ).mappings()
            return [_token(r) for r in rows]

    def get(self, token_id: str, org_id: str) -> ScimToken:
        """One token of the organisation; NotFound for another organisation's."""
        with self._engine.connect() as conn:
            row = (
                conn.execute(
                    select(scim_tokens).where(scim_tokens.c.id == token_id, scim_tokens.c.org_id == org_id)
                )
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"SCIM token {token_id!r} not found")
        return _token(row)

    def revoke(self, token_id: str, org_id: str, *, actor: str) -> ScimToken:
        """Stop a token working at once (idempotent)."""
        token = self.get(token_id, org_id)
        if token.revoked_at is not None:
            return token
        with write_transaction(self._engine) as conn:
            conn.execute(
                update(scim_tokens)
                .where(scim_tokens.c.id == token.id, scim_tokens.c.revoked_at.is_(None))
                .values(revoked_at=utcnow())
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "scim.token.revoked",
                    actor=actor,
                    org_id=org_id,
                    data={"token_id": token.id, "prefix": token.prefix},
                ),
            )
        return self.get(token.id, org_id)

    def authenticate(self, authorization: str | None) -> ScimCaller | None:
        """The caller for an ``Authorization: Bearer`` header, or None when it is not a live token."""
        if not authorization:
            return None
        scheme, _, secret = authorization.strip().partition(" ")
        secret = secret.strip()
        if scheme.lower() != "bearer" or not secret.startswith(TOKEN_PREFIX):
            return None
        with self._engine.connect() as conn:
            row = (
                conn.execute(
                    select(
                        scim_tokens.c.id,
                        scim_tokens.c.org_id,
                        scim_tokens.c.prefix,
                        scim_tokens.c.last_used_at,
                        scim_tokens.c.revoked_at,
                    ).where(scim_tokens.c.token_hash == _digest(secret))
                )
                .mappings()
                .first()
            )
        if row is None or row["revoked_at"] is not None:
            return None
        now = utcnow()
        last = row["last_used_at"]
        if last is None or now - as_utc(last) >= _TOUCH_EVERY:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    update(scim_tokens).where(scim_tokens.c.id == row["id"]).values(last_used_at=now)
                )
        return ScimCaller(org_id=row["org_id"], token_id=row["id"], prefix=row["prefix"])
