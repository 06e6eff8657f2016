"""The e-mail sender: a background task that sends ``email_deliveries`` over SMTP and retries.

Like the webhook dispatcher, several replicas may run one on a database: a pass claims due rows by
moving ``next_attempt_at`` forward by a lease in a short write transaction (``FOR UPDATE SKIP
LOCKED`` on PostgreSQL), so no two replicas send a row at once, and a replica that dies mid-send
leaves the row to be retried when the lease runs out. An SMTP answer of 5xx for a message or its
recipient fails it for good; connection problems and 4xx answers are retried with back-off.
Python's ``smtplib`` is blocking, so each conversation runs in a worker thread.
"""

from __future__ import annotations

import logging
import random
import smtplib
import ssl
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.message import EmailMessage
from email.utils import formatdate, make_msgid

import anyio.to_thread
from sqlalchemy import Engine, select, update

from sekisho.clock import utcnow
from sekisho.email.outbox import DELIVERED, FAILED, PENDING
from sekisho.email.settings import EmailSettings
from sekisho.store.poller import OutboxPoller
from sekisho.store.tables_budgets import email_deliveries as _t
from sekisho.store.tx import write_transaction

log = logging.getLogger("sekisho.email")
_jitter = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    to_addr: str
    subject: str
    body: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Sent:
    """The outcome of one attempt: ``delivered``, ``retry`` or ``failed``."""

    status: str
    error: str | None = None


class EmailSender(OutboxPoller):
    """Sends pending messages: ``start()`` a background loop, or call :meth:`run_once`."""

    def __init__(
        self,
        engine: Engine,
        settings: EmailSettings,
        *,
        batch_size: int = 16,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        if settings.host is None:
            raise ValueError("email.host is not set")
        self._engine = engine
        self._settings = settings
        self._host = settings.host
        # Read now, so a missing password variable stops start-up instead of every send.
        self._password = settings.password()
        self._clock = clock
        self._lease = timedelta(seconds=settings.timeout_seconds * 2 + 60)
        super().__init__(label="e-mail", poll_seconds=settings.poll_seconds, batch=batch_size)

    async def run_once(self) -> int:
        """Claim due messages and attempt each once; returns how many were attempted."""
        claimed = await anyio.to_thread.run_sync(self._claim)
        for item in claimed:
            outcome = await anyio.to_thread.run_sync(self._send, item)
            await anyio.to_thread.run_sync(self._record, item, outcome)
        return len(claimed)

    def _claim(self) -> list[_Claimed]:
        now = self._clock()
        due = (
            select(_t.c.id, _t.c.to_addr, _t.c.subject, _t.c.body, _t.c.attempts)
            .where(_t.c.status == PENDING, _t.c.next_attempt_at <= now)
            .order_by(_t.c.next_attempt_at)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        with write_transaction(self._engine) as conn:
            rows = conn.execute(due).all()
            if rows:
                conn.execute(
                    update(_t)
                    .where(_t.c.id.in_([r.id for r in rows]))
                    .values(next_attempt_at=now + self._lease)
                )
        return [_Claimed(r.id, r.to_addr, r.subject, r.body, r.attempts) for r in rows]

    def _send(self, item: _Claimed) -> Sent:
        s = self._settings
        message = EmailMessage()
        message["From"] = s.from_address
        message["To"] = item.to_addr
        message["Subject"] = item.subject
        message["Date"] = formatdate(localtime=False)
        # The same Message-ID on every retry lets a receiving system drop a duplicate.
        message["Message-ID"] = make_msgid(idstring=item.id, domain=s.from_address.rpartition("@")[2] or None)
        message.set_content(item.body)
        try:
            client: smtplib.SMTP
            if s.ssl:
                client = smtplib.SMTP_SSL(
                    self._host, s.port, timeout=s.timeout_seconds, context=ssl.create_default_context()
                )
            else:
                client = smtplib.SMTP(self._host, s.port, timeout=s.timeout_seconds)
            with client:
                if s.starttls:
                    client.starttls(context=ssl.create_default_context())
                if s.username:
                    client.login(s.username, self._password or "")
                client.send_message(message)
        except smtplib.SMTPRecipientsRefused as exc:
            codes = [code for code, _ in exc.recipients.values()]
            return _by_code(min(codes) if codes else 550, "recipient refused")
        except smtplib.SMTPResponseException as exc:
            return _by_code(exc.smtp_code, f"SMTP {exc.smtp_code}")
        except (smtplib.SMTPException, OSError) as exc:
            return Sent("retry", f"connection error ({type(exc).__name__})")
        return Sent(DELIVERED)

    def _record(self, item: _Claimed, outcome: Sent) -> None:
        now = self._clock()
        attempts = item.attempts + 1
        status = outcome.status
        if status == "retry" and attempts >= self._settings.max_attempts:
            status = FAILED
        values: dict[str, object] = {"attempts": attempts, "last_error": outcome.error}
        if status == DELIVERED:
            values.update(status=DELIVERED, delivered_at=now)
        elif status == FAILED:
            values.update(status=FAILED)
        else:
            delay = min(6 * 3600.0, self._settings.backoff_seconds * 2.0 ** (attempts - 1))
            values.update(next_attempt_at=now + timedelta(seconds=delay / 2 + _jitter.uniform(0, delay / 2)))
        guard = (_t.c.id == item.id, _t.c.status == PENDING, _t.c.attempts == item.attempts)
        with write_transaction(self._engine) as conn:
            conn.execute(update(_t).where(*guard).values(**values))
        if status == FAILED:
            log.warning("e-mail %s failed after %d attempt(s): %s", item.id, attempts, outcome.error)
        elif status != DELIVERED:
            log.info("e-mail %s: %s; retrying", item.id, outcome.error)


def _by_code(code: int, error: str) -> Sent:
    """5xx: the server refuses this message for good; anything else may pass later."""
    return Sent(FAILED if 500 <= code < 600 else "retry", error)
