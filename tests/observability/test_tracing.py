"""Traces through real HTTP requests, read back from the SDK's in-memory exporter."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Callable

import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.trace import SpanKind, StatusCode

from sekisho.observability.context import RequestState, bound
from sekisho.observability.hooks import stage
from sekisho.settings import ConfigError, Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY
from tests.observability.conftest import PROMPT, Observed, observed_config, observed_gateway

pytestmark = pytest.mark.anyio
TRACE_ID = "4bf92f3577b34da6a3ce929d0e0e4736"
PARENT_ID = "00f067aa0ba902b7"
STAGES = ["authenticate", "parse", "authorize", "admit", "guard_input", "decide", "upstream"]


def tree(spans: list[ReadableSpan]) -> tuple[ReadableSpan, dict[int, list[ReadableSpan]]]:
    """The request's root span, and every span's children in the order they started."""
    roots = [s for s in spans if s.kind == SpanKind.SERVER]
    assert len(roots) == 1, [s.name for s in spans]
    children: dict[int, list[ReadableSpan]] = {}
    for span in sorted(spans, key=lambda s: s.start_time or 0):
        if span.parent is not None:
            children.setdefault(span.parent.span_id, []).append(span)
    return roots[0], children


def names(spans: list[ReadableSpan]) -> list[str]:
    return [s.name for s in spans]


def assert_nothing_secret(observed: Observed, spans: list[ReadableSpan]) -> None:
    text = " ".join(f"{s.name} {dict(s.attributes or {})} {s.events} {s.status}" for s in spans)
    for secret in (PROMPT, "zebra-prompt", observed.gw.key, "sk-upstream-secret", MASTER_KEY):
        assert secret not in text


async def test_one_span_per_stage_under_the_callers_trace(observed: Observed) -> None:
    traceparent = f"00-{TRACE_ID}-{PARENT_ID}-01"
    response = await observed.client.post(
        "/v1/chat/completions",
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]},
        headers={**observed.gw.headers(), "traceparent": traceparent},
    )
    assert response.status_code == 200
    spans = observed.finished()
    root, children = tree(spans)
    assert format(root.context.trace_id, "032x") == TRACE_ID
    assert root.parent is not None and format(root.parent.span_id, "016x") == PARENT_ID
    assert {s.context.trace_id for s in spans} == {root.context.trace_id}
    assert root.name == "POST /v1/chat/completions"
    assert names(children[root.context.span_id]) == [*STAGES, "guard_output", "settle"]
    upstream = children[root.context.span_id][STAGES.index("upstream")]
    attempts = children[upstream.context.span_id]
    assert names(attempts) == ["upstream.attempt"] and attempts[0].kind == SpanKind.CLIENT
    assert attempts[0].attributes is not None and attempts[0].attributes["sekisho.provider"] == "mock"
    attributes = dict(root.attributes or {})
    principal = observed.gw.core.tenancy.ensure_default_org()
    assert attributes["sekisho.request_id"] == response.headers["x-request-id"]
    assert attributes["sekisho.org_id"] == principal.id
    assert str(attributes["sekisho.project_id"]).startswith("proj_")
    assert attributes["sekisho.model"] == "gpt-4o-mini"
    assert attributes["http.response.status_code"] == 200
    assert all(s.status.status_code == StatusCode.UNSET for s in spans)
    assert_nothing_secret(observed, spans)


async def test_a_stream_is_traced_to_its_end(observed: Observed) -> None:
    response = await observed.chat(stream=True)
    assert response.status_code == 200 and response.text.endswith("data: [DONE]\n\n")
    spans = observed.finished()
    root, children = tree(spans)
    stages = children[root.context.span_id]
    assert names(stages) == [*STAGES, "settle"]
    settle = stages[-1]
    # The root span covers the whole stream, settlement included, not just the response headers.
    assert root.end_time is not None and settle.end_time is not None and root.end_time >= settle.end_time
    assert dict(root.attributes or {})["sekisho.stream"] is True
    assert_nothing_secret(observed, spans)


async def test_errors_set_the_status_of_the_stage_that_failed(observed: Observed) -> None:
    response = await observed.chat(model="always-500")
    assert response.status_code == 502
    root, children = tree(observed.finished())
    stages = {s.name: s for s in children[root.context.span_id]}
    upstream = stages["upstream"]
    assert upstream.status.status_code == StatusCode.ERROR
    assert dict(upstream.attributes or {})["sekisho.error_code"] == "upstream_error"
    attempts = children[upstream.context.span_id]
    assert [dict(a.attributes or {})["sekisho.retry"] for a in attempts] == [False, True]
    assert all(a.status.status_code == StatusCode.ERROR for a in attempts)
    assert all(dict(a.attributes or {})["http.response.status_code"] == 500 for a in attempts)
    assert "settle" in stages  # the failed call is still settled (and its reservation released)
    assert root.status.status_code == StatusCode.ERROR

    observed.spans.clear()
    refused = await observed.client.post(
        "/v1/chat/completions", json={}, headers={"authorization": "Bearer sk-sks-wrong-key-0000000000"}
    )
    assert refused.status_code == 401
    root, children = tree(observed.finished())
    (only,) = children[root.context.span_id]
    assert only.name == "authenticate" and only.status.status_code == StatusCode.ERROR
    assert dict(only.attributes or {})["sekisho.error_code"] == "invalid_api_key"
    # A client error is not a server error: the request's own span keeps an unset status.
    assert root.status.status_code == StatusCode.UNSET
    assert "sk-sks-wrong-key" not in str([dict(s.attributes or {}) for s in observed.finished()])


async def test_a_stream_broken_upstream_is_recorded(observed: Observed) -> None:
    before = await observed.scrape()
    response = await observed.chat(model="drops", stream=True)
    assert response.status_code == 200 and "stream_interrupted" in response.text
    root, _children = tree(observed.finished())
    assert dict(root.attributes or {})["sekisho.error_code"] == "stream_interrupted"
    after = await observed.scrape()
    labels = {"stage": "stream", "code": "stream_interrupted"}
    assert (
        after.value("sekisho_rejections_total", **labels) - before.value("sekisho_rejections_total", **labels)
        == 1
    )


async def test_sampling_follows_the_ratio_and_the_callers_decision(
    upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    config = observed_config(upstream[1])
    config["observability"]["tracing"]["sample_ratio"] = 0.0
    async with observed_gateway(make_settings(config, SEKISHO_MASTER_KEY=MASTER_KEY)) as observed:
        assert (await observed.chat()).status_code == 200
        assert observed.finished() == []
        sampled = f"00-{TRACE_ID}-{PARENT_ID}-01"
        headers = {**observed.gw.headers(), "traceparent": sampled}
        response = await observed.client.get("/v1/models", headers=headers)
        assert response.status_code == 200
        (root,) = observed.finished()
        assert format(root.context.trace_id, "032x") == TRACE_ID


async def test_an_untrusted_traceparent_starts_a_new_trace(
    upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    config = observed_config(upstream[1])
    config["observability"]["tracing"]["trust_incoming"] = False
    async with observed_gateway(make_settings(config, SEKISHO_MASTER_KEY=MASTER_KEY)) as observed:
        headers = {**observed.gw.headers(), "traceparent": f"00-{TRACE_ID}-{PARENT_ID}-01"}
        assert (await observed.client.get("/v1/models", headers=headers)).status_code == 200
        (root,) = observed.finished()
        assert format(root.context.trace_id, "032x") != TRACE_ID and root.parent is None


async def test_switched_off_tracing_costs_a_shared_object_per_stage(
    upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    config = observed_config(upstream[1])
    config["observability"]["tracing"]["enabled"] = False
    async with observed_gateway(make_settings(config, SEKISHO_MASTER_KEY=MASTER_KEY)) as observed:
        observability = observed.gw.app.state.observability
        assert observability.tracing is None
        assert (await observed.chat()).status_code == 200
        with bound(RequestState("req_x", observability.observer)):
            first, second = stage("admit"), stage("admit")
        assert first is second  # nothing is allocated per request for a stage


def test_the_tracing_sdk_and_otlp_exporter_load_only_when_configured(tmp_path: object) -> None:
    """In a fresh interpreter: tracing off loads no SDK; tracing on without OTLP loads no exporter."""
    script = """
