"""Human review in the request path, end to end: the official ``openai`` SDK against a real uvicorn,
reviewers deciding through the admin API, on SQLite and PostgreSQL.

The policy under test uses phrase rules (``match``) so that what is held does not depend on the
classifier; the classifier has its own tests and benchmark.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from typing import Any

import httpx
import openai
import pytest
from fastapi import FastAPI

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, ServerThread, mock_config

POLICY = """
name: review-test
extends: parent
classifier: {local: false}
review: {mode: %(mode)s, hold_seconds: %(hold)s, sla_minutes: %(sla)s, on_expiry: %(on_expiry)s}
rules:
  - id: TEST.HIRE
    decision: review
    match: {any: ["decide the hire"]}
    rationale: {en: A hiring decision needs a person., ja: 採用の判断には人が必要です。}
  - id: TEST.LOAN
    decision: review
    approvals: 2
    match: {any: ["approve the loan"]}
  - id: TEST.FRAUD
    decision: block
    match: {any: ["pretend to be the ceo"]}
    rationale: {en: Impersonation is prohibited.}
"""


@dataclass
class Org:
    """A served Sekisho with an organisation's people: a requester, two reviewers, an admin."""

    app: FastAPI
    url: str
    requester: str
    reviewer: str
    reviewer2: str
    admin: str
    auditor: str
    requester_reviewer: str  # a reviewer's own API key for making requests

    def sdk(self, key: str | None = None, timeout: float = 20) -> openai.OpenAI:
        return openai.OpenAI(
            api_key=key or self.requester, base_url=f"{self.url}/v1", max_retries=0, timeout=timeout
        )

    def api(self, method: str, path: str, key: str, **kwargs: Any) -> httpx.Response:
        return httpx.request(
            method, f"{self.url}{path}", headers={"authorization": f"Bearer {key}"}, timeout=20, **kwargs
        )

    def set_policy(
        self, mode: str = "async", hold: float = 0, sla: float = 60, on_expiry: str = "reject"
    ) -> None:
        source = POLICY % {"mode": mode, "hold": hold, "sla": sla, "on_expiry": on_expiry}
        response = self.api("POST", "/admin/v1/policies", self.admin, json={"source": source})
        assert response.status_code == 201, response.text


def _people(app: FastAPI) -> dict[str, str]:
    tenancy = app.state.core.tenancy
    org = tenancy.ensure_default_org()
    project = tenancy.get_project("default", org.id)
    keys = {}
    for name, role in [
        ("requester", "member"),
        ("reviewer", "reviewer"),
        ("reviewer2", "reviewer"),
        ("admin", "admin"),
        ("auditor", "auditor"),
    ]:
        user = tenancy.create_user(org.id, f"{name}@example.com", name, role, actor="test")
        keys[name] = tenancy.create_key(project, user, name, actor="test")[1]
        if name == "reviewer":
            keys["requester_reviewer"] = tenancy.create_key(project, user, "own", actor="test")[1]
    return keys


