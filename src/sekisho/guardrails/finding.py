"""A finding: the one record every detector, guardrail, audit entry and API answer shares."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True, slots=True)
class Finding:
    """Something a detector found: a type and where it is, in Python string offsets of the original text."""

    type: str
    start: int
    end: int
    score: float
    detector: str

    def as_dict(self) -> dict[str, Any]:
        """JSON form (never the matched value: callers that need it slice their own text)."""
        return {
            "type": self.type,
            "start": self.start,
            "end": self.end,
            "score": round(self.score, 4),
            "detector": self.detector,
        }
