"""SCIM Users: create, read, replace, patch, delete; deprovisioning.

Every write runs in one transaction with its audit records. Deactivating a user (``active`` set
to false by PUT or PATCH) or deleting one ends their console sessions and revokes their API keys
in that same transaction; the keys then leave this process's key cache, and other replicas stop
accepting them within the cache's lifetime.

A deleted user keeps its row (marked deleted, inactive, without its userName, out of every group
and project) because audit records and usage name it; SCIM answers 404 for it from then on. An
identity provider that creates a user with the same e-mail address later gets that row back, as
a plain member with no groups, projects, sessions or keys.
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from typing import Any, Protocol

from scim2_models import NotFoundException, Resource, UniquenessException
from sqlalchemy import ColumnElement, Connection, Engine, RowMapping, delete, func, insert, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import new_id, utcnow
from sekisho.identity.members import revoke_access_in
from sekisho.scim.editing import Editable
from sekisho.scim.resources import changed_attributes, check_version
from sekisho.scim.rows import (
    DELETED,
    UserColumns,
    is_deleted,
    live_users,
    memberships,
    user_columns,
    user_resource,
    username_taken,
)
from sekisho.scim.tokens import ScimCaller
from sekisho.store.tables import group_members, groups, project_members, users
from sekisho.store.tx import write_transaction


class KeyCache(Protocol):
    """Where authenticated API keys are cached (``KeyAuthenticator``)."""

    def forget(self, key_id: str) -> None:
        """Drop a key so its next use is checked against the database."""


class ScimUsers(Editable):
    """SCIM Users of one organisation at a time (the caller's)."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        keys: KeyCache,
        *,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._keys = keys
        self._clock = clock

    # Reads -------------------------------------------------------------------------------------
    def get(self, caller: ScimCaller, user_id: str, base_url: str) -> Resource[Any]:
        """One user, or NotFoundException (also for another organisation's)."""
        with self._engine.connect() as conn:
            return self._load(conn, caller.org_id, user_id, base_url)

    def search(
        self,
        caller: ScimCaller,
        narrowing: ColumnElement[bool] | None,
        base_url: str,
        *,
        with_memberships: bool = True,
    ) -> list[Resource[Any]]:
        """The organisation's users (those ``narrowing`` admits), oldest first."""
        query = live_users(caller.org_id).order_by(users.c.created_at, users.c.id)
        if narrowing is not None:
            query = query.where(narrowing)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            if not with_memberships:
                return [user_resource(r, None, base_url) for r in rows]
            ids = None if narrowing is None else [r["id"] for r in rows]
            member_of = memberships(conn, caller.org_id, ids) if rows else {}
        return [user_resource(r, member_of.get(r["id"], []), base_url) for r in rows]

    def window(
        self, caller: ScimCaller, offset: int, limit: int, base_url: str, *, with_memberships: bool = True
    ) -> tuple[int, list[Resource[Any]]]:
        """(how many users, one page of them, oldest first): an unfiltered listing, paged in SQL.

        Identity providers import by walking every page; reading the whole organisation for each
        page would cost them quadratic time.
        """
        query = live_users(caller.org_id)
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = (
                conn.execute(query.order_by(users.c.created_at, users.c.id).offset(offset).limit(limit))
                .mappings()
                .all()
            )
            if not with_memberships:
                return int(total), [user_resource(r, None, base_url) for r in rows]
            member_of = memberships(conn, caller.org_id, [r["id"] for r in rows]) if rows else {}
        return int(total), [user_resource(r, member_of.get(r["id"], []), base_url) for r in rows]

    def _row(self, conn: Connection, org_id: str, user_id: str) -> RowMapping:
        row = conn.execute(live_users(org_id).where(users.c.id == user_id)).mappings().first()
        if row is None:
            raise NotFoundException(detail=f"User {user_id!r} not found.")
        return row

    def _load(self, conn: Connection, org_id: str, user_id: str, base_url: str) -> Resource[Any]:
        row = self._row(conn, org_id, user_id)
        return user_resource(row, memberships(conn, org_id, [user_id]).get(user_id, []), base_url)

    # Writes ------------------------------------------------------------------------------------
    def create(self, caller: ScimCaller, user: Resource[Any], base_url: str) -> Resource[Any]:
        """Provision a user (POST /Users)."""
        cols = user_columns(user)
        now = self._clock()
        try:
            with write_transaction(self._engine) as conn:
                self._check_username(conn, caller.org_id, cols.username, None)
                revived = self._email_holder(conn, caller.org_id, cols.email, None)
                values = _values(cols) | {"auth_source": "scim", "updated_at": now, "role": "member"}
                if revived is None:
                    user_id = new_id("user")
                    conn.execute(
                        insert(users).values(
                            id=user_id,
                            org_id=caller.org_id,
                            is_service_account=False,
                            created_at=now,
                            **values,
                        )
                    )
                else:
                    user_id = revived
                    conn.execute(update(users).where(users.c.id == user_id).values(**values))
                self._event(
                    conn,
                    caller,
                    "scim.user.created",
                    user_id,
                    revived=revived is not None,
                    active=cols.active,
                )
                return self._load(conn, caller.org_id, user_id, base_url)
        except IntegrityError as exc:
            raise UniquenessException(detail="That userName or e-mail address is already in use.") from exc

    def _update(
        self,
        caller: ScimCaller,
        user_id: str,
        change: Callable[[Resource[Any]], Resource[Any]],
        base_url: str,
        if_match: str | None,
    ) -> Resource[Any]:
        revoked: list[str] = []
        try:
            with write_transaction(self._engine) as conn:
                row = self._row(conn, caller.org_id, user_id)
                before = user_resource(
                    row, memberships(conn, caller.org_id, [user_id]).get(user_id, []), base_url
                )
                check_version(before, if_match)
                after = change(before.model_copy(deep=True))
                fields = changed_attributes(before, after)
                if fields:
                    cols = user_columns(after)
                    self._check_username(conn, caller.org_id, cols.username, user_id)
                    if self._email_holder(conn, caller.org_id, cols.email, user_id) is not None:
                        raise UniquenessException(detail="Another user of this organisation has that e-mail.")
                    conn.execute(
                        update(users)
                        .where(users.c.id == user_id)
                        .values(**_values(cols), updated_at=self._clock())
                    )
                    self._event(conn, caller, "scim.user.updated", user_id, fields=",".join(fields))
                    if row["active"] and not cols.active:
                        revoked = self._deactivate(conn, caller, user_id, "scim.user.deactivated")
                    elif not row["active"] and cols.active:
                        self._event(conn, caller, "scim.user.reactivated", user_id)
                result = self._load(conn, caller.org_id, user_id, base_url)
        except IntegrityError as exc:
            raise UniquenessException(detail="That userName or e-mail address is already in use.") from exc
        self._forget(revoked)
        return result

    def delete(self, caller: ScimCaller, user_id: str, base_url: str, *, if_match: str | None = None) -> None:
        """Deprovision a user for good (DELETE): the row stays, marked deleted, for the audit trail."""
        now = self._clock()
        with write_transaction(self._engine) as conn:
            row = self._row(conn, caller.org_id, user_id)
            if if_match:
                current = memberships(conn, caller.org_id, [user_id]).get(user_id, [])
                check_version(user_resource(row, current, base_url), if_match)
            # The groups' member lists change: their lastModified moves (incremental imports filter on it).
            member_of = select(group_members.c.group_id).where(group_members.c.user_id == user_id)
            conn.execute(update(groups).where(groups.c.id.in_(member_of)).values(updated_at=now))
            left = conn.execute(delete(group_members).where(group_members.c.user_id == user_id)).rowcount
            projects = conn.execute(
                delete(project_members).where(
                    project_members.c.user_id == user_id, project_members.c.org_id == caller.org_id
                )
            ).rowcount
            profile = dict(row["profile"] or {})
            profile[DELETED] = now.isoformat()
            conn.execute(
                update(users)
                .where(users.c.id == user_id)
                .values(active=False, username=None, profile=profile, updated_at=now)
            )
            revoked = self._deactivate(
                conn,
                caller,
                user_id,
                "scim.user.deleted",
                groups_left=int(left or 0),
                projects_left=int(projects or 0),
            )
        self._forget(revoked)

    # Helpers -----------------------------------------------------------------------------------
    def _deactivate(
        self, conn: Connection, caller: ScimCaller, user_id: str, kind: str, **data: Any
    ) -> list[str]:
        """End the user's sessions and revoke their keys; audit it as ``kind``. The revoked key ids."""
        sessions, key_ids = revoke_access_in(
            conn, caller.org_id, user_id, reason="deprovisioned", now=self._clock()
        )
        self._event(conn, caller, kind, user_id, sessions_revoked=sessions, keys_revoked=len(key_ids), **data)
        return key_ids

    def _forget(self, key_ids: list[str]) -> None:
        for key_id in key_ids:
            self._keys.forget(key_id)

    def _check_username(self, conn: Connection, org_id: str, user_name: str, but: str | None) -> None:
        if conn.execute(select(users.c.id).where(username_taken(org_id, user_name, but)).limit(1)).first():
            raise UniquenessException(detail=f"The userName {user_name!r} is already in use.")

    def _email_holder(self, conn: Connection, org_id: str, email: str, but: str | None) -> str | None:
        """The deleted user holding ``email``, to revive on creation; UniquenessException for a live one."""
        rows = conn.execute(
            select(users.c.id, users.c.profile).where(users.c.org_id == org_id, users.c.email == email)
        ).mappings()
        for row in rows:
            if row["id"] == but:
                continue
            if but is None and is_deleted(row):
                return str(row["id"])
            raise UniquenessException(detail="Another user of this organisation has that e-mail address.")
        return None

    def _event(self, conn: Connection, caller: ScimCaller, kind: str, user_id: str, **data: Any) -> None:
        self._audit.append_in(
            conn,
            AuditEvent(
                kind,
                actor=caller.actor,
                org_id=caller.org_id,
                data={"user_id": user_id, "token_id": caller.token_id, **data},
            ),
        )


def _values(cols: UserColumns) -> dict[str, Any]:
    return {
        "username": cols.username,
        "external_id": cols.external_id,
        "email": cols.email,
        "name": cols.name,
        "active": cols.active,
        "profile": cols.profile,
    }
