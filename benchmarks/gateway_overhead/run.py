#!/usr/bin/env python3
"""Gateway overhead: the latency Sekisho adds and its top requests/second, beside LiteLLM, in one run.

Three targets answer the same OpenAI chat request from the same mock upstream
(``sekisho.testing.mock_upstream``):

- ``direct``:  the client calls the mock upstream itself (the baseline),
- ``sekisho``: through Sekisho (1 worker, SQLite audit log, default settings),
- ``litellm``: through the LiteLLM proxy (1 worker, no database, default settings otherwise).

For each target it measures, in interleaved rounds so that drifting background load hits every target
alike:

1. the top rate (non-streaming) with ``wrk`` at a high concurrency (closed loop, default 64),
2. non-streaming latency with ``wrk`` at one fixed, moderate offered rate that is the same for every
   target (default: a quarter of the slowest gateway's top rate),
3. streaming time to first token (first chunk with non-empty ``delta.content``) with a small asyncio
   client at the same moderate rate.

It also records how much CPU each process used per request, which stays meaningful when the
machine is shared. Results go to ``results/latest.json`` and ``results/latest.md``.

Run it as ``.venv/bin/python benchmarks/gateway_overhead/run.py`` (or ``make bench``). It needs
``wrk`` on PATH (``apt-get install wrk``) and builds the LiteLLM virtualenv
(``benchmarks/.venv-litellm``) from ``litellm-requirements.txt`` when it is missing.
Every load loop is bounded in time and count, targets only 127.0.0.1, and every subprocess is stopped
at the end, also on failure or Ctrl-C.
"""

from __future__ import annotations

import argparse
import asyncio
import collections
import contextlib
import http.client
import json
import math
import os
import platform
import random
import re
import resource
import shutil
import signal
import socket
import sqlite3
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
LUA = HERE / "wrk_post.lua"
LITELLM_REQUIREMENTS = HERE / "litellm-requirements.txt"
DEFAULT_LITELLM_VENV = REPO / "benchmarks" / ".venv-litellm"
HOST = "127.0.0.1"  # the only address this benchmark ever sends traffic to
CLK_TCK = os.sysconf("SC_CLK_TCK")
PROMPT = "Summarise what an AI gateway does in one short sentence, please."
MASTER_KEY = "sk-litellm-bench-master"
UPSTREAM_KEY = "sk-upstream"
PUBLIC_MODEL = "gpt-4o-mini"
UPSTREAM_MODEL = "mock-gpt"
# A chunk whose delta carries text: `"content":"x…` (an empty string or null does not count).
CONTENT_RE = re.compile(rb'"content"\s*:\s*"(?!")')
TARGETS = ("direct", "sekisho", "litellm")
LABELS = {"direct": "direct (mock upstream)", "sekisho": "Sekisho", "litellm": "LiteLLM proxy"}


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


# --------------------------------------------------------------------------------------------------
# CPU accounting from /proc


def _stat_fields(pid: int) -> list[str] | None:
    try:
        raw = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    # comm may contain spaces and parentheses: the fields start after the last ')'.
    return raw[raw.rindex(")") + 2 :].split()


def session_cpu_seconds(sid: int) -> float:
    """CPU seconds (user + system, reaped children included) of every process in session ``sid``."""
    ticks = 0
    for entry in os.scandir("/proc"):
        if not entry.name.isdigit():
            continue
        fields = _stat_fields(int(entry.name))
        if fields is None or int(fields[3]) != sid:
            continue
        ticks += sum(int(x) for x in fields[11:15])  # utime stime cutime cstime
    return ticks / CLK_TCK


def system_cpu() -> tuple[float, float]:
    """(busy, total) CPU seconds of the whole machine since boot, all cores."""
    parts = [int(x) for x in Path("/proc/stat").read_text().splitlines()[0].split()[1:]]
    total = sum(parts[:8])
    idle = parts[3] + parts[4]
    return (total - idle) / CLK_TCK, total / CLK_TCK


def own_cpu() -> tuple[float, float]:
    """(this process, reaped children) CPU seconds."""
    me = resource.getrusage(resource.RUSAGE_SELF)
    kids = resource.getrusage(resource.RUSAGE_CHILDREN)
    return me.ru_utime + me.ru_stime, kids.ru_utime + kids.ru_stime


# --------------------------------------------------------------------------------------------------
# Subprocesses


