"""Appeals: a requester asks for an action to be reconsidered; a reviewer upholds or overturns it.

Decisions are idempotent (the same decision again answers the stored one; a different one after a
decision is a conflict) and a reviewer never decides an appeal about their own key or user.
"""

from __future__ import annotations

from abc import ABC, abstractmethod
from collections.abc import Mapping
from typing import Any

from sqlalchemy import Connection, Engine, insert, select, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import new_id, utcnow
from sekisho.enforcement.models import Action, Appeal, Forbidden, appeal_from_row
from sekisho.identity.principal import Principal
from sekisho.identity.store import Conflict, NotFound
from sekisho.store.tables import api_keys, appeals
from sekisho.store.tx import write_transaction

OUTCOMES = {"uphold": "upheld", "overturn": "overturned"}
MAX_TEXT = 5000


class AppealBook(ABC):
    """The appeal half of ``Enforcement``, which implements the abstract members declared here."""

    engine: Engine
    audit: AuditLog

    @abstractmethod
    def lift_in(
        self, conn: Connection, action_id: str, *, org_id: str | None, actor: str, reason: str | None
    ) -> tuple[Action, list[str]]: ...

    @abstractmethod
    def _action_row(self, conn: Connection, action_id: str, org_id: str | None) -> dict[str, Any]: ...

    @abstractmethod
    def _forget(self, key_ids: list[str]) -> None: ...

    @abstractmethod
    def notify_in(self, conn: Connection, event_type: str, org_id: str, data: Mapping[str, Any]) -> None: ...

    def create_appeal(self, principal: Principal, action_id: str, text: str) -> Appeal:
        """Appeal an action on the caller's own key or user (others' actions answer NotFound)."""
        text = text.strip()
        if not text:
            raise ValueError("the appeal text must not be empty")
        if len(text) > MAX_TEXT:
            raise ValueError(f"the appeal text is limited to {MAX_TEXT} characters")
        with write_transaction(self.engine) as conn:
            row = self._action_row(conn, action_id, principal.org_id)
            if not _concerns(row, principal):
                raise NotFound(f"enforcement action {action_id!r} not found")
            if row["lifted_at"] is not None:
                raise Conflict("this action has already been lifted")
            pending = conn.execute(
                select(appeals.c.id).where(appeals.c.action_id == action_id, appeals.c.status == "open")
            ).first()
            if pending is not None:
                raise Conflict(f"appeal {pending[0]} about this action is still open")
            values = {
                "id": new_id("appeal"),
                "org_id": row["org_id"],
                "action_id": action_id,
                "user_id": principal.user_id,
                "key_id": principal.key_id,
                "text": text,
                "status": "open",
                "decided_by": None,
                "decision_reason": None,
                "created_at": utcnow(),
                "decided_at": None,
            }
            conn.execute(insert(appeals).values(**values))
            self.audit.append_in(
                conn,
                AuditEvent(
                    "enforcement.appeal.created",
                    actor=principal.actor,
                    org_id=row["org_id"],
                    data={"appeal_id": values["id"], "action_id": action_id, "chars": len(text)},
                ),
            )
            # The appeal text stays out of the webhook: reviewers read it through the API.
            self.notify_in(
                conn,
                "enforcement.appeal_created",
                row["org_id"],
                {"appeal_id": values["id"], "action_id": action_id},
            )
        return appeal_from_row(values)

    def get_appeal(self, appeal_id: str, org_id: str | None) -> Appeal:
        with self.engine.connect() as conn:
            return appeal_from_row(_appeal_row(conn, appeal_id, org_id))

    def appeal_for(self, appeal_id: str, principal: Principal) -> Appeal:
        """An appeal as its requester sees it: only their own."""
        appeal = self.get_appeal(appeal_id, principal.org_id)
        mine = appeal.key_id == principal.key_id or (
            principal.user_id is not None and appeal.user_id == principal.user_id
        )
        if not mine:
            raise NotFound(f"appeal {appeal_id!r} not found")
        return appeal

    def appeals_of(self, principal: Principal, *, limit: int = 100) -> list[Appeal]:
        """The appeals the caller made (with this key, or as this user)."""
        mine = appeals.c.key_id == principal.key_id
        if principal.user_id is not None:
            mine = mine | (appeals.c.user_id == principal.user_id)
        query = (
            select(appeals)
            .where(appeals.c.org_id == principal.org_id, mine)
            .order_by(appeals.c.created_at.desc())
            .limit(limit)
        )
        with self.engine.connect() as conn:
            return [appeal_from_row(r) for r in conn.execute(query).mappings()]

    def list_appeals(
        self, org_id: str | None, *, status: str | None = None, limit: int = 100
    ) -> list[Appeal]:
        query = select(appeals).order_by(appeals.c.created_at.desc()).limit(limit)
        if org_id is not None:
            query = query.where(appeals.c.org_id == org_id)
        if status is not None:
            query = query.where(appeals.c.status == status)
        with self.engine.connect() as conn:
            return [appeal_from_row(r) for r in conn.execute(query).mappings()]

    def decide_appeal(self, appeal_id: str, reviewer: Principal, outcome: str, reason: str) -> Appeal:
        """Uphold or overturn; overturning lifts the action and so reinstates the key."""
        if outcome not in OUTCOMES:
            raise ValueError("outcome must be uphold or overturn")
        status = OUTCOMES[outcome]
        scope = None if reviewer.superuser else reviewer.org_id
        touched: list[str] = []
        with write_transaction(self.engine) as conn:
            row = _appeal_row(conn, appeal_id, scope, lock=True)
            action = self._action_row(conn, row["action_id"], row["org_id"])
            if _is_own(conn, reviewer, row, action):
                raise Forbidden("You cannot decide an appeal about your own key or user.")
            if row["status"] != "open":
                if row["status"] == status:
                    return appeal_from_row(row)
                raise Conflict(f"appeal {appeal_id} was already decided: {row['status']}")
            now = utcnow()
            conn.execute(
                update(appeals)
                .where(appeals.c.id == appeal_id)
                .values(status=status, decided_by=reviewer.actor, decision_reason=reason, decided_at=now)
            )
            self.audit.append_in(
                conn,
                AuditEvent(
                    "enforcement.appeal.decided",
                    actor=reviewer.actor,
                    org_id=row["org_id"],
                    data={
                        "appeal_id": appeal_id,
                        "action_id": row["action_id"],
                        "outcome": status,
                        "reason": reason,
                    },
                ),
            )
            self.notify_in(
                conn,
                "enforcement.appeal_decided",
                row["org_id"],
                {"appeal_id": appeal_id, "action_id": row["action_id"], "outcome": status, "reason": reason},
            )
            if status == "overturned":
                _lifted, touched = self.lift_in(
                    conn,
                    row["action_id"],
                    org_id=row["org_id"],
                    actor=reviewer.actor,
                    reason=f"appeal {appeal_id} overturned: {reason}",
                )
            decided = {
                **row,
                "status": status,
                "decided_by": reviewer.actor,
                "decision_reason": reason,
                "decided_at": now,
            }
        self._forget(touched)
        return appeal_from_row(decided)


