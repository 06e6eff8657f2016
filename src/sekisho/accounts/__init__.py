"""Console sign-in: local accounts (argon2id passwords), TOTP MFA with recovery codes, sessions in
cookies with CSRF protection, lock-out and throttling.

Only the session names are exported here: ``identity.org_settings`` imports them, and the web
modules import ``identity.org_settings``, so exporting those too would make an import cycle. The
composition root imports ``accounts.wiring``, ``accounts.routes`` and ``accounts.admin_routes``.
"""

from sekisho.accounts.sessions import Lifetimes, Session, SessionStore, csrf_token_for

__all__ = ["Lifetimes", "Session", "SessionStore", "csrf_token_for"]
