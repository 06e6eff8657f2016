"""SQLAlchemy Core tables. Alembic migrations in ``store/migrations`` create them; keep both in step."""

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
    MetaData,
    String,
    Table,
    Text,
    UniqueConstraint,
)

metadata = MetaData(
    naming_convention={
        "ix": "ix_%(column_0_label)s",
        "uq": "uq_%(table_name)s_%(column_0_name)s",
        "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
        "pk": "pk_%(table_name)s",
    }
)

orgs = Table(
    "orgs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("slug", String(100), nullable=False, unique=True),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
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
    UniqueConstraint("org_id", "email", name="uq_users_org_email"),
)

groups = Table(
    "groups",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
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

usage_events = Table(
    "usage_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    Column("day", String(10), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("org_id", String(40), nullable=False),
    Column("project_id", String(40), nullable=False),
    Column("user_id", String(40), nullable=True),
    Column("key_id", String(40), nullable=True),
    Column("model", String(200), nullable=False),
    Column("served_model", String(200), nullable=True),
    Column("endpoint", String(40), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    # Cost in nano-dollars (1e-9 USD): integers add up exactly, floats do not.
    Column("cost_nanousd", BigInteger, nullable=False),
    Column("usage_estimated", Boolean, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    Index("ix_usage_events_org_day", "org_id", "day"),
    Index("ix_usage_events_project_day", "project_id", "day"),
)
