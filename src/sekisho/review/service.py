"""Reviewer decisions: approve (optionally with a modified request), reject, escalate; SLA expiry.

Rules every decision obeys:
- a reviewer never decides their own request;
- an escalated item is decided by an organisation owner or admin;
- a decision repeated (a double click, a retried HTTP call) returns the item unchanged, while a
  contradicting decision on a decided item is a conflict;
- with ``approvals_required`` 2 (four eyes), two different reviewers must approve.
"""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from datetime import timedelta
from typing import Any, Literal

import anyio
import orjson

from sekisho.clock import utcnow
from sekisho.identity import Conflict, Principal
from sekisho.identity.permissions import Perm
from sekisho.review.store import ReviewItem, ReviewStore

Action = Literal["approve", "reject", "escalate", "resolve"]
_ATTEMPTS = 5


class ReviewForbidden(PermissionError):
    """This reviewer may not make this decision (own request, escalated item, wrong role)."""


class ReviewService:
    """Applies decisions to items and wakes whoever waits for them."""

    def __init__(self, store: ReviewStore) -> None:
        self.store = store
        self._events: dict[str, asyncio.Event] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self.on_approved: Callable[[], None] | None = None  # wakes the background runner

    # --- waiting (used by the gateway's hold mode) --------------------------------------------------

    def waiter(self, item_id: str) -> asyncio.Event:
        """An event set when this process decides ``item_id`` (other replicas are polled for)."""
        self._loop = asyncio.get_running_loop()
        return self._events.setdefault(item_id, asyncio.Event())

    def forget(self, item_id: str) -> None:
        """Stop tracking a waiter."""
        self._events.pop(item_id, None)

    def _wake(self, item: ReviewItem) -> None:
        event = self._events.get(item.id)
        if event is not None and self._loop is not None:
            self._loop.call_soon_threadsafe(event.set)
        if item.status == "approved" and self.on_approved is not None:
            self.on_approved()

    # --- decisions ----------------------------------------------------------------------------------

    async def decide(
        self,
        item_id: str,
        reviewer: Principal,
        action: Action,
        *,
        reason: str | None = None,
        body: str | None = None,
    ) -> ReviewItem:
        """Apply ``action`` by ``reviewer``; body (JSON) replaces the request when approving."""
        item = await anyio.to_thread.run_sync(self._decide, item_id, reviewer, action, reason, body)
        self._wake(item)
        return item

    def _decide(
        self, item_id: str, reviewer: Principal, action: Action, reason: str | None, body: str | None
    ) -> ReviewItem:
        org = None if reviewer.superuser else reviewer.org_id
        for _ in range(_ATTEMPTS):
            item = self.store.get(item_id, org)
            _check_reviewer(item, reviewer)
            changed = self._apply(item, reviewer, action, reason, body)
            if changed is None:  # a repeated decision: nothing to change
                return item
            if (new := self.store.change(item, changed[0], actor=reviewer.actor, **changed[1])) is not None:
                return new
        raise Conflict("the review changed while it was being decided; try again")

    def _apply(
        self, item: ReviewItem, reviewer: Principal, action: Action, reason: str | None, body: str | None
    ) -> tuple[str, dict[str, Any]] | None:
        who = reviewer.actor
        now = utcnow()
        allowed = ("resolve", "escalate") if item.kind == "crisis" else ("approve", "reject", "escalate")
        if action not in allowed:
            raise Conflict(
                "a crisis escalation is resolved (or escalated), not approved or rejected"
                if item.kind == "crisis"
                else "only crisis escalations are resolved; approve or reject this review"
            )
        if action == "resolve":
            if item.status == "resolved":
                return None
            if item.status != "pending":
                raise Conflict(f"the escalation is already {item.status}")
            if not reason:
                raise ValueError("say what was done: the note is kept with the escalation")
            return "crisis.resolved", {
                "status": "resolved",
                "reason": reason,
                "decided_at": now,
                "decided_by": who,
            }
        if action == "escalate":
            if item.status != "pending":
                raise Conflict(f"the review is already {item.status}")
            if item.escalated:
                return None
            return "review.escalated", {"escalated": True, "reason": reason}
        if action == "reject":
            if item.status == "rejected":
                return None
            if item.status != "pending":
                raise Conflict(f"the review is already {item.status}")
            if not reason:
                raise ValueError("a rejection needs a reason: the requester is shown it")
            return "review.rejected", {
                "status": "rejected",
                "reason": reason,
                "decided_at": now,
                "decided_by": who,
            }
        # approve
        if item.status in ("approved", "running", "completed", "failed") and body is None:
            return None
        if item.status != "pending":
            raise Conflict(f"the review is already {item.status}")
        if any(a["by"] == who for a in item.approvals) and body is None:
            return None
        approvals = (*[a for a in item.approvals if a["by"] != who], {"by": who, "at": now.isoformat()})
        changes: dict[str, Any] = {"approvals": approvals}
        event = "review.approval"
        if body is not None:
            changes["request_body"] = body
            # A changed request is a new request: earlier approvals were for the old one.
            changes["approvals"] = approvals = ({"by": who, "at": now.isoformat(), "modified": "true"},)
            event = "review.modified"
        if reason:
            changes["reason"] = reason
        if len(approvals) >= item.approvals_required:
            changes |= {
                "status": "approved",
                "decided_at": now,
                "decided_by": ",".join(a["by"] for a in approvals),
            }
            event = "review.modified" if body is not None else "review.approved"
        return event, changes

    def complete(
        self, item: ReviewItem, answer: dict[str, Any] | None, error: dict[str, Any] | None
    ) -> ReviewItem | None:
        """Store the outcome of a claimed (``running``) item's request."""
        return self.store.change(
            item,
            "review.completed" if error is None else "review.failed",
            actor="sekisho",
            status="completed" if error is None else "failed",
            response_body=orjson.dumps(answer).decode() if answer is not None else None,
            error=orjson.dumps(error).decode() if error is not None else None,
            completed_at=utcnow(),
        )

    # --- the SLA ------------------------------------------------------------------------------------

    def expire(self, item: ReviewItem, sla: timedelta) -> ReviewItem | None:
        """Apply the item's ``on_expiry`` outcome (called by the sweeper for overdue items)."""
        now = utcnow()
        if item.on_expiry == "approve":
            changes: dict[str, Any] = {
                "status": "approved",
                "decided_at": now,
                "decided_by": "sla",
                "reason": "approved automatically when the review SLA expired",
            }
        elif item.on_expiry == "escalate" and not item.escalated:
            changes = {
                "escalated": True,
                "expires_at": now + sla,
                "reason": "escalated: the review SLA expired",
            }
        else:
            changes = {
                "status": "expired",
                "decided_at": now,
                "decided_by": "sla",
                "reason": "the review SLA expired",
            }
        new = self.store.change(item, "review.expired", actor="sekisho:sla", **changes)
        if new is not None:
            self._wake(new)
        return new


def _check_reviewer(item: ReviewItem, reviewer: Principal) -> None:
    if not reviewer.can(Perm.REVIEW_DECIDE):
        raise ReviewForbidden("Only reviewers, admins and owners decide reviews.")
    if reviewer.user_id is not None and reviewer.user_id == item.requester_user_id:
        raise ReviewForbidden("A reviewer cannot review their own request.")
    if item.escalated and not reviewer.is_admin:
        raise ReviewForbidden("This review was escalated: an organisation owner or admin decides it.")
