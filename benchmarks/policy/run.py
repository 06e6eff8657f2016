"""Every usage-policy benchmark in one run, written to ``benchmarks/policy/results/latest.{md,json}``.

    .venv/bin/python benchmarks/policy/run.py            # routing, crisis (about 5 minutes)
    .venv/bin/python benchmarks/policy/run.py --byo      # + the BYO-policy classifier (local model: ~15 min)

Sets, and what their figures mean (each set's README says who wrote it and what was seen):

- routing: ``tests/data/policy/test.jsonl`` (held out from training, written by the classifier's
  author) and ``blind.jsonl`` (written by someone who never saw the classifier, scored once).
- crisis: ``holdout3.jsonl`` (blind to the rules and never opened by the model's author — the
  headline), and ``holdout2``/``holdout``/``test`` (seen during development: upper bounds).
- byo: the gpt-oss-safeguard golden set with the bundled local model and, when ``BYO_BENCH_BASE_URL``
  is set, a real upstream.

Each part runs as its own process (the scripts stay runnable alone); their tables are collected here.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
RESULTS = HERE / "results"
DATA = HERE.parents[1] / "tests" / "data"


def part(title: str, script: str, *args: str) -> tuple[str, dict[str, object]]:
    """Run one benchmark script; its markdown and JSON figures."""
    out = RESULTS / f"{Path(script).stem}-{len(args)}-{abs(hash(args)) % 10_000}.json"
    command = [sys.executable, str(HERE / script), *args, "--json", str(out)]
    started = time.perf_counter()
    done = subprocess.run(command, capture_output=True, text=True, check=False)
    elapsed = time.perf_counter() - started
    if done.returncode != 0:
        raise SystemExit(f"{script} failed:\n{done.stderr[-2000:]}")
    figures = json.loads(out.read_text(encoding="utf-8"))
    out.unlink()
    figures.pop("errors", None)  # per-case errors stay out of the committed results
    md = (
        f"### {title}\n\n`{' '.join(['python', f'benchmarks/policy/{script}', *args])}` ({elapsed:.0f} s)\n\n"
    )
    return md + done.stdout.strip() + "\n", figures


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--byo", action="store_true", help="also run the BYO-policy classifier benchmark")
    args = parser.parse_args()
    RESULTS.mkdir(exist_ok=True)
    runs = [
        ("Routing — held-out test set", "routing.py", "--data", str(DATA / "policy" / "test.jsonl")),
        ("Routing — blind set", "routing.py", "--data", str(DATA / "policy" / "blind.jsonl")),
        (
            "Crisis — blind holdout3 (headline)",
            "crisis.py",
            "--data",
            str(DATA / "crisis" / "holdout3.jsonl"),
        ),
        ("Crisis — holdout2 (seen)", "crisis.py", "--data", "holdout2", "--cost"),
    ]
    if args.byo:
        runs.append(("BYO-policy classifier — safeguard golden set", "byo.py"))
    sections, figures = [], {}
    for title, script, *rest in runs:
        md, data = part(title, script, *rest)
        print(md, flush=True)
        sections.append(md)
        figures[title] = data
    header = (
        f"# Usage-policy benchmarks\n\nRun {time.strftime('%Y-%m-%d %H:%M UTC', time.gmtime())} on "
        f"{os.cpu_count()} CPUs with `python benchmarks/policy/run.py{' --byo' if args.byo else ''}`.\n\n"
    )
    (RESULTS / "latest.md").write_text(header + "\n".join(sections), encoding="utf-8")
    (RESULTS / "latest.json").write_text(json.dumps(figures, ensure_ascii=False, indent=2), encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
