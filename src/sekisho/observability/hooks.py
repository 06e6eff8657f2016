"""One-line calls the request path makes to be observed (pipeline, stages, guardrails, router).

Each finds the request's bound state and hands over to the app's ``Observer``; with nothing bound
(a unit test driving a stage directly, a CLI command) each does nothing. With tracing off, ``stage``
returns a shared object and ``attempts`` one small wrapper per upstream call: the cost on the hot path
is a context-variable read and a few dictionary lookups.

This module imports nothing from the gateway at run time, so the gateway may import it.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from contextlib import AbstractContextManager, nullcontext
from typing import TYPE_CHECKING, TypeVar

from sekisho.observability.context import _current, current_request_id

if TYPE_CHECKING:
    from sekisho.gateway.call import Call
    from sekisho.guardrails.actions import Outcome
    from sekisho.guardrails.finding import Finding
    from sekisho.settings import ModelSettings

T = TypeVar("T")
P = TypeVar("P")
_NULL: AbstractContextManager[None] = nullcontext()

__all__ = [
    "attempts",
    "bind",
    "current_request_id",
    "findings",
    "settled",
    "stage",
    "stream_ended",
    "stream_findings",
]


def bind(call: Call) -> None:
    """Tell the observers which gateway call this request is (for model labels and span attributes)."""
    state = _current.get()
    if state is not None:
        state.call = call


def stage(name: str) -> AbstractContextManager[None]:
    """Wrap a pipeline stage: its span when traced, and the error answer it ends with, counted."""
    state = _current.get()
    if state is None or state.observer is None:
        return _NULL
    return state.observer.stage(state, name)


def attempts(
    fn: Callable[[P, ModelSettings], Awaitable[T]], *, serving: bool = True
) -> Callable[[P, ModelSettings], Awaitable[T]]:
    """Wrap the router's per-attempt function: each attempt timed, counted and traced, retries and
    fallbacks counted. ``serving=False`` for calls Sekisho makes for itself (an LLM judge): their
    time is Sekisho's overhead, not the requested model's."""
    state = _current.get()
    if state is None or state.observer is None:
        return fn
    return state.observer.attempts(state, fn, serving=serving)


def findings(outcome: Outcome, direction: str) -> None:
    """Count one guardrail scan's findings by type and action."""
    state = _current.get()
    if state is not None and state.observer is not None:
        state.observer.findings(outcome, direction)


def stream_findings(call: Call, found: list[Finding]) -> None:
    """Count the findings of a streamed answer."""
    state = _current.get()
    if state is not None and state.observer is not None:
        state.observer.stream_findings(call, found)


def settled(call: Call, outcome: str) -> None:
    """Count a call's tokens, cost and policy decision as it settles."""
    state = _current.get()
    if state is not None and state.observer is not None:
        state.observer.settled(call, outcome)


def stream_ended(call: Call, outcome: str) -> None:
    """Count a stream that ended with an error after its headers were sent."""
    state = _current.get()
    if state is not None and state.observer is not None:
        state.observer.stream_ended(call, outcome)
