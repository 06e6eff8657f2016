"""Review items under contention: concurrent decisions and claims resolve to exactly one outcome."""

from __future__ import annotations

import threading
from collections.abc import Iterator
from datetime import timedelta

import anyio
import pytest

from sekisho.audit import AuditLog
from sekisho.clock import new_id, utcnow
from sekisho.identity import Conflict, Principal, TenancyStore
from sekisho.review.runner import ReviewRunner
from sekisho.review.service import ReviewForbidden, ReviewService
from sekisho.review.store import ReviewItem, ReviewStore
from sekisho.store import create_db_engine, upgrade
from sekisho.store.batch import BatchWriter

ORG: dict[str, str] = {}


@pytest.fixture
def service(database_url: str) -> Iterator[ReviewService]:
    engine = create_db_engine(database_url)
    upgrade(engine)
    writer = BatchWriter(engine)
    writer.start()
    audit = AuditLog(engine, writer, "test")
    ORG["id"] = TenancyStore(engine, audit).ensure_default_org().id
    yield ReviewService(ReviewStore(engine, audit))
    writer.close()
    engine.dispose()


def _item(service: ReviewService, **overrides: object) -> ReviewItem:
    org_id = ORG["id"]
    now = utcnow()
    fields: dict[str, object] = {
        "id": new_id("rev"),
        "org_id": org_id,
        "project_id": "proj_x",
        "kind": "policy",
        "status": "pending",
        "request_id": new_id("req"),
        "endpoint": "chat.completions",
        "model": "m",
        "requester_user_id": "user_requester",
        "requester_key_id": "key_requester",
        "requester_actor": "user:user_requester",
        "rule_id": "R",
        "category": None,
        "rationale": None,
        "confidence": None,
        "findings": None,
        "approvals_required": 1,
        "approvals": (),
        "on_expiry": "reject",
        "hold_until": None,
        "escalated": False,
        "reason": None,
        "request_body": "{}",
        "response_body": None,
        "error": None,
        "created_at": now,
        "expires_at": now + timedelta(hours=1),
        "decided_at": None,
        "decided_by": None,
        "completed_at": None,
        "revision": 1,
    }
    fields.update(overrides)
    item = ReviewItem(**fields)  # type: ignore[arg-type]
    return service.store.create(item, actor="test")


def _reviewer(n: int, role: str = "reviewer") -> Principal:
    return Principal(
        org_id=None, project_id=None, user_id=f"user_{n}", key_id=f"key_{n}", key_prefix=f"k{n}", role=role
    )


def test_concurrent_approve_and_reject_end_in_one_decision(service: ReviewService) -> None:
    item = _item(service)
    outcomes: list[str] = []

    def act(n: int) -> None:
        reviewer = _reviewer(n)
        try:
            done = service._decide(item.id, reviewer, "approve" if n % 2 else "reject", "r", None)
            outcomes.append(done.status)
        except Conflict:
            outcomes.append("conflict")

    threads = [threading.Thread(target=act, args=(n,)) for n in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    final = service.store.get(item.id)
    assert final.status in ("approved", "rejected")
    # Everyone either saw the winning decision (a repeat) or was told it conflicts.
    assert set(outcomes) <= {final.status, "conflict"}
    assert final.revision == 2  # one change, not eight


def test_self_review_and_roles_are_checked_before_anything_changes(service: ReviewService) -> None:
    item = _item(service)
    with pytest.raises(ReviewForbidden):
        service._decide(item.id, _reviewer(0, "member"), "approve", None, None)
    own = Principal(
        org_id=None, project_id=None, user_id="user_requester", key_id="k", key_prefix="k", role="reviewer"
    )
    with pytest.raises(ReviewForbidden):
        service._decide(item.id, own, "approve", None, None)
    assert service.store.get(item.id).revision == 1


@pytest.mark.anyio
async def test_an_approved_item_runs_once_across_runners(service: ReviewService) -> None:
    item = _item(service, status="approved")
    runs: list[str] = []

    async def execute(claimed: ReviewItem) -> tuple[dict[str, object] | None, dict[str, object] | None]:
        runs.append(claimed.id)
        await anyio.sleep(0.05)
        return {"ok": True}, None

    runners = [ReviewRunner(service, execute) for _ in range(4)]
    async with anyio.create_task_group() as tg:
        for runner in runners:
            tg.start_soon(runner.run_once)
    assert runs == [item.id]
    done = service.store.get(item.id)
    assert done.status == "completed" and done.response_body == '{"ok":true}'
