"""Sekisho's side of the detector benchmark: build the default detector set, run it, time it.

The set is every registered detector, as ``DetectorSet.from_names(None)`` builds it, with two allowances
for a tree that is still being written: a detector whose module fails to import (or whose constructor
raises) is skipped with the reason printed, and when the ``.venv`` predates the entry points (they appear
only after the project is reinstalled) the ``module:Class`` list is read from pyproject.toml instead.
"""

from __future__ import annotations

import gc
import importlib
import time
import tomllib
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from importlib.metadata import entry_points
from typing import Any

from corpora import REPO, Span

from sekisho.guardrails.base import Detector
from sekisho.guardrails.detectors.set import DetectorSet
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.registry import DETECTOR_GROUP
from sekisho.guardrails.text import Text, warm_up

INJECTION = "PROMPT_INJECTION"


@dataclass(slots=True)
class Loaded:
    dset: DetectorSet
    source: str  # "entry points" or "pyproject.toml (fallback)"
    registered: list[str]
    skipped: dict[str, str] = field(default_factory=dict)

    @property
    def names(self) -> list[str]:
        return [d.name for d in self.dset.detectors]


def _declared() -> tuple[dict[str, Callable[[], Any]], str]:
    eps = {ep.name: ep for ep in entry_points(group=DETECTOR_GROUP)}
    if eps:
        return {name: eps[name].load for name in sorted(eps)}, "entry points"
    table = tomllib.loads((REPO / "pyproject.toml").read_text(encoding="utf-8"))
    declared: dict[str, str] = table["project"]["entry-points"][DETECTOR_GROUP]

    def loader(target: str) -> Callable[[], Any]:
        def load() -> Any:
            module, _, attr = target.partition(":")
            return getattr(importlib.import_module(module), attr)

        return load

    return {name: loader(declared[name]) for name in sorted(declared)}, "pyproject.toml (fallback)"


PROBES = (
    "John Smith lives at 12 Main Street, Springfield; call 212-555-0199 or mail john@example.com.",
    "山田太郎様の電話番号は090-1234-5678、住所は東京都千代田区丸の内1-1-1です。",
)


class Guarded:
    """A detector whose exceptions are counted and reported instead of stopping the benchmark.

    The gateway turns a raising detector into a block; here one bad text must not hide every other
    figure, so the exception is recorded (count and first message, shown in the report) and the
    detector counts as having found nothing in that text.
    """

    def __init__(self, inner: Detector) -> None:
        self.inner = inner
        self.name = inner.name
        self.types = inner.types
        self.errors = 0
        self.first_error: str | None = None

    def detect(self, text: Text) -> list[Finding]:
        try:
            found: list[Finding] = self.inner.detect(text)
        except Exception as exc:
            self.errors += 1
            if self.first_error is None:
                self.first_error = f"{type(exc).__name__}: {exc}"
            return []
        return found


def load_default_set() -> Loaded:
    """Every registered detector that imports, constructs and gets through two probe texts.

    Default options and ``min_score``, as ``DetectorSet.from_names(None)`` would build them.
    """
    declared, source = _declared()
    detectors: list[Detector] = []
    skipped: dict[str, str] = {}
    warm_up()
    for name, load in declared.items():
        try:
            factory = load()
            if not getattr(factory, "default", True):
                skipped[name] = "off by default (not in the default set)"
                continue
            detector = factory()
            for probe in PROBES:
                detector.detect(Text(probe))
        except Exception as exc:  # a module still being written must not stop the benchmark
            skipped[name] = f"{type(exc).__name__}: {exc}"
        else:
            detectors.append(Guarded(detector))
    return Loaded(DetectorSet(detectors), source, list(declared), skipped)


def runtime_errors(loaded: Loaded) -> dict[str, str]:
    """Detectors that raised while the benchmark ran: how often, and the first error."""
    return {
        d.name: f"raised {d.errors} times; first: {d.first_error}"
        for d in loaded.dset.detectors
        if isinstance(d, Guarded) and d.errors
    }


def find(dset: DetectorSet, text: str) -> list[Span]:
    return [Span(f.type, f.start, f.end) for f in dset.detect(Text(text))]


def flagged(dset: DetectorSet, text: str) -> bool:
    return any(f.type == INJECTION for f in dset.detect(Text(text)))


@dataclass(slots=True)
class Timings:
    """Seconds per prompt, one value per round: wall clock and this process's CPU time."""

    wall: list[list[float]]
    cpu: list[list[float]]

    @classmethod
    def empty(cls, n: int) -> Timings:
        return cls([[] for _ in range(n)], [[] for _ in range(n)])

    def head(self, n: int) -> Timings:
        return Timings(self.wall[:n], self.cpu[:n])


def time_once(dset: DetectorSet, s: str) -> tuple[float, float]:
    """Wall and CPU seconds of one ``dset.detect(Text(s))``, the garbage collector paused."""
    gc.disable()
    t0, c0 = time.perf_counter(), time.process_time()
    dset.detect(Text(s))
    wall, cpu = time.perf_counter() - t0, time.process_time() - c0
    gc.enable()
    return wall, cpu


def time_set(dset: DetectorSet, prompts: Sequence[str], repeat: int) -> Timings:
    """Timings of ``dset.detect(Text(s))`` (normalisation included) per prompt and round.

    Prompts are visited in rounds so that slow drift in machine load spreads over all of them; one
    untimed round first fills caches. The garbage collector is paused per call, as it would otherwise
    charge one call for everyone's garbage, and runs between calls.
    """
    for s in prompts:
        dset.detect(Text(s))
    out = Timings.empty(len(prompts))
    for _ in range(repeat):
        for i, s in enumerate(prompts):
            wall, cpu = time_once(dset, s)
            out.wall[i].append(wall)
            out.cpu[i].append(cpu)
    return out


def time_breakdown(detectors: Sequence[Detector], prompts: Sequence[str], repeat: int) -> dict[str, Timings]:
    """Per-stage timings per prompt and round: ``Text(s)`` plus its ``kana`` view (normalisation), then
    each detector alone on that shared ``Text``.

    ``kana`` is computed lazily by the first detector that reads it; here it is charged to normalisation
    so that the per-detector figures do not depend on the order of the detectors.
    """
    stages = {"normalisation": Timings.empty(len(prompts))}
    stages.update({d.name: Timings.empty(len(prompts)) for d in detectors})
    for _ in range(repeat):
        for i, s in enumerate(prompts):
            gc.disable()
            t0, c0 = time.perf_counter(), time.process_time()
            text = Text(s)
            _ = text.kana
            stages["normalisation"].wall[i].append(time.perf_counter() - t0)
            stages["normalisation"].cpu[i].append(time.process_time() - c0)
            for d in detectors:
                t0, c0 = time.perf_counter(), time.process_time()
                d.detect(text)
                stages[d.name].wall[i].append(time.perf_counter() - t0)
                stages[d.name].cpu[i].append(time.process_time() - c0)
            gc.enable()
    return stages
