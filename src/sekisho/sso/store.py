"""Identity-provider configurations per organisation, SSO flows in progress, and the replay guard.

An IdP's client secret (OIDC) or private key (SAML) is sealed with the row's id as associated data
and never leaves this module except through ``secret()``, which only the sign-in code calls: no
admin answer carries it. Flows in progress (state, nonce, PKCE verifier, where to go afterwards)
are sealed too, kept in the database so any replica can finish a sign-in, and deleted by the
request that uses them, so a state value works once.
"""

from __future__ import annotations

import re
import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.crypto import SecretBox, SecretBoxError
from sekisho.identity import Conflict, NotFound
from sekisho.store.tables import (
    auth_flows,
    idp_configs,
    orgs,
    used_assertions,
    user_identities,
)
from sekisho.store.tx import write_transaction

KINDS = ("oidc", "saml")
_SLUG = re.compile(r"^[a-z0-9](?:[a-z0-9-]{0,98}[a-z0-9])?$")
# Expired flows and assertion ids are deleted by every this-many-th write, on average: often
# enough that the tables stay small, rarely enough that a sign-in seldom pays for the sweep.
_PURGE_ONE_IN = 20


@dataclass(frozen=True, slots=True)
class IdpConfig:
    """One identity provider of one organisation. ``config`` holds only non-secret settings."""

    id: str
    org_id: str
    org_slug: str
    slug: str
    kind: str
    name: str
    enabled: bool
    config: dict[str, Any]
    has_secret: bool


# Inside IdpStore, ``list`` names its method; annotations there use this alias instead.
IdpList = list[IdpConfig]


def _idp(row: RowMapping) -> IdpConfig:
    return IdpConfig(
        id=row["id"],
        org_id=row["org_id"],
        org_slug=row["org_slug"],
        slug=row["slug"],
        kind=row["kind"],
        name=row["name"],
        enabled=bool(row["enabled"]),
        config=dict(row["config"] or {}),
        has_secret=row["secret"] is not None,
    )


def _select() -> Any:
    return select(idp_configs, orgs.c.slug.label("org_slug")).join(orgs, orgs.c.id == idp_configs.c.org_id)


def check_slug(slug: str) -> str:
    """An IdP slug appears in sign-in URLs: lower-case letters, digits and inner dashes."""
    if not _SLUG.match(slug):
        raise ValueError("slug must be 1-100 lower-case letters, digits or dashes (not at either end)")
    return slug


def _secret_aad(idp_id: str) -> str:
    return f"idp_configs.secret:{idp_id}"


def _flow_aad(state: str) -> str:
    return f"auth_flows.data:{state}"


