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
        # No honorific: a verb that wants a person (「と会う」「から電話」), and names joined by と.
        ("田中と会う", ["田中"]),
        ("佐藤から電話があった", ["佐藤"]),
        ("佐藤と長尾が出張中です。", ["佐藤", "長尾"]),
        ("弊社担当の西園寺が伺います。", ["西園寺"]),
        ("市場と話し合いました", []),  # a surname only under another reading
        ("東京と大阪に会社がある", []),
        ("本社から連絡があった", []),
        # Katakana or hiragana values after a reading label, and not the label itself.
        ("フリガナ：ヤマダ タロウ", ["ヤマダ タロウ"]),
        ("ふりがな　やまだ　たろう", ["やまだ　たろう"]),
        ("お名前（カナ）：サトウ ハナコ", ["サトウ ハナコ"]),
        ("カナ氏名　サトウタカシ　生年月日　1990年1月1日", ["サトウタカシ"]),
        # A reading after the honorific.
        ("山下 隆様（やました たかし）より", ["山下 隆", "やました たかし"]),
        ("岩崎修さん（イワサキオサム）が来社", ["岩崎修", "イワサキオサム"]),
        # One-kanji surnames before an honorific or title, alone or in a self-introduction.
        ("林さん、関さん", ["林", "関"]),
        ("担当の堀です。", ["堀"]),
        ("谷部長と沖課長が同席します。", ["谷", "沖"]),
        ("単価は3,000円です。", []),  # a one-kanji word against a number
        ("お疲れさまです。受付時間も同様です。", []),
        # Lists after a label, and labels of other forms.
        ("出席者：田中、鈴木、佐藤", ["田中", "鈴木", "佐藤"]),
        ("代表 柴田 亮", ["柴田 亮"]),
        ("大西千尋 様\nTEL 03-1234-5678", ["大西千尋"]),
    ],
)
def test_person(text: str, expected: list[str]) -> None:
    assert values(text) == expected


def test_english_text_costs_nothing() -> None:
    assert DETECTOR.detect(Text("Dear Mr. Tanaka, thanks for the call. Regards, Sato")) == []


def test_repetitive_text_is_read_once() -> None:
    # The same window recurs 10,000 times; each distinct one goes to Sudachi once.
    text = Text("林さんと関さん、出席者：山田、鈴木、佐藤。" * 10_000)
    assert len(DETECTOR.detect(text)) == 50_000


def test_long_text_is_linear() -> None:
    text = Text("いつもお世話になっております。山田様へのご連絡です。" * 20_000)
    assert len(DETECTOR.detect(text)) == 20_000