class Service:
    """A server started in its own session so that it and its children can be accounted and stopped."""

    def __init__(self, name: str, argv: list[str], env: dict[str, str], log_path: Path, cwd: Path) -> None:
        self.name = name
        self.argv = argv
        self.env = env
        self.log_path = log_path
        self.cwd = cwd
        self.proc: subprocess.Popen[bytes] | None = None

    def start(self) -> None:
        with open(self.log_path, "wb") as out:
            self.proc = subprocess.Popen(
                self.argv,
                env=self.env,
                cwd=self.cwd,
                stdin=subprocess.DEVNULL,
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,
            )

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    def alive(self) -> bool:
        return self.proc is not None and self.proc.poll() is None

    def cpu_seconds(self) -> float:
        return session_cpu_seconds(self.pid) if self.alive() else 0.0

    def log_tail(self, lines: int = 30) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""

    def stop(self) -> None:
        """SIGTERM to this service's own process group, SIGKILL after 15 s."""
        if self.proc is None:
            return
        if self.proc.poll() is None:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGTERM)
            try:
                self.proc.wait(15)
            except subprocess.TimeoutExpired:
                with contextlib.suppress(ProcessLookupError):
                    os.killpg(self.proc.pid, signal.SIGKILL)
                self.proc.wait(10)
        else:
            # The leader is gone; make sure nothing it started is left in its group.
            with contextlib.suppress(ProcessLookupError):
                os.killpg(self.proc.pid, signal.SIGKILL)


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((HOST, 0))
        return int(sock.getsockname()[1])


def http_request(
    port: int, method: str, path: str, body: bytes | None = None, headers: dict[str, str] | None = None
) -> tuple[int, bytes]:
    conn = http.client.HTTPConnection(HOST, port, timeout=15)
    try:
        conn.request(method, path, body=body, headers=headers or {})
        response = conn.getresponse()
        return response.status, response.read()
    finally:
        conn.close()


