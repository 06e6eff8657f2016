"""Builds the SSO services once, for ``build_app``."""

from __future__ import annotations

from sqlalchemy import Engine

from sekisho.accounts.sessions import SessionStore
from sekisho.audit import AuditLog
from sekisho.crypto import SecretBox
from sekisho.settings import Settings
from sekisho.sso.oidc import OidcSignIn
from sekisho.sso.oidc_discovery import Discovery
from sekisho.sso.provision import Provisioner
from sekisho.sso.store import IdpStore
from sekisho.sso.web import SsoServices


def build_sso(
    settings: Settings, engine: Engine, audit: AuditLog, box: SecretBox, sessions: SessionStore
) -> SsoServices:
    """The IdP store, provisioner and OIDC client, sharing the app's session store and key."""
    idps = IdpStore(engine, audit, box)
    return SsoServices(
        idps=idps,
        provisioner=Provisioner(engine, audit, sessions),
        sessions=sessions,
        identity=settings.identity,
        settings=settings.sso,
        oidc=OidcSignIn(idps, Discovery(timeout=settings.sso.http_timeout_seconds), settings.sso),
    )
