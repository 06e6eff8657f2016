"""The webhook dispatcher: a background task that sends the outbox's deliveries and retries them.

Several gateway replicas may run a dispatcher on one database. A pass claims due rows by moving
their ``next_attempt_at`` forward by a lease (longer than an attempt can take) in a short write
transaction — ``FOR UPDATE SKIP LOCKED`` on PostgreSQL, the single writer lock on SQLite — so no
two replicas send a row at once; a replica that dies mid-attempt leaves the row to be retried
when the lease runs out. The outcome is written with a guard on ``attempts``, so a late finisher
never overwrites a newer one. Receivers still see a delivery twice now and then (a crash after
the POST, before the write): that is why every retry repeats the ``webhook-id`` they dedupe on.
"""

from __future__ import annotations

import logging
import random
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import anyio
import anyio.to_thread
import httpx
from sqlalchemy import Engine, select, update

from sekisho import __version__
from sekisho.audit.log import AuditEvent, AuditLog
from sekisho.clock import utcnow
from sekisho.store.poller import OutboxPoller
from sekisho.store.tables import webhook_deliveries as _t
from sekisho.store.tx import write_transaction
from sekisho.webhooks.outbox import DELIVERED, FAILED, PENDING, WebhookOutbox
from sekisho.webhooks.settings import WebhookSettings, check_endpoints
from sekisho.webhooks.sign import signed_headers

log = logging.getLogger("sekisho.webhooks")

# Jitter needs no cryptographic quality, only independence between replicas.
_jitter = random.SystemRandom()


@dataclass(frozen=True, slots=True)
class _Claimed:
    id: str
    url: str
    event_type: str
    org_id: str | None
    payload: str
    attempts: int


@dataclass(frozen=True, slots=True)
class Outcome:
    """What one attempt means for its delivery: ``delivered``, ``retry`` or ``failed``."""

    status: str
    error: str | None = None
    retry_after: float | None = None


def classify(response: httpx.Response) -> Outcome:
    """2xx is delivered; 408, 429, 5xx (and redirects, never followed) are retried; other 4xx fail."""
    code = response.status_code
    if 200 <= code < 300:
        return Outcome(DELIVERED)
    error = f"HTTP {code}"
    if 400 <= code < 500 and code not in (408, 429):
        # The receiver rejects this request as such (bad signature, unknown path): retrying cannot help.
        return Outcome(FAILED, error)
    return Outcome("retry", error, _retry_after(response.headers.get("retry-after")))


def _retry_after(value: str | None) -> float | None:
    # Only the delay-seconds form; an HTTP date is rare from webhook receivers.
    if value is None or not value.strip().isdigit():
        return None
    return float(value.strip())