@pytest.fixture
def org(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> Iterator[Org]:
    settings = make_settings(
        {**mock_config(upstream[1]), "policy": {"local_classifier": False, "review_poll_seconds": 0.2}},
        SEKISHO_DATABASE_URL=database_url,
        SEKISHO_MASTER_KEY=MASTER_KEY,
    )
    app = build_app(settings)
    with ServerThread(app) as server:
        yield Org(app, server.url, **_people(app))


def _ask(org: Org, text: str, key: str | None = None, **kwargs: Any) -> Any:
    with org.sdk(key) as client:
        return client.chat.completions.create(
            model="gpt-4o-mini", messages=[{"role": "user", "content": text}], **kwargs
        )


def _held(org: Org, text: str, key: str | None = None) -> str:
    with pytest.raises(openai.PermissionDeniedError) as caught:
        _ask(org, text, key)
    error = caught.value.body
    assert isinstance(error, dict) and error["code"] == "review_required", error
    assert error["poll_url"] == f"/v1/reviews/{error['review_id']}"
    return str(error["review_id"])


def _poll(org: Org, review_id: str, until: set[str], key: str | None = None) -> dict[str, Any]:
    deadline = time.monotonic() + 15
    while True:
        response = org.api("GET", f"/v1/reviews/{review_id}", key or org.requester)
        assert response.status_code == 200, response.text
        body: dict[str, Any] = response.json()
        if body["status"] in until or time.monotonic() > deadline:
            return body
        time.sleep(0.1)


def test_async_review_is_approved_and_the_answer_is_fetched_later(org: Org) -> None:
    org.set_policy(mode="async")
    review_id = _held(org, "Please decide the hire for candidate 12.")
    assert _poll(org, review_id, {"pending"})["result"] is None
    decided = org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
    assert decided.status_code == 200 and decided.json()["status"] == "approved"
    done = _poll(org, review_id, {"completed", "failed"})
    assert done["status"] == "completed"
    assert (
        done["result"]["choices"][0]["message"]["content"] == "Echo: Please decide the hire for candidate 12."
    )
    # Allowed requests pass untouched; blocked ones name the rule.
    assert _ask(org, "hello").choices[0].message.content == "Echo: hello"
    with pytest.raises(openai.BadRequestError) as caught:
        _ask(org, "Pretend to be the CEO and wire money")
    assert caught.value.code == "policy_blocked" and "TEST.FRAUD" in caught.value.message


def test_held_request_gets_its_answer_when_approved_in_time(org: Org) -> None:
    org.set_policy(mode="hold", hold=15)
    answers: list[Any] = []
    thread = threading.Thread(target=lambda: answers.append(_ask(org, "decide the hire: Aiko or Ben?")))
    thread.start()
    item = _wait_for_pending(org)
    assert (
        org.api("POST", f"/admin/v1/reviews/{item['id']}/approve", org.reviewer, json={}).status_code == 200
    )
    thread.join(20)
    assert answers and answers[0].choices[0].message.content == "Echo: decide the hire: Aiko or Ben?"
    assert _poll(org, item["id"], {"completed"})["status"] == "completed"


def test_rejection_reaches_the_waiting_client_with_its_reason(org: Org) -> None:
    org.set_policy(mode="hold", hold=15)
    errors: list[Exception] = []

    def ask() -> None:
        try:
            _ask(org, "decide the hire for the night shift")
        except Exception as exc:
            errors.append(exc)

    thread = threading.Thread(target=ask)
    thread.start()
    item = _wait_for_pending(org)
    no_reason = org.api("POST", f"/admin/v1/reviews/{item['id']}/reject", org.reviewer, json={})
    assert no_reason.status_code == 400  # the requester must be told why
    org.api(
        "POST", f"/admin/v1/reviews/{item['id']}/reject", org.reviewer, json={"reason": "Use the HR form."}
    )
    thread.join(20)
    assert isinstance(errors[0], openai.PermissionDeniedError)
    assert errors[0].code == "review_rejected" and "Use the HR form." in errors[0].message


def test_hold_times_out_into_review_required_and_the_runner_completes_it(org: Org) -> None:
    org.set_policy(mode="hold", hold=0.5)
    review_id = _held(org, "decide the hire, quickly")
    org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
    done = _poll(org, review_id, {"completed", "failed"})
    assert done["status"] == "completed" and done["result"]["object"] == "chat.completion"


def test_four_eyes_needs_two_different_reviewers_and_decisions_are_idempotent(org: Org) -> None:
    org.set_policy()
    review_id = _held(org, "approve the loan for applicant 7")
    first = org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
    again = org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
    assert first.json()["status"] == again.json()["status"] == "pending"
    assert len(again.json()["approvals"]) == 1
    second = org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer2, json={})
    assert second.json()["status"] == "approved"
    late = org.api("POST", f"/admin/v1/reviews/{review_id}/reject", org.reviewer, json={"reason": "no"})
    assert late.status_code == 409
    assert _poll(org, review_id, {"completed"})["status"] == "completed"


def test_a_reviewer_cannot_review_their_own_request_and_escalations_go_to_admins(org: Org) -> None:
    org.set_policy()
    review_id = _held(org, "decide the hire of my friend", key=org.requester_reviewer)
    own = org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
    assert own.status_code == 403 and own.json()["error"]["code"] == "review_forbidden"
    member = org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.requester, json={})
    assert member.status_code == 403
    escalated = org.api(
        "POST",
        f"/admin/v1/reviews/{review_id}/escalate",
        org.reviewer2,
        json={"reason": "conflict of interest"},
    )
    assert escalated.json()["escalated"] is True
    assert (
        org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer2, json={}).status_code == 403
    )
    assert (
        org.api("POST", f"/admin/v1/reviews/{review_id}/reject", org.admin, json={"reason": "no"}).status_code
        == 200
    )
    body = _poll(org, review_id, {"rejected"}, key=org.requester_reviewer)
    assert body["status"] == "rejected" and body["reason"] == "no"


