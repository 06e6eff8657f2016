"""SAML sign-in on the web: start (called by the shared ``/start`` route), the ACS, SP metadata.

A sign-in started here is tied to the browser that started it: the flow stores the hash of a
random value kept in an HttpOnly cookie, and the ACS refuses a response that arrives without it.
Otherwise anyone could start a sign-in, finish it at the IdP as themselves and make a victim's
browser post the response, signing the victim into the attacker's account (login CSRF). The IdP
posts the response cross-site, so the cookie is ``SameSite=None`` (and therefore Secure).
"""

from __future__ import annotations

import hashlib
import hmac
import logging
import secrets
from typing import Any
from urllib.parse import parse_qs

import anyio
from fastapi import APIRouter
from pydantic import ValidationError
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response

from sekisho.accounts.cookies import secure_cookies
from sekisho.crypto import SecretBoxError
from sekisho.identity import NotFound
from sekisho.sso.provision import ExternalIdentity, SsoDenied
from sekisho.sso.saml import ServiceProvider, require_xmlsec, sp_endpoints
from sekisho.sso.saml_config import SamlConfig
from sekisho.sso.saml_keys import SpKeyPair, load_key_pair, sp_secret
from sekisho.sso.saml_response import (
    MAX_RESPONSE_CHARS,
    SamlAssertion,
    consume,
    email_from_name_id,
    refused,
)
from sekisho.sso.store import IdpConfig
from sekisho.sso.web import (
    SsoServices,
    client_ip,
    denied_response,
    finish_sign_in,
    public_base,
    safe_next,
    sso_services,
)

log = logging.getLogger("sekisho.sso.saml")

BROWSER_COOKIE = "sekisho_saml_browser"
_COOKIE_PATH = "/auth/v1/sso/"
_MAX_FORM_BYTES = MAX_RESPONSE_CHARS + 8 * 1024
_NAMEID_TRANSIENT = "urn:oasis:names:tc:SAML:2.0:nameid-format:transient"


async def start_saml(request: Request, services: SsoServices, idp: IdpConfig, next_path: str) -> Response:
    """Redirect the browser to the IdP with a signed AuthnRequest (HTTP-Redirect binding)."""
    try:
        sp = await anyio.to_thread.run_sync(lambda: service_provider(services, request, idp))
    except SsoDenied as exc:
        return denied_response(request, exc)
    nonce = request.cookies.get(BROWSER_COOKIE) or ""
    if not 32 <= len(nonce) <= 64:
        nonce = secrets.token_urlsafe(32)
    request_id = f"_{secrets.token_hex(20)}"
    data = {"request_id": request_id, "next": next_path, "browser": _digest(nonce)}
    state = await anyio.to_thread.run_sync(
        lambda: services.idps.start_flow(idp, data, services.settings.flow_minutes)
    )
    location = await anyio.to_thread.run_sync(lambda: sp.authn_request(request_id, state))
    response = RedirectResponse(location, status_code=303)
    response.headers["cache-control"] = "no-store"
    secure = secure_cookies(request, services.identity.sessions)
    response.set_cookie(
        BROWSER_COOKIE,
        nonce,
        max_age=int(services.settings.flow_minutes * 60),
        path=_COOKIE_PATH,
        secure=secure,
        httponly=True,
        # Plain-HTTP loopback development cannot have SameSite=None (it needs Secure); the IdP
        # there is on the same site anyway, so Lax cookies come along with its POST.
        samesite="none" if secure else "lax",
    )
    return response


def service_provider(services: SsoServices, request: Request, idp: IdpConfig) -> ServiceProvider:
    """The SP for ``idp`` at this site's public URL; SsoDenied (503) when it is misconfigured."""
    require_xmlsec()
    try:
        config = SamlConfig.of(idp.config)
    except ValidationError as exc:
        log.warning("SAML IdP %s has an unusable configuration: %d errors", idp.id, exc.error_count())
        raise refused(
            "idp_misconfigured", "This identity provider is not configured correctly.", 503
        ) from exc
    endpoints = sp_endpoints(public_base(request, services.identity), idp, config)
    return ServiceProvider(
        config, endpoints, _key_pair(services, idp), clock_skew_seconds=services.settings.clock_skew_seconds
    )


def _key_pair(services: SsoServices, idp: IdpConfig) -> SpKeyPair:
    try:
        secret = services.idps.secret(idp)
        if secret is None:
            # An IdP created without a key pair (before one was generated on creation) gets one
            # now; if two requests race, both read back whichever was stored last.
            generated = sp_secret(None, name=f"Sekisho SP {idp.org_slug}/{idp.slug}")
            services.idps.update(idp.org_id, idp.id, actor="system:saml", secret=generated)
            secret = services.idps.secret(idp) or generated
        return load_key_pair(secret)
    except (ValueError, SecretBoxError) as exc:
        log.warning("SAML IdP %s has an unusable SP key pair", idp.id)
        raise refused(
            "idp_misconfigured", "This identity provider's SP key pair is not usable.", 503
        ) from exc


def external_identity(assertion: SamlAssertion, config: SamlConfig) -> ExternalIdentity:
    """The signed-in person as the provisioner sees them; SsoDenied for an unusable NameID."""
    if assertion.name_id_format == _NAMEID_TRANSIENT:
        raise refused(
            "transient_name_id",
            "The IdP sent a transient NameID, which changes at every sign-in. Configure it to send "
            "a persistent NameID or the e-mail address.",
            400,
        )
    attrs = assertion.attributes
    email = _first(attrs.get(config.email_attribute)) or email_from_name_id(assertion)
    groups = attrs.get(config.groups_attribute)
    return ExternalIdentity(
        subject=assertion.subject,
        email=email,
        name=_first(attrs.get(config.name_attribute)),
        groups=groups or (),
        groups_asserted=groups is not None,
    )


