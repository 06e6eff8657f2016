"""Admin routes for SCIM tokens: /admin/v1/scim/tokens.

Creating and revoking a token takes ``identity:manage`` (owners and admins), listing them
``identity:read``. A token's secret is shown once, in the answer to its creation; afterwards only
its prefix. Another organisation's token answers 404. Every change is audited.
"""

from __future__ import annotations

from datetime import datetime
from typing import Annotated, Any

from fastapi import APIRouter, Depends, Request
from pydantic import BaseModel, ConfigDict, Field

from sekisho.admin.deps import IdentityManager, IdentityReader, Services, in_thread, org_scope
from sekisho.scim.http import PREFIX, Scim
from sekisho.scim.tokens import ScimToken


def scim_of(request: Request) -> Scim:
    scim: Scim = request.app.state.scim
    return scim


ScimServices = Annotated[Scim, Depends(scim_of)]


class ScimTokenIn(BaseModel):
    """A new SCIM token."""

    model_config = ConfigDict(extra="forbid")

    name: str = Field(min_length=1, max_length=200, description="What the token is for, e.g. 'Okta'.")
    org_id: str | None = Field(None, description="The organisation (the master key only; default: yours).")


class ScimTokenOut(BaseModel):
    """A SCIM token as listed (never its secret)."""

    id: str
    org_id: str
    name: str
    prefix: str
    created_at: datetime
    created_by: str
    last_used_at: datetime | None
    revoked_at: datetime | None


class CreatedScimTokenOut(ScimTokenOut):
    """A token just created: the only time its secret is shown."""

    token: str = Field(
        description="The bearer token for the identity provider. Store it now: it is not shown again."
    )
    scim_base_url: str = Field(description="The SCIM base URL to configure in the identity provider.")


def _out(token: ScimToken) -> dict[str, Any]:
    return {
        "id": token.id,
        "org_id": token.org_id,
        "name": token.name,
        "prefix": token.prefix,
        "created_at": token.created_at,
        "created_by": token.created_by,
        "last_used_at": token.last_used_at,
        "revoked_at": token.revoked_at,
    }


def scim_token_router() -> APIRouter:
    """The SCIM token admin routes."""
    router = APIRouter(prefix="/admin/v1/scim", tags=["scim"])

    @router.get("/tokens", response_model=list[ScimTokenOut])
    async def list_tokens(
        caller: IdentityReader, services: Services, scim: ScimServices, org_id: str | None = None
    ) -> list[dict[str, Any]]:
        """The organisation's SCIM tokens, newest first (revoked ones included)."""
        org = org_scope(caller, org_id, services)
        return [_out(t) for t in await in_thread(lambda: scim.tokens.list(org))]

    @router.post("/tokens", response_model=CreatedScimTokenOut, status_code=201)
    async def create_token(
        body: ScimTokenIn, request: Request, caller: IdentityManager, services: Services, scim: ScimServices
    ) -> dict[str, Any]:
        """Create a token for an identity provider to provision users and groups with."""
        org = org_scope(caller, body.org_id, services)
        token, secret = await in_thread(lambda: scim.tokens.create(org, body.name, actor=caller.actor))
        base = (scim.public_url or str(request.base_url)).rstrip("/") + PREFIX
        return {**_out(token), "token": secret, "scim_base_url": base}

    @router.get("/tokens/{token_id}", response_model=ScimTokenOut)
    async def get_token(
        token_id: str,
        caller: IdentityReader,
        services: Services,
        scim: ScimServices,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """One SCIM token."""
        org = org_scope(caller, org_id, services)
        return _out(await in_thread(lambda: scim.tokens.get(token_id, org)))

    @router.delete("/tokens/{token_id}", response_model=ScimTokenOut)
    async def revoke_token(
        token_id: str,
        caller: IdentityManager,
        services: Services,
        scim: ScimServices,
        org_id: str | None = None,
    ) -> dict[str, Any]:
        """Revoke a token: the identity provider's next request with it is refused."""
        org = org_scope(caller, org_id, services)
        return _out(await in_thread(lambda: scim.tokens.revoke(token_id, org, actor=caller.actor)))

    return router
