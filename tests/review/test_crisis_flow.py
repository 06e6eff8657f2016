"""A message in crisis, end to end through the official SDK: the caring answer, the escalation, the
team closing it — and idioms passing straight to the model."""

from __future__ import annotations

from collections.abc import Callable, Iterator

import pytest

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, ServerThread, mock_config
from tests.review.test_review_flow import Org, _people


@pytest.fixture
def org(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> Iterator[Org]:
    config = {
        **mock_config(upstream[1]),
        "policy": {"local_classifier": False},
        "crisis": {
            "overrides": {
                "default": {
                    "resources": [
                        {
                            "name": "社内EAP相談窓口",
                            "contact": "内線 1234",
                            "hours": "平日9時〜18時",
                            "region": "JP",
                        },
                        {"name": "Company EAP", "contact": "ext. 1234", "region": "*", "locale": "en"},
                    ]
                }
            }
        },
    }
    settings = make_settings(config, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY)
    app = build_app(settings)
    with ServerThread(app) as server:
        yield Org(app, server.url, **_people(app))


def _chat(org: Org, text: str, **kwargs: object) -> str:
    with org.sdk() as client:
        answer = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": text}],
            **kwargs,  # type: ignore[arg-type]
        )
    return answer.choices[0].message.content or ""


def test_a_crisis_message_gets_a_caring_answer_and_no_model_call(
    org: Org, upstream: tuple[MockUpstream, str]
) -> None:
    text = _chat(org, "もう疲れた。死にたい。")
    assert not text.startswith("Echo:")
    assert "社内EAP相談窓口" in text and "内線 1234" in text  # the organisation's own help line
    assert "?" in text or "？" in text or "か。" in text  # it asks, it does not just refuse
    items = org.api("GET", "/admin/v1/reviews?kind=crisis", org.reviewer).json()["data"]
    assert items == []  # a wish to die without a plan is answered with care, not escalated


def test_imminent_danger_is_escalated_to_the_team_who_resolves_it(org: Org) -> None:
    text = _chat(org, "I'm going to kill myself tonight, I have the pills ready.")
    assert "内線 1234" in text  # the organisation's line for its region (Japan)
    items = org.api("GET", "/admin/v1/reviews?kind=crisis", org.reviewer).json()["data"]
    assert len(items) == 1 and items[0]["rule_id"] == "CRISIS.IMMINENT" and items[0]["status"] == "pending"
    review_id = items[0]["id"]
    assert org.api("POST", f"/admin/v1/reviews/{review_id}/approve", org.reviewer, json={}).status_code == 409
    assert org.api("POST", f"/admin/v1/reviews/{review_id}/resolve", org.reviewer, json={}).status_code == 400
    done = org.api(
        "POST",
        f"/admin/v1/reviews/{review_id}/resolve",
        org.reviewer,
        json={"reason": "called the user; EAP engaged"},
    )
    assert done.status_code == 200 and done.json()["status"] == "resolved"
    org.app.state.core.writer.flush()
    kinds = [r["kind"] for r in org.app.state.core.audit.export()]
    assert "crisis.escalated" in kinds and "crisis.resolved" in kinds
    # The audit record names the rule, never the words.
    records = [r for r in org.app.state.core.audit.export() if r["kind"] == "crisis.escalated"]
    assert "pills" not in str(records) and "kill myself" not in str(records)


def test_streaming_clients_get_the_answer_as_a_stream(org: Org) -> None:
    with org.sdk() as client:
        stream = client.chat.completions.create(
            model="gpt-4o-mini",
            messages=[{"role": "user", "content": "もう死にたい。今夜ビルから飛び降りる"}],
            stream=True,
            stream_options={"include_usage": True},
        )
        chunks = list(stream)
    text = "".join(c.choices[0].delta.content or "" for c in chunks if c.choices)
    assert "社内EAP相談窓口" in text and chunks[-1].usage is not None


@pytest.mark.parametrize(
    "idiom", ["今週は死ぬほど忙しい", "this bug is killing me", "自殺予防のゲートキーパー研修の資料を作って"]
)
def test_idioms_and_professional_questions_go_to_the_model(org: Org, idiom: str) -> None:
    assert _chat(org, idiom) == f"Echo: {idiom}"


def test_moderations_and_scan_report_self_harm_in_openai_s_categories(org: Org) -> None:
    moderated = org.api(
        "POST", "/v1/moderations", org.requester, json={"input": ["もう死にたい", "死ぬほど忙しい"]}
    ).json()["results"]
    assert moderated[0]["flagged"] is True and moderated[0]["categories"]["self-harm"] is True
    assert moderated[0]["categories"]["self-harm/intent"] is True
    assert moderated[1]["flagged"] is False and moderated[1]["categories"]["self-harm"] is False
    scan = org.api(
        "POST", "/v1/guardrails/scan", org.requester, json={"text": "I want to kill myself"}
    ).json()
    assert [f["type"] for f in scan["findings"]] == ["SELF_HARM"] and scan["verdict"] == "warn"
