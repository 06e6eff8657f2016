"""SQLAlchemy Core tables. Alembic migrations in ``store/migrations`` create them; keep both in step."""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    BigInteger,
    Boolean,
    Column,
    DateTime,
    Float,
    ForeignKey,
    Index,
    Integer,
    String,
    Table,
    Text,
    UniqueConstraint,
    false,
)

from sekisho.store.meta import metadata

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("slug", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Org-wide security settings (require_mfa, session lifetimes, lockout): see identity/org_settings.py.
    Column("settings", JSON, nullable=True),
)

projects = Table(
    "projects",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "slug", name="uq_projects_org_slug"),
)

users = Table(
    "users",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("email", String(320), nullable=False),
    Column("name", String(200), nullable=False),
    Column("role", String(40), nullable=False),
    Column("is_service_account", Boolean, nullable=False, default=False),
    Column("active", Boolean, nullable=False, default=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Sign-in (issue 5). The password is an argon2id hash; the TOTP secret is sealed (never plain);
    # recovery codes are stored as SHA-256 digests (they are long random strings, used once).
    Column("password_hash", Text, nullable=True),
    Column("mfa_secret", Text, nullable=True),
    Column("mfa_enabled_at", DateTime(timezone=True), nullable=True),
    Column("recovery_codes", JSON, nullable=True),
    Column("failed_logins", Integer, nullable=False, server_default="0"),
    Column("locked_until", DateTime(timezone=True), nullable=True),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    # Where the account came from (local | oidc | saml | scim) and the IdP's own names for it.
    Column("auth_source", String(20), nullable=False, server_default="local"),
    Column("username", String(320), nullable=True),
    Column("external_id", String(200), nullable=True),
    Column("profile", JSON, nullable=True),  # SCIM name parts, display name, locale, title …
    Column("updated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("org_id", "email", name="uq_users_org_email"),
    # NULLs never collide, so accounts without a SCIM userName coexist.
    UniqueConstraint("org_id", "username", name="uq_users_org_username"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Identity (issue 5): the IdP's id for a SCIM-managed group, and what membership grants: an
    # organisation role and project roles ({project_id: role}). Grants only add to a user's own.
    Column("external_id", String(200), nullable=True),
    Column("org_role", String(40), nullable=True),
    Column("project_roles", JSON, nullable=True),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("org_id", "name", name="uq_groups_org_name"),
)

group_members = Table(
    "group_members",
    metadata,
    Column("group_id", String(40), ForeignKey("groups.id"), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id"), primary_key=True),
)

api_keys = Table(
    "api_keys",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("project_id", String(40), ForeignKey("projects.id"), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    # SHA-256 of the whole key: keys are 190 bits of randomness, so a fast hash is safe and
    # keeps authentication off the CPU (a slow password hash would cost milliseconds per call).
    Column("key_hash", String(64), nullable=False, unique=True),
    Column("models", JSON, nullable=True),
    Column("expires_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    # Enforcement (issue 4): a suspended key authenticates only to appeal; ``review_all`` holds
    # every request of the key for a person's decision.
    Column("suspended_at", DateTime(timezone=True), nullable=True),
    Column("suspended_reason", Text, nullable=True),
    Column("review_all", Boolean, nullable=False, server_default=false()),
)

audit_log = Table(
    "audit_log",
    metadata,
    Column("seq", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=False),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("kind", String(64), nullable=False),
    Column("instance_id", String(200), nullable=False),
    Column("request_id", String(64), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("org_id", String(40), nullable=True),
    Column("project_id", String(40), nullable=True),
    Column("record", Text, nullable=False),
    Column("prev_hash", String(64), nullable=False),
    Column("hash", String(64), nullable=False),
    Index("ix_audit_log_request_id", "request_id"),
    Index("ix_audit_log_ts", "ts"),
)

# Requests admitted but not yet finished, per gateway instance. At start-up an instance marks its
# own leftovers interrupted in the audit log; the table stays as small as the in-flight load.
inflight_requests = Table(
    "inflight_requests",
    metadata,
    Column("request_id", String(64), primary_key=True),
    Column("instance_id", String(200), nullable=False),
    Column("org_id", String(40), nullable=True),
    Column("project_id", String(40), nullable=True),
    Column("actor", String(200), nullable=True),
    Column("admitted_at", DateTime(timezone=True), nullable=False),
    Index("ix_inflight_requests_instance_id", "instance_id"),
)

# usage_events (and its roll-ups) live in tables_usage.py (issue 7).

# --- Usage policy, human review, enforcement (issue 4) -------------------------------------------

# Every saved policy document, never updated in place: the newest version of a scope is in force,
# and a rollback saves an old document again as a new version, so history is never rewritten.
policy_versions = Table(
    "policy_versions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    # "" for the organisation's own document, else a project id: a NOT NULL key keeps the unique
    # constraint meaningful on PostgreSQL, where NULLs never collide.
    Column("scope", String(40), nullable=False),
    Column("version", Integer, nullable=False),
    Column("source", Text, nullable=False),
    Column("sha256", String(64), nullable=False),
    Column("author", String(200), nullable=False),
    Column("comment", String(500), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    UniqueConstraint("org_id", "scope", "version", name="uq_policy_versions_scope_version"),
)

# A request held for a person's decision, and (once decided and run) its answer.
review_items = Table(
    "review_items",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("project_id", String(40), nullable=False),
    Column("kind", String(20), nullable=False),  # policy | crisis
    Column("status", String(20), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("endpoint", String(40), nullable=False),
    Column("model", String(200), nullable=False),
    Column("requester_user_id", String(40), nullable=True),
    Column("requester_key_id", String(40), nullable=True),
    Column("requester_actor", String(200), nullable=False),
    Column("rule_id", String(200), nullable=True),
    Column("category", String(100), nullable=True),
    Column("rationale", Text, nullable=True),
    Column("confidence", Float, nullable=True),
    Column("findings", JSON, nullable=True),
    Column("approvals_required", Integer, nullable=False),
    Column("approvals", JSON, nullable=False),
    Column("on_expiry", String(20), nullable=False),  # reject | approve | escalate
    # Until then the requester's own connection is waiting (hold mode) and will run the approved
    # request itself; afterwards a background worker does.
    Column("hold_until", DateTime(timezone=True), nullable=True),
    Column("escalated", Boolean, nullable=False),
    Column("reason", Text, nullable=True),
    Column("request_body", Text, nullable=True),
    Column("response_body", Text, nullable=True),
    Column("error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Column("decided_by", String(200), nullable=True),
    Column("completed_at", DateTime(timezone=True), nullable=True),
    Column("revision", Integer, nullable=False),  # optimistic lock: every change bumps it
    Index("ix_review_items_org_status", "org_id", "status"),
    Index("ix_review_items_request_id", "request_id"),
    Index("ix_review_items_status_expires", "status", "expires_at"),
)

# Outgoing webhook deliveries (an outbox): written in the same step as the event, delivered and
# retried by a background worker, so a restart loses none.
webhook_deliveries = Table(
    "webhook_deliveries",
    metadata,
    Column("id", String(40), primary_key=True),  # also the receiver's idempotency key (webhook-id)
    Column("org_id", String(40), nullable=True),
    Column("event_type", String(64), nullable=False),
    Column("url", String(1000), nullable=False),
    Column("payload", Text, nullable=False),
    Column("status", String(20), nullable=False),  # pending | delivered | failed
    Column("attempts", Integer, nullable=False),
    Column("next_attempt_at", DateTime(timezone=True), nullable=False),
    Column("last_error", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("delivered_at", DateTime(timezone=True), nullable=True),
    Index("ix_webhook_deliveries_status_next", "status", "next_attempt_at"),
)

# One row per policy violation (a blocked request), counted per user and key by enforcement.
violations = Table(
    "violations",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("org_id", String(40), nullable=False),
    Column("project_id", String(40), nullable=True),
    Column("user_id", String(40), nullable=True),
    Column("key_id", String(40), nullable=True),
    Column("category", String(100), nullable=True),
    Column("rule_id", String(200), nullable=True),
    Column("request_id", String(64), nullable=True),
    Index("ix_violations_key_ts", "key_id", "ts"),
    Index("ix_violations_user_ts", "user_id", "ts"),
    Index("ix_violations_org_ts", "org_id", "ts"),
)

# Actions taken against a key or user (warn, suspend, restrict models, require review), and lifts.
enforcement_actions = Table(
    "enforcement_actions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), nullable=False),
    Column("subject_type", String(10), nullable=False),  # key | user
    Column("subject_id", String(40), nullable=False),
    Column("action", String(30), nullable=False),
    Column("reason", Text, nullable=False),
    Column("models", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("lifted_at", DateTime(timezone=True), nullable=True),
    Column("lifted_by", String(200), nullable=True),
    Index("ix_enforcement_actions_subject", "subject_type", "subject_id"),
    Index("ix_enforcement_actions_org", "org_id", "created_at"),
)

appeals = Table(
    "appeals",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), nullable=False),
    Column("action_id", String(40), ForeignKey("enforcement_actions.id"), nullable=False),
    Column("user_id", String(40), nullable=True),
    Column("key_id", String(40), nullable=True),
    Column("text", Text, nullable=False),
    Column("status", String(20), nullable=False),  # open | upheld | overturned
    Column("decided_by", String(200), nullable=True),
    Column("decision_reason", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("decided_at", DateTime(timezone=True), nullable=True),
    Index("ix_appeals_org_status", "org_id", "status"),
)


# Identity and access (issue 5), budgets and limits (issue 7) live in their own modules; imported
# here so ``metadata`` is whole.
from sekisho.store.tables_budgets import (  # noqa: E402
    budget_alerts,
    budget_spend,
    budgets,
    email_deliveries,
    rate_limits,
)
from sekisho.store.tables_identity import (  # noqa: E402
    auth_flows,
    client_certificates,
    idp_configs,
    network_rules,
    project_members,
    scim_tokens,
    sessions,
    used_assertions,
    user_identities,
    verified_domains,
)
from sekisho.store.tables_usage import (  # noqa: E402
    usage_daily,
    usage_daily_models,
    usage_daily_users,
    usage_events,
)

__all__ = [
    "api_keys",
    "appeals",
    "audit_log",
    "auth_flows",
    "budget_alerts",
    "budget_spend",
    "budgets",
    "client_certificates",
    "email_deliveries",
    "enforcement_actions",
    "group_members",
    "groups",
    "idp_configs",
    "inflight_requests",
    "metadata",
    "network_rules",
    "orgs",
    "policy_versions",
    "project_members",
    "projects",
    "rate_limits",
    "review_items",
    "scim_tokens",
    "sessions",
    "usage_daily",
    "usage_daily_models",
    "usage_daily_users",
    "usage_events",
    "used_assertions",
    "user_identities",
    "users",
    "verified_domains",
    "violations",
    "webhook_deliveries",
]
