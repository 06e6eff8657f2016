"""Log lines as JSON objects (production) or text (a terminal), each with the request's id.

Every line written while a request runs carries its ``request_id`` — the id in the response's
X-Request-Id header and in its audit records — and, when traced, the trace and span ids, so a log
search, a trace and an audit record lead to one another.

Sekisho never logs prompts, answers or credentials on purpose; as a second line of defence every
line is scrubbed of the secret values in the settings (master key, upstream keys, tokens), of
anything shaped like an API key, and of bearer credentials.
"""

from __future__ import annotations

import logging
import re
import sys
from collections.abc import Iterable, Iterator
from datetime import UTC, datetime
from typing import Any, Literal, TextIO

import orjson
from pydantic import BaseModel, SecretStr

from sekisho.observability.context import current

LogFormat = Literal["auto", "json", "text"]
REDACTED = "[redacted]"
_KEY_SHAPED = re.compile(r"\bsk-[A-Za-z0-9_\-]{16,}")
_BEARER = re.compile(r"(?i)\b(bearer\s+)[A-Za-z0-9._~+/=\-]{8,}")
# Attributes every LogRecord has; anything else on a record came from ``extra=`` and is logged too.
_STANDARD = frozenset(vars(logging.LogRecord("", 0, "", 0, "", None, None))) | {"message", "asctime"}
_CONTEXT = ("request_id", "client_request_id", "trace_id", "span_id")


class Redactor:
    """Removes known secret values and credential-shaped strings from text."""

    def __init__(self, secrets: Iterable[str] = ()) -> None:
        # Short values would match ordinary words; real secrets are long. Longest first, so a secret
        # containing another is removed whole.
        self._secrets = sorted({s for s in secrets if len(s) >= 8}, key=len, reverse=True)

    def __call__(self, text: str) -> str:
        for secret in self._secrets:
            if secret in text:
                text = text.replace(secret, REDACTED)
        if "sk-" in text:
            text = _KEY_SHAPED.sub("sk-" + REDACTED, text)
        if "earer" in text or "EARER" in text:
            text = _BEARER.sub(r"\1" + REDACTED, text)
        return text


def secret_values(settings: BaseModel) -> list[str]:
    """Every secret in ``settings``: ``SecretStr`` fields at any depth, and the upstream keys and SMTP
    password read from environment variables."""
    out: list[str] = list(_walk(settings))
    readers = [provider.resolved_api_key for provider in getattr(settings, "providers", ())]
    email = getattr(settings, "email", None)
    if email is not None and callable(getattr(email, "password", None)):
        readers.append(email.password)  # the SMTP password, read from its environment variable
    for read in readers:
        try:
            value = read()
        except Exception:  # noqa: S112 - a missing variable is reported at start-up, not here
            continue
        if isinstance(value, str) and value:
            out.append(value)
    return out


def _walk(value: Any) -> Iterator[str]:
    if isinstance(value, SecretStr):
        yield value.get_secret_value()
    elif isinstance(value, BaseModel):
        for name in type(value).model_fields:
            yield from _walk(getattr(value, name))
    elif isinstance(value, dict):
        for item in value.values():
            yield from _walk(item)
    elif isinstance(value, list | tuple):
        for item in value:
            yield from _walk(item)


class RequestContextFilter(logging.Filter):
    """Stamps the running request's ids on each record (in the thread and context that logged it)."""

    def filter(self, record: logging.LogRecord) -> bool:
        state = current()
        record.request_id = state.request_id if state is not None else None
        record.client_request_id = state.client_request_id if state is not None else None
        span = state.root if state is not None else None
        if span is not None:
            context = span.get_span_context()
            record.trace_id = format(context.trace_id, "032x")
            record.span_id = format(context.span_id, "016x")
        else:
            record.trace_id = record.span_id = None
        return True


class JsonFormatter(logging.Formatter):
    """One JSON object per line: ts, level, logger, message, request ids, extras, exception."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__()
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        out: dict[str, Any] = {
            "ts": datetime.fromtimestamp(record.created, UTC).isoformat(timespec="milliseconds"),
            "level": record.levelname,
            "logger": record.name,
            "message": self._redact(record.getMessage()),
        }
        for key in _CONTEXT:
            value = getattr(record, key, None)
            if value is not None:
                out[key] = value
        for key, value in vars(record).items():
            if key not in _STANDARD and key not in _CONTEXT and not key.startswith("_"):
                out[key] = self._redact(value) if isinstance(value, str) else value
        if record.exc_info:
            out["exception"] = self._redact(self.formatException(record.exc_info))
        if record.stack_info:
            out["stack"] = self._redact(self.formatStack(record.stack_info))
        return orjson.dumps(out, default=str).decode()


class TextFormatter(logging.Formatter):
    """``time LEVEL logger [request id] message`` for people reading a terminal."""

    def __init__(self, redactor: Redactor) -> None:
        super().__init__("%(asctime)s %(levelname)s %(name)s [%(request_id)s] %(message)s")
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        if getattr(record, "request_id", None) is None:
            record.request_id = "-"
        return self._redact(super().format(record))


def resolve_format(fmt: str, stream: TextIO) -> Literal["json", "text"]:
    """``auto`` is text on a terminal and JSON anywhere else (a container, systemd, a file)."""
    if fmt == "json":
        return "json"
    if fmt == "text":
        return "text"
    if fmt != "auto":
        raise ValueError(f"unknown log format {fmt!r}: use auto, json or text")
    isatty = getattr(stream, "isatty", None)
    return "text" if isatty is not None and isatty() else "json"


def build_handler(fmt: str, *, secrets: Iterable[str] = (), stream: TextIO | None = None) -> logging.Handler:
    """A handler writing ``fmt`` lines (with request ids, scrubbed of ``secrets``) to ``stream``."""
    out = stream if stream is not None else sys.stderr
    handler = logging.StreamHandler(out)
    handler.addFilter(RequestContextFilter())
    redactor = Redactor(secrets)
    handler.setFormatter(
        JsonFormatter(redactor) if resolve_format(fmt, out) == "json" else TextFormatter(redactor)
    )
    return handler


def configure_logging(
    fmt: str, level: str | int = "INFO", *, secrets: Iterable[str] = (), stream: TextIO | None = None
) -> None:
    """Make the root logger write ``fmt`` lines; replaces whatever handlers it had."""
    root = logging.getLogger()
    for handler in list(root.handlers):
        root.removeHandler(handler)
    root.addHandler(build_handler(fmt, secrets=secrets, stream=stream))
    root.setLevel(level)
    # Alembic narrates every plugin it loads at INFO; operators only need to hear about failures.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every upstream request at INFO: noise on the hot path, and URLs can carry secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)
