"""Budgets and rate limits in the database: create, change, delete (audited), and read per organisation.

Every change commits with its audit record in one write transaction. Objects of another
organisation are reported as not found, never as forbidden, so ids do not leak across tenants.
"""

from __future__ import annotations

from collections.abc import Callable, Collection, Mapping
from dataclasses import replace
from typing import Any

from sqlalchemy import Connection, Engine, delete, select, update

from sekisho.audit import AuditEvent, AuditLog
from sekisho.clock import new_id, utcnow
from sekisho.identity import NotFound
from sekisho.limits.model import BUDGET_SCOPES, LIMIT_SCOPES, MAX_AMOUNT, UNITS, Budget, RateLimit
from sekisho.limits.periods import PERIODS
from sekisho.store.tables import api_keys, projects, users
from sekisho.store.tables_budgets import budget_alerts, budget_spend, budgets, rate_limits
from sekisho.store.tx import write_transaction

BUDGET_FIELDS = ("amount", "period", "thresholds", "notify", "name", "enabled")
LIMIT_FIELDS = ("requests_per_minute", "tokens_per_minute", "concurrent")


class LimitStore:
    """The ``budgets`` and ``rate_limits`` tables. ``on_change(org_id)`` runs after each commit."""

    def __init__(
        self,
        engine: Engine,
        audit: AuditLog,
        models: Collection[str],
        on_change: Callable[[str], None] | None = None,
    ) -> None:
        self._engine = engine
        self._audit = audit
        self._models = frozenset(models)
        self._on_change = on_change

    # -- reading ------------------------------------------------------------------------------

    def org_rules(self, org_id: str) -> tuple[list[Budget], list[RateLimit]]:
        """Every budget and rate limit of one organisation."""
        with self._engine.connect() as conn:
            found = conn.execute(select(budgets).where(budgets.c.org_id == org_id)).mappings().all()
            limits = conn.execute(select(rate_limits).where(rate_limits.c.org_id == org_id)).mappings().all()
        return [Budget.from_row(r) for r in found], [RateLimit.from_row(r) for r in limits]

    def enabled_budgets(self) -> list[Budget]:
        """Every enabled budget of every organisation (reconciliation)."""
        with self._engine.connect() as conn:
            rows = conn.execute(select(budgets).where(budgets.c.enabled.is_(True))).mappings().all()
        return [Budget.from_row(r) for r in rows]

    def list_budgets(
        self, org_id: str, scope_type: str | None = None, scope_id: str | None = None
    ) -> list[Budget]:
        """The organisation's budgets, optionally of one scope, oldest first."""
        query = select(budgets).where(budgets.c.org_id == org_id)
        if scope_type is not None:
            query = query.where(budgets.c.scope_type == scope_type)
        if scope_id is not None:
            query = query.where(budgets.c.scope_id == scope_id)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(budgets.c.created_at, budgets.c.id)).mappings().all()
        return [Budget.from_row(r) for r in rows]

    def get_budget(self, budget_id: str, org_id: str) -> Budget:
        """One budget of ``org_id`` (NotFound for another organisation's)."""
        with self._engine.connect() as conn:
            return _budget_in(conn, budget_id, org_id)

    def list_limits(self, org_id: str, scope_type: str | None = None) -> list[RateLimit]:
        """The organisation's rate limits, oldest first."""
        query = select(rate_limits).where(rate_limits.c.org_id == org_id)
        if scope_type is not None:
            query = query.where(rate_limits.c.scope_type == scope_type)
        with self._engine.connect() as conn:
            rows = conn.execute(query.order_by(rate_limits.c.created_at, rate_limits.c.id)).mappings().all()
        return [RateLimit.from_row(r) for r in rows]

    def get_limit(self, limit_id: str, org_id: str) -> RateLimit:
        """One rate limit of ``org_id``."""
        with self._engine.connect() as conn:
            return _limit_in(conn, limit_id, org_id)

    def spent(self, keys: Collection[tuple[str, str]]) -> dict[tuple[str, str], int]:
        """Durable settled spend per (budget id, period start); absent keys have spent nothing."""
        if not keys:
            return {}
        ids = {k[0] for k in keys}
        with self._engine.connect() as conn:
            rows = conn.execute(
                select(budget_spend.c.budget_id, budget_spend.c.period_start, budget_spend.c.spent).where(
                    budget_spend.c.budget_id.in_(ids)
                )
            ).all()
        found = {(r.budget_id, r.period_start): int(r.spent) for r in rows}
        return {k: found.get(k, 0) for k in keys}

    # -- budgets ------------------------------------------------------------------------------

    def create_budget(self, budget: Budget, *, actor: str) -> Budget:
        """Store a new budget (``id``, ``created_*`` are filled in here)."""
        budget = replace(budget, id=new_id("bud"), created_at=utcnow(), created_by=actor, updated_at=None)
        _check_budget(budget)
        with write_transaction(self._engine) as conn:
            self._check_scope(conn, budget.org_id, budget.scope_type, budget.scope_id)
            conn.execute(budgets.insert().values(**_budget_row(budget)))
            self._audit.append_in(conn, _event("budget.created", actor, budget.org_id, _budget_data(budget)))
        self._changed(budget.org_id)
        return budget

    def update_budget(self, budget_id: str, org_id: str, changes: Mapping[str, Any], *, actor: str) -> Budget:
        """Change the given fields of a budget; scope and id stay."""
        unknown = set(changes) - set(BUDGET_FIELDS)
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        with write_transaction(self._engine) as conn:
            current = _budget_in(conn, budget_id, org_id)
            values = dict(changes)
            if "thresholds" in values:
                values["thresholds"] = tuple(values["thresholds"])
            if "notify" in values and values["notify"] is not None:
                values["notify"] = tuple(values["notify"])
            changed = replace(current, **values, updated_at=utcnow())
            _check_budget(changed)
            row = _budget_row(changed)
            conn.execute(
                update(budgets)
                .where(budgets.c.id == budget_id)
                .values(**{k: row[k] for k in (*BUDGET_FIELDS, "updated_at")})
            )
            data = {**_budget_data(changed), "changed": ",".join(sorted(changes))}
            self._audit.append_in(conn, _event("budget.updated", actor, org_id, data))
        self._changed(org_id)
        return changed

    def delete_budget(self, budget_id: str, org_id: str, *, actor: str) -> Budget:
        """Remove a budget with its spend history and alert records."""
        with write_transaction(self._engine) as conn:
            current = _budget_in(conn, budget_id, org_id)
            conn.execute(delete(budget_alerts).where(budget_alerts.c.budget_id == budget_id))
            conn.execute(delete(budget_spend).where(budget_spend.c.budget_id == budget_id))
            conn.execute(delete(budgets).where(budgets.c.id == budget_id))
            self._audit.append_in(conn, _event("budget.deleted", actor, org_id, _budget_data(current)))
        self._changed(org_id)
        return current

    # -- rate limits ----------------------------------------------------------------------------

    def create_limit(self, limit: RateLimit, *, actor: str) -> RateLimit:
        """Store a new rate limit."""
        limit = replace(limit, id=new_id("rl"), created_at=utcnow(), created_by=actor, updated_at=None)
        _check_limit(limit)
        with write_transaction(self._engine) as conn:
            self._check_scope(conn, limit.org_id, limit.scope_type, limit.scope_id)
            conn.execute(rate_limits.insert().values(**_limit_row(limit)))
            self._audit.append_in(conn, _event("rate_limit.created", actor, limit.org_id, _limit_data(limit)))
        self._changed(limit.org_id)
        return limit

    def update_limit(
        self, limit_id: str, org_id: str, changes: Mapping[str, Any], *, actor: str
    ) -> RateLimit:
        """Change the numbers of a rate limit (None removes one of them)."""
        unknown = set(changes) - set(LIMIT_FIELDS)
        if unknown:
            raise ValueError(f"cannot change {', '.join(sorted(unknown))}")
        with write_transaction(self._engine) as conn:
            current = _limit_in(conn, limit_id, org_id)
            changed = replace(current, **changes, updated_at=utcnow())
            _check_limit(changed)
            conn.execute(
                update(rate_limits)
                .where(rate_limits.c.id == limit_id)
                .values(**{k: getattr(changed, k) for k in (*LIMIT_FIELDS, "updated_at")})
            )
            data = {**_limit_data(changed), "changed": ",".join(sorted(changes))}
            self._audit.append_in(conn, _event("rate_limit.updated", actor, org_id, data))
        self._changed(org_id)
        return changed

    def delete_limit(self, limit_id: str, org_id: str, *, actor: str) -> RateLimit:
        """Remove a rate limit."""
        with write_transaction(self._engine) as conn:
            current = _limit_in(conn, limit_id, org_id)
            conn.execute(delete(rate_limits).where(rate_limits.c.id == limit_id))
            self._audit.append_in(conn, _event("rate_limit.deleted", actor, org_id, _limit_data(current)))
        self._changed(org_id)
        return current

    # -- helpers --------------------------------------------------------------------------------

    def _changed(self, org_id: str) -> None:
        if self._on_change is not None:
            self._on_change(org_id)

    def _check_scope(self, conn: Connection, org_id: str, scope_type: str, scope_id: str) -> None:
        """The scope a budget or limit names must exist in the same organisation (else 400)."""
        if scope_type == "org":
            if scope_id != org_id:
                raise ValueError("an org budget's scope_id is the organisation's own id")
            return
        if scope_type == "model":
            if scope_id not in self._models:
                raise ValueError(f"no model {scope_id!r} is configured")
            return
        table = {"project": projects, "user": users, "key": api_keys}[scope_type]
        found = conn.execute(
            select(table.c.id).where(table.c.id == scope_id, table.c.org_id == org_id)
        ).first()
        if found is None:
            raise ValueError(f"no {scope_type} {scope_id!r} in this organisation")


