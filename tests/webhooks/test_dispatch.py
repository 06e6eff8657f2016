"""The dispatcher against a real HTTP receiver, on SQLite and PostgreSQL."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import AsyncIterator, Callable
from typing import Any

import anyio
import orjson
import pytest
from sqlalchemy import Engine

from sekisho.clock import as_utc
from sekisho.webhooks import WebhookDispatcher, WebhookOutbox, WebhookSettings, verify
from tests.conftest import free_port
from tests.webhooks.conftest import SECRET, Clock, Receiver, rows

pytestmark = pytest.mark.anyio

MakeDispatcher = Callable[..., WebhookDispatcher]
MakeOutbox = Callable[[list[WebhookSettings]], WebhookOutbox]


def hook(receiver: Receiver, path: str, **overrides: Any) -> WebhookSettings:
    return WebhookSettings.model_validate({"url": f"{receiver.url}/{path}", "secret": SECRET, **overrides})


@pytest.fixture
async def make_dispatcher(engine: Engine, clock: Clock) -> AsyncIterator[MakeDispatcher]:
    """Dispatchers on the test clock, closed at the end of the test."""
    made: list[WebhookDispatcher] = []

    def make(settings: list[WebhookSettings], **kwargs: Any) -> WebhookDispatcher:
        dispatcher = WebhookDispatcher(engine, settings, clock=clock, **kwargs)
        made.append(dispatcher)
        return dispatcher

    yield make
    for dispatcher in made:
        await dispatcher.aclose()


def only_row(engine: Engine) -> dict[str, Any]:
    (row,) = rows(engine)
    return row


async def test_retries_with_the_same_id_until_accepted(
    engine: Engine, clock: Clock, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    settings = [hook(receiver, "flaky")]
    receiver.script["/flaky"] = [503, 503]
    outbox = make_outbox(settings)
    (delivery_id,) = outbox.enqueue("review.approved", "org_1", "acme", {"review_id": "rev_1"})
    dispatcher = make_dispatcher(settings)

    assert await dispatcher.run_once() == 1
    row = only_row(engine)
    assert (row["status"], row["attempts"], row["last_error"]) == ("pending", 1, "HTTP 503")
    # First retry after 30 s with equal jitter: between 15 and 30 seconds.
    wait = (as_utc(row["next_attempt_at"]) - clock.now).total_seconds()
    assert 15 <= wait <= 30
    assert await dispatcher.run_once() == 0  # not due yet

    clock.advance(30)
    assert await dispatcher.run_once() == 1
    row = only_row(engine)
    assert (row["status"], row["attempts"]) == ("pending", 2)
    assert 30 <= (as_utc(row["next_attempt_at"]) - clock.now).total_seconds() <= 60

    clock.advance(60)
    assert await dispatcher.run_once() == 1
    row = only_row(engine)
    assert (row["status"], row["attempts"], row["last_error"]) == ("delivered", 3, None)
    assert row["delivered_at"] is not None
    assert await dispatcher.run_once() == 0

    attempts = receiver.on("/flaky")
    assert len(attempts) == 3
    assert {a.headers["webhook-id"] for a in attempts} == {delivery_id}
    assert len({a.body for a in attempts}) == 1
    for attempt in attempts:
        assert attempt.headers["content-type"] == "application/json"
        now = int(attempt.headers["webhook-timestamp"])
        assert verify(SECRET, attempt.headers, attempt.body, now=now) == delivery_id
    # Each attempt is signed afresh at its own time.
    assert len({a.headers["webhook-timestamp"] for a in attempts}) == 3
    payload = orjson.loads(attempts[0].body)
    assert payload["type"] == "review.approved" and payload["data"] == {"review_id": "rev_1"}


async def test_client_error_fails_at_once(
    engine: Engine,
    clock: Clock,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    make_outbox: MakeOutbox,
    caplog: pytest.LogCaptureFixture,
) -> None:
    settings = [hook(receiver, "bad")]
    receiver.script["/bad"] = [400]
    make_outbox(settings).enqueue("review.rejected", "org_1", "acme", {"marker": "payload-text-42"})
    dispatcher = make_dispatcher(settings)
    with caplog.at_level(logging.DEBUG):
        assert await dispatcher.run_once() == 1
    row = only_row(engine)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 1, "HTTP 400")
    clock.advance(86400)
    assert await dispatcher.run_once() == 0
    assert len(receiver.on("/bad")) == 1
    assert "failed after 1 attempt" in caplog.text
    assert "payload-text-42" not in caplog.text
    assert SECRET not in caplog.text and SECRET[6:] not in caplog.text


@pytest.mark.parametrize("status", [408, 429, 500, 502])
async def test_transient_statuses_are_retried(
    engine: Engine,
    receiver: Receiver,
    make_dispatcher: MakeDispatcher,
    make_outbox: MakeOutbox,
    status: int,
) -> None:
    settings = [hook(receiver, "transient")]
    receiver.script["/transient"] = [status]
    make_outbox(settings).enqueue("review.approved", None, None, {})
    assert await make_dispatcher(settings).run_once() == 1
    row = only_row(engine)
    assert (row["status"], row["last_error"]) == ("pending", f"HTTP {status}")


async def test_gives_up_after_max_attempts(
    engine: Engine, clock: Clock, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    settings = [hook(receiver, "down", max_attempts=3)]
    receiver.script["/down"] = [503] * 10
    make_outbox(settings).enqueue("review.approved", None, None, {})
    dispatcher = make_dispatcher(settings, backoff_base_seconds=1, backoff_max_seconds=5)
    for _ in range(3):
        assert await dispatcher.run_once() == 1
        clock.advance(5)
    row = only_row(engine)
    assert (row["status"], row["attempts"], row["last_error"]) == ("failed", 3, "HTTP 503")
    assert await dispatcher.run_once() == 0
    assert len(receiver.on("/down")) == 3


async def test_retry_after_is_honoured(
    engine: Engine, clock: Clock, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    settings = [hook(receiver, "busy")]
    receiver.script["/busy"] = [429]
    receiver.retry_after = "600"
    make_outbox(settings).enqueue("review.approved", None, None, {})
    assert await make_dispatcher(settings).run_once() == 1
    assert (as_utc(only_row(engine)["next_attempt_at"]) - clock.now).total_seconds() >= 600


async def test_connection_errors_and_timeouts_are_retried(
    engine: Engine, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    nobody = WebhookSettings(url=f"http://127.0.0.1:{free_port()}/hook", secret=SECRET)
    slow = hook(receiver, "slow", timeout_seconds=0.2)
    receiver.delays["/slow"] = 1.0
    outbox = make_outbox([nobody, slow])
    outbox.enqueue("review.approved", None, None, {})
    assert await make_dispatcher([nobody, slow]).run_once() == 2
    errors = {row["url"]: (row["status"], row["attempts"], row["last_error"]) for row in rows(engine)}
    assert errors[nobody.url] == ("pending", 1, "connection error (ConnectError)")
    assert errors[slow.url] == ("pending", 1, "timeout")


async def test_a_new_dispatcher_picks_up_pending_rows(
    engine: Engine, clock: Clock, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    settings = [hook(receiver, "restart")]
    outbox = make_outbox(settings)
    ids = [outbox.enqueue("review.approved", None, None, {"n": n})[0] for n in range(3)]
    outbox.close()

    # The first process claims the rows and dies before sending (a crash mid-attempt).
    first = make_dispatcher(settings)
    assert len(first._claim()) == 3
    await first.aclose()

    second = make_dispatcher(settings)
    assert await second.run_once() == 0  # still leased to the dead process
    clock.advance(5 + 60)  # the lease: the longest timeout plus a minute
    assert await second.run_once() == 3
    assert {row["status"] for row in rows(engine)} == {"delivered"}
    assert sorted(r.headers["webhook-id"] for r in receiver.on("/restart")) == sorted(ids)


async def test_replicas_never_send_a_delivery_twice(
    engine: Engine, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    settings = [hook(receiver, "replicas")]
    outbox = make_outbox(settings)
    for n in range(12):
        outbox.enqueue("review.approved", None, None, {"n": n})
    replicas = [make_dispatcher(settings, batch_size=4) for _ in range(3)]
    total = 0
    while True:
        counts = await asyncio.gather(*(replica.run_once() for replica in replicas))
        total += sum(counts)
        if not any(counts):
            break
    assert total == 12
    ids = [r.headers["webhook-id"] for r in receiver.on("/replicas")]
    assert len(ids) == 12 and len(set(ids)) == 12
    assert {(row["status"], row["attempts"]) for row in rows(engine)} == {("delivered", 1)}


async def test_rows_for_unconfigured_endpoints_are_left_alone(
    engine: Engine, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    old, current = hook(receiver, "old"), hook(receiver, "current")
    make_outbox([old, current]).enqueue("review.approved", None, None, {})
    assert await make_dispatcher([current]).run_once() == 1
    status = {row["url"]: row["status"] for row in rows(engine)}
    assert status == {old.url: "pending", current.url: "delivered"}


async def test_wake_sends_a_new_event_without_waiting_for_the_poll(
    engine: Engine, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    settings = [hook(receiver, "prompt")]
    outbox = make_outbox(settings)
    dispatcher = make_dispatcher(settings, outbox=outbox, poll_interval_seconds=3600)
    dispatcher.start()
    await asyncio.sleep(0.1)  # let the first (empty) pass finish; the next poll is an hour away
    await anyio.to_thread.run_sync(outbox.enqueue, "review.approved", None, None, {})
    with anyio.fail_after(10):
        # The row changes in a worker thread's transaction: there is no event to await.
        while only_row(engine)["status"] != "delivered":  # noqa: ASYNC110
            await asyncio.sleep(0.02)
    assert len(receiver.on("/prompt")) == 1
    await dispatcher.aclose()
    outbox.close()


async def test_failed_delivery_is_audited(
    engine: Engine, receiver: Receiver, make_dispatcher: MakeDispatcher, make_outbox: MakeOutbox
) -> None:
    from sekisho.audit.log import AuditLog
    from sekisho.store import BatchWriter

    writer = BatchWriter(engine)
    audit = AuditLog(engine, writer, "test-instance")
    settings = [hook(receiver, "gone")]
    receiver.script["/gone"] = [410]
    (delivery_id,) = make_outbox(settings).enqueue("review.approved", "org_1", "acme", {})
    assert await make_dispatcher(settings, audit=audit).run_once() == 1
    (record,) = [r for r in audit.export() if r["kind"] == "webhook.failed"]
    assert record["org_id"] == "org_1"
    assert record["data"] == {
        "delivery_id": delivery_id,
        "event_type": "review.approved",
        "endpoint": receiver.url,
        "attempts": 1,
        "error": "HTTP 410",
    }
    assert audit.verify().ok


def test_backoff_grows_and_is_capped(engine: Engine) -> None:
    from sekisho.webhooks.dispatch import Outcome

    dispatcher = WebhookDispatcher(engine, [], backoff_base_seconds=10, backoff_max_seconds=100)
    retry = Outcome("retry", "HTTP 503")
    for attempts, (low, high) in {1: (5, 10), 2: (10, 20), 3: (20, 40), 5: (50, 100), 9: (50, 100)}.items():
        delays = [dispatcher._backoff(attempts, retry) for _ in range(50)]
        assert all(low <= d <= high for d in delays), attempts
        assert len(set(delays)) > 1  # jittered
    assert dispatcher._backoff(1, Outcome("retry", None, 1000.0)) == 100
