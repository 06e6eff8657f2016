"""`sekisho serve` as a real process: JSON log lines, and metrics summed over several workers."""

from __future__ import annotations

import subprocess
import time
from collections.abc import Iterator
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path

import httpx
import orjson
import pytest
import yaml

from sekisho.testing import MockUpstream
from tests.conftest import SEKISHO_BIN, cli_env, free_port, mock_config, run_sekisho
from tests.observability.conftest import PROMPT, Samples


@pytest.fixture
def config(tmp_path: Path, upstream: tuple[MockUpstream, str]) -> Path:
    path = tmp_path / "sekisho.yaml"
    settings = {
        **mock_config(upstream[1]),
        "retry_backoff_seconds": 0.01,
        "key_cache_seconds": 0,
        "policy": {"local_classifier": False},  # starts in a second instead of loading the classifier
    }
    path.write_text(yaml.safe_dump(settings))
    return path


@contextmanager
def serving(tmp_path: Path, config: Path, *args: str, **env: str) -> Iterator[tuple[str, str, Path]]:
    """A running `sekisho serve`: its URL, an API key, and the file its standard error goes to."""
    environ = cli_env(tmp_path / "data", SEKISHO_CONFIG=str(config), **env)
    created = run_sekisho("keys", "create", "--name", "observability", env=environ)
    assert created.returncode == 0, created.stderr
    key = created.stdout.strip()
    port = free_port()
    errors = tmp_path / "stderr.log"
    with errors.open("w") as sink:
        process = subprocess.Popen(
            [str(SEKISHO_BIN), "serve", "--port", str(port), *args],
            env=environ,
            stdout=subprocess.DEVNULL,
            stderr=sink,
        )
        url = f"http://127.0.0.1:{port}"
        try:
            deadline = time.monotonic() + 180
            while True:
                try:
                    if httpx.get(f"{url}/healthz", timeout=2).status_code == 200:
                        break
                except httpx.TransportError:
                    pass
                assert process.poll() is None, errors.read_text()
                assert time.monotonic() < deadline, "sekisho serve did not start"
                time.sleep(0.2)
            yield url, key, errors
        finally:
            process.terminate()
            try:
                process.wait(timeout=30)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait(timeout=10)


def _ask(url: str, key: str, model: str = "gpt-4o-mini") -> httpx.Response:
    body = {"model": model, "messages": [{"role": "user", "content": PROMPT}]}
    return httpx.post(
        f"{url}/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}, timeout=30
    )


def test_serve_writes_json_lines_with_the_request_id(tmp_path: Path, config: Path) -> None:
    # (The test environment asks for WARNING; retries are logged at INFO.)
    with serving(tmp_path, config, "--log-format", "json", "--log-level", "info") as (url, key, errors):
        response = _ask(url, key, model="flaky")
        assert response.status_code == 200, response.text
        request_id = response.headers["x-request-id"]
        deadline = time.monotonic() + 10
        while "retrying flaky" not in errors.read_text() and time.monotonic() < deadline:
            time.sleep(0.1)
    lines = [orjson.loads(line) for line in errors.read_text().splitlines() if line.startswith("{")]
    retries = [line for line in lines if "retrying flaky" in line["message"]]
    assert len(retries) == 2, errors.read_text()
    assert {line["request_id"] for line in retries} == {request_id}
    assert key not in errors.read_text() and "zebra-prompt" not in errors.read_text()


@pytest.mark.slow
def test_several_workers_share_one_set_of_metrics(tmp_path: Path, config: Path) -> None:
    """prometheus_client's multiprocess mode: whichever worker answers a scrape reports them all."""
    directory = tmp_path / "prometheus"
    directory.mkdir()
    (directory / "counter_1.db").write_bytes(b"left over by a previous run")
    with serving(tmp_path, config, "--workers", "2", PROMETHEUS_MULTIPROC_DIR=str(directory)) as (
        url,
        key,
        errors,
    ):
        assert not (directory / "counter_1.db").exists()  # serve clears what an earlier run left
        with ThreadPoolExecutor(max_workers=6) as pool:  # concurrent, so both workers get some
            answered = list(pool.map(lambda _: _ask(url, key).status_code, range(12)))
        assert answered == [200] * 12
        deadline = time.monotonic() + 15
        totals = []
        # Each scrape is a new connection, answered by either worker; each must report all twelve.
        while len(totals) < 8:
            response = httpx.get(f"{url}/metrics", timeout=10)
            assert response.status_code == 200, response.text
            samples = Samples.parse(response.text)
            total = samples.value("sekisho_requests_total", route="/v1/chat/completions", status="200")
            if total < 12 and time.monotonic() < deadline:
                continue  # the last answers' counters are written as their final byte goes out
            totals.append(total)
        assert totals == [12] * 8, errors.read_text()[-3000:]
        # Both workers run in multiprocess mode (each wrote its build-info gauge file) ...
        assert len(list(directory.glob("gauge_max_*.db"))) == 2
        # ... and the gauge read from the database is reported once, not once per worker.
        assert samples.value("sekisho_review_queue_depth") == 0
