"""Postal codes and Japanese addresses."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.ja_address import JapaneseAddressDetector, PostalCodeDetector
from sekisho.guardrails.text import Text


def values(detector: object, text: str) -> list[str]:
    found = detector.detect(Text(text))  # type: ignore[attr-defined]
    return [text[f.start : f.end] for f in found if f.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("〒100-0005 東京都千代田区", ["100-0005"]),
        ("〒1000005", ["1000005"]),
        ("〒１００－０００５", ["１００－０００５"]),
        ("郵便番号：530-0001", ["530-0001"]),
        ("住所 150-0001 東京都渋谷区神宮前1-2-3", ["150-0001"]),
        ("電話 045-123-4567", []),
        ("090-1234-5678", []),
        ("品番 123-4567 の部品", []),
        ("2024-01-15", []),
        ("1000005 件", []),
    ],
)
def test_postal_code(text: str, expected: list[str]) -> None:
    assert values(PostalCodeDetector(), text) == expected


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("〒100-0005 東京都千代田区丸の内1-2-3 丸の内ビル5階", ["東京都千代田区丸の内1-2-3 丸の内ビル5階"]),
        ("大阪府大阪市北区梅田三丁目1番3号です", ["大阪府大阪市北区梅田三丁目1番3号"]),
        ("住所は北海道札幌市中央区北一条西2丁目1-1です", ["北海道札幌市中央区北一条西2丁目1-1"]),
        (
            "神奈川県横浜市中区山下町1番地 ハイツ山下203号室に住む",
            ["神奈川県横浜市中区山下町1番地 ハイツ山下203号室"],
        ),
        ("東京渋谷区道玄坂2-10-7へ", ["東京渋谷区道玄坂2-10-7"]),
        ("横浜市中区本町６－５０－１", ["横浜市中区本町６－５０－１"]),
        ("東京都千代田区一番町2-3", ["東京都千代田区一番町2-3"]),
        (
            "長野県松本市中央1丁目2-3 さくらマンション101号室",
            ["長野県松本市中央1丁目2-3 さくらマンション101号室"],
        ),
        ("東京都港区六本木に住んでいます", ["東京都港区六本木"]),
        ("東京都港区六本木1-2-3にある本社ビル", ["東京都港区六本木1-2-3"]),
        ("東京駅から大阪出張", []),
        ("京都大学と東京都庁", []),
        ("千葉さんと山口さん", []),
        ("横浜市の天気", []),
        ("大阪府内の市町村", []),
    ],
)
def test_address(text: str, expected: list[str]) -> None:
    assert values(JapaneseAddressDetector(), text) == expected


def test_english_text_costs_nothing() -> None:
    assert JapaneseAddressDetector().detect(Text("123 Main Street, Springfield")) == []


def test_one_megabyte_is_linear() -> None:
    text = Text("東京都港区六本木1-2-3 〒100-0005 " * 40_000)
    assert len(JapaneseAddressDetector().detect(text)) == 40_000
    assert len(PostalCodeDetector().detect(text)) == 40_000
