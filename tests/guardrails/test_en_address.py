"""Street addresses in English and other Latin-script text, as whole spans."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.en_address import EnglishAddressDetector
from sekisho.guardrails.text import Text

# The hand-written rules (model=False); the tagger that is the default has its own tests in test_en_ner.py.
DETECTOR = EnglishAddressDetector(model=False)
FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def spans(text: str, threshold: float = 0.5) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(Text(text)) if f.score >= threshold]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (
            "Ship to 1600 Pennsylvania Ave NW, Washington, DC 20500.",
            "1600 Pennsylvania Ave NW, Washington, DC 20500",
        ),
        (
            "Send it to 742 Evergreen Terrace, Springfield, IL 62704-1234 please",
            "742 Evergreen Terrace, Springfield, IL 62704-1234",
        ),
        ("123 Main St. Apt. 4B\nSpringfield, MA 01101", "123 Main St. Apt. 4B\nSpringfield, MA 01101"),
        (
            "I live at 221B Baker Street, London NW1 6XE, United Kingdom.",
            "221B Baker Street, London NW1 6XE, United Kingdom",
        ),
        ("She lives at 57 Myers Street. Call her.", "57 Myers Street"),
        ("Office: 12 Elm Rd. in town", "12 Elm Rd."),
        ("Flat 3\nKings Close\nOxford\nOX1 2JD", "Flat 3\nKings Close\nOxford\nOX1 2JD"),
        ("7/1 Beach Parade, Manly, NSW, 2095", "7/1 Beach Parade, Manly, NSW, 2095"),
        ("Hauptstraße 5, 10115 Berlin", "Hauptstraße 5, 10115 Berlin"),
        ("Karl-Marx-Allee 10/12\n10243 Berlin", "Karl-Marx-Allee 10/12\n10243 Berlin"),
        ("Mannerheimintie 12, 00100 Helsinki", "Mannerheimintie 12, 00100 Helsinki"),
        ("Keizersgracht 123, 1015 CJ Amsterdam", "Keizersgracht 123, 1015 CJ Amsterdam"),
        ("Via Roma 10, 00184 Roma (RM)", "Via Roma 10, 00184 Roma (RM)"),
        ("12, rue de la Paix, 75002 Paris", "12, rue de la Paix, 75002 Paris"),
        ("Calle de Alcalá, 23, 28014 Madrid", "Calle de Alcalá, 23, 28014 Madrid"),
        ("ul. Długa 5/7\n00-238 Warszawa", "ul. Długa 5/7\n00-238 Warszawa"),
        ("P.O. Box 42, Austin, TX 78701", "P.O. Box 42, Austin, TX 78701"),
        ("PSC 1234, Box 5678\nAPO AA 12345", "PSC 1234, Box 5678\nAPO AA 12345"),
        (
            "The address of Persint is 6750 Koskikatu 25 Apt. 864\nArtilleros\n, CO\n Uruguay 64677",
            "6750 Koskikatu 25 Apt. 864\nArtilleros\n, CO\n Uruguay 64677",
        ),
        ("Moved to Aspgatan 73, 21853 Alingsås last year.", "Aspgatan 73, 21853 Alingsås"),
    ],
)
def test_address_positive(text: str, expected: str) -> None:
    assert spans(text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "I have 3 big dogs and 2 cats.",
        "In 2024 Main Street was busy.",
        "Route 66 is long.",
        "During 2024 we grew.",
        "Spring 5 is the release.",
        "Chapter 12 covers Python 3.12 in depth.",
        "Order 12345 shipped on 2024-01-15 for $1,299.",
        "東京都千代田区丸の内1-2-3",
        "Version 10.2.13 was released.",
        "We need 4 more people.",
    ],
)
def test_address_negative(text: str) -> None:
    assert spans(text) == []


def test_address_does_not_swallow_a_form_label_on_the_next_line() -> None:
    text = "Address: 8588 Morgan Cliffs\nSnyderburgh, OR 86172\nPhone: 260-641-8122"
    assert spans(text) == ["8588 Morgan Cliffs\nSnyderburgh, OR 86172"]


def test_address_offsets_with_full_width_digits() -> None:
    text = "住所：" + "742".translate(FULL) + " Evergreen Terrace, Springfield"
    found = DETECTOR.detect(Text(text))
    assert [(f.start, f.end) for f in found] == [(3, len(text))]


def test_address_with_postal_code_scores_higher() -> None:
    street = DETECTOR.detect(Text("at 742 Evergreen Terrace today"))
    full = DETECTOR.detect(Text("at 742 Evergreen Terrace, Springfield, IL 62704"))
    assert street[0].score < full[0].score


def test_address_long_input_is_linear() -> None:
    text = "Send it to 742 Evergreen Terrace, Springfield, IL 62704. " * 10_000 + "1 " * 100_000
    assert len(DETECTOR.detect(Text(text))) == 10_000
