"""The webhook outbox: events are written to ``webhook_deliveries`` in the transaction that causes them.

An event and its deliveries commit together or not at all, so a crash can neither send a webhook
for a decision that was rolled back nor lose one for a decision that was kept. The dispatcher
(:mod:`sekisho.webhooks.dispatch`) sends the rows afterwards and retries them.

Payloads are JSON in the Standard Webhooks shape::

    {"type": "review.approved", "id": "evt_…", "timestamp": "2026-11-28T20:02:00.123456+00:00",
     "data": {...}}

``id`` names the event (shared by every endpoint it goes to); each endpoint's delivery has its own
``webhook-id`` header (the row id), repeated on every retry of that delivery.

Payloads leave the company: callers must never put prompt or completion text (or anything else a
reviewer would see only after an audited "reveal") into ``data``. Send ids, decisions, rule ids,
categories and URLs; receivers fetch the rest through the authenticated API.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping, Sequence
from datetime import datetime
from typing import Any

import orjson
from sqlalchemy import Connection, Engine, delete, event
from sqlalchemy.engine.interfaces import DBAPIConnection
from sqlalchemy.pool import ConnectionPoolEntry

from sekisho.clock import new_id, utcnow
from sekisho.store.tables import webhook_deliveries
from sekisho.store.tx import write_transaction
from sekisho.webhooks.settings import WebhookSettings, check_endpoints

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class WebhookOutbox:
    """Writes deliveries for events; tells subscribers (the dispatcher) once they are committed."""

    def __init__(
        self, engine: Engine, settings: Sequence[WebhookSettings], *, clock: Callable[[], datetime] = utcnow
    ) -> None:
        check_endpoints(settings)
        self._engine = engine
        self._clock = clock
        self.endpoints = list(settings)
        self._subscribers: list[Callable[[], None]] = []
        # A flag on the pooled connection, read when the connection goes back to the pool: by
        # then the caller's transaction has ended, so a woken dispatcher finds the rows committed
        # (SQLAlchemy's "commit" event fires before the commit, which would race).
        self._flag = f"sekisho.webhooks.enqueued.{id(self)}"
        event.listen(engine, "checkin", self._on_checkin)

    def subscribe(self, callback: Callable[[], None]) -> None:
        """Call ``callback`` (from any thread) after a transaction that enqueued deliveries ends."""
        self._subscribers.append(callback)

    def unsubscribe(self, callback: Callable[[], None]) -> None:
        """Stop calling ``callback``."""
        if callback in self._subscribers:
            self._subscribers.remove(callback)

    def close(self) -> None:
        """Stop listening to the engine's pool."""
        if event.contains(self._engine, "checkin", self._on_checkin):
            event.remove(self._engine, "checkin", self._on_checkin)
        self._subscribers.clear()

    def enqueue_in(
        self,
        conn: Connection,
        event_type: str,
        org_id: str | None,
        org_slug: str | None,
        data: Mapping[str, Any],
    ) -> list[str]:
        """Queue ``event_type`` for every matching endpoint inside the caller's transaction.

        Returns the delivery ids (empty when no endpoint wants the event). ``data`` must not hold
        prompt or completion text: see the module documentation.
        """
        targets = [endpoint for endpoint in self.endpoints if endpoint.matches(event_type, org_slug)]
        if not targets:
            return []
        now = self._clock()
        payload = orjson.dumps(
            {"type": event_type, "id": new_id("evt"), "timestamp": now.isoformat(), "data": dict(data)}
        ).decode("utf-8")
        ids = [new_id("msg") for _ in targets]
        rows = [
            {
                "id": delivery_id,
                "org_id": org_id,
                "event_type": event_type,
                "url": endpoint.url,
                "payload": payload,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None,
                "created_at": now,
                "delivered_at": None,
            }
            for delivery_id, endpoint in zip(ids, targets, strict=True)
        ]
        conn.execute(webhook_deliveries.insert(), rows)
        conn.info[self._flag] = True
        return ids

    def enqueue(
        self, event_type: str, org_id: str | None, org_slug: str | None, data: Mapping[str, Any]
    ) -> list[str]:
        """:meth:`enqueue_in` in a transaction of its own."""
        with write_transaction(self._engine) as conn:
            return self.enqueue_in(conn, event_type, org_id, org_slug, data)

    def purge(self, before: datetime) -> int:
        """Delete delivered and failed deliveries created before ``before``; returns how many."""
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                delete(webhook_deliveries).where(
                    webhook_deliveries.c.status.in_((DELIVERED, FAILED)),
                    webhook_deliveries.c.created_at < before,
                )
            )
        return int(result.rowcount)

    def _on_checkin(self, _dbapi_connection: DBAPIConnection | None, record: ConnectionPoolEntry) -> None:
        if record is None or not record.info.pop(self._flag, False):
            return
        for callback in list(self._subscribers):
            callback()
