"""The decide stage: usage policy → allow, block or hold for a person; crisis → a caring answer.

What is judged is the newest user message — the request being made now. Earlier turns are context
the policy has already judged when they were new. (Tool results and documents are the guardrails'
business: indirect injection is theirs, not the usage policy's.)
"""

from __future__ import annotations

import logging
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from typing import Any

from sekisho.gateway.call import Call
from sekisho.gateway.errors import GatewayError
from sekisho.gateway.review_gate import ReviewGate
from sekisho.policy.evaluate import PolicyEvaluator, language_of
from sekisho.policy.resolver import PolicyResolver
from sekisho.policy.verdict import Verdict

log = logging.getLogger("sekisho.policy")

RecordViolation = Callable[[Call, Verdict], Awaitable[str | None]]
"""Counts a blocked request against its key and user; returns a message when that triggered an action."""

CrisisCheck = Callable[[Call, str], Awaitable[dict[str, Any] | None]]
"""Returns Sekisho's own caring answer for a message in crisis, or None."""


@dataclass(frozen=True, slots=True)
class PolicyParts:
    """What the decide stage needs to apply usage policy."""

    resolver: PolicyResolver
    evaluator: PolicyEvaluator
    reviews: ReviewGate | None = None
    record_violation: RecordViolation | None = None


class Decide:
    """Runs after input guardrails; may answer the call itself, raise, or hold it for review."""

    def __init__(self, policy: PolicyParts | None = None, crisis: CrisisCheck | None = None) -> None:
        self.policy = policy
        self.crisis = crisis

    async def __call__(self, call: Call) -> None:
        if call.endpoint != "chat.completions":
            return  # embeddings carry no request to act on
        text = last_user_text(call.body)
        if self.crisis is not None and text:
            call.canned = await self.crisis(call, text)
            if call.canned is not None:
                return
        if self.policy is None:
            if call.guard_review:
                raise _review_unavailable(call)
            return
        principal, _model = call.who()
        assert principal.org_id is not None
        policy = await self.policy.resolver.effective(principal.org_id, principal.project_id)
        verdict = await self.policy.evaluator.evaluate(policy, text)
        approvals = 1
        if verdict.rule_id is not None and verdict.rule_id in policy.by_id:
            approvals = policy.by_id[verdict.rule_id].approvals
        if verdict.decision == "allow":
            verdict = _forced_review(call, verdict, principal.review_all)
        call.verdict = verdict
        call.decision = verdict.decision
        if verdict.decision == "block":
            notice = None
            if self.policy.record_violation is not None:
                notice = await self.policy.record_violation(call, verdict)
            raise _policy_blocked(verdict, text, notice)
        if verdict.decision == "review":
            if self.policy.reviews is None:
                raise _review_unavailable(call)
            await self.policy.reviews.hold(call, verdict, policy.review, approvals=approvals)


def _forced_review(call: Call, verdict: Verdict, review_all: bool) -> Verdict:
    """Reviews that do not come from the policy's rules: guardrail findings, an enforcement action."""
    if call.guard_review:
        types = ",".join(call.guard_review)
        return Verdict(
            "review", None, f"GUARDRAIL.{types}", f"Guardrails asked for review of {types}.", 1.0, "guardrail"
        )
    if review_all:
        return Verdict(
            "review",
            None,
            "ENFORCEMENT.REVIEW_ALL",
            "Every request of this API key is reviewed after earlier policy violations.",
            1.0,
            "enforcement",
        )
    return verdict


def _policy_blocked(verdict: Verdict, text: str, notice: str | None) -> GatewayError:
    ja = language_of(text) == "ja"
    message = (
        f"利用ポリシーによりブロックされました（{verdict.rule_id}）：{verdict.rationale}"
        if ja
        else f"The request was blocked by the usage policy ({verdict.rule_id}): {verdict.rationale}"
    )
    if notice:
        message = f"{message} {notice}"
    return GatewayError(
        400,
        message,
        code="policy_blocked",
        extra={"rule_id": verdict.rule_id, "category": verdict.category},
    )


def _review_unavailable(call: Call) -> GatewayError:
    return GatewayError(
        403,
        "The request needs human review, and the review queue is not enabled on this gateway, "
        "so it was not let through.",
        type="permission_error",
        code="review_required",
    )


def last_user_text(body: dict[str, Any]) -> str:
    """The text of the newest user message (text parts joined)."""
    for message in reversed(body.get("messages") or []):
        if not isinstance(message, dict) or message.get("role") != "user":
            continue
        content = message.get("content")
        if isinstance(content, str):
            return content
        if isinstance(content, list):
            return "\n".join(
                p.get("text", "") for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
        return ""
    return ""
