"""Summaries and the Markdown report of a gateway-overhead run (used by run.py)."""

from __future__ import annotations

import contextlib
import math
import os
import platform
import sqlite3
import statistics
import subprocess
import time
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from run import Run

REPO = Path(__file__).resolve().parents[2]
TARGETS = ("direct", "sekisho", "sekisho-guarded", "sekisho-limits", "sekisho-limits-redis", "litellm")
LABELS = {
    "direct": "direct (mock upstream)",
    "sekisho": "Sekisho (checks off)",
    "sekisho-guarded": "Sekisho (as shipped: guardrails, crisis check, usage policy)",
    "sekisho-limits": "Sekisho (checks off) + budgets and rate limits, in-process counters",
    "sekisho-limits-redis": "Sekisho (checks off) + budgets and rate limits, Redis counters",
    "litellm": "LiteLLM proxy",
}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


# --------------------------------------------------------------------------------------------------
# Results


def summarise(run: Run) -> dict[str, Any]:
    rows: dict[str, dict[str, Any]] = {}
    for name in (n for n in TARGETS if n in run.targets):
        lat = run.latency[name]
        mx = run.max_rps[name]
        st = run.streams[name]
        ttft = sorted(x for r in st for x in r["ttft"])
        total = sorted(x for r in st for x in r["total"])
        requests = sum(r["requests"] for r in mx)
        cpu_target = sum(r["cpu"]["target_cpu_s"] for r in mx)
        cpu_mock = sum(r["cpu"]["mock_cpu_s"] for r in mx)
        lat_seconds = sum(r["cpu"]["seconds"] for r in lat)
        idle = run.idle_cores.get(mx[0]["target_service"], 0.0) if mx else 0.0
        lat_cpu = sum(r["cpu"]["target_cpu_s"] for r in lat) - idle * lat_seconds
        lat_requests = sum(r["requests"] for r in lat)
        rows[name] = {
            "label": LABELS[name],
            "latency_requests": sum(r["requests"] for r in lat),
            "latency_errors": sum(r["errors"] for r in lat),
            "latency_achieved_rps": round(sum(r["requests"] for r in lat) / lat_seconds, 1)
            if lat_seconds
            else 0,
            "p50_ms": round(statistics.median(r["p50_us"] for r in lat) / 1e3, 3),
            "p90_ms": round(statistics.median(r["p90_us"] for r in lat) / 1e3, 3),
            "p99_ms": round(statistics.median(r["p99_us"] for r in lat) / 1e3, 3),
            "mean_ms": round(statistics.median(r["mean_us"] for r in lat) / 1e3, 3),
            "ttft_streams": len(ttft),
            "ttft_errors": sum(r["errors"] for r in st),
            "ttft_p50_ms": round(percentile(ttft, 50) * 1e3, 3),
            "ttft_p90_ms": round(percentile(ttft, 90) * 1e3, 3),
            "ttft_p99_ms": round(percentile(ttft, 99) * 1e3, 3),
            "stream_total_p50_ms": round(percentile(total, 50) * 1e3, 3),
            "max_rps": round(statistics.median(r["rps"] for r in mx), 1),
            "max_rps_rounds": [round(r["rps"], 1) for r in mx],
            "max_rps_errors": sum(r["errors"] for r in mx),
            "max_rps_p50_ms": round(statistics.median(r["p50_us"] for r in mx) / 1e3, 3),
            "cpu_ms_per_request": round(1000 * cpu_target / requests, 3) if requests else None,
            "cpu_ms_per_request_moderate": round(1000 * lat_cpu / lat_requests, 3) if lat_requests else None,
            "mock_cpu_ms_per_request": round(1000 * cpu_mock / requests, 3)
            if requests and name != "direct"
            else None,
        }
    own: dict[str, dict[str, Any]] = {}
    for name, results in run.latency_own.items():
        if results:
            own[name] = {
                "offered_rps": run.own_rate,
                "requests": sum(r["requests"] for r in results),
                "errors": sum(r["errors"] for r in results),
                "achieved_rps": round(
                    sum(r["requests"] for r in results) / sum(r["cpu"]["seconds"] for r in results), 1
                ),
                **{
                    f"{k}_ms": round(statistics.median(r[f"{k}_us"] for r in results) / 1e3, 3)
                    for k in ("p50", "p90", "p99")
                },
            }
    for name in ("sekisho", "sekisho-guarded", "sekisho-limits", "sekisho-limits-redis"):
        if "direct" in own and name in own:
            for k in ("p50", "p90", "p99"):
                own[name][f"added_{k}_ms"] = round(own[name][f"{k}_ms"] - own["direct"][f"{k}_ms"], 3)
    direct = rows.get("direct")
    for name, row in rows.items():
        if name == "direct" or direct is None:
            continue
        for key in ("p50", "p90", "p99", "ttft_p50", "ttft_p99"):
            row[f"added_{key}_ms"] = round(row[f"{key}_ms"] - direct[f"{key}_ms"], 3)
    ratios: dict[str, Any] = {}
    goals: dict[str, Any] = {}
    sek, lit = rows.get("sekisho"), rows.get("litellm")
    if sek is not None and "added_p50_ms" in sek:
        goals["sekisho_added_p50_le_1ms"] = {
            "value_ms": sek["added_p50_ms"],
            "met": sek["added_p50_ms"] <= 1.0,
        }
        goals["sekisho_added_p99_le_5ms"] = {
            "value_ms": sek["added_p99_ms"],
            "met": sek["added_p99_ms"] <= 5.0,
        }
    if sek is not None and lit is not None and "added_p50_ms" in sek:

        def ratio(a: float, b: float) -> float | None:
            return round(a / b, 2) if b > 0 else None

        ratios = {
            "litellm_over_sekisho_added_p50": ratio(lit["added_p50_ms"], sek["added_p50_ms"]),
            "litellm_over_sekisho_added_p99": ratio(lit["added_p99_ms"], sek["added_p99_ms"]),
            "litellm_over_sekisho_added_ttft_p50": ratio(lit["added_ttft_p50_ms"], sek["added_ttft_p50_ms"]),
            "litellm_over_sekisho_cpu_per_request": ratio(
                lit["cpu_ms_per_request"] or 0, sek["cpu_ms_per_request"] or 0
            ),
            "sekisho_over_litellm_max_rps": ratio(sek["max_rps"], lit["max_rps"]),
        }
        p50_ratio = ratios["litellm_over_sekisho_added_p50"]
        goals["overhead_5x_lower_than_litellm"] = {
            "value": p50_ratio,
            "met": p50_ratio is not None and p50_ratio >= 5.0,
        }
        goals["max_rps_3x_litellm"] = {
            "value": ratios["sekisho_over_litellm_max_rps"],
            "met": (ratios["sekisho_over_litellm_max_rps"] or 0) >= 3.0,
        }
    if "added_p50_ms" in own.get("sekisho", {}):
        o = own["sekisho"]
        goals["sekisho_added_p50_le_1ms_at_sekisho_scale"] = {
            "value_ms": o["added_p50_ms"],
            "met": o["added_p50_ms"] <= 1.0,
        }
        goals["sekisho_added_p99_le_5ms_at_sekisho_scale"] = {
            "value_ms": o["added_p99_ms"],
            "met": o["added_p99_ms"] <= 5.0,
        }
    return {"rows": rows, "sekisho_scale": own, "ratios": ratios, "goals": goals}


