"""SCIM Groups: the organisation's groups and who is in them.

SCIM manages a group's name, externalId and members. What membership grants (an organisation
role, project roles) is set by Sekisho admins on the group and never through SCIM; a user's
effective roles are computed from their groups when they authenticate, so adding or removing a
member changes what they may do. Keys of the users whose membership changed leave the key cache
at once, so the change applies to their next API call on this replica too.

Only users SCIM can see are members here: service accounts an admin put in a group are neither
shown nor removed by a SCIM replacement of the member list.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime
from typing import Any

from scim2_models import (
    InvalidValueException,
    NotFoundException,
    Resource,
    UniquenessException,
)
from sqlalchemy import (
    ColumnElement,
    Connection,
    Engine,
    RowMapping,
    delete,
    false,
    func,
    insert,
    select,
    update,
)
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import new_id, utcnow
from sekisho.scim.editing import Editable
from sekisho.scim.resources import changed_attributes, check_version
from sekisho.scim.rows import DELETED, fits, group_resource, live_users
from sekisho.scim.schema import Group
from sekisho.scim.tokens import ScimCaller
from sekisho.scim.users import KeyCache
from sekisho.store.tables import api_keys, group_members, groups, users
from sekisho.store.tx import write_transaction


class ScimGroups(Editable):
    """SCIM Groups of one organisation at a time (the caller's)."""

    def __init__(
        self, engine: Engine, audit: AuditLog, keys: KeyCache, *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._keys = keys
        self._clock = clock

    # Reads -------------------------------------------------------------------------------------
    def get(self, caller: ScimCaller, group_id: str, base_url: str) -> Resource[Any]:
        """One group, or NotFoundException (also for another organisation's)."""
        with self._engine.connect() as conn:
            row = self._row(conn, caller.org_id, group_id)
            return group_resource(row, _members(conn, caller.org_id, [group_id]).get(group_id, []), base_url)

    def search(
        self,
        caller: ScimCaller,
        narrowing: ColumnElement[bool] | None,
        base_url: str,
        *,
        with_memberships: bool = True,
    ) -> list[Resource[Any]]:
        """The organisation's groups (those ``narrowing`` admits), oldest first."""
        query = (
            select(groups).where(groups.c.org_id == caller.org_id).order_by(groups.c.created_at, groups.c.id)
        )
        if narrowing is not None:
            query = query.where(narrowing)
        with self._engine.connect() as conn:
            rows = conn.execute(query).mappings().all()
            if not with_memberships:
                return [group_resource(r, None, base_url) for r in rows]
            ids = None if narrowing is None else [r["id"] for r in rows]
            members = _members(conn, caller.org_id, ids) if rows else {}
        return [group_resource(r, members.get(r["id"], []), base_url) for r in rows]

    def window(
        self, caller: ScimCaller, offset: int, limit: int, base_url: str, *, with_memberships: bool = True
    ) -> tuple[int, list[Resource[Any]]]:
        """(how many groups, one page of them, oldest first): an unfiltered listing, paged in SQL."""
        query = select(groups).where(groups.c.org_id == caller.org_id)
        with self._engine.connect() as conn:
            total = conn.execute(select(func.count()).select_from(query.subquery())).scalar_one()
            rows = (
                conn.execute(query.order_by(groups.c.created_at, groups.c.id).offset(offset).limit(limit))
                .mappings()
                .all()
            )
            if not with_memberships:
                return int(total), [group_resource(r, None, base_url) for r in rows]
            members = _members(conn, caller.org_id, [r["id"] for r in rows]) if rows else {}
        return int(total), [group_resource(r, members.get(r["id"], []), base_url) for r in rows]

    def _row(self, conn: Connection, org_id: str, group_id: str) -> RowMapping:
        row = (
            conn.execute(select(groups).where(groups.c.org_id == org_id, groups.c.id == group_id))
            .mappings()
            .first()
        )
        if row is None:
            raise NotFoundException(detail=f"Group {group_id!r} not found.")
        return row

    # Writes ------------------------------------------------------------------------------------
    def create(self, caller: ScimCaller, group: Resource[Any], base_url: str) -> Resource[Any]:
        """Create a group with its members (POST /Groups)."""
        now = self._clock()
        group_id = new_id("grp")
        name = _name(group)
        affected: list[str] = []
        try:
            with write_transaction(self._engine) as conn:
                self._check_name(conn, caller.org_id, name, None)
                wanted = self._wanted_members(conn, caller.org_id, group)
                conn.execute(
                    insert(groups).values(
                        id=group_id,
                        org_id=caller.org_id,
                        name=name,
                        external_id=group.external_id,
                        created_at=now,
                        updated_at=now,
                    )
                )
                self._event(conn, caller, "scim.group.created", group_id, name=name)
                affected = self._set_members(conn, caller, group_id, [], wanted)
                result = self._load(conn, caller.org_id, group_id, base_url)
        except IntegrityError as exc:
            raise UniquenessException(detail=f"A group named {name!r} already exists.") from exc
        self._forget_keys(affected)
        return result

    def _update(
        self,
        caller: ScimCaller,
        group_id: str,
        change: Callable[[Resource[Any]], Resource[Any]],
        base_url: str,
        if_match: str | None,
    ) -> Resource[Any]:
        try:
            with write_transaction(self._engine) as conn:
                row = self._row(conn, caller.org_id, group_id)
                current = _members(conn, caller.org_id, [group_id]).get(group_id, [])
                before = group_resource(row, current, base_url)
                check_version(before, if_match)
                after = change(before.model_copy(deep=True))
                name = _name(after)
                wanted = self._wanted_members(conn, caller.org_id, after)
                fields = [f for f in changed_attributes(before, after) if f != "members"]
                if fields:
                    self._check_name(conn, caller.org_id, name, group_id)
                    self._event(conn, caller, "scim.group.updated", group_id, fields=",".join(fields))
                affected = self._set_members(conn, caller, group_id, current, wanted)
                if fields or affected:
                    conn.execute(
                        update(groups)
                        .where(groups.c.id == group_id)
                        .values(name=name, external_id=after.external_id, updated_at=self._clock())
                    )
                result = self._load(conn, caller.org_id, group_id, base_url)
        except IntegrityError as exc:
            raise UniquenessException(detail="A group with that name already exists.") from exc
        self._forget_keys(affected)
        return result

    def delete(
        self, caller: ScimCaller, group_id: str, base_url: str, *, if_match: str | None = None
    ) -> None:
        """Delete a group; its members lose what it granted."""
        with write_transaction(self._engine) as conn:
            row = self._row(conn, caller.org_id, group_id)
            if if_match:
                members = _members(conn, caller.org_id, [group_id]).get(group_id, [])
                check_version(group_resource(row, members, base_url), if_match)
            affected = list(
                conn.execute(
                    select(group_members.c.user_id).where(group_members.c.group_id == group_id)
                ).scalars()
            )
            conn.execute(delete(group_members).where(group_members.c.group_id == group_id))
            conn.execute(delete(groups).where(groups.c.id == group_id))
            self._event(conn, caller, "scim.group.deleted", group_id, name=row["name"], members=len(affected))
        self._forget_keys(affected)

    # Helpers -----------------------------------------------------------------------------------
    def _load(self, conn: Connection, org_id: str, group_id: str, base_url: str) -> Resource[Any]:
        row = self._row(conn, org_id, group_id)
        return group_resource(row, _members(conn, org_id, [group_id]).get(group_id, []), base_url)

    def _check_name(self, conn: Connection, org_id: str, name: str, but: str | None) -> None:
        query = select(groups.c.id).where(groups.c.org_id == org_id, groups.c.name == name)
        if but is not None:
            query = query.where(groups.c.id != but)
        if conn.execute(query.limit(1)).first():
            raise UniquenessException(detail=f"A group named {name!r} already exists.")

    def _wanted_members(self, conn: Connection, org_id: str, group: Resource[Any]) -> list[str]:
        """The member ids a group resource lists, each checked to be a user of the organisation."""
        wanted: list[str] = []
        for member in getattr(group, "members", None) or []:
            if member.type is not None and member.type != "User":
                raise InvalidValueException(detail="Only users can be group members (no nested groups).")
            if not member.value:
                raise InvalidValueException(detail="Each member needs a value (the user's id).")
            if member.value not in wanted:
                wanted.append(member.value)
        if wanted:
            known = set(
                conn.execute(
                    live_users(org_id).with_only_columns(users.c.id).where(users.c.id.in_(wanted))
                ).scalars()
            )
            unknown = [uid for uid in wanted if uid not in known]
            if unknown:
                raise InvalidValueException(detail=f"No user {unknown[0]!r} in this organisation.")
        return wanted

    def _set_members(
        self, conn: Connection, caller: ScimCaller, group_id: str, current: list[str], wanted: list[str]
    ) -> list[str]:
        """Add and remove members to match ``wanted``; the users whose membership changed."""
        added = [uid for uid in wanted if uid not in current]
        removed = [uid for uid in current if uid not in wanted]
        if added:
            conn.execute(insert(group_members), [{"group_id": group_id, "user_id": uid} for uid in added])
        if removed:
            conn.execute(
                delete(group_members).where(
                    group_members.c.group_id == group_id, group_members.c.user_id.in_(removed)
                )
            )
        for uid in added:
            self._event(conn, caller, "scim.group.member_added", group_id, user_id=uid)
        for uid in removed:
            self._event(conn, caller, "scim.group.member_removed", group_id, user_id=uid)
        return added + removed

    def _forget_keys(self, user_ids: Iterable[str]) -> None:
        """Drop the changed members' keys from the cache: their role grants changed with the group."""
        ids = list(user_ids)
        if not ids:
            return
        with self._engine.connect() as conn:
            key_ids = list(
                conn.execute(
                    select(api_keys.c.id).where(api_keys.c.user_id.in_(ids), api_keys.c.revoked_at.is_(None))
                ).scalars()
            )
        for key_id in key_ids:
            self._keys.forget(key_id)

    def _event(self, conn: Connection, caller: ScimCaller, kind: str, group_id: str, **data: Any) -> None:
        self._audit.append_in(
            conn,
            AuditEvent(
                kind,
                actor=caller.actor,
                org_id=caller.org_id,
                data={"group_id": group_id, "token_id": caller.token_id, **data},
            ),
        )


def _name(group: Resource[Any]) -> str:
    """The group's displayName, checked to fit its column (externalId too)."""
    name = getattr(group, "display_name", None)
    if not isinstance(name, str) or not name.strip():
        raise InvalidValueException(detail="displayName is required.")
    fits(("displayName", name, 200), ("externalId", group.external_id, 200))
    return name


def _members(conn: Connection, org_id: str, group_ids: list[str] | None) -> dict[str, list[str]]:
    """Each group's members that SCIM shows (no service accounts, no deleted users), sorted."""
    query = (
        select(group_members.c.group_id, group_members.c.user_id)
        .join(users, users.c.id == group_members.c.user_id)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(
            groups.c.org_id == org_id,
            users.c.is_service_account.is_(false()),
            users.c.profile[DELETED].as_string().is_(None),
        )
        .order_by(group_members.c.user_id)
    )
    if group_ids is not None:
        query = query.where(group_members.c.group_id.in_(group_ids))
    found: dict[str, list[str]] = {}
    for gid, uid in conn.execute(query):
        found.setdefault(gid, []).append(uid)
    return found


__all__ = ["Group", "ScimGroups"]
