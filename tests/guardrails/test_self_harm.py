"""SELF_HARM detector: the Detector protocol over ``sekisho.crisis.assess``."""

from __future__ import annotations

from sekisho.guardrails.base import Detector
from sekisho.guardrails.detectors.self_harm import SELF_HARM, SelfHarmDetector
from sekisho.guardrails.text import Text

DETECTOR = SelfHarmDetector()


def test_protocol() -> None:
    detector: Detector = DETECTOR
    assert detector.name == "self_harm"
    assert detector.types == frozenset({SELF_HARM})


def test_findings_point_into_the_original_text() -> None:
    text = "ＯＫ、でも本当はもう　ｼﾆﾀｲ。今夜やる"
    findings = DETECTOR.detect(Text(text))
    assert findings and all(f.type == SELF_HARM and f.detector == "self_harm" for f in findings)
    assert "ｼﾆﾀｲ" in [text[f.start : f.end] for f in findings]
    assert all(f.score >= 0.9 for f in findings)  # imminent


def test_crisis_is_above_and_concern_below_the_default_bar() -> None:
    crisis = DETECTOR.detect(Text("I want to die."))
    assert crisis and all(0.5 <= f.score < 0.9 for f in crisis)
    concern = DETECTOR.detect(Text("Everything feels pointless."))
    assert concern and all(f.score < 0.5 for f in concern)
    assert SelfHarmDetector(include_concern=False).detect(Text("Everything feels pointless.")) == []


def test_idioms_and_empty_text_give_nothing() -> None:
    for text in ("", "   ", "死ぬほど忙しい", "This bug is killing me.", "kill the process"):
        assert DETECTOR.detect(Text(text)) == []
