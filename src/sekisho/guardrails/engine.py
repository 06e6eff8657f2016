"""The guardrail engine: every enabled check over a request's texts, and one decision.

The texts of a request (each message, tool result and input) are scanned as one ``Text`` joined with
blank lines: one normalisation, one pass per detector, one call per async guardrail. Findings are then
mapped back to the segment they fall in, with offsets relative to that segment, so the gateway can
redact the right message.

Pure detectors run back to back in one pass (inline for ordinary prompts, in a worker thread for
large ones so the event loop stays responsive); async guardrails run concurrently with that pass.
A check that raises fails closed — the text is blocked — unless it declares ``fail_open``.
"""

from __future__ import annotations

import asyncio
import bisect
import logging
from collections.abc import Collection, Sequence
from dataclasses import dataclass, field, replace
from functools import lru_cache
from typing import Any

import anyio

from sekisho.guardrails.actions import Outcome, Rules, decide, resolve_rules
from sekisho.guardrails.base import Detector, Guardrail, GuardrailResult, ScanContext
from sekisho.guardrails.cache import FindingCache
from sekisho.guardrails.config import GuardrailSettings
from sekisho.guardrails.detectors.set import DetectorSet
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.llm_judge import ModelCaller
from sekisho.guardrails.registry import GUARDRAIL_GROUP, guardrail_names, load
from sekisho.guardrails.text import Text, warm_up

log = logging.getLogger("sekisho.guardrails")
SEPARATOR = "\n\n"
# Above this many characters the detector pass moves to a worker thread.
INLINE_LIMIT = 20_000


@dataclass(frozen=True, slots=True)
class Segment:
    """One text of a request and where it sits (``messages[2].content``)."""

    where: str
    text: str


@dataclass(frozen=True, slots=True)
class Located:
    """A finding in a segment, offsets relative to that segment (``segment`` is None for files)."""

    finding: Finding
    where: str
    segment: int | None

    def as_dict(self) -> dict[str, Any]:
        """JSON form, with where it was found."""
        return {**self.finding.as_dict(), "where": self.where}


@dataclass(slots=True)
class ScanReport:
    """Everything one scan found and decided."""

    located: list[Located] = field(default_factory=list)
    outcome: Outcome = field(default_factory=Outcome)
    failures: list[str] = field(default_factory=list)
    reports: list[dict[str, Any]] = field(default_factory=list)
    checks: list[str] = field(default_factory=list)

    @property
    def decision(self) -> str:
        """The action for the whole text; a fail-closed failure blocks."""
        return "block" if self.failures else self.outcome.decision

    def in_segment(self, index: int, findings: Collection[Finding]) -> list[Finding]:
        """The findings among ``findings`` that lie in segment ``index``."""
        wanted = {id(f) for f in findings}
        return [loc.finding for loc in self.located if loc.segment == index and id(loc.finding) in wanted]