def wait_ready(service: Service, port: int, path: str, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if not service.alive():
            raise RuntimeError(f"{service.name} exited during start-up:\n{service.log_tail()}")
        with contextlib.suppress(OSError, http.client.HTTPException):
            status, _ = http_request(port, "GET", path)
            if status == 200:
                return
        time.sleep(0.25)
    raise RuntimeError(f"{service.name} not ready after {timeout:.0f} s:\n{service.log_tail()}")


def service_env(**extra: str) -> dict[str, str]:
    """The environment for the servers: ours, minus anything that could point them elsewhere."""
    env = {
        k: v
        for k, v in os.environ.items()
        if not k.startswith(("SEKISHO_", "LITELLM_"))
        and k.upper() not in {"DATABASE_URL", "HTTP_PROXY", "HTTPS_PROXY", "ALL_PROXY"}
    }
    env["NO_PROXY"] = env["no_proxy"] = "127.0.0.1,localhost"
    env.update(extra)
    return env


def run_checked(argv: list[str], *, env: dict[str, str] | None = None, timeout: float = 600) -> str:
    result = subprocess.run(argv, env=env, capture_output=True, text=True, timeout=timeout, check=False)
    if result.returncode != 0:
        raise RuntimeError(f"{' '.join(argv)} failed ({result.returncode}):\n{result.stderr[-3000:]}")
    return result.stdout


# --------------------------------------------------------------------------------------------------
# Targets


@dataclass
class Target:
    name: str
    port: int
    model: str
    auth: str
    service: Service  # the process whose CPU is charged to this target (the mock for `direct`)

    def body(self, *, stream: bool) -> bytes:
        payload: dict[str, Any] = {"model": self.model, "messages": [{"role": "user", "content": PROMPT}]}
        if stream:
            payload["stream"] = True
        return json.dumps(payload, separators=(",", ":")).encode()

    @property
    def url(self) -> str:
        return f"http://{HOST}:{self.port}/v1/chat/completions"

    def headers(self) -> dict[str, str]:
        return {"content-type": "application/json", "authorization": self.auth}


def smoke_test(target: Target) -> None:
    """One answer and one stream must come back right before anything is measured."""
    status, raw = http_request(
        target.port, "POST", "/v1/chat/completions", target.body(stream=False), target.headers()
    )
    if status != 200 or b"Echo: " not in raw:
        raise RuntimeError(f"{target.name}: unexpected answer {status}: {raw[:500]!r}")
    status, raw = http_request(
        target.port, "POST", "/v1/chat/completions", target.body(stream=True), target.headers()
    )
    if status != 200 or not CONTENT_RE.search(raw) or b"[DONE]" not in raw:
        raise RuntimeError(f"{target.name}: unexpected stream {status}: {raw[:500]!r}")


# --------------------------------------------------------------------------------------------------
# Measurement helpers


@dataclass
class CpuWindow:
    """CPU used during one measurement by the target, the mock, the load generator and everything else."""

    seconds: float = 0.0
    target_cpu_s: float = 0.0
    mock_cpu_s: float = 0.0
    loadgen_cpu_s: float = 0.0
    machine_busy_s: float = 0.0
    other_cpu_s: float = 0.0  # busy time not explained by the benchmark's own processes

    def per_request_ms(self, requests: int) -> dict[str, float | None]:
        if requests <= 0:
            return {"target": None, "mock": None, "loadgen": None}
        return {
            "target": round(1000 * self.target_cpu_s / requests, 3),
            "mock": round(1000 * self.mock_cpu_s / requests, 3),
            "loadgen": round(1000 * self.loadgen_cpu_s / requests, 3),
        }


@contextlib.contextmanager
def cpu_window(target: Target, services: dict[str, Service], loadgen_in_process: bool) -> Iterator[CpuWindow]:
    window = CpuWindow()
    live = [s for s in services.values() if s.alive()]
    before = {s.name: s.cpu_seconds() for s in live}
    busy0, _ = system_cpu()
    self0, kids0 = own_cpu()
    t0 = time.perf_counter()
    yield window
    window.seconds = time.perf_counter() - t0
    busy1, _ = system_cpu()
    self1, kids1 = own_cpu()
    after = {s.name: s.cpu_seconds() for s in live}
    used = {name: max(0.0, after[name] - before[name]) for name in before}
    window.target_cpu_s = used.get(target.service.name, 0.0)
    window.mock_cpu_s = used.get("mock", 0.0) if target.service.name != "mock" else 0.0
    window.loadgen_cpu_s = (kids1 - kids0) if not loadgen_in_process else (self1 - self0)
    window.machine_busy_s = busy1 - busy0
    ours = sum(used.values()) + (kids1 - kids0) + (self1 - self0)
    window.other_cpu_s = max(0.0, window.machine_busy_s - ours)


def run_wrk(
    wrk: str,
    target: Target,
    *,
    connections: int,
    duration_s: int,
    think_ms: float = 0.0,
    max_requests: int = 0,
    stream: bool = False,
) -> dict[str, Any]:
    env = dict(os.environ)
    env.update(
        BENCH_BODY=target.body(stream=stream).decode(),
        BENCH_AUTH=target.auth,
        BENCH_THINK_MS=f"{think_ms:.3f}",
        BENCH_MAX_REQUESTS=str(max_requests),
    )
    argv = [
        wrk,
        "-t1",
        f"-c{connections}",
        f"-d{duration_s}s",
        "--timeout",
        "10s",
        "-s",
        str(LUA),
        target.url,
    ]
    result = subprocess.run(
        argv, env=env, capture_output=True, text=True, timeout=duration_s + 60, check=False
    )
    line = next((x for x in result.stdout.splitlines() if x.startswith("BENCH_RESULT ")), None)
    if result.returncode != 0 or line is None:
        raise RuntimeError(
            f"wrk failed ({result.returncode}): {result.stdout[-2000:]} {result.stderr[-2000:]}"
        )
    data: dict[str, Any] = json.loads(line.removeprefix("BENCH_RESULT "))
    data["rps"] = data["requests"] / (data["duration_us"] / 1e6) if data["duration_us"] else 0.0
    data["errors"] = sum(
        data[k] for k in ("connect_errors", "read_errors", "write_errors", "status_errors", "timeouts")
    )
    return data


def percentile(sorted_values: list[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted list."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


# --------------------------------------------------------------------------------------------------
# Streaming client (time to first token)


class StreamError(Exception):
    pass


async def _read_stream(reader: asyncio.StreamReader, t0: float) -> tuple[float, float, bool]:
    """Read one HTTP/1.1 SSE response; returns (ttft s, total s, keep-alive)."""
    head = bytes(await reader.readuntil(b"\r\n\r\n"))
    status = int(head[9:12])
    lower = head.lower()
    keep_alive = b"connection: close" not in lower
    if b"transfer-encoding: chunked" not in lower:
        match = re.search(rb"content-length:\s*(\d+)", lower)
        rest = await (reader.readexactly(int(match.group(1))) if match else reader.read())
        raise StreamError(f"HTTP {status}, not a chunked stream: {rest[:200]!r}")
    body = bytearray()
    ttft: float | None = None
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            break
        data = await reader.readexactly(size + 2)
        start = max(0, len(body) - 32)
        body += data[:-2]
        if ttft is None and CONTENT_RE.search(body, start):
            ttft = time.perf_counter() - t0
    total = time.perf_counter() - t0
    if status != 200 or ttft is None or b"[DONE]" not in body:
        raise StreamError(f"HTTP {status}: {bytes(body[:200])!r}")
    return ttft, total, keep_alive


async def _stream_worker(
    target: Target, request: bytes, state: dict[str, Any], think_s: float, deadline: float
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while state["started"] < state["limit"] and time.monotonic() < deadline:
            if think_s > 0:
                await asyncio.sleep(think_s * (0.5 + random.random()))
            if state["started"] >= state["limit"] or time.monotonic() >= deadline:
                break
            state["started"] += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, target.port)
                assert reader is not None
                t0 = time.perf_counter()
                writer.write(request)
                ttft, total, keep_alive = await asyncio.wait_for(_read_stream(reader, t0), 30)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
                StreamError,
                ValueError,
            ) as exc:
                state["errors"] += 1
                state["last_error"] = f"{type(exc).__name__}: {exc}"[:300]
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            state["ttft"].append(ttft)
            state["total"].append(total)
            if not keep_alive:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _stream_load(
    target: Target, count: int, concurrency: int, think_s: float, max_s: float
) -> dict[str, Any]:
    body = target.body(stream=True)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}:{target.port}\r\n"
        f"Authorization: {target.auth}\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    state: dict[str, Any] = {
        "started": 0,
        "limit": count,
        "errors": 0,
        "ttft": [],
        "total": [],
        "last_error": None,
    }
    deadline = time.monotonic() + max_s
    t0 = time.perf_counter()
    await asyncio.gather(
        *(_stream_worker(target, request, state, think_s, deadline) for _ in range(concurrency))
    )
    state["seconds"] = time.perf_counter() - t0
    return state


