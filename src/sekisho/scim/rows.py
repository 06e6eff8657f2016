"""Sekisho's ``users`` and ``groups`` rows as SCIM resources, and back.

A user's SCIM attributes that have a column of their own live there (``userName`` → username,
``externalId`` → external_id, ``active``); everything else the identity provider sends (name parts,
displayName, title, locale, e-mails, phone numbers, the Enterprise extension …) is kept as it
came, in SCIM's JSON names, in ``users.profile``. The columns Sekisho itself reads are derived
from it: ``email`` is the primary address (else the first, else the userName) and ``name`` the
display name (else the formatted or given and family names, else the userName).

Users Sekisho knew before any SCIM write (local or SSO accounts) are shown with what their row
holds: their e-mail as userName and address, and their name as displayName, so that an identity
provider matching on userName links them instead of creating a duplicate.

A user deleted through SCIM keeps its row (the audit trail and usage name it): ``profile`` then
holds ``deleted_at`` and SCIM no longer shows the user.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from pydantic import ValidationError
from scim2_models import EnterpriseUser, GroupMembership, InvalidValueException, Resource
from sqlalchemy import ColumnElement, Connection, RowMapping, Select, and_, false, func, select

from sekisho.clock import as_utc
from sekisho.scim.resources import stamp, stored_form
from sekisho.scim.schema import POLICY, USER_SCHEMA, Email, Group, GroupMember, ScimUser
from sekisho.store.tables import group_members, groups, users

DELETED = "deleted_at"
"""The ``users.profile`` key that marks a user deleted through SCIM."""

_NOT_IN_PROFILE = frozenset({"id", "meta", "groups", "password", "userName", "externalId"})


def live_users(org_id: str) -> Select[Any]:
    """The organisation's people as SCIM shows them: no service accounts, no deleted users."""
    return select(users).where(
        users.c.org_id == org_id,
        users.c.is_service_account.is_(false()),
        users.c.profile[DELETED].as_string().is_(None),
    )


def is_deleted(row: RowMapping) -> bool:
    """Whether a user row was deleted through SCIM."""
    profile = row["profile"]
    return isinstance(profile, Mapping) and profile.get(DELETED) is not None


def memberships(
    conn: Connection, org_id: str, user_ids: Iterable[str] | None = None
) -> dict[str, list[tuple[str, str]]]:
    """(group id, group name) of each user's groups, sorted; every user's when ``user_ids`` is None."""
    query = (
        select(group_members.c.user_id, groups.c.id, groups.c.name)
        .join(groups, groups.c.id == group_members.c.group_id)
        .where(groups.c.org_id == org_id)
        .order_by(groups.c.name, groups.c.id)
    )
    if user_ids is not None:
        query = query.where(group_members.c.user_id.in_(list(user_ids)))
    found: dict[str, list[tuple[str, str]]] = {}
    for user_id, group_id, name in conn.execute(query):
        found.setdefault(user_id, []).append((group_id, name))
    return found


def user_resource(row: RowMapping, member_of: list[tuple[str, str]] | None, base_url: str) -> Resource[Any]:
    """The SCIM User for a ``users`` row, with its groups (None: not read, so left out)."""
    profile = row["profile"] if isinstance(row["profile"], Mapping) else {}
    data: dict[str, Any] = {k: v for k, v in profile.items() if k not in _NOT_IN_PROFILE and k != DELETED}
    if "schemas" not in profile:
        # Never written through SCIM: present what Sekisho knows about the account.
        data = {"schemas": [USER_SCHEMA], "displayName": row["name"], "active": bool(row["active"])}
        if _valid_address(row["email"]):
            data["emails"] = [{"value": row["email"], "primary": True, "type": "work"}]
    elif not row["active"]:
        # Deactivated by an admin outside SCIM: the identity provider must see it.
        data["active"] = False
    data["id"] = row["id"]
    data["userName"] = row["username"] or row["email"]
    data["externalId"] = row["external_id"]
    user = ScimUser.model_validate(data, scim_policy=POLICY)
    if member_of:
        user.groups = [  # type: ignore[attr-defined]
            GroupMembership(value=gid, ref=f"{base_url}/Groups/{gid}", display=name, type="direct")
            for gid, name in member_of
        ]
    stamp(
        user,
        resource_type="User",
        location=f"{base_url}/Users/{row['id']}",
        created=as_utc(row["created_at"]),
        modified=as_utc(row["updated_at"]) if row["updated_at"] else None,
        complete=member_of is not None,
    )
    return user


