"""Request-side helpers of the /auth routes: the session from its cookie, CSRF, content type, client.

The /auth routes authenticate themselves from the session cookie (not through the admin API's
bearer-key dependency): some of them must work for a session that has not passed MFA yet.
"""

from __future__ import annotations

import hmac
from collections.abc import Callable
from dataclasses import dataclass
from typing import TypeVar

import anyio
from starlette.requests import Request

from sekisho.accounts.cookies import CSRF_HEADER
from sekisho.accounts.errors import AccountError, throttled
from sekisho.accounts.parts import Client
from sekisho.accounts.sessions import Session, csrf_token_for
from sekisho.accounts.wiring import Accounts
from sekisho.gateway.errors import GatewayError

T = TypeVar("T")


@dataclass(frozen=True, slots=True)
class Current:
    """The caller's live session and its token (from the cookie)."""

    session: Session
    token: str


def accounts_of(request: Request) -> Accounts:
    """The sign-in services ``build_app`` installed."""
    accounts: Accounts = request.app.state.accounts
    return accounts


def client_of(request: Request) -> Client:
    """The client's address (behind a trusted proxy: from X-Forwarded-For) and user agent."""
    address = accounts_of(request).trusted.client_address(request.scope)
    return Client(
        ip=str(address) if address is not None else None, user_agent=request.headers.get("user-agent")
    )


async def run(fn: Callable[[], T]) -> T:
    """Run a blocking service call off the event loop; its refusals become HTTP errors."""
    try:
        return await anyio.to_thread.run_sync(fn)
    except AccountError as exc:
        raise exc.gateway_error() from None
    except LookupError as exc:
        raise GatewayError(404, str(exc), code="not_found") from None


def require_json(request: Request) -> None:
    """Refuse bodies that are not ``application/json`` (415).

    A cross-site HTML form can only send form-encoded, multipart or text/plain bodies; a script on
    another site that wants to send JSON must first pass a CORS preflight, which Sekisho never
    grants. So requiring JSON means no other site can make a browser submit this request.
    """
    media = request.headers.get("content-type", "").split(";", 1)[0].strip().lower()
    if media != "application/json":
        raise GatewayError(415, "Send the request body as application/json.", code="unsupported_media_type")


def refuse_cross_site(request: Request) -> None:
    """Refuse a request the browser says another site started (``Sec-Fetch-Site: cross-site``)."""
    if request.headers.get("sec-fetch-site", "").lower() == "cross-site":
        raise GatewayError(
            403, "Cross-site requests are refused.", type="permission_error", code="cross_site"
        )


def throttle(request: Request, accounts: Accounts) -> None:
    """Count a sign-in attempt from the client's address; 429 with Retry-After over the limit."""
    address = client_of(request).ip or "unknown"
    wait = accounts.throttle.hit(address)
    if wait:
        raise throttled(wait).gateway_error()


def session_token(request: Request) -> str | None:
    """The session cookie's value, if the request carries one."""
    return request.cookies.get(accounts_of(request).settings.sessions.cookie_name) or None


async def current(request: Request, *, csrf: bool, full: bool) -> Current:
    """The caller's live session, or 401.

    ``csrf``: the request changes something, so ``X-CSRF-Token`` must match the session (403).
    ``full``: the session must have passed MFA (403 ``mfa_required`` for one still at the second
    step or obliged to enrol first).
    """
    token = session_token(request)
    if token is None:
        raise GatewayError(401, "Not signed in.", code="not_signed_in")
    if csrf:
        sent = request.headers.get(CSRF_HEADER, "")
        if not hmac.compare_digest(sent.encode(), csrf_token_for(token).encode()):
            raise GatewayError(
                403, "Missing or wrong X-CSRF-Token header.", type="permission_error", code="csrf_failed"
            )
    store = accounts_of(request).sessions
    session = await anyio.to_thread.run_sync(store.lookup, token)
    if session is None:
        raise GatewayError(401, "The session has ended; sign in again.", code="session_ended")
    if full and not session.mfa_verified:
        raise GatewayError(
            403,
            "Finish signing in first: verify your MFA code, or set up MFA as your organisation requires.",
            type="permission_error",
            code="mfa_required",
        )
    return Current(session, token)