def saml_router() -> APIRouter:
    """The ACS and SP-metadata routes."""
    # pysaml2 logs whole SAML documents at DEBUG and puts them into the context of its errors:
    # an assertion in a log is a credential in a log. Sekisho logs its own one-line outcome.
    logging.getLogger("saml2").setLevel(logging.CRITICAL)
    router = APIRouter(tags=["sso"])

    @router.post("/auth/v1/sso/{org_slug}/{idp_slug}/saml/acs", include_in_schema=False)
    async def assertion_consumer(request: Request, org_slug: str, idp_slug: str) -> Response:
        """The IdP posts its Response here (HTTP-POST binding)."""
        services = sso_services(request)
        try:
            idp = await _saml_idp(services, org_slug, idp_slug)
            form = await _read_form(request)
        except SsoDenied as exc:
            return denied_response(request, exc)
        try:
            return await _accept(request, services, idp, form)
        except SsoDenied as exc:
            ip, code = client_ip(request), exc.code
            log.info("SAML sign-in refused for IdP %s: %s", idp.id, code)
            await anyio.to_thread.run_sync(lambda: services.provisioner.failed(idp, code, ip=ip))
            return denied_response(request, exc)

    @router.get("/auth/v1/sso/{org_slug}/{idp_slug}/saml/metadata", include_in_schema=False)
    async def sp_metadata(request: Request, org_slug: str, idp_slug: str) -> Response:
        """Sekisho's SP metadata for this IdP (entity id, ACS URL, signing certificate)."""
        services = sso_services(request)
        try:
            idp = await _saml_idp(services, org_slug, idp_slug, enabled_only=False)
            sp = await anyio.to_thread.run_sync(lambda: service_provider(services, request, idp))
            xml = await anyio.to_thread.run_sync(sp.metadata_xml)
        except SsoDenied as exc:
            return denied_response(request, exc)
        return Response(xml, media_type="application/samlmetadata+xml")

    return router


async def _accept(request: Request, services: SsoServices, idp: IdpConfig, form: dict[str, str]) -> Response:
    sp = await anyio.to_thread.run_sync(lambda: service_provider(services, request, idp))
    relay = form.get("RelayState", "")
    flow = await anyio.to_thread.run_sync(lambda: services.idps.take_flow(relay)) if relay else None
    if flow is not None:
        flow_idp, data = flow
        if flow_idp.id != idp.id:
            raise refused("flow_mismatch", "This response was posted to another identity provider's address.")
        if not _same_browser(request, data):
            raise refused(
                "browser_mismatch",
                "This sign-in was started in another browser. Start again from the sign-in page.",
            )
        request_id: str | None = str(data["request_id"])
        next_path = str(data.get("next") or "/")
    elif sp.config.allow_idp_initiated:
        # IdP-initiated: no request of ours to answer; a RelayState the IdP sends may name a page.
        request_id = None
        next_path = _relay_path(relay)
    else:
        raise refused(
            "unknown_flow",
            "This sign-in expired or was already used. Start again from the sign-in page.",
            400,
        )
    encoded = form.get("SAMLResponse", "")
    assertion = await anyio.to_thread.run_sync(lambda: consume(sp, encoded, request_id=request_id))
    fresh = await anyio.to_thread.run_sync(
        lambda: services.idps.remember_assertion(idp.id, assertion.assertion_id, assertion.remember_until)
    )
    if not fresh:
        raise refused("assertion_replayed", "This SAML assertion was already used.")
    ident = external_identity(assertion, sp.config)
    return await finish_sign_in(request, services, idp, ident, next_path)


async def _saml_idp(
    services: SsoServices, org_slug: str, idp_slug: str, *, enabled_only: bool = True
) -> IdpConfig:
    try:
        idp = await anyio.to_thread.run_sync(lambda: services.idps.get_by_slug(org_slug, idp_slug))
    except NotFound as exc:
        raise refused("idp_not_found", "No such SAML identity provider.", 404) from exc
    if idp.kind != "saml":
        raise refused("idp_not_found", "No such SAML identity provider.", 404)
    if enabled_only and not idp.enabled:
        raise refused("idp_disabled", "This identity provider is disabled.")
    return idp


async def _read_form(request: Request) -> dict[str, str]:
    """The url-encoded form, read up to a bound (a SAMLResponse is a few kilobytes)."""
    if "application/x-www-form-urlencoded" not in request.headers.get("content-type", ""):
        raise refused("invalid_response", "Expected an HTML form post (HTTP-POST binding).", 400)
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > _MAX_FORM_BYTES:
            raise refused("invalid_response", "The form post is too large.", 413)
    try:
        fields = parse_qs(body.decode("ascii"), max_num_fields=10, strict_parsing=False)
    except (UnicodeDecodeError, ValueError) as exc:
        raise refused("invalid_response", "The form post cannot be read.", 400) from exc
    return {k: v[0] for k, v in fields.items() if v}


def _same_browser(request: Request, data: dict[str, Any]) -> bool:
    expected = data.get("browser")
    nonce = request.cookies.get(BROWSER_COOKIE)
    if not isinstance(expected, str) or not nonce:
        return False
    return hmac.compare_digest(expected, _digest(nonce))


def _relay_path(relay: str) -> str:
    try:
        return safe_next(relay) if relay.startswith("/") else "/"
    except SsoDenied:
        return "/"


def _digest(value: str) -> str:
    return hashlib.sha256(value.encode()).hexdigest()


def _first(values: tuple[str, ...] | None) -> str | None:
    return values[0] if values else None
