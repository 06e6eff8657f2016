"""Who adoption is measured over: the people of an organisation, a group or a set of projects.

People are the organisation's active accounts that are not service accounts (a service account's
traffic is usage, not adoption). Memberships are read as they are now: Sekisho keeps no history of
group or project membership, so a past week is measured over today's members.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from sqlalchemy import Connection, select

from sekisho.store.tables import group_members, groups, project_members, users


@dataclass(frozen=True, slots=True)
class Scope:
    """What to measure: one organisation, optionally narrowed to projects and to one group.

    ``show_groups`` is False for a caller reading through project roles: groups are the
    organisation's, so neither their figures nor a person's memberships are shown to it."""

    org_id: str
    projects: frozenset[str] | None = None
    group_id: str | None = None
    show_groups: bool = True


@dataclass(frozen=True, slots=True)
class Person:
    """A member of the population, with the ids of the groups they belong to."""

    user_id: str
    email: str
    name: str
    groups: tuple[str, ...]


@dataclass(frozen=True, slots=True)
class GroupInfo:
    """A SCIM (or locally made) group of the organisation."""

    id: str
    name: str


@dataclass(frozen=True, slots=True)
class Directory:
    """Everyone adoption may count in an organisation, and its groups."""

    people: dict[str, Person]
    groups: dict[str, GroupInfo]
    members: dict[str, frozenset[str]]

    def members_of(self, group_id: str) -> frozenset[str]:
        """The people in ``group_id``."""
        return self.members.get(group_id, frozenset())


def load_directory(conn: Connection, org_id: str) -> Directory:
    """The organisation's people (active, not service accounts) and groups."""
    rows = conn.execute(
        select(users.c.id, users.c.email, users.c.name).where(
            users.c.org_id == org_id, users.c.active.is_(True), users.c.is_service_account.is_(False)
        )
    ).all()
    member_rows = conn.execute(
        select(group_members.c.user_id, group_members.c.group_id)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(groups.c.org_id == org_id)
        .order_by(group_members.c.group_id)
    ).all()
    memberships: dict[str, list[str]] = {}
    members: dict[str, set[str]] = {}
    for user_id, group_id in member_rows:
        memberships.setdefault(user_id, []).append(group_id)
        members.setdefault(group_id, set()).add(user_id)
    people = {uid: Person(uid, email, name, tuple(memberships.get(uid, ()))) for uid, email, name in rows}
    found = conn.execute(
        select(groups.c.id, groups.c.name).where(groups.c.org_id == org_id).order_by(groups.c.name)
    ).all()
    return Directory(
        people,
        {gid: GroupInfo(gid, name) for gid, name in found},
        # Deactivated accounts and service accounts stay out of every group's count too.
        {gid: frozenset(m & people.keys()) for gid, m in members.items()},
    )


def project_people(conn: Connection, org_id: str, projects: Iterable[str]) -> set[str]:
    """Users holding a role in any of ``projects``: directly, or through a group's grant."""
    wanted = set(projects)
    direct = conn.execute(
        select(project_members.c.user_id).where(
            project_members.c.org_id == org_id, project_members.c.project_id.in_(sorted(wanted))
        )
    ).scalars()
    found = set(direct)
    # Group grants are a small JSON map per group; reading the organisation's groups is cheap.
    granted = conn.execute(select(groups.c.id, groups.c.project_roles).where(groups.c.org_id == org_id)).all()
    granting = [gid for gid, roles in granted if isinstance(roles, dict) and wanted & set(roles)]
    if granting:
        found |= set(
            conn.execute(
                select(group_members.c.user_id).where(group_members.c.group_id.in_(granting))
            ).scalars()
        )
    return found


def population(directory: Directory, conn: Connection, scope: Scope, active: Iterable[str]) -> set[str]:
    """The people ``scope`` measures.

    The whole organisation, or for projects: their members plus whoever used them (an
    organisation admin calling through a project's key counts there too). A group narrows either."""
    if scope.projects is None:
        found = set(directory.people)
    else:
        found = (project_people(conn, scope.org_id, scope.projects) | set(active)) & set(directory.people)
    if scope.group_id is not None:
        found &= directory.members_of(scope.group_id)
    return found
