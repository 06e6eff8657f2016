"""Usage-policy routing benchmark: the offline classifier on the hand-written Japanese + English set.

    .venv/bin/python benchmarks/policy/routing.py                      # tests/data/policy/test.jsonl
    .venv/bin/python benchmarks/policy/routing.py --data tests/data/policy/dev.jsonl --errors
    .venv/bin/python benchmarks/policy/routing.py --json results/routing.json

Each case's predicted category goes through the DEFAULT decision mapping (block categories -> block,
review categories -> review, ``none`` -> allow). Reported: routing accuracy, per-decision precision,
recall and F1, block recall, the same per language and on hard negatives, category accuracy (exact
category; for ``allow`` cases that means ``none``), the decision confusion matrix, how often the
cascade skipped the embedding, and latency: median and p95 of ``predict`` over the set's own texts,
over short business prompts (no cue: the cheap path) and over 2,000-character prompts (an instruction
followed by a pasted document), each measured after a warm-up, one call at a time.
Targets (issue 4): routing accuracy >= 0.9 with block recall >= 0.95.
"""

from __future__ import annotations

import argparse
import json
import statistics
import sys
import time
from collections import Counter
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from sekisho.policy.local import load_local_classifier  # noqa: E402
from sekisho.policy.verdict import BLOCK_CATEGORIES, NONE  # noqa: E402

DEFAULT_DATA = ROOT / "tests" / "data" / "policy" / "test.jsonl"
DECISIONS = ("allow", "review", "block")

# Latency probes, written for the benchmark (not cases of the set): typical short business prompts,
# and long prompts built from a pasted document with the instruction at its end.
SHORT = (
    "Summarise these meeting notes into three action items.",
    "来週の定例会議のアジェンダを作ってください。",
    "Write a polite reply to a customer asking about delivery times.",
    "このPythonの関数をリファクタリングして読みやすくして。",
    "Translate this paragraph into Japanese.",
    "新商品のキャッチコピーを5つ考えてください。",
)
_DOC_EN = (
    "The project review covered the migration timeline, vendor quotes and the staffing plan for the "
    "next quarter. Open questions remain about the data retention policy and the budget. "
)
_DOC_JA = (
    "本日の会議では、システム移行のスケジュール、見積もり、来期の体制について確認しました。"
    "予算と保管期間の方針は継続検討です。"
)
LONG = (
    (_DOC_EN * 20)[:1900] + "\n\nPlease turn the notes above into a short summary for the team.",
    (_DOC_JA * 40)[:1950] + "\n\n上記の議事録を要約してください。",
    (_DOC_EN * 20)[:1900] + "\n\nBased on the file above, reject the applicant and send the email.",
)


def decision(category: str) -> str:
    return "allow" if category == NONE else "block" if category in BLOCK_CATEGORIES else "review"


def load(path: str | Path) -> list[dict[str, Any]]:
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _latency(texts: tuple[str, ...] | list[str], repeat: int) -> dict[str, float]:
    clf = load_local_classifier()
    for t in texts:
        clf.predict(t)
    times = []
    for _ in range(repeat):
        for t in texts:
            start = time.perf_counter()
            clf.predict(t)
            times.append((time.perf_counter() - start) * 1000)
    times.sort()
    return {
        "median_ms": round(statistics.median(times), 2),
        "p95_ms": round(times[int(0.95 * (len(times) - 1))], 2),
    }


def _scores(rows: list[dict[str, Any]]) -> dict[str, Any]:
    n = len(rows)
    out: dict[str, Any] = {
        "n": n,
        "routing_accuracy": round(sum(r["pred_decision"] == r["decision"] for r in rows) / n, 4)
        if n
        else None,
        "category_accuracy": round(sum(r["pred"] == r["category"] for r in rows) / n, 4) if n else None,
    }
    for d in DECISIONS:
        tp = sum(r["pred_decision"] == d and r["decision"] == d for r in rows)
        pp = sum(r["pred_decision"] == d for r in rows)
        gp = sum(r["decision"] == d for r in rows)
        p, rc = (tp / pp if pp else 0.0), (tp / gp if gp else 0.0)
        out[d] = {
            "precision": round(p, 4),
            "recall": round(rc, 4),
            "f1": round(2 * p * rc / (p + rc), 4) if p + rc else 0.0,
            "support": gp,
        }
    return out


