#!/usr/bin/env python3
"""Where Sekisho's added latency goes at moderate load: per-stage timings of real requests.

Runs Sekisho in this process (same settings and server options as ``sekisho serve``, one worker,
SQLite), wraps a few of its functions with timers at run time (nothing under src/ is changed), drives
it with ``wrk`` at a fixed moderate rate against the mock upstream, and prints p50/p90/p99 per stage:

- ``app``: ASGI entry to the last byte of the response handed to the server,
- ``authenticate``: API key → principal (cached),
- ``admit (audit wait)``: the durable ``request.admitted`` record, from queueing it to the commit,
  as the request sees it,
- ``writer transaction``: the writer thread's BEGIN … COMMIT for the batch that carried it,
- ``upstream call``: the provider's HTTP call to the mock upstream (includes the mock's own time),
- ``settle``: queueing the completion record and usage row.

Usage: ``.venv/bin/python benchmarks/gateway_overhead/breakdown.py [--rate 50] [--seconds 30]
[--switch-interval SECONDS] [--background-checkpoint] [--guardrails]`` (guardrails are off unless
asked for: this measures the spine).

Experiments (they change the running process only, never the code under src/):

- ``--switch-interval`` sets ``sys.setswitchinterval`` (CPython's default is 0.005 s), to see how
  much of the tail is threads waiting for the GIL;
- ``--background-checkpoint`` turns SQLite's automatic WAL checkpoint off on Sekisho's connections
  (``PRAGMA wal_autocheckpoint=0``) and checkpoints from a separate thread and connection every
  second instead (``PRAGMA wal_checkpoint(PASSIVE)``), to see how much of the tail is the automatic
  checkpoint that runs inside whichever COMMIT crosses 1000 WAL pages.
"""

from __future__ import annotations

import argparse
import collections
import functools
import os
import shutil
import statistics
import sys
import tempfile
import threading
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent))

import run as bench  # the benchmark's own helpers: services, wrk, ports

TIMINGS: dict[str, list[float]] = collections.defaultdict(list)
LOCK = threading.Lock()


def _record(name: str, seconds: float) -> None:
    with LOCK:
        TIMINGS[name].append(seconds)


def time_async(owner: Any, attr: str, name: str) -> None:
    original: Callable[..., Awaitable[Any]] = getattr(owner, attr)

    @functools.wraps(original)
    async def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return await original(*args, **kwargs)
        finally:
            _record(name, time.perf_counter() - t0)

    setattr(owner, attr, wrapper)


def time_sync(owner: Any, attr: str, name: str, size: Callable[..., int] | None = None) -> None:
    original: Callable[..., Any] = getattr(owner, attr)

    @functools.wraps(original)
    def wrapper(*args: Any, **kwargs: Any) -> Any:
        t0 = time.perf_counter()
        try:
            return original(*args, **kwargs)
        finally:
            _record(name, time.perf_counter() - t0)
            if size is not None:
                _record(f"{name} (rows in batch)", float(size(*args, **kwargs)))

    setattr(owner, attr, wrapper)


class TimedApp:
    """ASGI wrapper: time from the call to the end of the response body, for /v1 requests."""

    def __init__(self, app: Any) -> None:
        self.app = app

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] != "http" or not scope["path"].startswith("/v1/"):
            await self.app(scope, receive, send)
            return
        t0 = time.perf_counter()
        await self.app(scope, receive, send)
        _record("app", time.perf_counter() - t0)


def instrument() -> None:
    from sekisho.audit.log import AuditLog
    from sekisho.gateway import stages
    from sekisho.identity.authenticate import KeyAuthenticator
    from sekisho.providers import openai_http
    from sekisho.store.batch import BatchWriter

    time_async(KeyAuthenticator, "authenticate", "authenticate")
    time_async(AuditLog, "admitted", "admit (audit wait)")
    time_sync(BatchWriter, "_apply", "writer transaction", size=lambda _self, batch: len(batch))
    time_async(openai_http.OpenAIProvider, "chat", "upstream call")
    time_async(stages.Settle, "__call__", "settle")


def background_checkpoints(db: Path, stop: threading.Event) -> None:
    """Checkpoint the WAL every second from another connection (the fix --background-checkpoint tries)."""
    import sqlite3

    conn = sqlite3.connect(db, isolation_level=None, check_same_thread=False, timeout=10)
    try:
        while not stop.wait(1.0):
            t0 = time.perf_counter()
            conn.execute("PRAGMA wal_checkpoint(PASSIVE)").fetchall()
            _record("background checkpoint", time.perf_counter() - t0)
    finally:
        conn.close()


def disable_autocheckpoint() -> None:
    from sekisho.store import engine

    original = engine._sqlite_pragmas

    def pragmas(dbapi_connection: Any, record: Any) -> None:
        original(dbapi_connection, record)
        dbapi_connection.execute("PRAGMA wal_autocheckpoint=0")

    engine._sqlite_pragmas = pragmas


