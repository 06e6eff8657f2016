"""Japanese bank accounts, ゆうちょ and IBAN."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.bank import BankAccountDetector, iban_valid
from sekisho.guardrails.text import Text


def values(text: str) -> list[str]:
    return [text[f.start : f.end] for f in BankAccountDetector().detect(Text(text)) if f.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("振込先：みずほ銀行 渋谷支店 普通 1234567", ["1234567"]),
        ("三井住友銀行新宿支店 当座預金口座 7654321", ["7654321"]),
        ("口座番号：１２３４５６７", ["１２３４５６７"]),
        ("京都信用金庫 本店 1234567 へお振込みください", ["1234567"]),
        ("ゆうちょ銀行 記号12340 番号12345671", ["12340 番号12345671"]),
        ("ゆうちょ 12340-12345671", ["12340-12345671"]),
        ("IBAN DE89 3704 0044 0532 0130 00", ["DE89 3704 0044 0532 0130 00"]),
        ("IBAN: GB82WEST12345698765432.", ["GB82WEST12345698765432"]),
        ("IBAN DE89 3704 0044 0532 0130 01", []),  # wrong checksum
        ("注文番号 1234567", []),
        ("振込金額 1234567円", []),
        ("みずほ銀行でのお支払い、注文番号1234567", []),
        ("普通 1,234,567円", []),
        ("TEL 03-1234-5678", []),
        # Matched digits first at each run of digits; the context is read backwards from there.
        ("口座番号は 1234567 です", ["1234567"]),
        ("当座預金(本店) 7654321", ["7654321"]),
        ("口座番号 1234567.", ["1234567"]),
        ("口座 1234567.89", []),
        ("記号 12340、番号 12345671", ["12340、番号 12345671"]),
        ("みずほ銀行 渋谷支店 1234 1234567", ["1234567"]),  # after a space inside a digit run
        ("振込先 ¥1234567", []),
        ("支店コード 123-4567890", []),
        ("Please wire to account number 1234567.", ["1234567"]),
        ("Order 1234567 shipped", []),
    ],
)
def test_bank_account(text: str, expected: list[str]) -> None:
    assert values(text) == expected


def test_iban_check() -> None:
    assert iban_valid("DE89370400440532013000")
    assert not iban_valid("DE89370400440532013001")
    assert not iban_valid("DE8937040044053201300")  # one character short for Germany


def test_one_megabyte_is_linear() -> None:
    text = Text("みずほ銀行 渋谷支店 普通 1234567、注文番号7654321。" * 30_000)
    assert len(BankAccountDetector().detect(text)) == 30_000
