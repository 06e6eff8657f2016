"""The e-mail outbox: messages are rows of ``email_deliveries``, written in the transaction of the
event they tell about, so a message is neither sent for a rolled-back event nor lost for a kept one.
:class:`sekisho.email.sender.EmailSender` sends them and retries."""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from sqlalchemy import Connection, Engine, delete

from sekisho.clock import new_id, utcnow
from sekisho.store.tables_budgets import email_deliveries
from sekisho.store.tx import write_transaction

PENDING = "pending"
DELIVERED = "delivered"
FAILED = "failed"


class EmailOutbox:
    """Queues messages inside the caller's transaction."""

    def __init__(self, engine: Engine, *, clock: Callable[[], datetime] = utcnow) -> None:
        self._engine = engine
        self._clock = clock

    def enqueue_in(
        self, conn: Connection, org_id: str | None, to: Iterable[str], subject: str, body: str
    ) -> list[str]:
        """One row per recipient (each is sent, retried and reported on its own)."""
        now = self._clock()
        rows = [
            {
                "id": new_id("mail"),
                "org_id": org_id,
                "to_addr": address,
                "subject": subject[:300],
                "body": body,
                "status": PENDING,
                "attempts": 0,
                "next_attempt_at": now,
                "last_error": None,
                "created_at": now,
                "delivered_at": None,
            }
            for address in dict.fromkeys(to)
        ]
        if rows:
            conn.execute(email_deliveries.insert(), rows)
        return [str(r["id"]) for r in rows]

    def purge(self, before: datetime) -> int:
        """Delete delivered and failed messages created before ``before``; returns how many."""
        with write_transaction(self._engine) as conn:
            result = conn.execute(
                delete(email_deliveries).where(
                    email_deliveries.c.status.in_((DELIVERED, FAILED)), email_deliveries.c.created_at < before
                )
            )
        return int(result.rowcount)