class WebhookDispatcher(OutboxPoller):
    """Sends pending deliveries: ``start()`` a background loop, or call :meth:`run_once` directly."""

    def __init__(
        self,
        engine: Engine,
        settings: Sequence[WebhookSettings],
        *,
        outbox: WebhookOutbox | None = None,
        audit: AuditLog | None = None,
        client: httpx.AsyncClient | None = None,
        poll_interval_seconds: float = 1.0,
        batch_size: int = 32,
        backoff_base_seconds: float = 30.0,
        backoff_max_seconds: float = 6 * 3600.0,
        clock: Callable[[], datetime] = utcnow,
    ) -> None:
        check_endpoints(settings)
        self._engine = engine
        self._endpoints = {endpoint.url: endpoint for endpoint in settings}
        # Read now, so a missing secret environment variable stops start-up instead of every send.
        self._keys = {endpoint.url: endpoint.signing_key() for endpoint in settings}
        self._outbox = outbox
        self._audit = audit
        self._client = client
        self._owns_client = client is None
        self._backoff_base = backoff_base_seconds
        self._backoff_max = backoff_max_seconds
        self._clock = clock
        # A dead replica's claim expires once no attempt of it can still be running.
        longest = max((e.timeout_seconds for e in settings), default=0.0)
        self._lease = timedelta(seconds=longest + 60)
        super().__init__(label="webhooks", poll_seconds=poll_interval_seconds, batch=batch_size)
        if outbox is not None:
            outbox.subscribe(self.wake)

    async def aclose(self) -> None:
        """Stop the loop (an attempt in flight is abandoned and retried after its lease)."""
        if self._outbox is not None:
            self._outbox.unsubscribe(self.wake)
        await super().aclose()
        if self._owns_client and self._client is not None:
            await self._client.aclose()
            self._client = None

    async def run_once(self) -> int:
        """One pass: claim the due deliveries, attempt each once; returns how many were attempted."""
        if not self._endpoints:
            return 0
        claimed = await anyio.to_thread.run_sync(self._claim)
        if claimed:
            async with anyio.create_task_group() as group:
                for item in claimed:
                    group.start_soon(self._deliver, item)
        return len(claimed)

    def _claim(self) -> list[_Claimed]:
        now = self._clock()
        due = (
            select(_t.c.id, _t.c.url, _t.c.event_type, _t.c.org_id, _t.c.payload, _t.c.attempts)
            .where(_t.c.status == PENDING, _t.c.next_attempt_at <= now)
            # Rows for an endpoint no longer configured (here) wait for a replica that has it.
            .where(_t.c.url.in_(list(self._endpoints)))
            .order_by(_t.c.next_attempt_at)
            .limit(self._batch)
            .with_for_update(skip_locked=True)
        )
        with write_transaction(self._engine) as conn:
            rows = conn.execute(due).all()
            if rows:
                conn.execute(
                    update(_t)
                    .where(_t.c.id.in_([row.id for row in rows]))
                    .values(next_attempt_at=now + self._lease)
                )
        return [_Claimed(r.id, r.url, r.event_type, r.org_id, r.payload, r.attempts) for r in rows]

    async def _deliver(self, item: _Claimed) -> None:
        endpoint = self._endpoints[item.url]
        body = item.payload.encode("utf-8")
        # A new timestamp (and so signature) per attempt; the id stays, for the receiver to dedupe.
        headers = signed_headers(self._keys[item.url], item.id, int(self._clock().timestamp()), body)
        headers.update({"content-type": "application/json", "user-agent": f"Sekisho-Webhooks/{__version__}"})
        try:
            # httpx's timeout bounds each read; fail_after bounds the whole attempt (a trickling reply).
            with anyio.fail_after(endpoint.timeout_seconds):
                response = await self._http().post(
                    item.url, content=body, headers=headers, timeout=endpoint.timeout_seconds
                )
            outcome = classify(response)
        except (TimeoutError, httpx.TimeoutException):
            outcome = Outcome("retry", "timeout")
        except httpx.HTTPError as exc:
            outcome = Outcome("retry", f"connection error ({type(exc).__name__})")
        await anyio.to_thread.run_sync(self._record, item, endpoint, outcome)

    def _http(self) -> httpx.AsyncClient:
        if self._client is None:
            self._client = httpx.AsyncClient(follow_redirects=False)
        return self._client

    def _record(self, item: _Claimed, endpoint: WebhookSettings, outcome: Outcome) -> None:
        now = self._clock()
        attempts = item.attempts + 1
        status = outcome.status
        if status == "retry" and attempts >= endpoint.max_attempts:
            status = FAILED
        values: dict[str, object] = {"attempts": attempts, "last_error": outcome.error}
        if status == DELIVERED:
            values.update(status=DELIVERED, delivered_at=now)
        elif status == FAILED:
            values.update(status=FAILED)
        else:
            values.update(next_attempt_at=now + timedelta(seconds=self._backoff(attempts, outcome)))
        guard = (_t.c.id == item.id, _t.c.status == PENDING, _t.c.attempts == item.attempts)
        with write_transaction(self._engine) as conn:
            updated = conn.execute(update(_t).where(*guard).values(**values)).rowcount
            if updated and status == FAILED and self._audit is not None:
                self._audit.append_in(conn, self._failed_event(item, endpoint, outcome, attempts))
        if not updated:
            log.info("webhook delivery %s was settled by another worker", item.id)
        elif status == FAILED:
            log.warning(
                "webhook delivery %s (%s to %s) failed after %d attempt(s): %s",
                item.id, item.event_type, endpoint.host, attempts, outcome.error,
            )  # fmt: skip
        elif status != DELIVERED:
            log.info("webhook delivery %s to %s: %s; retrying", item.id, endpoint.host, outcome.error)

    def _backoff(self, attempts: int, outcome: Outcome) -> float:
        delay = min(self._backoff_max, self._backoff_base * 2.0 ** (attempts - 1))
        # Equal jitter: at least half the delay, so retries of many deliveries spread out.
        delay = delay / 2 + _jitter.uniform(0, delay / 2)
        if outcome.retry_after is not None:
            delay = max(delay, min(outcome.retry_after, self._backoff_max))
        return delay

    @staticmethod
    def _failed_event(
        item: _Claimed, endpoint: WebhookSettings, outcome: Outcome, attempts: int
    ) -> AuditEvent:
        return AuditEvent(
            kind="webhook.failed",
            org_id=item.org_id,
            data={
                "delivery_id": item.id,
                "event_type": item.event_type,
                "endpoint": endpoint.host,
                "attempts": attempts,
                "error": outcome.error,
            },
        )
