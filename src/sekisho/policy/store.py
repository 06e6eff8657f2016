"""Policy documents in the database: append-only versions per organisation and project.

Saving never overwrites: each save is a new version with its author, time and comment, and a
rollback saves an older document again as the newest version. The history is therefore the audit
trail of the policy itself; each save is also written to the audit chain in the same transaction.
"""

from __future__ import annotations

import difflib
from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, and_, func, insert, select

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc, new_id, utcnow
from sekisho.identity import NotFound
from sekisho.policy.compile import Layer
from sekisho.policy.document import parse_policy, source_digest
from sekisho.store.tables import policy_versions, projects
from sekisho.store.tx import write_transaction


@dataclass(frozen=True, slots=True)
class PolicyVersion:
    """One saved document."""

    id: str
    org_id: str
    project_id: str | None
    version: int
    source: str
    sha256: str
    author: str
    comment: str | None
    created_at: datetime

    @property
    def label(self) -> str:
        """How the compiled policy names this layer: ``org:3`` or ``project:1``."""
        return f"{'project' if self.project_id else 'org'}:{self.version}"


class PolicyStore:
    """Reads and writes policy versions; every lookup is scoped to one organisation."""

    def __init__(self, engine: Engine, audit: AuditLog) -> None:
        self._engine = engine
        self._audit = audit

    def save(
        self, org_id: str, project_id: str | None, source: str, *, author: str, comment: str | None = None
    ) -> PolicyVersion:
        """Validate and store ``source`` as the scope's newest version (PolicyError if invalid)."""
        document = parse_policy(source)
        scope = project_id or ""
        with write_transaction(self._engine) as conn:
            if project_id is not None:
                self._check_project(conn, org_id, project_id)
            latest = conn.execute(
                select(func.max(policy_versions.c.version)).where(
                    policy_versions.c.org_id == org_id, policy_versions.c.scope == scope
                )
            ).scalar()
            row = {
                "id": new_id("pol"),
                "org_id": org_id,
                "scope": scope,
                "version": int(latest or 0) + 1,
                "source": source,
                "sha256": source_digest(source),
                "author": author,
                "comment": (comment or "")[:500] or None,
                "created_at": utcnow(),
            }
            conn.execute(insert(policy_versions).values(**row))
            self._audit.append_in(
                conn,
                AuditEvent(
                    kind="policy.saved",
                    actor=author,
                    org_id=org_id,
                    project_id=project_id,
                    data={
                        "policy_id": row["id"],
                        "name": document.name,
                        "version": row["version"],
                        "sha256": row["sha256"],
                        "comment": row["comment"],
                    },
                ),
            )
        return _version(row)

    def history(self, org_id: str, project_id: str | None) -> list[PolicyVersion]:
        """Every version of the scope, newest first."""
        query = (
            select(policy_versions)
            .where(policy_versions.c.org_id == org_id, policy_versions.c.scope == (project_id or ""))
            .order_by(policy_versions.c.version.desc())
        )
        with self._engine.connect() as conn:
            return [_version(r) for r in conn.execute(query).mappings()]

    def get(self, org_id: str, project_id: str | None, version: int) -> PolicyVersion:
        """One version, or NotFound."""
        query = select(policy_versions).where(
            policy_versions.c.org_id == org_id,
            policy_versions.c.scope == (project_id or ""),
            policy_versions.c.version == version,
        )
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"policy version {version} not found")
        return _version(row)

    def rollback(self, org_id: str, project_id: str | None, version: int, *, author: str) -> PolicyVersion:
        """Save version ``version``'s document again as the newest version."""
        old = self.get(org_id, project_id, version)
        return self.save(
            org_id, project_id, old.source, author=author, comment=f"rollback to version {version}"
        )

    def diff(self, org_id: str, project_id: str | None, a: int, b: int) -> str:
        """A unified diff from version ``a`` to version ``b``."""
        old, new = self.get(org_id, project_id, a), self.get(org_id, project_id, b)
        return "".join(
            difflib.unified_diff(
                old.source.splitlines(keepends=True),
                new.source.splitlines(keepends=True),
                fromfile=f"version {a}",
                tofile=f"version {b}",
            )
        )

    def layers(self, org_id: str, project_id: str | None) -> list[Layer]:
        """The newest organisation and project documents, in layering order (one query)."""
        scopes = [""] if project_id is None else ["", project_id]
        newest = (
            select(policy_versions.c.scope, func.max(policy_versions.c.version).label("v"))
            .where(policy_versions.c.org_id == org_id, policy_versions.c.scope.in_(scopes))
            .group_by(policy_versions.c.scope)
            .subquery()
        )
        query = (
            select(policy_versions)
            .join(
                newest,
                and_(policy_versions.c.scope == newest.c.scope, policy_versions.c.version == newest.c.v),
            )
            .where(policy_versions.c.org_id == org_id)
        )
        with self._engine.connect() as conn:
            rows = sorted(conn.execute(query).mappings(), key=lambda r: r["scope"] != "")
        return [Layer(parse_policy(r["source"]), _version(r).label, r["source"]) for r in rows]

    @staticmethod
    def _check_project(conn: Connection, org_id: str, project_id: str) -> None:
        found = conn.execute(
            select(projects.c.id).where(projects.c.org_id == org_id, projects.c.id == project_id)
        ).first()
        if found is None:
            raise NotFound(f"project {project_id!r} not found")


def _version(r: RowMapping | Mapping[str, Any]) -> PolicyVersion:
    return PolicyVersion(
        id=r["id"],
        org_id=r["org_id"],
        project_id=r["scope"] or None,
        version=int(r["version"]),
        source=r["source"],
        sha256=r["sha256"],
        author=r["author"],
        comment=r["comment"],
        created_at=as_utc(r["created_at"]),
    )
