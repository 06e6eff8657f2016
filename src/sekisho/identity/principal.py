"""Who is calling: the result of authentication, frozen for the rest of the request."""

from __future__ import annotations

from dataclasses import dataclass

ADMIN_ROLES = frozenset({"owner", "admin"})
ORG_ROLES = ("owner", "admin", "auditor", "reviewer", "analytics_viewer", "member")


@dataclass(frozen=True, slots=True)
class Principal:
    """An authenticated caller.

    ``superuser`` is the bootstrap master key: it may act on every organisation and has no project,
    so it can administer but not call models (a model call must be attributable to a project).
    """

    org_id: str | None
    project_id: str | None
    user_id: str | None
    key_id: str | None
    key_prefix: str
    role: str
    models: frozenset[str] | None = None
    superuser: bool = False
    # Slugs name the tenant in configuration files (guardrail overrides are keyed by them).
    org_slug: str | None = None
    project_slug: str | None = None
    # Enforcement (issue 4). A suspended key authenticates only where the caller asks for it
    # (appeals and its own enforcement status); ``review_all`` sends every request to a person.
    suspended: bool = False
    suspended_reason: str | None = None
    review_all: bool = False

    @property
    def is_admin(self) -> bool:
        """May use the admin API within its organisation."""
        return self.superuser or self.role in ADMIN_ROLES

    def may_use_model(self, model: str) -> bool:
        """Model allow-list check; no list means every configured model."""
        return self.models is None or model in self.models

    def can_access_org(self, org_id: str) -> bool:
        """Tenant isolation: only the superuser crosses organisations."""
        return self.superuser or self.org_id == org_id

    @property
    def actor(self) -> str:
        """How audit records name this caller."""
        if self.superuser:
            return "master-key"
        return f"user:{self.user_id} key:{self.key_prefix}"
