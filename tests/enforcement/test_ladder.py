"""The enforcement ladder against real databases: counting, thresholds applied once, lifting."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import timedelta

import pytest
from sqlalchemy import func, insert, select

from sekisho.clock import utcnow
from sekisho.identity.store import NotFound
from sekisho.store.tables import audit_log, violations
from tests.enforcement.conftest import World


def key_state(world: World, key_id: str) -> tuple[bool, bool, tuple[str, ...] | None]:
    key = world.core.tenancy.get_key(key_id)
    return key.suspended_at is not None, key.review_all, key.models


def audit_kinds(world: World, kind: str) -> int:
    with world.core.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(audit_log.c.kind == kind)).scalar_one())


def test_ladder_applies_each_threshold_once(world: World) -> None:
    alice = world.user("alice@example.test")
    key_id, _ = world.key(alice)
    outcomes = [world.violate(alice, key_id) for _ in range(7)]
    applied = [(i + 1, o.action.action) for i, o in enumerate(outcomes) if o is not None]
    assert applied == [(1, "warn"), (3, "require_review"), (5, "suspend_key")]
    assert all(o.action.subject_type == "user" for o in outcomes if o)
    assert key_state(world, key_id) == (True, True, None)
    # Told why, in both languages, with how to appeal.
    warn = outcomes[0]
    assert "1 usage-policy violation" in warn.message_en and "/v1/appeals" in warn.message_en
    assert "違反" in warn.message_ja and "異議" in warn.message_ja
    assert audit_kinds(world, "enforcement.action") == 3
    assert audit_kinds(world, "enforcement.violation") == 7


def test_a_person_is_counted_once_across_keys_and_new_keys_inherit(world: World) -> None:
    bob = world.user("bob@example.test")
    (a, _), (b, _) = world.key(bob), world.key(bob)
    assert world.violate(bob, a).action.action == "warn"
    assert world.violate(bob, b) is None
    third = world.violate(bob, a)
    assert (third.action.action, third.action.subject_id, third.violations) == ("require_review", bob.id, 3)
    assert key_state(world, a)[1] and key_state(world, b)[1]
    # A key made after the action is covered too: authentication reads the user's actions.
    _c, secret = world.key(bob)
    record = world.core.tenancy.find_key(secret)
    assert record is not None and record.user_review_all and not record.user_suspended


def test_service_account_keys_are_counted_per_key(world: World) -> None:
    service = world.core.tenancy.service_account_for(world.org.id, actor="test")
    (a, _), (b, _) = world.key(service), world.key(service)
    for key_id in (a, b, a, b):
        world.violate(service, key_id)
    third = world.violate(service, a)
    assert (third.action.subject_type, third.action.subject_id) == ("key", a)
    assert key_state(world, a)[1] and not key_state(world, b)[1]


def test_only_violations_inside_the_window_count(world: World) -> None:
    carol = world.user("carol@example.test")
    key_id, _ = world.key(carol)
    old = utcnow() - timedelta(days=world.enforcement.settings.window_days + 1)
    with world.core.engine.begin() as conn:
        for _ in range(4):
            conn.execute(
                insert(violations).values(ts=old, org_id=world.org.id, user_id=carol.id, key_id=key_id)
            )
    assert world.violate(carol, key_id).action.action == "warn"  # the first inside the window


def test_a_lifted_action_is_not_reapplied_by_the_next_violation(world: World) -> None:
    dave = world.user("dave@example.test")
    key_id, _ = world.key(dave)
    suspended = [world.violate(dave, key_id) for _ in range(5)][-1]
    world.enforcement.lift(suspended.action.id, org_id=world.org.id, actor="admin", reason="talked to dave")
    assert key_state(world, key_id) == (False, True, None)  # review stays: only the suspension was lifted
    assert world.violate(dave, key_id) is None
    assert key_state(world, key_id)[0] is False
    again = world.enforcement.lift(suspended.action.id, org_id=world.org.id, actor="admin")
    assert again.lifted_by == "admin"  # idempotent
    assert audit_kinds(world, "enforcement.lifted") == 1


def test_restrict_models_and_lift_restores_each_key(world: World) -> None:
    erin = world.user("erin@example.test")
    (a, _), (b, _) = world.key(erin, models=["gpt-a", "gpt-b", "gpt-c"]), world.key(erin)
    action = world.enforcement.take_action(
        org_id=world.org.id,
        subject_type="user",
        subject_id=erin.id,
        action="restrict_models",
        reason="manual",
        actor="admin",
        models=["gpt-a", "gpt-x"],
    )
    assert key_state(world, a)[2] == ("gpt-a",) and key_state(world, b)[2] == ("gpt-a", "gpt-x")
    world.enforcement.lift(action.id, org_id=world.org.id, actor="admin")
    assert key_state(world, a)[2] == ("gpt-a", "gpt-b", "gpt-c") and key_state(world, b)[2] is None


def test_two_suspensions_one_lifted_key_stays_suspended(world: World) -> None:
    fay = world.user("fay@example.test")
    key_id, _ = world.key(fay)
    common = {"org_id": world.org.id, "action": "suspend_key", "reason": "r", "actor": "admin"}
    on_key = world.enforcement.take_action(subject_type="key", subject_id=key_id, **common)
    on_user = world.enforcement.take_action(subject_type="user", subject_id=fay.id, **common)
    world.enforcement.lift(on_key.id, org_id=world.org.id, actor="admin")
    assert key_state(world, key_id)[0] is True
    world.enforcement.lift(on_user.id, org_id=world.org.id, actor="admin")
    assert key_state(world, key_id)[0] is False


def test_manual_actions_validate_and_stay_in_their_org(world: World) -> None:
    other = world.core.tenancy.create_org("other", "Other", actor="test")
    stranger = world.user("s@other.test", org=other)
    with pytest.raises(NotFound):
        world.enforcement.take_action(
            org_id=world.org.id,
            subject_type="user",
            subject_id=stranger.id,
            action="warn",
            reason="r",
            actor="a",
        )
    with pytest.raises(ValueError, match="models"):
        world.enforcement.take_action(
            org_id=other.id,
            subject_type="user",
            subject_id=stranger.id,
            action="restrict_models",
            reason="r",
            actor="a",
        )
    action = world.enforcement.take_action(
        org_id=other.id, subject_type="user", subject_id=stranger.id, action="warn", reason="r", actor="a"
    )
    with pytest.raises(NotFound):
        world.enforcement.lift(action.id, org_id=world.org.id, actor="a")
    assert world.enforcement.list_actions(world.org.id) == []


def test_concurrent_violations_apply_each_threshold_once(world: World) -> None:
    kim = world.user("kim@example.test")
    key_id, _ = world.key(kim)
    with ThreadPoolExecutor(8) as pool:
        results = list(pool.map(lambda _: world.violate(kim, key_id), range(12)))
    applied = sorted(r.action.action for r in results if r is not None)
    # Thresholds that were reached but overtaken by a higher one in the same burst are skipped.
    assert "suspend_key" in applied and len(applied) == len(set(applied))
    assert len(world.enforcement.list_actions(world.org.id)) == len(applied)
