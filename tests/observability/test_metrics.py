"""/metrics through real HTTP requests: each counter moves by what the requests did, and no more."""

from __future__ import annotations

import pytest

from sekisho.metering import Usage, cost_nanousd
from tests.conftest import MASTER_KEY
from tests.observability.conftest import MY_NUMBER, SECRET, Observed

pytestmark = pytest.mark.anyio
CHAT = "/v1/chat/completions"

POLICY = """
name: metrics-test
extends: parent
classifier: {local: false}
review: {mode: async, sla_minutes: 60}
rules:
  - id: TEST.FRAUD
    decision: block
    match: {any: ["pretend to be the ceo"]}
  - id: TEST.HIRE
    decision: review
    match: {any: ["decide the hire"]}
"""


async def test_requests_tokens_cost_and_latency_follow_the_calls(observed: Observed) -> None:
    before = await observed.scrape()
    plain = await observed.chat()
    streamed = await observed.chat(stream=True, stream_options={"include_usage": True})
    assert plain.status_code == streamed.status_code == 200
    after = await observed.scrape()

    def delta(name: str, **labels: str) -> float:
        return after.since(before, name, **labels)

    ok = {"route": CHAT, "method": "POST", "model": "gpt-4o-mini", "status": "200"}
    assert delta("sekisho_requests_total", **ok) == 2
    assert delta("sekisho_request_duration_seconds_count", **ok) == 2
    assert delta("sekisho_gateway_overhead_seconds_count", route=CHAT) == 2
    assert (
        delta("sekisho_upstream_duration_seconds_count", provider="mock", model="gpt-4o-mini", outcome="ok")
        == 2
    )
    assert after.value("sekisho_requests_in_flight") == 0

    usage = plain.json()["usage"]
    streamed_usage = [line for line in streamed.text.splitlines() if '"usage":{' in line]
    assert streamed_usage, streamed.text
    prompt = usage["prompt_tokens"] * 2  # the same prompt twice; the mock counts it the same way
    completion = usage["completion_tokens"] * 2
    assert delta("sekisho_tokens_total", model="gpt-4o-mini", kind="prompt") == prompt
    assert delta("sekisho_tokens_total", model="gpt-4o-mini", kind="completion") == completion
    model = observed.gw.settings.models[0]
    expected = cost_nanousd(model, Usage(prompt, completion)) / 1e9
    assert delta("sekisho_cost_usd_total", model="gpt-4o-mini") == pytest.approx(expected, rel=1e-6)
    assert expected > 0


async def test_upstream_errors_retries_and_fallbacks(observed: Observed) -> None:
    before = await observed.scrape()
    failed = await observed.chat(model="always-500")  # max_retries 1: two attempts, then 502
    rescued = await observed.chat(model="with-fallback")  # one failed attempt, then gpt-4o-mini
    assert (failed.status_code, rescued.status_code) == (502, 200)
    after = await observed.scrape()

    def delta(name: str, **labels: str) -> float:
        return after.since(before, name, **labels)

    assert delta("sekisho_upstream_errors_total", provider="mock", model="always-500", kind="http_5xx") == 2
    assert delta("sekisho_upstream_retries_total", provider="mock", model="always-500") == 1
    assert delta("sekisho_upstream_errors_total", model="with-fallback", kind="http_5xx") == 1
    assert delta("sekisho_upstream_fallbacks_total", model="with-fallback", fallback="gpt-4o-mini") == 1
    assert delta("sekisho_upstream_retries_total", model="with-fallback") == 0
    assert delta("sekisho_rejections_total", stage="upstream", code="upstream_error") == 1
    assert delta("sekisho_requests_total", model="always-500", status="502") == 1
    # The call served by the fallback is charged to the model that served it.
    assert delta("sekisho_tokens_total", model="gpt-4o-mini", kind="prompt") > 0
    assert delta("sekisho_tokens_total", model="with-fallback") == 0


