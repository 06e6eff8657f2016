"""Many pure detectors run as one: one normalisation, one pass each, findings merged."""

from __future__ import annotations

from collections.abc import Iterable, Sequence
from typing import Any

from sekisho.guardrails.base import Detector
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.registry import DETECTOR_GROUP, detector_names, load
from sekisho.guardrails.text import Text


class DetectorSet:
    """Detectors that share a ``Text``; ``detect`` returns their findings above ``min_score``."""

    def __init__(self, detectors: Sequence[Detector], *, min_score: float = 0.5) -> None:
        self.detectors = list(detectors)
        self.min_score = min_score

    @classmethod
    def from_names(
        cls,
        names: Iterable[str] | None = None,
        *,
        options: dict[str, dict[str, Any]] | None = None,
        min_score: float = 0.5,
    ) -> DetectorSet:
        """The named registered detectors; when ``names`` is None, every one that is on by default.

        A detector class with ``default = False`` (a slow, stronger back-end) runs only when named.
        """
        options = options or {}
        if names is None:
            factories = {n: load(DETECTOR_GROUP, n) for n in detector_names()}
            chosen = [n for n, f in factories.items() if getattr(f, "default", True)]
        else:
            chosen = list(names)
        return cls([load(DETECTOR_GROUP, n)(**options.get(n, {})) for n in chosen], min_score=min_score)

    @property
    def types(self) -> frozenset[str]:
        """Every finding type these detectors can report."""
        return frozenset().union(*(d.types for d in self.detectors))

    def detect(self, text: Text) -> list[Finding]:
        """All findings at or above ``min_score``, in text order."""
        found = [f for d in self.detectors for f in d.detect(text) if f.score >= self.min_score]
        found.sort(key=lambda f: (f.start, -f.end))
        return found
