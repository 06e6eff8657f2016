"""``POST /v1/policy/evaluate`` and ``GET /v1/reviews/{id}``: usage policy and review for API clients.

``evaluate`` answers with the decision the gateway's decide stage would take for the same text under
the caller's organisation and project policy. ``reviews/{id}`` lets the requester of a held call poll
its status and fetch the answer once a person approved it (the same key, or the same user).
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import asdict
from typing import Any

import anyio
import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sekisho.gateway.call import Call
from sekisho.gateway.errors import GatewayError, not_found
from sekisho.gateway.pipeline import Pipeline, parse_json_body
from sekisho.gateway.routes import body_reader, json_endpoint
from sekisho.gateway.schemas import validate
from sekisho.governance import Governance
from sekisho.identity import NotFound, Principal


class EvaluateRequest(BaseModel):
    """The body of /v1/policy/evaluate."""

    model_config = ConfigDict(extra="forbid")
    text: str = Field(max_length=200_000)
    lang: str | None = Field(None, description="ja or en for the rationale; default: the text's language.")
    org_id: str | None = Field(None, description="Master key only: the organisation whose policy applies.")
    project_id: str | None = Field(None, description="Master key only: the project whose policy applies.")


def policy_routes(pipeline: Pipeline, governance: Governance, *, max_body_bytes: int) -> list[Route]:
    """The routes, bound to the pipeline's authenticator and the shared governance objects."""

    def endpoint(
        handler: Callable[[Request, Principal], Awaitable[dict[str, Any]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request, call: Call) -> dict[str, Any]:
            assert call.principal is not None  # json_endpoint authenticated the caller
            return await handler(request, call.principal)

        return json_endpoint(pipeline, run)

    async def evaluate(request: Request, principal: Principal) -> dict[str, Any]:
        body = validate(EvaluateRequest, parse_json_body(await body_reader(request, max_body_bytes)()))
        org_id, project_id = principal.org_id, principal.project_id
        if principal.superuser:
            if body.org_id is None:
                raise GatewayError(
                    400, "The master key must name an org_id.", param="org_id", code="invalid_value"
                )
            org_id, project_id = body.org_id, body.project_id
        elif body.org_id not in (None, org_id) or body.project_id not in (None, project_id):
            raise not_found("No such organisation or project for this API key.", code="not_found")
        assert org_id is not None
        policy = await governance.resolver.effective(org_id, project_id)
        verdict = await governance.evaluator.evaluate(policy, body.text, lang=body.lang)
        return {**asdict(verdict), "policy": policy.name, "policy_version": policy.version}

    async def review(request: Request, principal: Principal) -> dict[str, Any]:
        review_id = request.path_params["review_id"]
        try:
            item = await anyio.to_thread.run_sync(governance.reviews.store.get, review_id, principal.org_id)
        except NotFound:
            item = None
        mine = item is not None and (
            principal.superuser
            or (principal.key_id is not None and item.requester_key_id == principal.key_id)
            or (principal.user_id is not None and item.requester_user_id == principal.user_id)
        )
        if item is None or not mine:
            raise not_found(f"No review {review_id!r} for this API key.", code="not_found")
        return {
            "id": item.id,
            "object": "review",
            "status": item.status,
            "rule_id": item.rule_id,
            "category": item.category,
            "rationale": item.rationale,
            "reason": item.reason if item.status in ("rejected", "expired") else None,
            "created_at": item.created_at.isoformat(),
            "decided_at": item.decided_at.isoformat() if item.decided_at else None,
            "completed_at": item.completed_at.isoformat() if item.completed_at else None,
            "result": orjson.loads(item.response_body) if item.response_body else None,
            "error": orjson.loads(item.error) if item.error else None,
        }

    return [
        Route("/v1/policy/evaluate", endpoint(evaluate), methods=["POST"]),
        Route("/v1/reviews/{review_id}", endpoint(review), methods=["GET"]),
    ]
