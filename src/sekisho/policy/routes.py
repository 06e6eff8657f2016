"""The policy admin API under /admin/v1/policies: save, history, diff, rollback, effective, test.

Owners and admins change policies; auditors and reviewers read them. A document is validated before
it is stored (an invalid one is a 400 naming the key and the problem, and nothing is saved).
"""

from __future__ import annotations

from dataclasses import asdict
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Depends, Query
from pydantic import BaseModel, ConfigDict, Field

from sekisho.admin.deps import PolicyManager, PolicyReader, Services, in_thread, org_scope
from sekisho.gateway.errors import GatewayError
from sekisho.governance import Governance, governance_of
from sekisho.policy.compile import Layer, compile_layers
from sekisho.policy.document import PolicyError, parse_policy
from sekisho.policy.store import PolicyVersion
from sekisho.policy.testing import Example, run_tests

Gov = Annotated[Governance, Depends(governance_of)]


class PolicyIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str = Field(min_length=1, max_length=1_000_000, description="The YAML document.")
    project_id: str | None = Field(None, description="Save for this project (default: the organisation).")
    comment: str | None = Field(None, max_length=500)
    org_id: str | None = Field(None, description="Only for the master key: the organisation.")


class RollbackIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    version: int = Field(ge=1)
    project_id: str | None = None
    org_id: str | None = None


class TestIn(BaseModel):
    model_config = ConfigDict(extra="forbid")
    source: str | None = Field(None, description="A draft document (default: the policy in force).")
    prompts: list[str] = Field(default_factory=list, max_length=200)
    project_id: str | None = None
    org_id: str | None = None


def policy_router() -> APIRouter:
    """Routes of the policy admin API."""
    router = APIRouter(prefix="/admin/v1/policies", tags=["policies"])

    @router.get("")
    async def history(
        caller: PolicyReader,
        services: Services,
        gov: Gov,
        project_id: str | None = None,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        versions = await in_thread(lambda: gov.policies.history(org, project_id))
        return {"object": "list", "data": [_out(v, source=False) for v in versions]}

    @router.post("", status_code=201)
    async def save(body: PolicyIn, caller: PolicyManager, services: Services, gov: Gov) -> dict[str, Any]:
        org = org_scope(caller, body.org_id, services)
        try:
            parse_policy(body.source)  # validated here too, so the error names the policy, not a value
        except PolicyError as exc:
            raise GatewayError(400, f"Invalid policy: {exc}", param="source", code="invalid_policy") from None
        version = await in_thread(
            lambda: gov.policies.save(
                org, body.project_id, body.source, author=caller.actor, comment=body.comment
            )
        )
        gov.resolver.invalidate(org)
        return _out(version, source=True)

    @router.get("/versions/{version}")
    async def get_version(
        version: int,
        caller: PolicyReader,
        services: Services,
        gov: Gov,
        project_id: str | None = None,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        return _out(await in_thread(lambda: gov.policies.get(org, project_id, version)), source=True)

    @router.get("/diff")
    async def diff(
        caller: PolicyReader,
        services: Services,
        gov: Gov,
        from_version: Annotated[int, Query(alias="from", ge=1)],
        to_version: Annotated[int, Query(alias="to", ge=1)],
        project_id: str | None = None,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        text = await in_thread(lambda: gov.policies.diff(org, project_id, from_version, to_version))
        return {"from": from_version, "to": to_version, "diff": text}

    @router.post("/rollback", status_code=201)
    async def rollback(
        body: RollbackIn, caller: PolicyManager, services: Services, gov: Gov
    ) -> dict[str, Any]:
        org = org_scope(caller, body.org_id, services)
        version = await in_thread(
            lambda: gov.policies.rollback(org, body.project_id, body.version, author=caller.actor)
        )
        gov.resolver.invalidate(org)
        return _out(version, source=True)

    @router.get("/effective")
    async def effective(
        caller: PolicyReader,
        services: Services,
        gov: Gov,
        project_id: str | None = None,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        org = org_scope(caller, org_id, services)
        policy = await gov.resolver.effective(org, project_id)
        return {
            "name": policy.name,
            "version": policy.version,
            "classifier": policy.classifier.model_dump(),
            "review": policy.review.model_dump(),
            "rules": [r.model_dump(exclude_none=True) for r in policy.rules],
        }

    @router.post("/test")
    async def test(body: TestIn, caller: PolicyReader, services: Services, gov: Gov) -> dict[str, Any]:
        org = org_scope(caller, body.org_id, services)
        if body.source is not None:
            try:
                document = parse_policy(body.source)
            except PolicyError as exc:
                raise GatewayError(
                    400, f"Invalid policy: {exc}", param="source", code="invalid_policy"
                ) from None
            layers = await anyio.to_thread.run_sync(gov.policies.layers, org, None)
            scope = (
                [*layers, Layer(document, "draft", body.source)]
                if body.project_id
                else [Layer(document, "draft", body.source)]
            )
            policy = compile_layers(scope)
            examples: list[Example] = [(t.text, t.expect, t.rule_id) for t in document.tests]
        else:
            policy = await gov.resolver.effective(org, body.project_id)
            examples = []
        examples += [(p, None, None) for p in body.prompts]
        results = await run_tests(gov.evaluator, policy, examples)
        return {"policy": policy.name, "version": policy.version, "results": [asdict(r) for r in results]}

    return router


def _out(version: PolicyVersion, *, source: bool) -> dict[str, Any]:
    out = {
        "id": version.id,
        "org_id": version.org_id,
        "project_id": version.project_id,
        "version": version.version,
        "sha256": version.sha256,
        "author": version.author,
        "comment": version.comment,
        "created_at": version.created_at.isoformat(),
    }
    if source:
        out["source"] = version.source
    return out
