"""The observation state of the request being handled, in a context variable.

Whoever starts a piece of work binds a ``RequestState``: the HTTP layer for every request, the review
runner for an approved request it runs in the background. Code deeper down (pipeline stages, the
router's attempts, guardrails, log formatting) finds it here instead of having it passed through
every signature; without one bound, the hooks do nothing.

Nothing here imports the rest of Sekisho, so the gateway can import the hooks without a cycle.
"""

from __future__ import annotations

import re
import secrets
import time
from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from opentelemetry.context import Context
    from opentelemetry.trace import Span

    from sekisho.observability.observer import Observer

# Fits the audit columns (String(64)); letters, digits and the separators ids are made of, so an id
# can be written into a log line or a header without quoting or escaping.
_WELL_FORMED = re.compile(r"[A-Za-z0-9][A-Za-z0-9._:\-]{7,63}")


def new_request_id() -> str:
    """A fresh request id: ``req_`` and 24 hex digits (96 random bits)."""
    return f"req_{secrets.token_hex(12)}"


def well_formed(value: str | None) -> bool:
    """True for an incoming id Sekisho may repeat in logs and headers (8 to 64 safe characters)."""
    return value is not None and _WELL_FORMED.fullmatch(value) is not None


@dataclass(slots=True)
class RequestState:
    """What the observers know about one request while it runs."""

    request_id: str
    observer: Observer | None = None
    client_request_id: str | None = None
    started: float = field(default_factory=time.perf_counter)
    # The gateway call (sekisho.gateway.call.Call) once the pipeline has it: model, ids, outcome.
    call: Any = None
    # Tracing: the request's root span, and the context new child spans hang under.
    root: Span | None = None
    root_ctx: Context | None = None
    inner: Context | None = None
    # Seconds spent waiting for the requested model (attempts, and back-off between them).
    upstream_seconds: float = 0.0
    upstream_called: bool = False

    @property
    def tracing(self) -> bool:
        """True when this request records spans."""
        return self.root_ctx is not None


_current: ContextVar[RequestState | None] = ContextVar("sekisho_request_state", default=None)


def current() -> RequestState | None:
    """The state bound for the running request, if any."""
    return _current.get()


def current_request_id() -> str | None:
    """The id of the running request (the one in its X-Request-Id header and audit records)."""
    state = _current.get()
    return state.request_id if state is not None else None


@contextmanager
def bound(state: RequestState) -> Iterator[RequestState]:
    """Make ``state`` the current request's state inside the block."""
    token = _current.set(state)
    try:
        yield state
    finally:
        _current.reset(token)
