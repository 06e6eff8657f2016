"""Enforcement settings: a disabled service, a custom ladder, and ladders that are refused."""

from __future__ import annotations

from datetime import timedelta
from pathlib import Path

import pytest

from sekisho.clock import utcnow
from sekisho.enforcement import EnforcementSettings, Threshold, transparency_report
from tests.enforcement.conftest import make_world
from tests.enforcement.test_ladder import key_state


def test_disabled_enforcement_records_but_does_not_act(database_url: str, tmp_path: Path) -> None:
    world = make_world(database_url, tmp_path, EnforcementSettings(enabled=False))
    try:
        lee = world.user("lee@example.test")
        key_id, _ = world.key(lee)
        assert [world.violate(lee, key_id) for _ in range(6)] == [None] * 6
        assert key_state(world, key_id) == (False, False, None)
        report = transparency_report(world.core.engine, utcnow() - timedelta(hours=1), utcnow(), world.org.id)
        assert report["violations"]["total"] == 6
    finally:
        world.core.engine.dispose()


def test_custom_ladder_with_restrict_models(database_url: str, tmp_path: Path) -> None:
    ladder = EnforcementSettings(
        window_days=7,
        thresholds=[
            Threshold(violations=2, action="restrict_models", models=["small"]),
            Threshold(violations=4, action="suspend_key"),
        ],
    )
    world = make_world(database_url, tmp_path, ladder)
    try:
        mo = world.user("mo@example.test")
        key_id, _ = world.key(mo)
        outcomes = [world.violate(mo, key_id) for _ in range(4)]
        assert [o.action.action if o else None for o in outcomes] == [
            None,
            "restrict_models",
            None,
            "suspend_key",
        ]
        assert "small" in outcomes[1].message_en and key_state(world, key_id) == (True, False, ("small",))
    finally:
        world.core.engine.dispose()


def test_settings_reject_a_bad_ladder() -> None:
    with pytest.raises(ValueError, match="increasing"):
        EnforcementSettings(
            thresholds=[Threshold(violations=3, action="warn"), Threshold(violations=2, action="warn")]
        )
    with pytest.raises(ValueError, match="models"):
        Threshold(violations=1, action="restrict_models")
    with pytest.raises(ValueError):
        EnforcementSettings(window_days=30, extra=1)  # type: ignore[call-arg]
