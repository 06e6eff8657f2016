"""The settings of one OpenID Connect identity provider (``idp_configs.config`` for kind 'oidc').

The client secret is not among them: it is stored sealed (``IdpStore``), set through the admin
API's ``secret`` field and never shown again.
"""

from __future__ import annotations

import ipaddress
from typing import Literal
from urllib.parse import urlsplit

from pydantic import Field, field_validator

from sekisho.sso.mapping import MappingConfig

# Parameters the sign-in sets itself; letting configuration override them would undo PKCE,
# state or nonce.
_RESERVED_PARAMS = frozenset(
    {
        "client_id",
        "redirect_uri",
        "response_type",
        "response_mode",
        "scope",
        "state",
        "nonce",
        "code_challenge",
        "code_challenge_method",
        "request",
        "request_uri",
    }
)


def is_loopback(host: str) -> bool:
    """``localhost`` or a loopback address (where plain HTTP is acceptable, for development)."""
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


class OidcConfig(MappingConfig):
    """An OpenID Connect provider: where it is, who Sekisho is to it, and where claims are found."""

    issuer: str = Field(
        description="The issuer URL exactly as the provider states it (its discovery document is at "
        "<issuer>/.well-known/openid-configuration). HTTPS, except on a loopback address."
    )
    client_id: str = Field(min_length=1, max_length=500, description="Sekisho's client id at the provider.")
    scopes: list[str] = Field(
        default_factory=lambda: ["openid", "email", "profile"],
        description="Scopes to ask for; 'openid' is always added.",
    )
    groups_claim: str = Field(
        "groups",
        min_length=1,
        description="Claim holding the user's groups (dots reach into objects: 'realm_access.roles').",
    )
    email_claim: str = Field("email", min_length=1, description="Claim holding the e-mail address.")
    name_claim: str = Field("name", min_length=1, description="Claim holding the display name.")
    userinfo: Literal["auto", "always", "never"] = Field(
        "auto",
        description="Ask the userinfo endpoint for claims: 'auto' when the ID token lacks the e-mail "
        "or groups claim.",
    )
    token_endpoint_auth_method: Literal["client_secret_basic", "client_secret_post", "none"] | None = Field(
        None,
        description="How Sekisho authenticates at the token endpoint. Default: client_secret_basic "
        "when a client secret is set, else none (a public client; PKCE still protects the code).",
    )
    required_claims: dict[str, str | list[str]] = Field(
        default_factory=dict,
        description="Claims the ID token must carry with one of the given values, e.g. "
        "{'hd': 'example.co.jp'} for Google Workspace or {'tid': '<tenant id>'} for Entra ID.",
    )
    auth_params: dict[str, str] = Field(
        default_factory=dict,
        description="Extra authorization-request parameters, e.g. {'prompt': 'select_account'}.",
    )

    @field_validator("issuer")
    @classmethod
    def _issuer(cls, value: str) -> str:
        parts = urlsplit(value)
        if parts.scheme not in ("https", "http") or not parts.hostname:
            raise ValueError("issuer must be an https:// URL")
        if parts.scheme == "http" and not is_loopback(parts.hostname):
            raise ValueError("issuer must use https:// (plain http only on a loopback address)")
        if parts.query or parts.fragment:
            raise ValueError("issuer must not have a query or fragment")
        return value

    @field_validator("scopes")
    @classmethod
    def _scopes(cls, value: list[str]) -> list[str]:
        if any(not s or " " in s for s in value):
            raise ValueError("each scope is one non-empty word")
        return value if "openid" in value else ["openid", *value]

    @field_validator("auth_params")
    @classmethod
    def _params(cls, value: dict[str, str]) -> dict[str, str]:
        clash = sorted(set(value) & _RESERVED_PARAMS)
        if clash:
            raise ValueError(f"auth_params cannot set {', '.join(clash)}: Sekisho sets them itself")
        return value
