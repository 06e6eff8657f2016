"""Time the Japanese detectors (ja_numbers, ja_address, ja_person, bank) on three 2,000-character texts.

    python tests/data/ja_pii/speed.py

Texts: records of ``test.jsonl`` and of ``dev.jsonl`` joined up to 2,000 characters (packed with PII:
about 40 and 80 values), ordinary
Japanese business prose with a handful of names and numbers, and English business prose. Each timing
builds a fresh ``Text`` (so nothing cached by ``Text.shared`` carries over) but excludes normalisation
itself; the figure is the median over many runs, in milliseconds per 2,000 characters.
"""

from __future__ import annotations

import gc
import json
import statistics
import time
from pathlib import Path
from typing import Any

from sekisho.guardrails.detectors.bank import BankAccountDetector
from sekisho.guardrails.detectors.ja_address import JapaneseAddressDetector, PostalCodeDetector
from sekisho.guardrails.detectors.ja_numbers import (
    CorporateNumberDetector,
    JapaneseIdDetector,
    MyNumberDetector,
)
from sekisho.guardrails.detectors.ja_person import JapanesePersonDetector
from sekisho.guardrails.text import Text, warm_up

HERE = Path(__file__).resolve().parent
SIZE = 2000

BUSINESS = (
    "お疲れさまです。営業企画部の定例会議についてご報告します。今期の売上は前年同期比で一割ほど伸びており、"
    "特に法人向けの保守契約が好調でした。一方で、物流費の上昇により利益率はやや低下しています。来月からは"
    "新しい価格表を適用し、既存のお客様には担当者から個別にご案内する予定です。鈴木さんから提案のあった"
    "在庫管理システムの更新については、見積もりを三社から取り寄せたうえで再来週の会議で判断します。"
    "なお、年末年始の営業日は十二月二十八日までとし、一月五日から通常どおり営業いたします。問い合わせ窓口の"
    "受付時間も同様です。社内の研修制度についても見直しを進めており、若手社員向けの勉強会を月に一度開催する"
    "ことになりました。初回のテーマは契約書の読み方で、法務部の協力を得て資料を作成中です。参加を希望される"
    "方は今週中に総務までお知らせください。また、会議室の予約方法が変わりますので、添付の手順書をご確認の"
    "うえ、来週以降は新しい画面から予約をお願いします。ご不明な点があれば、情報システム部の田中までご連絡"
    "ください。最後に、先月実施したお客様アンケートの結果を共有します。回答数は三百件を超え、満足度は全体と"
    "して高い水準を維持していますが、納期の案内が分かりにくいというご意見が複数ありました。次回の会議までに"
    "改善案をまとめ、関係部署と調整したいと考えています。引き続きよろしくお願いいたします。"
)
ENGLISH = (
    "Hi team, following up on yesterday's planning meeting (ticket 4411-2299, order 12345678). "
    "Revenue for the quarter is up about ten percent year over year, driven mostly by enterprise "
    "support renewals, while shipping costs pushed margins down slightly. Starting next month we will "
    "roll out the new price list; account managers will contact existing customers individually. "
    "Please review the attached deck before Thursday and send comments to Sarah or to me at "
    "+1 415 555 0132. Invoice INV-2024-0042 for $12,400.00 is due 2024-12-20. The office will be "
    "closed from December 28 through January 4. We are also updating the onboarding program: the "
    "first session covers how to read a contract, prepared with help from legal. If you would like to "
    "join, reply by Friday. Finally, the customer survey got over 300 responses and satisfaction "
    "remains high, though several people found delivery estimates confusing. "
)


def _fill(base: str) -> str:
    return (base * (SIZE // len(base) + 1))[:SIZE]


def packed(split: str, most: int = 10_000) -> tuple[str, int]:
    """Records of ``split`` joined up to 2,000 characters (or ``most`` labelled values, the rest
    filled with business prose), and how many labelled values they hold."""
    parts: list[str] = []
    items = 0
    for line in (HERE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if sum(map(len, parts)) + len(record["text"]) > SIZE or items + len(record["spans"]) > most:
            break
        parts.append(record["text"])
        items += len(record["spans"])
    text = "\n".join(parts)
    return text + "\n" + BUSINESS[: max(0, SIZE - len(text) - 1)], items


MODULES: dict[str, list[Any]] = {
    "ja_numbers": [MyNumberDetector(), CorporateNumberDetector(), JapaneseIdDetector()],
    "ja_address": [PostalCodeDetector(), JapaneseAddressDetector()],
    "ja_person": [JapanesePersonDetector()],
    "bank": [BankAccountDetector()],
}


def time_text(text: str, runs: int = 500, stat: Any = statistics.median) -> dict[str, float]:
    per: dict[str, list[float]] = {name: [] for name in [*MODULES, "all"]}
    for _ in range(20):  # warm up on this text (word caches, branch predictors) before timing it
        shared = Text(text)
        for detectors in MODULES.values():
            for d in detectors:
                d.detect(shared)
    gc.collect()
    gc.disable()  # a collection landing inside one detector would be charged to it
    try:
        per = _runs(text, runs)
    finally:
        gc.enable()
    scale = 1000 * SIZE / len(text)
    return {name: stat(values) * scale for name, values in per.items()}


def _runs(text: str, runs: int) -> dict[str, list[float]]:
    per: dict[str, list[float]] = {name: [] for name in [*MODULES, "all"]}
    for _ in range(runs):
        shared = Text(text)
        total = 0.0
        for name, detectors in MODULES.items():
            t0 = time.perf_counter()
            for d in detectors:
                d.detect(shared)
            elapsed = time.perf_counter() - t0
            per[name].append(elapsed)
            total += elapsed
        per["all"].append(total)
    return per


def main() -> None:
    warm_up()
    texts = {}
    for split, most in (("test", 40), ("test", 10_000), ("dev", 10_000)):
        dense, items = packed(split, most)
        texts[f"{split} packed ({items} values)"] = dense
    texts |= {"business JA": _fill(BUSINESS), "English": _fill(ENGLISH)}
    # The median is the figure to report; the minimum shows what the code costs on an idle machine
    # (on a shared one the median moves by a third from run to run).
    for stat in (statistics.median, min):
        print(f"ms per {SIZE} chars ({stat.__name__:6}) " + " ".join(f"{n:>10}" for n in [*MODULES, "all"]))
        for label, text in texts.items():
            row = time_text(text, stat=stat)
            print(f"{label:33}" + " ".join(f"{row[n]:10.3f}" for n in [*MODULES, "all"]))


if __name__ == "__main__":
    main()
