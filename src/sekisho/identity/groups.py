"""Groups of users within an organisation (departments, teams; SCIM groups map onto these)."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine, delete, insert, select, update
from sqlalchemy.exc import IntegrityError

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity.permissions import ORG_ROLE_PERMISSIONS, PROJECT_ROLES
from sekisho.identity.store import Conflict, NotFound
from sekisho.store.tables import group_members, groups, projects, users
from sekisho.store.tx import write_transaction


@dataclass(frozen=True, slots=True)
class Group:
    id: str
    org_id: str
    name: str
    created_at: datetime
    member_ids: tuple[str, ...] = ()
    # What membership grants (issue 5): an organisation role and project roles.
    org_role: str | None = None
    project_roles: tuple[tuple[str, str], ...] = ()
    external_id: str | None = None


class GroupStore:
    """Reads and writes groups and their members; every change is audited in its transaction."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def create(self, org_id: str, name: str, *, actor: str) -> Group:
        group = Group(new_id("grp"), org_id, name, utcnow())
        try:
            with write_transaction(self._engine) as conn:
                conn.execute(
                    insert(groups).values(id=group.id, org_id=org_id, name=name, created_at=group.created_at)
                )
                self._audit.append_in(
                    conn,
                    AuditEvent(
                        "admin.group.created",
                        actor=actor,
                        org_id=org_id,
                        data={"group_id": group.id, "name": name},
                    ),
                )
        except IntegrityError as exc:
            raise Conflict(f"a group named {name!r} exists in this organisation") from exc
        return group

    def list(self, org_id: str) -> list[Group]:
        with self._engine.connect() as conn:
            rows = conn.execute(select(groups).where(groups.c.org_id == org_id).order_by(groups.c.name)).all()
            members = conn.execute(
                select(group_members.c.group_id, group_members.c.user_id)
                .join(groups, groups.c.id == group_members.c.group_id)
                .where(groups.c.org_id == org_id)
                .order_by(group_members.c.user_id)
            ).all()
        by_group: dict[str, list[str]] = {}
        for m in members:
            by_group.setdefault(m.group_id, []).append(m.user_id)
        return [
            Group(
                r.id,
                r.org_id,
                r.name,
                as_utc(r.created_at),
                tuple(by_group.get(r.id, ())),
                r.org_role,
                tuple(sorted((r.project_roles or {}).items())),
                r.external_id,
            )
            for r in rows
        ]

    def get(self, group_id: str, org_id: str) -> Group:
        for group in self.list(org_id):
            if group.id == group_id or group.name == group_id:
                return group
        raise NotFound(f"group {group_id!r} not found")

    def add_member(self, group_id: str, user_id: str, org_id: str, *, actor: str) -> Group:
        group = self.get(group_id, org_id)
        with write_transaction(self._engine) as conn:
            user = conn.execute(
                select(users.c.id).where(users.c.org_id == org_id, users.c.id == user_id)
            ).first()
            if user is None:
                raise NotFound(f"user {user_id!r} not found")
            if user_id in group.member_ids:
                return group
            conn.execute(insert(group_members).values(group_id=group.id, user_id=user_id))
            self._audit.append_in(
                conn,
                AuditEvent(
                    "admin.group.member_added",
                    actor=actor,
                    org_id=org_id,
                    data={"group_id": group.id, "user_id": user_id},
                ),
            )
        return self.get(group.id, org_id)

    def remove_member(self, group_id: str, user_id: str, org_id: str, *, actor: str) -> Group:
        group = self.get(group_id, org_id)
        if user_id not in group.member_ids:
            raise NotFound(f"user {user_id!r} is not in group {group.name!r}")
        with write_transaction(self._engine) as conn:
            conn.execute(
                delete(group_members).where(
                    group_members.c.group_id == group.id, group_members.c.user_id == user_id
                )
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "admin.group.member_removed",
                    actor=actor,
                    org_id=org_id,
                    data={"group_id": group.id, "user_id": user_id},
                ),
            )
        return self.get(group.id, org_id)

    def set_grants(
        self,
        group_id: str,
        org_id: str,
        *,
        org_role: str | None,
        project_roles: dict[str, str],
        actor: str,
    ) -> Group:
        """Replace what membership grants; every project must be one of the organisation's."""
        if org_role is not None and org_role not in ORG_ROLE_PERMISSIONS:
            raise ValueError(f"org_role must be one of {', '.join(ORG_ROLE_PERMISSIONS)}")
        for role in project_roles.values():
            if role not in PROJECT_ROLES:
                raise ValueError(f"project roles must be one of {', '.join(PROJECT_ROLES)}")
        group = self.get(group_id, org_id)
        with write_transaction(self._engine) as conn:
            known = set(
                conn.execute(
                    select(projects.c.id).where(
                        projects.c.org_id == org_id, projects.c.id.in_(list(project_roles))
                    )
                ).scalars()
            )
            unknown = sorted(set(project_roles) - known)
            if unknown:
                raise NotFound(f"project {unknown[0]!r} not found")
            conn.execute(
                update(groups)
                .where(groups.c.id == group.id)
                .values(org_role=org_role, project_roles=project_roles or None, updated_at=utcnow())
            )
            self._audit.append_in(
                conn,
                AuditEvent(
                    "admin.group.grants_changed",
                    actor=actor,
                    org_id=org_id,
                    data={
                        "group_id": group.id,
                        "org_role": org_role,
                        "project_roles": ",".join(f"{p}={r}" for p, r in sorted(project_roles.items())),
                    },
                ),
            )
        return self.get(group.id, org_id)
