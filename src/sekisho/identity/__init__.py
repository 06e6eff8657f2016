"""Tenancy and identity: organisations, projects, users, API keys, authentication (M2)."""

from sekisho.identity.authenticate import MASTER, AuthError, KeyAuthenticator
from sekisho.identity.groups import Group, GroupStore
from sekisho.identity.keys import generate_key, hash_key, visible_prefix
from sekisho.identity.principal import ADMIN_ROLES, ORG_ROLES, Principal
from sekisho.identity.store import ApiKey, Conflict, NotFound, Org, Project, TenancyStore, User

__all__ = [
    "ADMIN_ROLES",
    "MASTER",
    "ORG_ROLES",
    "ApiKey",
    "AuthError",
    "Conflict",
    "Group",
    "GroupStore",
    "KeyAuthenticator",
    "NotFound",
    "Org",
    "Principal",
    "Project",
    "TenancyStore",
    "User",
    "generate_key",
    "hash_key",
    "visible_prefix",
]
