"""The SCIM 2.0 HTTP API at /scim/v2 (RFC 7644).

Every request carries an organisation's SCIM token and reaches only that organisation's users and
groups: another organisation's resources answer 404, as unknown ones do. Every answer, errors
included, is ``application/scim+json`` in the shapes of RFC 7644 (errors in the Error schema with
their ``scimType``), whatever FastAPI's own error handlers would have said.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any, Protocol

import anyio
from fastapi import APIRouter
from pydantic import ValidationError
from scim2_models import (
    Context,
    Error,
    InvalidSyntaxException,
    Meta,
    NotFoundException,
    PatchOp,
    Resource,
    ResponseParameters,
    SCIMException,
    SearchRequest,
)
from sqlalchemy import ColumnElement
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match

from sekisho.scim.groups import ScimGroups
from sekisho.scim.query import (
    bounds,
    group_narrowing,
    list_response,
    mentions,
    page,
    search_request,
    user_narrowing,
)
from sekisho.scim.schema import POLICY, Group, ScimUser, build_provider, with_meta
from sekisho.scim.settings import ScimSettings
from sekisho.scim.tokens import ScimCaller, ScimTokenStore
from sekisho.scim.users import ScimUsers
from sekisho.scim.wire import entity_tags, error_response, listing, read_json, response_parameters, scim_json

log = logging.getLogger("sekisho.scim")

PREFIX = "/scim/v2"


@dataclass(frozen=True, slots=True)
class Scim:
    """Everything the SCIM API works with, made by ``build_app``."""

    tokens: ScimTokenStore
    users: ScimUsers
    groups: ScimGroups
    settings: ScimSettings
    public_url: str | None = None


class _Store(Protocol):
    def get(self, caller: ScimCaller, resource_id: str, base_url: str, /) -> Resource[Any]: ...

    def search(
        self,
        caller: ScimCaller,
        narrowing: ColumnElement[bool] | None,
        base_url: str,
        /,
        *,
        with_memberships: bool = True,
    ) -> list[Resource[Any]]: ...

    def window(
        self, caller: ScimCaller, offset: int, limit: int, base_url: str, /, *, with_memberships: bool = True
    ) -> tuple[int, list[Resource[Any]]]: ...

    def create(self, caller: ScimCaller, resource: Resource[Any], base_url: str, /) -> Resource[Any]: ...

    def replace(
        self,
        caller: ScimCaller,
        resource_id: str,
        resource: Resource[Any],
        base_url: str,
        /,
        *,
        if_match: str | None,
    ) -> Resource[Any]: ...

    def patch(
        self,
        caller: ScimCaller,
        resource_id: str,
        operations: PatchOp[Any],
        base_url: str,
        /,
        *,
        if_match: str | None,
    ) -> Resource[Any]: ...

    def delete(
        self, caller: ScimCaller, resource_id: str, base_url: str, /, *, if_match: str | None
    ) -> None: ...


@dataclass(frozen=True, slots=True)
class _Kind:
    """One resource type's endpoint: its model, storage, SQL narrowing and costly attribute."""

    endpoint: str
    model: Any
    store: _Store
    narrowing: Callable[[SearchRequest[Any]], ColumnElement[bool] | None]
    memberships: str


def scim_router(scim: Scim) -> APIRouter:
    """The /scim/v2 routes."""
    return _Api(scim).router()


