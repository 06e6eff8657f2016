"""Run a policy over example prompts: ``sekisho policy test`` and ``POST /admin/v1/policies/test``."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

from sekisho.policy.compile import CompiledPolicy
from sekisho.policy.evaluate import PolicyEvaluator


@dataclass(frozen=True, slots=True)
class TestResult:
    """One example: what the policy decided and whether that is what was expected."""

    text: str
    decision: str
    rule_id: str | None
    category: str | None
    confidence: float
    source: str
    rationale: str
    expected: str | None
    passed: bool | None  # None when no decision was expected


Example = tuple[str, str | None, str | None]
"""(text, expected decision or None, expected rule id or None)."""


async def run_tests(
    evaluator: PolicyEvaluator, policy: CompiledPolicy, examples: Sequence[Example]
) -> list[TestResult]:
    """Evaluate every example in order."""
    results = []
    for text, expected, rule_id in examples:
        verdict = await evaluator.evaluate(policy, text)
        passed = None
        if expected is not None:
            passed = verdict.decision == expected and (rule_id is None or verdict.rule_id == rule_id)
        results.append(
            TestResult(
                text=text,
                decision=verdict.decision,
                rule_id=verdict.rule_id,
                category=verdict.category,
                confidence=verdict.confidence,
                source=verdict.source,
                rationale=verdict.rationale,
                expected=expected,
                passed=passed,
            )
        )
    return results