def report(rate: float, seconds: float, wrk_result: dict[str, Any]) -> str:
    lines = [
        f"{wrk_result['requests']} requests at {wrk_result['rps']:.1f} req/s offered {rate:g} "
        f"over {seconds:.0f} s; wrk client-side p50 {wrk_result['p50_us'] / 1e3:.2f} ms, "
        f"p99 {wrk_result['p99_us'] / 1e3:.2f} ms, errors {wrk_result['errors']}",
        "",
        f"{'stage':34} {'n':>6} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'mean ms':>8}",
    ]
    order = [
        "app",
        "authenticate",
        "admit (audit wait)",
        "writer transaction",
        "writer transaction (rows in batch)",
        "upstream call",
        "settle",
    ]
    for name in order + sorted(set(TIMINGS) - set(order)):
        values = sorted(TIMINGS.get(name, []))
        if not values:
            continue
        scale = 1.0 if "rows" in name else 1e3
        lines.append(
            f"{name:34} {len(values):6d} {bench.percentile(values, 50) * scale:8.3f} "
            f"{bench.percentile(values, 90) * scale:8.3f} {bench.percentile(values, 99) * scale:8.3f} "
            f"{statistics.fmean(values) * scale:8.3f}"
        )
    slow = [t for t in TIMINGS.get("writer transaction", []) if t > 0.003]
    lines.append(f"writer transactions over 3 ms: {len(slow)}")
    return "\n".join(lines)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rate", type=float, default=50.0, help="offered req/s (default 50)")
    parser.add_argument("--seconds", type=int, default=30)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--switch-interval", type=float, default=None)
    parser.add_argument("--background-checkpoint", action="store_true")
    parser.add_argument(
        "--key-cache-seconds", type=float, default=None, help="set key_cache_seconds (Sekisho's default: 2)"
    )
    parser.add_argument("--guardrails", action="store_true", help="run the default guardrails too")
    args = parser.parse_args()
    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: apt-get install -y wrk", file=sys.stderr)
        return 2
    if args.switch_interval is not None:
        sys.setswitchinterval(args.switch_interval)

    work = Path(tempfile.mkdtemp(prefix="sekisho-breakdown-"))
    mock_port, port = bench.free_port(), bench.free_port()
    mock = bench.Service(
        "mock",
        [
            sys.executable,
            "-m",
            "sekisho.testing.mock_upstream",
            "--host",
            bench.HOST,
            "--port",
            str(mock_port),
        ],
        bench.service_env(),
        work / "mock.log",
        work,
    )
    try:
        mock.start()
        bench.wait_ready(mock, mock_port, "/v1/models", 30)
        config = work / "sekisho.yaml"
        config.write_text(
            "providers:\n"
            f'  - {{name: mock, type: openai, base_url: "http://{bench.HOST}:{mock_port}/v1", '
            f"api_key: {bench.UPSTREAM_KEY}}}\n"
            "models:\n"
            f"  - {{name: {bench.PUBLIC_MODEL}, provider: mock, upstream_model: {bench.UPSTREAM_MODEL},"
            " input_cost_per_1m: 0.15, output_cost_per_1m: 0.60}\n"
            + (f"key_cache_seconds: {args.key_cache_seconds}\n" if args.key_cache_seconds is not None else "")
            + ("" if args.guardrails else "guardrails: {enabled: false}\n")
        )
        for key in [k for k in os.environ if k.startswith("SEKISHO_")]:
            del os.environ[key]
        os.environ["SEKISHO_DATA_DIR"] = str(work / "data")
        sekisho_bin = str(Path(sys.executable).parent / "sekisho")
        secret = bench.run_checked(
            [sekisho_bin, "keys", "create", "--config", str(config), "--name", "bench"]
        )
        target = bench.Target("sekisho", port, bench.PUBLIC_MODEL, f"Bearer {secret.split()[0]}", mock)

        instrument()
        if args.background_checkpoint:
            disable_autocheckpoint()
        stop_checkpoints = threading.Event()
        import uvicorn

        from sekisho.app import build_app
        from sekisho.settings import load_settings

        app = TimedApp(build_app(load_settings(config)))
        server = uvicorn.Server(
            uvicorn.Config(
                app,
                host=bench.HOST,
                port=port,
                access_log=False,
                log_level="warning",
                loop="uvloop",
                http="httptools",
                lifespan="on",
            )
        )
        outcome: dict[str, Any] = {}

        def drive() -> None:
            try:
                deadline = time.monotonic() + 60
                while not server.started and time.monotonic() < deadline:
                    time.sleep(0.1)
                bench.smoke_test(target)
                if args.background_checkpoint:
                    db = work / "data" / "sekisho.db"
                    threading.Thread(
                        target=background_checkpoints, args=(db, stop_checkpoints), daemon=True
                    ).start()
                bench.run_wrk(wrk, target, connections=8, duration_s=3)  # warm-up
                TIMINGS.clear()
                think_ms = 1000 * args.connections / args.rate
                outcome["wrk"] = bench.run_wrk(
                    wrk,
                    target,
                    connections=args.connections,
                    duration_s=args.seconds,
                    think_ms=think_ms,
                    max_requests=int(2 * args.rate * args.seconds),
                )
            except Exception as exc:  # reported after the server stops
                outcome["error"] = exc
            finally:
                stop_checkpoints.set()
                server.should_exit = True

        driver = threading.Thread(target=drive, daemon=True)
        driver.start()
        server.run()
        driver.join(30)
    finally:
        mock.stop()
        shutil.rmtree(work, ignore_errors=True)
    if "error" in outcome:
        raise outcome["error"]
    print(
        f"GIL switch interval {sys.getswitchinterval()} s; WAL checkpoints: "
        + ("background thread, every 1 s" if args.background_checkpoint else "SQLite automatic (default)")
    )
    print(report(args.rate, args.seconds, outcome["wrk"]))
    return 0


if __name__ == "__main__":
    sys.exit(main())
