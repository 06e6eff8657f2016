"""Usage and cost by project, key, user, model and day, with the names people read next to the ids."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from sqlalchemy import Connection, Engine, select

from sekisho.metering.report import GroupBy, UsageFilter, usage_report
from sekisho.store.tables import api_keys, projects, users

# The label columns each grouping adds, read from the tables the ids point at.
LABELS: dict[str, tuple[str, ...]] = {
    "project": ("project_name",),
    "key": ("key_name", "key_prefix"),
    "user": ("user_email", "user_name"),
}


def labelled_usage(engine: Engine, where: UsageFilter, group_by: Sequence[GroupBy]) -> list[dict[str, Any]]:
    """``usage_report`` rows, with project names, key names and prefixes, user e-mails and names."""
    rows = usage_report(engine, where, group_by)
    if not rows or not set(group_by) & LABELS.keys():
        return rows
    with engine.connect() as conn:
        for group in group_by:
            if group not in LABELS:
                continue
            ids = sorted({r[group] for r in rows if r[group] is not None})
            names = _names(conn, group, ids, where.org_id)
            for row in rows:
                found = names.get(row[group], ())
                for i, column in enumerate(LABELS[group]):
                    row[column] = found[i] if found else None
    return rows


def _names(conn: Connection, group: str, ids: list[str], org_id: str | None) -> dict[str, tuple[str, ...]]:
    if not ids:
        return {}
    if group == "project":
        query = select(projects.c.id, projects.c.name).where(projects.c.id.in_(ids))
        org_column = projects.c.org_id
    elif group == "key":
        query = select(api_keys.c.id, api_keys.c.name, api_keys.c.prefix).where(api_keys.c.id.in_(ids))
        org_column = api_keys.c.org_id
    else:
        query = select(users.c.id, users.c.email, users.c.name).where(users.c.id.in_(ids))
        org_column = users.c.org_id
    if org_id is not None:
        query = query.where(org_column == org_id)
    return {str(row[0]): tuple(str(v) for v in row[1:]) for row in conn.execute(query)}
