"""The append-only audit log: appends (grouped or immediate), recovery, verification, export."""

from __future__ import annotations

from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, func, insert, select, text

from sekisho.audit.chain import GENESIS_HASH, StoredRecord, VerifyResult, canonical, link_hash, verify_chain
from sekisho.clock import utcnow
from sekisho.store.batch import BatchWriter
from sekisho.store.tables import audit_log, inflight_requests
from sekisho.store.tx import write_transaction

# Any constant works; it names the PostgreSQL advisory lock that serialises appends across replicas.
_PG_CHAIN_LOCK = 0x5EC15E0


@dataclass(frozen=True, slots=True)
class AuditEvent:
    """Something that happened. ``data`` holds strings, integers, booleans and None only."""

    kind: str
    actor: str | None = None
    org_id: str | None = None
    project_id: str | None = None
    request_id: str | None = None
    data: Mapping[str, Any] = field(default_factory=dict)


def append_events(
    conn: Connection, events: list[AuditEvent], instance_id: str, scratch: dict[str, Any]
) -> list[int]:
    """Append ``events`` to the chain inside the caller's write transaction; returns their seqs."""
    head = scratch.get("audit.head")
    if head is None:
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(:k)"), {"k": _PG_CHAIN_LOCK})
        row = conn.execute(
            select(audit_log.c.seq, audit_log.c.hash).order_by(audit_log.c.seq.desc()).limit(1)
        ).first()
        head = (row.seq, row.hash) if row else (0, GENESIS_HASH)
    seq, prev_hash = head
    rows = []
    seqs = []
    for event in events:
        seq += 1
        now = utcnow()
        content = {
            "seq": seq,
            "ts": now.isoformat(),
            "kind": event.kind,
            "instance_id": instance_id,
            "request_id": event.request_id,
            "actor": event.actor,
            "org_id": event.org_id,
            "project_id": event.project_id,
            "data": dict(event.data),
        }
        record = canonical(content)
        digest = link_hash(prev_hash, record)
        rows.append(
            {
                "seq": seq,
                "ts": now,
                "kind": event.kind,
                "instance_id": instance_id,
                "request_id": event.request_id,
                "actor": event.actor,
                "org_id": event.org_id,
                "project_id": event.project_id,
                "record": record,
                "prev_hash": prev_hash,
                "hash": digest,
            }
        )
        seqs.append(seq)
        prev_hash = digest
    conn.execute(insert(audit_log), rows)
    scratch["audit.head"] = (seq, prev_hash)
    return seqs


@dataclass(frozen=True, slots=True)
class _Append:
    events: list[AuditEvent]
    instance_id: str
    admitted: bool = False
    finished: bool = False

    def apply(self, conn: Connection, scratch: dict[str, Any]) -> list[int]:
        seqs = append_events(conn, self.events, self.instance_id, scratch)
        for event in self.events:
            if event.request_id is None:
                continue
            if self.admitted:
                conn.execute(
                    insert(inflight_requests).values(
                        request_id=event.request_id,
                        instance_id=self.instance_id,
                        org_id=event.org_id,
                        project_id=event.project_id,
                        actor=event.actor,
                        admitted_at=utcnow(),
                    )
                )
            elif self.finished:
                conn.execute(
                    delete(inflight_requests).where(inflight_requests.c.request_id == event.request_id)
                )
        return seqs


class AuditLog:
    """Appends to and reads the hash-chained audit log."""

    def __init__(self, engine: Engine, writer: BatchWriter, instance_id: str) -> None:
        self._engine = engine
        self._writer = writer
        self.instance_id = instance_id

    async def admitted(self, event: AuditEvent) -> int:
        """Durably record an admitted request; returns after the commit. Raises if it cannot be stored."""
        (seq,) = await self._writer.write(_Append([event], self.instance_id, admitted=True))
        return int(seq)

    def finished(self, event: AuditEvent) -> None:
        """Record the end of a request (completed, failed or cancelled) without waiting for the commit."""
        self._writer.submit(_Append([event], self.instance_id, finished=True))

    def record(self, event: AuditEvent) -> None:
        """Record any other event without waiting."""
        self._writer.submit(_Append([event], self.instance_id))

    def append_in(self, conn: Connection, *events: AuditEvent) -> None:
        """Append inside the caller's write transaction, so an admin change and its record commit together."""
        append_events(conn, list(events), self.instance_id, {})

    def recover_interrupted(self) -> int:
        """Mark every request this instance admitted but never finished as interrupted (run at start-up)."""
        with write_transaction(self._engine) as conn:
            rows = conn.execute(
                select(inflight_requests).where(inflight_requests.c.instance_id == self.instance_id)
            ).all()
            if not rows:
                return 0
            events = [
                AuditEvent(
                    kind="request.interrupted",
                    actor=row.actor,
                    org_id=row.org_id,
                    project_id=row.project_id,
                    request_id=row.request_id,
                    data={"reason": "process stopped before the request finished"},
                )
                for row in rows
            ]
            append_events(conn, events, self.instance_id, {})
            conn.execute(delete(inflight_requests).where(inflight_requests.c.instance_id == self.instance_id))
        return len(rows)

    def verify(self) -> VerifyResult:
        """Verify the whole chain from the first record."""
        return verify_chain(self._stored_rows())

    def count(self) -> int:
        """Number of records."""
        with self._engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(audit_log)).scalar_one())

    def export(self, since: datetime | None = None, org_id: str | None = None) -> Iterator[dict[str, Any]]:
        """Records (with their hashes) in chain order, optionally from ``since`` and for one organisation."""
        query = select(audit_log).order_by(audit_log.c.seq)
        if since is not None:
            query = query.where(audit_log.c.ts >= since)
        if org_id is not None:
            query = query.where(audit_log.c.org_id == org_id)
        with self._engine.connect() as conn:
            for row in conn.execution_options(yield_per=1000).execute(query):
                content = orjson.loads(row.record)
                content["prev_hash"] = row.prev_hash
                content["hash"] = row.hash
                yield content

    def _stored_rows(self) -> Iterator[StoredRecord]:
        with self._engine.connect() as conn:
            result = conn.execution_options(yield_per=1000).execute(
                select(audit_log).order_by(audit_log.c.seq)
            )
            for row in result:
                yield StoredRecord(
                    seq=row.seq,
                    record=row.record,
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                    columns={
                        "seq": row.seq,
                        "kind": row.kind,
                        "instance_id": row.instance_id,
                        "request_id": row.request_id,
                        "actor": row.actor,
                        "org_id": row.org_id,
                        "project_id": row.project_id,
                    },
                )
