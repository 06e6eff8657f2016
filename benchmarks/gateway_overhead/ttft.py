"""A lean asyncio client that measures time to first token over raw HTTP/1.1 keep-alive (used by run.py)."""

from __future__ import annotations

import asyncio
import random
import re
import time
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from run import Target

HOST = "127.0.0.1"  # the only address this benchmark ever sends traffic to
# A chunk whose delta carries text: `"content":"x…` (an empty string or null does not count).
CONTENT_RE = re.compile(rb'"content"\s*:\s*"(?!")')


class StreamError(Exception):
    pass


async def _read_stream(reader: asyncio.StreamReader, t0: float) -> tuple[float, float, bool]:
    """Read one HTTP/1.1 SSE response; returns (ttft s, total s, keep-alive)."""
    head = bytes(await reader.readuntil(b"\r\n\r\n"))
    status = int(head[9:12])
    lower = head.lower()
    keep_alive = b"connection: close" not in lower
    if b"transfer-encoding: chunked" not in lower:
        match = re.search(rb"content-length:\s*(\d+)", lower)
        rest = await (reader.readexactly(int(match.group(1))) if match else reader.read())
        raise StreamError(f"HTTP {status}, not a chunked stream: {rest[:200]!r}")
    body = bytearray()
    ttft: float | None = None
    while True:
        size = int((await reader.readuntil(b"\r\n")).split(b";")[0], 16)
        if size == 0:
            await reader.readuntil(b"\r\n")
            break
        data = await reader.readexactly(size + 2)
        start = max(0, len(body) - 32)
        body += data[:-2]
        if ttft is None and CONTENT_RE.search(body, start):
            ttft = time.perf_counter() - t0
    total = time.perf_counter() - t0
    if status != 200 or ttft is None or b"[DONE]" not in body:
        raise StreamError(f"HTTP {status}: {bytes(body[:200])!r}")
    return ttft, total, keep_alive


async def _stream_worker(
    target: Target, request: bytes, state: dict[str, Any], think_s: float, deadline: float
) -> None:
    reader: asyncio.StreamReader | None = None
    writer: asyncio.StreamWriter | None = None
    try:
        while state["started"] < state["limit"] and time.monotonic() < deadline:
            if think_s > 0:
                await asyncio.sleep(think_s * (0.5 + random.random()))
            if state["started"] >= state["limit"] or time.monotonic() >= deadline:
                break
            state["started"] += 1
            try:
                if writer is None:
                    reader, writer = await asyncio.open_connection(HOST, target.port)
                assert reader is not None
                t0 = time.perf_counter()
                writer.write(request)
                ttft, total, keep_alive = await asyncio.wait_for(_read_stream(reader, t0), 30)
            except (
                OSError,
                asyncio.IncompleteReadError,
                asyncio.LimitOverrunError,
                TimeoutError,
                StreamError,
                ValueError,
            ) as exc:
                state["errors"] += 1
                state["last_error"] = f"{type(exc).__name__}: {exc}"[:300]
                if writer is not None:
                    writer.close()
                reader = writer = None
                continue
            state["ttft"].append(ttft)
            state["total"].append(total)
            if not keep_alive:
                writer.close()
                reader = writer = None
    finally:
        if writer is not None:
            writer.close()


async def _stream_load(
    target: Target, count: int, concurrency: int, think_s: float, max_s: float
) -> dict[str, Any]:
    body = target.body(stream=True)
    request = (
        f"POST /v1/chat/completions HTTP/1.1\r\nHost: {HOST}:{target.port}\r\n"
        f"Authorization: {target.auth}\r\nContent-Type: application/json\r\n"
        f"Accept: text/event-stream\r\nContent-Length: {len(body)}\r\n\r\n"
    ).encode() + body
    state: dict[str, Any] = {
        "started": 0,
        "limit": count,
        "errors": 0,
        "ttft": [],
        "total": [],
        "last_error": None,
    }
    deadline = time.monotonic() + max_s
    t0 = time.perf_counter()
    await asyncio.gather(
        *(_stream_worker(target, request, state, think_s, deadline) for _ in range(concurrency))
    )
    state["seconds"] = time.perf_counter() - t0
    return state


def run_streams(
    target: Target, *, count: int, concurrency: int, think_s: float, max_s: float
) -> dict[str, Any]:
    coro = _stream_load(target, count, concurrency, think_s, max_s)
    try:
        import uvloop  # the same event loop the servers use; keeps the client's own cost small
    except ImportError:
        return asyncio.run(coro)
    return uvloop.run(coro)
