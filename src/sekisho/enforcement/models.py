"""What enforcement stores and answers: actions, appeals, and the action a violation led to."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sekisho.clock import as_utc

AUTO_PREFIX = "enforcement@"
"""``created_by`` of an action the ladder applied, followed by the threshold's violation count: the
count is what makes a threshold apply once (see ``Enforcement.record_violation``)."""


class Forbidden(PermissionError):
    """The caller may not do this (for example, decide an appeal about their own key)."""


@dataclass(frozen=True, slots=True)
class Action:
    """One enforcement action on a key or a user."""

    id: str
    org_id: str
    subject_type: str  # key | user
    subject_id: str
    action: str
    reason: str
    models: list[str] | None  # restrict_models: what the subject may still use
    created_at: datetime
    created_by: str
    lifted_at: datetime | None
    lifted_by: str | None

    @property
    def active(self) -> bool:
        return self.lifted_at is None

    @property
    def automatic(self) -> bool:
        return self.created_by.startswith(AUTO_PREFIX)

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "subject_type": self.subject_type,
            "subject_id": self.subject_id,
            "action": self.action,
            "reason": self.reason,
            "models": self.models,
            "active": self.active,
            "automatic": self.automatic,
            "created_at": self.created_at.isoformat(),
            "created_by": self.created_by,
            "lifted_at": self.lifted_at.isoformat() if self.lifted_at else None,
            "lifted_by": self.lifted_by,
        }


@dataclass(frozen=True, slots=True)
class Appeal:
    """A requester's appeal against an action, and a reviewer's decision on it."""

    id: str
    org_id: str
    action_id: str
    user_id: str | None
    key_id: str | None
    text: str
    status: str  # open | upheld | overturned
    decided_by: str | None
    decision_reason: str | None
    created_at: datetime
    decided_at: datetime | None

    def as_dict(self) -> dict[str, Any]:
        return {
            "id": self.id,
            "org_id": self.org_id,
            "action_id": self.action_id,
            "user_id": self.user_id,
            "key_id": self.key_id,
            "text": self.text,
            "status": self.status,
            "decided_by": self.decided_by,
            "decision_reason": self.decision_reason,
            "created_at": self.created_at.isoformat(),
            "decided_at": self.decided_at.isoformat() if self.decided_at else None,
        }


@dataclass(frozen=True, slots=True)
class AppliedAction:
    """What a violation led to, with what to tell the requester (English and Japanese)."""

    action: Action
    violations: int
    message_en: str
    message_ja: str

    @property
    def message(self) -> str:
        """Both languages, for a single OpenAI error message."""
        return f"{self.message_en} / {self.message_ja}"

    def as_dict(self) -> dict[str, Any]:
        return {
            **self.action.as_dict(),
            "violations": self.violations,
            "message_en": self.message_en,
            "message_ja": self.message_ja,
        }


def action_from_row(row: Mapping[Any, Any]) -> Action:
    stored = row["models"]
    allowed = stored.get("allowed") if isinstance(stored, dict) else None
    return Action(
        id=row["id"],
        org_id=row["org_id"],
        subject_type=row["subject_type"],
        subject_id=row["subject_id"],
        action=row["action"],
        reason=row["reason"],
        models=list(allowed) if allowed is not None else None,
        created_at=as_utc(row["created_at"]),
        created_by=row["created_by"],
        lifted_at=as_utc(row["lifted_at"]) if row["lifted_at"] else None,
        lifted_by=row["lifted_by"],
    )


def appeal_from_row(row: Mapping[Any, Any]) -> Appeal:
    return Appeal(
        id=row["id"],
        org_id=row["org_id"],
        action_id=row["action_id"],
        user_id=row["user_id"],
        key_id=row["key_id"],
        text=row["text"],
        status=row["status"],
        decided_by=row["decided_by"],
        decision_reason=row["decision_reason"],
        created_at=as_utc(row["created_at"]),
        decided_at=as_utc(row["decided_at"]) if row["decided_at"] else None,
    )
