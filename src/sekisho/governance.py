"""The usage-policy and review objects the admin API and the gateway share (built in ``app.py``)."""

from __future__ import annotations

from dataclasses import dataclass

from fastapi import Request

from sekisho.guardrails.engine import GuardrailEngine
from sekisho.policy.evaluate import PolicyEvaluator
from sekisho.policy.resolver import PolicyResolver
from sekisho.policy.store import PolicyStore
from sekisho.review.service import ReviewService


@dataclass(frozen=True, slots=True)
class Governance:
    """Policy store and resolver, evaluator, review service; the guardrail engine for redacted views."""

    policies: PolicyStore
    resolver: PolicyResolver
    evaluator: PolicyEvaluator
    reviews: ReviewService
    guardrails: GuardrailEngine | None


def governance_of(request: Request) -> Governance:
    """FastAPI dependency: the app's Governance."""
    governance: Governance = request.app.state.governance
    return governance
