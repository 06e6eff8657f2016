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
            # The spec allows CRLF, LF or a lone CR as line ends. A CR at the very end may be the
            # first half of a CRLF split across chunks, so it waits for the next chunk.
            held = buffer.endswith(b"\r")
            if held:
                buffer = buffer[:-1]
            buffer = buffer.replace(b"\r\n", b"\n").replace(b"\r", b"\n")
            if held:
                buffer += b"\r"
        while True:
            end = buffer.find(b"\n\n")
            if end < 0:
                break
            event, buffer = buffer[:end], buffer[end + 2 :]
            payload = _data(event)
            if payload is not None:
                yield payload
    buffer = buffer.replace(b"\r", b"\n")
    if buffer.strip():
        payload = _data(buffer)
        if payload is not None:
            yield payload


def _data(event: bytes) -> bytes | None:
    # The spec strips exactly one space after the colon; the rest belongs to the value.
    lines = [_value(line) for line in event.split(b"\n") if line.startswith(b"data:")]
    if not lines:
        return None  # comments (": keep-alive") and other fields carry nothing to relay
    return b"\n".join(lines)


def _value(line: bytes) -> bytes:
    value = line[5:]
    return value[1:] if value.startswith(b" ") else value
