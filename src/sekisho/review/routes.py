"""The review queue's admin API under /admin/v1/reviews (the console builds its screens on it).

Reading the queue is open to reviewers, admins, owners and auditors; deciding and revealing content
to reviewers, admins and owners. Every item is looked up within the caller's organisation, so another
tenant's review answers 404.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
import orjson
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sekisho.admin.deps import ReviewDecider, ReviewReader, Services, found, http_error, org_scope
from sekisho.audit import AuditEvent
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.gateway.schemas import ChatCompletionRequest, validate
from sekisho.governance import Governance, governance_of
from sekisho.identity import NotFound, Principal
from sekisho.review.service import Action, ReviewForbidden
from sekisho.review.store import ReviewItem
from sekisho.review.views import item_out, redacted_messages

Gov = Annotated[Governance, Depends(governance_of)]


class DecisionIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000, description="Shown to the requester on rejection.")


class ModifyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str | None = Field(None, max_length=2000)
    changes: dict[str, Any] = Field(
        description="Chat-completion fields that replace the held request's (e.g. messages, max_tokens); "
        "the model cannot be changed."
    )


class RevealIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    reason: str = Field(min_length=3, max_length=500, description="Why the content is needed (audited).")


def review_router() -> APIRouter:
    """Routes of the review queue."""
    router = APIRouter(prefix="/admin/v1/reviews", tags=["reviews"])

    @router.get("")
    async def list_reviews(
        caller: ReviewReader,
        services: Services,
        gov: Gov,
        status: Literal[
            "pending", "approved", "running", "completed", "failed", "rejected", "expired", "resolved"
        ]
        | None = None,
        kind: Literal["policy", "crisis"] | None = None,
        project_id: str | None = None,
        org_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=500)] = 100,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        items = await anyio.to_thread.run_sync(
            lambda: gov.reviews.store.find(
                org, status=status, kind=kind, project_id=project_id, limit=limit, offset=offset
            )
        )
        return {"object": "list", "data": [item_out(i) for i in items]}

    @router.get("/{review_id}")
    async def get_review(
        review_id: str, caller: ReviewReader, services: Services, gov: Gov
    ) -> dict[str, Any]:
        item = await _item(review_id, caller, gov)
        return {**item_out(item), "messages": await redacted_messages(item, gov.guardrails)}

    @router.post("/{review_id}/reveal")
    async def reveal(review_id: str, body: RevealIn, caller: ReviewDecider, gov: Gov) -> dict[str, Any]:
        item = await _item(review_id, caller, gov)
        if caller.user_id is not None and caller.user_id == item.requester_user_id:
            raise forbidden("A reviewer cannot review their own request.", code="own_request")
        event = AuditEvent(
            kind="review.revealed",
            actor=caller.actor,
            org_id=item.org_id,
            project_id=item.project_id,
            request_id=item.request_id,
            data={"review_id": item.id, "reason": body.reason},
        )
        # Durable before the content leaves: a reveal that is not on the record never happened.
        await anyio.to_thread.run_sync(gov.reviews.store.audit_now, event)
        return {
            **item_out(item),
            "request": orjson.loads(item.request_body) if item.request_body else None,
            "response": orjson.loads(item.response_body) if item.response_body else None,
        }

    @router.post("/{review_id}/approve")
    async def approve(review_id: str, body: DecisionIn, caller: ReviewDecider, gov: Gov) -> dict[str, Any]:
        return await _decide(gov, review_id, caller, "approve", body.reason)

    @router.post("/{review_id}/reject")
    async def reject(review_id: str, body: DecisionIn, caller: ReviewDecider, gov: Gov) -> dict[str, Any]:
        return await _decide(gov, review_id, caller, "reject", body.reason)

    @router.post("/{review_id}/escalate")
    async def escalate(review_id: str, body: DecisionIn, caller: ReviewDecider, gov: Gov) -> dict[str, Any]:
        return await _decide(gov, review_id, caller, "escalate", body.reason)

    @router.post("/{review_id}/resolve")
    async def resolve(review_id: str, body: DecisionIn, caller: ReviewDecider, gov: Gov) -> dict[str, Any]:
        """Close a crisis escalation with a note of what was done."""
        return await _decide(gov, review_id, caller, "resolve", body.reason)

    @router.post("/{review_id}/modify")
    async def modify(review_id: str, body: ModifyIn, caller: ReviewDecider, gov: Gov) -> dict[str, Any]:
        item = await _item(review_id, caller, gov)
        if "model" in body.changes and body.changes["model"] != item.model:
            raise GatewayError(
                400, "A reviewer cannot change the model.", param="changes.model", code="invalid_value"
            )
        merged = {**(orjson.loads(item.request_body) if item.request_body else {}), **body.changes}
        merged["stream"] = False
        validate(ChatCompletionRequest, merged)  # the edited request must still be a valid request
        return await _decide(gov, review_id, caller, "approve", body.reason, orjson.dumps(merged).decode())

    return router


async def _item(review_id: str, caller: Principal, gov: Governance) -> ReviewItem:
    org = None if caller.superuser else caller.org_id
    return await anyio.to_thread.run_sync(found, lambda: gov.reviews.store.get(review_id, org))


async def _decide(
    gov: Governance,
    review_id: str,
    caller: Principal,
    action: Action,
    reason: str | None,
    body: str | None = None,
) -> dict[str, Any]:
    try:
        item = await gov.reviews.decide(review_id, caller, action, reason=reason, body=body)
    except ReviewForbidden as exc:
        raise forbidden(str(exc), code="review_forbidden") from None
    except (NotFound, ValueError) as exc:
        raise http_error(exc) from None
    return item_out(item)
