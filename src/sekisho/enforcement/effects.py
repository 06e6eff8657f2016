"""What an action does to the keys it covers, and how lifting it undoes that.

The ``api_keys`` columns are what authentication reads, so they are the single place an action
takes effect. A user's action covers every key the user owns. Lifting recomputes each key's state
from the actions still in force, so lifting one of two suspensions leaves the key suspended.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import Connection, and_, or_, select, update

from sekisho.store.tables import api_keys, enforcement_actions


def covered_keys(conn: Connection, org_id: str, subject_type: str, subject_id: str) -> list[dict[str, Any]]:
    """The non-revoked keys an action on this subject applies to (id, user_id, models)."""
    column = api_keys.c.id if subject_type == "key" else api_keys.c.user_id
    rows = conn.execute(
        select(api_keys.c.id, api_keys.c.user_id, api_keys.c.models).where(
            api_keys.c.org_id == org_id, column == subject_id, api_keys.c.revoked_at.is_(None)
        )
    ).mappings()
    return [dict(r) for r in rows]


def apply(
    conn: Connection,
    keys: list[dict[str, Any]],
    action: str,
    reason: str,
    now: datetime,
    allowed: list[str] | None,
) -> dict[str, Any] | None:
    """Put ``action`` into force on ``keys``; returns what ``models`` stores for the action."""
    ids = [k["id"] for k in keys]
    if action == "suspend_key" and ids:
        conn.execute(
            update(api_keys).where(api_keys.c.id.in_(ids)).values(suspended_at=now, suspended_reason=reason)
        )
    elif action == "require_review" and ids:
        conn.execute(update(api_keys).where(api_keys.c.id.in_(ids)).values(review_all=True))
    elif action == "restrict_models":
        wanted = list(allowed or [])
        replaced: dict[str, list[str] | None] = {}
        for key in keys:
            before = key["models"]
            replaced[key["id"]] = before
            narrowed = wanted if before is None else [m for m in before if m in wanted]
            conn.execute(update(api_keys).where(api_keys.c.id == key["id"]).values(models=narrowed))
        # The lists it replaced, per key, so that lifting restores each key exactly.
        return {"allowed": wanted, "replaced": replaced}
    return None


def undo(conn: Connection, row: Any, keys: list[dict[str, Any]]) -> None:
    """Take the (already lifted) action ``row`` out of force on ``keys``."""
    action = row["action"]
    if action == "restrict_models":
        replaced = (row["models"] or {}).get("replaced") or {}
        for key in keys:
            if key["id"] in replaced:
                conn.execute(
                    update(api_keys).where(api_keys.c.id == key["id"]).values(models=replaced[key["id"]])
                )
        return
    for key in keys:
        if _still_in_force(conn, row["org_id"], key, action):
            continue
        values: dict[str, Any] = (
            {"suspended_at": None, "suspended_reason": None}
            if action == "suspend_key"
            else {"review_all": False}
        )
        if action in ("suspend_key", "require_review"):
            conn.execute(update(api_keys).where(api_keys.c.id == key["id"]).values(**values))


def _still_in_force(conn: Connection, org_id: str, key: dict[str, Any], action: str) -> bool:
    """Another action of the same kind still covers this key (on the key itself or its user)."""
    a = enforcement_actions.c
    subject = or_(
        and_(a.subject_type == "key", a.subject_id == key["id"]),
        and_(a.subject_type == "user", a.subject_id == key["user_id"]),
    )
    query = select(a.id).where(a.org_id == org_id, a.action == action, a.lifted_at.is_(None), subject)
    return conn.execute(query.limit(1)).first() is not None
