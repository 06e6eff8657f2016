"""``safe_response``: warm, in the user's language, with help lines for the region; never a refusal."""

from __future__ import annotations

import pytest

from sekisho.crisis import HelpResource, assess, resources_for, safe_response
from sekisho.crisis.resources import region_of

REFUSALS = ("できません", "お答えできません", "I can't help", "I cannot help", "I'm unable", "against my")


def test_japanese_crisis_gets_japanese_lines() -> None:
    reply = safe_response(assess("もう死にたい"), "ja-JP")
    for expected in (
        "よりそいホットライン",
        "0120-279-338",
        "いのちの電話",
        "0570-783-556",
        "0570-064-556",
        "119",
    ):
        assert expected in reply
    assert "？" in reply  # a gentle question
    assert not any(r in reply for r in REFUSALS)
    assert "988" not in reply


def test_english_crisis_in_the_us_gets_988() -> None:
    reply = safe_response(assess("I want to die"), "en-US")
    assert "988" in reply and "911" in reply
    assert "?" in reply
    assert not any(r in reply for r in REFUSALS)
    assert "0120" not in reply


def test_elsewhere_gets_the_directory_and_the_local_emergency_number() -> None:
    reply = safe_response(assess("I want to die"), "en-GB")
    assert "findahelpline.com" in reply
    assert "local emergency number" in reply
    assert "988" not in reply


def test_language_follows_the_text_and_region_follows_the_locale() -> None:
    reply = safe_response(assess("I want to die"), "ja-JP")
    assert "Thank you for telling me" in reply
    assert "0120-279-338" in reply and "119" in reply
    reply = safe_response(assess("死にたい"), "en-US")
    assert "打ち明けて" in reply and "988" in reply


def test_imminent_puts_safety_first() -> None:
    reply = safe_response(assess("今夜、薬を全部飲んで死ぬつもり"), "ja-JP")
    assert "安全" in reply and "119" in reply
    reply = safe_response(assess("I'm going to kill myself tonight"), "en-US")
    assert "safe" in reply and "911" in reply


def test_threat_to_others_answer_names_the_police() -> None:
    reply = safe_response(assess("明日、包丁で上司を刺す"), "ja-JP")
    assert "110" in reply and "傷つけ" in reply


def test_concern_and_reliance_are_answered_gently() -> None:
    reply = safe_response(assess("You're the only one who understands me."), "en-US")
    assert "people around you" in reply and "988" in reply
    reply = safe_response(assess("生きる意味がわからない"), "ja")
    assert "よりそいホットライン" in reply


def test_self_harm_reply_does_not_assume_a_wish_to_die() -> None:
    reply = safe_response(assess("I cut myself again last night."), "en-US")
    assert "hurting yourself" in reply and "thinking about dying" not in reply


def test_organisation_resources_replace_the_defaults() -> None:
    eap = [
        HelpResource("Acme EAP", "0800-000-0000", "24h", "JP", "en"),
        HelpResource("Acme 相談窓口", "0800-000-0000", "24時間", "JP", "ja"),
    ]
    reply = safe_response(assess("死にたい"), "ja-JP", resources=eap)
    assert "Acme 相談窓口" in reply and "よりそい" not in reply
    # No line for the user's region: the international entries of the given list, or none at all.
    assert "Acme" not in safe_response(assess("I want to die"), "en-US", resources=eap)


@pytest.mark.parametrize(("locale", "region"), [("ja-JP", "JP"), ("ja", "JP"), ("en_US", "US"), ("en", "*")])
def test_region_of(locale: str, region: str) -> None:
    assert region_of(locale) == region


def test_every_default_resource_names_its_region() -> None:
    for r in resources_for("JP", "ja") + resources_for("US", "en") + resources_for("*", "en"):
        assert r.region in {"JP", "US", "*"} and r.contact
