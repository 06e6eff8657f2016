"""OpenID Connect sign-in: authorization code flow with PKCE (S256), state and nonce.

``start`` stores the flow's secrets (nonce, PKCE verifier, a hash of the browser's binding cookie)
sealed in ``auth_flows`` and returns the provider's authorization URL; ``finish`` exchanges the code
at the token endpoint (Authlib) and validates the ID token (Authlib's OIDC claim rules on joserfc):
signature by a key of the provider's JWKS, ``iss``, ``aud``, ``azp`` with several audiences, ``exp``,
``iat``, ``nonce`` and ``at_hash``. Tokens are never logged or stored.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from typing import Any

import anyio
import httpx
from authlib.integrations.base_client.errors import OAuthError
from authlib.integrations.httpx_client import AsyncOAuth2Client
from authlib.oauth2.rfc6749.parameters import prepare_grant_uri
from authlib.oauth2.rfc7636 import create_s256_code_challenge
from authlib.oidc.core import CodeIDToken
from joserfc import jwt
from joserfc.errors import InvalidKeyIdError, JoseError
from joserfc.jwk import KeySet
from pydantic import ValidationError

from sekisho.crypto import SecretBoxError
from sekisho.sso.oidc_config import OidcConfig
from sekisho.sso.oidc_discovery import Discovery
from sekisho.sso.provision import ExternalIdentity, SsoDenied
from sekisho.sso.settings import SsoSettings
from sekisho.sso.store import IdpConfig, IdpStore

# Asymmetric algorithms only: with "none" anyone could write a token, and with HS256 the key is the
# client secret, which would make a leaked secret a way to forge identities rather than to
# exchange codes.
SIGNING_ALGORITHMS = frozenset(
    {"RS256", "RS384", "RS512", "PS256", "PS384", "PS512", "ES256", "ES384", "ES512", "EdDSA", "Ed25519"}
)
_MAX_GROUPS = 2000


def oidc_config(idp: IdpConfig) -> OidcConfig:
    """The IdP's OIDC settings; SsoDenied when the stored ones do not parse (not a server error)."""
    try:
        return OidcConfig.model_validate(idp.config)
    except ValidationError as exc:
        raise SsoDenied(
            "This identity provider is not configured correctly.", "idp_misconfigured", 400
        ) from exc


def binding_digest(binding: str) -> str:
    """What the flow keeps of the browser's binding cookie."""
    return hashlib.sha256(binding.encode()).hexdigest()


def validate_id_token(
    keys: KeySet,
    id_token: str,
    *,
    issuer: str,
    client_id: str,
    nonce: str,
    algorithms: list[str],
    access_token: str | None = None,
    leeway: int = 60,
) -> dict[str, Any]:
    """The ID token's claims once its signature and OIDC Core §3.1.3.7 checks pass; JoseError else."""
    token = jwt.decode(id_token, keys, algorithms=algorithms)
    options = {
        "iss": {"essential": True, "value": issuer},
        "aud": {"essential": True, "value": client_id},
        "sub": {"essential": True},
        "exp": {"essential": True},
        "iat": {"essential": True},
        "nonce": {"essential": True, "value": nonce},
    }
    params = {"nonce": nonce, "client_id": client_id, "access_token": access_token}
    claims = CodeIDToken(token.claims, token.header, options, params)
    claims.validate(now=int(time.time()), leeway=leeway)
    return dict(token.claims)


def claim(claims: dict[str, Any], path: str) -> Any:
    """A claim by name, or by a dotted path into nested objects (``realm_access.roles``)."""
    if path in claims:
        return claims[path]
    value: Any = claims
    for part in path.split("."):
        if not isinstance(value, dict) or part not in value:
            return None
        value = value[part]
    return value


