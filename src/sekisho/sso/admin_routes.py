"""Admin routes for an organisation's identity providers: /admin/v1/idps.

Secrets go in (``secret``: the OIDC client secret, or the SAML SP key pair) and never come out:
answers say only ``has_secret``. Another organisation's IdP answers 404 like a missing one.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

import anyio
from fastapi import APIRouter, Request
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError
from starlette.responses import Response

from sekisho.admin.deps import IdentityManager, IdentityReader, Services, in_thread, org_scope
from sekisho.gateway.errors import GatewayError
from sekisho.sso.oidc_config import OidcConfig
from sekisho.sso.routes import redirect_uri, start_url
from sekisho.sso.saml_config import SamlConfig
from sekisho.sso.saml_keys import sp_secret
from sekisho.sso.store import IdpConfig
from sekisho.sso.web import SsoServices, public_base, sso_services

IdpSlug = Annotated[str, Field(min_length=1, max_length=100, pattern=r"^[a-z0-9](?:[a-z0-9-]*[a-z0-9])?$")]
IdpName = Annotated[str, Field(min_length=1, max_length=200)]
Secret = Annotated[SecretStr, Field(min_length=1, max_length=20000)]


class IdpIn(BaseModel):
    """A new identity provider."""

    model_config = ConfigDict(extra="forbid")

    slug: IdpSlug = Field(description="Names the IdP in sign-in URLs.")
    kind: Literal["oidc", "saml"]
    name: IdpName = Field(description="Shown on the sign-in button.")
    enabled: bool = True
    config: dict[str, Any] = Field(description="Protocol and mapping settings (see docs/sso.md).")
    secret: Secret | None = Field(
        None, description="OIDC client secret, or SAML SP private key + certificate (PEM). Write-only."
    )
    org_id: str | None = Field(None, description="Only for the master key: the organisation.")


class IdpPatch(BaseModel):
    """Changes to an identity provider; ``config`` replaces the stored one whole."""

    model_config = ConfigDict(extra="forbid")

    slug: IdpSlug | None = None
    name: IdpName | None = None
    enabled: bool | None = None
    config: dict[str, Any] | None = None
    secret: Secret | None = None
    clear_secret: bool = Field(False, description="Remove the stored secret (OIDC public client).")


class IdpOut(BaseModel):
    """An identity provider as admins see it (never its secret)."""

    id: str
    org_id: str
    slug: str
    kind: str
    name: str
    enabled: bool
    config: dict[str, Any]
    has_secret: bool
    start_url: str = Field(description="Where the sign-in button points.")
    redirect_uri: str | None = Field(None, description="OIDC: the redirect URI to register at the provider.")
    sp_metadata_url: str | None = Field(None, description="SAML: Sekisho's SP metadata for the IdP.")
    acs_url: str | None = Field(None, description="SAML: the assertion consumer service URL.")


def validate_config(kind: str, config: dict[str, Any]) -> dict[str, Any]:
    """The config checked against its protocol's model; only the keys given are stored."""
    model: type[OidcConfig] | type[SamlConfig] = OidcConfig if kind == "oidc" else SamlConfig
    try:
        parsed = model.model_validate(config)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = ".".join(str(p) for p in first["loc"])
        where = f" at config.{param}" if param else ""
        raise GatewayError(
            400, f"Invalid IdP config{where}: {first['msg']}.", param=f"config.{param}", code="invalid_value"
        ) from None
    return parsed.model_dump(mode="json", exclude_unset=True)


def _secret_for(kind: str, secret: SecretStr | None, name: str) -> str | None:
    """OIDC: the client secret as given. SAML: the SP key pair given, or a new one."""
    value = secret.get_secret_value() if secret is not None else None
    if kind != "saml":
        return value
    try:
        return sp_secret(value, name=name)
    except ValueError as exc:
        raise GatewayError(400, str(exc), param="secret", code="invalid_value") from None


