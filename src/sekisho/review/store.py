"""Review items in the database, changed only by compare-and-set on ``revision``.

Two reviewers clicking at once, a reviewer racing the SLA sweeper, or two replicas claiming the same
approved request: each change is an UPDATE guarded by the revision it read, so exactly one wins and
the loser re-reads. Every change writes its audit record (and its webhook rows) in the same
transaction, so the log and the queue can never disagree.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

from sqlalchemy import Connection, Engine, RowMapping, insert, select, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import as_utc
from sekisho.identity import NotFound
from sekisho.store.tables import review_items
from sekisho.store.tx import write_transaction

OPEN = frozenset({"pending"})
FINAL = frozenset({"rejected", "expired", "completed", "failed", "resolved"})

Notify = Callable[[Connection, str, str, dict[str, Any]], None]
"""Called inside the write transaction with (conn, event type, org id, data) — the webhook outbox."""


@dataclass(frozen=True, slots=True)
class ReviewItem:
    """A held request and what became of it."""

    id: str
    org_id: str
    project_id: str
    kind: str  # policy | crisis
    status: str  # pending | approved | running | completed | failed | rejected | expired
    request_id: str
    endpoint: str
    model: str
    requester_user_id: str | None
    requester_key_id: str | None
    requester_actor: str
    rule_id: str | None
    category: str | None
    rationale: str | None
    confidence: float | None
    findings: dict[str, int] | None
    approvals_required: int
    approvals: tuple[dict[str, str], ...]
    on_expiry: str
    hold_until: datetime | None
    escalated: bool
    reason: str | None
    request_body: str | None
    response_body: str | None
    error: str | None
    created_at: datetime
    expires_at: datetime
    decided_at: datetime | None
    decided_by: str | None
    completed_at: datetime | None
    revision: int

    def summary(self) -> dict[str, Any]:
        """Metadata safe for audit records and webhooks: no prompt or answer text."""
        return {
            "review_id": self.id,
            "status": self.status,
            "kind": self.kind,
            "request_id": self.request_id,
            "project_id": self.project_id,
            "model": self.model,
            "rule_id": self.rule_id,
            "category": self.category,
            "escalated": self.escalated,
            "approvals": len(self.approvals),
            "approvals_required": self.approvals_required,
        }


class ReviewStore:
    """Creates, reads and changes review items."""

    def __init__(self, engine: Engine, audit: AuditLog, notify: Notify | None = None) -> None:
        self._engine = engine
        self._audit = audit
        self._notify = notify

    def create(self, item: ReviewItem, *, actor: str, event: str = "review.requested") -> ReviewItem:
        """Store a new item (``revision`` 1) with its ``review.requested`` (or ``event``) record."""
        row = _row(item)
        with write_transaction(self._engine) as conn:
            conn.execute(insert(review_items).values(**row))
            self._record(conn, event, item, actor)
        return item

    def get(self, item_id: str, org_id: str | None = None) -> ReviewItem:
        """One item; NotFound when it does not exist or belongs to another organisation."""
        query = select(review_items).where(review_items.c.id == item_id)
        if org_id is not None:
            query = query.where(review_items.c.org_id == org_id)
        with self._engine.connect() as conn:
            row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"review {item_id!r} not found")
        return _item(row)

    def find(
        self,
        org_id: str,
        *,
        status: str | None = None,
        kind: str | None = None,
        project_id: str | None = None,
        limit: int = 100,
        offset: int = 0,
    ) -> list[ReviewItem]:
        """Items of an organisation, oldest pending first (the order reviewers work in)."""
        query = select(review_items).where(review_items.c.org_id == org_id)
        if status is not None:
            query = query.where(review_items.c.status == status)
        if kind is not None:
            query = query.where(review_items.c.kind == kind)
        if project_id is not None:
            query = query.where(review_items.c.project_id == project_id)
        query = query.order_by(review_items.c.created_at, review_items.c.id).limit(limit).offset(offset)
        with self._engine.connect() as conn:
            return [_item(r) for r in conn.execute(query).mappings()]

    def due(self, now: datetime, *, limit: int = 100) -> list[ReviewItem]:
        """Pending items past their SLA, and approved items no waiting client will run."""
        with self._engine.connect() as conn:
            expired = conn.execute(
                select(review_items)
                .where(review_items.c.status == "pending", review_items.c.expires_at <= now)
                .limit(limit)
            ).mappings()
            items = [_item(r) for r in expired]
            approved = conn.execute(
                select(review_items).where(review_items.c.status == "approved").limit(limit)
            ).mappings()
            items += [i for i in map(_item, approved) if i.hold_until is None or i.hold_until <= now]
        return items

    def change(self, item: ReviewItem, event: str | None, *, actor: str, **changes: Any) -> ReviewItem | None:
        """Apply ``changes`` if nobody changed ``item`` since it was read; None when someone did."""
        new = replace(item, **changes, revision=item.revision + 1)
        values = {k: v for k, v in _row(new).items() if k in changes or k == "revision"}
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                update(review_items)
                .where(review_items.c.id == item.id, review_items.c.revision == item.revision)
                .values(**values)
            )
            if result.rowcount != 1:
                return None
            if event is not None:
                self._record(conn, event, new, actor)
        return new

    def audit_now(self, event: AuditEvent) -> None:
        """Write ``event`` to the audit chain and wait for the commit."""
        with write_transaction(self._engine) as conn:
            self._audit.append_in(conn, event)

    def _record(self, conn: Connection, kind: str, item: ReviewItem, actor: str) -> None:
        data = item.summary()
        self._audit.append_in(
            conn,
            AuditEvent(
                kind=kind,
                actor=actor,
                org_id=item.org_id,
                project_id=item.project_id,
                request_id=item.request_id,
                data={**data, "reason": (item.reason or "")[:500] or None},
            ),
        )
        if self._notify is not None:
            self._notify(conn, kind, item.org_id, data)


def _row(item: ReviewItem) -> dict[str, Any]:
    row = {f: getattr(item, f) for f in ReviewItem.__dataclass_fields__}
    row["approvals"] = list(item.approvals)
    return row


def _item(row: RowMapping) -> ReviewItem:
    data = dict(row)
    for field in ("created_at", "expires_at", "decided_at", "completed_at", "hold_until"):
        if data[field] is not None:
            data[field] = as_utc(data[field])
    data["approvals"] = tuple(data["approvals"] or ())
    data["escalated"] = bool(data["escalated"])
    return ReviewItem(**data)