class GuardrailEngine:
    """Detectors and guardrails built once from the settings; ``scan`` is called per request."""

    def __init__(
        self, settings: GuardrailSettings, detectors: DetectorSet, guardrails: Sequence[Guardrail]
    ) -> None:
        self.settings = settings
        self.detectors = detectors
        self.guardrails = list(guardrails)
        self.rules = lru_cache(maxsize=1024)(self._rules)
        self.cache = FindingCache(settings.cache_entries)

    @classmethod
    def from_settings(cls, settings: GuardrailSettings, caller: ModelCaller | None = None) -> GuardrailEngine:
        """Load every configured detector and guardrail through the registry.

        A guardrail factory is called with the settings and ``caller`` (which sends messages to a
        configured model, for judges); it may return None to say it is not configured.
        """
        warm_up()
        detectors = DetectorSet.from_names(
            settings.detectors, options=settings.detector_options, min_score=settings.min_score
        )
        names = guardrail_names() if settings.guardrails is None else settings.guardrails
        guardrails = [g for n in names if (g := load(GUARDRAIL_GROUP, n)(settings, caller)) is not None]
        return cls(settings, detectors, guardrails)

    def _rules(self, org: str | None, project: str | None) -> Rules:
        return resolve_rules(self.settings, org, project)

    @property
    def names(self) -> list[str]:
        """Every detector and guardrail name, as requests may select them."""
        return [d.name for d in self.detectors.detectors] + [g.name for g in self.guardrails]

    @property
    def types(self) -> frozenset[str]:
        """Every finding type this engine can report."""
        return self.detectors.types.union(*(g.types for g in self.guardrails))

    async def scan(
        self,
        segments: Sequence[Segment],
        context: ScanContext,
        rules: Rules,
        *,
        only: Collection[str] | None = None,
        remember: bool = True,
    ) -> ScanReport:
        """Run every check that ``rules`` leaves on (or those named in ``only``) and decide.

        ``remember=False`` for texts that will not come again (windows of a stream), which would only
        push useful entries out of the cache.
        """
        detectors = [d for d in self.detectors.detectors if _wanted(d.name, d.types, rules, only)]
        guardrails = [g for g in self.guardrails if _wanted(g.name, g.types, rules, only)]
        report = ScanReport(checks=[d.name for d in detectors] + [g.name for g in guardrails])
        # Detectors run per segment (remembered per text: a resent history costs nothing); async
        # guardrails run once over the joined text (one judge call per request, not per message).
        size = sum(len(s.text) for s in segments)
        if size > INLINE_LIMIT:
            # Large texts: detectors in a worker thread while the async guardrails run here.
            detected, guarded = await asyncio.gather(
                anyio.to_thread.run_sync(self._detect, detectors, segments, remember),
                self._guard(guardrails, segments, context),
            )
        else:
            # Ordinary prompts: inline, which is cheaper than any hand-off (tens of microseconds).
            detected = self._detect(detectors, segments, remember)
            guarded = await self._guard(guardrails, segments, context) if guardrails else []
        min_score = self.detectors.min_score
        for index, results in enumerate(detected):
            for result in results:
                if result.verdict == "error":
                    _failed(report, result)
                    continue
                where = segments[index].where
                report.located.extend(
                    Located(f, where, index) for f in result.findings if f.score >= min_score
                )
        starts = _starts(segments)
        for result in guarded:
            report.reports.extend(result.report)
            if result.verdict == "error":
                _failed(report, result)
                continue
            for finding in result.findings:
                if finding.score >= min_score:
                    report.located.append(_locate(finding, segments, starts, context))
        report.outcome = decide((loc.finding for loc in report.located), rules, context.direction)
        return report

    async def _guard(
        self, guardrails: Sequence[Guardrail], segments: Sequence[Segment], context: ScanContext
    ) -> list[GuardrailResult]:
        if not guardrails:
            return []
        text = Text(SEPARATOR.join(s.text for s in segments))
        if len(guardrails) == 1:
            return [await _guarded(guardrails[0], text, context)]
        return list(await asyncio.gather(*(_guarded(g, text, context) for g in guardrails)))

    def _detect(
        self, detectors: Sequence[Detector], segments: Sequence[Segment], remember: bool = True
    ) -> list[list[GuardrailResult]]:
        """Per segment, each detector's result: from the cache where known, else computed now."""
        out = []
        for segment in segments:
            key = self.cache.key(segment.text) if remember else b""
            known = (self.cache.get(key) if remember else None) or {}
            missing = [d for d in detectors if d.name not in known]
            fresh: dict[str, list[Finding]] = {}
            results = []
            if missing:
                text = Text(segment.text)
                for detector in missing:
                    try:
                        fresh[detector.name] = detector.detect(text)
                    except Exception as exc:  # a detector bug must not pass the text unchecked
                        log.exception("detector %s raised", detector.name)
                        fail_open = bool(getattr(detector, "fail_open", False))
                        results.append(
                            GuardrailResult(
                                detector.name, verdict="error", error=repr(exc), fail_open=fail_open
                            )
                        )
                if fresh and remember:
                    self.cache.put(key, fresh)
            for detector in detectors:
                found = known.get(detector.name, fresh.get(detector.name))
                if found is not None:
                    results.append(GuardrailResult(detector.name, found, "flag" if found else "pass"))
            out.append(results)
        return out


def _failed(report: ScanReport, result: GuardrailResult) -> None:
    log.warning("guardrail %s failed: %s", result.guardrail, result.error)
    if not result.fail_open:
        report.failures.append(result.guardrail)


def _wanted(name: str, types: frozenset[str], rules: Rules, only: Collection[str] | None) -> bool:
    if name in rules.disabled:
        return False
    return only is None or name in only or bool(types.intersection(only))


async def _guarded(guardrail: Guardrail, text: Text, context: ScanContext) -> GuardrailResult:
    try:
        return await guardrail.scan(text, context)
    except Exception as exc:
        log.exception("guardrail %s raised", guardrail.name)
        return GuardrailResult(
            guardrail.name, verdict="error", error=repr(exc), fail_open=guardrail.fail_open
        )


def _starts(segments: Sequence[Segment]) -> list[int]:
    starts, position = [], 0
    for segment in segments:
        starts.append(position)
        position += len(segment.text) + len(SEPARATOR)
    return starts


def _locate(
    finding: Finding, segments: Sequence[Segment], starts: list[int], context: ScanContext
) -> Located:
    """The segment a finding of the joined text lies in, with offsets made relative to it."""
    if finding.end == finding.start == 0 and finding.type == "HASH_MATCH":
        where = ", ".join(a.where for a in context.attachments) or "attachment"
        return Located(finding, where, None)
    if not segments:
        return Located(finding, "text", None)
    index = max(bisect.bisect_right(starts, finding.start) - 1, 0)
    base = starts[index]
    length = len(segments[index].text)
    start = min(max(finding.start - base, 0), length)
    end = min(max(finding.end - base, start), length)  # a span across the separator stops at its segment
    return Located(replace(finding, start=start, end=end), segments[index].where, index)
