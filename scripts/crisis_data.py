"""The crisis model's training rows: generated templates, the seen crisis sets, and benign business text.

Deterministic (one seeded ``random.Random``). Every row is a dict with ``text``, ``lang``, ``cls``
(``none``, ``crisis``, ``imminent``, ``harm``), ``kind``, ``source`` and ``group``. ``group`` names the
template a generated row came from: the trainer holds out whole templates (``tune``), so the threshold
is chosen on phrasings the head never saw, not on new slot fillings of seen sentences.

Sources:
- ``gen``: ``crisis_templates_en`` / ``crisis_templates_ja``, with noise (case, punctuation, full-width
  letters, a stray typo) so the head does not learn the generator's tidy spelling.
- ``seen``: ``tests/data/crisis/{dev,test,holdout,holdout2}.jsonl`` (all looked at already).
  ``holdout3.jsonl`` is never read: it is the blind set.
- ``banking77``: a sample of ``train.csv`` (customer questions, all ``none``); the test split is kept for
  the false-positive figure.
"""

from __future__ import annotations

import csv
import json
import random
import re
from pathlib import Path
from typing import Any

import crisis_templates_en as en
import crisis_templates_ja as ja

ROOT = Path(__file__).resolve().parents[1]
CRISIS_DIR = ROOT / "tests" / "data" / "crisis"
SEEN = ("dev", "test", "holdout", "holdout2")  # never holdout3
BANKING = Path("/work/shared/datasets/intents-banking77")
TUNE_EVERY = 4  # every 4th template of each (lang, class) is held out for threshold tuning

Row = dict[str, Any]
_SLOT = re.compile(r"\{(\w+)\}")
_FULLWIDTH = {c: chr(ord(c) + 0xFEE0) for c in "abcdefghijklmnopqrstuvwxyz0123456789"}


def _fill(template: str, slots: dict[str, tuple[str, ...]], rng: random.Random) -> str:
    return _SLOT.sub(lambda m: rng.choice(slots[m.group(1)]), template)


def _noise(text: str, lang: str, rng: random.Random) -> str:
    r = rng.random()
    if lang == "en":
        if r < 0.25:
            text = text[:1].upper() + text[1:]
        elif r < 0.35:
            text = text.upper() if len(text) < 40 else text
        if rng.random() < 0.15 and len(text) > 12:  # one dropped letter: a typo
            i = rng.randrange(1, len(text) - 1)
            if text[i].isalpha():
                text = text[:i] + text[i + 1 :]
        if rng.random() < 0.2:
            text = text.replace("'", "")
    else:
        if r < 0.15:
            text = "".join(_FULLWIDTH.get(c, c) for c in text)
        if rng.random() < 0.2:
            text = text.replace("。", " ")
    return text.strip()


def generated(seed: int = 7, per_template: int = 12) -> list[Row]:
    """Every template filled ``per_template`` times (fewer when it has no slot), de-duplicated."""
    rng = random.Random(seed)  # noqa: S311 - data generation, not security
    rows: list[Row] = []
    seen: set[str] = set()
    for lang, module in (("en", en), ("ja", ja)):
        counters: dict[str, int] = {}
        for i, (cls, kind, template) in enumerate(module.TEMPLATES):
            n = counters.get(cls, 0)
            counters[cls] = n + 1
            split = "tune" if n % TUNE_EVERY == TUNE_EVERY - 1 else "train"
            slots = _SLOT.findall(template)
            tries = per_template if slots else 3
            for _ in range(tries):
                text = _noise(_fill(template, module.SLOTS, rng), lang, rng)
                if text in seen:
                    continue
                seen.add(text)
                rows.append(
                    {
                        "text": text,
                        "lang": lang,
                        "cls": cls,
                        "kind": kind,
                        "source": "gen",
                        "group": f"{lang}-{i}",
                        "split": split,
                    }
                )
    return rows


def seen_sets() -> list[Row]:
    rows: list[Row] = []
    for name in SEEN:
        with open(CRISIS_DIR / f"{name}.jsonl", encoding="utf-8") as f:
            for line in f:
                if not line.strip():
                    continue
                r = json.loads(line)
                if r["label"] != "crisis":
                    cls = "none"
                elif r["level"] == "imminent" and r["kind"] == "harm_others":
                    cls = "harm"
                else:
                    cls = r["level"]
                rows.append(
                    {
                        "text": r["text"],
                        "lang": r["lang"],
                        "cls": cls,
                        "kind": r["kind"],
                        "source": name,
                        "group": r["id"],
                        "split": "train",
                    }
                )
    return rows


def banking(n: int = 500, seed: int = 11) -> list[Row]:
    with open(BANKING / "train.csv", encoding="utf-8") as f:
        texts = [r["text"] for r in csv.DictReader(f)]
    rng = random.Random(seed)  # noqa: S311
    return [
        {
            "text": t,
            "lang": "en",
            "cls": "none",
            "kind": "banking77",
            "source": "banking77",
            "group": "banking77",
            "split": "train",
        }
        for t in rng.sample(texts, n)
    ]


def all_rows() -> list[Row]:
    return generated() + seen_sets() + banking()


if __name__ == "__main__":
    from collections import Counter

    rows = all_rows()
    print(len(rows), Counter((r["source"], r["split"], r["cls"]) for r in rows))
