"""Model providers: the protocol, OpenAI-compatible HTTP upstreams, local models, routing."""

from sekisho.providers.base import (
    ChatResult,
    Provider,
    StreamInterrupted,
    UpstreamConnectError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from sekisho.providers.registry import create_provider, provider_types
from sekisho.providers.router import Attempt, Router

__all__ = [
    "Attempt",
    "ChatResult",
    "Provider",
    "Router",
    "StreamInterrupted",
    "UpstreamConnectError",
    "UpstreamError",
    "UpstreamHTTPError",
    "UpstreamTimeout",
    "create_provider",
    "provider_types",
]
