"""Budget alerts: a threshold crossed in a period → one ``budget_alerts`` row, a signed webhook
(``budget.threshold_reached``) and e-mail, all in the transaction that records the spend.

The row's primary key (budget, period, threshold) makes the alert happen once per period even when
several replicas settle spend at the same moment; the webhook and e-mail outboxes make it survive a
restart. Recipients are the budget's ``notify`` list, or else the organisation's owners and admins.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from decimal import Decimal
from typing import Any

from sqlalchemy import Connection, select
from sqlalchemy.dialects import postgresql, sqlite

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import utcnow
from sekisho.email.outbox import EmailOutbox
from sekisho.limits.model import Budget
from sekisho.limits.periods import Period
from sekisho.store.tables import orgs, users
from sekisho.store.tables_budgets import budget_alerts
from sekisho.webhooks import WebhookOutbox

EVENT_TYPE = "budget.threshold_reached"


@dataclass(frozen=True, slots=True)
class Fired:
    """An alert recorded in the current transaction."""

    budget_id: str
    period: str
    threshold: int
    emails: int


class AlertWriter:
    """Finds thresholds crossed by a new spend total and queues their notifications."""

    def __init__(self, audit: AuditLog, webhooks: WebhookOutbox | None, email: EmailOutbox | None) -> None:
        self._audit = audit
        self._webhooks = webhooks
        self._email = email
        # Alerts known to be recorded (committed), so a busy budget does not try again every flush.
        self._known: set[tuple[str, str, int]] = set()

    def remember(self, fired: list[Fired]) -> None:
        """Called after the transaction that recorded ``fired`` committed."""
        self._known.update((f.budget_id, f.period, f.threshold) for f in fired)

    def crossed_in(self, conn: Connection, budget: Budget, period: Period, spent: int) -> list[Fired]:
        """Record every threshold ``spent`` has reached in this period and not yet alerted on."""
        fired: list[Fired] = []
        for threshold in sorted(budget.thresholds):
            if (budget.id, period.start, threshold) in self._known:
                continue
            if spent < math.ceil(budget.amount * threshold / 100):
                break
            if not _insert_alert(conn, budget.id, period.start, threshold):
                # Another replica recorded it first; it sends the notifications.
                self._known.add((budget.id, period.start, threshold))
                continue
            fired.append(
                Fired(
                    budget.id, period.start, threshold, self._notify(conn, budget, period, spent, threshold)
                )
            )
        return fired

    def _notify(self, conn: Connection, budget: Budget, period: Period, spent: int, threshold: int) -> int:
        data = alert_data(budget, period, spent, threshold)
        slug = conn.execute(select(orgs.c.slug).where(orgs.c.id == budget.org_id)).scalar()
        if self._webhooks is not None:
            self._webhooks.enqueue_in(conn, EVENT_TYPE, budget.org_id, slug, data)
        self._audit.append_in(conn, AuditEvent(EVENT_TYPE, actor="system", org_id=budget.org_id, data=data))
        if self._email is None:
            return 0
        recipients = list(budget.notify) if budget.notify is not None else org_admins(conn, budget.org_id)
        subject, body = message(budget, period, spent, threshold, slug)
        return len(self._email.enqueue_in(conn, budget.org_id, recipients, subject, body))


def _insert_alert(conn: Connection, budget_id: str, period: str, threshold: int) -> bool:
    values = {"budget_id": budget_id, "period_start": period, "threshold": threshold, "fired_at": utcnow()}
    dialect = postgresql if conn.dialect.name == "postgresql" else sqlite
    statement = dialect.insert(budget_alerts).values(**values).on_conflict_do_nothing()
    return bool(conn.execute(statement).rowcount)


def org_admins(conn: Connection, org_id: str) -> list[str]:
    """E-mail addresses of the organisation's active owners and admins (service accounts excluded)."""
    rows = conn.execute(
        select(users.c.email)
        .where(
            users.c.org_id == org_id,
            users.c.role.in_(("owner", "admin")),
            users.c.active.is_(True),
            users.c.is_service_account.is_(False),
        )
        .order_by(users.c.email)
    ).all()
    return [r.email for r in rows]


def alert_data(budget: Budget, period: Period, spent: int, threshold: int) -> dict[str, Any]:
    """The webhook's ``data`` (ids and numbers only, as the outbox requires)."""
    return {
        "budget_id": budget.id,
        "name": budget.name,
        "scope_type": budget.scope_type,
        "scope_id": budget.scope_id,
        "unit": budget.unit,
        "amount": budget.amount,
        "spent": spent,
        "threshold": threshold,
        "period": budget.period,
        "period_start": period.start,
        "resets_at": period.ends_at.isoformat() if period.ends_at else None,
    }


def amount_text(unit: str, value: int) -> str:
    """``0.0000102 USD`` (exact: every nano-dollar shown, no trailing zeros) or ``1,234 tokens``."""
    if unit == "usd":
        text = f"{Decimal(value).scaleb(-9):f}"
        return f"{text.rstrip('0').rstrip('.') if '.' in text else text} USD"
    return f"{value:,} tokens"


def message(
    budget: Budget, period: Period, spent: int, threshold: int, org_slug: str | None
) -> tuple[str, str]:
    """Subject and plain-text body of the alert e-mail."""
    where = f"organisation {org_slug}" if org_slug else "your organisation"
    subject = f"[Sekisho] Budget {budget.label} reached {threshold}%"
    when = (
        "for all time" if period.ends_at is None else f"in the {budget.period} starting {period.start} (UTC)"
    )
    resets = "It does not reset." if period.ends_at is None else f"It resets at {period.ends_at.isoformat()}."
    body = (
        f"The budget {budget.label} of {where} ({budget.scope_type} {budget.scope_id}) has reached "
        f"{threshold}% {when}.\n\n"
        f"Spent: {amount_text(budget.unit, spent)} of {amount_text(budget.unit, budget.amount)}.\n"
        f"{resets}\n"
        + ("Requests over the budget are refused with 429 budget_exceeded.\n" if threshold >= 100 else "")
        + f"\nBudget id: {budget.id}\n"
    )
    return subject, body