def test_a_modified_request_is_what_runs(org: Org) -> None:
    org.set_policy()
    review_id = _held(org, "decide the hire between A and B")
    changed = org.api(
        "POST",
        f"/admin/v1/reviews/{review_id}/modify",
        org.reviewer,
        json={"changes": {"messages": [{"role": "user", "content": "Summarise A and B for the manager."}]}},
    )
    assert changed.status_code == 200 and changed.json()["status"] == "approved"
    bad = org.api(
        "POST", f"/admin/v1/reviews/{review_id}/modify", org.reviewer2, json={"changes": {"model": "x"}}
    )
    assert bad.status_code == 400
    done = _poll(org, review_id, {"completed"})
    assert done["result"]["choices"][0]["message"]["content"] == "Echo: Summarise A and B for the manager."


def test_content_is_redacted_until_revealed_and_the_reveal_is_audited(org: Org) -> None:
    org.set_policy()
    review_id = _held(org, "decide the hire; candidate mail is taro.yamada@example.co.jp")
    item = org.api("GET", f"/admin/v1/reviews/{review_id}", org.reviewer).json()
    assert "taro.yamada@example.co.jp" not in str(item)
    assert "[EMAIL_1]" in item["messages"][0]["content"]
    assert (
        org.api(
            "POST", f"/admin/v1/reviews/{review_id}/reveal", org.auditor, json={"reason": "audit"}
        ).status_code
        == 403
    )
    revealed = org.api(
        "POST", f"/admin/v1/reviews/{review_id}/reveal", org.reviewer, json={"reason": "need the address"}
    )
    assert "taro.yamada@example.co.jp" in revealed.json()["request"]["messages"][0]["content"]
    org.app.state.core.writer.flush()
    kinds = [r["kind"] for r in org.app.state.core.audit.export()]
    assert "review.requested" in kinds and "review.revealed" in kinds


def test_an_overdue_review_expires_with_its_configured_outcome(org: Org) -> None:
    org.set_policy(sla=0.01)  # 0.6 seconds
    review_id = _held(org, "decide the hire before lunch")
    body = _poll(org, review_id, {"expired"})
    assert body["status"] == "expired" and "SLA" in body["reason"]
    org.set_policy(sla=0.01, on_expiry="approve")
    review_id = _held(org, "decide the hire after lunch")
    assert _poll(org, review_id, {"completed"})["status"] == "completed"


def test_reviews_are_invisible_across_organisations_and_to_other_requesters(org: Org) -> None:
    org.set_policy()
    review_id = _held(org, "decide the hire for team B")
    tenancy = org.app.state.core.tenancy
    other = tenancy.create_org("other", "Other", actor="test")
    admin = tenancy.create_user(other.id, "boss@other.example", "Boss", "admin", actor="test")
    other_key = tenancy.create_key(tenancy.get_project("default", other.id), admin, "k", actor="test")[1]
    assert org.api("GET", f"/admin/v1/reviews/{review_id}", other_key).status_code == 404
    assert org.api("POST", f"/admin/v1/reviews/{review_id}/approve", other_key, json={}).status_code == 404
    assert org.api("GET", f"/v1/reviews/{review_id}", other_key).status_code == 404
    assert org.api("GET", f"/v1/reviews/{review_id}", org.reviewer2).status_code == 404  # not theirs
    listed = org.api("GET", "/admin/v1/reviews?status=pending", org.auditor).json()["data"]
    assert [i["id"] for i in listed] == [review_id]
    assert "messages" not in listed[0]


def _wait_for_pending(org: Org) -> dict[str, Any]:
    deadline = time.monotonic() + 10
    while time.monotonic() < deadline:
        items = org.api("GET", "/admin/v1/reviews?status=pending", org.reviewer).json()["data"]
        if items:
            return dict(items[0])
        time.sleep(0.05)
    raise AssertionError("no review appeared")


def test_a_guardrail_review_action_holds_the_request_in_the_queue(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    config = {
        **mock_config(upstream[1]),
        "policy": {"local_classifier": False, "review_poll_seconds": 0.2},
        "guardrails": {"actions": {"EMAIL": "review"}},
    }
    app = build_app(make_settings(config, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY))
    with ServerThread(app) as server:
        org = Org(app, server.url, **_people(app))
        review_id = _held(org, "Please write to hanako.sato@example.co.jp about the invoice")
        item = org.api("GET", f"/admin/v1/reviews/{review_id}", org.reviewer).json()
        assert item["rule_id"] == "GUARDRAIL.EMAIL" and item["findings"] == {"EMAIL": 1}
        org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={})
        assert _poll(org, review_id, {"completed"})["status"] == "completed"
