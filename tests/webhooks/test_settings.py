"""Endpoint settings: validation and which events go where."""

from __future__ import annotations

from typing import Any

import pytest
from pydantic import ValidationError

from sekisho.webhooks import WebhookSecretError, WebhookSettings, check_endpoints, decode_secret
from tests.webhooks.conftest import SECRET


def endpoint(**overrides: Any) -> WebhookSettings:
    return WebhookSettings.model_validate(
        {"url": "https://hooks.example.com/in", "secret": SECRET, **overrides}
    )


def test_defaults() -> None:
    settings = endpoint()
    assert settings.events == ["*"] and settings.orgs is None
    assert settings.timeout_seconds == 5 and settings.max_attempts == 8
    assert settings.signing_key() == decode_secret(SECRET)
    assert SECRET not in repr(settings) and SECRET not in str(settings.model_dump())


@pytest.mark.parametrize(
    "overrides",
    [
        {"url": "ftp://hooks.example.com/in"},
        {"url": "/relative/path"},
        {"url": "https://"},
        {"secret": None},  # neither secret nor secret_env
        {"secret_env": "HOOK_SECRET"},  # both
        {"secret": "too-short"},
        {"events": []},
        {"events": ["Review.*"]},
        {"events": ["review*"]},
        {"events": ["*.approved"]},
        {"timeout_seconds": 0},
        {"max_attempts": 0},
        {"unknown": 1},
    ],
)
def test_invalid_settings_are_refused(overrides: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        endpoint(**overrides)


def test_secret_from_the_environment(monkeypatch: pytest.MonkeyPatch) -> None:
    settings = endpoint(secret=None, secret_env="SEKISHO_TEST_HOOK_SECRET")
    monkeypatch.delenv("SEKISHO_TEST_HOOK_SECRET", raising=False)
    with pytest.raises(WebhookSecretError, match="SEKISHO_TEST_HOOK_SECRET is not set"):
        settings.signing_key()
    monkeypatch.setenv("SEKISHO_TEST_HOOK_SECRET", "short")
    with pytest.raises(WebhookSecretError, match="too short"):
        settings.signing_key()
    monkeypatch.setenv("SEKISHO_TEST_HOOK_SECRET", SECRET)
    assert settings.signing_key() == decode_secret(SECRET)


@pytest.mark.parametrize(
    ("events", "event_type", "expected"),
    [
        (["*"], "review.approved", True),
        (["review.*"], "review.approved", True),
        (["review.*"], "review.sla.expired", True),
        (["review.*"], "reviewer.added", False),
        (["review.*"], "review", False),
        (["review.approved"], "review.approved", True),
        (["review.approved"], "review.rejected", False),
        (["crisis.escalated", "review.rejected"], "review.rejected", True),
    ],
)
def test_event_patterns(events: list[str], event_type: str, expected: bool) -> None:
    assert endpoint(events=events).matches(event_type, "acme") is expected


def test_org_filter() -> None:
    acme_only = endpoint(orgs=["acme"])
    assert acme_only.matches("review.approved", "acme")
    assert not acme_only.matches("review.approved", "globex")
    assert not acme_only.matches("review.approved", None)  # system events only go to unfiltered endpoints
    assert endpoint().matches("review.approved", None)


def test_host_hides_path_and_query() -> None:
    settings = endpoint(url="https://user:pw@hooks.example.com:8443/T0KEN/in?sig=abc")
    assert settings.host == "https://hooks.example.com:8443"


def test_one_url_twice_is_refused() -> None:
    with pytest.raises(ValueError, match="configured twice"):
        check_endpoints([endpoint(), endpoint(events=["review.*"])])
