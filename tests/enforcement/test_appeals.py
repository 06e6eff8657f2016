"""Appeals, the transparency report and notifications against real databases."""

from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from sekisho.clock import utcnow
from sekisho.enforcement import Forbidden, transparency_report
from sekisho.identity.store import Conflict, NotFound
from sekisho.store.tables import audit_log
from tests.enforcement.conftest import World


def key_state(world: World, key_id: str) -> tuple[bool, bool, tuple[str, ...] | None]:
    key = world.core.tenancy.get_key(key_id)
    return key.suspended_at is not None, key.review_all, key.models


def audit_kinds(world: World, kind: str) -> int:
    with world.core.engine.connect() as conn:
        return int(conn.execute(select(func.count()).where(audit_log.c.kind == kind)).scalar_one())


def test_appeal_overturn_reinstates_and_decisions_are_idempotent(world: World) -> None:
    gus = world.user("gus@example.test")
    key_id, _ = world.key(gus)
    reviewer = world.user("rev@example.test", "reviewer")
    rev_key, _ = world.key(reviewer)
    suspended = [world.violate(gus, key_id) for _ in range(5)][-1].action
    me = world.principal(gus, key_id)
    appeal = world.enforcement.create_appeal(me, suspended.id, "  それは誤検知です / a false positive  ")
    assert appeal.status == "open" and appeal.text.startswith("それは")
    with pytest.raises(Conflict):
        world.enforcement.create_appeal(me, suspended.id, "again")
    with pytest.raises(ValueError):
        world.enforcement.create_appeal(me, suspended.id, "   ")

    judge = world.principal(reviewer, rev_key)
    decided = world.enforcement.decide_appeal(appeal.id, judge, "overturn", "policy misread")
    assert (decided.status, decided.decided_by) == ("overturned", judge.actor)
    assert key_state(world, key_id)[0] is False
    assert world.enforcement.get_action(suspended.id, world.org.id).lifted_by == judge.actor
    same = world.enforcement.decide_appeal(appeal.id, judge, "overturn", "again")
    assert same.decision_reason == "policy misread"
    with pytest.raises(Conflict):
        world.enforcement.decide_appeal(appeal.id, judge, "uphold", "changed my mind")
    assert audit_kinds(world, "enforcement.appeal.decided") == 1
    assert audit_kinds(world, "enforcement.appeal.created") == 1


def test_uphold_keeps_the_action_and_self_decision_is_forbidden(world: World) -> None:
    hana = world.user("hana@example.test", "reviewer")  # a reviewer who is also a requester
    key_id, _ = world.key(hana)
    other_key, _ = world.key(hana)
    action = world.enforcement.take_action(
        org_id=world.org.id,
        subject_type="key",
        subject_id=key_id,
        action="suspend_key",
        reason="r",
        actor="a",
    )
    appeal = world.enforcement.create_appeal(world.principal(hana, key_id), action.id, "please")
    with pytest.raises(Forbidden):  # not even with another of her keys
        world.enforcement.decide_appeal(appeal.id, world.principal(hana, other_key), "overturn", "mine")
    boss = world.user("boss@example.test", "admin")
    boss_key, _ = world.key(boss)
    upheld = world.enforcement.decide_appeal(
        appeal.id, world.principal(boss, boss_key), "uphold", "clear abuse"
    )
    assert upheld.status == "upheld" and key_state(world, key_id)[0] is True


def test_appeals_are_private_to_their_subject_and_org(world: World) -> None:
    ivy, jon = world.user("ivy@example.test"), world.user("jon@example.test")
    ivy_key, _ = world.key(ivy)
    jon_key, _ = world.key(jon)
    action = world.violate(ivy, ivy_key).action
    with pytest.raises(NotFound):  # another person's action
        world.enforcement.create_appeal(world.principal(jon, jon_key), action.id, "mine?")
    appeal = world.enforcement.create_appeal(world.principal(ivy, ivy_key), action.id, "sorry")
    with pytest.raises(NotFound):
        world.enforcement.appeal_for(appeal.id, world.principal(jon, jon_key))
    other = world.core.tenancy.create_org("elsewhere", "Elsewhere", actor="test")
    outsider = world.user("admin@elsewhere.test", "admin", org=other)
    with pytest.raises(NotFound):
        world.enforcement.decide_appeal(appeal.id, world.principal(outsider, "key_x"), "overturn", "x")
    with pytest.raises(NotFound):
        world.enforcement.get_appeal(appeal.id, other.id)
    assert [a.id for a in world.enforcement.appeals_of(world.principal(ivy, ivy_key))] == [appeal.id]


