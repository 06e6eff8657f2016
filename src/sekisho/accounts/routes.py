"""The console's sign-in API under /auth/v1 (JSON; the console pages call it).

Every route that acts on an existing session and changes something checks ``X-CSRF-Token``. Sign-in
itself has no session yet: it takes JSON only and refuses requests the browser marks cross-site
(see ``web.require_json``), which is what keeps another site from signing a visitor in.
"""

from __future__ import annotations

from typing import Any

from fastapi import APIRouter, Depends, Request, Response
from starlette.responses import JSONResponse

from sekisho.accounts.cookies import clear_session_cookies, set_session_cookies
from sekisho.accounts.models import (
    CodeIn,
    DisableMfaIn,
    EnrollOut,
    LoginIn,
    PasswordChangeIn,
    RecoveryCodesOut,
    SecondFactorIn,
    SessionInfo,
    SignedInOut,
    WhoAmIOut,
)
from sekisho.accounts.records import Account
from sekisho.accounts.sessions import Session, csrf_token_for
from sekisho.accounts.signin import SignedIn
from sekisho.accounts.web import (
    accounts_of,
    client_of,
    current,
    refuse_cross_site,
    require_json,
    run,
    session_token,
    throttle,
)
from sekisho.gateway.errors import GatewayError

JSON_ONLY = [Depends(require_json)]


def auth_router() -> APIRouter:
    """All /auth/v1 routes."""
    router = APIRouter(prefix="/auth/v1", tags=["auth"])

    @router.post("/login", response_model=SignedInOut, dependencies=JSON_ONLY)
    async def login(body: LoginIn, request: Request) -> Response:
        """Sign in with e-mail and password; sets the session and CSRF cookies."""
        refuse_cross_site(request)
        accounts = accounts_of(request)
        throttle(request, accounts)
        client = client_of(request)
        signed = await run(lambda: accounts.signin.login(body.email, body.password, body.org, client))
        previous = session_token(request)
        if previous is not None:
            # A session this browser already held (perhaps someone else's) ends with the new sign-in.
            await run(lambda: _end_previous(request, previous))
        return _signed_in_response(request, signed)

    @router.post("/mfa/verify", response_model=SignedInOut, dependencies=JSON_ONLY)
    async def verify(body: SecondFactorIn, request: Request) -> Response:
        """Finish sign-in with a TOTP code or a recovery code; the session token is replaced."""
        me = await current(request, csrf=True, full=False)
        accounts = accounts_of(request)
        throttle(request, accounts)
        client = client_of(request)
        signed = await run(
            lambda: accounts.signin.verify_mfa(
                me.session, code=body.code, recovery_code=body.recovery_code, client=client
            )
        )
        return _signed_in_response(request, signed)

    @router.post("/logout", status_code=204)
    async def logout(request: Request) -> Response:
        """End this session and clear the cookies."""
        me = await current(request, csrf=True, full=False)
        sessions = accounts_of(request).sessions
        actor = f"user:{me.session.user_id}"
        await run(lambda: sessions.revoke(me.session.id, reason="logout", actor=actor))
        response = Response(status_code=204)
        clear_session_cookies(response, request, accounts_of(request).settings.sessions)
        return response

    @router.get("/session", response_model=WhoAmIOut)
    async def whoami(request: Request) -> dict[str, Any]:
        """Who is signed in, in which organisation, and what the session still needs (MFA)."""
        me = await current(request, csrf=False, full=False)
        accounts = accounts_of(request)
        acct = await run(lambda: accounts.signin.account(me.session.user_id))
        if acct is None or not acct.may_sign_in:
            raise GatewayError(401, "The session has ended; sign in again.", code="session_ended")
        return {
            **_signed_in_body(acct, me.session, csrf_token_for(me.token)),
            "session": _session_info(me.session, me.session.id),
            "mfa": {
                "enabled": acct.mfa_enabled,
                "verified": me.session.mfa_verified,
                "recovery_codes_left": len(acct.recovery_digests),
            },
        }

    @router.get("/sessions", response_model=list[SessionInfo])
    async def list_sessions(request: Request) -> list[dict[str, Any]]:
        """The signed-in user's live sessions (this one marked ``current``)."""
        me = await current(request, csrf=False, full=True)
        sessions = accounts_of(request).sessions
        mine = await run(lambda: sessions.list_for_user(me.session.user_id))
        return [_session_info(s, me.session.id) for s in mine]

    @router.delete("/sessions/{session_id}", status_code=204)
    async def revoke_session(session_id: str, request: Request) -> Response:
        """End one of the user's own sessions (another user's answers 404)."""
        me = await current(request, csrf=True, full=True)
        sessions = accounts_of(request).sessions
        user_id = me.session.user_id
        ended = await run(
            lambda: sessions.revoke(
                session_id, reason="revoked_by_user", actor=f"user:{user_id}", user_id=user_id
            )
        )
        if not ended:
            raise GatewayError(404, f"session {session_id!r} not found", code="not_found")
        response = Response(status_code=204)
        if session_id == me.session.id:
            clear_session_cookies(response, request, accounts_of(request).settings.sessions)
        return response

    @router.post("/password", response_model=SignedInOut, dependencies=JSON_ONLY)
    async def change_password(body: PasswordChangeIn, request: Request) -> Response:
        """Change one's password; every other session of the user ends, this one gets a new token."""
        me = await current(request, csrf=True, full=True)
        accounts = accounts_of(request)
        client = client_of(request)
        session, token = await run(
            lambda: accounts.signin.change_password(
                me.session, body.current_password, body.new_password, client
            )
        )
        acct = await run(lambda: accounts.signin.account(session.user_id))
        if acct is None:
            raise GatewayError(401, "The session has ended; sign in again.", code="session_ended")
        return _signed_in_response(request, SignedIn(acct, session, token, False, False))

    @router.post("/mfa/enroll", response_model=EnrollOut)
    async def enroll(request: Request) -> dict[str, str]:
        """Start TOTP enrolment: a new secret and its otpauth:// URI (not active until confirmed)."""
        me = await current(request, csrf=True, full=False)
        mfa = accounts_of(request).mfa
        started = await run(lambda: mfa.enroll(me.session))
        return {"secret": started.secret, "otpauth_uri": started.uri}

    @router.post("/mfa/enroll/confirm", response_model=RecoveryCodesOut, dependencies=JSON_ONLY)
    async def confirm(body: CodeIn, request: Request) -> Response:
        """Turn MFA on with a code from the app; answers the recovery codes, this one time only."""
        me = await current(request, csrf=True, full=False)
        accounts = accounts_of(request)
        client = client_of(request)
        enrolled = await run(lambda: accounts.mfa.confirm(me.session, body.code, client))
        response = JSONResponse(
            {"recovery_codes": enrolled.recovery_codes, "csrf_token": csrf_token_for(enrolled.token)}
        )
        set_session_cookies(response, request, accounts.settings.sessions, enrolled.session, enrolled.token)
        _no_store(response)
        return response

    @router.post("/mfa/disable", status_code=204, dependencies=JSON_ONLY)
    async def disable(body: DisableMfaIn, request: Request) -> Response:
        """Turn MFA off (not allowed when the organisation requires it)."""
        me = await current(request, csrf=True, full=True)
        accounts = accounts_of(request)
        client = client_of(request)
        await run(
            lambda: accounts.mfa.disable(
                me.session,
                code=body.code,
                recovery_code=body.recovery_code,
                password=body.password,
                client=client,
            )
        )
        return Response(status_code=204)

    @router.post("/mfa/recovery-codes", response_model=RecoveryCodesOut, dependencies=JSON_ONLY)
    async def regenerate(body: CodeIn, request: Request) -> Response:
        """New recovery codes (the old ones stop working); needs a current TOTP code."""
        me = await current(request, csrf=True, full=True)
        accounts = accounts_of(request)
        client = client_of(request)
        codes = await run(lambda: accounts.mfa.regenerate(me.session, body.code, client))
        response = JSONResponse({"recovery_codes": codes})
        _no_store(response)
        return response

    return router


