"""How upstream failures look to the client."""

from __future__ import annotations

from sekisho.gateway.errors import GatewayError, PassthroughError
from sekisho.providers import UpstreamConnectError, UpstreamError, UpstreamHTTPError, UpstreamTimeout

# Client mistakes an upstream reports are the client's to fix, so they pass through. An upstream
# 401/403/404 means Sekisho's own configuration is wrong (key, deployment), not the caller's key.
_PASSED_THROUGH = frozenset({400, 413, 415, 422})


def upstream_error(exc: UpstreamError) -> GatewayError:
    """The client-facing error for an upstream failure that retries and fallbacks did not fix."""
    if isinstance(exc, UpstreamTimeout):
        return GatewayError(
            504, f"The upstream model timed out: {exc}", type="api_error", code="upstream_timeout"
        )
    if isinstance(exc, UpstreamConnectError):
        return GatewayError(
            503, f"The upstream model is unavailable: {exc}", type="api_error", code="upstream_unavailable"
        )
    status = exc.status or 502
    if isinstance(exc, UpstreamHTTPError) and status in _PASSED_THROUGH:
        return PassthroughError(status, exc.body or b"")
    if status == 429:
        retry = exc.retry_after
        headers = {"retry-after": str(max(1, round(retry)))} if retry is not None else None
        return GatewayError(
            429,
            "The upstream provider is rate limiting requests; try again shortly.",
            type="rate_limit_error",
            code="upstream_rate_limited",
            headers=headers,
        )
    if status >= 500:
        return GatewayError(
            502, f"The upstream model failed (HTTP {status}).", type="api_error", code="upstream_error"
        )
    return GatewayError(
        502,
        f"The upstream refused Sekisho's request (HTTP {status}); check the provider configuration.",
        type="api_error",
        code="upstream_rejected",
    )
