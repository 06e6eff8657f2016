"""Metering: token usage, cost, and usage reports. Budgets and rate limits plug into the admit stage."""

from sekisho.metering.report import GroupBy, UsageFilter, usage_report
from sekisho.metering.usage import Usage, UsageEvent, cost_nanousd, estimate_tokens

__all__ = ["GroupBy", "Usage", "UsageEvent", "UsageFilter", "cost_nanousd", "estimate_tokens", "usage_report"]
