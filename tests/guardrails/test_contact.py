"""E-mail addresses and telephone numbers (Japanese and international)."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.contact import EmailDetector, PhoneDetector
from sekisho.guardrails.text import Text

FULL = str.maketrans({chr(c): chr(c + 0xFEE0) for c in range(0x21, 0x7F)})


def spans(detector: EmailDetector | PhoneDetector, text: str, threshold: float = 0.5) -> list[str]:
    return [text[f.start : f.end] for f in detector.detect(Text(text)) if f.score >= threshold]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("mail taro.yamada@example.co.jp today", ["taro.yamada@example.co.jp"]),
        ("Mail me at a.b+tag@sub.example.com.", ["a.b+tag@sub.example.com"]),
        ("連絡先はtaro@example.jpまでお願いします", ["taro@example.jp"]),
        ("user@例え.jp", ["user@例え.jp"]),
        ("x@münchen.de, y@xn--mnchen-3ya.de", ["x@münchen.de", "y@xn--mnchen-3ya.de"]),
        ("<José.García@correo.es>", ["José.García@correo.es"]),
        ("first@a.io second@b.io", ["first@a.io", "second@b.io"]),
    ],
)
def test_email_positive(text: str, expected: list[str]) -> None:
    assert spans(EmailDetector(), text) == expected


@pytest.mark.parametrize(
    "text",
    [
        "icon@2x.png",
        "a@b",
        "foo@bar.c",
        "john..doe@x.com",
        "@handle on twitter",
        "price 3@5 each",
        "user@localhost",
    ],
)
def test_email_negative(text: str) -> None:
    assert spans(EmailDetector(), text) == []


def test_email_full_width_offsets_point_into_the_original() -> None:
    text = "メール：" + "taro@example.jp".translate(FULL) + "です"
    found = EmailDetector().detect(Text(text))
    assert [(f.start, f.end) for f in found] == [(4, 4 + len("taro@example.jp"))]
    assert text[found[0].start : found[0].end] == "ｔａｒｏ＠ｅｘａｍｐｌｅ．ｊｐ"


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("電話は090-1234-5678です", "090-1234-5678"),
        ("携帯 080-1234-5678", "080-1234-5678"),
        ("070 1234 5678", "070 1234 5678"),
        ("060-1234-5678", "060-1234-5678"),
        ("IP電話 050-1234-5678", "050-1234-5678"),
        ("代表 03-1234-5678", "03-1234-5678"),
        ("大阪 06-6123-4567", "06-6123-4567"),
        ("藤沢 0466-12-3456", "0466-12-3456"),
        ("フリーダイヤル 0120-123-456", "0120-123-456"),
        ("0800-123-4567", "0800-123-4567"),
        ("ナビダイヤル 0570-064-556", "0570-064-556"),
        ("(03)1234-5678", "(03)1234-5678"),
        ("+81 90-1234-5678", "+81 90-1234-5678"),
        ("+81-3-1234-5678", "+81-3-1234-5678"),
        ("090ー1234ー5678", "090ー1234ー5678"),
        ("Call (415) 555-2671 now", "(415) 555-2671"),
        ("+1 415-555-2671", "+1 415-555-2671"),
        ("415.555.2671 ext. 12", "415.555.2671 ext. 12"),
        ("555-123-4567x123", "555-123-4567x123"),
        ("001-415-555-2671", "001-415-555-2671"),
        ("+44 20 7946 0958", "+44 20 7946 0958"),
        ("+44 (0)20 7946 0958", "+44 (0)20 7946 0958"),
        ("Tel: 020 7946 0958", "020 7946 0958"),
        ("phone: 4155552671", "4155552671"),
        # National numbers of other countries, written without "+".
        ("mobile: 9472 7916", "9472 7916"),
        ("Tel. 06-8/788 0573", "06-8/788 0573"),
        ("phone 078 8098 1119", "078 8098 1119"),
        ("078 8098 1119", "078 8098 1119"),
        ("Ring me back: (02) 9514 5475", "(02) 9514 5475"),
        ("☎ (0498)-263891", "(0498)-263891"),
        ("Reach me on 0412 345 678 (mobile)", "0412 345 678"),
        ("(+358) 40 1234567", "(+358) 40 1234567"),
        ("TEL 881 512 964", "881 512 964"),
        ("Phone number: 882 553 701", "882 553 701"),
        ("電話番号 06 01 92 40", "06 01 92 40"),
        ("Phone:\n98770742", "98770742"),
    ],
)
def test_phone_positive(text: str, expected: str) -> None:
    assert spans(PhoneDetector(), text) == [expected]


@pytest.mark.parametrize(
    "text",
    [
        "on 2024-01-15 at 10:30",
        "2024/01/15",
        "IP 192.168.100.200",
        "card 4111 1111 1111 1111",
        "ISBN 978-4-87311-778-2",
        "ISBN 0-306-40615-2",
        "total 1,234,567 yen",
        "version 1.2.3.4.5",
        "order 4155552671",
        "注文番号 09012345678",
        "金額 12,800円",
        "品番 123-4567-890",
        "時刻 12:34:56",
        "1234567",
        "3.14159265",
        # Dates with times, IBAN tails, postal codes, bank accounts and labelled numbers near a phone word.
        "[2022-10-02 14:45] お客様より",
        "[24.03.2021 20:26] note added",
        "Transfer to IBAN NL21 ABNA 0384 9006 44 by Friday.",
        "電話で確認しました。\n振込先はゆうちょ銀行 16100-65465841 です。",
        "Call the office about order 73-2455-6184.",
        "Phone bill: € 1 234 567",
        "We sold 0 123 456 units",
        "Contact us about SKU 0123 4567 89",
        "Call me, I paid 1,234,567 yen",
        "Reference 660-2234500, ticket 660-2234500",
        "Mobile plans from 2024 onwards cost 19990 yen",
    ],
)
def test_phone_negative(text: str) -> None:
    assert spans(PhoneDetector(), text) == []


def test_phone_full_width_offsets_point_into_the_original() -> None:
    text = "携帯：" + "080-1234-5678".translate(FULL)
    found = PhoneDetector().detect(Text(text))
    assert [(f.start, f.end) for f in found] == [(3, len(text))]


def test_phone_bare_digits_score_by_context() -> None:
    bare = PhoneDetector().detect(Text("09012345678"))
    cued = PhoneDetector().detect(Text("電話 09012345678"))
    assert bare and cued and bare[0].score < cued[0].score


def test_phone_numbers_of_unknown_countries_score_lower() -> None:
    assessed = PhoneDetector().detect(Text("mobile: 9472 7916"))
    assert [round(f.score, 2) for f in assessed] == [0.65]
    bare = PhoneDetector().detect(Text("078 8098 1119"))
    assert [round(f.score, 2) for f in bare] == [0.6]


def test_phone_word_on_an_earlier_line_is_not_a_cue() -> None:
    # Seven digits in the shape of a Japanese postal code: a phone only with a phone word on its line.
    assert spans(PhoneDetector(), "電話 123-4567") == ["123-4567"]
    assert spans(PhoneDetector(), "電話します。\n受付 123-4567") == []
    text = "電話は050-3894-3584だよ\n【お届け先】〒221-1032"
    assert spans(PhoneDetector(), text) == ["050-3894-3584"]


def test_phone_regions_are_configurable() -> None:
    assert spans(PhoneDetector(regions=("US",), cue_regions=()), "代表 03-1234-5678") == []
    assert spans(PhoneDetector(regions=("JP",), cue_regions=()), "(415) 555-2671") == [
        "(415) 555-2671"
    ]  # shape


def test_phone_linear_on_a_long_digit_run() -> None:
    text = "1-" * 50_000 + "x"
    assert PhoneDetector().detect(Text(text)) == []


@pytest.mark.parametrize(
    ("text", "address"),
    [
        ("mail yui_ito@example.com now", "yui_ito@example.com"),
        ("連絡先はtaro_y@example.jp", "taro_y@example.jp"),
        ("a.b+c_d@ex-ample.co.jp", "a.b+c_d@ex-ample.co.jp"),
    ],
)
def test_email_local_parts_keep_their_underscores(text: str, address: str) -> None:
    found = EmailDetector().detect(Text(text))
    assert [text[f.start : f.end] for f in found] == [address]
