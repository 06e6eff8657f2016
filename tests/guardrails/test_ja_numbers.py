"""マイナンバー, 法人番号, passport, driver's licence and residence card numbers."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.ja_numbers import (
    CorporateNumberDetector,
    JapaneseIdDetector,
    MyNumberDetector,
    corporate_number_valid,
    drivers_licence_valid,
    my_number_valid,
)
from sekisho.guardrails.text import Text

FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def values(detector: object, text: str, threshold: float = 0.5) -> list[tuple[str, str]]:
    found = detector.detect(Text(text))  # type: ignore[attr-defined]
    return [(f.type, text[f.start : f.end]) for f in found if f.score >= threshold]


@pytest.mark.parametrize(
    ("digits", "valid"),
    [("123456789018", True), ("123456789010", False), ("000000000000", True), ("111111111118", True)],
)
def test_my_number_check_digit(digits: str, valid: bool) -> None:
    assert my_number_valid(digits) is valid


@pytest.mark.parametrize(
    ("digits", "valid"),
    # 国税庁's published example (法人番号 of 国税庁 itself: 7000012050002) and a one-digit change.
    [("7000012050002", True), ("8000012050002", False), ("1000000000000", False)],
)
def test_corporate_number_check_digit(digits: str, valid: bool) -> None:
    assert corporate_number_valid(digits) is valid


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("マイナンバー：123456789018", ["123456789018"]),
        ("個人番号 1234 5678 9018 を提出", ["1234 5678 9018"]),
        ("個人番号は1234-5678-9018です", ["1234-5678-9018"]),
        ("マイナンバー：" + "1234 5678 9018".translate(FULL), ["1234 5678 9018".translate(FULL)]),
        ("1234 5678 9018", ["1234 5678 9018"]),  # grouped like a card, no context: kept, lower score
        ("マイナンバー：123456789010", []),  # wrong check digit
        ("注文番号123456789018", []),  # valid by chance, but an order number
        ("伝票番号：1234-5678-9018", []),
        ("マイナンバー：1234567890181", []),  # 13 digits
        ("運転免許証 301234567890 は", []),  # licence context: not a マイナンバー
        ("IBAN DE89 3704 0044 0532 0130 00", []),  # a digit group inside a longer number
        ("2024-01-15 の注文", []),
    ],
)
def test_my_number(text: str, expected: list[str]) -> None:
    assert [v for _, v in values(MyNumberDetector(), text)] == expected


def test_my_number_scores_context_above_bare() -> None:
    with_context = MyNumberDetector().detect(Text("マイナンバー 123456789018"))
    bare = MyNumberDetector().detect(Text("番号 123456789018"))
    assert with_context[0].score >= 0.85 > bare[0].score


def test_offsets_map_to_original_with_full_width() -> None:
    text = "ｶﾞｲﾄﾞ：個人番号は" + "123456789018".translate(FULL) + "です"
    [finding] = MyNumberDetector().detect(Text(text))
    assert text[finding.start : finding.end] == "123456789018".translate(FULL)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("法人番号：7000012050002", ["7000012050002"]),
        ("登録番号 T7000012050002", ["7000012050002"]),
        ("法人番号 7-0000-1205-0002", ["7-0000-1205-0002"]),
        ("法人番号：8000012050002", []),
        ("JANコード 4901234567894", []),
        ("7000012050002", []),  # no context: below the threshold
    ],
)
def test_corporate_number(text: str, expected: list[str]) -> None:
    assert [v for _, v in values(CorporateNumberDetector(), text)] == expected


def licence(head: str, reissue: str = "0") -> str:
    total = sum(int(d) * w for d, w in zip(head, (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    return head + str((11 - total % 11) % 10) + reissue


def test_licence_check_digit() -> None:
    # The worked example published with the algorithm: 4598033587 → check digit 2.
    assert licence("4598033587") == "459803358720"
    assert drivers_licence_valid("459803358720")
    assert not drivers_licence_valid("459803358730")
    assert not drivers_licence_valid(licence("0998033587"))  # 09 is no 公安委員会


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        (f"運転免許証番号：{licence('3012123456')}", [("DRIVERS_LICENSE", licence("3012123456"))]),
        (f"免許証 第{licence('6205000123', '1')}号", [("DRIVERS_LICENSE", licence("6205000123", "1"))]),
        (f"driver's license {licence('4598033587')}", [("DRIVERS_LICENSE", licence("4598033587"))]),
        ("運転免許証番号：459803358730", []),
        (f"注文番号 {licence('3012123456')}", []),
        ("パスポート番号：TK1234567", [("PASSPORT", "TK1234567")]),
        ("旅券番号 ＭＵ７６５４３２１", [("PASSPORT", "ＭＵ７６５４３２１")]),
        ("Passport No. TR0000001", [("PASSPORT", "TR0000001")]),
        ("品番 TK1234567 の在庫", []),
        ("在留カード番号 AB12345678CD", [("RESIDENCE_CARD", "AB12345678CD")]),
        ("番号 XY87654321ZZ を確認", [("RESIDENCE_CARD", "XY87654321ZZ")]),
        ("品番 XY87654321ZZ を確認", []),
    ],
)
def test_japanese_ids(text: str, expected: list[tuple[str, str]]) -> None:
    assert values(JapaneseIdDetector(), text) == expected


def test_one_megabyte_is_linear() -> None:
    text = Text("注文番号123456789018、マイナンバー1234 5678 9018。" * 25_000)
    assert len(MyNumberDetector().detect(text)) == 50_000
    assert JapaneseIdDetector().detect(text) == []


def test_script_check_is_shared() -> None:
    from sekisho.guardrails.detectors.ja_numbers import has_japanese

    english, japanese = Text("Order 123456789012 shipped"), Text("注文番号 123456789012")
    assert not has_japanese(english) and has_japanese(japanese)
    # One scan per text, kept for every detector that asks.
    assert english.shared("_sekisho_has_japanese", lambda t: True) is False
