"""Person names in English and other Latin-script text."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.en_person import EnglishPersonDetector
from sekisho.guardrails.text import Text

# The hand-written rules (model=False); the tagger that is the default has its own tests in test_en_ner.py.
DETECTOR = EnglishPersonDetector(model=False)


def spans(text: str, threshold: float = 0.5) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(Text(text)) if f.score >= threshold]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Dear John Smith, thanks for your order.", ["John Smith"]),
        ("My name is Jukka Virtanen.", ["Jukka Virtanen"]),
        ("Please ask Mr. O'Brien about it.", ["O'Brien"]),
        ("Contact Dr. Hiroshi Tanaka at the clinic.", ["Hiroshi Tanaka"]),
        ("Pieter van der Berg and Mary-Jane Watson met.", ["Pieter van der Berg", "Mary-Jane Watson"]),
        ("John F. Kennedy was president.", ["John F. Kennedy"]),
        ("I spoke with Maria yesterday.", ["Maria"]),
        ("Regards,\nEmily", ["Emily"]),
        ("Thanks, Sven", ["Sven"]),
        ("Hi Anna,", ["Anna"]),
        ("Louis said the build is green.", ["Louis"]),
        ("Sydney Anderson asked for a refund.", ["Sydney Anderson"]),
        ("I forwarded it to April Hernandez.", ["April Hernandez"]),
        ("Cardholder: Zofia Wiśniewska", ["Zofia Wiśniewska"]),
        ("The patient, José Álvarez, arrived.", ["José Álvarez"]),
        ("Signed, Kowalczyk", ["Kowalczyk"]),
    ],
)
def test_person_positive(text: str, expected: list[str]) -> None:
    assert spans(text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "The Johnson LLC office is on 123 Smith Road.",
        "She lives in Lake Jessicaville, Georgia.",
        "Will you come on May 5?",
        "The meeting with Acme Corp. ended.",
        "Our company, Evans, Sherman and Phillips, was founded in 1990.",
        "Fouquet Denis SA opened an office.",
        "It is a lovely town in West Samantha.",
        "Ship it to 20, rue Joséphine Gaillard, Paris.",
        "Avenida de Roberto Núñez 73 is closed.",
        "We met in Paris on Monday.",
        "Hope this helps, and thanks.",
        pytest.param(
            "Late fees and Grace periods apply.",
            marks=pytest.mark.xfail(
                reason="known weakness: a common given name that is also a word", strict=True
            ),
        ),
        "The Python Software Foundation released Python 3.12.",
        "日本語のテキストです。山田太郎さん",
        "all lower case text with john smith in it",
        "Jan 5 is the deadline.",
    ],
)
def test_person_negative(text: str) -> None:
    assert spans(text) == []


def test_person_offsets_with_full_width_text_before() -> None:
    text = "（担当：" + "Dear Emily Clarke"
    found = DETECTOR.detect(Text(text))
    assert [text[f.start : f.end] for f in found] == ["Emily Clarke"]


def test_person_titles_and_cues_raise_the_score() -> None:
    plain = DETECTOR.detect(Text("I met Emily Clarke today."))
    cued = DETECTOR.detect(Text("I met Dr. Emily Clarke today."))
    assert plain[0].score < cued[0].score


def test_person_single_name_score_is_configurable() -> None:
    rules = EnglishPersonDetector(single_name_score=0.4, model=False)
    found = rules.detect(Text("I spoke with Maria yesterday."))
    assert [f.score for f in found] == [0.4]


def test_person_long_input_is_linear() -> None:
    text = "John Smith and Mary Jones went to Paris. " * 20_000
    found = DETECTOR.detect(Text(text))
    assert len(found) == 40_000
