"""SCIM on the wire: ``application/scim+json`` responses, request bodies, query parameters."""

from __future__ import annotations

from typing import Any

import orjson
from scim2_models import (
    Error,
    InvalidSyntaxException,
    ListResponse,
    PayloadTooLargeException,
    ResponseParameters,
)
from starlette.requests import Request
from starlette.responses import Response

from sekisho.scim.schema import POLICY

MEDIA_TYPE = "application/scim+json"


def scim_json(payload: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    """A SCIM response body."""
    return Response(orjson.dumps(payload), status_code=status, media_type=MEDIA_TYPE, headers=headers)


def error_response(error: Error, headers: dict[str, str] | None = None) -> Response:
    """A SCIM Error response (its status is the HTTP status)."""
    return scim_json(error.model_dump(), int(error.status or 500), headers)


async def read_json(request: Request, limit: int) -> Any:
    """The request's JSON body; PayloadTooLargeException past ``limit`` bytes (read no further)."""
    declared = request.headers.get("content-length")
    if declared and declared.isdigit() and int(declared) > limit:
        raise PayloadTooLargeException(detail=f"The request body is larger than {limit} bytes.")
    body = bytearray()
    async for chunk in request.stream():
        body += chunk
        if len(body) > limit:
            raise PayloadTooLargeException(detail=f"The request body is larger than {limit} bytes.")
    try:
        return orjson.loads(body)
    except orjson.JSONDecodeError:
        raise InvalidSyntaxException(detail="The request body is not valid JSON.") from None


def listing(items: list[dict[str, Any]]) -> Response:
    """A ListResponse holding every item (the discovery endpoints are short)."""
    response = {
        "schemas": [str(ListResponse.__schema__)],
        "totalResults": len(items),
        "startIndex": 1,
        "itemsPerPage": len(items),
        "Resources": items,
    }
    return scim_json(response)


def response_parameters(model: Any, request: Request) -> ResponseParameters[Any] | None:
    """The ``attributes`` / ``excludedAttributes`` query parameters, if any."""
    query = request.query_params
    params = {k: query[k] for k in ("attributes", "excludedAttributes") if k in query}
    if not params:
        return None
    parsed: ResponseParameters[Any] = ResponseParameters[model].model_validate(params, scim_policy=POLICY)
    return parsed


def entity_tags(header: str | None) -> set[str]:
    """The entity tags an ``If-Match`` / ``If-None-Match`` header lists."""
    return {tag.strip() for tag in header.split(",")} if header else set()
