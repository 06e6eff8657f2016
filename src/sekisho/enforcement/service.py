"""Violations counted against a ladder, actions applied and lifted, appeals decided.

Every method is synchronous (it talks to the database); the gateway runs ``record_violation`` in a
worker thread. Every change writes its audit record in the same transaction as the change itself.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from datetime import datetime, timedelta
from typing import Any, Protocol

from sqlalchemy import Connection, Engine, func, insert, select, text, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import new_id, utcnow
from sekisho.enforcement import effects
from sekisho.enforcement.appeals import AppealBook
from sekisho.enforcement.messages import APPEAL_HINT_EN, APPEAL_HINT_JA, action_messages
from sekisho.enforcement.models import AUTO_PREFIX, Action, AppliedAction, action_from_row
from sekisho.enforcement.settings import ACTIONS, EnforcementSettings
from sekisho.identity.principal import Principal
from sekisho.identity.store import NotFound
from sekisho.store.tables import api_keys, enforcement_actions, orgs, users, violations
from sekisho.store.tx import write_transaction


class KeyCache(Protocol):
    """What enforcement needs of the authenticator: drop a changed key from its cache."""

    def forget(self, key_id: str) -> None: ...


class Notifier(Protocol):
    """What enforcement needs of the webhook outbox (``sekisho.webhooks.WebhookOutbox``)."""

    def enqueue_in(
        self,
        conn: Connection,
        event_type: str,
        org_id: str | None,
        org_slug: str | None,
        data: Mapping[str, Any],
    ) -> list[str]: ...


class Enforcement(AppealBook):
    """The enforcement service (appeals come from ``AppealBook``)."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        settings: EnforcementSettings | None = None,
        *,
        authenticator: KeyCache | None = None,
        notifier: Notifier | None = None,
    ) -> None:
        self.engine = engine
        self.audit = audit
        self.settings = settings or EnforcementSettings()
        self.authenticator = authenticator
        self.notifier = notifier

    # Violations ----------------------------------------------------------------------------------
    def record_violation(
        self,
        *,
        org_id: str,
        project_id: str | None,
        user_id: str | None,
        key_id: str | None,
        category: str | None,
        rule_id: str | None,
        request_id: str | None,
    ) -> AppliedAction | None:
        """Store a violation; apply the gravest threshold newly reached, once.

        A threshold counts as applied when the ladder has already applied it (or a higher one) to
        the subject within the window — lifted or not — so a later violation never re-applies an
        action a person lifted, and a burst of violations never stacks the same action.
        """
        now = utcnow()
        since = now - timedelta(days=self.settings.window_days)
        applied: AppliedAction | None = None
        touched: list[str] = []
        with write_transaction(self.engine) as conn:
            conn.execute(
                insert(violations).values(
                    ts=now,
                    org_id=org_id,
                    project_id=project_id,
                    user_id=user_id,
                    key_id=key_id,
                    category=category,
                    rule_id=rule_id,
                    request_id=request_id,
                )
            )
            self.audit.append_in(
                conn,
                AuditEvent(
                    "enforcement.violation",
                    actor="system",
                    org_id=org_id,
                    project_id=project_id,
                    request_id=request_id,
                    data={"user_id": user_id, "key_id": key_id, "category": category, "rule_id": rule_id},
                ),
            )
            subject = self._subject(conn, org_id, user_id, key_id)
            if subject is None or not self.settings.enabled:
                return None
            subject_type, subject_id = subject
            self._lock(conn, f"{subject_type}:{subject_id}")
            count = self._count(conn, org_id, subject_type, subject_id, since)
            threshold = self.settings.reached(count)
            if threshold is None or threshold.violations <= self._applied_level(
                conn, org_id, subject_type, subject_id, since
            ):
                return None
            en, ja = action_messages(
                threshold.action, count, self.settings.window_days, category, threshold.models
            )
            action, touched = self._apply(
                conn,
                org_id=org_id,
                subject_type=subject_type,
                subject_id=subject_id,
                action=threshold.action,
                reason=en,
                actor=f"{AUTO_PREFIX}{threshold.violations}",
                models=threshold.models,
                now=now,
                request_id=request_id,
            )
            applied = AppliedAction(action, count, f"{en} {APPEAL_HINT_EN}", f"{ja}{APPEAL_HINT_JA}")
        self._forget(touched)
        return applied

    def _subject(
        self, conn: Connection, org_id: str, user_id: str | None, key_id: str | None
    ) -> tuple[str, str] | None:
        """A person is counted across their keys; a service account's key on its own."""
        if user_id is not None:
            row = conn.execute(
                select(users.c.is_service_account).where(users.c.id == user_id, users.c.org_id == org_id)
            ).first()
            if row is not None and not row[0]:
                return "user", user_id
        if key_id is not None:
            return "key", key_id
        return None

    def _lock(self, conn: Connection, subject: str) -> None:
        # SQLite's write transaction already serialises writers; PostgreSQL needs a lock per subject
        # so two concurrent violations cannot both see "not yet applied".
        if conn.dialect.name == "postgresql":
            conn.execute(text("SELECT pg_advisory_xact_lock(hashtext(:s))"), {"s": subject})

    @staticmethod
    def _count(conn: Connection, org_id: str, subject_type: str, subject_id: str, since: datetime) -> int:
        column = violations.c.user_id if subject_type == "user" else violations.c.key_id
        query = select(func.count()).where(
            violations.c.org_id == org_id, column == subject_id, violations.c.ts >= since
        )
        return int(conn.execute(query).scalar_one())

    @staticmethod
    def _applied_level(
        conn: Connection, org_id: str, subject_type: str, subject_id: str, since: datetime
    ) -> int:
        a = enforcement_actions.c
        rows = conn.execute(
            select(a.created_by).where(
                a.org_id == org_id,
                a.subject_type == subject_type,
                a.subject_id == subject_id,
                a.created_at >= since,
                a.created_by.startswith(AUTO_PREFIX),
            )
        ).scalars()
        levels = [int(by[len(AUTO_PREFIX) :]) for by in rows if by[len(AUTO_PREFIX) :].isdigit()]
        return max(levels, default=0)

    # Actions -------------------------------------------------------------------------------------
    def take_action(
        self,
        *,
        org_id: str,
        subject_type: str,
        subject_id: str,
        action: str,
        reason: str,
        actor: str,
        models: Sequence[str] | None = None,
    ) -> Action:
        """A manual action by an administrator."""
        if action not in ACTIONS:
            raise ValueError(f"action must be one of {', '.join(ACTIONS)}")
        if subject_type not in ("key", "user"):
            raise ValueError("subject_type must be key or user")
        if (action == "restrict_models") != (models is not None):
            raise ValueError("'models' is required for restrict_models and only for it")
        with write_transaction(self.engine) as conn:
            table = api_keys if subject_type == "key" else users
            found = conn.execute(
                select(table.c.id).where(table.c.id == subject_id, table.c.org_id == org_id)
            ).first()
            if found is None:
                raise NotFound(f"{subject_type} {subject_id!r} not found")
            created, touched = self._apply(
                conn,
                org_id=org_id,
                subject_type=subject_type,
                subject_id=subject_id,
                action=action,
                reason=reason,
                actor=actor,
                models=list(models) if models is not None else None,
                now=utcnow(),
                request_id=None,
            )
        self._forget(touched)
        return created

    def _apply(
        self,
        conn: Connection,
        *,
        org_id: str,
        subject_type: str,
        subject_id: str,
        action: str,
        reason: str,
        actor: str,
        models: list[str] | None,
        now: datetime,
        request_id: str | None,
    ) -> tuple[Action, list[str]]:
        keys = effects.covered_keys(conn, org_id, subject_type, subject_id)
        stored = effects.apply(conn, keys, action, reason, now, models)
        row: dict[str, Any] = {
            "id": new_id("enf"),
            "org_id": org_id,
            "subject_type": subject_type,
            "subject_id": subject_id,
            "action": action,
            "reason": reason,
            "models": stored,
            "created_at": now,
            "created_by": actor,
            "lifted_at": None,
            "lifted_by": None,
        }
        conn.execute(insert(enforcement_actions).values(**row))
        self.audit.append_in(
            conn,
            AuditEvent(
                "enforcement.action",
                actor=actor,
                org_id=org_id,
                request_id=request_id,
                data={
                    "action_id": row["id"],
                    "action": action,
                    "subject_type": subject_type,
                    "subject_id": subject_id,
                    "reason": reason,
                    "models": ",".join(models) if models is not None else None,
                    "keys": len(keys),
                },
            ),
        )
        self.notify_in(
            conn,
            "enforcement.action",
            org_id,
            {
                "action_id": row["id"],
                "action": action,
                "subject_type": subject_type,
                "subject_id": subject_id,
                "reason": reason,
                "models": models,
            },
        )
        return action_from_row(row), [k["id"] for k in keys]

    def lift(self, action_id: str, *, org_id: str | None, actor: str, reason: str | None = None) -> Action:
        """Take an action out of force (idempotent: lifting a lifted action changes nothing)."""
        with write_transaction(self.engine) as conn:
            lifted, touched = self.lift_in(conn, action_id, org_id=org_id, actor=actor, reason=reason)
        self._forget(touched)
        return lifted

    def lift_in(
        self, conn: Connection, action_id: str, *, org_id: str | None, actor: str, reason: str | None
    ) -> tuple[Action, list[str]]:
        row = self._action_row(conn, action_id, org_id)
        if row["lifted_at"] is not None:
            return action_from_row(row), []
        now = utcnow()
        conn.execute(
            update(enforcement_actions)
            .where(enforcement_actions.c.id == row["id"])
            .values(lifted_at=now, lifted_by=actor)
        )
        keys = effects.covered_keys(conn, row["org_id"], row["subject_type"], row["subject_id"])
        lifted = {**row, "lifted_at": now, "lifted_by": actor}
        effects.undo(conn, lifted, keys)
        self.audit.append_in(
            conn,
            AuditEvent(
                "enforcement.lifted",
                actor=actor,
                org_id=row["org_id"],
                data={"action_id": row["id"], "action": row["action"], "reason": reason},
            ),
        )
        self.notify_in(
            conn,
            "enforcement.lifted",
            row["org_id"],
            {
                "action_id": row["id"],
                "action": row["action"],
                "subject_type": row["subject_type"],
                "subject_id": row["subject_id"],
            },
        )
        return action_from_row(lifted), [k["id"] for k in keys]

    def _action_row(self, conn: Connection, action_id: str, org_id: str | None) -> dict[str, Any]:
        query = select(enforcement_actions).where(enforcement_actions.c.id == action_id)
        if org_id is not None:
            query = query.where(enforcement_actions.c.org_id == org_id)
        row = conn.execute(query).mappings().first()
        if row is None:
            raise NotFound(f"enforcement action {action_id!r} not found")
        return dict(row)

    def get_action(self, action_id: str, org_id: str | None) -> Action:
        with self.engine.connect() as conn:
            return action_from_row(self._action_row(conn, action_id, org_id))

    def list_actions(
        self,
        org_id: str | None,
        *,
        subject_type: str | None = None,
        subject_id: str | None = None,
        active: bool | None = None,
        limit: int = 100,
    ) -> list[Action]:
        a = enforcement_actions.c
        query = select(enforcement_actions).order_by(a.created_at.desc()).limit(limit)
        if org_id is not None:
            query = query.where(a.org_id == org_id)
        if subject_type is not None:
            query = query.where(a.subject_type == subject_type)
        if subject_id is not None:
            query = query.where(a.subject_id == subject_id)
        if active is not None:
            query = query.where(a.lifted_at.is_(None) if active else a.lifted_at.is_not(None))
        with self.engine.connect() as conn:
            return [action_from_row(r) for r in conn.execute(query).mappings()]

    def actions_for(self, principal: Principal) -> list[Action]:
        """The actions on the caller's key and on the caller's user."""
        if principal.org_id is None:
            return []
        mine: list[Action] = []
        if principal.key_id is not None:
            mine += self.list_actions(principal.org_id, subject_type="key", subject_id=principal.key_id)
        if principal.user_id is not None:
            mine += self.list_actions(principal.org_id, subject_type="user", subject_id=principal.user_id)
        return sorted(mine, key=lambda a: a.created_at, reverse=True)

    def violation_count(self, principal: Principal) -> int:
        """The caller's violations within the window (their user's, or the key's)."""
        if principal.org_id is None:
            return 0
        since = utcnow() - timedelta(days=self.settings.window_days)
        with self.engine.connect() as conn:
            subject = self._subject(conn, principal.org_id, principal.user_id, principal.key_id)
            if subject is None:
                return 0
            return self._count(conn, principal.org_id, subject[0], subject[1], since)

    def notify_in(self, conn: Connection, event_type: str, org_id: str, data: Mapping[str, Any]) -> None:
        """Queue a webhook (the requester's and the organisation's notification) in this transaction.

        Only ids, actions and reasons written by the system or an administrator: never user text.
        """
        if self.notifier is None:
            return
        slug = conn.execute(select(orgs.c.slug).where(orgs.c.id == org_id)).scalar()
        self.notifier.enqueue_in(conn, event_type, org_id, slug, data)

    def _forget(self, key_ids: list[str]) -> None:
        if self.authenticator is not None:
            for key_id in key_ids:
                self.authenticator.forget(key_id)
