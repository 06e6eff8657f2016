"""Server-sent events: split a byte stream into ``data:`` payloads."""

from __future__ import annotations

from collections.abc import AsyncIterator

DONE = b"[DONE]"


async def data_payloads(chunks: AsyncIterator[bytes]) -> AsyncIterator[bytes]:
    """Yield each event's data (joined across ``data:`` lines), ``[DONE]`` included.

    Works on raw bytes so relaying a stream never decodes and re-encodes text.
    """
    buffer = b""
    async for chunk in chunks:
        buffer += chunk
        if b"\r" in buffer:
            buffer = buffer.replace(b"\r\n", b"\n")
        while True:
            end = buffer.find(b"\n\n")
            if end < 0:
                break
            event, buffer = buffer[:end], buffer[end + 2 :]
            payload = _data(event)
            if payload is not None:
                yield payload
    if buffer.strip():
        payload = _data(buffer)
        if payload is not None:
            yield payload


def _data(event: bytes) -> bytes | None:
    lines = [line[5:].lstrip(b" ") for line in event.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None  # comments (": keep-alive") and other fields carry nothing to relay
    return b"\n".join(lines)
