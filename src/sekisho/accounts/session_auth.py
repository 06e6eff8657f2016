"""Turn a console session cookie into a Principal, as KeyAuthenticator does for API keys.

Sessions are not cached: a revoked session, a deactivated user or a changed role takes effect on
the very next request (the console makes a few requests a minute, not thousands a second).
"""

from __future__ import annotations

import anyio
from sqlalchemy import Engine, select

from sekisho.accounts.sessions import SessionStore, csrf_token_for
from sekisho.identity.access import load_access
from sekisho.identity.authenticate import AuthError
from sekisho.identity.keys import same_secret
from sekisho.identity.principal import Principal
from sekisho.store.tables import orgs, users

SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class CsrfError(AuthError):
    """A state-changing request authenticated by cookie without the matching CSRF header."""

    status = 403
    type = "permission_error"

    def __init__(self) -> None:
        super().__init__(
            "This request needs the X-CSRF-Token header of your session "
            "(the console sends it; API clients should use an API key instead).",
            code="csrf_failed",
        )


class SessionAuthenticator:
    """Verifies session tokens; requires MFA to be complete."""

    def __init__(self, engine: Engine, sessions: SessionStore) -> None:
        self._engine = engine
        self.sessions = sessions

    async def authenticate(
        self, token: str, *, method: str = "GET", csrf_header: str | None = None
    ) -> Principal:
        """The principal for a live, fully signed-in session, or AuthError (CsrfError: 403)."""
        if method.upper() not in SAFE_METHODS and not (
            csrf_header and same_secret(csrf_header, csrf_token_for(token))
        ):
            raise CsrfError()
        return await anyio.to_thread.run_sync(self._principal, token)

    def _principal(self, token: str) -> Principal:
        session = self.sessions.lookup(token)
        if session is None:
            raise AuthError("Your session has ended; sign in again.", code="session_expired")
        if not session.mfa_verified:
            raise AuthError(
                "Finish signing in with your second factor (POST /auth/v1/mfa/verify).",
                code="mfa_required",
            )
        with self._engine.connect() as conn:
            row = conn.execute(
                select(users.c.role, users.c.active, orgs.c.slug)
                .join(orgs, orgs.c.id == users.c.org_id)
                .where(users.c.id == session.user_id, users.c.org_id == session.org_id)
            ).first()
            if row is None or not row.active:
                raise AuthError("This account is deactivated.", code="account_disabled")
            access = load_access(conn, session.user_id, session.org_id)
        return Principal(
            org_id=session.org_id,
            project_id=None,
            user_id=session.user_id,
            key_id=None,
            key_prefix="session",
            role=row.role,
            org_slug=row.slug,
            roles=access.org_roles,
            project_roles=access.project_roles,
            session_id=session.id,
        )