def run(data_path: str | Path = DEFAULT_DATA, repeat: int = 5) -> dict[str, Any]:
    """Classify every case; return the figures (overall, per language, hard negatives), errors and latency."""
    clf = load_local_classifier()
    rows = load(data_path)
    for row in rows:
        start = time.perf_counter()
        pred = clf.predict(row["text"])
        row["ms"] = (time.perf_counter() - start) * 1000
        row["pred"], row["confidence"] = pred.category, round(pred.confidence, 3)
        row["pred_decision"] = decision(pred.category)
        row["lexical_only"] = pred.signals == ("lexical only",)
    result: dict[str, Any] = {"data": str(data_path), "overall": _scores(rows)}
    result["block_recall"] = result["overall"]["block"]["recall"]
    result["per_language"] = {lang: _scores([r for r in rows if r["lang"] == lang]) for lang in ("ja", "en")}
    hard = [r for r in rows if r.get("hard_negative")]
    result["hard_negatives"] = {
        "n": len(hard),
        "allowed": round(sum(r["pred_decision"] == "allow" for r in hard) / max(len(hard), 1), 4),
    }
    confusion = Counter((r["decision"], r["pred_decision"]) for r in rows)
    result["confusion"] = {g: {p: confusion[(g, p)] for p in DECISIONS} for g in DECISIONS}
    result["embedding_skipped"] = round(sum(r["lexical_only"] for r in rows) / max(len(rows), 1), 4)
    result["latency"] = {
        "set": _latency([r["text"] for r in rows], 1),
        "short_prompt": _latency(SHORT, repeat * 4),
        "prompt_2k_chars": _latency(LONG, repeat),
    }
    result["errors"] = [
        {k: r[k] for k in ("id", "lang", "category", "pred", "confidence", "text")}
        for r in rows
        if r["pred_decision"] != r["decision"]
    ]
    return result


def table(res: dict[str, Any]) -> str:
    o = res["overall"]
    lines = [
        f"## Usage-policy routing — {res['data']}",
        "",
        "| figure | overall | ja | en |",
        "|---|---|---|---|",
    ]
    ja, en = res["per_language"]["ja"], res["per_language"]["en"]
    lines.append(f"| cases | {o['n']} | {ja['n']} | {en['n']} |")
    for key in ("routing_accuracy", "category_accuracy"):
        lines.append(f"| {key.replace('_', ' ')} | {o[key]} | {ja[key]} | {en[key]} |")
    for d in DECISIONS:
        for m in ("precision", "recall", "f1"):
            lines.append(f"| {d} {m} | {o[d][m]} | {ja[d][m]} | {en[d][m]} |")
    lines += [
        "",
        f"Block recall: **{res['block_recall']}** (target >= 0.95); routing accuracy: "
        f"**{o['routing_accuracy']}** (target >= 0.9). Hard negatives allowed: "
        f"{res['hard_negatives']['allowed']} of {res['hard_negatives']['n']}. Embedding skipped by the "
        f"cascade: {res['embedding_skipped']:.0%} of cases.",
        "",
        "| gold \\ predicted | allow | review | block |",
        "|---|---|---|---|",
    ]
    for g in DECISIONS:
        lines.append(f"| {g} | " + " | ".join(str(res["confusion"][g][p]) for p in DECISIONS) + " |")
    lines += ["", "| latency (ms) | median | p95 |", "|---|---|---|"]
    for k, v in res["latency"].items():
        lines.append(f"| {k.replace('_', ' ')} | {v['median_ms']} | {v['p95_ms']} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--data", default=str(DEFAULT_DATA))
    parser.add_argument("--json", dest="json_path", help="write the figures here")
    parser.add_argument("--errors", action="store_true", help="list the misrouted cases")
    args = parser.parse_args(argv)
    res = run(args.data)
    print(table(res))
    if args.errors:
        print("\n| id | gold | predicted | conf | text |\n|---|---|---|---|---|")
        for e in res["errors"]:
            print(f"| {e['id']} | {e['category']} | {e['pred']} | {e['confidence']} | {e['text'][:70]} |")
    if args.json_path:
        Path(args.json_path).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json_path).write_text(json.dumps(res, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    sys.exit(main())
