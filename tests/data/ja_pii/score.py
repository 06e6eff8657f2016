"""Score the Japanese PII detectors on one split of the evaluation set.

    python tests/data/ja_pii/score.py dev            # per-type exact and overlap P/R/F1
    python tests/data/ja_pii/score.py dev --errors   # and every miss and false alarm (dev only, please)

Detectors: the Japanese ones plus e-mail and phone from ``contact.py``, at the engine's default
threshold (0.5). Exact: the type, start and end all agree. Overlap: a prediction counts if it overlaps
a gold span of the same type (precision), a gold span counts if any prediction of its type overlaps
it (recall).
"""

from __future__ import annotations

import json
import sys
from collections import Counter
from pathlib import Path
from typing import Any

from sekisho.guardrails.detectors.bank import BankAccountDetector
from sekisho.guardrails.detectors.contact import EmailDetector, PhoneDetector
from sekisho.guardrails.detectors.ja_address import JapaneseAddressDetector, PostalCodeDetector
from sekisho.guardrails.detectors.ja_numbers import (
    CorporateNumberDetector,
    JapaneseIdDetector,
    MyNumberDetector,
)
from sekisho.guardrails.detectors.ja_person import JapanesePersonDetector
from sekisho.guardrails.text import Text

HERE = Path(__file__).resolve().parent
THRESHOLD = 0.5
DETECTORS: list[Any] = [
    MyNumberDetector(), CorporateNumberDetector(), JapaneseIdDetector(), PostalCodeDetector(),
    JapaneseAddressDetector(), JapanesePersonDetector(), BankAccountDetector(), EmailDetector(),
    PhoneDetector(),
]  # fmt: skip
TYPES = sorted(set().union(*(d.types for d in DETECTORS)))


def predict(text: str) -> list[tuple[str, int, int]]:
    shared = Text(text)
    return sorted(
        {(f.type, f.start, f.end) for d in DETECTORS for f in d.detect(shared) if f.score >= THRESHOLD}
    )


def _f1(p: float, r: float) -> float:
    return 2 * p * r / (p + r) if p + r else 0.0


def score(split: str, errors: bool = False) -> dict[str, dict[str, float]]:
    counts: dict[str, Counter[str]] = {t: Counter() for t in TYPES}
    for line in (HERE / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        text = record["text"]
        gold = {(s["type"], s["start"], s["end"]) for s in record["spans"]}
        pred = set(predict(text))
        for t, a, b in gold:
            c = counts[t]
            c["gold"] += 1
            c["exact_tp"] += (t, a, b) in pred
            hit = any(pt == t and pa < b and a < pb for pt, pa, pb in pred)
            c["overlap_rec"] += hit
            if errors and (t, a, b) not in pred:
                near = [text[pa:pb] for pt, pa, pb in pred if pt == t and pa < b and a < pb]
                print(f"MISS {t:15} {text[a:b]!r} got {near} | {text[max(0, a - 15) : b + 15]!r}")
        for t, a, b in pred:
            if t not in counts:
                continue
            c = counts[t]
            c["pred"] += 1
            c["overlap_prec"] += any(gt == t and ga < b and a < gb for gt, ga, gb in gold)
            if errors and not any(gt == t and ga < b and a < gb for gt, ga, gb in gold):
                print(f"FP   {t:15} {text[a:b]!r} | {text[max(0, a - 15) : b + 15]!r}")
    table: dict[str, dict[str, float]] = {}
    for t, c in counts.items():
        if not c["gold"] and not c["pred"]:
            continue
        ep = c["exact_tp"] / c["pred"] if c["pred"] else 0.0
        er = c["exact_tp"] / c["gold"] if c["gold"] else 0.0
        op = c["overlap_prec"] / c["pred"] if c["pred"] else 0.0
        orr = c["overlap_rec"] / c["gold"] if c["gold"] else 0.0
        table[t] = {"gold": c["gold"], "pred": c["pred"], "P": ep, "R": er, "F1": _f1(ep, er),
                    "oP": op, "oR": orr, "oF1": _f1(op, orr)}  # fmt: skip
    return table


def main(argv: list[str]) -> int:
    split = argv[0] if argv else "dev"
    table = score(split, errors="--errors" in argv)
    print(f"{split}: exact P/R/F1 | overlap P/R/F1 (threshold {THRESHOLD})")
    print(f"{'type':17}{'gold':>5}{'pred':>5}   {'P':>5} {'R':>5} {'F1':>5} |  {'P':>5} {'R':>5} {'F1':>5}")
    for t, row in table.items():
        print(
            f"{t:17}{row['gold']:5.0f}{row['pred']:5.0f}   {row['P']:.3f} {row['R']:.3f} {row['F1']:.3f} |"
            f"  {row['oP']:.3f} {row['oR']:.3f} {row['oF1']:.3f}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