def environment(litellm_bin: Path | None, wrk: str) -> dict[str, Any]:
    def version(argv: list[str]) -> str:
        try:
            out = subprocess.run(argv, capture_output=True, text=True, timeout=60, check=False)
        except OSError:
            return "?"
        return (
            (out.stdout or out.stderr).strip().splitlines()[0] if (out.stdout or out.stderr).strip() else "?"
        )

    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in Path("/proc/cpuinfo").read_text().splitlines()
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    from importlib.metadata import version as dist_version

    env: dict[str, Any] = {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "memory_gib": round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1),
        "kernel": platform.release(),
        "python": platform.python_version(),
        "loadavg_at_start": Path("/proc/loadavg").read_text().split()[:3],
        "wrk": version([wrk, "--version"]).split(" [")[0],
        "sekisho": dist_version("sekisho"),
        "sekisho_git": version(["git", "-C", str(REPO), "rev-parse", "--short", "HEAD"]),
        "sekisho_git_modified_files": len(
            subprocess.run(
                ["git", "-C", str(REPO), "status", "--porcelain", "--untracked-files=no", "--", "src"],
                capture_output=True,
                text=True,
                timeout=60,
                check=False,
            ).stdout.splitlines()
        ),
        "sekisho_stack": {
            d: dist_version(d) for d in ("fastapi", "starlette", "uvicorn", "uvloop", "httpx", "sqlalchemy")
        },
    }
    if litellm_bin is not None:
        pip = litellm_bin.parent / "pip"
        freeze = subprocess.run(
            [str(pip), "freeze"], capture_output=True, text=True, timeout=120, check=False
        ).stdout
        pins = dict(line.split("==", 1) for line in freeze.splitlines() if "==" in line)
        env["litellm"] = pins.get("litellm", "?")
        env["litellm_python"] = version([str(litellm_bin.parent / "python"), "--version"])
        env["litellm_freeze"] = freeze.splitlines()
    return env


