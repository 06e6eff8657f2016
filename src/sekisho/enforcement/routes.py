"""The requester's side under /v1: own enforcement status, appeals. Plain Starlette routes that answer
every error in OpenAI's format, like the rest of /v1.

These are the only routes a suspended key may use: it can read why it was suspended and appeal.
"""

from __future__ import annotations

import secrets
from collections.abc import Awaitable, Callable
from typing import Any

import orjson
from pydantic import BaseModel, ConfigDict, Field
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Route

from sekisho.enforcement.http import auth_failure, off_loop
from sekisho.enforcement.service import Enforcement
from sekisho.gateway.errors import GatewayError, forbidden
from sekisho.gateway.pipeline import parse_json_body
from sekisho.gateway.routes import body_reader
from sekisho.gateway.schemas import validate
from sekisho.identity.authenticate import AuthError, KeyAuthenticator
from sekisho.identity.principal import Principal

Handler = Callable[[Request, Principal], Awaitable[tuple[int, dict[str, Any]]]]


class AppealIn(BaseModel):
    """The body of POST /v1/appeals."""

    model_config = ConfigDict(extra="forbid")
    action_id: str = Field(min_length=1, max_length=40)
    text: str = Field(min_length=1, max_length=5000)


def enforcement_routes(
    enforcement: Enforcement,
    authenticator: KeyAuthenticator,
    *,
    max_body_bytes: int = 64 * 1024,
    network_check: Callable[[Principal], Awaitable[None]] | None = None,
) -> list[Route]:
    """``GET /v1/enforcement``, ``POST /v1/appeals``, ``GET /v1/appeals/{appeal_id}``.

    ``network_check`` applies the organisation's IP allow-lists, as on every other /v1 route.
    """

    def endpoint(handler: Handler) -> Callable[[Request], Awaitable[Response]]:
        async def run(request: Request) -> Response:
            headers = {"x-request-id": f"req_{secrets.token_hex(12)}"}
            try:
                try:
                    principal = await authenticator.authenticate(
                        request.headers.get("authorization"), allow_suspended=True
                    )
                except AuthError as exc:
                    raise auth_failure(exc) from None
                if network_check is not None:
                    await network_check(principal)
                if principal.key_id is None:
                    raise forbidden("Enforcement applies to API keys; call with one.", code="key_required")
                status, answer = await handler(request, principal)
            except GatewayError as exc:
                response = exc.response()
                response.headers.update(headers)
                return response
            return Response(
                orjson.dumps(answer), status_code=status, media_type="application/json", headers=headers
            )

        return run

    async def status(_request: Request, principal: Principal) -> tuple[int, dict[str, Any]]:
        def read() -> dict[str, Any]:
            return {
                "key_id": principal.key_id,
                "suspended": principal.suspended,
                "suspended_reason": principal.suspended_reason,
                "review_all": principal.review_all,
                "models": sorted(principal.models) if principal.models is not None else None,
                "violations": {
                    "count": enforcement.violation_count(principal),
                    "window_days": enforcement.settings.window_days,
                },
                "actions": [a.as_dict() for a in enforcement.actions_for(principal)],
                "appeals": [a.as_dict() for a in enforcement.appeals_of(principal)],
            }

        return 200, await off_loop(read)

    async def create(request: Request, principal: Principal) -> tuple[int, dict[str, Any]]:
        body = validate(AppealIn, parse_json_body(await body_reader(request, max_body_bytes)()))
        appeal = await off_loop(lambda: enforcement.create_appeal(principal, body.action_id, body.text))
        return 201, appeal.as_dict()

    async def read_appeal(request: Request, principal: Principal) -> tuple[int, dict[str, Any]]:
        appeal_id = str(request.path_params["appeal_id"])
        return 200, (await off_loop(lambda: enforcement.appeal_for(appeal_id, principal))).as_dict()

    return [
        Route("/v1/enforcement", endpoint(status), methods=["GET"]),
        Route("/v1/appeals", endpoint(create), methods=["POST"]),
        Route("/v1/appeals/{appeal_id}", endpoint(read_appeal), methods=["GET"]),
    ]
