"""``POST /v1/guardrails/scan`` and ``POST /v1/moderations``: the guardrails as a service.

Both authenticate like the rest of /v1 (the master key works) and apply the caller's scope: an
organisation's overrides decide the actions here exactly as on the chat path.
"""

from __future__ import annotations

import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sekisho.gateway.call import Call
from sekisho.gateway.errors import GatewayError, bad_request
from sekisho.gateway.pipeline import Pipeline, parse_json_body
from sekisho.gateway.routes import body_reader, json_endpoint
from sekisho.gateway.schemas import validate
from sekisho.guardrails.base import ScanContext
from sekisho.guardrails.engine import GuardrailEngine, ScanReport, Segment
from sekisho.guardrails.redact import Pseudonymizer

# OpenAI's moderation categories. Sekisho classifies self-harm (the crisis detector, SELF_HARM) and
# no other harm yet: the rest are reported, honestly, as not flagged with a score of 0, so OpenAI
# clients parse the answer; ours are added beside them.
OPENAI_CATEGORIES = (
    "harassment",
    "harassment/threatening",
    "hate",
    "hate/threatening",
    "illicit",
    "illicit/violent",
    "self-harm",
    "self-harm/intent",
    "self-harm/instructions",
    "sexual",
    "sexual/minors",
    "violence",
    "violence/graphic",
)
_FAMILY = {"SECRET": "secrets", "PROMPT_INJECTION": "prompt_injection", "BLOCKLIST": "blocklist"}
# Our finding types that answer OpenAI's own categories.
_OPENAI = {"SELF_HARM": ("self-harm", "self-harm/intent")}


class ScanRequest(BaseModel):
    """The body of /v1/guardrails/scan."""

    model_config = ConfigDict(extra="forbid")
    text: str
    guardrails: list[str] | None = Field(None, description="Detector/guardrail names or finding types.")
    direction: str = Field("input", pattern="^(input|output)$")


class ModerationRequest(BaseModel):
    """The body of /v1/moderations (OpenAI's shape; ``model`` is accepted and ignored)."""

    model_config = ConfigDict(extra="allow")
    input: str | list[str]
    model: str | None = None


def guard_routes(pipeline: Pipeline, *, max_body_bytes: int) -> list[Route]:
    """The routes, bound to the pipeline's authenticator and guardrail engine."""

    def endpoint(
        handler: Callable[[Call, GuardrailEngine, dict[str, Any]], Awaitable[dict[str, Any]]],
    ) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request, call: Call) -> dict[str, Any]:
            engine = pipeline.stages.guard_input.engine
            if engine is None:
                raise GatewayError(
                    503, "Guardrails are disabled on this gateway.", type="api_error", code="disabled"
                )
            body = parse_json_body(await body_reader(request, max_body_bytes)())
            return await handler(call, engine, body)

        return json_endpoint(pipeline, run)

    return [
        Route("/v1/guardrails/scan", endpoint(_scan), methods=["POST"]),
        Route("/v1/moderations", endpoint(_moderate), methods=["POST"]),
    ]


def _scope(call: Call, engine: GuardrailEngine, direction: str = "input") -> tuple[Any, ScanContext]:
    principal = call.principal
    org = principal.org_slug if principal else None
    project = principal.project_slug if principal else None
    context = ScanContext(
        direction="output" if direction == "output" else "input",
        org=org,
        project=project,
        request_id=call.request_id,
    )
    return engine.rules(org, project), context


async def _scan(call: Call, engine: GuardrailEngine, body: dict[str, Any]) -> dict[str, Any]:
    request = validate(ScanRequest, body)
    only = None
    if request.guardrails is not None:
        known = set(engine.names) | engine.types
        unknown = [g for g in request.guardrails if g not in known]
        if unknown:
            raise bad_request(
                f"Unknown guardrail {unknown[0]!r}; known: {', '.join(sorted(known))}.",
                param="guardrails",
                code="unknown_guardrail",
            )
        only = set(request.guardrails)
    rules, context = _scope(call, engine, request.direction)
    started = time.perf_counter()
    report = await engine.scan([Segment("text", request.text)], context, rules, only=only)
    elapsed = (time.perf_counter() - started) * 1000
    redact = report.outcome.by_action.get("redact", [])
    return {
        "verdict": report.decision,
        "findings": [
            {**loc.finding.as_dict(), "action": rules.action(loc.finding.type, context.direction)}
            for loc in report.located
        ],
        "redacted_text": Pseudonymizer().redact(request.text, redact) if redact else request.text,
        "checks": report.checks,
        "failed": sorted(set(report.failures)),
        "elapsed_ms": round(elapsed, 3),
    }


async def _moderate(call: Call, engine: GuardrailEngine, body: dict[str, Any]) -> dict[str, Any]:
    request = validate(ModerationRequest, body)
    inputs = [request.input] if isinstance(request.input, str) else request.input
    if not inputs:
        raise bad_request("input must not be empty.", param="input", code="invalid_value")
    rules, context = _scope(call, engine)
    results = []
    for text in inputs:
        report = await engine.scan([Segment("input", text)], context, rules)
        results.append(_moderation_result(report, engine))
    return {"id": f"modr-{secrets.token_hex(12)}", "model": "sekisho-guardrails", "results": results}


def _moderation_result(report: ScanReport, engine: GuardrailEngine) -> dict[str, Any]:
    categories: dict[str, bool] = dict.fromkeys(OPENAI_CATEGORIES, False)
    scores: dict[str, float] = dict.fromkeys(OPENAI_CATEGORIES, 0.0)
    for family in ("pii", "secrets", "prompt_injection", "blocklist", "hash_match"):
        categories[family] = False
        scores[family] = 0.0
    for finding_type in sorted(engine.types - _OPENAI.keys()):
        key = f"{_family(finding_type)}/{finding_type.lower()}"
        if _family(finding_type) != finding_type.lower():
            categories[key] = False
            scores[key] = 0.0
    harm = False
    for loc in report.located:
        family = _family(loc.finding.type)
        keys = _OPENAI.get(loc.finding.type) or (family, f"{family}/{loc.finding.type.lower()}")
        harm = harm or loc.finding.type in _OPENAI
        for key in keys:
            if key in categories:
                categories[key] = True
                scores[key] = max(scores[key], round(loc.finding.score, 4))
    return {
        "flagged": harm or report.decision in ("block", "review"),
        "categories": categories,
        "category_scores": scores,
        "sekisho": {
            "verdict": report.decision,
            "findings": [loc.finding.as_dict() for loc in report.located],
        },
    }


def _family(finding_type: str) -> str:
    return _FAMILY.get(finding_type, "hash_match" if finding_type == "HASH_MATCH" else "pii")
