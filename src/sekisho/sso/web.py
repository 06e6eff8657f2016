"""What every SSO protocol does on the web side: where to come back to, errors, finishing a sign-in.

OIDC and SAML differ in how the IdP's answer is validated; once it is, both end the same way:
``finish_sign_in`` provisions the user, replaces any session this browser had (so a session id
planted before sign-in is worthless after it), sets the cookies and redirects to a path on this site.
"""

from __future__ import annotations

import html
from dataclasses import dataclass
from urllib.parse import urlsplit

import anyio
from starlette.requests import Request
from starlette.responses import HTMLResponse, RedirectResponse, Response

from sekisho.accounts.cookies import set_session_cookies
from sekisho.accounts.sessions import SessionStore
from sekisho.gateway.errors import GatewayError
from sekisho.identity.settings import IdentitySettings
from sekisho.sso.oidc import OidcSignIn
from sekisho.sso.provision import ExternalIdentity, Provisioner, SsoDenied
from sekisho.sso.settings import SsoSettings
from sekisho.sso.store import IdpConfig, IdpStore

_MAX_NEXT = 2000


@dataclass(frozen=True, slots=True)
class SsoServices:
    """What the SSO routes of every protocol share (``app.state.sso``)."""

    idps: IdpStore
    provisioner: Provisioner
    sessions: SessionStore
    identity: IdentitySettings
    settings: SsoSettings
    oidc: OidcSignIn


def sso_services(request: Request) -> SsoServices:
    """The app's SSO services."""
    services: SsoServices = request.app.state.sso
    return services


def safe_next(value: str | None) -> str:
    """A path on this site to go to after sign-in; SsoDenied for anything that could leave it.

    Only a path beginning with one ``/`` is accepted. ``//host`` and ``/\\host`` are network
    paths to browsers, control characters are dropped by them (turning ``/\\t/host`` into
    ``//host``), and an absolute URL is another site: an open redirect is how phishing pages
    borrow a trusted sign-in.
    """
    if not value:
        return "/"
    bad = (
        len(value) > _MAX_NEXT
        or not value.startswith("/")
        or value.startswith("//")
        or "\\" in value
        or any(ord(c) < 0x20 or ord(c) == 0x7F for c in value)
    )
    parts = urlsplit(value)
    if bad or parts.scheme or parts.netloc:
        raise SsoDenied("'next' must be a path on this site, such as /console.", "invalid_next", 400)
    return value


def public_base(request: Request, identity: IdentitySettings) -> str:
    """This site's base URL as users reach it: the configured public URL, else the request's."""
    if identity.public_url:
        return identity.public_url.rstrip("/")
    return f"{request.url.scheme}://{request.url.netloc}"


def client_ip(request: Request) -> str | None:
    """The peer's address (proxy handling is the network layer's job)."""
    return request.client.host if request.client else None


def error_response(request: Request, status: int, message: str, code: str) -> Response:
    """A sign-in error: an HTML page for a browser, an OpenAI-style JSON error otherwise."""
    if "text/html" in request.headers.get("accept", ""):
        text = html.escape(message)
        page = (
            "<!doctype html><html lang=en><head><meta charset=utf-8><title>Sign-in failed</title>"
            f"</head><body><h1>Sign-in failed</h1><p>{text}</p><p><code>{html.escape(code)}</code>"
            '</p><p><a href="/">Back</a></p></body></html>'
        )
        return HTMLResponse(page, status_code=status)
    kind = "permission_error" if status == 403 else "invalid_request_error"
    return GatewayError(status, message, type=kind, code=code).response()


def denied_response(request: Request, exc: SsoDenied) -> Response:
    """``error_response`` for a refused sign-in."""
    return error_response(request, exc.status, exc.message, exc.code)


async def finish_sign_in(
    request: Request, services: SsoServices, idp: IdpConfig, ident: ExternalIdentity, next_path: str
) -> Response:
    """Provision, start the session, set the cookies and go to ``next_path`` (303)."""
    ip = client_ip(request)
    agent = request.headers.get("user-agent")
    try:
        _user, session, token = await anyio.to_thread.run_sync(
            lambda: services.provisioner.sign_in(idp, ident, ip=ip, user_agent=agent)
        )
    except SsoDenied as exc:
        return denied_response(request, exc)
    old = request.cookies.get(services.identity.sessions.cookie_name)
    if old:
        await anyio.to_thread.run_sync(lambda: _end_previous(services.sessions, old, session.user_id))
    try:
        target = safe_next(next_path)
    except SsoDenied:
        target = "/"  # the protocol code checked it at the start; this is only a second guard
    response = RedirectResponse(target, status_code=303)
    set_session_cookies(response, request, services.identity.sessions, session, token)
    response.headers["cache-control"] = "no-store"
    return response


def _end_previous(sessions: SessionStore, token: str, user_id: str) -> None:
    """End the session this browser had before signing in (a planted or another account's one)."""
    previous = sessions.lookup(token)
    if previous is not None:
        sessions.revoke(previous.id, reason="replaced_by_sign_in", actor=f"user:{user_id}")
