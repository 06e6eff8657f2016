"""Holding a request for a person's decision, inside the request path.

Two ways to wait, chosen by the policy's ``review.mode``:

- ``hold``: the client's request stays open up to ``hold_seconds``; approved in time, it proceeds
  and the client gets its answer as if nothing happened (right for console chats);
- ``async``: the client gets a ``review_required`` error at once, with the review id and a URL to
  poll (``GET /v1/reviews/{id}``), where the answer appears once approved and run.

A held client that gives up (timeout, disconnect) loses nothing: after ``hold_until`` the review
runner runs the approved request in the background and stores its answer.
"""

from __future__ import annotations

import asyncio
import contextlib
from datetime import timedelta
from typing import Any

import anyio
import orjson

from sekisho.clock import new_id, utcnow
from sekisho.gateway.call import Call
from sekisho.gateway.errors import GatewayError
from sekisho.policy.document import ReviewSettings
from sekisho.policy.verdict import Verdict
from sekisho.review.service import ReviewService
from sekisho.review.store import ReviewItem

# How often a held request re-reads its item, for decisions taken on another replica.
POLL_SECONDS = 0.5


class ReviewGate:
    """Creates review items for held calls and waits for their decision."""

    def __init__(self, service: ReviewService) -> None:
        self.service = service

    async def hold(
        self,
        call: Call,
        verdict: Verdict,
        settings: ReviewSettings,
        *,
        approvals: int = 1,
        kind: str = "policy",
    ) -> None:
        """Return when approved (``call.body`` may be modified); raise otherwise."""
        item = await anyio.to_thread.run_sync(self._create, call, verdict, settings, approvals, kind)
        call.review_id = item.id
        if settings.mode == "async" or settings.hold_seconds <= 0:
            raise review_required(item, verdict)
        event = self.service.waiter(item.id)
        try:
            item = await self._wait(item, event, settings.hold_seconds)
        finally:
            self.service.forget(item.id)
        if item.status == "rejected":
            raise review_rejected(item)
        if item.status == "expired":
            raise GatewayError(
                403,
                f"The review {item.id} expired without a decision.",
                type="permission_error",
                code="review_expired",
                extra={"review_id": item.id},
            )
        if item.status != "approved":
            raise review_required(item, verdict)
        claimed = await anyio.to_thread.run_sync(self._claim, item)
        if claimed is None:  # the background runner took it first: the answer will be stored there
            raise review_required(item, verdict)
        if claimed.request_body is not None:
            call.body = orjson.loads(claimed.request_body)

    async def finish(self, call: Call, result: dict[str, Any] | None, error: dict[str, Any] | None) -> None:
        """Store the answer (or error) of a held call that ran after approval."""
        if call.review_id is None:
            return
        item_id = call.review_id

        def store() -> None:
            item = self.service.store.get(item_id)
            if item.status == "running":
                self.service.complete(item, result, error)

        await anyio.to_thread.run_sync(store)

    async def _wait(self, item: ReviewItem, event: asyncio.Event, seconds: float) -> ReviewItem:
        deadline = asyncio.get_running_loop().time() + seconds
        while item.status == "pending":
            remaining = deadline - asyncio.get_running_loop().time()
            if remaining <= 0:
                break
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(event.wait(), min(POLL_SECONDS, remaining))
            event.clear()
            item = await anyio.to_thread.run_sync(self.service.store.get, item.id)
        return item

    def _claim(self, item: ReviewItem) -> ReviewItem | None:
        current = self.service.store.get(item.id)
        if current.status != "approved":
            return None
        return self.service.store.change(current, None, actor="sekisho", status="running")

    def _create(
        self, call: Call, verdict: Verdict, settings: ReviewSettings, approvals: int, kind: str
    ) -> ReviewItem:
        hold = settings.hold_seconds if settings.mode == "hold" else 0
        item = new_item(
            call,
            verdict,
            kind=kind,
            approvals=approvals,
            on_expiry=settings.on_expiry,
            sla_minutes=settings.sla_minutes,
            # A little longer than the client waits, so the client's own connection claims its
            # approval before the background runner does.
            hold_seconds=hold + 2 if hold else None,
            body={**call.body, "stream": False},
        )
        return self.service.store.create(item, actor=call.who()[0].actor)


def new_item(
    call: Call,
    verdict: Verdict,
    *,
    kind: str,
    approvals: int,
    on_expiry: str,
    sla_minutes: float,
    hold_seconds: float | None,
    body: dict[str, Any],
) -> ReviewItem:
    """A pending review item for ``call``, as the decide stage found it."""
    principal, model = call.who()
    assert principal.org_id is not None and principal.project_id is not None
    now = utcnow()
    return ReviewItem(
        id=new_id("rev"),
        org_id=principal.org_id,
        project_id=principal.project_id,
        kind=kind,
        status="pending",
        request_id=call.request_id,
        endpoint=call.endpoint,
        model=model.name,
        requester_user_id=principal.user_id,
        requester_key_id=principal.key_id,
        requester_actor=principal.actor,
        rule_id=verdict.rule_id,
        category=verdict.category,
        rationale=verdict.rationale,
        confidence=verdict.confidence,
        findings=dict(call.finding_counts) or None,
        approvals_required=approvals,
        approvals=(),
        on_expiry=on_expiry,
        hold_until=now + timedelta(seconds=hold_seconds) if hold_seconds else None,
        escalated=False,
        reason=None,
        # Stored so a person can read it and the runner can send it; issue 6 encrypts it at rest.
        request_body=orjson.dumps(body).decode(),
        response_body=None,
        error=None,
        created_at=now,
        expires_at=now + timedelta(minutes=sla_minutes),
        decided_at=None,
        decided_by=None,
        completed_at=None,
        revision=1,
    )


def review_required(item: ReviewItem, verdict: Verdict | None) -> GatewayError:
    """403 ``review_required``: where the review is and how to get the answer."""
    why = f" ({item.rule_id}: {verdict.rationale})" if verdict and item.rule_id else ""
    return GatewayError(
        403,
        f"This request needs a person's approval under the usage policy{why}. It is in the review queue "
        f"as {item.id}; fetch its status and, once approved, its answer from GET /v1/reviews/{item.id}.",
        type="permission_error",
        code="review_required",
        headers={"x-sekisho-review-id": item.id, "retry-after": "30"},
        extra={"review_id": item.id, "poll_url": f"/v1/reviews/{item.id}", "rule_id": item.rule_id},
    )


def review_rejected(item: ReviewItem) -> GatewayError:
    """403 ``review_rejected`` with the reviewer's reason."""
    return GatewayError(
        403,
        f"A reviewer rejected this request: {item.reason or 'no reason given'}",
        type="permission_error",
        code="review_rejected",
        headers={"x-sekisho-review-id": item.id},
        extra={"review_id": item.id, "reason": item.reason},
    )
