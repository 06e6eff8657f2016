"""budgets, rate limits, budget alerts and the e-mail outbox

Revision ID: 0004
Revises: 0003
Create Date: 2026-12-05 16:46:05.115353
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0004"
down_revision = "0003"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "email_deliveries",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=True),
        sa.Column("to_addr", sa.String(length=320), nullable=False),
        sa.Column("subject", sa.String(length=300), nullable=False),
        sa.Column("body", sa.Text(), nullable=False),
        sa.Column("status", sa.String(length=20), nullable=False),
        sa.Column("attempts", sa.Integer(), nullable=False),
        sa.Column("next_attempt_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_error", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("delivered_at", sa.DateTime(timezone=True), nullable=True),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_email_deliveries")),
    )
    with op.batch_alter_table("email_deliveries", schema=None) as batch_op:
        batch_op.create_index("ix_email_deliveries_status_next", ["status", "next_attempt_at"], unique=False)

    op.create_table(
        "budgets",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("scope_type", sa.String(length=10), nullable=False),
        sa.Column("scope_id", sa.String(length=40), nullable=False),
        sa.Column("unit", sa.String(length=10), nullable=False),
        sa.Column("amount", sa.BigInteger(), nullable=False),
        sa.Column("period", sa.String(length=10), nullable=False),
        sa.Column("thresholds", sa.JSON(), nullable=False),
        sa.Column("notify", sa.JSON(), nullable=True),
        sa.Column("name", sa.String(length=200), nullable=True),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_budgets_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_budgets")),
    )
    with op.batch_alter_table("budgets", schema=None) as batch_op:
        batch_op.create_index("ix_budgets_org_id", ["org_id"], unique=False)
        batch_op.create_index("ix_budgets_scope", ["scope_type", "scope_id"], unique=False)

    op.create_table(
        "rate_limits",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("scope_type", sa.String(length=10), nullable=False),
        sa.Column("scope_id", sa.String(length=200), nullable=False),
        sa.Column("requests_per_minute", sa.Integer(), nullable=True),
        sa.Column("tokens_per_minute", sa.Integer(), nullable=True),
        sa.Column("concurrent", sa.Integer(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_rate_limits_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_rate_limits")),
    )
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.create_index("ix_rate_limits_org_id", ["org_id"], unique=False)
        batch_op.create_index("ix_rate_limits_scope", ["scope_type", "scope_id"], unique=False)

    op.create_table(
        "budget_alerts",
        sa.Column("budget_id", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("threshold", sa.Integer(), nullable=False),
        sa.Column("fired_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"], ["budgets.id"], name=op.f("fk_budget_alerts_budget_id_budgets")
        ),
        sa.PrimaryKeyConstraint("budget_id", "period_start", "threshold", name=op.f("pk_budget_alerts")),
    )
    op.create_table(
        "budget_spend",
        sa.Column("budget_id", sa.String(length=40), nullable=False),
        sa.Column("period_start", sa.String(length=10), nullable=False),
        sa.Column("spent", sa.BigInteger(), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["budget_id"], ["budgets.id"], name=op.f("fk_budget_spend_budget_id_budgets")
        ),
        sa.PrimaryKeyConstraint("budget_id", "period_start", name=op.f("pk_budget_spend")),
    )


def downgrade() -> None:
    op.drop_table("budget_spend")
    op.drop_table("budget_alerts")
    with op.batch_alter_table("rate_limits", schema=None) as batch_op:
        batch_op.drop_index("ix_rate_limits_scope")
        batch_op.drop_index("ix_rate_limits_org_id")

    op.drop_table("rate_limits")
    with op.batch_alter_table("budgets", schema=None) as batch_op:
        batch_op.drop_index("ix_budgets_scope")
        batch_op.drop_index("ix_budgets_org_id")

    op.drop_table("budgets")
    with op.batch_alter_table("email_deliveries", schema=None) as batch_op:
        batch_op.drop_index("ix_email_deliveries_status_next")

    op.drop_table("email_deliveries")
