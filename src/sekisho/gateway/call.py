"""The state of one gateway call as it walks the pipeline."""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sekisho.guardrails.actions import Rules
from sekisho.guardrails.engine import Located
from sekisho.guardrails.redact import Pseudonymizer
from sekisho.identity import Principal
from sekisho.metering import Usage
from sekisho.policy.verdict import Verdict
from sekisho.providers import Attempt
from sekisho.settings import ModelSettings

Endpoint = Literal["chat.completions", "embeddings"]
Decision = Literal["allow", "redact", "block", "review", "warn"]


class Reservation(Protocol):
    """What an admission check holds for a call (a budget or rate-limit slot) until it settles."""

    async def settle(self, usage: Usage | None) -> None:
        """Reconcile with real usage, or release when ``usage`` is None (the call failed)."""
        ...


class Admitter(Protocol):
    """An admission check (budgets, rate limits): reserve, or raise a 429 GatewayError."""

    async def admit(self, call: Call) -> Reservation:
        """Reserve what ``call`` may use at most."""
        ...


@dataclass(slots=True)
class Call:
    """Mutable per-request state; audit and metering receive frozen events built from it."""

    request_id: str
    endpoint: Endpoint
    body: dict[str, Any]
    stream: bool = False
    started: float = field(default_factory=time.perf_counter)
    principal: Principal | None = None
    model: ModelSettings | None = None
    served: ModelSettings | None = None
    admitted: bool = False
    decision: Decision = "allow"
    findings: list[Located] = field(default_factory=list)
    # Guardrails: the scope's rules, the placeholder map of this request, and what to tell the client.
    rules: Rules | None = None
    pseudonymizer: Pseudonymizer | None = None
    guard_decision: str = "allow"
    guard_checks: frozenset[str] = frozenset()  # the input checks that ran (detector names)
    guard_notes: dict[str, set[str]] = field(default_factory=dict)
    finding_counts: dict[str, int] = field(default_factory=dict)
    reservations: list[Reservation] = field(default_factory=list)
    attempts: list[Attempt] = field(default_factory=list)
    usage: Usage | None = None
    status_code: int = 200
    error_code: str | None = None
    # Usage policy and review: the verdict, guardrail types that asked for review, the review item.
    verdict: Verdict | None = None
    guard_review: tuple[str, ...] = ()
    review_id: str | None = None
    # An answer Sekisho gives itself instead of calling a model (the caring reply to a crisis).
    canned: dict[str, Any] | None = None
    # Set when the client asked for no usage chunk in a stream but Sekisho asked upstream for one.
    hide_usage_chunk: bool = False

    def elapsed_ms(self) -> int:
        """Milliseconds since the request arrived."""
        return round((time.perf_counter() - self.started) * 1000)

    def guard_header(self) -> str | None:
        """``x-sekisho-guardrails``: which finding types were redacted or drew a warning."""
        if not self.guard_notes:
            return None
        return "; ".join(f"{a}={','.join(sorted(t))}" for a, t in sorted(self.guard_notes.items()))

    def who(self) -> tuple[Principal, ModelSettings]:
        """The caller and the model; only valid once Authorize has run."""
        if self.principal is None or self.model is None:
            raise RuntimeError("pipeline stages ran out of order")
        return self.principal, self.model
