"""The usage-scale results as a Markdown table (printed and written to results/latest.md) and JSON."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

TARGET_MS = 200.0
HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]


def environment(pg: dict[str, str]) -> dict[str, Any]:
    """Where the run happened."""
    try:
        commit = subprocess.run(
            ["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"],
            capture_output=True,
            text=True,
            check=False,
        ).stdout.strip()
    except OSError:
        commit = ""
    return {
        "at": datetime.now(UTC).isoformat(timespec="seconds"),
        # The machine may be shared: how busy it was when the timings started.
        "load_average": [round(x, 2) for x in os.getloadavg()],
        "cores": os.cpu_count(),
        "machine": platform.machine(),
        "python": platform.python_version(),
        "git": commit or None,
        "postgresql": pg,
    }


def _cell(t: dict[str, float] | None) -> str:
    return f"{t['median_ms']:.1f} / {t['p95_ms']:.1f}" if t else "–"


def markdown(result: dict[str, Any]) -> str:
    env, data = result["environment"], result["data"]
    pg = env["postgresql"]
    lines = [
        "# Usage data at scale",
        "",
        f"Run {env['at']} on {env['cores']} cores (load average {' '.join(map(str, env['load_average']))} "
        f"when timing began), PostgreSQL {pg['version']} (shared_buffers "
        f"{pg['shared_buffers']}, work_mem {pg['work_mem']}: the defaults), Sekisho git {env['git']}.",
        "",
        f"**{data['events']:,} usage events** over {data['days']} days, {data['orgs']} organisations, "
        f"{data['projects']} projects, {data['users']:,} people ({data['active_users']:,} active), "
        f"{data['keys']:,} keys, {data['models']} models. Raw table {data['raw_mb']:,} MB in "
        f"{data['partitions']} monthly partitions (with the default one); roll-ups {data['rollup_mb']:,} MB: "
        f"{data['rollup_rows']:,} rows at the full grain, {data['rollup_rows_users']:,} by person and key, "
        f"{data['rollup_rows_models']:,} by project and model.",
        "",
        "Generation: "
        + ", ".join(f"{k} {v:.0f} s" for k, v in result["phases"].items())
        + f" (total {sum(result['phases'].values()):.0f} s).",
        "",
        f"Median / p95 in milliseconds over {result['repeat']} warm runs each. *Roll-ups* is Sekisho's own "
        "query code (what the API runs); *API* is the same through `/admin/v1/analytics` (HTTP, master "
        "key, JSON); *raw events* computes the same figures from `usage_events` (indexed on org and time, "
        "partitions pruned), the way a per-request spend table is read.",
        "",
        "| query | organisation | roll-ups | API | raw events | raw ÷ roll-ups | roll-ups ≤ 200 ms |",
        "|---|---|---:|---:|---:|---:|:---:|",
    ]
    for row in result["rows"]:
        rollup, raw = row["rollup"], row.get("raw")
        ratio = f"{raw['median_ms'] / rollup['median_ms']:.0f}×" if raw else "–"
        met = "yes" if rollup["p95_ms"] <= TARGET_MS else "**no**"
        lines.append(
            f"| {row['query']} | {row['org_label']} | {_cell(rollup)} | {_cell(row.get('http'))} | "
            f"{_cell(raw)} | {ratio} | {met} |"
        )
    lines += ["", *result.get("notes", [])]
    return "\n".join(lines) + "\n"


def write(result: dict[str, Any], results_dir: Path) -> Path:
    """Write latest.json and latest.md; returns the Markdown path."""
    results_dir.mkdir(parents=True, exist_ok=True)
    (results_dir / "latest.json").write_text(json.dumps(result, indent=2) + "\n", encoding="utf-8")
    md = results_dir / "latest.md"
    md.write_text(markdown(result), encoding="utf-8")
    return md
