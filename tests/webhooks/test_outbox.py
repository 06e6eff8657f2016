"""The outbox: one row per matching endpoint, committed (or not) with the caller's transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import orjson
import pytest
from sqlalchemy import Engine, select

from sekisho.clock import as_utc, utcnow
from sekisho.store import write_transaction
from sekisho.store.tables import webhook_deliveries
from sekisho.webhooks import WebhookOutbox, WebhookSettings
from tests.webhooks.conftest import SECRET, rows


def endpoints() -> list[WebhookSettings]:
    return [
        WebhookSettings(url="https://a.example/hook", secret=SECRET),
        WebhookSettings(url="https://b.example/hook", secret_env="B_SECRET", events=["review.*"]),
        WebhookSettings(url="https://c.example/hook", secret=SECRET, events=["crisis.*"], orgs=["acme"]),
        WebhookSettings(
            url="https://d.example/hook", secret=SECRET, events=["review.rejected"], orgs=["globex"]
        ),
    ]


@pytest.fixture
def outbox(engine: Engine) -> Iterator[WebhookOutbox]:
    box = WebhookOutbox(engine, endpoints())
    yield box
    box.close()


def test_one_row_per_matching_endpoint(engine: Engine, outbox: WebhookOutbox) -> None:
    cases = [
        ("review.approved", "acme", {"https://a.example/hook", "https://b.example/hook"}),
        (
            "review.rejected",
            "globex",
            {"https://a.example/hook", "https://b.example/hook", "https://d.example/hook"},
        ),
        ("crisis.escalated", "acme", {"https://a.example/hook", "https://c.example/hook"}),
        ("crisis.escalated", "globex", {"https://a.example/hook"}),
        ("crisis.escalated", None, {"https://a.example/hook"}),
    ]
    for event_type, org_slug, urls in cases:
        before = {row["id"] for row in rows(engine)}
        ids = outbox.enqueue(event_type, "org_1" if org_slug else None, org_slug, {"review_id": "rev_1"})
        new = [row for row in rows(engine) if row["id"] not in before]
        assert {row["url"] for row in new} == urls, (event_type, org_slug)
        assert sorted(ids) == sorted(row["id"] for row in new)


def test_no_matching_endpoint_writes_nothing(engine: Engine) -> None:
    box = WebhookOutbox(
        engine, [WebhookSettings(url="https://a.example/h", secret=SECRET, events=["review.*"])]
    )
    assert box.enqueue("crisis.escalated", "org_1", "acme", {}) == []
    assert rows(engine) == []
    box.close()


def test_row_and_payload_shape(engine: Engine, outbox: WebhookOutbox) -> None:
    start = utcnow()
    ids = outbox.enqueue("review.approved", "org_1", "acme", {"review_id": "rev_1", "decision": "approve"})
    stored = rows(engine)
    assert len(ids) == 2 and len(set(ids)) == 2 and all(i.startswith("msg_") for i in ids)
    payloads = {row["payload"] for row in stored}
    assert len(payloads) == 1  # one event, one body for all its endpoints
    payload = orjson.loads(payloads.pop())
    assert set(payload) == {"type", "id", "timestamp", "data"}
    assert payload["type"] == "review.approved" and payload["id"].startswith("evt_")
    assert payload["data"] == {"review_id": "rev_1", "decision": "approve"}
    for row in stored:
        assert row["status"] == "pending" and row["attempts"] == 0 and row["org_id"] == "org_1"
        assert row["event_type"] == "review.approved" and row["last_error"] is None
        assert start - timedelta(seconds=1) <= as_utc(row["next_attempt_at"]) <= utcnow()


def test_rolled_back_transaction_leaves_no_delivery(engine: Engine, outbox: WebhookOutbox) -> None:
    with pytest.raises(RuntimeError), write_transaction(engine) as conn:
        outbox.enqueue_in(conn, "review.approved", "org_1", "acme", {"review_id": "rev_1"})
        raise RuntimeError("the decision failed to save")
    assert rows(engine) == []


def test_subscribers_hear_after_the_commit(engine: Engine, outbox: WebhookOutbox) -> None:
    seen: list[int] = []

    def count_visible_rows() -> None:
        # Runs as the caller's connection returns to the pool: the rows must already be visible
        # to another connection, or a woken dispatcher would find nothing to send.
        done = threading.Event()

        def read() -> None:
            with engine.connect() as other:
                seen.append(len(other.execute(select(webhook_deliveries.c.id)).all()))
            done.set()

        threading.Thread(target=read).start()
        done.wait(10)

    outbox.subscribe(count_visible_rows)
    with write_transaction(engine) as conn:
        outbox.enqueue_in(conn, "review.approved", "org_1", "acme", {})
        assert seen == []  # not before the commit
    assert seen == [2]
    with write_transaction(engine) as conn:  # a transaction without events wakes nobody
        conn.execute(select(1))
    assert seen == [2]
    outbox.unsubscribe(count_visible_rows)
    outbox.enqueue("review.approved", "org_1", "acme", {})
    assert seen == [2]


def test_purge_keeps_pending_rows(engine: Engine, outbox: WebhookOutbox) -> None:
    ids = outbox.enqueue("review.approved", "org_1", "acme", {})
    with write_transaction(engine) as conn:
        conn.execute(
            webhook_deliveries.update().where(webhook_deliveries.c.id == ids[0]).values(status="delivered")
        )
    assert outbox.purge(utcnow() - timedelta(hours=1)) == 0
    assert outbox.purge(utcnow() + timedelta(seconds=1)) == 1
    assert [row["id"] for row in rows(engine)] == [ids[1]]
