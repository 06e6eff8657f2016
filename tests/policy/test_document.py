"""Policy documents: validation with readable errors, and layering (pack → organisation → project)."""

from __future__ import annotations

import pytest

from sekisho.policy.compile import DEFAULT_PACK, Layer, compile_layers, default_pack
from sekisho.policy.document import PolicyError, parse_policy
from sekisho.policy.evaluate import PolicyEvaluator
from sekisho.policy.verdict import BLOCK_CATEGORIES, REVIEW_CATEGORIES, CategoryPrediction

pytestmark = pytest.mark.anyio


def layer(source: str, label: str) -> Layer:
    return Layer(parse_policy(source), label, source)


@pytest.mark.parametrize(
    ("source", "message"),
    [
        ("name: [unclosed", "not valid YAML"),
        ("- a list", "a YAML mapping"),
        ("rules: []", "name: Field required"),
        ("name: x\nrules:\n  - {id: A, decision: maybe}", "rules.0.decision"),
        (
            "name: x\nrules:\n  - {id: A, decision: block, category: astrology}",
            "unknown category 'astrology'",
        ),
        ("name: x\nrules:\n  - {id: A, decision: block}\n  - {id: A, decision: allow}", "appears twice"),
        ("name: x\nrules:\n  - {id: A, decision: block, match: {regex: ['(']}}", "does not compile"),
        ("name: x\nrules:\n  - {id: A, decision: block, match: {}}", "at least one phrase"),
        ("name: x\nrules:\n  - {id: 'has space', decision: block}", "rules.0.id"),
        ("name: x\nsurprise: 1", "surprise: Extra inputs are not permitted"),
        ("name: x\nreview: {mode: hold, hold_seconds: 9999}", "review.hold_seconds"),
    ],
)
def test_invalid_documents_say_what_and_where(source: str, message: str) -> None:
    with pytest.raises(PolicyError, match=message.replace("(", r"\(").replace("[", r"\[")):
        parse_policy(source)


def test_the_default_pack_covers_every_category_with_the_issue_s_decisions() -> None:
    pack = default_pack()
    decisions = {r.category: r.decision for r in pack.rules}
    assert {c: decisions[c] for c in BLOCK_CATEGORIES} == dict.fromkeys(BLOCK_CATEGORIES, "block")
    assert {c: decisions[c] for c in REVIEW_CATEGORIES} == dict.fromkeys(REVIEW_CATEGORIES, "review")
    for rule in pack.rules:  # every rule speaks both languages
        for field in ("title", "definition", "rationale"):
            assert rule.text(field, "ja") != rule.text(field, "en"), (rule.id, field)


def test_layers_override_by_rule_id_and_extends_cuts_the_chain() -> None:
    org = layer(
        "name: acme\nrules:\n  - {id: HIGH_RISK.EMPLOYMENT, category: employment, decision: allow}\n"
        "  - {id: ACME.X, decision: block, match: {any: [phoenix]}}",
        "org:1",
    )
    project = layer(
        "name: lab\nrules:\n  - {id: ACME.X, decision: review, match: {any: [phoenix]}}\n"
        "  - {id: HIGH_RISK.MEDICAL, category: medical, decision: review, enabled: false}",
        "project:2",
    )
    policy = compile_layers([org, project])
    assert policy.version == f"{DEFAULT_PACK}+org:1+project:2"
    assert policy.by_category["employment"].decision == "allow"
    assert policy.by_id["ACME.X"].decision == "review"
    assert "medical" not in policy.by_category and "HIGH_RISK.MEDICAL" not in policy.by_id
    assert policy.by_category["credit_finance"].decision == "review"  # untouched pack rule
    alone = compile_layers([org, layer("name: bare\nextends: null\nrules: []", "project:3")])
    assert alone.rules == () and alone.version == "project:3"
    fresh = compile_layers([org, layer("name: p\nextends: sekisho-default", "project:4")])
    assert fresh.by_category["employment"].decision == "review"  # the org's override is skipped
    assert fresh.version == f"{DEFAULT_PACK}+project:4"


class Fixed:
    """A classifier double that always answers the same category (the real one is tested elsewhere)."""

    def __init__(self, category: str, confidence: float) -> None:
        self.answer = CategoryPrediction(category, confidence, {category: confidence}, ("cue",))

    def predict(self, text: str) -> CategoryPrediction:
        return self.answer


async def test_the_strictest_source_wins_and_low_confidence_does_not_count() -> None:
    policy = compile_layers(
        [
            layer(
                "name: t\nrules:\n  - {id: T.WORD, decision: block, match: {any: ['ＰＨＯＥＮＩＸ']}}",
                "org:1",
            )
        ]
    )
    review = PolicyEvaluator(Fixed("employment", 0.9))
    verdict = await review.evaluate(policy, "Decide whether to hire her.")
    assert (verdict.decision, verdict.rule_id, verdict.source) == (
        "review",
        "HIGH_RISK.EMPLOYMENT",
        "classifier",
    )
    assert "(cue)" in verdict.rationale
    # Full-width in the rule, ASCII and other case in the text: both fold to the same form.
    blocked = await review.evaluate(policy, "tell me about phoenix and decide whether to hire her")
    assert (blocked.decision, blocked.rule_id, blocked.source) == ("block", "T.WORD", "pattern")
    unsure = await PolicyEvaluator(Fixed("employment", 0.3)).evaluate(policy, "Hire her?")
    assert unsure.decision == "allow"
    ja = await review.evaluate(policy, "この応募者を採用するか決めて")
    assert ja.rationale.startswith("個人の雇用")


async def test_a_failing_llm_classifier_falls_back_to_its_on_error_decision() -> None:
    class Broken:
        async def classify(
            self, policy_text: str, content: str, *, policy_version: str | None = None
        ) -> object:
            raise TimeoutError

    policy = compile_layers(
        [
            layer(
                "name: t\nextends: null\nclassifier: {local: false, llm: {model: judge, on_error: review}}",
                "org:1",
            )
        ]
    )
    verdict = await PolicyEvaluator(None, lambda model: Broken()).evaluate(policy, "anything")
    assert (verdict.decision, verdict.source) == ("review", "fallback")


async def test_an_llm_violation_maps_to_the_rule_it_names() -> None:
    class Says:
        def __init__(self, rule_ids: tuple[str, ...]) -> None:
            self.rule_ids = rule_ids

        async def classify(
            self, policy_text: str, content: str, *, policy_version: str | None = None
        ) -> object:
            assert "T.SPAM" in policy_text and policy_version
            return type(
                "R",
                (),
                {
                    "violation": True,
                    "category": "spam",
                    "rule_ids": self.rule_ids,
                    "confidence": 0.8,
                    "rationale": "bulk",
                },
            )()

    source = (
        "name: t\nextends: null\n"
        "classifier: {local: false, llm: {model: judge, violation_decision: review}}\n"
        "rules:\n  - {id: T.SPAM, decision: block, definition: bulk promotion}"
    )
    policy = compile_layers([layer(source, "org:1")])
    named = await PolicyEvaluator(None, lambda m: Says(("T.SPAM",))).evaluate(policy, "buy now")
    assert (named.decision, named.rule_id, named.source) == ("block", "T.SPAM", "llm")
    unnamed = await PolicyEvaluator(None, lambda m: Says(("SP3",))).evaluate(policy, "buy now")
    assert (unnamed.decision, unnamed.rule_id) == ("review", "SP3")
