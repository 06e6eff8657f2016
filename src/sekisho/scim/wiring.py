"""How ``build_app`` assembles SCIM: the service object and its two routers."""

from __future__ import annotations

from sqlalchemy import Engine

from sekisho.accounts.sessions import SessionStore
from sekisho.audit import AuditLog
from sekisho.scim.admin_routes import scim_token_router
from sekisho.scim.groups import ScimGroups
from sekisho.scim.http import Scim, scim_router
from sekisho.scim.settings import ScimSettings
from sekisho.scim.tokens import ScimCaller, ScimToken, ScimTokenStore
from sekisho.scim.users import KeyCache, ScimUsers


def build_scim(
    engine: Engine,
    audit: AuditLog,
    settings: ScimSettings,
    *,
    sessions: SessionStore,
    keys: KeyCache,
    public_url: str | None = None,
) -> Scim:
    """The SCIM service: tokens, users, groups. ``keys`` is the API-key cache to purge on deprovisioning."""
    return Scim(
        tokens=ScimTokenStore(engine, audit),
        users=ScimUsers(engine, audit, keys),
        groups=ScimGroups(engine, audit, keys),
        settings=settings,
        public_url=public_url,
    )


__all__ = [
    "KeyCache",
    "Scim",
    "ScimCaller",
    "ScimSettings",
    "ScimToken",
    "ScimTokenStore",
    "build_scim",
    "scim_router",
    "scim_token_router",
]
