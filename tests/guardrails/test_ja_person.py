"""Japanese personal names."""

from __future__ import annotations

import pytest

from sekisho.guardrails.detectors.ja_person import JapanesePersonDetector
from sekisho.guardrails.text import Text

DETECTOR = JapanesePersonDetector()


def values(text: str) -> list[str]:
    return [text[f.start : f.end] for f in DETECTOR.detect(Text(text)) if f.score >= 0.5]


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("山田太郎様", ["山田太郎"]),
        ("営業部の田中部長に確認します", ["田中"]),
        ("佐々木 真由美さん、こんにちは", ["佐々木 真由美"]),
        ("株式会社サンプルの鈴木です。", ["鈴木"]),
        ("高橋と申します", ["高橋"]),
        ("氏名：渡辺 一郎\n", ["渡辺 一郎"]),
        ("担当：中村", ["中村"]),
        ("担当：橋本が対応します", ["橋本"]),  # a particle is not a kana given name
        ("山田太郎（やまだたろう）様", ["山田太郎", "やまだたろう"]),
        ("千葉さんと平野教授", ["千葉", "平野"]),  # surnames that are also place names
        ("太田　愛です。", ["太田　愛"]),
        ("ｻﾄｳさん", ["ｻﾄｳ"]),  # half-width katakana, offsets into the original
        ("お客様、皆様、大家さん", []),
        ("山田商事様、ソニーさん", []),
        ("大阪様", []),
        ("東京駅で待ち合わせ", []),
        ("Mr. Smith", []),
    ],
)
def test_person(text: str, expected: list[str]) -> None:
    assert values(text) == expected


def test_long_text_is_linear() -> None:
    text = Text("いつもお世話になっております。山田様へのご連絡です。" * 20_000)
    assert len(DETECTOR.detect(text)) == 20_000
