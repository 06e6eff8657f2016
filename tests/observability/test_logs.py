"""Structured logs: the request id in every line, header and audit record; no secret ever logged."""

from __future__ import annotations

import io
import logging
from collections.abc import Callable, Iterator
from typing import Any

import orjson
import pytest

from sekisho.observability.logs import Redactor, build_handler, resolve_format, secret_values
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway
from tests.observability.conftest import PROMPT, Observed, observed_config, observed_gateway

pytestmark = pytest.mark.anyio
UPSTREAM_KEY = "sk-upstream-secret"  # what tests.conftest.mock_config gives the mock provider


class Lines:
    """JSON log lines written by Sekisho's own handler, attached to the root logger."""

    def __init__(self, stream: io.StringIO) -> None:
        self.stream = stream

    @property
    def text(self) -> str:
        return self.stream.getvalue()

    def records(self) -> list[dict[str, Any]]:
        return [orjson.loads(line) for line in self.text.splitlines() if line.strip()]


@pytest.fixture
def json_lines() -> Iterator[Callable[[Settings], Lines]]:
    root = logging.getLogger()
    level = root.level
    handlers: list[logging.Handler] = []

    def attach(settings: Settings) -> Lines:
        stream = io.StringIO()
        handler = build_handler("json", secrets=secret_values(settings), stream=stream)
        root.addHandler(handler)
        handlers.append(handler)
        root.setLevel(logging.DEBUG)
        return Lines(stream)

    yield attach
    for handler in handlers:
        root.removeHandler(handler)
    root.setLevel(level)


def audit_of(gw: Gateway, request_id: str) -> list[dict[str, Any]]:
    gw.flush()
    return [r for r in gw.core.audit.export() if r["request_id"] == request_id]


async def test_one_request_id_in_header_audit_record_and_log_lines(
    observed: Observed, json_lines: Callable[[Settings], Lines]
) -> None:
    lines = json_lines(observed.gw.settings)
    response = await observed.chat(model="flaky")  # fails twice upstream, then answers: retries are logged
    assert response.status_code == 200
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_")
    kinds = {r["kind"] for r in audit_of(observed.gw, request_id)}
    assert {"request.admitted", "request.completed"} <= kinds
    retries = [r for r in lines.records() if r["logger"] == "sekisho.providers"]
    assert len(retries) == 2, lines.text
    assert {r["request_id"] for r in retries} == {request_id}
    assert {"ts", "level", "message", "trace_id", "span_id"} <= set(retries[0])
    root_span = next(s for s in observed.finished() if s.parent is None or s.name.startswith("POST"))
    assert retries[0]["trace_id"] == format(root_span.context.trace_id, "032x")
    # Every answer carries an id, also those that do not come from the gateway's routes.
    for path in ("/healthz", "/admin/v1/projects", "/no/such/path"):
        answer = await observed.client.get(path, headers={"authorization": f"Bearer {observed.admin_key}"})
        assert answer.headers["x-request-id"].startswith("req_"), path


async def test_a_clients_request_id_is_kept_beside_sekishos_own(
    observed: Observed, json_lines: Callable[[Settings], Lines]
) -> None:
    lines = json_lines(observed.gw.settings)
    # (A malformed X-Client-Request-Id beside it is ignored; the well-formed X-Request-Id is kept.)
    headers = {**observed.gw.headers(), "x-request-id": "client-0123456789", "x-client-request-id": "a b"}
    body = {"model": "flaky", "messages": [{"role": "user", "content": PROMPT}]}
    response = await observed.client.post("/v1/chat/completions", json=body, headers=headers)
    assert response.status_code == 200
    # The audit record's key is never the client's choice (two requests could share one).
    request_id = response.headers["x-request-id"]
    assert request_id.startswith("req_") and audit_of(observed.gw, request_id)
    logged = [r for r in lines.records() if r.get("request_id") == request_id]
    assert logged and {r["client_request_id"] for r in logged} == {"client-0123456789"}

    for malformed in ("has spaces in it", "x" * 65, "short"):
        headers = {**observed.gw.headers(), "x-client-request-id": malformed}
        answer = await observed.client.post("/v1/chat/completions", json=body, headers=headers)
        assert answer.status_code == 200
        assert malformed not in lines.text


