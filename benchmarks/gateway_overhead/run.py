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
import collections
import contextlib
import http.client
import json
import os
import re
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

from procstat import own_cpu, session_cpu_seconds, system_cpu
from report import TARGETS, audit_records, environment, log, percentile, render_markdown, summarise
from ttft import CONTENT_RE, HOST, run_streams

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
RESULTS = HERE / "results"
LUA = HERE / "wrk_post.lua"
LITELLM_REQUIREMENTS = HERE / "litellm-requirements.txt"
DEFAULT_LITELLM_VENV = REPO / "benchmarks" / ".venv-litellm"
PROMPT = "Summarise what an AI gateway does in one short sentence, please."
MASTER_KEY = "sk-litellm-bench-master"
UPSTREAM_KEY = "sk-upstream"
PUBLIC_MODEL = "gpt-4o-mini"
UPSTREAM_MODEL = "mock-gpt"
LIMITS_MASTER_KEY = "sk-sekisho-bench-master"
LIMITS_PREFIX = f"sekisho-bench-{os.getpid()}:"


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
    guarded: bool = True
    budgets: bool = False
    redis_url: str = "redis://127.0.0.1:6379/0"


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

    # Sekisho twice, each on a fresh SQLite database with one worker: with every check off (the spine,
    # like-for-like with LiteLLM, which runs none) and as shipped (guardrails, crisis check, policy).
    for name, guardrails in (("sekisho", False), ("sekisho-guarded", True)):
        if name == "sekisho-guarded" and not run.settings.guarded:
            continue
        start_sekisho(run, work, sekisho_bin, upstream, name, guardrails=guardrails)
    if run.settings.budgets:
        # The spine again with budgets and rate limits on every request: counters in the process
        # (single node) and in Redis (what several replicas share).
        for name, backend in (("sekisho-limits", "memory"), ("sekisho-limits-redis", "redis")):
            start_sekisho(run, work, sekisho_bin, upstream, name, guardrails=False, limits=backend)

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


def start_sekisho(
    run: Run,
    work: Path,
    sekisho_bin: Path,
    upstream: str,
    name: str,
    *,
    guardrails: bool,
    limits: str | None = None,
) -> None:
    data_dir = work / f"{name}-data"
    shutil.rmtree(data_dir, ignore_errors=True)
    config = work / f"{name}.yaml"
    config.write_text(
        "providers:\n"
        f'  - {{name: mock, type: openai, base_url: "{upstream}", api_key: {UPSTREAM_KEY}}}\n'
        "models:\n"
        f"  - {{name: {PUBLIC_MODEL}, provider: mock, upstream_model: {UPSTREAM_MODEL},"
        " input_cost_per_1m: 0.15, output_cost_per_1m: 0.60}\n"
        # The bare spine runs no checks, like LiteLLM; "guarded" is Sekisho as shipped: guardrails,
        # the crisis check and the usage policy with its offline classifier.
        + (
            ""
            if guardrails
            else "guardrails: {enabled: false}\npolicy: {enabled: false}\ncrisis: {enabled: false}\n"
        )
        + (
            f'limits: {{backend: {limits}, redis_url: "{run.settings.redis_url}", '
            f'key_prefix: "{LIMITS_PREFIX}"}}\n'
            if limits
            else ""
        )
    )
    extra = {"SEKISHO_MASTER_KEY": LIMITS_MASTER_KEY} if limits else {}
    env = service_env(SEKISHO_DATA_DIR=str(data_dir), **extra)
    key = run_checked(
        [str(sekisho_bin), "keys", "create", "--config", str(config), "--name", "bench"], env=env
    )
    key = key.strip().splitlines()[0]
    port = free_port()
    service = Service(
        name,
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
        work / f"{name}.log",
        work,
    )
    run.services[name] = service
    service.start()
    wait_ready(service, port, "/healthz", 60)
    if limits:
        configure_limits(port)
    run.targets[name] = Target(name, port, PUBLIC_MODEL, f"Bearer {key}", service)


def configure_limits(port: int) -> None:
    """Budgets on the organisation, the project and the key (money and tokens) and rate limits on the
    key, the project and the model: every request reserves on 4 budgets and 5 rate counters. They are
    far larger than the benchmark can use, so what is measured is the checking, never a refusal."""
    auth = {"authorization": f"Bearer {LIMITS_MASTER_KEY}", "content-type": "application/json"}

    def call(method: str, path: str, body: dict[str, Any] | None = None) -> Any:
        status, raw = http_request(port, method, path, json.dumps(body).encode() if body else None, auth)
        if status not in (200, 201):
            raise RuntimeError(f"{method} {path}: {status} {raw[:300]!r}")
        return json.loads(raw)

    def post(path: str, body: dict[str, Any]) -> None:
        call("POST", path, body)

    key = call("GET", "/admin/v1/keys")[0]  # the one `sekisho keys create` made
    huge, often, project, key_id = 10**15, 2_000_000_000, key["project_id"], key["id"]
    for scope, scope_id, unit, period in [
        ("org", None, "usd", "month"),
        ("project", project, "usd", "day"),
        ("key", key_id, "usd", "day"),
        ("key", key_id, "tokens", "week"),
    ]:
        budget = {"scope_type": scope, "unit": unit, "amount": huge, "period": period}
        post("/admin/v1/budgets", {**budget, "scope_id": scope_id} if scope_id else budget)
    key_limit = {"requests_per_minute": often, "tokens_per_minute": often, "concurrent": 100_000}
    post("/admin/v1/rate-limits", {"scope_type": "key", "scope_id": key_id, **key_limit})
    post("/admin/v1/rate-limits", {"scope_type": "project", "scope_id": project, "concurrent": 100_000})
    model_limit = {"scope_type": "model", "scope_id": PUBLIC_MODEL, "requests_per_minute": often}
    post("/admin/v1/rate-limits", model_limit)


def clear_limits_keys(redis_url: str) -> None:
    """Remove the benchmark's Redis keys (they would expire by themselves within a day)."""
    try:
        import redis
    except ImportError:
        return
    client = redis.Redis.from_url(redis_url)
    try:
        for key in client.scan_iter(match=f"{LIMITS_PREFIX}*", count=500):
            client.delete(key)
    except redis.RedisError:
        pass
    finally:
        client.close()


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
            names: list[str] = [
                n
                for n in ("direct", "sekisho", "sekisho-guarded", "sekisho-limits", "sekisho-limits-redis")
                if n in run.targets
            ]
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
    parser.add_argument(
        "--skip-guarded", action="store_true", help="do not also measure Sekisho with its default guardrails"
    )
    parser.add_argument(
        "--budgets",
        action="store_true",
        help="also measure Sekisho (checks off) with budgets and rate limits on every request: "
        "in-process counters and Redis (--redis-url)",
    )
    parser.add_argument("--redis-url", default="redis://127.0.0.1:6379/0", help="Redis for --budgets")
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
        guarded=not args.skip_guarded,
        budgets=args.budgets,
        redis_url=args.redis_url,
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
    if settings.budgets:
        clear_limits_keys(settings.redis_url)
    for name in ("sekisho", "sekisho-guarded", "sekisho-limits", "sekisho-limits-redis"):
        shutil.rmtree(work / f"{name}-data", ignore_errors=True)  # the DBs are large; logs stay in work/
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
