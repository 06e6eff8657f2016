"""Response bodies of the analytics API (JSON; the CSV downloads carry the same columns)."""

from __future__ import annotations

from datetime import date

from pydantic import BaseModel, ConfigDict


class UsageRowOut(BaseModel):
    """One group's totals; the grouping columns (and their labels) come first."""

    model_config = ConfigDict(extra="allow")
    requests: int
    errors: int
    prompt_tokens: int
    completion_tokens: int
    total_tokens: int
    cost_usd: float
    cost_nanousd: int


class UsageAnalyticsOut(BaseModel):
    group_by: list[str]
    start: date
    end: date
    data: list[UsageRowOut]


class UserActivityOut(BaseModel):
    user_id: str
    email: str
    name: str
    groups: list[str]
    requests: int
    errors: int
    active_days: int
    prompt_tokens: int
    completion_tokens: int
    cost_usd: float
    first_active: date | None
    last_active: date | None


class UsersOut(BaseModel):
    start: date
    end: date
    data: list[UserActivityOut]


class WeekOut(BaseModel):
    week_start: date
    days: int
    users: int
    weekly_active_users: int
    wau_rate: float | None
    messages: int
    messages_per_wau: float | None


class SummaryOut(BaseModel):
    users: int
    activated_users: int
    activation_rate: float | None
    messages: int
    average_wau: float | None


class GroupAdoptionOut(BaseModel):
    group_id: str
    name: str
    summary: SummaryOut
    weeks: list[WeekOut]


class AdoptionOut(BaseModel):
    start: date
    end: date
    summary: SummaryOut
    weeks: list[WeekOut]
    groups: list[GroupAdoptionOut]
