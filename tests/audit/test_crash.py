"""The durability promise, tested by killing a real ``sekisho serve`` process with SIGKILL mid-load.

Every admitted request ends on the record: completed or failed, or, when the process died first,
marked ``request.interrupted`` by the next start of the same instance. The chain survives the crash.
"""

from __future__ import annotations

import signal
import subprocess
import time
from collections import Counter
from collections.abc import Callable, Iterator
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any

import httpx
import orjson
import pytest
import yaml
from sqlalchemy import Engine, func, select

from sekisho.store import create_db_engine
from sekisho.store.tables import audit_log, inflight_requests
from sekisho.testing import MockUpstream
from tests.conftest import SEKISHO_BIN, cli_env, free_port, run_sekisho

pytestmark = [pytest.mark.slow, pytest.mark.timeout(240)]

INSTANCE = "crash-test-instance"
SLOW, FAST = 4, 12  # requests left hanging at the kill, requests finished before it


def server_config(base_url: str) -> dict[str, Any]:
    return {
        "retry_backoff_seconds": 0.01,
        "providers": [{"name": "mock", "type": "openai", "base_url": base_url, "api_key": "sk-upstream"}],
        "models": [
            {"name": "fast", "provider": "mock", "upstream_model": "mock-gpt"},
            # Long enough that these are certainly still waiting upstream when the process dies.
            {
                "name": "slow",
                "provider": "mock",
                "upstream_model": "mock-slow-8000",
                "timeout_seconds": 60,
                "max_retries": 0,
            },
        ],
    }