def _budget_in(conn: Connection, budget_id: str, org_id: str) -> Budget:
    row = (
        conn.execute(select(budgets).where(budgets.c.id == budget_id, budgets.c.org_id == org_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"budget {budget_id!r} not found")
    return Budget.from_row(row)


def _limit_in(conn: Connection, limit_id: str, org_id: str) -> RateLimit:
    row = (
        conn.execute(select(rate_limits).where(rate_limits.c.id == limit_id, rate_limits.c.org_id == org_id))
        .mappings()
        .first()
    )
    if row is None:
        raise NotFound(f"rate limit {limit_id!r} not found")
    return RateLimit.from_row(row)


def _check_budget(budget: Budget) -> None:
    """Raise ValueError (a 400) for a budget that cannot be enforced as written."""
    if budget.scope_type not in BUDGET_SCOPES:
        raise ValueError(f"scope_type must be one of {', '.join(BUDGET_SCOPES)}")
    if budget.unit not in UNITS:
        raise ValueError(f"unit must be one of {', '.join(UNITS)}")
    if budget.period not in PERIODS:
        raise ValueError(f"period must be one of {', '.join(PERIODS)}")
    if not 0 <= budget.amount <= MAX_AMOUNT:
        raise ValueError(f"amount must be between 0 and {MAX_AMOUNT}")
    if any(not 1 <= t <= 1000 for t in budget.thresholds) or len(set(budget.thresholds)) != len(
        budget.thresholds
    ):
        raise ValueError("thresholds are distinct percentages between 1 and 1000")


def _check_limit(limit: RateLimit) -> None:
    if limit.scope_type not in LIMIT_SCOPES:
        raise ValueError(f"scope_type must be one of {', '.join(LIMIT_SCOPES)}")
    values = [limit.requests_per_minute, limit.tokens_per_minute, limit.concurrent]
    if all(v is None for v in values):
        raise ValueError("set at least one of requests_per_minute, tokens_per_minute, concurrent")
    if any(v is not None and not 1 <= v <= 2**31 - 1 for v in values):
        raise ValueError("limits are whole numbers of at least 1")


def _budget_row(budget: Budget) -> dict[str, Any]:
    return {
        "id": budget.id,
        "org_id": budget.org_id,
        "scope_type": budget.scope_type,
        "scope_id": budget.scope_id,
        "unit": budget.unit,
        "amount": budget.amount,
        "period": budget.period,
        "thresholds": sorted(budget.thresholds),
        "notify": list(budget.notify) if budget.notify is not None else None,
        "name": budget.name,
        "enabled": budget.enabled,
        "created_at": budget.created_at,
        "created_by": budget.created_by,
        "updated_at": budget.updated_at,
    }


def _limit_row(limit: RateLimit) -> dict[str, Any]:
    return {
        "id": limit.id,
        "org_id": limit.org_id,
        "scope_type": limit.scope_type,
        "scope_id": limit.scope_id,
        "requests_per_minute": limit.requests_per_minute,
        "tokens_per_minute": limit.tokens_per_minute,
        "concurrent": limit.concurrent,
        "created_at": limit.created_at,
        "created_by": limit.created_by,
        "updated_at": limit.updated_at,
    }


def _budget_data(budget: Budget) -> dict[str, Any]:
    # Audit data holds scalars only; recipients' addresses are counted, not listed.
    return {
        "budget_id": budget.id,
        "scope_type": budget.scope_type,
        "scope_id": budget.scope_id,
        "unit": budget.unit,
        "amount": budget.amount,
        "period": budget.period,
        "thresholds": ",".join(str(t) for t in sorted(budget.thresholds)),
        "notify": len(budget.notify) if budget.notify is not None else None,
        "name": budget.name,
        "enabled": budget.enabled,
    }


def _limit_data(limit: RateLimit) -> dict[str, Any]:
    return {
        "limit_id": limit.id,
        "scope_type": limit.scope_type,
        "scope_id": limit.scope_id,
        "requests_per_minute": limit.requests_per_minute,
        "tokens_per_minute": limit.tokens_per_minute,
        "concurrent": limit.concurrent,
    }


def _event(kind: str, actor: str, org_id: str, data: dict[str, Any]) -> AuditEvent:
    return AuditEvent(kind, actor=actor, org_id=org_id, data=data)
