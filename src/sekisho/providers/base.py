"""The Provider protocol and the errors every provider raises."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass
from typing import Any, Protocol, runtime_checkable

import orjson

from sekisho.settings import ModelSettings, ProviderSettings


class UpstreamError(Exception):
    """An upstream attempt failed before anything reached the client.

    ``retryable`` errors (429, 5xx, connection failures) are retried and then handed to fallbacks;
    a timeout goes to fallbacks without a retry; anything else is the client's problem and is final.
    """

    retryable = False
    fallback = False

    def __init__(
        self,
        message: str,
        *,
        status: int | None = None,
        body: bytes | None = None,
        retry_after: float | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.body = body
        self.retry_after = retry_after


class UpstreamHTTPError(UpstreamError):
    """The upstream answered with an error status."""

    def __init__(self, status: int, body: bytes, retry_after: float | None = None) -> None:
        super().__init__(
            f"upstream answered HTTP {status}", status=status, body=body, retry_after=retry_after
        )
        self.retryable = status == 429 or status >= 500
        self.fallback = self.retryable


def client_error(
    message: str, param: str | None = None, code: str | None = "unsupported"
) -> UpstreamHTTPError:
    """A 400 a local provider raises, in OpenAI's error body, for a request it cannot serve."""
    body = {"error": {"message": message, "type": "invalid_request_error", "param": param, "code": code}}
    return UpstreamHTTPError(400, orjson.dumps(body))


class UpstreamConnectError(UpstreamError):
    """The upstream could not be reached."""

    retryable = True
    fallback = True


class UpstreamTimeout(UpstreamError):
    """The upstream did not answer within the model's timeout."""

    fallback = True


class StreamInterrupted(Exception):
    """A stream broke after it had started; the client gets an error event, never a clean end."""


@dataclass(frozen=True, slots=True)
class ChatResult:
    """A complete (non-streamed) answer: the raw JSON bytes to relay and the parsed object."""

    raw: bytes
    data: dict[str, Any]


@runtime_checkable
class Provider(Protocol):
    """Something that serves models. Built-ins register through the ``sekisho.providers`` entry points."""

    settings: ProviderSettings

    async def chat(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        """One chat completion, not streamed."""
        ...

    def chat_stream(self, model: ModelSettings, body: dict[str, Any]) -> AsyncIterator[bytes]:
        """Stream the ``data:`` payloads of a chat completion (JSON bytes, without ``[DONE]``).

        Raises UpstreamError before the first payload, StreamInterrupted after it.
        """
        ...

    async def embeddings(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        """Embeddings for ``body['input']``."""
        ...

    async def ready(self) -> bool:
        """Whether the provider can serve now (for /readyz)."""
        ...

    async def aclose(self) -> None:
        """Release connections, threads and models."""
        ...