def identity_from_claims(cfg: OidcConfig, claims: dict[str, Any]) -> ExternalIdentity:
    """Who signed in, by the configured claim names."""
    for claim_name, wanted in cfg.required_claims.items():
        allowed = [wanted] if isinstance(wanted, str) else wanted
        if claim(claims, claim_name) not in allowed:
            raise SsoDenied("Your account at the identity provider is not allowed here.", "claim_mismatch")
    verified = claims.get("email_verified")
    email = claim(claims, cfg.email_claim)
    if isinstance(email, str) and (verified is False or verified == "false"):
        # Linking by e-mail trusts the address; one the provider itself has not verified could
        # belong to someone else.
        raise SsoDenied("The identity provider has not verified your e-mail address.", "email_not_verified")
    name = claim(claims, cfg.name_claim) or claims.get("preferred_username")
    raw = claim(claims, cfg.groups_claim)
    groups: tuple[str, ...] = ()
    if isinstance(raw, str):
        groups = (raw,)
    elif isinstance(raw, list):
        groups = tuple(g for g in raw[:_MAX_GROUPS] if isinstance(g, str))
    return ExternalIdentity(
        subject=str(claims["sub"]),
        email=email if isinstance(email, str) and email else None,
        name=name if isinstance(name, str) and name else None,
        groups=groups,
        groups_asserted=raw is not None,
    )