def _out(request: Request, sso: SsoServices, idp: IdpConfig) -> dict[str, Any]:
    base = public_base(request, sso.identity)
    data: dict[str, Any] = {
        "id": idp.id,
        "org_id": idp.org_id,
        "slug": idp.slug,
        "kind": idp.kind,
        "name": idp.name,
        "enabled": idp.enabled,
        "config": idp.config,
        "has_secret": idp.has_secret,
        "start_url": base + start_url(idp),
    }
    if idp.kind == "oidc":
        data["redirect_uri"] = redirect_uri(request, sso)
    else:
        saml_base = f"{base}/auth/v1/sso/{idp.org_slug}/{idp.slug}/saml"
        data["sp_metadata_url"] = f"{saml_base}/metadata"
        data["acs_url"] = f"{saml_base}/acs"
    return data


def idp_admin_router() -> APIRouter:
    """/admin/v1/idps routes."""
    router = APIRouter(prefix="/admin/v1", tags=["admin"])

    @router.get("/idps", response_model=list[IdpOut])
    async def list_idps(
        request: Request, caller: IdentityReader, services: Services, org_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The organisation's identity providers."""
        org = org_scope(caller, org_id, services)
        sso = sso_services(request)
        return [_out(request, sso, i) for i in await in_thread(lambda: sso.idps.list(org))]

    @router.post("/idps", response_model=IdpOut, status_code=201)
    async def create_idp(
        request: Request, body: IdpIn, caller: IdentityManager, services: Services
    ) -> dict[str, Any]:
        """Add an identity provider."""
        org = org_scope(caller, body.org_id, services)
        sso = sso_services(request)
        config = validate_config(body.kind, body.config)
        secret = await anyio.to_thread.run_sync(lambda: _secret_for(body.kind, body.secret, body.name))
        idp = await in_thread(
            lambda: sso.idps.create(
                org,
                slug=body.slug,
                kind=body.kind,
                name=body.name,
                config=config,
                secret=secret,
                enabled=body.enabled,
                actor=caller.actor,
            )
        )
        return _out(request, sso, idp)

    @router.get("/idps/{idp_id}", response_model=IdpOut)
    async def get_idp(
        request: Request, idp_id: str, caller: IdentityReader, services: Services, org_id: str | None = None
    ) -> dict[str, Any]:
        """One identity provider."""
        org = org_scope(caller, org_id, services)
        sso = sso_services(request)
        return _out(request, sso, await in_thread(lambda: sso.idps.get(org, idp_id)))

    @router.patch("/idps/{idp_id}", response_model=IdpOut)
    async def update_idp(
        request: Request,
        idp_id: str,
        body: IdpPatch,
        caller: IdentityManager,
        services: Services,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """Change an identity provider."""
        org = org_scope(caller, org_id, services)
        sso = sso_services(request)
        current = await in_thread(lambda: sso.idps.get(org, idp_id))
        config = validate_config(current.kind, body.config) if body.config is not None else None
        secret = None
        if body.secret is not None:
            secret = await anyio.to_thread.run_sync(
                lambda: _secret_for(current.kind, body.secret, body.name or current.name)
            )
        idp = await in_thread(
            lambda: sso.idps.update(
                org,
                idp_id,
                actor=caller.actor,
                slug=body.slug,
                name=body.name,
                enabled=body.enabled,
                config=config,
                secret=secret,
                clear_secret=body.clear_secret,
            )
        )
        if current.kind == "oidc":
            # A changed issuer or rotated keys take effect at once, not after the cache expires.
            sso.oidc.discovery.forget(str(current.config.get("issuer", "")))
        return _out(request, sso, idp)

    @router.delete("/idps/{idp_id}", status_code=204)
    async def delete_idp(
        request: Request, idp_id: str, caller: IdentityManager, services: Services, org_id: str | None = None
    ) -> Response:
        """Remove an identity provider (its users stay, unlinked from it)."""
        org = org_scope(caller, org_id, services)
        sso = sso_services(request)
        await in_thread(lambda: sso.idps.delete(org, idp_id, actor=caller.actor))
        return Response(status_code=204)

    return router
