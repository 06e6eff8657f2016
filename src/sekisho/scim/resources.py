"""What users and groups share as SCIM resources: ``meta`` (with an ETag), change detection."""

from __future__ import annotations

import hashlib
from datetime import datetime
from typing import Any

import orjson
from scim2_models import Context, Meta, PreconditionFailedException, Resource

from sekisho.scim.schema import POLICY


def stored_form(resource: Resource[Any]) -> dict[str, Any]:
    """Every attribute a resource holds, in SCIM's JSON names, without ``meta``.

    Used to compare two states of a resource and to derive its version; write-only values
    (a password) never reach it.
    """
    data = resource.model_dump(scim_ctx=Context.DEFAULT, scim_policy=POLICY, by_alias=True)
    data.pop("meta", None)
    data.pop("password", None)
    return data


def stamp(
    resource: Resource[Any],
    *,
    resource_type: str,
    location: str,
    created: datetime,
    modified: datetime | None,
    complete: bool = True,
) -> None:
    """Set ``meta``; its version is a digest of the whole resource, so any change moves it.

    A digest rather than a counter: a group's version also moves when one of its members is
    deleted, and a user's when a group they are in is renamed, with no write to their own row.
    A resource read without its memberships (``complete`` false) gets no version, rather than one
    that a full read would contradict.
    """
    version = None
    if complete:
        digest = hashlib.sha256(orjson.dumps(stored_form(resource), option=orjson.OPT_SORT_KEYS)).hexdigest()
        version = f'W/"{digest[:24]}"'
    resource.meta = Meta(
        resource_type=resource_type,
        created=created,
        last_modified=modified or created,
        location=location,
        version=version,
    )


def check_version(resource: Resource[Any], if_match: str | None) -> None:
    """Refuse a write whose ``If-Match`` names another version (RFC 7644 §3.14)."""
    if if_match is None or not if_match.strip():
        return
    wanted = {tag.strip() for tag in if_match.split(",")}
    current = resource.meta.version if resource.meta else None
    if "*" in wanted or current in wanted or (current and current.removeprefix("W/") in wanted):
        return
    raise PreconditionFailedException(detail="The resource has changed since that version was read.")


def changed_attributes(before: Resource[Any] | None, after: Resource[Any]) -> list[str]:
    """The top-level attributes that differ between two states (for the audit record)."""
    old = stored_form(before) if before is not None else {}
    new = stored_form(after)
    names = {*old, *new} - {"schemas", "id", "groups", "members"}
    return sorted(name for name in names if old.get(name) != new.get(name))
