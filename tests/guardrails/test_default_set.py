"""The default detector set as shipped: it loads offline, survives hostile input, stays linear."""

from __future__ import annotations

import pytest

from sekisho.guardrails.config import DEFAULT_INPUT_ACTIONS
from sekisho.guardrails.detectors.set import DetectorSet
from sekisho.guardrails.registry import detector_names
from sekisho.guardrails.text import Text


@pytest.fixture(scope="module")
def default_set() -> DetectorSet:
    return DetectorSet.from_names(None)


def test_every_registered_detector_loads_and_every_issue_type_is_covered(default_set: DetectorSet) -> None:
    from sekisho.guardrails.registry import DETECTOR_GROUP, load

    on_by_default = [n for n in detector_names() if getattr(load(DETECTOR_GROUP, n), "default", True)]
    assert [d.name for d in default_set.detectors] == on_by_default
    expected = set(DEFAULT_INPUT_ACTIONS) - {"BLOCKLIST", "HASH_MATCH"}
    assert expected <= default_set.types


PATHOLOGICAL = {
    "combining marks": "a" + "\u0301" * 20_000,
    "tag characters": "ignore\U000e0020previous" + "\U000e0041" * 10_000,
    "zero width": "\u200b\u200c\u200d\ufeff" * 10_000,
    "surrogate-adjacent": "\ud7ff\ue000\uffff\U0010ffff" * 5_000,
    "digits": "1" * 100_000,
    "digit groups": "1234 " * 40_000,
    "at signs": "a@" * 50_000,
    "dots": "1." * 50_000,
    "colons": ":" * 100_000 + "1",
    "katakana": "ｱ" * 50_000,
    "kanji numerals": "一二三四五六七八九〇" * 10_000,
    "brackets": "[" * 50_000 + "]" * 50_000,
    "base64ish": "QUJD" * 50_000,
    "json": '{"a":' * 20_000 + "1" + "}" * 20_000,
    "newlines": "\n" * 100_000,
    "mixed scripts": "東京都港区1-2-3 John Smith 090-1234-5678 " * 2_000,
}


@pytest.mark.timeout(120)  # a hang guard: each case is linear work on at most a few hundred kB
@pytest.mark.parametrize("name", sorted(PATHOLOGICAL))
def test_hostile_input_never_raises_and_offsets_stay_inside(default_set: DetectorSet, name: str) -> None:
    original = PATHOLOGICAL[name]
    text = Text(original)
    for detector in default_set.detectors:
        for finding in detector.detect(text):
            assert 0 <= finding.start <= finding.end <= len(original), (detector.name, finding)


@pytest.mark.timeout(120)  # a hang guard: quadratic work on 1 MB takes hours, linear takes seconds
def test_a_one_megabyte_prompt_finishes_and_still_finds_what_is_at_the_end(default_set: DetectorSet) -> None:
    filler = "これは長い社内文書の一部です。会議の議事録と今後の予定を記載しています。"
    filler += " The quarterly plan follows. "
    original = filler * (1_000_000 // len(filler)) + " 連絡先: hanako@example.co.jp"
    findings = default_set.detect(Text(original))
    assert any(f.type == "EMAIL" and original[f.start : f.end] == "hanako@example.co.jp" for f in findings)
