"""Apply a compiled policy to a text: phrase rules, the offline classifier, optionally an LLM.

Every source proposes a verdict and the strictest wins, so adding an LLM classifier can only make
the policy stricter, never let through what the offline classifier stopped. A classifier that fails
(times out, answers nonsense) is not a pass: its ``on_error`` decision stands in, ``review`` by default.
"""

from __future__ import annotations

import asyncio
import logging
from typing import Protocol

import anyio

from sekisho.policy.compile import CompiledPolicy, fold, strictness
from sekisho.policy.document import LlmClassifier
from sekisho.policy.verdict import NONE, CategoryPrediction, PolicyDecision, Verdict

log = logging.getLogger("sekisho.policy")
# Longer texts go to a worker thread whole: even the cheap stage is linear in their length.
_INLINE_CHARS = 4_000


class CategoryClassifier(Protocol):
    """The offline classifier (``sekisho.policy.local``)."""

    def predict(self, text: str) -> CategoryPrediction:
        """The likeliest category of ``text``."""
        ...


class LlmResult(Protocol):
    """What the bring-your-own-policy classifier answers (``sekisho.policy.byo.ByoResult``)."""

    @property
    def violation(self) -> bool: ...
    @property
    def category(self) -> str | None: ...
    @property
    def rule_ids(self) -> tuple[str, ...]: ...
    @property
    def confidence(self) -> float: ...
    @property
    def rationale(self) -> str: ...


class LlmPolicyClassifier(Protocol):
    """Classifies a text against a policy text with a model."""

    async def classify(
        self, policy_text: str, content: str, *, policy_version: str | None = None
    ) -> LlmResult:
        """The model's verdict."""
        ...


class LlmClassifierFactory(Protocol):
    """Makes the LLM classifier for a model named in a policy."""

    def __call__(self, model: str) -> LlmPolicyClassifier:
        """A classifier asking ``model``."""
        ...


def language_of(text: str) -> str:
    """``ja`` when the text has kana or kanji, else ``en``: picks the language of rationales."""
    for ch in text[:2000]:
        if "\u3040" <= ch <= "\u30ff" or "\u4e00" <= ch <= "\u9fff":
            return "ja"
    return "en"


class PolicyEvaluator:
    """Turns (policy, text) into a Verdict."""

    def __init__(self, local: CategoryClassifier | None, llm: LlmClassifierFactory | None = None) -> None:
        self._local = local
        self._llm = llm

    async def evaluate(self, policy: CompiledPolicy, text: str, *, lang: str | None = None) -> Verdict:
        """The strictest verdict of every source the policy enables."""
        lang = "ja" if (lang or language_of(text)).startswith("ja") else "en"
        if not text.strip():
            return Verdict("allow", None, None, _NO_RULE[lang], 1.0, source="none")
        candidates = self._match(policy, text, lang)
        prediction: CategoryPrediction | None = None
        if policy.classifier.local and self._local is not None:
            prediction = await self._predict(text)
            verdict = self._from_prediction(policy, prediction, lang)
            if verdict is not None:
                candidates.append(verdict)
        if policy.classifier.llm is not None and self._llm is not None:
            candidates.append(await self._ask_llm(policy, policy.classifier.llm, text, lang))
        if not candidates:
            category = prediction.category if prediction and prediction.category != NONE else None
            confidence = prediction.confidence if prediction else 1.0
            return Verdict("allow", category, None, _NO_RULE[lang], round(confidence, 4), source="none")
        return max(candidates, key=lambda v: (strictness(v.decision), v.confidence))

    def _match(self, policy: CompiledPolicy, text: str, lang: str) -> list[Verdict]:
        if not policy.matchers:
            return []
        folded = fold(text)
        return [
            Verdict(
                m.rule.decision,
                m.rule.category,
                m.rule.id,
                m.rule.text("rationale", lang) or m.rule.text("title", lang),
                1.0,
                source="pattern",
            )
            for m in policy.matchers
            if m.hits(folded, text)
        ]

    async def _predict(self, text: str) -> CategoryPrediction:
        assert self._local is not None
        cheap = getattr(self._local, "predict_cheap", None)  # optional: a classifier with a cheap stage
        if cheap is not None and len(text) <= _INLINE_CHARS:
            answer: CategoryPrediction | None = cheap(text)
            if answer is not None:
                return answer  # sure without the embedding: inline, cheaper than a thread hop
        # When the cheap stage is unsure the classifier embeds the text (tens of milliseconds), which
        # must not stall every other request on the event loop.
        return await anyio.to_thread.run_sync(self._local.predict, text)

    def _from_prediction(
        self, policy: CompiledPolicy, prediction: CategoryPrediction, lang: str
    ) -> Verdict | None:
        if prediction.category == NONE or prediction.confidence < policy.classifier.min_confidence:
            return None
        rule = policy.by_category.get(prediction.category)
        if rule is None:
            return None
        rationale = rule.text("rationale", lang) or rule.text("title", lang)
        if prediction.signals:
            rationale = f"{rationale} ({'; '.join(prediction.signals[:3])})"
        return Verdict(
            rule.decision, prediction.category, rule.id, rationale, round(prediction.confidence, 4)
        )

    async def _ask_llm(
        self, policy: CompiledPolicy, settings: LlmClassifier, text: str, lang: str
    ) -> Verdict:
        assert self._llm is not None
        try:
            result = await asyncio.wait_for(
                self._llm(settings.model).classify(
                    policy.policy_text(lang), text, policy_version=policy.digest
                ),
                settings.timeout_seconds,
            )
        except Exception as exc:  # timeouts, unparseable answers, upstream errors: all fail the same way
            log.warning("policy LLM classifier %s failed: %s", settings.model, type(exc).__name__)
            return Verdict(settings.on_error, None, None, _LLM_FAILED[lang], 0.0, source="fallback")
        if not result.violation:
            return Verdict("allow", result.category, None, result.rationale[:500], result.confidence, "llm")
        rule = next((policy.by_id[r] for r in result.rule_ids if r in policy.by_id), None)
        decision: PolicyDecision = rule.decision if rule else settings.violation_decision
        return Verdict(
            decision,
            (rule.category if rule else None) or result.category,
            rule.id if rule else (result.rule_ids[0] if result.rule_ids else None),
            result.rationale[:500] or (rule.text("rationale", lang) if rule else ""),
            result.confidence,
            source="llm",
        )


_NO_RULE = {"en": "No rule of the usage policy applies.", "ja": "利用ポリシーの規則に該当しません。"}
_LLM_FAILED = {
    "en": "The policy classifier could not decide; the request falls back to the policy's on_error decision.",
    "ja": "ポリシー分類器が判定できなかったため、ポリシーの on_error の判断を適用しました。",
}