class OidcSignIn:
    """Starts and finishes OIDC sign-ins for any organisation's OIDC providers."""

    def __init__(self, idps: IdpStore, discovery: Discovery, settings: SsoSettings) -> None:
        self._idps = idps
        self.discovery = discovery
        self._settings = settings

    async def start(
        self, idp: IdpConfig, *, redirect_uri: str, next_path: str, login_hint: str | None = None
    ) -> tuple[str, str, str]:
        """(authorization URL, state, browser binding value for the cookie)."""
        cfg = oidc_config(idp)
        metadata = await self.discovery.metadata(cfg.issuer)
        nonce = secrets.token_urlsafe(32)
        verifier = secrets.token_urlsafe(64)
        binding = secrets.token_urlsafe(32)
        data = {
            "nonce": nonce,
            "code_verifier": verifier,
            "redirect_uri": redirect_uri,
            "next": next_path,
            "binding": binding_digest(binding),
        }
        state = await anyio.to_thread.run_sync(
            lambda: self._idps.start_flow(idp, data, self._settings.flow_minutes)
        )
        extra: dict[str, str] = dict(cfg.auth_params)
        if login_hint:
            extra["login_hint"] = login_hint[:320]
        url = prepare_grant_uri(
            metadata["authorization_endpoint"],
            client_id=cfg.client_id,
            response_type="code",
            redirect_uri=redirect_uri,
            scope=cfg.scopes,
            state=state,
            nonce=nonce,
            code_challenge=create_s256_code_challenge(verifier),
            code_challenge_method="S256",
            **extra,
        )
        return str(url), state, binding

    async def finish(
        self, idp: IdpConfig, flow: dict[str, Any], *, code: str, iss: str | None
    ) -> ExternalIdentity:
        """Exchange ``code`` and validate what comes back; SsoDenied for anything wrong."""
        cfg = oidc_config(idp)
        metadata = await self.discovery.metadata(cfg.issuer)
        # RFC 9207: a provider that names itself in the response lets a client that talks to
        # several providers notice a response meant for another (a mix-up attack).
        if iss is not None and iss != cfg.issuer:
            raise SsoDenied("The answer came from a different identity provider.", "issuer_mismatch", 400)
        if iss is None and metadata.get("authorization_response_iss_parameter_supported") is True:
            raise SsoDenied("The identity provider's answer does not name its issuer.", "issuer_missing", 400)
        token = await self._exchange(idp, cfg, metadata, code, flow)
        id_token = token.get("id_token")
        if not isinstance(id_token, str):
            raise SsoDenied("The identity provider sent no ID token.", "no_id_token", 400)
        access_token = token.get("access_token") if isinstance(token.get("access_token"), str) else None
        claims = await self._validate(cfg, metadata, id_token, str(flow["nonce"]), access_token)
        wants_userinfo = cfg.userinfo == "always" or (
            cfg.userinfo == "auto"
            and (claim(claims, cfg.email_claim) is None or claim(claims, cfg.groups_claim) is None)
        )
        if wants_userinfo and access_token and isinstance(metadata.get("userinfo_endpoint"), str):
            claims = await self._userinfo(metadata["userinfo_endpoint"], access_token, claims)
        return identity_from_claims(cfg, claims)

    async def _exchange(
        self, idp: IdpConfig, cfg: OidcConfig, metadata: dict[str, Any], code: str, flow: dict[str, Any]
    ) -> dict[str, Any]:
        try:
            secret = await anyio.to_thread.run_sync(self._idps.secret, idp)
        except SecretBoxError:
            # Sealed under another key (SEKISHO_SECRETS_KEY changed): an admin must set it again.
            raise SsoDenied(
                "This identity provider's client secret cannot be read; an administrator must set it again.",
                "idp_misconfigured",
                400,
            ) from None
        method = cfg.token_endpoint_auth_method or ("client_secret_basic" if secret else "none")
        client = AsyncOAuth2Client(
            client_id=cfg.client_id,
            client_secret=secret if method != "none" else None,
            token_endpoint_auth_method=method,
            timeout=self.discovery.timeout,
            transport=self.discovery.transport,
        )
        try:
            async with client:
                token = await client.fetch_token(
                    metadata["token_endpoint"],
                    grant_type="authorization_code",
                    code=code,
                    redirect_uri=flow["redirect_uri"],
                    code_verifier=flow["code_verifier"],
                )
        except OAuthError as exc:
            raise SsoDenied(
                f"The identity provider refused the sign-in code ({provider_word(exc.error)}).",
                "token_exchange_failed",
                400,
            ) from None
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoDenied("The identity provider's token endpoint failed.", "idp_unreachable", 502) from exc
        return dict(token)

    async def _validate(
        self, cfg: OidcConfig, metadata: dict[str, Any], id_token: str, nonce: str, access_token: str | None
    ) -> dict[str, Any]:
        offered = metadata.get("id_token_signing_alg_values_supported") or ["RS256"]
        algorithms = sorted(SIGNING_ALGORITHMS & set(offered)) or ["RS256"]
        leeway = self._settings.clock_skew_seconds

        def check(keys: KeySet) -> dict[str, Any]:
            return validate_id_token(
                keys,
                id_token,
                issuer=cfg.issuer,
                client_id=cfg.client_id,
                nonce=nonce,
                algorithms=algorithms,
                access_token=access_token,
                leeway=leeway,
            )

        try:
            try:
                return check(await self.discovery.keys(cfg.issuer))
            except InvalidKeyIdError:
                # Signed with a key we have not seen: the provider may have rotated its keys.
                return check(await self.discovery.keys(cfg.issuer, refresh=True))
        except JoseError as exc:
            detail = provider_word(exc.error) + (f": {exc.description}" if exc.description else "")
            raise SsoDenied(f"The ID token is not valid ({detail}).", "invalid_id_token", 400) from None
        except (ValueError, TypeError) as exc:
            raise SsoDenied("The ID token is not valid (malformed).", "invalid_id_token", 400) from exc

    async def _userinfo(self, url: str, access_token: str, claims: dict[str, Any]) -> dict[str, Any]:
        try:
            async with self.discovery.client() as http:
                response = await http.get(
                    url, headers={"authorization": f"Bearer {access_token}", "accept": "application/json"}
                )
            info = response.json() if response.status_code == 200 else None
        except (httpx.HTTPError, ValueError) as exc:
            raise SsoDenied(
                "The identity provider's userinfo endpoint failed.", "idp_unreachable", 502
            ) from exc
        if not isinstance(info, dict):
            raise SsoDenied("The identity provider's userinfo endpoint failed.", "userinfo_failed", 502)
        # OIDC Core §5.3.2: userinfo about someone else must not be mixed into this identity.
        if not hmac.compare_digest(str(info.get("sub", "")), str(claims["sub"])):
            raise SsoDenied(
                "The identity provider's userinfo is about another user.", "userinfo_mismatch", 400
            )
        protected = {"iss", "sub", "aud", "exp", "iat", "nonce", "azp"}
        return {**claims, **{k: v for k, v in info.items() if k not in protected}}


def provider_word(value: object) -> str:
    """A provider's error code, reduced to characters safe to show and audit."""
    text = str(value or "error")[:60]
    return "".join(c for c in text if c.isalnum() or c in "_-.:") or "error"