async def test_a_trusted_proxys_request_id_is_adopted(
    upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    # The in-process client connects from 127.0.0.1: here that is the operator's load balancer.
    config = observed_config(upstream[1], network={"trusted_proxies": ["127.0.0.1"]})
    async with observed_gateway(make_settings(config, SEKISHO_MASTER_KEY=MASTER_KEY)) as observed:
        headers = {**observed.gw.headers(), "x-request-id": "lb-4f6c0e6a2b7d4f7e"}
        body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
        response = await observed.client.post("/v1/chat/completions", json=body, headers=headers)
        assert response.headers["x-request-id"] == "lb-4f6c0e6a2b7d4f7e"
        assert {r["kind"] for r in audit_of(observed.gw, "lb-4f6c0e6a2b7d4f7e")} >= {"request.completed"}
        bad = await observed.client.post(
            "/v1/chat/completions", json=body, headers={**observed.gw.headers(), "x-request-id": "bad id"}
        )
        assert bad.headers["x-request-id"].startswith("req_")


async def test_no_key_secret_or_prompt_is_ever_logged(
    observed: Observed,
    json_lines: Callable[[Settings], Lines],
    caplog: pytest.LogCaptureFixture,
    capfd: pytest.CaptureFixture[str],
) -> None:
    caplog.set_level(logging.DEBUG)
    lines = json_lines(observed.gw.settings)
    wrong_key = "sk-sks-" + "W" * 43
    client = observed.client
    statuses = [
        (await observed.chat()).status_code,
        (await observed.chat(stream=True)).status_code,
        (await observed.chat(model="flaky")).status_code,
        (await observed.chat(model="always-500")).status_code,
        (await observed.chat(model="always-429")).status_code,
        (await observed.chat(model="slow")).status_code,
        (await observed.chat(model="bad-request")).status_code,
        (await observed.chat(model="drops", stream=True)).status_code,
        (
            await client.post(
                "/v1/chat/completions",
                json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]},
                headers={"authorization": f"Bearer {wrong_key}"},
            )
        ).status_code,
        (
            await client.get("/admin/v1/projects", headers={"authorization": f"Bearer {MASTER_KEY}"})
        ).status_code,
    ]
    assert statuses == [200, 200, 200, 502, 429, 504, 400, 200, 401, 200]
    out, err = capfd.readouterr()
    logged = "\n".join([caplog.text, lines.text, out, err])
    # Something was logged (retries, failures, the broken stream): the check below is not vacuous.
    assert len(lines.records()) >= 4 and "sekisho" in caplog.text
    for secret in (observed.gw.key, wrong_key, UPSTREAM_KEY, MASTER_KEY, PROMPT, "zebra-prompt-4f1c"):
        assert secret not in logged, f"{secret[:12]}… was logged"
    # Nor any part of a key beyond the prefix Sekisho shows everywhere (sk-sks- and 8 characters).
    assert observed.gw.key[15:30] not in logged


def test_json_and_text_formats() -> None:
    record = logging.LogRecord("sekisho.x", logging.WARNING, __file__, 1, "hello %s", ("world",), None)
    record.tenant = "acme"
    stream = io.StringIO()
    handler = build_handler("json", stream=stream)
    handler.handle(record)
    line = orjson.loads(stream.getvalue())
    assert line["message"] == "hello world" and line["level"] == "WARNING" and line["logger"] == "sekisho.x"
    assert line["tenant"] == "acme" and "request_id" not in line
    assert line["ts"].endswith("+00:00")
    stream = io.StringIO()
    build_handler("text", stream=stream).handle(record)
    assert stream.getvalue().rstrip().endswith("WARNING sekisho.x [-] hello world")


def test_auto_is_text_on_a_terminal_and_json_elsewhere() -> None:
    class Terminal(io.StringIO):
        def isatty(self) -> bool:
            return True

    assert resolve_format("auto", Terminal()) == "text"
    assert resolve_format("auto", io.StringIO()) == "json"
    assert resolve_format("json", Terminal()) == "json"
    with pytest.raises(ValueError, match="unknown log format"):
        resolve_format("yaml", io.StringIO())


def test_secrets_are_scrubbed_as_a_second_line_of_defence(make_settings: Callable[..., Settings]) -> None:
    settings = make_settings(
        {
            "providers": [
                {"name": "p", "base_url": "http://127.0.0.1:9/v1", "api_key": "upstream-key-123456"}
            ],
            "models": [{"name": "m", "provider": "p"}],
            "observability": {
                "metrics_token": "metrics-token-abcdef",
                "tracing": {"otlp_headers": {"dd-api-key": "datadog-key-987654"}},
            },
        },
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    found = set(secret_values(settings))
    assert {"upstream-key-123456", "metrics-token-abcdef", "datadog-key-987654", MASTER_KEY} <= found
    redact = Redactor(found)
    text = redact(
        f"key {MASTER_KEY} upstream upstream-key-123456 Authorization: Bearer abc.def-ghi_jkl "
        "client sk-sks-AbCdEfGhIjKlMnOpQrStUvWxYz0123456789abcdefg"
    )
    for secret in (MASTER_KEY, "upstream-key-123456", "abc.def-ghi_jkl", "IjKlMnOpQrSt"):
        assert secret not in text
    assert text.count("[redacted]") == 4
    assert (
        redact("an ordinary sentence about skies and bears") == "an ordinary sentence about skies and bears"
    )
