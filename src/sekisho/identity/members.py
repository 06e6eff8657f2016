"""Changing who someone is in an organisation: role, deactivation, project membership.

Deactivation is one transaction that also ends the user's console sessions and revokes their API
keys, so a departing employee loses access at once (SCIM deprovisioning uses ``deactivate_in``).
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Connection, Engine, RowMapping, delete, insert, select, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, utcnow
from sekisho.identity.permissions import PROJECT_ROLES
from sekisho.identity.principal import ORG_ROLES
from sekisho.identity.store import NotFound, User, _user
from sekisho.store.tables import api_keys, project_members, projects, sessions, users
from sekisho.store.tx import write_transaction


@dataclass(frozen=True, slots=True)
class ProjectMember:
    project_id: str
    user_id: str
    role: str
    created_at: datetime


def revoke_access_in(
    conn: Connection, org_id: str, user_id: str, *, reason: str, now: datetime
) -> tuple[int, list[str]]:
    """End a user's console sessions and revoke their API keys: (sessions ended, revoked key ids).

    Shared by deactivation here and SCIM deprovisioning; the caller audits and drops the returned
    keys from the authenticator's cache.
    """
    ended = conn.execute(
        update(sessions)
        .where(sessions.c.user_id == user_id, sessions.c.revoked_at.is_(None))
        .values(revoked_at=now, revoked_reason=reason)
    ).rowcount
    key_ids = list(
        conn.execute(
            select(api_keys.c.id).where(
                api_keys.c.org_id == org_id, api_keys.c.user_id == user_id, api_keys.c.revoked_at.is_(None)
            )
        ).scalars()
    )
    if key_ids:
        conn.execute(update(api_keys).where(api_keys.c.id.in_(key_ids)).values(revoked_at=now))
    return int(ended or 0), key_ids


def deactivate_in(conn: Connection, org_id: str, user_id: str, *, reason: str) -> list[str]:
    """Deactivate a user, end their sessions and revoke their keys; the revoked key ids."""
    now = utcnow()
    conn.execute(
        update(users)
        .where(users.c.id == user_id, users.c.org_id == org_id)
        .values(active=False, updated_at=now)
    )
    return revoke_access_in(conn, org_id, user_id, reason=reason, now=now)[1]


class MemberStore:
    """Role changes, deactivation and project membership, each audited in its transaction."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def update_user(
        self,
        user_id: str,
        org_id: str,
        *,
        actor: str,
        role: str | None = None,
        name: str | None = None,
        active: bool | None = None,
    ) -> tuple[User, list[str]]:
        """The changed user and the ids of keys revoked by a deactivation."""
        if role is not None and role not in ORG_ROLES:
            raise ValueError(f"role must be one of {', '.join(ORG_ROLES)}")
        revoked: list[str] = []
        with write_transaction(self._engine) as conn:
            row = (
                conn.execute(select(users).where(users.c.id == user_id, users.c.org_id == org_id))
                .mappings()
                .first()
            )
            if row is None:
                raise NotFound(f"user {user_id!r} not found")
            values: dict[str, object] = {}
            if name is not None and name != row["name"]:
                values["name"] = name
            if role is not None and role != row["role"]:
                values["role"] = role
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "user.role_changed",
                        actor=actor,
                        org_id=org_id,
                        data={"user_id": user_id, "from": row["role"], "to": role},
                    ),
                )
            if values:
                conn.execute(update(users).where(users.c.id == user_id).values(**values, updated_at=utcnow()))
            if active is False and row["active"]:
                revoked = deactivate_in(conn, org_id, user_id, reason="deactivated")
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "user.deactivated",
                        actor=actor,
                        org_id=org_id,
                        data={"user_id": user_id, "keys_revoked": len(revoked)},
                    ),
                )
            elif active is True and not row["active"]:
                conn.execute(
                    update(users).where(users.c.id == user_id).values(active=True, updated_at=utcnow())
                )
                self._audit.append_in(
                    conn,
                    AuditEvent("user.reactivated", actor=actor, org_id=org_id, data={"user_id": user_id}),
                )
            fresh = conn.execute(select(users).where(users.c.id == user_id)).mappings().one()
        return _user(fresh), revoked

    # Project members -----------------------------------------------------------------------------
    def list_project_members(self, project_id: str, org_id: str) -> list[ProjectMember]:
        with self._engine.connect() as conn:
            self._project(conn, project_id, org_id)
            rows = conn.execute(
                select(project_members)
                .where(project_members.c.project_id == project_id)
                .order_by(project_members.c.created_at)
            ).mappings()
            return [_member(r) for r in rows]

    def set_project_member(
        self, project_id: str, user_id: str, role: str, org_id: str, *, actor: str
    ) -> ProjectMember:
        """Add a user to a project or change their project role."""
        if role not in PROJECT_ROLES:
            raise ValueError(f"role must be one of {', '.join(PROJECT_ROLES)}")
        with write_transaction(self._engine) as conn:
            self._project(conn, project_id, org_id)
            user = conn.execute(
                select(users.c.id).where(users.c.id == user_id, users.c.org_id == org_id)
            ).first()
            if user is None:
                raise NotFound(f"user {user_id!r} not found")
            where = (project_members.c.project_id == project_id) & (project_members.c.user_id == user_id)
            before = conn.execute(select(project_members.c.role).where(where)).scalar()
            now = utcnow()
            if before is None:
                conn.execute(
                    insert(project_members).values(
                        project_id=project_id, user_id=user_id, org_id=org_id, role=role, created_at=now
                    )
                )
            elif before != role:
                conn.execute(update(project_members).where(where).values(role=role))
            if before != role:
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "project.member_set",
                        actor=actor,
                        org_id=org_id,
                        project_id=project_id,
                        data={"user_id": user_id, "from": before, "to": role},
                    ),
                )
            row = conn.execute(select(project_members).where(where)).mappings().one()
        return _member(row)

    def remove_project_member(self, project_id: str, user_id: str, org_id: str, *, actor: str) -> None:
        with write_transaction(self._engine) as conn:
            self._project(conn, project_id, org_id)
            where = (project_members.c.project_id == project_id) & (project_members.c.user_id == user_id)
            if conn.execute(delete(project_members).where(where)).rowcount == 0:
                raise NotFound(f"user {user_id!r} is not a member of this project")
            self._audit.append_in(
                conn,
                AuditEvent(
                    "project.member_removed",
                    actor=actor,
                    org_id=org_id,
                    project_id=project_id,
                    data={"user_id": user_id},
                ),
            )

    @staticmethod
    def _project(conn: Connection, project_id: str, org_id: str) -> None:
        found = conn.execute(
            select(projects.c.id).where(projects.c.id == project_id, projects.c.org_id == org_id)
        ).first()
        if found is None:
            raise NotFound(f"project {project_id!r} not found")


def _member(row: RowMapping) -> ProjectMember:
    return ProjectMember(row["project_id"], row["user_id"], row["role"], as_utc(row["created_at"]))
