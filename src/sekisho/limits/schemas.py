"""Request and response bodies of /admin/v1/budgets and /admin/v1/rate-limits."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal
from typing import Annotated, Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

from sekisho.limits.model import MAX_AMOUNT, NANO_PER_USD

Email = Annotated[str, Field(max_length=320, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")]
Percent = Annotated[int, Field(ge=1, le=1000)]
Limit = Annotated[int, Field(ge=1, le=2**31 - 1)]


class _In(BaseModel):
    model_config = ConfigDict(extra="forbid")


class _Amount(_In):
    amount: Annotated[int, Field(ge=0, le=MAX_AMOUNT)] | None = Field(
        None, description="In the unit's base: nano-dollars (1e-9 USD) for usd, tokens for tokens."
    )
    amount_usd: Annotated[Decimal, Field(ge=0, le=Decimal(MAX_AMOUNT) / NANO_PER_USD)] | None = Field(
        None, description="For unit usd: the amount in dollars (instead of amount)."
    )

    def nano(self, unit: str) -> int | None:
        """The amount in the unit's base, from whichever field was given."""
        if self.amount_usd is None:
            return self.amount
        if unit != "usd":
            raise ValueError("amount_usd is only for budgets in usd")
        return int(self.amount_usd * NANO_PER_USD)

    @model_validator(mode="after")
    def _one_amount(self) -> _Amount:
        if self.amount is not None and self.amount_usd is not None:
            raise ValueError("give amount or amount_usd, not both")
        return self


class BudgetIn(_Amount):
    """A new budget."""

    org_id: str | None = Field(None, description="Only for the master key: the organisation.")
    scope_type: Literal["org", "project", "user", "key"]
    scope_id: str | None = Field(
        None, max_length=40, description="The project, user or key id; for an org budget, omit it."
    )
    unit: Literal["usd", "tokens"] = "usd"
    period: Literal["day", "week", "month", "none"] = Field(
        "month", description="Resets at 00:00 UTC: daily, on Mondays, on the 1st; none: never."
    )
    thresholds: list[Percent] = Field(
        default_factory=lambda: [50, 80, 100], max_length=20, description="Alert at these percentages."
    )
    notify: list[Email] | None = Field(
        None,
        max_length=50,
        description="Alert e-mail recipients; null: the organisation's owners and admins.",
    )
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    enabled: bool = True

    @model_validator(mode="after")
    def _amount_given(self) -> BudgetIn:
        if self.amount is None and self.amount_usd is None:
            raise ValueError("amount (or amount_usd) is required")
        return self


class BudgetPatch(_Amount):
    """Changes to a budget (scope and unit stay; delete and create instead)."""

    period: Literal["day", "week", "month", "none"] | None = None
    thresholds: list[Percent] | None = Field(None, max_length=20)
    notify: list[Email] | None = Field(None, max_length=50)
    name: Annotated[str, Field(min_length=1, max_length=200)] | None = None
    enabled: bool | None = None


class BudgetCurrent(BaseModel):
    """The budget's current period and its live counters."""

    period_start: str = Field(description="YYYY-MM-DD (UTC), or 'all' for period none.")
    resets_at: datetime | None
    spent: int = Field(description="Settled spend in the period, in the unit's base.")
    reserved: int = Field(description="Held by requests in flight (their largest possible cost).")
    remaining: int = Field(description="amount - spent - reserved (never below 0).")
    spent_usd: float | None = None


class BudgetOut(BaseModel):
    """A budget with its current spend."""

    id: str
    org_id: str
    scope_type: str
    scope_id: str
    unit: str
    amount: int
    amount_usd: float | None
    period: str
    thresholds: list[int]
    notify: list[str] | None
    name: str | None
    enabled: bool
    created_at: datetime | None
    created_by: str
    updated_at: datetime | None
    current: BudgetCurrent


class RateLimitIn(_In):
    """A new rate limit; at least one of the three numbers."""

    org_id: str | None = Field(None, description="Only for the master key: the organisation.")
    scope_type: Literal["key", "project", "model"]
    scope_id: Annotated[str, Field(min_length=1, max_length=200)] = Field(
        description="The key or project id, or the model's name."
    )
    requests_per_minute: Limit | None = None
    tokens_per_minute: Limit | None = None
    concurrent: Limit | None = None


class RateLimitPatch(_In):
    """New numbers for a rate limit (null removes one)."""

    requests_per_minute: Limit | None = None
    tokens_per_minute: Limit | None = None
    concurrent: Limit | None = None


class RateCurrent(BaseModel):
    """This minute's counters and the requests running now."""

    requests: int
    tokens: int
    concurrent: int


class RateLimitOut(BaseModel):
    """A rate limit with its live counters (null when the counters cannot be read)."""

    id: str
    org_id: str
    scope_type: str
    scope_id: str
    requests_per_minute: int | None
    tokens_per_minute: int | None
    concurrent: int | None
    created_at: datetime | None
    created_by: str
    updated_at: datetime | None
    current: RateCurrent | None