def run_streams(
    target: Target, *, count: int, concurrency: int, think_s: float, max_s: float
) -> dict[str, Any]:
    coro = _stream_load(target, count, concurrency, think_s, max_s)
    try:
        import uvloop  # the same event loop the servers use; keeps the client's own cost small
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)


# --------------------------------------------------------------------------------------------------
# Orchestration


@dataclass
class Settings:
    rounds: int
    max_rps_concurrency: int
    max_rps_seconds: int
    rate: float | None
    rate_fraction: float
    own_rate_fraction: float
    latency_connections: int
    latency_requests: int
    latency_max_seconds: int
    stream_concurrency: int
    stream_requests: int
    stream_max_seconds: int
    warmup_seconds: int


@dataclass
class Run:
    settings: Settings
    targets: dict[str, Target] = field(default_factory=dict)
    services: dict[str, Service] = field(default_factory=dict)
    max_rps: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: collections.defaultdict(list))
    latency: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: collections.defaultdict(list))
    streams: dict[str, list[dict[str, Any]]] = field(default_factory=lambda: collections.defaultdict(list))
    latency_own: dict[str, list[dict[str, Any]]] = field(
        default_factory=lambda: collections.defaultdict(list)
    )
    sent: collections.Counter[str] = field(default_factory=collections.Counter)
    rate: float = 0.0
    own_rate: float = 0.0
    idle_cores: dict[str, float] = field(default_factory=dict)
    notes: list[str] = field(default_factory=list)


def ensure_litellm_venv(venv: Path) -> Path:
    litellm = venv / "bin" / "litellm"
    if litellm.exists():
        return litellm
    log(f"creating the LiteLLM virtualenv {venv} from {LITELLM_REQUIREMENTS.name} (one time)")
    python = shutil.which("python3.11") or shutil.which("python3") or sys.executable
    run_checked([python, "-m", "venv", str(venv)])
    run_checked(
        [str(venv / "bin" / "pip"), "install", "--quiet", "-r", str(LITELLM_REQUIREMENTS)], timeout=1800
    )
    return litellm


