"""The public SSO routes: the sign-in page's provider list, starting a sign-in, the OIDC callback.

``GET /auth/v1/sso/{org}/{idp}/start`` works for both protocols; the OIDC answer comes back to one
callback for every organisation (the state value says which flow it belongs to). The flow is also
bound to the browser that started it by a short-lived cookie: without that, someone could start a
sign-in with their own account and send the link that finishes it to a victim, who would then work
in the attacker's account (login CSRF).
"""

from __future__ import annotations

import hmac
from typing import Annotated, Any

import anyio
from fastapi import APIRouter, Query
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sekisho.accounts.cookies import secure_cookies
from sekisho.identity import NotFound
from sekisho.sso.oidc import binding_digest, provider_word
from sekisho.sso.provision import SsoDenied
from sekisho.sso.saml_routes import start_saml
from sekisho.sso.store import IdpConfig
from sekisho.sso.web import (
    SsoServices,
    client_ip,
    denied_response,
    error_response,
    finish_sign_in,
    public_base,
    safe_next,
    sso_services,
)

PREFIX = "/auth/v1/sso"
CALLBACK_PATH = f"{PREFIX}/callback"
_BINDING_COOKIE = "sekisho_sso_"


def redirect_uri(request: Request, services: SsoServices) -> str:
    """The OIDC redirect URI to register at every provider."""
    return public_base(request, services.identity) + CALLBACK_PATH


def start_url(idp: IdpConfig) -> str:
    """Where the sign-in page's button for ``idp`` points."""
    return f"{PREFIX}/{idp.org_slug}/{idp.slug}/start"


def _binding_cookie(state: str) -> str:
    # One cookie per flow (named after the state), so sign-ins started in two tabs both work.
    return _BINDING_COOKIE + state[:16]


def sso_router() -> APIRouter:
    """The sign-in routes under /auth/v1/sso."""
    router = APIRouter(prefix=PREFIX, tags=["sso"])

    @router.get("/callback")
    async def oidc_callback(
        request: Request,
        state: str | None = None,
        code: str | None = None,
        error: str | None = None,
        iss: str | None = None,
    ) -> Response:
        """Where OpenID providers send the browser back with an authorization code."""
        services = sso_services(request)
        if not state:
            return error_response(request, 400, "The sign-in answer has no state.", "missing_state")
        taken = await anyio.to_thread.run_sync(services.idps.take_flow, state)
        if taken is None:
            return error_response(
                request,
                400,
                "This sign-in has expired or was already used; please start again.",
                "invalid_state",
            )
        idp, flow = taken
        cookie = _binding_cookie(state)
        try:
            if idp.kind != "oidc":
                raise SsoDenied("This sign-in was not an OpenID Connect one.", "wrong_protocol", 400)
            binding = request.cookies.get(cookie, "")
            if not binding or not hmac.compare_digest(binding_digest(binding), str(flow.get("binding", ""))):
                raise SsoDenied(
                    "This sign-in was started in another browser; please start again here.",
                    "flow_not_bound",
                    400,
                )
            if error:
                raise SsoDenied(
                    f"The identity provider did not sign you in ({provider_word(error)}).", "idp_error", 403
                )
            if not code:
                raise SsoDenied("The sign-in answer has no authorization code.", "missing_code", 400)
            ident = await services.oidc.finish(idp, flow, code=code, iss=iss)
        except SsoDenied as exc:
            ip, reason = client_ip(request), exc.code
            await anyio.to_thread.run_sync(lambda: services.provisioner.failed(idp, reason, ip=ip))
            response = denied_response(request, exc)
        else:
            response = await finish_sign_in(request, services, idp, ident, str(flow.get("next") or "/"))
        response.delete_cookie(cookie, path=CALLBACK_PATH)
        return response

    @router.get("/{org_slug}/providers")
    async def providers(request: Request, org_slug: str) -> dict[str, Any]:
        """The organisation's enabled identity providers, for the sign-in page's buttons.

        An unknown organisation has none: the answer does not reveal which slugs exist.
        """
        services = sso_services(request)
        idps = await anyio.to_thread.run_sync(services.idps.list_enabled, org_slug)
        return {
            "object": "list",
            "data": [
                {"name": i.name, "slug": i.slug, "kind": i.kind, "start_url": start_url(i)} for i in idps
            ],
        }

    @router.get("/{org_slug}/{idp_slug}/start")
    async def start(
        request: Request,
        org_slug: str,
        idp_slug: str,
        next_url: Annotated[str | None, Query(alias="next", max_length=2000)] = None,
        login_hint: Annotated[str | None, Query(max_length=320)] = None,
    ) -> Response:
        """Send the browser to the identity provider; afterwards it lands on ``next``."""
        services = sso_services(request)
        try:
            next_path = safe_next(next_url)
            idp = await anyio.to_thread.run_sync(lambda: services.idps.get_by_slug(org_slug, idp_slug))
        except NotFound:
            return error_response(request, 404, "There is no such sign-in method.", "idp_not_found")
        except SsoDenied as exc:
            return denied_response(request, exc)
        if not idp.enabled:
            return error_response(request, 403, "This sign-in method is turned off.", "idp_disabled")
        if idp.kind == "saml":
            return await start_saml(request, services, idp, next_path)
        try:
            url, state, binding = await services.oidc.start(
                idp, redirect_uri=redirect_uri(request, services), next_path=next_path, login_hint=login_hint
            )
        except SsoDenied as exc:
            return denied_response(request, exc)
        response = RedirectResponse(url, status_code=302)
        response.set_cookie(
            _binding_cookie(state),
            binding,
            max_age=max(60, int(services.settings.flow_minutes * 60)),
            path=CALLBACK_PATH,
            secure=secure_cookies(request, services.identity.sessions),
            httponly=True,
            samesite="lax",
        )
        response.headers["cache-control"] = "no-store"
        return response

    return router
