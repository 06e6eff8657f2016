"""Single sign-on (issue 5): per-organisation OIDC and SAML identity providers, provisioning."""

from sekisho.sso.mapping import MappingConfig, mapped_role, strongest_role
from sekisho.sso.provision import ExternalIdentity, Provisioner, SsoDenied
from sekisho.sso.store import IdpConfig, IdpStore

__all__ = [
    "ExternalIdentity",
    "IdpConfig",
    "IdpStore",
    "MappingConfig",
    "Provisioner",
    "SsoDenied",
    "mapped_role",
    "strongest_role",
]
