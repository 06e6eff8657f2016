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
        # A bare code before an address: after a colon, 7 digits, before a city with no prefecture.
        ("配送先：206-7962 東京都港区赤坂1-2-3", ["206-7962"]),
        ("配送先：２０６－７９６２　東京都港区", ["２０６－７９６２"]),
        ("本社 1000005 東京都千代田区丸の内1-1", ["1000005"]),
        ("652-4490 札幌市中央区大通西6丁目", ["652-4490"]),
        ("〒 530-0001", ["530-0001"]),
        # Shaped like a postal code, but a part, order or time.
        ("部品番号：123-4567 東京都内で使用", []),
        ("注文番号 1234567 東京都", []),
        ("受付 10:123-4567 東京都", []),
        ("TEL 03-1234-5678 東京都", []),
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
        # Hiragana towns, with or without the prefecture.
        ("沖縄県那覇市おもろまち4丁目1-1です", ["沖縄県那覇市おもろまち4丁目1-1"]),
        ("那覇市おもろまち4丁目1-1", ["那覇市おもろまち4丁目1-1"]),
        ("札幌市北区あいの里2-6-1", ["札幌市北区あいの里2-6-1"]),
        # A city with no prefecture needs block numbers.
        ("つくば市竹園8丁目9番20号（転居）", ["つくば市竹園8丁目9番20号"]),
        ("本社は松本市にあります", []),
        # Building names without a building word, 番地の, a floor after the building word.
        ("東京都港区南青山1-2-3 グランメゾン青山 203", ["東京都港区南青山1-2-3 グランメゾン青山 203"]),
        (
            "東京都江東区豊洲3-2-1パークアクシス豊洲1203号室",
            ["東京都江東区豊洲3-2-1パークアクシス豊洲1203号室"],
        ),
        ("東京都武蔵野市境209番地の9-1008です", ["東京都武蔵野市境209番地の9-1008"]),
        ("川崎市川崎区砂子九丁目17-7 ニュービル 5F", ["川崎市川崎区砂子九丁目17-7 ニュービル 5F"]),
        # What follows block numbers is not a room: a phone, a date, a count.
        ("東京都港区六本木1-2-3 TEL 0312345678", ["東京都港区六本木1-2-3"]),
        ("大阪府大阪市北区梅田1-2-3 2024年4月1日", ["大阪府大阪市北区梅田1-2-3"]),
        ("横浜市中区はおよそ3000人", []),
        ("東京都港区にある3つの店舗", ["東京都港区"]),
        ("大阪府大阪市の2か所", ["大阪府大阪市"]),  # prefecture and city only: a location
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


def test_many_cities_are_linear() -> None:
    text = Text("横浜市中区本町1-2 つくば市竹園3-4 〒100-0005 " * 30_000)
    assert len(JapaneseAddressDetector().detect(text)) == 60_000


def test_one_megabyte_is_linear() -> None:
    text = Text("東京都港区六本木1-2-3 〒100-0005 " * 40_000)
    assert len(JapaneseAddressDetector().detect(text)) == 40_000
    assert len(PostalCodeDetector().detect(text)) == 40_000
