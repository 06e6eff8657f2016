"""What a guardrail is: findings in a text, and a verdict on them.

Two shapes, because most checks are pure functions of the text and a few are not:

- ``Detector``: pure, synchronous, no I/O — a regex with a check digit, a dictionary lookup, a small
  classifier. Detectors share one ``Text`` (the NFKC view) and run back to back in one pass, so a set of
  twenty costs one normalisation and no scheduling.
- ``Guardrail``: one async call, for checks that need I/O or configuration per tenant (an LLM judge,
  a blocklist of the caller's organisation). Every detector set is wrapped in one guardrail.

A guardrail that raises is never a pass: ``fail_open`` is False unless the guardrail says otherwise,
and the engine turns the exception into a block (see ``engine.py``).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Literal, Protocol

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

Direction = Literal["input", "output"]
Verdict = Literal["pass", "flag", "error"]


@dataclass(frozen=True, slots=True)
class ScanContext:
    """Who and what a scan is for; guardrails with per-tenant configuration read it."""

    direction: Direction = "input"
    org: str | None = None  # organisation slug: per-tenant settings are keyed by slugs
    project: str | None = None  # project slug
    request_id: str | None = None
    attachments: tuple[Attachment, ...] = ()


@dataclass(frozen=True, slots=True)
class Attachment:
    """A file or image carried in a request (an image content part or a base64 data URL)."""

    data: bytes
    media_type: str
    where: str  # e.g. "messages[1].content[0]"


@dataclass(frozen=True, slots=True)
class GuardrailResult:
    """One guardrail's answer: its findings and whether it passed, flagged, or failed to run."""

    guardrail: str
    findings: list[Finding] = field(default_factory=list)
    verdict: Verdict = "pass"
    error: str | None = None
    fail_open: bool = False
    # Records for the safety team (e.g. hash matches): which list and how, never the content.
    report: list[dict[str, Any]] = field(default_factory=list)


class Detector(Protocol):
    """A pure detector. Offsets it returns are into ``text.norm``; ``Text.finding`` maps them back."""

    name: str
    types: frozenset[str]

    def detect(self, text: Text) -> list[Finding]:
        """Findings with offsets into the original text (use ``text.finding``)."""
        ...


class Guardrail(Protocol):
    """One async check over a text."""

    name: str
    types: frozenset[str]
    fail_open: bool

    async def scan(self, text: Text, context: ScanContext) -> GuardrailResult:
        """Findings and a verdict; raising counts as a failure, never as a pass."""
        ...