def start_services(run: Run, work: Path, litellm_bin: Path | None) -> None:
    venv_bin = Path(sys.executable).parent
    sekisho_bin = venv_bin / "sekisho"
    if not sekisho_bin.exists():
        raise RuntimeError(f"{sekisho_bin} not found: run this with the project's .venv/bin/python")

    mock_port = free_port()
    mock = Service(
        "mock",
        [sys.executable, "-m", "sekisho.testing.mock_upstream", "--host", HOST, "--port", str(mock_port)],
        service_env(),
        work / "mock.log",
        work,
    )
    run.services["mock"] = mock
    mock.start()
    wait_ready(mock, mock_port, "/v1/models", 30)
    run.targets["direct"] = Target("direct", mock_port, UPSTREAM_MODEL, f"Bearer {UPSTREAM_KEY}", mock)
    upstream = f"http://{HOST}:{mock_port}/v1"

    # Sekisho: a fresh SQLite database, default settings, one worker.
    data_dir = work / "sekisho-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    config = work / "sekisho.yaml"
    config.write_text(
        "providers:\n"
        f'  - {{name: mock, type: openai, base_url: "{upstream}", api_key: {UPSTREAM_KEY}}}\n'
        "models:\n"
        f"  - {{name: {PUBLIC_MODEL}, provider: mock, upstream_model: {UPSTREAM_MODEL},"
        " input_cost_per_1m: 0.15, output_cost_per_1m: 0.60}\n"
    )
    env = service_env(SEKISHO_DATA_DIR=str(data_dir))
    key = run_checked(
        [str(sekisho_bin), "keys", "create", "--config", str(config), "--name", "bench"], env=env
    )
    key = key.strip().splitlines()[0]
    port = free_port()
    sekisho = Service(
        "sekisho",
        [
            str(sekisho_bin),
            "serve",
            "--config",
            str(config),
            "--host",
            HOST,
            "--port",
            str(port),
            "--workers",
            "1",
        ],
        env,
        work / "sekisho.log",
        work,
    )
    run.services["sekisho"] = sekisho
    sekisho.start()
    wait_ready(sekisho, port, "/healthz", 60)
    run.targets["sekisho"] = Target("sekisho", port, PUBLIC_MODEL, f"Bearer {key}", sekisho)

    if litellm_bin is not None:
        config = work / "litellm.yaml"
        config.write_text(
            "model_list:\n"
            f"  - model_name: {PUBLIC_MODEL}\n"
            "    litellm_params:\n"
            f"      model: openai/{UPSTREAM_MODEL}\n"
            f"      api_base: {upstream}\n"
            f"      api_key: {UPSTREAM_KEY}\n"
            # The same prices Sekisho is configured with, so both gateways price every call.
            "      input_cost_per_token: 1.5e-07\n"
            "      output_cost_per_token: 6.0e-07\n"
            "general_settings:\n"
            f"  master_key: {MASTER_KEY}\n"
        )
        port = free_port()
        litellm = Service(
            "litellm",
            [
                str(litellm_bin),
                "--config",
                str(config),
                "--host",
                HOST,
                "--port",
                str(port),
                "--num_workers",
                "1",
            ],
            # No DATABASE_URL: no Postgres, no spend logs. The bundled cost map, no fetch at start-up.
            service_env(LITELLM_LOCAL_MODEL_COST_MAP="True", LITELLM_DONT_SHOW_FEEDBACK_BOX="true"),
            work / "litellm.log",
            work,
        )
        run.services["litellm"] = litellm
        litellm.start()
        wait_ready(litellm, port, "/health/liveliness", 180)
        run.targets["litellm"] = Target("litellm", port, PUBLIC_MODEL, f"Bearer {MASTER_KEY}", litellm)


def order_for(run: Run, round_no: int) -> list[Target]:
    names = [n for n in TARGETS if n in run.targets]
    shift = round_no % len(names)
    return [run.targets[n] for n in names[shift:] + names[:shift]]


