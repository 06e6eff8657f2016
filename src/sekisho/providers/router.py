"""Routing: the model table, retries with back-off, and ordered fallbacks."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import TypeVar

from sekisho.providers.base import Provider, UpstreamError
from sekisho.settings import ModelSettings

log = logging.getLogger("sekisho.providers")
T = TypeVar("T")
_MAX_RETRY_AFTER = 10.0


@dataclass(frozen=True, slots=True)
class Attempt:
    """One upstream attempt, for the audit record and metrics."""

    model: str
    error: str | None


class Router:
    """Knows every configured model and how to reach it."""

    def __init__(
        self,
        models: Mapping[str, ModelSettings],
        providers: Mapping[str, Provider],
        *,
        backoff: float,
        sleep: Callable[[float], Awaitable[None]] = asyncio.sleep,
    ) -> None:
        self.models = dict(models)
        self.providers = dict(providers)
        self._backoff = backoff
        self._sleep = sleep

    def model(self, name: str) -> ModelSettings | None:
        """The model clients call ``name``, if configured."""
        return self.models.get(name)

    def provider_for(self, model: ModelSettings) -> Provider:
        """The provider serving ``model``."""
        return self.providers[model.provider]

    async def call(
        self,
        model: ModelSettings,
        attempt: Callable[[Provider, ModelSettings], Awaitable[T]],
        *,
        tried: list[Attempt] | None = None,
    ) -> tuple[T, ModelSettings, list[Attempt]]:
        """Run ``attempt`` on ``model``, retrying and then falling back; returns the result and who served it.

        Raises the last UpstreamError when every candidate failed, or the first error that is the
        client's fault (a 400 from upstream is not improved by asking another model). Attempts are
        appended to ``tried`` as they happen, so a caller's record of them survives the raise.
        """
        if tried is None:
            tried = []
        candidates = [model] + [self.models[name] for name in model.fallbacks]
        last: UpstreamError | None = None
        for candidate in candidates:
            provider = self.providers[candidate.provider]
            for retry in range(candidate.max_retries + 1):
                try:
                    result = await attempt(provider, candidate)
                except UpstreamError as exc:
                    last = exc
                    tried.append(Attempt(candidate.name, str(exc)))
                    if not exc.fallback:
                        raise
                    if not exc.retryable or retry == candidate.max_retries:
                        break
                    delay = self._backoff * (2**retry)
                    if exc.retry_after is not None:
                        delay = max(delay, min(exc.retry_after, _MAX_RETRY_AFTER))
                    log.info("retrying %s after %s (attempt %d)", candidate.name, exc, retry + 2)
                    await self._sleep(delay)
                    continue
                tried.append(Attempt(candidate.name, None))
                return result, candidate, tried
        if last is None:  # pragma: no cover - candidates is never empty
            raise RuntimeError("no candidate model")
        raise last
