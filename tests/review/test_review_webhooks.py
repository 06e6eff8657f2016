"""Review decisions and crisis escalations reach a real HTTP receiver as signed webhooks."""

from __future__ import annotations

import time
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from sekisho.webhooks import verify
from tests.conftest import MASTER_KEY, ServerThread, mock_config
from tests.review.test_review_flow import Org, _held, _people, _poll

SECRET = "whsec_c2VraXNoby13ZWJob29rLXRlc3Qtc2VjcmV0LTMyYnl0ZXM="


class Receiver:
    """Collects deliveries; answers 503 to the first one so the retry path is exercised."""

    def __init__(self) -> None:
        self.deliveries: list[tuple[dict[str, str], bytes]] = []
        self.refused = 0

    async def endpoint(self, request: Request) -> Response:
        body = await request.body()
        if self.refused == 0:
            self.refused += 1
            return Response(status_code=503)
        self.deliveries.append((dict(request.headers), body))
        return Response(status_code=204)

    def events(self) -> list[dict[str, Any]]:
        return [orjson.loads(body) for _headers, body in self.deliveries]


@pytest.fixture
def receiver() -> Iterator[tuple[Receiver, str]]:
    hook = Receiver()
    with ServerThread(Starlette(routes=[Route("/hook", hook.endpoint, methods=["POST"])])) as server:
        yield hook, f"{server.url}/hook"


@pytest.fixture
def org(
    database_url: str,
    upstream: tuple[MockUpstream, str],
    make_settings: Callable[..., Settings],
    receiver: tuple[Receiver, str],
) -> Iterator[Org]:
    config = {
        **mock_config(upstream[1]),
        "policy": {"local_classifier": False, "review_poll_seconds": 0.2},
        "webhooks": [{"url": receiver[1], "secret": SECRET, "events": ["review.*", "crisis.*"]}],
    }
    app = build_app(make_settings(config, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY))
    # Retries are 30 s apart in production; here the dispatcher is woken again by each new event.
    with ServerThread(app) as server:
        yield Org(app, server.url, **_people(app))


def test_decisions_are_delivered_signed_and_retried(org: Org, receiver: tuple[Receiver, str]) -> None:
    hook, _url = receiver
    org.set_policy()
    review_id = _held(org, "decide the hire for the new office")
    org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
    _poll(org, review_id, {"completed"})
    dispatcher = org.app.state.webhooks
    deadline = time.monotonic() + 15
    wanted = {"review.requested", "review.approved", "review.completed"}
    while not wanted <= {e["type"] for e in hook.events()} and time.monotonic() < deadline:
        _make_due(org)
        dispatcher.wake()
        time.sleep(0.1)
    events = hook.events()
    assert wanted <= {e["type"] for e in events}, events
    assert hook.refused == 1  # the first attempt failed and was retried
    for headers, body in hook.deliveries:
        verify(SECRET, headers, body)  # raises on a bad signature
    approved = next(e for e in events if e["type"] == "review.approved")
    assert approved["data"]["review_id"] == review_id and approved["data"]["status"] == "approved"
    assert "decide the hire" not in str(events)  # ids and decisions only, never the prompt


def _make_due(org: Org) -> None:
    """Bring retries forward (production waits 30 s before the first retry)."""
    from sqlalchemy import update

    from sekisho.clock import utcnow
    from sekisho.store.tables import webhook_deliveries
    from sekisho.store.tx import write_transaction

    with write_transaction(org.app.state.core.engine) as conn:
        conn.execute(
            update(webhook_deliveries)
            .where(webhook_deliveries.c.status == "pending", webhook_deliveries.c.attempts > 0)
            .values(next_attempt_at=utcnow())
        )
