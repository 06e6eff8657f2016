"""identity and access: sessions, SSO, SCIM, project roles, domains, network rules, mTLS

Revision ID: 0003
Revises: 0002
Create Date: 2026-12-05 16:35:06.063969
"""

from __future__ import annotations

import sqlalchemy as sa
from alembic import op

revision = "0003"
down_revision = "0002"
branch_labels = None
depends_on = None


def upgrade() -> None:
    op.create_table(
        "used_assertions",
        sa.Column("idp_id", sa.String(length=40), nullable=False),
        sa.Column("assertion_id", sa.String(length=200), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.PrimaryKeyConstraint("idp_id", "assertion_id", name=op.f("pk_used_assertions")),
    )
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.create_index("ix_used_assertions_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "idp_configs",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("slug", sa.String(length=100), nullable=False),
        sa.Column("kind", sa.String(length=10), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("enabled", sa.Boolean(), nullable=False),
        sa.Column("config", sa.JSON(), nullable=False),
        sa.Column("secret", sa.Text(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_idp_configs_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_idp_configs")),
        sa.UniqueConstraint("org_id", "slug", name="uq_idp_configs_org_slug"),
    )
    op.create_table(
        "scim_tokens",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("name", sa.String(length=200), nullable=False),
        sa.Column("prefix", sa.String(length=32), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("last_used_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_scim_tokens_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_scim_tokens")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_scim_tokens_token_hash")),
    )
    op.create_table(
        "verified_domains",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("domain", sa.String(length=253), nullable=False),
        sa.Column("token", sa.String(length=100), nullable=False),
        sa.Column("verified_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("join_policy", sa.String(length=20), nullable=False),
        sa.Column("default_role", sa.String(length=40), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_verified_domains_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_verified_domains")),
        sa.UniqueConstraint("org_id", "domain", name="uq_verified_domains_org_domain"),
    )
    with op.batch_alter_table("verified_domains", schema=None) as batch_op:
        batch_op.create_index("ix_verified_domains_domain", ["domain"], unique=False)

    op.create_table(
        "auth_flows",
        sa.Column("id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("idp_id", sa.String(length=40), nullable=False),
        sa.Column("data", sa.Text(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(
            ["idp_id"], ["idp_configs.id"], name=op.f("fk_auth_flows_idp_id_idp_configs")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_auth_flows_org_id_orgs")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_auth_flows")),
    )
    with op.batch_alter_table("auth_flows", schema=None) as batch_op:
        batch_op.create_index("ix_auth_flows_expires_at", ["expires_at"], unique=False)

    op.create_table(
        "client_certificates",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("fingerprint_sha256", sa.String(length=64), nullable=True),
        sa.Column("subject", sa.String(length=500), nullable=True),
        sa.Column("models", sa.JSON(), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_client_certificates_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_client_certificates_project_id_projects")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_client_certificates_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_client_certificates")),
        sa.UniqueConstraint("fingerprint_sha256", name=op.f("uq_client_certificates_fingerprint_sha256")),
    )
    with op.batch_alter_table("client_certificates", schema=None) as batch_op:
        batch_op.create_index("ix_client_certificates_subject", ["subject"], unique=False)

    op.create_table(
        "network_rules",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=True),
        sa.Column("cidr", sa.String(length=64), nullable=False),
        sa.Column("note", sa.String(length=200), nullable=True),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("created_by", sa.String(length=200), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_network_rules_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_network_rules_project_id_projects")
        ),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_network_rules")),
    )
    with op.batch_alter_table("network_rules", schema=None) as batch_op:
        batch_op.create_index("ix_network_rules_org_id", ["org_id"], unique=False)

    op.create_table(
        "project_members",
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("role", sa.String(length=20), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_project_members_org_id_orgs")),
        sa.ForeignKeyConstraint(
            ["project_id"], ["projects.id"], name=op.f("fk_project_members_project_id_projects")
        ),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_project_members_user_id_users")),
        sa.PrimaryKeyConstraint("project_id", "user_id", name=op.f("pk_project_members")),
    )
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.create_index("ix_project_members_user_id", ["user_id"], unique=False)

    op.create_table(
        "sessions",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("token_hash", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("method", sa.String(length=20), nullable=False),
        sa.Column("mfa_verified", sa.Boolean(), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_seen_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("idle_expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("expires_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("ip", sa.String(length=64), nullable=True),
        sa.Column("user_agent", sa.String(length=300), nullable=True),
        sa.Column("revoked_at", sa.DateTime(timezone=True), nullable=True),
        sa.Column("revoked_reason", sa.String(length=100), nullable=True),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_sessions_org_id_orgs")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_sessions_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_sessions")),
        sa.UniqueConstraint("token_hash", name=op.f("uq_sessions_token_hash")),
    )
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.create_index("ix_sessions_user_id", ["user_id"], unique=False)

    op.create_table(
        "user_identities",
        sa.Column("id", sa.String(length=40), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=False),
        sa.Column("idp_id", sa.String(length=40), nullable=False),
        sa.Column("subject", sa.String(length=500), nullable=False),
        sa.Column("created_at", sa.DateTime(timezone=True), nullable=False),
        sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True),
        sa.ForeignKeyConstraint(
            ["idp_id"], ["idp_configs.id"], name=op.f("fk_user_identities_idp_id_idp_configs")
        ),
        sa.ForeignKeyConstraint(["org_id"], ["orgs.id"], name=op.f("fk_user_identities_org_id_orgs")),
        sa.ForeignKeyConstraint(["user_id"], ["users.id"], name=op.f("fk_user_identities_user_id_users")),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_user_identities")),
        sa.UniqueConstraint("idp_id", "subject", name="uq_user_identities_idp_subject"),
    )
    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.create_index("ix_user_identities_user_id", ["user_id"], unique=False)

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("org_role", sa.String(length=40), nullable=True))
        batch_op.add_column(sa.Column("project_roles", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.add_column(sa.Column("settings", sa.JSON(), nullable=True))

    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.add_column(sa.Column("password_hash", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("mfa_secret", sa.Text(), nullable=True))
        batch_op.add_column(sa.Column("mfa_enabled_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("recovery_codes", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("failed_logins", sa.Integer(), server_default="0", nullable=False))
        batch_op.add_column(sa.Column("locked_until", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(sa.Column("last_login_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.add_column(
            sa.Column("auth_source", sa.String(length=20), server_default="local", nullable=False)
        )
        batch_op.add_column(sa.Column("username", sa.String(length=320), nullable=True))
        batch_op.add_column(sa.Column("external_id", sa.String(length=200), nullable=True))
        batch_op.add_column(sa.Column("profile", sa.JSON(), nullable=True))
        batch_op.add_column(sa.Column("updated_at", sa.DateTime(timezone=True), nullable=True))
        batch_op.create_unique_constraint("uq_users_org_username", ["org_id", "username"])


def downgrade() -> None:
    with op.batch_alter_table("users", schema=None) as batch_op:
        batch_op.drop_constraint("uq_users_org_username", type_="unique")
        batch_op.drop_column("updated_at")
        batch_op.drop_column("profile")
        batch_op.drop_column("external_id")
        batch_op.drop_column("username")
        batch_op.drop_column("auth_source")
        batch_op.drop_column("last_login_at")
        batch_op.drop_column("locked_until")
        batch_op.drop_column("failed_logins")
        batch_op.drop_column("recovery_codes")
        batch_op.drop_column("mfa_enabled_at")
        batch_op.drop_column("mfa_secret")
        batch_op.drop_column("password_hash")

    with op.batch_alter_table("orgs", schema=None) as batch_op:
        batch_op.drop_column("settings")

    with op.batch_alter_table("groups", schema=None) as batch_op:
        batch_op.drop_column("updated_at")
        batch_op.drop_column("project_roles")
        batch_op.drop_column("org_role")
        batch_op.drop_column("external_id")

    with op.batch_alter_table("user_identities", schema=None) as batch_op:
        batch_op.drop_index("ix_user_identities_user_id")

    op.drop_table("user_identities")
    with op.batch_alter_table("sessions", schema=None) as batch_op:
        batch_op.drop_index("ix_sessions_user_id")

    op.drop_table("sessions")
    with op.batch_alter_table("project_members", schema=None) as batch_op:
        batch_op.drop_index("ix_project_members_user_id")

    op.drop_table("project_members")
    with op.batch_alter_table("network_rules", schema=None) as batch_op:
        batch_op.drop_index("ix_network_rules_org_id")

    op.drop_table("network_rules")
    with op.batch_alter_table("client_certificates", schema=None) as batch_op:
        batch_op.drop_index("ix_client_certificates_subject")

    op.drop_table("client_certificates")
    with op.batch_alter_table("auth_flows", schema=None) as batch_op:
        batch_op.drop_index("ix_auth_flows_expires_at")

    op.drop_table("auth_flows")
    with op.batch_alter_table("verified_domains", schema=None) as batch_op:
        batch_op.drop_index("ix_verified_domains_domain")

    op.drop_table("verified_domains")
    op.drop_table("scim_tokens")
    op.drop_table("idp_configs")
    with op.batch_alter_table("used_assertions", schema=None) as batch_op:
        batch_op.drop_index("ix_used_assertions_expires_at")

    op.drop_table("used_assertions")
