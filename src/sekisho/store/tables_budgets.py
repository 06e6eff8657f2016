"""Tables for budgets, rate limits and their alerts (issue 7); migration 0004 creates them.

Money is counted in nano-dollars (1e-9 USD) and tokens as integers, so totals add up exactly.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
)

from sekisho.store.meta import metadata

# A spending cap on one scope. ``amount`` is nano-USD (unit usd) or tokens (unit tokens).
budgets = Table(
    "budgets",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("scope_type", String(10), nullable=False),  # org | project | user | key
    Column("scope_id", String(40), nullable=False),
    Column("unit", String(10), nullable=False),  # usd | tokens
    Column("amount", BigInteger, nullable=False),
    Column("period", String(10), nullable=False),  # day | week | month | none
    Column("thresholds", JSON, nullable=False),  # alert percentages, e.g. [50, 80, 100]
    Column("notify", JSON, nullable=True),  # alert e-mail recipients; null: the org's owners and admins
    Column("name", String(200), nullable=True),
    Column("enabled", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    Index("ix_budgets_org_id", "org_id"),
    Index("ix_budgets_scope", "scope_type", "scope_id"),
)

# Settled spend per budget and period: the durable truth that counters are rebuilt from.
budget_spend = Table(
    "budget_spend",
    metadata,
    Column("budget_id", String(40), ForeignKey("budgets.id"), primary_key=True),
    Column("period_start", String(10), primary_key=True),  # YYYY-MM-DD, or "all" for period none
    Column("spent", BigInteger, nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=False),
)

# One row per threshold crossed in a period: an alert is sent once, and a restart does not resend it.
budget_alerts = Table(
    "budget_alerts",
    metadata,
    Column("budget_id", String(40), ForeignKey("budgets.id"), primary_key=True),
    Column("period_start", String(10), primary_key=True),
    Column("threshold", Integer, primary_key=True),
    Column("fired_at", DateTime(timezone=True), nullable=False),
)

# Request, token and concurrency limits per key, project or model (model: ``scope_id`` is its name).
rate_limits = Table(
    "rate_limits",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("scope_type", String(10), nullable=False),  # key | project | model
    Column("scope_id", String(200), nullable=False),
    Column("requests_per_minute", Integer, nullable=True),
    Column("tokens_per_minute", Integer, nullable=True),
    Column("concurrent", Integer, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    Index("ix_rate_limits_org_id", "org_id"),
    Index("ix_rate_limits_scope", "scope_type", "scope_id"),
)

# Outgoing e-mail (an outbox, like webhook_deliveries): written with the event, sent by a worker.
email_deliveries = Table(
    "email_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), nullable=True),
    Column("to_addr", String(320), nullable=False),
    Column("subject", String(300), nullable=False),
    Column("body", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_email_deliveries_status_next", "status", "next_attempt_at"),
)