class IdpStore:
    """Admin CRUD of IdP configurations, and the state a sign-in keeps between its two requests."""

    def __init__(self, engine: Engine, audit: AuditLog, box: SecretBox) -> None:
        self._engine = engine
        self._audit = audit
        self._box = box

    # Configurations --------------------------------------------------------------------------
    def create(
        self,
        org_id: str,
        *,
        slug: str,
        kind: str,
        name: str,
        config: dict[str, Any],
        secret: str | None = None,
        enabled: bool = True,
        actor: str,
    ) -> IdpConfig:
        """A new IdP for ``org_id``; Conflict when the organisation has one with this slug."""
        if kind not in KINDS:
            raise ValueError(f"kind must be one of {', '.join(KINDS)}")
        check_slug(slug)
        idp_id = new_id("idp")
        sealed = self._box.seal(secret, aad=_secret_aad(idp_id)) if secret else None
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    insert(idp_configs).values(
                        id=idp_id,
                        org_id=org_id,
                        slug=slug,
                        kind=kind,
                        name=name,
                        enabled=enabled,
                        config=config,
                        secret=sealed,
                        created_at=utcnow(),
                    )
                )
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "admin.idp.created",
                        actor=actor,
                        org_id=org_id,
                        data={"idp_id": idp_id, "slug": slug, "kind": kind, "enabled": enabled},
                    ),
                )
        except IntegrityError as exc:
            raise Conflict(f"an identity provider with slug {slug!r} exists in this organisation") from exc
        return self.get(org_id, idp_id)

    def update(
        self,
        org_id: str,
        idp_id: str,
        *,
        actor: str,
        slug: str | None = None,
        name: str | None = None,
        enabled: bool | None = None,
        config: dict[str, Any] | None = None,
        secret: str | None = None,
        clear_secret: bool = False,
    ) -> IdpConfig:
        """Change the given fields (``config`` is replaced whole); NotFound outside ``org_id``."""
        current = self.get(org_id, idp_id)
        values: dict[str, Any] = {}
        if slug is not None and slug != current.slug:
            values["slug"] = check_slug(slug)
        if name is not None and name != current.name:
            values["name"] = name
        if enabled is not None and enabled != current.enabled:
            values["enabled"] = enabled
        if config is not None and config != current.config:
            values["config"] = config
        if secret:
            values["secret"] = self._box.seal(secret, aad=_secret_aad(idp_id))
        elif clear_secret and current.has_secret:
            values["secret"] = None
        if not values:
            return current
        changed = sorted(values)
        values["updated_at"] = utcnow()
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    update(idp_configs)
                    .where(idp_configs.c.id == idp_id, idp_configs.c.org_id == org_id)
                    .values(**values)
                )
                data: dict[str, Any] = {"idp_id": idp_id, "changed": ",".join(changed)}
                if "enabled" in values:
                    data["enabled"] = values["enabled"]
                self._audit.append_in(
                    conn, AuditEvent("admin.idp.updated", actor=actor, org_id=org_id, data=data)
                )
        except IntegrityError as exc:
            raise Conflict(f"an identity provider with slug {slug!r} exists in this organisation") from exc
        return self.get(org_id, idp_id)

    def delete(self, org_id: str, idp_id: str, *, actor: str) -> None:
        """Remove the IdP with its links to users and its flows; the users themselves stay."""
        current = self.get(org_id, idp_id)
        with write_transaction(self._engine) as conn:
            unlinked = conn.execute(
                delete(user_identities).where(user_identities.c.idp_id == idp_id)
            ).rowcount
            conn.execute(delete(auth_flows).where(auth_flows.c.idp_id == idp_id))
            conn.execute(delete(used_assertions).where(used_assertions.c.idp_id == idp_id))
            conn.execute(
                delete(idp_configs).where(idp_configs.c.id == idp_id, idp_configs.c.org_id == org_id)
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "admin.idp.deleted",
                    actor=actor,
                    org_id=org_id,
                    data={
                        "idp_id": idp_id,
                        "slug": current.slug,
                        "kind": current.kind,
                        "unlinked_users": int(unlinked or 0),
                    },
                ),
            )

    def list(self, org_id: str, *, enabled_only: bool = False) -> list[IdpConfig]:
        """The organisation's IdPs, by name."""
        query = _select().where(idp_configs.c.org_id == org_id)
        if enabled_only:
            query = query.where(idp_configs.c.enabled.is_(True))
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(idp_configs.c.name, idp_configs.c.slug)).mappings().all()
        return [_idp(r) for r in rows]

    def list_enabled(self, org_slug: str) -> IdpList:
        """The enabled IdPs of the organisation with this slug (none for an unknown one)."""
        query = _select().where(orgs.c.slug == org_slug, idp_configs.c.enabled.is_(True))
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(idp_configs.c.name, idp_configs.c.slug)).mappings().all()
        return [_idp(r) for r in rows]

    def get(self, org_id: str, idp_id: str) -> IdpConfig:
        """One IdP of ``org_id`` by id; NotFound for an unknown id or another organisation's."""
        with self._engine.connect() as conn:
            row = (
                conn.execute(_select().where(idp_configs.c.id == idp_id, idp_configs.c.org_id == org_id))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"identity provider {idp_id!r} not found")
        return _idp(row)

    def get_by_slug(self, org_slug: str, idp_slug: str) -> IdpConfig:
        """The IdP named in a sign-in URL (enabled or not: callers check ``enabled``)."""
        with self._engine.connect() as conn:
            row = (
                conn.execute(_select().where(orgs.c.slug == org_slug, idp_configs.c.slug == idp_slug))
                .mappings()
                .first()
            )
        if row is None:
            raise NotFound(f"identity provider {org_slug}/{idp_slug} not found")
        return _idp(row)

    def _get_in(self, conn: Connection, idp_id: str) -> IdpConfig | None:
        row = conn.execute(_select().where(idp_configs.c.id == idp_id)).mappings().first()
        return _idp(row) if row is not None else None

    def secret(self, idp: IdpConfig) -> str | None:
        """The IdP's opened secret (client secret, SP key), or None when it has none."""
        with self._engine.connect() as conn:
            sealed = conn.execute(select(idp_configs.c.secret).where(idp_configs.c.id == idp.id)).scalar()
        if sealed is None:
            return None
        return self._box.open_text(sealed, aad=_secret_aad(idp.id))

    # Flows in progress -----------------------------------------------------------------------
    def start_flow(self, idp: IdpConfig, data: dict[str, Any], minutes: float) -> str:
        """Store ``data`` (sealed) under a new random state value, valid for ``minutes``."""
        state = secrets.token_urlsafe(32)
        now = utcnow()
        sealed = self._box.seal(orjson.dumps(data), aad=_flow_aad(state))
        with write_transaction(self._engine) as conn:
            self._maybe_purge(conn, now)
            conn.execute(
                insert(auth_flows).values(
                    id=state,
                    org_id=idp.org_id,
                    idp_id=idp.id,
                    data=sealed,
                    created_at=now,
                    expires_at=now + timedelta(minutes=minutes),
                )
            )
        return state

    def take_flow(self, state: str) -> tuple[IdpConfig, dict[str, Any]] | None:
        """The flow for ``state``, deleted in the same transaction: a second call gets None.

        None too when the state is unknown, expired, or its IdP was removed meanwhile.
        """
        if not state or len(state) > 64:
            return None
        now = utcnow()
        with write_transaction(self._engine) as conn:
            row = conn.execute(
                delete(auth_flows)
                .where(auth_flows.c.id == state)
                .returning(auth_flows.c.idp_id, auth_flows.c.data, auth_flows.c.expires_at)
            ).first()
            if row is None or as_utc(row.expires_at) <= now:
                return None
            idp = self._get_in(conn, row.idp_id)
        if idp is None:
            return None
        try:
            data = orjson.loads(self._box.open(row.data, aad=_flow_aad(state)))
        except (SecretBoxError, orjson.JSONDecodeError):
            return None
        return idp, data

    # Replay guard ------------------------------------------------------------------------------
    def remember_assertion(self, idp_id: str, assertion_id: str, expires_at: datetime) -> bool:
        """Record an accepted assertion (or token) id; False when it was seen before (a replay)."""
        now = utcnow()
        try:
            with write_transaction(self._engine) as conn:
                self._maybe_purge(conn, now)
                conn.execute(
                    insert(used_assertions).values(
                        idp_id=idp_id, assertion_id=assertion_id[:200], expires_at=expires_at
                    )
                )
        except IntegrityError:
            return False
        return True

    def purge_expired(self) -> None:
        """Delete flows and assertion ids past their expiry."""
        with write_transaction(self._engine) as conn:
            self._purge(conn, utcnow())

    def _maybe_purge(self, conn: Connection, now: datetime) -> None:
        if secrets.randbelow(_PURGE_ONE_IN) == 0:
            self._purge(conn, now)

    @staticmethod
    def _purge(conn: Connection, now: datetime) -> None:
        conn.execute(delete(auth_flows).where(auth_flows.c.expires_at < now))
        conn.execute(delete(used_assertions).where(used_assertions.c.expires_at < now))