def _valid_address(value: str) -> bool:
    try:
        Email.model_validate({"value": value})
    except ValidationError:
        return False
    return True


@dataclass(frozen=True, slots=True)
class UserColumns:
    """What a SCIM User writes to its ``users`` row."""

    username: str
    external_id: str | None
    email: str
    name: str
    active: bool
    profile: dict[str, Any]


def user_columns(user: Resource[Any]) -> UserColumns:
    """The ``users`` columns for a SCIM User (validated by its model already)."""
    data = stored_form(user)
    profile = {k: v for k, v in data.items() if k not in _NOT_IN_PROFILE}
    extension = profile.get(str(EnterpriseUser.__schema__))
    if isinstance(extension, dict):
        extension.pop("schemas", None)
    user_name = str(data["userName"])
    email = _primary_address(data.get("emails") or [], user_name).lower()
    fits(
        ("userName", user_name, 320),
        ("emails.value", email, 320),
        ("externalId", data.get("externalId"), 200),
    )
    return UserColumns(
        username=user_name,
        external_id=data.get("externalId"),
        email=email,
        name=_display_name(data, user_name)[:200],
        # Only an explicit false deactivates: a user whose provider sends no "active" is active.
        active=data.get("active") is not False,
        profile=profile,
    )


def fits(*values: tuple[str, str | None, int]) -> None:
    """Refuse values longer than their column (PostgreSQL would fail the write, not trim it)."""
    for attribute, value, limit in values:
        if value is not None and len(value) > limit:
            raise InvalidValueException(detail=f"{attribute} is longer than {limit} characters.")


def _primary_address(emails: list[dict[str, Any]], user_name: str) -> str:
    values = [e for e in emails if isinstance(e, dict) and e.get("value")]
    primary = next((e for e in values if e.get("primary")), values[0] if values else None)
    return str(primary["value"]) if primary else user_name


def _display_name(data: Mapping[str, Any], user_name: str) -> str:
    if data.get("displayName"):
        return str(data["displayName"])
    name = data.get("name") or {}
    if name.get("formatted"):
        return str(name["formatted"])
    parts = [name.get("givenName"), name.get("familyName")]
    return " ".join(str(p) for p in parts if p) or user_name


def username_taken(org_id: str, user_name: str, but: str | None) -> ColumnElement[bool]:
    """Another live user answers to ``user_name`` (case-insensitively, as RFC 7643 §4.1.1 asks).

    Users never written through SCIM answer to their e-mail address.
    """
    condition = and_(
        users.c.org_id == org_id,
        users.c.profile[DELETED].as_string().is_(None),
        (func.lower(users.c.username) == func.lower(user_name))
        | (users.c.username.is_(None) & (func.lower(users.c.email) == func.lower(user_name))),
    )
    return condition if but is None else and_(condition, users.c.id != but)


def group_resource(row: RowMapping, member_ids: list[str] | None, base_url: str) -> Resource[Any]:
    """The SCIM Group for a ``groups`` row and its (visible) members (None: not read, left out)."""
    group = Group(
        id=row["id"],
        external_id=row["external_id"],
        display_name=row["name"],
        members=[
            GroupMember(value=uid, ref=f"{base_url}/Users/{uid}", type="User") for uid in member_ids or ()
        ]
        or None,
    )
    stamp(
        group,
        resource_type="Group",
        location=f"{base_url}/Groups/{row['id']}",
        created=as_utc(row["created_at"]),
        modified=as_utc(row["updated_at"]) if row["updated_at"] else None,
        complete=member_ids is not None,
    )
    return group