import sys
from sekisho.app import build_app
from sekisho.settings import load_settings
import yaml, pathlib
env = {"SEKISHO_DATA_DIR": sys.argv[1]}
plain = pathlib.Path(sys.argv[1]) / "plain.yaml"
plain.write_text(yaml.safe_dump({"policy": {"local_classifier": False}, "guardrails": {"enabled": False}}))
build_app(load_settings(plain, environ=env))
assert "opentelemetry.sdk.trace" not in sys.modules, "SDK loaded with tracing off"
path = pathlib.Path(sys.argv[1]) / "t.yaml"
path.write_text(yaml.safe_dump({"observability": {"tracing": {"enabled": True, "exporter": "none"}},
                                "policy": {"local_classifier": False}, "guardrails": {"enabled": False},
                                "providers": [{"name": "m", "base_url": "http://127.0.0.1:9/v1"}],
                                "models": [{"name": "x", "provider": "m"}]}))
build_app(load_settings(path, environ=env))
assert "opentelemetry.sdk.trace" in sys.modules
assert not [m for m in sys.modules if m.startswith("opentelemetry.exporter.otlp")], "OTLP loaded"
print("ok")
"""
    done = subprocess.run(
        [sys.executable, "-c", script, str(tmp_path)],
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0 and done.stdout.strip().endswith("ok"), done.stderr[-2000:]


def test_an_otlp_exporter_that_is_not_installed_is_a_configuration_error(
    upstream: tuple[MockUpstream, str],
    make_settings: Callable[..., Settings],
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    # As in an installation without the `otlp` extra: importing the exporter fails.
    monkeypatch.setitem(sys.modules, "opentelemetry.exporter.otlp.proto.http", None)
    config = observed_config(upstream[1])
    config["observability"]["tracing"] = {"enabled": True, "exporter": "otlp"}
    from sekisho.app import build_app

    with pytest.raises(ConfigError, match=r"sekisho\[otlp\]"):
        build_app(make_settings(config))
