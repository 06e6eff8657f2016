"""Tables for identity and access (issue 5): sessions, SSO, SCIM, project roles, network rules.

Defined on the same ``metadata`` as ``store/tables.py`` (which imports this module at its end);
migration 0003 creates them.
"""

from __future__ import annotations

from sqlalchemy import (
    JSON,
    Boolean,
    Column,
    DateTime,
    ForeignKey,
    Index,
    String,
    Table,
    Text,
    UniqueConstraint,
)

from sekisho.store.meta import metadata

# A user's role in one project (admin | member | viewer), beside the organisation role.
project_members = Table(
    "project_members",
    metadata,
    Column("project_id", String(40), ForeignKey("projects.id"), primary_key=True),
    Column("user_id", String(40), ForeignKey("users.id"), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("role", String(20), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Index("ix_project_members_user_id", "user_id"),
)

# Console sign-in sessions. Only the SHA-256 of the cookie's token is stored, so a database read
# cannot be replayed as a session; the CSRF token is derived from the session token (HMAC).
sessions = Table(
    "sessions",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    Column("method", String(20), nullable=False),  # password | oidc | saml
    # False between a correct password and the TOTP code: such a session may only finish MFA.
    Column("mfa_verified", Boolean, nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_seen_at", DateTime(timezone=True), nullable=False),
    Column("idle_expires_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),  # absolute
    Column("ip", String(64), nullable=True),
    Column("user_agent", String(300), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Column("revoked_reason", String(100), nullable=True),
    Index("ix_sessions_user_id", "user_id"),
)

# Identity providers configured per organisation. ``config`` holds the non-secret settings (issuer,
# client id, metadata, claim mapping); ``secret`` the sealed client secret or SP private key.
idp_configs = Table(
    "idp_configs",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("slug", String(100), nullable=False),
    Column("kind", String(10), nullable=False),  # oidc | saml
    Column("name", String(200), nullable=False),
    Column("enabled", Boolean, nullable=False),
    Column("config", JSON, nullable=False),
    Column("secret", Text, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("updated_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("org_id", "slug", name="uq_idp_configs_org_slug"),
)

# An SSO subject linked to a Sekisho user (one user may sign in through several IdPs).
user_identities = Table(
    "user_identities",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    Column("idp_id", String(40), ForeignKey("idp_configs.id"), nullable=False),
    Column("subject", String(500), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("last_login_at", DateTime(timezone=True), nullable=True),
    UniqueConstraint("idp_id", "subject", name="uq_user_identities_idp_subject"),
    Index("ix_user_identities_user_id", "user_id"),
)

# An SSO sign-in in progress (OIDC state, nonce and PKCE verifier; SAML relay state), kept in the
# database so any replica can finish it, and deleted when used so it cannot be replayed.
auth_flows = Table(
    "auth_flows",
    metadata,
    Column("id", String(64), primary_key=True),  # the state / RelayState value
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("idp_id", String(40), ForeignKey("idp_configs.id"), nullable=False),
    Column("data", Text, nullable=False),  # sealed JSON: nonce, code_verifier, request id, next URL
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_auth_flows_expires_at", "expires_at"),
)

# Assertion and token ids already accepted, until they would have expired anyway (replay guard).
used_assertions = Table(
    "used_assertions",
    metadata,
    Column("idp_id", String(40), primary_key=True),
    Column("assertion_id", String(200), primary_key=True),
    Column("expires_at", DateTime(timezone=True), nullable=False),
    Index("ix_used_assertions_expires_at", "expires_at"),
)

# Bearer tokens for an organisation's SCIM endpoint, stored as SHA-256 digests.
scim_tokens = Table(
    "scim_tokens",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("name", String(200), nullable=False),
    Column("prefix", String(32), nullable=False),
    Column("token_hash", String(64), nullable=False, unique=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("last_used_at", DateTime(timezone=True), nullable=True),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
)

# E-mail domains an organisation claims; verified by a DNS TXT record holding ``token``.
verified_domains = Table(
    "verified_domains",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("domain", String(253), nullable=False),
    Column("token", String(100), nullable=False),
    Column("verified_at", DateTime(timezone=True), nullable=True),
    # What happens to a new sign-in (JIT or sign-up) from this domain: auto | invite_only
    Column("join_policy", String(20), nullable=False),
    Column("default_role", String(40), nullable=False),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    UniqueConstraint("org_id", "domain", name="uq_verified_domains_org_domain"),
    Index("ix_verified_domains_domain", "domain"),
)

# IP allow-list entries; an organisation (project_id NULL) or project with any entry admits only
# addresses inside one of its networks.
network_rules = Table(
    "network_rules",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("project_id", String(40), ForeignKey("projects.id"), nullable=True),
    Column("cidr", String(64), nullable=False),
    Column("note", String(200), nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Index("ix_network_rules_org_id", "org_id"),
)

# Client certificates (mTLS) mapped to a service account and the project its calls are made for.
# A certificate matches by its SHA-256 fingerprint, or by subject when the CA re-issues.
client_certificates = Table(
    "client_certificates",
    metadata,
    Column("id", String(40), primary_key=True),
    Column("org_id", String(40), ForeignKey("orgs.id"), nullable=False),
    Column("project_id", String(40), ForeignKey("projects.id"), nullable=False),
    Column("user_id", String(40), ForeignKey("users.id"), nullable=False),
    Column("fingerprint_sha256", String(64), nullable=True, unique=True),
    Column("subject", String(500), nullable=True),
    Column("models", JSON, nullable=True),
    Column("created_at", DateTime(timezone=True), nullable=False),
    Column("created_by", String(200), nullable=False),
    Column("revoked_at", DateTime(timezone=True), nullable=True),
    Index("ix_client_certificates_subject", "subject"),
)
