"""The append-only audit log: appends (grouped or immediate), recovery, verification, export."""

from __future__ import annotations

from collections.abc import Generator, Iterator, Mapping
from contextlib import closing
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, func, select

from sekisho.audit.chain import GENESIS_HASH, StoredRecord, VerifyResult, canonical, link_hash, verify_chain
from sekisho.clock import as_utc, utcnow
from sekisho.store.batch import BatchWriter
from sekisho.store.rows import Batch
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


def append_events(batch: Batch, events: list[AuditEvent], instance_id: str) -> list[int]:
    """Queue ``events`` onto the chain inside ``batch``'s write transaction; returns their seqs.

    The chain head is read once per transaction, under the write lock (SQLite) or an advisory lock
    (PostgreSQL), so concurrent writers — other processes included — never fork the chain.
    """
    head = batch.scratch.get("audit.head")
    if head is None:
        if batch.dialect.name == "postgresql":
            batch.query_one(f"SELECT pg_advisory_xact_lock({batch.mark})", (_PG_CHAIN_LOCK,))
        row = batch.query_one(_HEAD_SQL)
        head = (int(row[0]), str(row[1])) if row else (0, GENESIS_HASH)
    seq, prev_hash = head
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
        batch.insert(
            audit_log,
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
            },
        )
        seqs.append(seq)
        prev_hash = digest
    batch.scratch["audit.head"] = (seq, prev_hash)
    return seqs


_HEAD_SQL = "SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1"


@dataclass(frozen=True, slots=True)
class _Append:
    events: list[AuditEvent]
    instance_id: str
    admitted: bool = False
    finished: bool = False

    def apply(self, batch: Batch) -> list[int]:
        seqs = append_events(batch, self.events, self.instance_id)
        for event in self.events:
            if event.request_id is None:
                continue
            if self.admitted:
                batch.insert(
                    inflight_requests,
                    {
                        "request_id": event.request_id,
                        "instance_id": self.instance_id,
                        "org_id": event.org_id,
                        "project_id": event.project_id,
                        "actor": event.actor,
                        "admitted_at": utcnow(),
                    },
                )
            elif self.finished:
                batch.delete(inflight_requests, "request_id", event.request_id)
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
        batch = Batch.within(conn)
        append_events(batch, list(events), self.instance_id)
        batch.flush()

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
            batch = Batch.within(conn)
            append_events(batch, events, self.instance_id)
            batch.flush()
            conn.execute(delete(inflight_requests).where(inflight_requests.c.instance_id == self.instance_id))
        return len(rows)

    def verify(self) -> VerifyResult:
        """Verify the whole chain from the first record."""
        # verify_chain stops at the first bad record; closing the generator then releases the
        # streaming cursor now rather than whenever the generator is garbage-collected.
        with closing(self._stored_rows()) as rows:
            return verify_chain(rows)

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
        # Closing the result (also when the consumer stops early) closes PostgreSQL's server-side cursor.
        with self._engine.connect() as conn, conn.execution_options(yield_per=1000).execute(query) as result:
            for row in result:
                content = orjson.loads(row.record)
                content["prev_hash"] = row.prev_hash
                content["hash"] = row.hash
                yield content

    def _stored_rows(self) -> Generator[StoredRecord, None, None]:
        query = select(audit_log).order_by(audit_log.c.seq)
        with self._engine.connect() as conn, conn.execution_options(yield_per=1000).execute(query) as result:
            for row in result:
                yield StoredRecord(
                    seq=row.seq,
                    record=row.record,
                    prev_hash=row.prev_hash,
                    hash=row.hash,
                    columns={
                        "seq": row.seq,
                        # In the record's own form: SQLite hands back naive datetimes, PostgreSQL
                        # aware ones in the session's zone; both came from an aware UTC time.
                        "ts": as_utc(row.ts).isoformat(),
                        "kind": row.kind,
                        "instance_id": row.instance_id,
                        "request_id": row.request_id,
                        "actor": row.actor,
                        "org_id": row.org_id,
                        "project_id": row.project_id,
                    },
                )