def _appeal_row(
    conn: Connection, appeal_id: str, org_id: str | None, *, lock: bool = False
) -> dict[str, Any]:
    query = select(appeals).where(appeals.c.id == appeal_id)
    if org_id is not None:
        query = query.where(appeals.c.org_id == org_id)
    # Decisions serialise on the row, so two reviewers cannot both decide (PostgreSQL; SQLite's
    # write transaction already does).
    row = conn.execute(query.with_for_update() if lock else query).mappings().first()
    if row is None:
        raise NotFound(f"appeal {appeal_id!r} not found")
    return dict(row)


def _concerns(action: dict[str, Any], principal: Principal) -> bool:
    mine = principal.key_id if action["subject_type"] == "key" else principal.user_id
    return mine is not None and str(action["subject_id"]) == mine


def _is_own(conn: Connection, reviewer: Principal, appeal: dict[str, Any], action: dict[str, Any]) -> bool:
    """The appeal is by the reviewer, or the action is on the reviewer's key or user."""
    if reviewer.superuser:
        return False
    if reviewer.key_id is not None and reviewer.key_id in (appeal["key_id"], action["subject_id"]):
        return True
    if reviewer.user_id is None:
        return False
    if reviewer.user_id == appeal["user_id"]:
        return True
    if action["subject_type"] == "user":
        return bool(action["subject_id"] == reviewer.user_id)
    owner = conn.execute(select(api_keys.c.user_id).where(api_keys.c.id == action["subject_id"])).first()
    return owner is not None and bool(owner[0] == reviewer.user_id)
