"""Who is calling: the result of authentication, frozen for the rest of the request."""

from __future__ import annotations

from dataclasses import dataclass

from sekisho.identity.permissions import PROJECT_SCOPED, Perm, org_permissions, project_permissions

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
    # Access (issue 5): organisation roles granted by groups (beyond ``role``), project roles as
    # (project id, role) pairs, and the console session this principal came from, if any.
    roles: frozenset[str] = frozenset()
    project_roles: tuple[tuple[str, str], ...] = ()
    session_id: str | None = None

    @property
    def org_roles(self) -> frozenset[str]:
        """Every organisation role this caller holds (own and granted)."""
        return self.roles | {self.role}

    @property
    def is_admin(self) -> bool:
        """Holds an owner or admin role in its organisation."""
        return self.superuser or bool(self.org_roles & ADMIN_ROLES)

    def can(self, perm: Perm, project_id: str | None = None) -> bool:
        """Whether the permission is held org-wide, or (with ``project_id``) for that project."""
        if self.superuser or perm in org_permissions(self.org_roles):
            return True
        if project_id is None or perm not in PROJECT_SCOPED:
            return False
        return any(p == project_id and perm in project_permissions(r) for p, r in self.project_roles)

    def projects_with(self, perm: Perm) -> frozenset[str] | None:
        """Projects where ``perm`` is held: None means all of them (an organisation-wide grant)."""
        if self.superuser or perm in org_permissions(self.org_roles):
            return None
        if perm not in PROJECT_SCOPED:
            return frozenset()
        return frozenset(p for p, r in self.project_roles if perm in project_permissions(r))

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
        if self.session_id is not None:
            return f"user:{self.user_id} session:{self.session_id}"
        return f"user:{self.user_id} key:{self.key_prefix}"
