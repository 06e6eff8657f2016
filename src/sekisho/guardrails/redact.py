"""Reversible pseudonymisation: values become typed placeholders, and can come back in the answer.

Within one request the same value always gets the same placeholder (``[EMAIL_1]`` twice for one
address), so the model can still reason about who is who; the map lives only in memory for the
duration of the request and is never logged.
"""

from __future__ import annotations

import re
from collections.abc import Sequence

from sekisho.guardrails.finding import Finding

PLACEHOLDER = re.compile(r"\[([A-Z][A-Z0-9_]*)_(\d+)\]")
# A tail that could still grow into a placeholder: '[' then up to 40 placeholder characters.
_PARTIAL = re.compile(r"\[[A-Z0-9_]{0,40}\Z")


def merge_spans(findings: Sequence[Finding]) -> list[Finding]:
    """Non-overlapping findings, preferring the earlier, then the longer, then the higher-scored."""
    ordered = sorted(findings, key=lambda f: (f.start, -(f.end - f.start), -f.score))
    kept: list[Finding] = []
    for finding in ordered:
        if finding.end <= finding.start:
            continue
        if kept and finding.start < kept[-1].end:
            continue
        kept.append(finding)
    return kept


class Pseudonymizer:
    """Placeholders for one request, in both directions."""

    def __init__(self) -> None:
        self._placeholder: dict[tuple[str, str], str] = {}
        self._original: dict[str, str] = {}
        self._counts: dict[str, int] = {}

    def __bool__(self) -> bool:
        return bool(self._original)

    def successor(self) -> Pseudonymizer:
        """A map for the answer's own findings: numbering continues after this one's, so an answer
        placeholder never looks like a request placeholder, and restoring this map leaves it alone."""
        successor = Pseudonymizer()
        successor._counts = dict(self._counts)
        return successor

    def placeholder(self, finding_type: str, value: str) -> str:
        """The placeholder for ``value``; the same value always gets the same one."""
        key = (finding_type, value)
        existing = self._placeholder.get(key)
        if existing is not None:
            return existing
        number = self._counts.get(finding_type, 0) + 1
        self._counts[finding_type] = number
        placeholder = f"[{finding_type}_{number}]"
        self._placeholder[key] = placeholder
        self._original[placeholder] = value
        return placeholder

    def redact(self, text: str, findings: Sequence[Finding]) -> str:
        """``text`` with every finding replaced by its placeholder."""
        if not findings:
            return text
        out: list[str] = []
        done = 0
        for finding in merge_spans(findings):
            out.append(text[done : finding.start])
            out.append(self.placeholder(finding.type, text[finding.start : finding.end]))
            done = finding.end
        out.append(text[done:])
        return "".join(out)

    def restore(self, text: str) -> str:
        """``text`` with every placeholder of this request replaced by its original value."""
        if not self._original or "[" not in text:
            return text
        return PLACEHOLDER.sub(lambda m: self._original.get(m.group(0), m.group(0)), text)


class StreamRestorer:
    """``Pseudonymizer.restore`` for text that arrives in pieces: a placeholder split across two
    chunks is held back until it is whole."""

    def __init__(self, pseudonymizer: Pseudonymizer) -> None:
        self._pseudonymizer = pseudonymizer
        self._held = ""

    def feed(self, piece: str) -> str:
        """What can be shown now."""
        text = self._held + piece
        partial = _PARTIAL.search(text)
        cut = partial.start() if partial else len(text)
        self._held = text[cut:]
        return self._pseudonymizer.restore(text[:cut])

    def flush(self) -> str:
        """Everything still held (the stream ended)."""
        text, self._held = self._held, ""
        return self._pseudonymizer.restore(text)