def latency_phase(
    run: Run,
    wrk: str,
    label: str,
    rate: float,
    names: list[str],
    warm_latency: dict[str, float],
    store: dict[str, list[dict[str, Any]]],
) -> None:
    """Non-streaming latency at a fixed offered rate, in interleaved rounds."""
    s = run.settings
    rounds = s.rounds
    per_round_requests = max(100, s.latency_requests // rounds)
    per_round_seconds = max(5, min(s.latency_max_seconds // rounds, round(per_round_requests / rate)))
    for r in range(rounds):
        for target in order_for(run, r):
            if target.name not in names:
                continue
            c = s.latency_connections
            # Each connection pauses (think time) so that the offered rate is `rate` whatever the latency.
            think_ms = max(1.0, 1000 * c / rate - warm_latency[target.name])
            with cpu_window(target, run.services, loadgen_in_process=False) as cpu:
                res = run_wrk(
                    wrk,
                    target,
                    connections=c,
                    duration_s=per_round_seconds,
                    think_ms=think_ms,
                    max_requests=2 * max(per_round_requests, round(rate * per_round_seconds)),
                )
            run.sent[target.name] += res["requests"]
            res["cpu"] = asdict(cpu)
            res["think_ms"] = think_ms
            res["offered_rps"] = rate
            store[target.name].append(res)
            log(
                f"{label:11} round {r + 1}/{rounds} {target.name:8} p50 {res['p50_us'] / 1e3:7.2f} ms  "
                f"p99 {res['p99_us'] / 1e3:7.2f} ms  n={res['requests']}  {res['rps']:.1f} req/s  "
                f"errors {res['errors']}  other load {cpu.other_cpu_s / cpu.seconds:.2f} cores"
            )


def measure(run: Run, wrk: str) -> None:
    s = run.settings
    rounds = s.rounds

    log("warming up (and checking that every target answers correctly)")
    warm_latency: dict[str, float] = {}
    for target in order_for(run, 0):
        smoke_test(target)
        run.sent[target.name] += 2
        run.sent[target.name] += run_wrk(wrk, target, connections=8, duration_s=s.warmup_seconds)["requests"]
        low = run_wrk(wrk, target, connections=1, duration_s=2)
        run.sent[target.name] += low["requests"]
        warm_latency[target.name] = low["mean_us"] / 1e3
        warm = run_streams(target, count=50, concurrency=2, think_s=0.0, max_s=20)
        run.sent[target.name] += warm["started"]

    log("measuring idle CPU of every server (5 s, no traffic)")
    before = {name: svc.cpu_seconds() for name, svc in run.services.items()}
    t0 = time.perf_counter()
    time.sleep(5)
    elapsed = time.perf_counter() - t0
    run.idle_cores = {
        name: round((svc.cpu_seconds() - before[name]) / elapsed, 4) for name, svc in run.services.items()
    }
    log("idle CPU (cores): " + ", ".join(f"{n} {v:.3f}" for n, v in run.idle_cores.items()))

    for r in range(rounds):
        for target in order_for(run, r):
            with cpu_window(target, run.services, loadgen_in_process=False) as cpu:
                res = run_wrk(wrk, target, connections=s.max_rps_concurrency, duration_s=s.max_rps_seconds)
            run.sent[target.name] += res["requests"]
            res["target_service"] = target.service.name
            res["cpu"] = asdict(cpu)
            res["cpu_ms_per_request"] = cpu.per_request_ms(res["requests"])
            run.max_rps[target.name].append(res)
            log(
                f"max rps   round {r + 1}/{rounds} {target.name:8} {res['rps']:9.1f} req/s  "
                f"errors {res['errors']}  cpu/req {res['cpu_ms_per_request']['target']} ms  "
                f"other load {cpu.other_cpu_s / cpu.seconds:.2f} cores"
            )

    gateways = [n for n in ("sekisho", "litellm") if n in run.targets]
    slowest = min(statistics.median(x["rps"] for x in run.max_rps[n]) for n in gateways)
    if s.rate is not None:
        run.rate = s.rate
    else:
        run.rate = max(5.0, min(200.0, round(slowest * s.rate_fraction)))
    log(f"moderate load: {run.rate:g} req/s offered to every target (slowest gateway top rate {slowest:.0f})")

    latency_phase(run, wrk, "latency", run.rate, list(run.targets), warm_latency, run.latency)

    if s.own_rate_fraction > 0 and "sekisho" in run.targets:
        # The common rate is set by the slowest gateway; Sekisho (and the bare upstream) are also measured
        # at the same fraction of Sekisho's own top rate, where its caches and threads stay warm.
        top = statistics.median(x["rps"] for x in run.max_rps["sekisho"])
        run.own_rate = max(run.rate, min(1000.0, round(top * s.own_rate_fraction)))
        if run.own_rate > run.rate:
            log(f"Sekisho-scale load: {run.own_rate:g} req/s offered to direct and sekisho")
            names: list[str] = [n for n in ("direct", "sekisho") if n in run.targets]
            latency_phase(run, wrk, "latency@own", run.own_rate, names, warm_latency, run.latency_own)

    per_round_streams = max(50, s.stream_requests // rounds)
    for r in range(rounds):
        for target in order_for(run, r):
            c = s.stream_concurrency
            think_s = max(0.001, c / run.rate - warm_latency[target.name] / 1e3)
            with cpu_window(target, run.services, loadgen_in_process=True) as cpu:
                res = run_streams(
                    target,
                    count=per_round_streams,
                    concurrency=c,
                    think_s=think_s,
                    max_s=max(10, s.stream_max_seconds // rounds),
                )
            run.sent[target.name] += res["started"]
            res["cpu"] = asdict(cpu)
            run.streams[target.name].append(res)
            ttft = sorted(res["ttft"])
            log(
                f"ttft      round {r + 1}/{rounds} {target.name:8} p50 {percentile(ttft, 50) * 1e3:7.2f} ms  "
                f"p99 {percentile(ttft, 99) * 1e3:7.2f} ms  n={len(ttft)}  errors {res['errors']}"
                + (f" ({res['last_error']})" if res["errors"] else "")
            )


def profile_sekisho(run: Run, wrk: str, py_spy: str, seconds: int) -> dict[str, Any]:
    """py-spy Sekisho under the max-rps load, sampling the thread that holds the GIL (where CPU goes)."""
    target = run.targets["sekisho"]
    folded = RESULTS / "sekisho-profile-gil.folded"
    argv = [py_spy, "record", "-p", str(target.service.pid), "-d", str(seconds), "-r", "250"]
    spy = subprocess.Popen(
        [*argv, "-f", "raw", "-o", str(folded), "--gil"], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL
    )
    try:
        res = run_wrk(wrk, target, connections=run.settings.max_rps_concurrency, duration_s=seconds + 1)
        run.sent["sekisho"] += res["requests"]
    finally:
        spy.wait(seconds + 60)
    return {"folded": str(folded.relative_to(REPO)), "rps": res["rps"], **summarise_folded(folded)}


def summarise_folded(path: Path, top: int = 25) -> dict[str, Any]:
    """Top frames by own samples and by inclusive samples, and samples per thread."""
    own: collections.Counter[str] = collections.Counter()
    incl: collections.Counter[str] = collections.Counter()
    threads: collections.Counter[str] = collections.Counter()
    total = 0
    if not path.exists():
        return {"samples": 0}
    for line in path.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if not count.isdigit():
            continue
        n = int(count)
        frames = [re.sub(r":\d+\)$", ")", f) for f in stack.split(";")]
        total += n
        threads[frames[0]] += n
        own[frames[-1]] += n
        for frame in set(frames):
            incl[frame] += n

    def share(counter: collections.Counter[str]) -> list[list[Any]]:
        return [[name, round(100 * n / total, 1)] for name, n in counter.most_common(top)]

    return {"samples": total, "threads": share(threads), "self_pct": share(own), "inclusive_pct": share(incl)}


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
    if "direct" in own and "sekisho" in own:
        for k in ("p50", "p90", "p99"):
            own["sekisho"][f"added_{k}_ms"] = round(own["sekisho"][f"{k}_ms"] - own["direct"][f"{k}_ms"], 3)
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


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--rounds", type=int, default=3, help="interleaved rounds per phase (default 3)")
    parser.add_argument("--max-rps-concurrency", type=int, default=64)
    parser.add_argument("--max-rps-seconds", type=int, default=10, help="per round and target")
    parser.add_argument(
        "--rate",
        type=float,
        default=None,
        help="moderate offered load in req/s (default: --rate-fraction "
        "of the slowest gateway's max req/s, between 5 and 200)",
    )
    parser.add_argument("--rate-fraction", type=float, default=0.25)
    parser.add_argument(
        "--own-rate-fraction",
        type=float,
        default=0.25,
        help="also measure direct and Sekisho at this fraction of Sekisho's own max req/s (0 = skip)",
    )
    parser.add_argument("--latency-connections", type=int, default=8)
    parser.add_argument("--latency-requests", type=int, default=3000, help="per target, all rounds together")
    parser.add_argument(
        "--latency-max-seconds", type=int, default=180, help="per target, all rounds together"
    )
    parser.add_argument("--stream-concurrency", type=int, default=4)
    parser.add_argument("--stream-requests", type=int, default=900, help="per target, all rounds together")
    parser.add_argument("--stream-max-seconds", type=int, default=60, help="per target, all rounds together")
    parser.add_argument("--warmup-seconds", type=int, default=3)
    parser.add_argument(
        "--quick", action="store_true", help="1 round, short phases (a smoke run, not for numbers)"
    )
    parser.add_argument("--skip-litellm", action="store_true", help="measure direct and Sekisho only")
    parser.add_argument("--litellm-venv", type=Path, default=DEFAULT_LITELLM_VENV)
    parser.add_argument("--profile", action="store_true", help="also py-spy Sekisho under the max-rps load")
    parser.add_argument("--py-spy", default=shutil.which("py-spy"), help="py-spy binary for --profile")
    parser.add_argument("--out", type=Path, default=RESULTS, help="where latest.json and latest.md go")
    args = parser.parse_args(argv)
    if args.quick:
        args.rounds, args.max_rps_seconds, args.latency_requests = 1, 5, 500
        args.latency_max_seconds, args.stream_requests, args.stream_max_seconds = 20, 150, 20

    wrk = shutil.which("wrk")
    if wrk is None:
        print("wrk is not installed: apt-get update && apt-get install -y wrk", file=sys.stderr)
        return 2
    if args.profile and not args.py_spy:
        print(
            "--profile needs py-spy (pip install py-spy into any virtualenv; pass --py-spy PATH)",
            file=sys.stderr,
        )
        return 2
    settings = Settings(
        rounds=max(1, args.rounds),
        max_rps_concurrency=args.max_rps_concurrency,
        max_rps_seconds=args.max_rps_seconds,
        rate=args.rate,
        rate_fraction=args.rate_fraction,
        own_rate_fraction=args.own_rate_fraction,
        latency_connections=args.latency_connections,
        latency_requests=args.latency_requests,
        latency_max_seconds=args.latency_max_seconds,
        stream_concurrency=args.stream_concurrency,
        stream_requests=args.stream_requests,
        stream_max_seconds=args.stream_max_seconds,
        warmup_seconds=args.warmup_seconds,
    )
    run = Run(settings)
    args.out.mkdir(parents=True, exist_ok=True)
    work = HERE / "work"
    work.mkdir(exist_ok=True)

    def on_signal(signum: int, _frame: Any) -> None:
        raise KeyboardInterrupt(f"signal {signum}")

    signal.signal(signal.SIGTERM, on_signal)

    def stop_all() -> None:
        for service in reversed(list(run.services.values())):
            service.stop()

    started = time.monotonic()
    try:
        litellm_bin = None if args.skip_litellm else ensure_litellm_venv(args.litellm_venv)
        env = environment(litellm_bin, wrk)
        log(f"Sekisho {env['sekisho']}, LiteLLM {env.get('litellm', 'skipped')}, {env['wrk']}")
        log(f"machine: {env['cores']} cores, load average {' '.join(env['loadavg_at_start'])}")
        start_services(run, work, litellm_bin)
        log("started: " + ", ".join(f"{n} on :{t.port}" for n, t in run.targets.items()))
        measure(run, wrk)
        profile = None
        if args.profile:
            log("profiling Sekisho with py-spy under the max-rps load")
            profile = profile_sekisho(run, wrk, args.py_spy, 10)
    finally:
        stop_all()
    records = audit_records(work)
    shutil.rmtree(work / "sekisho-data", ignore_errors=True)  # the DB is large; the logs stay in work/
    if records is not None and "sekisho" in run.targets:
        kinds = ", ".join(f"{n} {k}" for k, n in sorted(records.items()))
        run.notes.append(
            f"Sekisho's audit log after the run: {kinds}; the load generators counted {run.sent['sekisho']} "
            "answers from Sekisho (a few requests still in flight when wrk stops are answered but not "
            "counted)."
        )
    summary = summarise(run)
    markdown = render_markdown(run, summary, env)
    result = {
        "benchmark": "gateway_overhead",
        "environment": env,
        "settings": asdict(settings),
        "moderate_rate_rps": run.rate,
        "sekisho_scale_rate_rps": run.own_rate,
        "answers_counted": dict(run.sent),
        "idle_cores": run.idle_cores,
        "summary": summary,
        "raw": {
            "max_rps": run.max_rps,
            "latency": run.latency,
            "latency_at_sekisho_scale": run.latency_own,
            "streams": {
                n: [{k: v for k, v in r.items() if k not in ("ttft", "total")} for r in rs]
                for n, rs in run.streams.items()
            },
            "ttft_ms": {
                n: [round(x * 1e3, 3) for r in rs for x in r["ttft"]] for n, rs in run.streams.items()
            },
        },
        "profile": profile,
        "notes": run.notes,
        "elapsed_s": round(time.monotonic() - started, 1),
    }
    (args.out / "latest.json").write_text(json.dumps(result, indent=2) + "\n")
    (args.out / "latest.md").write_text(markdown)
    print()
    print(markdown)
    print(f"wrote {args.out / 'latest.json'} and {args.out / 'latest.md'}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