def fmt(value: Any, digits: int = 2) -> str:
    if value is None:
        return "–"
    if isinstance(value, float):
        return f"{value:.{digits}f}"
    return str(value)


def render_markdown(run: Run, summary: dict[str, Any], env: dict[str, Any]) -> str:
    s = run.settings
    rows = summary["rows"]
    lines = [
        "| target | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms | TTFT p50 ms | TTFT p99 ms "
        "| added TTFT p50 ms | max req/s | CPU ms/req |",
        "|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    for row in rows.values():
        lines.append(
            f"| {row['label']} | {fmt(row['p50_ms'])} | {fmt(row['p90_ms'])} | {fmt(row['p99_ms'])} "
            f"| {fmt(row.get('added_p50_ms'))} | {fmt(row.get('added_p99_ms'))} "
            f"| {fmt(row['ttft_p50_ms'])} | {fmt(row['ttft_p99_ms'])} | {fmt(row.get('added_ttft_p50_ms'))} "
            f"| {fmt(row['max_rps'], 0)} | {fmt(row['cpu_ms_per_request'])} |"
        )
    table = "\n".join(lines)
    ratios = summary["ratios"]
    goals = summary["goals"]
    out = [
        "# Gateway overhead benchmark",
        "",
        f"Run {env['date_utc']} on {env['cores']} cores ({env['cpu']}), {env['memory_gib']} GiB, "
        f"Linux {env['kernel']}; load average at start {' '.join(env['loadavg_at_start'])}.",
        f"Sekisho {env['sekisho']} (git {env['sekisho_git']}"
        + (
            f", {env['sekisho_git_modified_files']} files in src/ modified"
            if env["sekisho_git_modified_files"]
            else ""
        )
        + f"), Python {env['python']}; "
        f"LiteLLM {env.get('litellm', 'not run')}; {env['wrk']}.",
        "",
        table,
        "",
    ]
    bare, guarded = rows.get("sekisho"), rows.get("sekisho-guarded")
    if bare and guarded and "added_p50_ms" in bare and "added_p50_ms" in guarded:
        out += [
            "The default checks (every built-in detector over the prompt and the answer, the crisis "
            "check and the usage policy with its offline classifier) cost "
            f"{fmt(guarded['added_p50_ms'] - bare['added_p50_ms'])} ms at p50 and "
            f"{fmt(guarded['added_p99_ms'] - bare['added_p99_ms'])} ms at p99 on this short prompt, and "
            f"{fmt((guarded['cpu_ms_per_request'] or 0) - (bare['cpu_ms_per_request'] or 0))} ms of CPU per "
            "request. The goals below are measured on the spine (checks off), like-for-like with "
            "LiteLLM, which runs none.",
            "",
        ]
    for name, where in (("sekisho-limits", "in the process"), ("sekisho-limits-redis", "in Redis")):
        limited = rows.get(name)
        if bare and limited and "added_p50_ms" in bare and "added_p50_ms" in limited:
            p50 = limited["added_p50_ms"] - bare["added_p50_ms"]
            p99 = limited["added_p99_ms"] - bare["added_p99_ms"]
            cpu = (limited["cpu_ms_per_request"] or 0) - (bare["cpu_ms_per_request"] or 0)
            out += [
                f"Budgets and rate limits with counters {where} (every request reserves on 4 budgets and "
                f"5 rate counters, then settles) add {fmt(p50)} ms at p50 and {fmt(p99)} ms at p99 to the "
                f"spine, and {fmt(cpu)} ms of CPU per request.",
                "",
            ]
    own = summary.get("sekisho_scale", {})
    if own:
        out += [
            f"Non-streaming latency at **{run.own_rate:g} req/s** ({s.own_rate_fraction:g} of Sekisho's max "
            "req/s; LiteLLM cannot sustain this rate):",
            "",
            "| target | p50 ms | p90 ms | p99 ms | added p50 ms | added p99 ms | requests |",
            "|---|---:|---:|---:|---:|---:|---:|",
        ]
        for name, row in own.items():
            out.append(
                f"| {LABELS[name]} | {fmt(row['p50_ms'])} | {fmt(row['p90_ms'])} | {fmt(row['p99_ms'])} "
                f"| {fmt(row.get('added_p50_ms'))} | {fmt(row.get('added_p99_ms'))} | {row['requests']} |"
            )
        out.append("")
    if ratios:
        out += [
            "- LiteLLM's added latency ÷ Sekisho's: "
            f"p50 **{fmt(ratios['litellm_over_sekisho_added_p50'])}×**, "
            f"p99 {fmt(ratios['litellm_over_sekisho_added_p99'])}×, "
            f"TTFT p50 {fmt(ratios['litellm_over_sekisho_added_ttft_p50'])}×; "
            f"CPU per request {fmt(ratios['litellm_over_sekisho_cpu_per_request'])}×.",
            f"- Sekisho's max req/s ÷ LiteLLM's: **{fmt(ratios['sekisho_over_litellm_max_rps'])}×**.",
        ]
    if goals:
        names = {
            "sekisho_added_p50_le_1ms": "Sekisho added p50 ≤ 1 ms",
            "sekisho_added_p99_le_5ms": "Sekisho added p99 ≤ 5 ms",
            "overhead_5x_lower_than_litellm": "overhead ≥ 5× lower than LiteLLM (p50)",
            "max_rps_3x_litellm": "≥ 3× LiteLLM's req/s",
            "sekisho_added_p50_le_1ms_at_sekisho_scale": f"added p50 ≤ 1 ms at {run.own_rate:g} req/s",
            "sekisho_added_p99_le_5ms_at_sekisho_scale": f"added p99 ≤ 5 ms at {run.own_rate:g} req/s",
        }
        out.append(
            "- Targets: "
            + "; ".join(
                f"{names[k]}: {'met' if v['met'] else 'NOT met'} ({fmt(v.get('value_ms', v.get('value')))})"
                for k, v in goals.items()
            )
            + "."
        )
    direct = rows.get("direct", {})
    other = [
        r["cpu"]["other_cpu_s"] / r["cpu"]["seconds"]
        for phase in (run.max_rps, run.latency, run.streams)
        for results in phase.values()
        for r in results
        if r["cpu"]["seconds"] > 0
    ]
    out += [
        "",
        "How it was measured:",
        "",
        "- Same request to all three: one user message, non-streaming unless noted; the mock "
        "upstream answers `Echo: …` at once (it adds no latency of its own). Sekisho and LiteLLM "
        "each ran **1 worker** with uvloop. **Sekisho wrote its audit log to SQLite** (a durable "
        "`request.admitted` record before every upstream call, then the completion record and a "
        "usage row); **LiteLLM ran without a database** (no spend logs, master key only), its "
        "lightest setup.",
        f"- Latency (p50/p90/p99): `wrk -t1 -c{s.latency_connections}` with per-connection think time, "
        f"so every target got the same offered load of **{run.rate:g} req/s** (achieved: "
        + ", ".join(f"{n} {r['latency_achieved_rps']}" for n, r in rows.items())
        + f"), {s.rounds} interleaved rounds; each percentile is the median of the rounds' percentiles; "
        f"{direct.get('latency_requests', '?')} requests for `direct`, "
        + ", ".join(f"{r['latency_requests']} for {n}" for n, r in rows.items() if n != "direct")
        + ". Added = target − direct.",
        f"- TTFT: time from sending the request to the first SSE chunk whose `delta.content` is non-empty, "
        "from a small asyncio client (uvloop, raw HTTP/1.1 keep-alive), "
        f"{s.stream_concurrency} connections at the same offered rate; percentiles over all rounds' "
        "streams pooled.",
        f"- Max req/s: `wrk -t1 -c{s.max_rps_concurrency}` closed loop for {s.max_rps_seconds} s, median of "
        f"{s.rounds} rounds. CPU ms/req: the target process's user+system CPU time during that phase divided "
        f"by the requests it served (for `direct`, the mock's own cost).",
        f"- All of this shares {env['cores']} cores: the load generator, the mock upstream and the gateway. "
        f"CPU used by processes outside the benchmark during the measurements: median "
        f"{statistics.median(other) if other else 0:.2f} cores, max {max(other) if other else 0:.2f} cores. "
        "CPU ms/req is the figure least disturbed by such load.",
    ]
    if run.idle_cores:
        out.append(
            "- CPU while idle, after warm-up (cores): "
            + ", ".join(f"{n} {v:.3f}" for n, v in run.idle_cores.items())
            + "."
        )
    out += [f"- {note}" for note in run.notes]
    return "\n".join(out) + "\n"


def audit_records(work: Path) -> dict[str, int] | None:
    """Audit records by kind in Sekisho's SQLite database (read after Sekisho stopped)."""
    db = work / "sekisho-data" / "sekisho.db"
    if not db.exists():
        return None
    try:
        with contextlib.closing(sqlite3.connect(f"file:{db}?mode=ro", uri=True, timeout=30)) as conn:
            rows = conn.execute("SELECT kind, count(*) FROM audit_log GROUP BY kind").fetchall()
    except sqlite3.Error:
        return None
    return {str(kind): int(n) for kind, n in rows}
