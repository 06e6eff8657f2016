"""The permission matrix: which role may do what. ``docs/permissions.md`` is generated from it.

Routes never test role names; each declares one permission (``sekisho.admin.deps.Allow``), and this
module alone says which organisation and project roles hold it. A test walks the application's
route table and calls every route as every role, so the matrix below is what is enforced.

Organisation roles apply to the whole organisation. Project roles (admin, member, viewer) grant a
subset of permissions for one project only; a route that accepts them narrows what it shows or
changes to those projects. Roles are additive: a user's own role, roles granted by their groups and
project roles together give the union of their permissions.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from enum import StrEnum


class Perm(StrEnum):
    """Everything an admin-side caller can be allowed to do (``DESCRIPTIONS`` says what each means)."""

    ORG_READ = "org:read"
    ORG_MANAGE = "org:manage"
    MEMBERS_READ = "members:read"
    MEMBERS_MANAGE = "members:manage"
    KEYS_READ = "keys:read"
    KEYS_MANAGE = "keys:manage"
    USAGE_READ = "usage:read"
    AUDIT_READ = "audit:read"
    POLICY_READ = "policy:read"
    POLICY_MANAGE = "policy:manage"
    REVIEW_READ = "review:read"
    REVIEW_DECIDE = "review:decide"
    ENFORCEMENT_READ = "enforcement:read"
    ENFORCEMENT_MANAGE = "enforcement:manage"
    APPEALS_DECIDE = "appeals:decide"
    TRANSPARENCY_READ = "transparency:read"
    IDENTITY_MANAGE = "identity:manage"
    IDENTITY_READ = "identity:read"
    BUDGETS_READ = "budgets:read"
    BUDGETS_MANAGE = "budgets:manage"


_READ_ALL = frozenset(p for p in Perm if p.endswith(":read"))

ORG_ROLE_PERMISSIONS: Mapping[str, frozenset[Perm]] = {
    "owner": frozenset(Perm),
    "admin": frozenset(Perm),
    # Auditors read the record (audit, usage, policy, reviews, who is who) and change nothing;
    # API keys are operational detail they are not shown.
    "auditor": _READ_ALL - {Perm.KEYS_READ},
    "reviewer": frozenset(
        {
            Perm.ORG_READ,
            Perm.POLICY_READ,
            Perm.REVIEW_READ,
            Perm.REVIEW_DECIDE,
            Perm.ENFORCEMENT_READ,
            Perm.APPEALS_DECIDE,
        }
    ),
    "analytics_viewer": frozenset(
        {Perm.ORG_READ, Perm.USAGE_READ, Perm.BUDGETS_READ, Perm.TRANSPARENCY_READ}
    ),
    # Members call models with keys they are given; the admin side shows them nothing org-wide.
    "member": frozenset(),
}

PROJECT_ROLES = ("admin", "member", "viewer")

PROJECT_ROLE_PERMISSIONS: Mapping[str, frozenset[Perm]] = {
    "admin": frozenset(
        {
            Perm.ORG_READ,
            Perm.MEMBERS_READ,
            Perm.MEMBERS_MANAGE,
            Perm.KEYS_READ,
            Perm.KEYS_MANAGE,
            Perm.USAGE_READ,
        }
    ),
    "member": frozenset({Perm.ORG_READ, Perm.KEYS_READ, Perm.USAGE_READ}),
    "viewer": frozenset({Perm.ORG_READ, Perm.USAGE_READ}),
}

PROJECT_SCOPED = frozenset(
    {Perm.ORG_READ, Perm.MEMBERS_READ, Perm.MEMBERS_MANAGE, Perm.KEYS_READ, Perm.KEYS_MANAGE, Perm.USAGE_READ}
)
"""Permissions a project role can grant (for its project only)."""

_PROJECT_RANK = {"viewer": 0, "member": 1, "admin": 2}
_ORG_RANK = {"member": 0, "analytics_viewer": 1, "reviewer": 2, "auditor": 3, "admin": 4, "owner": 5}


def org_permissions(roles: Iterable[str]) -> frozenset[Perm]:
    """The union of what these organisation roles allow (unknown names allow nothing)."""
    granted: set[Perm] = set()
    for role in roles:
        granted |= ORG_ROLE_PERMISSIONS.get(role, frozenset())
    return frozenset(granted)


def project_permissions(role: str) -> frozenset[Perm]:
    """What a project role allows within its project."""
    return PROJECT_ROLE_PERMISSIONS.get(role, frozenset())


def stronger_project_role(a: str | None, b: str) -> str:
    """The stronger of two project roles (grants from a user's groups and their own add up)."""
    if a is None or _PROJECT_RANK.get(b, -1) > _PROJECT_RANK.get(a, -1):
        return b
    return a


def strongest_org_role(roles: Iterable[str]) -> str:
    """The highest-ranked organisation role, for display; permissions use the whole set."""
    return max(roles, key=lambda r: _ORG_RANK.get(r, -1), default="member")


def matrix_markdown() -> str:
    """The permission matrix as a Markdown table (``docs/permissions.md`` embeds it)."""
    org_roles = list(ORG_ROLE_PERMISSIONS)
    head = ["Permission", *org_roles, *(f"project {r}" for r in PROJECT_ROLES), "What it allows"]
    lines = ["| " + " | ".join(head) + " |", "|" + "---|" * len(head)]
    for perm in Perm:
        cells = ["✔" if perm in ORG_ROLE_PERMISSIONS[r] else "" for r in org_roles]
        cells += ["✔ (own project)" if perm in PROJECT_ROLE_PERMISSIONS[r] else "" for r in PROJECT_ROLES]
        lines.append(f"| `{perm.value}` | " + " | ".join(cells) + f" | {DESCRIPTIONS[perm]} |")
    return "\n".join(lines)


DESCRIPTIONS: Mapping[Perm, str] = {
    Perm.ORG_READ: "See the organisation and its projects",
    Perm.ORG_MANAGE: "Create projects; change organisation settings (MFA requirement, sessions)",
    Perm.MEMBERS_READ: "List users, groups and project members",
    Perm.MEMBERS_MANAGE: "Create and change users, groups, role grants, project members",
    Perm.KEYS_READ: "List API keys (never their secrets)",
    Perm.KEYS_MANAGE: "Create and revoke API keys",
    Perm.USAGE_READ: "Usage, cost and adoption figures",
    Perm.AUDIT_READ: "Read, export and verify the audit log",
    Perm.POLICY_READ: "Read usage policies, history, diffs; run policy tests",
    Perm.POLICY_MANAGE: "Save and roll back usage policies",
    Perm.REVIEW_READ: "See the review queue (content redacted)",
    Perm.REVIEW_DECIDE: "Approve, reject, modify, escalate held requests; reveal content (audited)",
    Perm.ENFORCEMENT_READ: "See violations, enforcement actions and appeals",
    Perm.ENFORCEMENT_MANAGE: "Take and lift enforcement actions",
    Perm.APPEALS_DECIDE: "Decide appeals",
    Perm.TRANSPARENCY_READ: "Read the transparency report",
    Perm.IDENTITY_MANAGE: "Configure SSO, SCIM tokens, domains, IP allow-lists, client certificates",
    Perm.IDENTITY_READ: "See that configuration (never its secrets)",
    Perm.BUDGETS_READ: "See budgets, rate limits and their alerts",
    Perm.BUDGETS_MANAGE: "Set budgets, rate limits and alert thresholds",
}
