"""How an IdP's answer becomes a Sekisho account: provisioning, role mapping and group sync keys.

These keys sit in every IdP's ``config`` beside the protocol's own (OIDC issuer, SAML metadata),
and mean the same for both protocols.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

from sekisho.identity import ORG_ROLES

OrgRole = Literal["owner", "admin", "auditor", "reviewer", "analytics_viewer", "member"]
GroupSync = Literal["exact", "add", "off"]


class MappingConfig(BaseModel):
    """Provisioning and mapping settings shared by OIDC and SAML identity providers."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    jit: bool = Field(
        False,
        description="Create an account on first sign-in for anyone the IdP vouches for. Without it, "
        "only existing users and e-mail addresses of the organisation's verified domains whose "
        "join policy is 'auto' are let in.",
    )
    default_role: OrgRole = Field(
        "member",
        description="Organisation role of a new account when no role_mapping entry matches "
        "(and of existing accounts when role_mapping is set and none matches).",
    )
    role_mapping: dict[str, OrgRole] = Field(
        default_factory=dict,
        description="IdP group → organisation role. The strongest matching role wins; when set, "
        "the IdP decides the role at every sign-in.",
    )
    group_sync: GroupSync = Field(
        "exact",
        description="Sekisho groups whose external_id or name matches an IdP group: 'exact' makes "
        "the user's memberships equal to the matches, 'add' only adds, 'off' leaves groups alone.",
    )

    @field_validator("default_role")
    @classmethod
    def _not_owner(cls, role: str) -> str:
        # Everyone an IdP lets in would own the organisation: grant ownership through role_mapping.
        if role == "owner":
            raise ValueError("default_role cannot be 'owner'; map a group to owner instead")
        return role

    @classmethod
    def of(cls, config: Mapping[str, Any]) -> MappingConfig:
        """The mapping keys of a stored IdP config (protocol keys are ignored)."""
        return cls.model_validate({k: v for k, v in config.items() if k in cls.model_fields})


def strongest_role(roles: Iterable[str]) -> str | None:
    """The most privileged of ``roles`` (owner first), or None for none."""
    ranked = [ORG_ROLES.index(r) for r in roles if r in ORG_ROLES]
    return ORG_ROLES[min(ranked)] if ranked else None


def mapped_role(mapping: MappingConfig, groups: Iterable[str]) -> str | None:
    """The role ``role_mapping`` gives for the IdP groups, or None when no entry matches."""
    return strongest_role(mapping.role_mapping[g] for g in groups if g in mapping.role_mapping)
