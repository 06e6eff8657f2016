"""OpenAI-compatible HTTP upstreams: OpenAI, vLLM, Ollama, llama.cpp server, and Azure OpenAI."""

from __future__ import annotations

import asyncio
import re
from collections.abc import AsyncIterator
from typing import Any

import httpx
import orjson

from sekisho.providers.base import (
    ChatResult,
    StreamInterrupted,
    UpstreamConnectError,
    UpstreamError,
    UpstreamHTTPError,
    UpstreamTimeout,
)
from sekisho.providers.sse import DONE, data_payloads
from sekisho.settings import ConfigError, ModelSettings, ProviderSettings

# A non-null finish_reason means the answer is complete even if the upstream omits [DONE].
_FINISHED = re.compile(rb'"finish_reason"\s*:\s*"')


class OpenAIProvider:
    """Any server that speaks OpenAI's HTTP API, over one pooled keep-alive client."""

    def __init__(
        self, settings: ProviderSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.base_url:
            raise ConfigError(f"provider {settings.name!r} needs base_url")
        self.settings = settings
        headers = {"content-type": "application/json", **settings.headers}
        headers.update(self._auth_headers(settings.resolved_api_key()))
        self._client = httpx.AsyncClient(
            base_url=settings.base_url.rstrip("/"),
            headers=headers,
            transport=transport,
            limits=httpx.Limits(
                max_connections=settings.max_connections, max_keepalive_connections=settings.max_connections
            ),
            # Whole-request deadlines come from the model's timeout (asyncio.timeout below); httpx's
            # own timeouts only bound connecting and each read of a stream.
            timeout=httpx.Timeout(None, connect=10.0),
        )

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"authorization": f"Bearer {api_key}"} if api_key else {}

    def _url(self, model: ModelSettings, endpoint: str) -> str:
        return f"/{endpoint}"

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
                response = await self._client.post(
                    self._url(model, endpoint), content=self._body(model, body), params=self._params()
                )
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"{self.settings.name} did not answer within {model.timeout_seconds:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamConnectError(f"{self.settings.name} unreachable: {type(exc).__name__}") from exc
        if response.status_code != 200:
            raise UpstreamHTTPError(response.status_code, response.content, _retry_after(response))
        try:
            data = orjson.loads(response.content)
        except orjson.JSONDecodeError as exc:
            raise UpstreamHTTPError(502, b"", None) from exc
        if not isinstance(data, dict):
            raise UpstreamHTTPError(502, b"", None)
        return ChatResult(response.content, data)

    async def chat_stream(self, model: ModelSettings, body: dict[str, Any]) -> AsyncIterator[bytes]:
        request = self._client.build_request(
            "POST",
            self._url(model, "chat/completions"),
            content=self._body(model, body),
            params=self._params(),
            timeout=httpx.Timeout(None, connect=10.0, read=model.timeout_seconds),
        )
        try:
            async with asyncio.timeout(model.timeout_seconds):
                response = await self._client.send(request, stream=True)
        except TimeoutError as exc:
            raise UpstreamTimeout(
                f"{self.settings.name} did not answer within {model.timeout_seconds:g} s"
            ) from exc
        except httpx.TransportError as exc:
            raise UpstreamConnectError(f"{self.settings.name} unreachable: {type(exc).__name__}") from exc
        try:
            if response.status_code != 200:
                content = await response.aread()
                raise UpstreamHTTPError(response.status_code, content, _retry_after(response))
            finished = False
            started = False
            try:
                async for payload in data_payloads(response.aiter_raw()):
                    if payload == DONE:
                        return
                    if not finished and _FINISHED.search(payload):
                        finished = True
                    started = True
                    yield payload
            except httpx.TransportError as exc:
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
            await response.aclose()

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/models", params=self._params(), timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code < 500

    async def aclose(self) -> None:
        await self._client.aclose()


class AzureOpenAIProvider(OpenAIProvider):
    """Azure OpenAI: deployments in the path, ``api-version`` in the query, ``api-key`` header.

    ``base_url`` is the resource endpoint, e.g. ``https://NAME.openai.azure.com``; a model's
    ``upstream_model`` is the deployment name.
    """

    def __init__(
        self, settings: ProviderSettings, *, transport: httpx.AsyncBaseTransport | None = None
    ) -> None:
        if not settings.api_version:
            raise ConfigError(f"azure provider {settings.name!r} needs api_version")
        super().__init__(settings, transport=transport)

    def _auth_headers(self, api_key: str | None) -> dict[str, str]:
        return {"api-key": api_key} if api_key else {}

    def _url(self, model: ModelSettings, endpoint: str) -> str:
        return f"/openai/deployments/{model.target}/{endpoint}"

    def _params(self) -> dict[str, str]:
        return {"api-version": self.settings.api_version or ""}

    def _body(self, model: ModelSettings, body: dict[str, Any]) -> bytes:
        # The deployment in the path chooses the model; Azure ignores or rejects a `model` field.
        return orjson.dumps({k: v for k, v in body.items() if k != "model"})

    async def ready(self) -> bool:
        try:
            response = await self._client.get("/openai/models", params=self._params(), timeout=2.0)
        except httpx.HTTPError:
            return False
        return response.status_code < 500


def _retry_after(response: httpx.Response) -> float | None:
    value = response.headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        return None


__all__ = ["AzureOpenAIProvider", "OpenAIProvider", "UpstreamError"]
