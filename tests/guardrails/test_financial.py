"""Payment card numbers (issuer prefix, length, Luhn) and US Social Security numbers."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.financial import CreditCardDetector, UsSsnDetector, luhn_ok
from sekisho.guardrails.text import Text

FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def spans(detector: CreditCardDetector | UsSsnDetector, text: str, threshold: float = 0.5) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(Text(text)) if f.score >= threshold]


@pytest.mark.parametrize(
    ("digits", "ok"),
    [("4111111111111111", True), ("4111111111111112", False), ("378282246310005", True), ("0", True)],
)
def test_luhn(digits: str, ok: bool) -> None:
    assert luhn_ok(digits) is ok


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("card 4111 1111 1111 1111 ok", "4111 1111 1111 1111"),
        ("Visa: 4111-1111-1111-1111.", "4111-1111-1111-1111"),
        ("4111111111111111", "4111111111111111"),
        ("Mastercard 5555 5555 5555 4444", "5555 5555 5555 4444"),
        ("Mastercard 2223 0031 2200 3222", "2223 0031 2200 3222"),
        ("amex 3782 822463 10005", "3782 822463 10005"),
        ("AMEX 371449635398431", "371449635398431"),
        ("Discover 6011 1111 1111 1117", "6011 1111 1111 1117"),
        ("JCB 3530 1113 3330 0000", "3530 1113 3330 0000"),
        ("Diners 3056 930902 5904", "3056 930902 5904"),
        ("UnionPay 6200 0000 0000 0005", "6200 0000 0000 0005"),
        ("カード番号：4111 1111 1111 1111", "4111 1111 1111 1111"),
        ("Visa 4222222222222", "4222222222222"),
    ],
)
def test_card_positive(text: str, expected: str) -> None:
    assert spans(CreditCardDetector(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "order 4111111111111112",  # Luhn fails
        "1234 5678 9012 3456",  # no issuer starts with 1
        "4111 1111-1111 1111",  # mixed separators
        "0000 0000 0000 0000",
        "tracking 9400111899223197428490",  # too long
        "4111 1111 1111 1111 1111 1",  # part of a longer digit run
        "v4111111111111111",
        "ISBN 9784873117782",
        "phone 090-1234-5678",
        "account 123456789012",  # 12 digits without a card word
    ],
)
def test_card_negative(text: str) -> None:
    assert spans(CreditCardDetector(), text) == []


def test_card_full_width_offsets_point_into_the_original() -> None:
    card = "4111-1111-1111-1111".translate(FULL)
    text = "カード：" + card + "です"
    found = CreditCardDetector().detect(Text(text))
    assert [(f.start, f.end) for f in found] == [(4, 4 + len(card))]


def test_card_context_raises_the_score() -> None:
    bare = CreditCardDetector().detect(Text("4111111111111111"))
    cued = CreditCardDetector().detect(Text("credit card 4111111111111111"))
    assert bare[0].score < cued[0].score


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("SSN 123-45-6788", ["123-45-6788"]),
        ("her social security number is 536-22-1234.", ["536-22-1234"]),
        ("536-22-1234", ["536-22-1234"]),
        ("SSN: 536221234", ["536221234"]),
        ("ssn 536 22 1234", ["536 22 1234"]),
    ],
)
def test_ssn_positive(text: str, expected: list[str]) -> None:
    assert spans(UsSsnDetector(), text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "000-12-3456",  # area 000
        "666-12-3456",  # area 666
        "912-12-3456",  # area 9xx
        "123-00-4567",  # group 00
        "123-45-0000",  # serial 0000
        "078-05-1120",  # the Woolworth wallet card
        "536221234",  # nine bare digits, no cue
        "zip 12345-6789",
        "2024-01-15",
        "tel 03-1234-5678",
        "ref 536-22-1234-9",
    ],
)
def test_ssn_negative(text: str) -> None:
    assert spans(UsSsnDetector(), text) == []


def test_ssn_offsets_with_full_width_digits() -> None:
    ssn = "536-22-1234".translate(FULL)
    text = "SSNは" + ssn
    found = UsSsnDetector().detect(Text(text))
    assert [(f.start, f.end) for f in found] == [(4, len(text))]