def wait_until(condition: Callable[[], bool], what: str, timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


class Server:
    """One ``sekisho serve`` subprocess on a free port, its output in a log file."""

    def __init__(self, env: dict[str, str], log: Path) -> None:
        self.port = free_port()
        self.url = f"http://127.0.0.1:{self.port}"
        self.log_path = log
        self._log = log.open("wb")
        self.proc = subprocess.Popen(
            [str(SEKISHO_BIN), "serve", "--port", str(self.port)],
            env=env,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )

    def log(self) -> str:
        return self.log_path.read_text(encoding="utf-8", errors="replace")

    def wait_healthy(self, timeout: float = 60.0) -> None:
        deadline = time.monotonic() + timeout
        while True:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited with {self.proc.returncode}:\n{self.log()}")
            try:
                if httpx.get(f"{self.url}/healthz", timeout=1.0).status_code == 200:
                    return
            except httpx.TransportError:
                pass
            if time.monotonic() > deadline:
                raise AssertionError(f"server did not become healthy:\n{self.log()}")
            time.sleep(0.05)

    def kill_9(self) -> None:
        self.proc.kill()  # SIGKILL: no shutdown handlers, no flush, nothing
        self.proc.wait(10)

    def stop(self) -> None:
        """Graceful stop (SIGTERM), as an orchestrator does."""
        self.proc.terminate()
        try:
            self.proc.wait(30)
        except subprocess.TimeoutExpired:
            self.kill_9()
            raise AssertionError(f"server ignored SIGTERM:\n{self.log()}") from None
        # uvicorn re-raises the signal after its graceful shutdown, so -SIGTERM is a clean exit too.
        assert self.proc.returncode in (0, -signal.SIGTERM), self.log()

    def close(self) -> None:
        if self.proc.poll() is None:
            self.kill_9()
        self._log.close()


@contextmanager
def serving(env: dict[str, str], log: Path) -> Iterator[Server]:
    server = Server(env, log)
    try:
        server.wait_healthy()
        yield server
    finally:
        server.close()


def records(engine: Engine) -> list[dict[str, Any]]:
    with engine.connect() as conn:
        return [
            orjson.loads(r)
            for r in conn.execute(select(audit_log.c.record).order_by(audit_log.c.seq)).scalars()
        ]


def of_kind(rows: list[dict[str, Any]], kind: str) -> list[dict[str, Any]]:
    return [r for r in rows if r["kind"] == kind]


def call(url: str, key: str, model: str) -> tuple[int, str] | httpx.TransportError:
    """One chat completion: (status, request id), or the transport error when the server died."""
    try:
        response = httpx.post(
            f"{url}/v1/chat/completions",
            headers={"authorization": f"Bearer {key}"},
            json={"model": model, "messages": [{"role": "user", "content": "are you there"}]},
            timeout=30.0,
        )
    except httpx.TransportError as exc:
        return exc
    return response.status_code, response.headers.get("x-request-id", "")


def test_kill_9_mid_load_leaves_every_admitted_request_accounted_for(
    database_url: str, upstream: tuple[MockUpstream, str], tmp_path: Path
) -> None:
    config = tmp_path / "sekisho.yaml"
    config.write_text(yaml.safe_dump(server_config(upstream[1])), encoding="utf-8")
    env = cli_env(
        tmp_path / "data",
        SEKISHO_CONFIG=str(config),
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_INSTANCE_ID=INSTANCE,
    )
    created = run_sekisho("keys", "create", "--name", "load", env=env)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    engine = create_db_engine(database_url)
    try:
        # 1. Load, then SIGKILL while the slow requests wait upstream.
        with serving(env, tmp_path / "run-1.log") as server, ThreadPoolExecutor(SLOW + FAST) as pool:
            slow: list[Future[Any]] = [pool.submit(call, server.url, key, "slow") for _ in range(SLOW)]
            fast: list[Future[Any]] = [pool.submit(call, server.url, key, "fast") for _ in range(FAST)]
            answered = [f.result(timeout=60) for f in fast]
            assert all(not isinstance(a, Exception) and a[0] == 200 for a in answered), answered

            def settled() -> bool:
                rows = records(engine)
                admitted_slow = [r for r in of_kind(rows, "request.admitted") if r["data"]["model"] == "slow"]
                return len(admitted_slow) == SLOW and len(of_kind(rows, "request.completed")) == FAST

            # In flight now means exactly the slow ones: admitted on the record, not finished.
            wait_until(settled, "the slow requests to be admitted and the fast ones recorded complete")
            server.kill_9()
            unanswered = [f.result(timeout=60) for f in slow]
        assert all(isinstance(u, httpx.TransportError) for u in unanswered), unanswered
        in_flight = len(unanswered)
        assert in_flight == SLOW >= 1

        # 2. The chain is intact after the crash.
        verified = run_sekisho("audit", "verify", env=env)
        assert verified.returncode == 0, verified.stderr
        assert of_kind(records(engine), "request.interrupted") == []

        # 3. Another instance starting does not claim this instance's unfinished requests.
        other = {**env, "SEKISHO_INSTANCE_ID": "some-other-replica"}
        with serving(other, tmp_path / "run-2.log") as server:
            server.stop()
        assert of_kind(records(engine), "request.interrupted") == []

        # 4. The same instance restarting marks exactly the requests that were in flight.
        with serving(env, tmp_path / "run-3.log") as server:
            server.stop()
            assert (
                f"marked {in_flight} requests interrupted by the previous run of {INSTANCE}" in server.log()
            )

        # 5. Every admitted request has exactly one end; the interrupted ones are the slow ones.
        rows = records(engine)
        admitted = {r["request_id"]: r for r in of_kind(rows, "request.admitted")}
        ends = Counter(
            r["request_id"]
            for r in rows
            if r["kind"] in {"request.completed", "request.failed", "request.interrupted"}
        )
        assert set(ends) == set(admitted) and set(ends.values()) == {1}
        interrupted = of_kind(rows, "request.interrupted")
        assert len(interrupted) == in_flight
        assert {r["request_id"] for r in interrupted} == {
            rid for rid, r in admitted.items() if r["data"]["model"] == "slow"
        }
        for record in interrupted:
            origin = admitted[record["request_id"]]
            assert record["instance_id"] == INSTANCE
            assert (record["actor"], record["org_id"], record["project_id"]) == (
                origin["actor"],
                origin["org_id"],
                origin["project_id"],
            )
        completed = {r["request_id"] for r in of_kind(rows, "request.completed")}
        assert {a[1] for a in answered} == completed
        with engine.connect() as conn:
            left = conn.execute(select(func.count()).select_from(inflight_requests)).scalar_one()
        assert left == 0  # nothing left for a later start to mark
        verified = run_sekisho("audit", "verify", env=env)
        assert verified.returncode == 0, verified.stderr
        assert verified.stdout.startswith(f"ok: {len(rows)} records")
    finally:
        engine.dispose()