def _end_previous(request: Request, token: str) -> None:
    sessions = accounts_of(request).sessions
    old = sessions.lookup(token)
    if old is not None:
        sessions.revoke(old.id, reason="replaced_by_sign_in", actor=f"user:{old.user_id}")


def _signed_in_body(acct: Account, session: Session, csrf: str) -> dict[str, Any]:
    return {
        "user": {"id": acct.id, "email": acct.email, "name": acct.name, "role": acct.role},
        "org": {"id": acct.org_id, "slug": acct.org_slug, "name": acct.org_name},
        "mfa_required": not session.mfa_verified and acct.mfa_enabled,
        "mfa_enrollment_required": not session.mfa_verified and not acct.mfa_enabled,
        "csrf_token": csrf,
    }


def _signed_in_response(request: Request, signed: SignedIn) -> Response:
    csrf = csrf_token_for(signed.token)
    response = JSONResponse(_signed_in_body(signed.account, signed.session, csrf))
    set_session_cookies(
        response, request, accounts_of(request).settings.sessions, signed.session, signed.token
    )
    _no_store(response)
    return response


def _session_info(session: Session, current_id: str) -> dict[str, Any]:
    return {
        "id": session.id,
        "method": session.method,
        "mfa_verified": session.mfa_verified,
        "created_at": session.created_at,
        "last_seen_at": session.last_seen_at,
        "idle_expires_at": session.idle_expires_at,
        "expires_at": session.expires_at,
        "ip": session.ip,
        "user_agent": session.user_agent,
        "current": session.id == current_id,
    }


def _no_store(response: Response) -> None:
    # Answers carrying CSRF tokens or recovery codes must not sit in a shared or browser cache.
    response.headers["cache-control"] = "no-store"
