"""Crisis detection benchmark: recall, false positives, level accuracy, latency of ``crisis.assess``.

    .venv/bin/python benchmarks/policy/crisis.py                      # tests/data/crisis/holdout2.jsonl
    .venv/bin/python benchmarks/policy/crisis.py --data test          # a split by name: dev, test, holdout
    .venv/bin/python benchmarks/policy/crisis.py --data tests/data/crisis/dev.jsonl --errors
    .venv/bin/python benchmarks/policy/crisis.py --json results/crisis.json
    .venv/bin/python benchmarks/policy/crisis.py --rules-only          # v3 rules without the model
    .venv/bin/python benchmarks/policy/crisis.py --cost                # gate share and added latency

``assess`` is the v4 cascade (rules, then gate, then model: ``sekisho.crisis.assess``); ``--rules-only``
scores the rules alone. The model was trained on dev, test, holdout and holdout2 (``scripts/
train_crisis.py``), so v4 figures on those four sets are figures on training data: only a set written
after the model (a blind one) says how it generalises.

The headline set is ``holdout2`` (written by a second author, in another voice, before the v3 rules; see
``tests/data/crisis/README.md`` for what it can and cannot claim). ``dev`` is the tuning split; ``test``
and ``holdout`` have had their errors looked at, so their figures are optimistic. Use ``--errors`` on
those, not on ``holdout2``: reading its errors would turn it into one more tuning set.

Headline: positives are the cases labelled ``crisis`` (levels crisis and imminent); a positive is found
when the predicted level is crisis or imminent. The false-positive rate is over every case labelled
``none`` (including the ``concern`` cases): predicted crisis or imminent. Two secondary views: counting
``concern`` as positive too (recall of predicted >= concern over levels concern..imminent), and the share
of ``level == none`` cases that get any flag at all (>= concern), which is what a user of the
``SELF_HARM`` finding at concern score would see as noise.
"""

from __future__ import annotations

import argparse
import csv
import json
import statistics
import sys
import time
from collections import defaultdict
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parents[2]
sys.path.insert(0, str(ROOT / "src"))

from sekisho.crisis import LEVELS, assess  # noqa: E402
from sekisho.crisis.prefilter import gate  # noqa: E402
from sekisho.guardrails.text import Text  # noqa: E402

DATA_DIR = ROOT / "tests" / "data" / "crisis"
DEFAULT_DATA = DATA_DIR / "holdout2.jsonl"
BANKING77_TEST = Path("/work/shared/datasets/intents-banking77/test.csv")
POLICY_TEST = ROOT / "tests" / "data" / "policy" / "test.jsonl"
_RANK = {level: i for i, level in enumerate(LEVELS)}


def resolve(data: str | Path) -> Path:
    """A path, or a split's name in ``tests/data/crisis``: ``dev``, ``test``, ``holdout``, ``holdout2``."""
    path = Path(data)
    if not path.exists() and (DATA_DIR / f"{data}.jsonl").exists():
        return DATA_DIR / f"{data}.jsonl"
    return path


