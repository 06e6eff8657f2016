"""The shared normalised view: NFKC for matching, offsets that still point into what the user sent."""

from __future__ import annotations

import re
import unicodedata

import pytest

from sekisho.guardrails.text import Text


@pytest.mark.parametrize(
    ("original", "needle"),
    [
        ("電話は０９０－１２３４－５６７８です", "090-1234-5678"),
        ("ｶﾞｲﾄﾞ: ｽﾄｱ", "ガイド"),
        ("㍿山田商事の山田", "株式会社山田商事"),
        ("cafe\u0301 au lait", "café"),
        ("①番の窓口", "1番"),
        ("ＳＥＣＲＥＴ＝abc", "SECRET=abc"),
        ("前置き😀😀 ０１２０－１２３－４５６", "0120-123-456"),
        ("ㄱㅏ 한국어", "가"),
    ],
)
def test_a_match_in_norm_maps_back_to_the_original_text(original: str, needle: str) -> None:
    text = Text(original)
    assert text.norm == unicodedata.normalize("NFKC", original)
    match = re.search(re.escape(needle), text.norm)
    assert match is not None
    start, end = text.span(*match.span())
    assert unicodedata.normalize("NFKC", original[start:end]) == needle


def test_ascii_and_already_normal_text_share_offsets() -> None:
    assert Text("plain ascii").identity
    assert Text("山田太郎さん、こんにちは。").identity


def test_every_output_character_maps_into_the_original() -> None:
    original = "ｱｲｳｴｵ㌔㍻１２３ｶﾞ" * 50 + "e\u0301\u0302" + "\u0301" * 3
    text = Text(original)
    for i in range(len(text.norm)):
        start, end = text.span(i, i + 1)
        assert 0 <= start < end <= len(original)


def test_kana_folds_katakana_and_case_without_moving_offsets() -> None:
    text = Text("ﾊﾟｽﾜｰﾄﾞ と PassWord")
    assert text.kana == "ぱすわーど と password"
    assert len(text.kana) == len(text.norm)


@pytest.mark.parametrize(
    "original",
    [
        "\u0301" * 10_000,  # marks with nothing to attach to
        "a" + "\u0301" * 10_000,
        "\U000e0041" * 5_000,  # invisible tag characters
        "\ufeff\u200b" * 5_000,
        "\ud7ff\ue000\uffff" * 1_000,
    ],
)
def test_pathological_unicode_is_handled(original: str) -> None:
    text = Text(original)
    assert text.norm == unicodedata.normalize("NFKC", original)
    start, end = text.span(0, len(text.norm))
    assert (start, end) == (0, len(original))


@pytest.mark.timeout(30)  # a hang guard, not a speed claim: quadratic work on 1 MB takes hours
def test_one_megabyte_prompt_finishes_with_exact_offsets() -> None:
    unit = "全角ＡＢＣと半角ｶﾀｶﾅ、㍿を含む行です。\n"
    original = unit * 40_000
    text = Text(original)
    assert text.norm == unicodedata.normalize("NFKC", original)
    last = text.norm.rindex("株式会社")
    start, end = text.span(last, last + 4)
    assert original[start:end] == "㍿"
