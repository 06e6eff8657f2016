"""OpenAI-compatible HTTP upstreams: OpenAI, vLLM, Ollama, llama.cpp server, and Azure OpenAI.

The upstream call is the largest cost Sekisho adds to a request, so it uses aiohttp, whose
C-accelerated HTTP parser and lean client path cost a fraction of a pure-Python client per call.
"""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import aiohttp
import orjson

from sekisho.providers.base import (
    ChatResult,
    StreamInterrupted,
    UpstreamConnectError,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from sekisho.providers.sse import DONE, data_payloads
from sekisho.settings import ConfigError, ModelSettings, ProviderSettings

# A non-null finish_reason means the answer is complete even if the upstream omits [DONE].
_FINISHED = re.compile(rb'"finish_reason"\s*:\s*"')
_CONNECT_TIMEOUT = 10.0


class OpenAIProvider:
    """Any server that speaks OpenAI's HTTP API, over one pooled keep-alive session."""

    def __init__(self, settings: ProviderSettings) -> None:
        if not settings.base_url:
            raise ConfigError(f"provider {settings.name!r} needs base_url")
        self.settings = settings
        self._base = settings.base_url.rstrip("/")
        self._headers = {"content-type": "application/json", **settings.headers}
        self._headers.update(self._auth_headers(settings.resolved_api_key()))
        self._session: aiohttp.ClientSession | None = None

    def _client(self) -> aiohttp.ClientSession:
        # Created on first use: an aiohttp session belongs to the event loop that made it.
        if self._session is None or self._session.closed:
            self._session = aiohttp.ClientSession(
                connector=aiohttp.TCPConnector(limit=self.settings.max_connections, ttl_dns_cache=300),
                headers=self._headers,
                timeout=aiohttp.ClientTimeout(total=None, sock_connect=_CONNECT_TIMEOUT),
                auto_decompress=True,
            )
        return self._session

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def _url(self, model: ModelSettings, endpoint: str) -> str:
        return f"{self._base}/{endpoint}"

    def _params(self) -> dict[str, str]:
        return {}

    def _body(self, model: ModelSettings, body: dict[str, Any]) -> bytes:
        return orjson.dumps({**body, "model": model.target})

    async def chat(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        return await self._post_json(model, "chat/completions", body)

    async def embeddings(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        return await self._post_json(model, "embeddings", body)

    async def _post_json(self, model: ModelSettings, endpoint: str, body: dict[str, Any]) -> ChatResult:
        try:
            async with asyncio.timeout(model.timeout_seconds):
                async with self._client().post(
                    self._url(model, endpoint), data=self._body(model, body), params=self._params()
                ) as response:
                    content = await response.read()
                    status = response.status
                    retry_after = _retry_after(response)
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"{self.settings.name} did not answer within {model.timeout_seconds:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError(f"{self.settings.name} unreachable: {type(exc).__name__}") from exc
        if status != 200:
            raise UpstreamHTTPError(status, content, retry_after)
        try:
            data = orjson.loads(content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamHTTPError(502, b"", None) from exc
        if not isinstance(data, dict):
            raise UpstreamHTTPError(502, b"", None)
        return ChatResult(content, data)

    async def chat_stream(self, model: ModelSettings, body: dict[str, Any]) -> AsyncIterator[bytes]:
        try:
            async with asyncio.timeout(model.timeout_seconds):
                response = await self._client().post(
                    self._url(model, "chat/completions"),
                    data=self._body(model, body),
                    params=self._params(),
                    # Between chunks the model's timeout bounds each read, not the whole answer.
                    timeout=aiohttp.ClientTimeout(
                        total=None, sock_connect=_CONNECT_TIMEOUT, sock_read=model.timeout_seconds
                    ),
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"{self.settings.name} did not answer within {model.timeout_seconds:g} s"
            ) from exc
        except aiohttp.ClientError as exc:
            raise UpstreamConnectError(f"{self.settings.name} unreachable: {type(exc).__name__}") from exc
        try:
            if response.status != 200:
                content = await response.read()
                raise UpstreamHTTPError(response.status, content, _retry_after(response))
            finished = False
            started = False
            try:
                async for payload in data_payloads(response.content.iter_any()):
                    if payload == DONE:
                        return
                    if not finished and _FINISHED.search(payload):
                        finished = True
                    started = True
                    yield payload
            except (aiohttp.ClientError, TimeoutError) as exc:
                if not started:
                    raise UpstreamConnectError(f"{self.settings.name} dropped the stream") from exc
                raise StreamInterrupted(
                    f"{self.settings.name} dropped the stream: {type(exc).__name__}"
                ) from exc
            if not finished:
                if not started:
                    raise UpstreamHTTPError(502, b"", None)
                raise StreamInterrupted(
                    f"{self.settings.name} ended the stream before the answer was complete"
                )
        finally:
            response.release()

    async def ready(self) -> bool:
        try:
            async with self._client().get(
                self._url_models(), params=self._params(), timeout=aiohttp.ClientTimeout(total=2.0)
            ) as response:
                return response.status < 500
        except (aiohttp.ClientError, TimeoutError):
            return False

    def _url_models(self) -> str:
        return f"{self._base}/models"

    async def aclose(self) -> None:
        if self._session is not None:
            await self._session.close()


class AzureOpenAIProvider(OpenAIProvider):
    """Azure OpenAI: deployments in the path, ``api-version`` in the query, ``api-key`` header.

    ``base_url`` is the resource endpoint, e.g. ``https://NAME.openai.azure.com``; a model's
    ``upstream_model`` is the deployment name.
    """

    def __init__(self, settings: ProviderSettings) -> None:
        if not settings.api_version:
            raise ConfigError(f"azure provider {settings.name!r} needs api_version")
        super().__init__(settings)

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"api-key": api_key} if api_key else {}

    def _url(self, model: ModelSettings, endpoint: str) -> str:
        return f"{self._base}/openai/deployments/{model.target}/{endpoint}"

    def _params(self) -> dict[str, str]:
        return {"api-version": self.settings.api_version or ""}

    def _body(self, model: ModelSettings, body: dict[str, Any]) -> bytes:
        # The deployment in the path chooses the model; Azure ignores or rejects a `model` field.
        return orjson.dumps({k: v for k, v in body.items() if k != "model"})

    def _url_models(self) -> str:
        return f"{self._base}/openai/models"


def _retry_after(response: aiohttp.ClientResponse) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


__all__ = ["AzureOpenAIProvider", "OpenAIProvider"]
