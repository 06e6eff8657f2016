"""What a user may do: their own organisation role plus what their groups and projects grant.

Read once per authentication (keys are cached by the authenticator, sessions per request), so a
group's grant or a project membership takes effect on the next sign-in or key-cache expiry.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Connection, select

from sekisho.identity.permissions import ORG_ROLE_PERMISSIONS, PROJECT_ROLES, stronger_project_role
from sekisho.store.tables import group_members, groups, project_members, projects


@dataclass(frozen=True, slots=True)
class Access:
    """Roles beyond the user's own: organisation roles from groups, and project roles."""

    org_roles: frozenset[str]
    project_roles: tuple[tuple[str, str], ...]


NO_GRANTS = Access(frozenset(), ())


def load_access(conn: Connection, user_id: str, org_id: str) -> Access:
    """The grants of ``user_id`` inside ``org_id`` (grants naming another org's project are ignored)."""
    org_roles: set[str] = set()
    project: dict[str, str] = {}
    granted = conn.execute(
        select(groups.c.org_role, groups.c.project_roles)
        .join(group_members, group_members.c.group_id == groups.c.id)
        .where(group_members.c.user_id == user_id, groups.c.org_id == org_id)
    ).all()
    for org_role, project_roles in granted:
        if org_role in ORG_ROLE_PERMISSIONS:
            org_roles.add(org_role)
        for project_id, role in (project_roles or {}).items():
            if role in PROJECT_ROLES:
                project[project_id] = stronger_project_role(project.get(project_id), role)
    own = conn.execute(
        select(project_members.c.project_id, project_members.c.role).where(
            project_members.c.user_id == user_id, project_members.c.org_id == org_id
        )
    ).all()
    for project_id, role in own:
        project[project_id] = stronger_project_role(project.get(project_id), role)
    if project:
        # Group grants are free-form JSON: keep only projects that exist in this organisation.
        real = set(
            conn.execute(
                select(projects.c.id).where(projects.c.org_id == org_id, projects.c.id.in_(list(project)))
            ).scalars()
        )
        project = {p: r for p, r in project.items() if p in real}
    return Access(frozenset(org_roles), tuple(sorted(project.items())))
