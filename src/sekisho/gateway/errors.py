"""Errors in OpenAI's wire format: ``{"error": {"message", "type", "param", "code"}}``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import orjson
from starlette.responses import Response


class GatewayError(Exception):
    """A request that ends with an OpenAI-format error response."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        type: str = "invalid_request_error",
        code: str | None = None,
        param: str | None = None,
        headers: Mapping[str, str] | None = None,
        extra: Mapping[str, Any] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.message = message
        self.type = type
        self.code = code
        self.param = param
        self.headers = dict(headers or {})
        # Fields beyond OpenAI's four (e.g. ``review_id``): clients that do not know them ignore them.
        self.extra = dict(extra or {})

    def payload(self) -> dict[str, dict[str, Any]]:
        """The JSON body."""
        return {
            "error": {
                "message": self.message,
                "type": self.type,
                "param": self.param,
                "code": self.code,
                **self.extra,
            }
        }

    def response(self) -> Response:
        """The HTTP response."""
        return Response(
            orjson.dumps(self.payload()),
            status_code=self.status,
            media_type="application/json",
            headers=self.headers,
        )


def bad_request(
    message: str, *, param: str | None = None, code: str | None = "invalid_request"
) -> GatewayError:
    """400 for a body that does not make sense."""
    return GatewayError(400, message, param=param, code=code)


def unauthorized(message: str, code: str = "invalid_api_key") -> GatewayError:
    """401: missing, wrong, expired or revoked credentials."""
    return GatewayError(401, message, type="invalid_request_error", code=code)


def forbidden(message: str, code: str = "model_not_allowed", param: str | None = None) -> GatewayError:
    """403: authenticated, but not allowed to do this."""
    return GatewayError(403, message, type="permission_error", code=code, param=param)


def not_found(message: str, code: str = "model_not_found", param: str | None = None) -> GatewayError:
    """404: the model (or object) does not exist."""
    return GatewayError(404, message, type="invalid_request_error", code=code, param=param)


class PassthroughError(GatewayError):
    """An upstream client error (4xx other than 429) returned as the upstream sent it."""

    def __init__(self, status: int, body: bytes) -> None:
        message = "upstream rejected the request"
        try:
            parsed = orjson.loads(body)
            message = str(parsed.get("error", {}).get("message") or message)
        except (orjson.JSONDecodeError, AttributeError):
            parsed = None
        super().__init__(status, message, type="invalid_request_error", code="upstream_rejected")
        self._body = body if isinstance(parsed, dict) and isinstance(parsed.get("error"), dict) else None

    def response(self) -> Response:
        if self._body is None:
            return super().response()
        return Response(self._body, status_code=self.status, media_type="application/json")
