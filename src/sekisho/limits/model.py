"""Budgets and rate limits as the admission path sees them (frozen, read from the database)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy import RowMapping

from sekisho.clock import as_utc

BUDGET_SCOPES = ("org", "project", "user", "key")
LIMIT_SCOPES = ("key", "project", "model")
UNITS = ("usd", "tokens")
NANO_PER_USD = 1_000_000_000
# Counters are compared as doubles inside Redis' Lua: exact up to 2**53. Half of that leaves room
# for what is reserved on top of a full budget (about 4.5 million USD in nano-dollars).
MAX_AMOUNT = 2**52


@dataclass(frozen=True, slots=True)
class Budget:
    """A cap on spend (``unit`` usd: nano-dollars; tokens: prompt + completion tokens) per period."""

    id: str
    org_id: str
    scope_type: str
    scope_id: str
    unit: str
    amount: int
    period: str
    thresholds: tuple[int, ...] = (50, 80, 100)
    notify: tuple[str, ...] | None = None
    name: str | None = None
    enabled: bool = True
    created_at: datetime | None = None
    created_by: str = ""
    updated_at: datetime | None = None

    @property
    def label(self) -> str:
        """How messages name the budget: its name, else its scope."""
        return self.name or f"{self.scope_type} {self.scope_id}"

    @classmethod
    def from_row(cls, row: RowMapping) -> Budget:
        """A ``budgets`` row."""
        notify = row["notify"]
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            scope_type=row["scope_type"],
            scope_id=row["scope_id"],
            unit=row["unit"],
            amount=int(row["amount"]),
            period=row["period"],
            thresholds=tuple(int(t) for t in row["thresholds"] or ()),
            notify=tuple(notify) if notify is not None else None,
            name=row["name"],
            enabled=bool(row["enabled"]),
            created_at=_utc(row["created_at"]),
            created_by=row["created_by"],
            updated_at=_utc(row["updated_at"]),
        )


@dataclass(frozen=True, slots=True)
class RateLimit:
    """Requests per minute, tokens per minute and concurrent requests for a key, project or model."""

    id: str
    org_id: str
    scope_type: str
    scope_id: str
    requests_per_minute: int | None = None
    tokens_per_minute: int | None = None
    concurrent: int | None = None
    created_at: datetime | None = None
    created_by: str = ""
    updated_at: datetime | None = None

    @classmethod
    def from_row(cls, row: RowMapping) -> RateLimit:
        """A ``rate_limits`` row."""
        return cls(
            id=row["id"],
            org_id=row["org_id"],
            scope_type=row["scope_type"],
            scope_id=row["scope_id"],
            requests_per_minute=row["requests_per_minute"],
            tokens_per_minute=row["tokens_per_minute"],
            concurrent=row["concurrent"],
            created_at=_utc(row["created_at"]),
            created_by=row["created_by"],
            updated_at=_utc(row["updated_at"]),
        )


def _utc(value: datetime | None) -> datetime | None:
    return as_utc(value) if value is not None else None


@dataclass(frozen=True, slots=True)
class OrgRules:
    """An organisation's enabled budgets and its rate limits, indexed by scope for admission."""

    budgets: Mapping[tuple[str, str], tuple[Budget, ...]] = field(default_factory=dict)
    limits: Mapping[tuple[str, str], tuple[RateLimit, ...]] = field(default_factory=dict)

    @classmethod
    def build(cls, budgets: list[Budget], limits: list[RateLimit]) -> OrgRules:
        """Index ``budgets`` (enabled ones only) and ``limits`` by (scope type, scope id)."""
        by_scope: dict[tuple[str, str], list[Budget]] = {}
        for budget in budgets:
            if budget.enabled:
                by_scope.setdefault((budget.scope_type, budget.scope_id), []).append(budget)
        limit_scope: dict[tuple[str, str], list[RateLimit]] = {}
        for limit in limits:
            limit_scope.setdefault((limit.scope_type, limit.scope_id), []).append(limit)
        return cls({k: tuple(v) for k, v in by_scope.items()}, {k: tuple(v) for k, v in limit_scope.items()})

    @property
    def empty(self) -> bool:
        """No budget and no limit: admission has nothing to check for this organisation."""
        return not self.budgets and not self.limits

    def budgets_for(self, scopes: list[tuple[str, str]]) -> list[Budget]:
        """The budgets of the given scopes, in the order the scopes are given."""
        return [b for scope in scopes for b in self.budgets.get(scope, ())]

    def limits_for(self, scopes: list[tuple[str, str]]) -> list[RateLimit]:
        """The rate limits of the given scopes."""
        return [r for scope in scopes for r in self.limits.get(scope, ())]
