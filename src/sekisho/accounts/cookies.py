"""The session and CSRF cookies, set the same way by every sign-in path (password, OIDC, SAML).

``sekisho_session`` is HttpOnly (scripts never see it), ``SameSite=Lax`` (sent on top-level
navigation back from an IdP, never on cross-site sub-requests) and Secure except for plain-HTTP
loopback development. ``sekisho_csrf`` holds the derived CSRF token for the console's script to echo
in ``X-CSRF-Token`` on every state-changing request (double submit).
"""

from __future__ import annotations

import ipaddress

from starlette.requests import Request
from starlette.responses import Response

from sekisho.accounts.sessions import Session, csrf_token_for
from sekisho.identity.settings import SessionSettings

CSRF_COOKIE = "sekisho_csrf"
CSRF_HEADER = "x-csrf-token"


def secure_cookies(request: Request, settings: SessionSettings) -> bool:
    """Whether to mark cookies Secure for this request."""
    if settings.secure_cookie is not None:
        return settings.secure_cookie
    if request.url.scheme == "https":
        return True
    host = request.url.hostname or ""
    if host == "localhost":
        return False
    try:
        return not ipaddress.ip_address(host).is_loopback
    except ValueError:
        return True


def set_session_cookies(
    response: Response, request: Request, settings: SessionSettings, session: Session, token: str
) -> str:
    """Set both cookies on ``response``; returns the CSRF token (also for a JSON body)."""
    secure = secure_cookies(request, settings)
    max_age = max(1, int((session.expires_at - session.created_at).total_seconds()))
    response.set_cookie(
        settings.cookie_name,
        token,
        max_age=max_age,
        path="/",
        secure=secure,
        httponly=True,
        samesite="lax",
    )
    csrf = csrf_token_for(token)
    response.set_cookie(
        CSRF_COOKIE, csrf, max_age=max_age, path="/", secure=secure, httponly=False, samesite="strict"
    )
    return csrf


def clear_session_cookies(response: Response, request: Request, settings: SessionSettings) -> None:
    """Remove both cookies (sign-out, ended session)."""
    secure = secure_cookies(request, settings)
    response.delete_cookie(settings.cookie_name, path="/", secure=secure, httponly=True, samesite="lax")
    response.delete_cookie(CSRF_COOKIE, path="/", secure=secure, httponly=False, samesite="strict")