def test_transparency_counts(world: World) -> None:
    nia = world.user("nia@example.test")
    key_id, _ = world.key(nia)
    start = utcnow() - timedelta(seconds=1)
    for category in ("impersonation_fraud", "impersonation_fraud", "election_interference"):
        world.violate(nia, key_id, category)
    actions = world.enforcement.list_actions(world.org.id, subject_type="user", subject_id=nia.id)
    warn = next(a for a in actions if a.action == "warn")
    boss = world.user("boss2@example.test", "admin")
    boss_key, _ = world.key(boss)
    world.enforcement.take_action(
        org_id=world.org.id,
        subject_type="key",
        subject_id=key_id,
        action="suspend_key",
        reason="r",
        actor="a",
    )
    appeal = world.enforcement.create_appeal(world.principal(nia, key_id), warn.id, "why")
    world.enforcement.decide_appeal(appeal.id, world.principal(boss, boss_key), "overturn", "ok")
    report = transparency_report(world.core.engine, start, utcnow() + timedelta(seconds=1), world.org.id)
    assert report["violations"] == {
        "total": 3,
        "by_category": {"election_interference": 1, "impersonation_fraud": 2},
    }
    assert report["actions"]["by_action"] == {
        "warn": {"total": 1, "automatic": 1, "manual": 0, "lifted": 1},
        "require_review": {"total": 1, "automatic": 1, "manual": 0, "lifted": 0},
        "suspend_key": {"total": 1, "automatic": 0, "manual": 1, "lifted": 0},
    }
    assert report["appeals"] == {"total": 1, "by_outcome": {"open": 0, "upheld": 0, "overturned": 1}}
    assert report["review_queue"] == {"by_status": {}, "by_category": {}}
    before = transparency_report(world.core.engine, start - timedelta(days=2), start, world.org.id)
    assert before["violations"]["total"] == 0 and before["actions"]["total"] == 0
    other = world.core.tenancy.create_org("quiet", "Quiet", actor="test")
    assert transparency_report(world.core.engine, start, utcnow(), other.id)["violations"]["total"] == 0


def test_actions_and_appeals_notify_through_the_webhook_outbox(world: World) -> None:
    from sekisho.store.tables import webhook_deliveries
    from sekisho.webhooks.outbox import WebhookOutbox
    from sekisho.webhooks.settings import WebhookSettings

    endpoint = WebhookSettings(url="http://127.0.0.1:9/hook", secret="s" * 32, events=["enforcement.*"])
    outbox = WebhookOutbox(world.core.engine, [endpoint])
    world.enforcement.notifier = outbox
    try:
        olga = world.user("olga@example.test")
        key_id, _ = world.key(olga)
        warn = world.violate(olga, key_id).action
        appeal = world.enforcement.create_appeal(world.principal(olga, key_id), warn.id, "秘密の説明")
        boss = world.user("boss3@example.test", "admin")
        boss_key, _ = world.key(boss)
        world.enforcement.decide_appeal(appeal.id, world.principal(boss, boss_key), "overturn", "ok")
        with world.core.engine.connect() as conn:
            rows = conn.execute(
                select(webhook_deliveries.c.event_type, webhook_deliveries.c.payload).order_by(
                    webhook_deliveries.c.created_at
                )
            ).all()
    finally:
        outbox.close()
    assert sorted(r[0] for r in rows) == [
        "enforcement.action",
        "enforcement.appeal_created",
        "enforcement.appeal_decided",
        "enforcement.lifted",
    ]
    assert all("秘密" not in r[1] for r in rows)  # the appeal text never leaves in a webhook