async def test_refusals_are_counted_by_stage_and_code(observed: Observed) -> None:
    client = observed.client
    limit = await client.post(
        "/admin/v1/rate-limits",
        json={"scope_type": "model", "scope_id": "no-usage", "requests_per_minute": 1},
        headers={"authorization": f"Bearer {MASTER_KEY}"},
    )
    assert limit.status_code == 201, limit.text
    before = await observed.scrape()
    bad_key = await client.post(CHAT, json={}, headers={"authorization": "Bearer sk-sks-not-a-key"})
    bad_json = await client.post(CHAT, content=b"{nope", headers=observed.gw.headers())
    unknown = await observed.chat(model="no-such-model")
    first = await observed.chat(model="no-usage")
    limited = await observed.chat(model="no-usage")
    statuses = [r.status_code for r in (bad_key, bad_json, unknown, first, limited)]
    assert statuses == [401, 400, 404, 200, 429], [r.text for r in (bad_key, bad_json, unknown, limited)]
    assert limited.json()["error"]["code"] == "rate_limit_exceeded"
    after = await observed.scrape()

    def delta(**labels: str) -> float:
        return after.value("sekisho_rejections_total", **labels) - before.value(
            "sekisho_rejections_total", **labels
        )

    assert delta(stage="authenticate", code="invalid_api_key") == 1
    assert delta(stage="parse", code="invalid_json") == 1
    assert delta(stage="authorize", code="model_not_found") == 1
    assert delta(stage="admit", code="rate_limit_exceeded") == 1
    assert delta() == 4
    # A model name a client made up is not a label value: the request counts under no model.
    assert "no-such-model" not in after.labels("sekisho_requests_total", "model")
    assert after.value("sekisho_requests_total", route=CHAT, model="", status="404") >= 1


async def test_guardrail_findings_and_policy_decisions(observed: Observed) -> None:
    saved = await observed.client.post(
        "/admin/v1/policies",
        json={"source": POLICY},
        headers={"authorization": f"Bearer {observed.admin_key}"},
    )
    assert saved.status_code == 201, saved.text
    before = await observed.scrape()
    redacted = await observed.chat(f"My number is {MY_NUMBER}.")
    blocked = await observed.chat(f"Use the token {SECRET} to log in.")
    refused = await observed.chat("Please pretend to be the CEO in this e-mail.")
    held = await observed.chat("Please decide the hire for candidate 7.")
    allowed = await observed.chat("What is the capital of France?")
    codes = [r.status_code for r in (redacted, blocked, refused, held, allowed)]
    assert codes == [200, 400, 400, 403, 200], [r.text for r in (blocked, refused, held)]
    after = await observed.scrape()

    def delta(name: str, **labels: str) -> float:
        return after.since(before, name, **labels)

    assert (
        delta("sekisho_guardrail_findings_total", type="MY_NUMBER", action="redact", direction="input") == 1
    )
    secret_types = {
        t for t in after.labels("sekisho_guardrail_findings_total", "type") if t not in ("MY_NUMBER", "EMAIL")
    }
    assert secret_types, "the secret was not counted"
    assert sum(delta("sekisho_guardrail_findings_total", type=t, action="block") for t in secret_types) == 1
    assert delta("sekisho_rejections_total", stage="guard_input", code="guardrail_blocked") == 1
    # A request the guardrails blocked never reached the policy.
    assert delta("sekisho_policy_decisions_total", decision="block") == 1
    assert delta("sekisho_policy_decisions_total", decision="review") == 1
    assert delta("sekisho_policy_decisions_total", decision="allow") == 2
    assert delta("sekisho_rejections_total", stage="decide", code="policy_blocked") == 1
    assert delta("sekisho_rejections_total", stage="decide", code="review_required") == 1
    # The held request waits in the review queue, read from the database at scrape time.
    assert after.value("sekisho_review_queue_depth") == before.value("sekisho_review_queue_depth") + 1
    assert after.value("sekisho_review_queue_oldest_age_seconds") >= 0


async def test_routes_are_labelled_by_template_not_by_path(observed: Observed) -> None:
    headers = {"authorization": f"Bearer {observed.admin_key}"}
    tenancy = observed.gw.core.tenancy
    project = tenancy.get_project("default", tenancy.ensure_default_org().id)
    client, key = observed.client, observed.gw.headers()
    assert (await client.get(f"/admin/v1/projects/{project.id}", headers=headers)).status_code == 200
    assert (await client.get("/v1/models/gpt-4o-mini", headers=key)).status_code == 200
    assert (await client.get("/v1/models", headers=key)).status_code == 200
    assert (await client.get("/no/such/path/12345")).status_code == 404
    routes = (await observed.scrape()).labels("sekisho_requests_total", "route")
    assert {"/admin/v1/projects/{project_id}", "/v1/models/{model:path}", "/v1/models", "unmatched"} <= routes
    assert not [r for r in routes if project.id in r or "12345" in r]
    # Scrapes are not requests.
    assert "/metrics" not in routes