class _Api:
    def __init__(self, scim: Scim) -> None:
        self._scim = scim
        self._provider = build_provider(scim.settings)
        self._users = _Kind("Users", ScimUser, scim.users, user_narrowing, "groups")
        self._groups = _Kind("Groups", Group, scim.groups, group_narrowing, "members")
        self._routes: list[BaseRoute] = []

    def router(self) -> APIRouter:
        router = APIRouter(prefix=PREFIX, tags=["scim"])
        add = router.add_api_route
        add("/ServiceProviderConfig", self.service_provider_config, methods=["GET"])
        add("/Schemas", self.schemas, methods=["GET"])
        add("/Schemas/{schema_id}", self.schema, methods=["GET"])
        add("/ResourceTypes", self.resource_types, methods=["GET"])
        add("/ResourceTypes/{type_id}", self.resource_type, methods=["GET"])
        add("/.search", self.search_everything, methods=["POST"])
        for kind in (self._users, self._groups):
            self._resource_routes(router, kind)
        self._routes = list(router.routes)
        # The catch-all answers 404/405 in SCIM form; it is not an operation worth documenting.
        add(
            "/{path:path}",
            self.unknown,
            methods=["GET", "POST", "PUT", "PATCH", "DELETE"],
            include_in_schema=False,
        )
        return router

    def _resource_routes(self, router: APIRouter, kind: _Kind) -> None:
        name = kind.endpoint

        async def listing(request: Request) -> Response:
            params = dict(request.query_params)
            return await self._call(
                request,
                lambda caller, _body, base: self._query(
                    caller, kind, params, base, None, Context.RESOURCE_QUERY_RESPONSE
                ),
            )

        async def searching(request: Request) -> Response:
            return await self._call(
                request,
                lambda caller, body, base: self._query(
                    caller, kind, body, base, Context.SEARCH_REQUEST, Context.SEARCH_RESPONSE
                ),
                with_body=True,
            )

        async def create(request: Request) -> Response:
            def work(caller: ScimCaller, body: Any, base: str) -> Response:
                params = response_parameters(kind.model, request)
                resource = kind.model.model_validate(
                    body, scim_ctx=Context.RESOURCE_CREATION_REQUEST, scim_policy=POLICY
                )
                created = kind.store.create(caller, resource, base)
                location = created.meta.location if created.meta else None
                return _resource(created, params, Context.RESOURCE_CREATION_RESPONSE, 201, location=location)

            return await self._call(request, work, with_body=True)

        async def get(request: Request, resource_id: str) -> Response:
            def work(caller: ScimCaller, _body: Any, base: str) -> Response:
                params = response_parameters(kind.model, request)
                resource = kind.store.get(caller, resource_id, base)
                version = resource.meta.version if resource.meta else None
                if version and version in entity_tags(request.headers.get("if-none-match")):
                    return Response(status_code=304, headers={"ETag": version})
                return _resource(resource, params, Context.RESOURCE_QUERY_RESPONSE)

            return await self._call(request, work)

        async def replace(request: Request, resource_id: str) -> Response:
            def work(caller: ScimCaller, body: Any, base: str) -> Response:
                params = response_parameters(kind.model, request)
                resource = kind.model.model_validate(
                    body, scim_ctx=Context.RESOURCE_REPLACEMENT_REQUEST, scim_policy=POLICY
                )
                replaced = kind.store.replace(
                    caller, resource_id, resource, base, if_match=request.headers.get("if-match")
                )
                return _resource(replaced, params, Context.RESOURCE_REPLACEMENT_RESPONSE)

            return await self._call(request, work, with_body=True)

        async def patch(request: Request, resource_id: str) -> Response:
            def work(caller: ScimCaller, body: Any, base: str) -> Response:
                params = response_parameters(kind.model, request)
                operations = PatchOp[kind.model].model_validate(  # type: ignore[name-defined]
                    body, scim_ctx=Context.RESOURCE_PATCH_REQUEST, scim_policy=POLICY
                )
                patched = kind.store.patch(
                    caller, resource_id, operations, base, if_match=request.headers.get("if-match")
                )
                return _resource(patched, params, Context.RESOURCE_PATCH_RESPONSE)

            return await self._call(request, work, with_body=True)

        async def remove(request: Request, resource_id: str) -> Response:
            def work(caller: ScimCaller, _body: Any, base: str) -> Response:
                kind.store.delete(caller, resource_id, base, if_match=request.headers.get("if-match"))
                return Response(status_code=204)

            return await self._call(request, work)

        router.add_api_route(f"/{name}", listing, methods=["GET"], name=f"scim_list_{name.lower()}")
        router.add_api_route(f"/{name}", create, methods=["POST"], name=f"scim_create_{name.lower()}")
        router.add_api_route(
            f"/{name}/.search", searching, methods=["POST"], name=f"scim_search_{name.lower()}"
        )
        for handler, method in ((get, "GET"), (replace, "PUT"), (patch, "PATCH"), (remove, "DELETE")):
            router.add_api_route(
                f"/{name}/{{resource_id}}",
                handler,
                methods=[method],
                name=f"scim_{method.lower()}_{name.lower()[:-1]}",
            )

    # Discovery ---------------------------------------------------------------------------------
    async def service_provider_config(self, request: Request) -> Response:
        def work(_caller: ScimCaller, _body: Any, base: str) -> Response:
            config = self._provider.config
            if config is None:  # pragma: no cover - build_provider always sets it
                raise NotFoundException()
            served = config.model_copy(
                update={
                    "meta": Meta(
                        resource_type="ServiceProviderConfig", location=f"{base}/ServiceProviderConfig"
                    )
                }
            )
            return scim_json(served.model_dump(scim_ctx=Context.RESOURCE_QUERY_RESPONSE))

        return await self._call(request, work)

    async def schemas(self, request: Request) -> Response:
        return await self._call(
            request, lambda _c, _b, base: listing([with_meta(s, base) for s in self._provider.schemas])
        )

    async def schema(self, request: Request, schema_id: str) -> Response:
        def work(_caller: ScimCaller, _body: Any, base: str) -> Response:
            for schema in self._provider.schemas:
                if str(schema.id).casefold() == schema_id.casefold():
                    return scim_json(with_meta(schema, base))
            raise NotFoundException(detail=f"Schema {schema_id!r} not found.")

        return await self._call(request, work)

    async def resource_types(self, request: Request) -> Response:
        return await self._call(
            request,
            lambda _c, _b, base: listing([with_meta(t, base) for t in self._provider.resource_types]),
        )

    async def resource_type(self, request: Request, type_id: str) -> Response:
        def work(_caller: ScimCaller, _body: Any, base: str) -> Response:
            for resource_type in self._provider.resource_types:
                if str(resource_type.id).casefold() == type_id.casefold():
                    return scim_json(with_meta(resource_type, base))
            raise NotFoundException(detail=f"ResourceType {type_id!r} not found.")

        return await self._call(request, work)

    async def unknown(self, request: Request, path: str) -> Response:
        """404 for an unknown endpoint, 405 for a known one asked with another method."""

        def work(_caller: ScimCaller, _body: Any, _base: str) -> Response:
            allowed = sorted(
                {
                    method
                    for route in self._routes
                    for method in getattr(route, "methods", None) or ()
                    if route.matches({**request.scope, "method": method})[0] == Match.FULL
                }
            )
            if allowed:
                error = Error(status=405, detail=f"{request.method} is not supported here.")
                return error_response(error, headers={"Allow": ", ".join(allowed)})
            raise NotFoundException(detail=f"No SCIM endpoint at /{path}.")

        return await self._call(request, work)

    # Queries -----------------------------------------------------------------------------------
    def _query(
        self, caller: ScimCaller, kind: _Kind, params: Any, base: str, request_ctx: Any, response_ctx: Context
    ) -> Response:
        if not isinstance(params, dict):
            raise InvalidSyntaxException(detail="A search request is a JSON object.")
        search = search_request(kind.model, params, scim_ctx=request_ctx)
        needed = mentions(search, kind.memberships)
        if search.filter is None and search.sort_by is None:
            start, count = bounds(search, self._scim.settings)
            total, chosen = kind.store.window(caller, start - 1, count, base, with_memberships=needed)
            listed = list_response(kind.model, total, start, chosen)
        else:
            found = kind.store.search(caller, kind.narrowing(search), base, with_memberships=needed)
            listed = page(kind.model, found, search, self._scim.settings)
        return scim_json(
            listed.model_dump(scim_ctx=response_ctx, response_parameters=search, scim_policy=POLICY)
        )

    async def search_everything(self, request: Request) -> Response:
        """POST /.search: users and groups together (RFC 7644 §3.4.3)."""

        def work(caller: ScimCaller, body: Any, base: str) -> Response:
            if not isinstance(body, dict):
                raise InvalidSyntaxException(detail="A search request is a JSON object.")
            model = ScimUser | Group
            search = search_request(model, body, scim_ctx=Context.SEARCH_REQUEST)
            found = [
                *self._scim.users.search(caller, None, base, with_memberships=mentions(search, "groups")),
                *self._scim.groups.search(caller, None, base, with_memberships=mentions(search, "members")),
            ]
            listed = page(model, found, search, self._scim.settings)
            return scim_json(
                listed.model_dump(
                    scim_ctx=Context.SEARCH_RESPONSE, response_parameters=search, scim_policy=POLICY
                )
            )

        return await self._call(request, work, with_body=True)

    # Plumbing ----------------------------------------------------------------------------------
    async def _call(
        self,
        request: Request,
        work: Callable[[ScimCaller, Any, str], Response],
        *,
        with_body: bool = False,
    ) -> Response:
        try:
            caller = await anyio.to_thread.run_sync(
                self._scim.tokens.authenticate, request.headers.get("authorization")
            )
            if caller is None:
                return error_response(
                    Error(status=401, detail="A valid SCIM bearer token is required."),
                    headers={"WWW-Authenticate": 'Bearer realm="SCIM"'},
                )
            body = await read_json(request, self._scim.settings.max_body_bytes) if with_body else None
            base = (self._scim.public_url or str(request.base_url)).rstrip("/") + PREFIX
            return await anyio.to_thread.run_sync(work, caller, body, base)
        except SCIMException as exc:
            return error_response(exc.to_error())
        except ValidationError as exc:
            return error_response(Error.from_validation_error(exc.errors()[0]))
        except Exception:
            log.exception("SCIM request failed: %s %s", request.method, request.url.path)
            return error_response(Error(status=500, detail="Internal error."))


def _resource(
    resource: Resource[Any],
    params: ResponseParameters[Any] | None,
    ctx: Context,
    status: int = 200,
    *,
    location: str | None = None,
) -> Response:
    """One resource as served, with its ETag (and Location, for a creation)."""
    headers = {}
    if resource.meta and resource.meta.version:
        headers["ETag"] = resource.meta.version
    if location:
        headers["Location"] = location
    return scim_json(
        resource.model_dump(scim_ctx=ctx, response_parameters=params, scim_policy=POLICY), status, headers
    )