def load(path: str | Path) -> list[dict[str, Any]]:
    with open(resolve(path), encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def _rate(hits: int, total: int) -> float | None:
    return round(hits / total, 4) if total else None


def run(data_path: str | Path = DEFAULT_DATA, repeat: int = 3, rules_only: bool = False) -> dict[str, Any]:
    """Score every case; return figures overall, per language and per kind, and the errors."""
    rows = load(data_path)
    model = False if rules_only else None
    for row in rows:
        assess(row["text"], model=model)  # warm up (normalisation tables, regex caches, the embedder)
    latencies: list[float] = []
    for row in rows:
        start = time.perf_counter()
        for _ in range(repeat):
            result = assess(row["text"], model=model)
        latencies.append((time.perf_counter() - start) / repeat * 1000)
        row["pred"] = result.level
        row["signals"] = list(result.signals)

    def block(subset: list[dict[str, Any]]) -> dict[str, Any]:
        pos = [r for r in subset if r["label"] == "crisis"]
        neg = [r for r in subset if r["label"] == "none"]
        pos_c = [r for r in subset if r["level"] != "none"]
        clean = [r for r in subset if r["level"] == "none"]
        return {
            "n": len(subset),
            "positives": len(pos),
            "negatives": len(neg),
            "recall": _rate(sum(_RANK[r["pred"]] >= 2 for r in pos), len(pos)),
            "fpr": _rate(sum(_RANK[r["pred"]] >= 2 for r in neg), len(neg)),
            "recall_with_concern": _rate(sum(_RANK[r["pred"]] >= 1 for r in pos_c), len(pos_c)),
            "any_flag_on_none": _rate(sum(_RANK[r["pred"]] >= 1 for r in clean), len(clean)),
            "level_accuracy": _rate(sum(r["pred"] == r["level"] for r in subset), len(subset)),
        }

    by_lang = defaultdict(list)
    by_kind = defaultdict(list)
    for row in rows:
        by_lang[row["lang"]].append(row)
        by_kind[(row["label"] if row["label"] == "crisis" else row["level"], row["kind"])].append(row)
    kinds = {
        f"{label}/{kind}": {
            "n": len(items),
            # for positives: found (>= crisis); for negatives: wrongly >= crisis, and any flag
            "found" if label == "crisis" else "fp": _rate(
                sum(_RANK[r["pred"]] >= 2 for r in items), len(items)
            ),
            **(
                {}
                if label == "crisis"
                else {"any_flag": _rate(sum(_RANK[r["pred"]] >= 1 for r in items), len(items))}
            ),
        }
        for (label, kind), items in sorted(by_kind.items())
    }
    errors = [
        {k: r[k] for k in ("id", "lang", "label", "level", "kind", "pred", "signals", "text")}
        for r in rows
        if (r["label"] == "crisis") != (_RANK[r["pred"]] >= 2)
        or (r["level"] == "none" and r["pred"] != "none")
    ]
    return {
        "data": str(data_path),
        "detector": "rules v3" if rules_only else "v4 cascade (rules, gate, model)",
        "overall": block(rows),
        "per_language": {lang: block(items) for lang, items in sorted(by_lang.items())},
        "per_kind": kinds,
        "latency_ms": {
            "median": round(statistics.median(latencies), 4),
            "p99": round(sorted(latencies)[int(0.99 * (len(latencies) - 1))], 4),
            "max": round(max(latencies), 4),
        },
        "targets": {"recall": 0.95, "fpr": 0.05},
        "errors": errors,
    }


def _fmt(x: float | None) -> str:
    return "–" if x is None else f"{x:.3f}"


def table(result: dict[str, Any]) -> str:
    """The figures as Markdown."""
    head = (
        "| Slice | n | pos | neg | recall (headline) | FPR (headline) | recall incl. concern"
        " | any flag on none | level acc |"
    )
    lines = [f"## Crisis detection ({result['detector']}): `{result['data']}`", "", head, "|" + "---|" * 9]
    slices = [("all", result["overall"]), *result["per_language"].items()]
    for name, b in slices:
        lines.append(
            f"| {name} | {b['n']} | {b['positives']} | {b['negatives']} | {_fmt(b['recall'])}"
            f" | {_fmt(b['fpr'])} | {_fmt(b['recall_with_concern'])} | {_fmt(b['any_flag_on_none'])}"
            f" | {_fmt(b['level_accuracy'])} |"
        )
    lines += [
        "",
        "| Level/kind | n | found >= crisis (positives) / FP >= crisis (negatives)"
        " | flagged >= concern (negatives) |",
        "|---|---|---|---|",
    ]
    for kind, k in result["per_kind"].items():
        lines.append(
            f"| {kind} | {k['n']} | {_fmt(k.get('found', k.get('fp')))} | {_fmt(k.get('any_flag'))} |"
        )
    lat = result["latency_ms"]
    lines += [
        "",
        f"Latency per text: median {lat['median']:.3f} ms, p99 {lat['p99']:.3f} ms, max {lat['max']:.3f} ms.",
        f"Targets: recall >= {result['targets']['recall']}, FPR <= {result['targets']['fpr']}.",
    ]
    return "\n".join(lines)


def cost(repeat: int = 3) -> dict[str, Any]:
    """Share of ordinary prompts that open the gate (and so pay for an embedding), and the added latency.

    Added latency per text: the cascade's time minus the rules' time (min of ``repeat`` runs each),
    reported for texts the gate lets through and for the rest, and which of them the model flags.
    """
    with open(BANKING77_TEST, encoding="utf-8") as f:
        banking = [r["text"] for r in csv.DictReader(f)]
    with open(POLICY_TEST, encoding="utf-8") as f:
        policy = [json.loads(line)["text"] for line in f if line.strip()]
    out: dict[str, Any] = {}
    for name, texts in (("banking77 test", banking), ("policy test", policy)):
        gated = [t for t in texts if gate(Text(t).kana)]
        flagged = [t for t in texts if assess(t).at_least_crisis]
        out[name] = {
            "n": len(texts),
            "gate_share": _rate(len(gated), len(texts)),
            "flagged_share": _rate(len(flagged), len(texts)),
        }
    sample = banking[::10] + policy
    added: dict[str, list[float]] = {"gate closed": [], "gate open": []}
    for text in sample:
        times = []
        for model in (False, None):
            best = float("inf")
            for _ in range(repeat):
                start = time.perf_counter()
                assess(text, model=model)
                best = min(best, time.perf_counter() - start)
            times.append(best)
        key = "gate open" if gate(Text(text).kana) else "gate closed"
        added[key].append((times[1] - times[0]) * 1000)
    out["added_latency_ms"] = {
        k: {"n": len(v), "median": round(statistics.median(v), 4) if v else None} for k, v in added.items()
    }
    return out


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument(
        "--data",
        default=str(DEFAULT_DATA),
        help="a JSON-lines set or a split name (default: holdout2, the headline set)",
    )
    parser.add_argument("--json", metavar="PATH", help="also write every figure (and the errors) as JSON")
    parser.add_argument("--errors", action="store_true", help="print the misclassified cases")
    parser.add_argument("--repeat", type=int, default=3, help="timing repetitions per text")
    parser.add_argument("--rules-only", action="store_true", help="score the v3 rules without the model")
    parser.add_argument("--cost", action="store_true", help="gate share and added latency on business text")
    args = parser.parse_args(argv)
    result = run(args.data, repeat=args.repeat, rules_only=args.rules_only)
    print(table(result))
    if args.cost:
        result["cost"] = cost(args.repeat)
        print("\n## Cost on ordinary prompts\n")
        print("| set | n | gate opens (embedding runs) | flagged >= crisis (FPR) |\n|---|---|---|---|")
        for name in ("banking77 test", "policy test"):
            c = result["cost"][name]
            print(f"| {name} | {c['n']} | {_fmt(c['gate_share'])} | {_fmt(c['flagged_share'])} |")
        for key, v in result["cost"]["added_latency_ms"].items():
            print(f"\nAdded latency, {key}: median {v['median']} ms over {v['n']} texts.")
    if args.errors:
        print("\n## Errors\n")
        for e in result["errors"]:
            print(f"- {e['id']} [{e['level']}/{e['kind']}] → {e['pred']} {e['signals']}: {e['text']}")
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(result, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
