"""The rules half of ``assess`` (v3): how worried to be about the writer, from ``none`` to ``imminent``.

``sekisho.crisis.assess`` runs these first and asks the model (``model``) only when they find less
than a crisis and the gate (``prefilter``) opens; ``assess`` here is the rules alone.

Pure, synchronous and linear in the length of the text: one NFKC fold (shared ``Text``), one pass of
each cue pattern (``lexicon.CUES``) of the scripts present, bounded-window context checks per hit
(``context``), and comparisons of each hit only with the hits in a window around it (``_Pool``). Every
decision here can be explained to a reviewer and to the person who wrote the text, so each level comes
with the labels and the spans that produced it.

Levels (the line drawn is documented in ``tests/data/crisis/README.md``):

- ``concern``: hopelessness ("no point living", 「生きる意味がない」) or emotional reliance on the AI, with
  no wish to die stated; also a softer wish (「消えたい」) next to an explicit "I'm not suicidal".
- ``crisis``: a first-person wish to die or to kill oneself (passive wishes too: "never wake up"), or
  self-harm.
- ``imminent``: a crisis with a plan, a means or a time (「今夜」, "the pills", 「薬を全部」), a question
  about how to die, an act in progress (an overdose taken), a written note; a decision stated
  (「自殺します」, "I'm going to kill myself"); a bare 「死ぬ」 or "I'm going to do it" next to a time or a
  method; two goodbyes together (a note and 「さようなら」); or a threat to hurt others with a time, a
  weapon or preparation.
"""

from __future__ import annotations

import re
from bisect import bisect_left
from dataclasses import dataclass
from typing import Literal

from sekisho.crisis import context as ctx
from sekisho.crisis.lexicon import CUES, Cue
from sekisho.guardrails.text import Text

Level = Literal["none", "concern", "crisis", "imminent"]
LEVELS: tuple[Level, ...] = ("none", "concern", "crisis", "imminent")
NEAR = 120  # characters: a plan, a means or a time this close to a wish belongs to it

_CORE = frozenset({"intent", "self_harm"})
_CONTEXT = frozenset({"plan", "means", "timeframe"})
_CONCERN = frozenset({"hopelessness", "reliance_on_ai"})
_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_LATIN = re.compile(r"[a-z]")


@dataclass(frozen=True, slots=True)
class CrisisAssessment:
    """The level, a score in 0..1, signal labels (never user text) and evidence spans in the original text."""

    level: Level
    score: float
    signals: tuple[str, ...] = ()
    spans: tuple[tuple[int, int], ...] = ()
    language: Literal["ja", "en"] = "en"  # the language of the text: the one to answer in

    @property
    def at_least_crisis(self) -> bool:
        return self.level in ("crisis", "imminent")


@dataclass(frozen=True, slots=True)
class _Hit:
    start: int
    end: int
    cue: Cue

    @property
    def signals(self) -> frozenset[str]:
        return self.cue.implies


def assess(text: str) -> CrisisAssessment:
    """Assess one text (a user message). Offsets in ``spans`` are into ``text`` as given."""
    return assess_text(Text(text))


def assess_text(t: Text) -> CrisisAssessment:
    """``assess`` on an already normalised ``Text`` (a detector shares one with the others)."""
    return judge(t)[0]


def judge(t: Text) -> tuple[CrisisAssessment, bool]:
    """The rules' assessment, and whether they *set aside* a wish or self-harm cue: negated ("I'm not
    suicidal"), someone else's, past, quoted or inside a professional or fictional frame; or a goodbye
    set aside because the writer is leaving a job, a school or a flat. The cascade does not ask the
    model then: the rules read the sentence and decided it is not the writer's wish."""
    folded = t.kana
    language: Literal["ja", "en"] = "ja" if _JAPANESE.search(folded) else "en"
    # Each language's cues run only on text with that script: half the passes for a monolingual message.
    langs = {"ja"} if language == "ja" else set()
    if _LATIN.search(folded):
        langs.add("en")
    hits, denied, aside = _hits(folded, langs)
    return _judge(t, hits, denied, language), denied or aside


def _hits(s: str, langs: set[str]) -> tuple[list[_Hit], bool, bool]:
    """Cue matches that survive idioms, negation, third persons, frames; whether a wish was denied; and
    whether a wish or self-harm cue was silenced by its context."""
    idioms = [(m.start(), m.end()) for m in ctx.IDIOMS.finditer(s)]
    marks = ctx.Marks(s)
    hits: list[_Hit] = []
    denied = aside = False
    for cue in CUES:
        if cue.lang not in langs:
            continue
        for m in cue.pattern.finditer(s):
            a, b = m.start(), m.end()
            if a == b or any(x < b and a < y for x, y in idioms):
                continue
            if cue.implies & _CORE and ctx.negated(s, a, b, cue.lang):
                denied = True
                continue
            if _silenced(s, a, b, cue, marks):
                aside = aside or bool(cue.implies & _CORE) or cue.farewell
                continue
            hits.append(_Hit(a, b, cue))
    return hits, denied, aside


def _silenced(s: str, a: int, b: int, cue: Cue, marks: ctx.Marks) -> bool:
    about_someone = cue.implies & (_CORE | _CONCERN) or cue.farewell
    if about_someone and (ctx.recovered(s, a, b) or ctx.third_person(s, a, b, cue.lang)):
        return True
    if cue.lang == "ja" and about_someone and ctx.joke_ja(s, b):
        return True
    if cue.lang == "en" and ctx.reported_en(s, a, b):
        return True
    if cue.bare and ctx.other_object_ja(s, a):
        return True
    if cue.farewell and marks.near(ctx.LEAVING, a, b):
        return True
    if cue.acquired and marks.near(ctx.LEISURE, a, b):
        return True
    if cue.needs and cue.lang == "ja" and marks.near(ctx.TECH_JA, a, b):
        return True
    if ("violence" in cue.implies or (cue.topic and "means" in cue.implies)) and marks.near(ctx.GAME, a, b):
        return True
    if cue.hype:
        lo, hi = ctx.clause_bounds(s, a, b)
        if ctx.HYPERBOLE_EN.search(s, lo, hi):
            return True
    quoted = ctx.in_quotes(s, a, b)
    frame = marks.near(ctx.FRAME, a, b)
    if quoted and (frame or ctx.REPORTED_JA.search(s[b : b + 24])):
        return True
    if frame and (cue.topic or (cue.lang == "ja" and not ctx.first_person_ja(s, a))):
        return True
    if "violence" in cue.implies and cue.lang == "en":
        lo, hi = ctx.clause_bounds(s, a, b)
        return ctx.HYPERBOLE_EN.search(s, lo, hi) is not None
    return False


def _near(x: _Hit, y: _Hit) -> bool:
    return y.start < x.end + NEAR and x.start < y.end + NEAR


class _Pool:
    """Hits sorted by start, so "which are near this one" reads a bounded window, not every hit: a long
    text full of cues (「さようなら。」 ten thousand times) stays linear instead of quadratic."""

    def __init__(self, hits: list[_Hit]) -> None:
        self.hits = sorted(hits, key=lambda h: h.start)
        self.starts = [h.start for h in self.hits]
        self.longest = max((h.end - h.start for h in self.hits), default=0)

    def near(self, x: _Hit) -> list[_Hit]:
        lo = bisect_left(self.starts, x.start - NEAR - self.longest)
        hi = bisect_left(self.starts, x.end + NEAR)
        return [y for y in self.hits[lo:hi] if y is not x and _near(x, y)]


def _judge(t: Text, hits: list[_Hit], denied: bool, language: Literal["ja", "en"]) -> CrisisAssessment:
    concern = [h for h in hits if h.signals & _CONCERN]
    core: list[_Hit] = []
    for h in hits:
        if not h.signals & _CORE or h.cue.needs:
            continue
        if denied and h.cue.soft:
            concern.append(h)  # "I'm not suicidal, I just want to disappear": distress, not intent
        else:
            core.append(h)
    context = _Pool([h for h in hits if h.signals & _CONTEXT and not h.signals & _CORE])
    farewells = _Pool([h for h in hits if h.cue.farewell])
    evidence: list[_Hit] = []
    signals: set[str] = set()

    for h in hits:
        if h.cue.plan:  # a note written, an overdose taken: imminent on its own
            evidence.append(h)
            signals |= h.signals
    for h in core:
        near = context.near(h)
        if h.signals & _CONTEXT or near:
            evidence += [h, *near]
            signals |= h.signals.union(*(c.signals for c in near))
    for h in (h for h in hits if h.cue.needs):  # 「今週中に死ぬ」, "I'm on the roof, I'm going to do it"
        near = [c for c in context.near(h) if c.signals & h.cue.needs]
        if near:
            evidence += [h, *near]
            signals |= h.signals.union(*(c.signals for c in near))
    for (
        h
    ) in farewells.hits:  # a note and a goodbye; belongings given away "and I won't need them after Friday"
        others = [f for f in farewells.near(h) if f.end <= h.start or h.end <= f.start]
        if others:
            evidence += [h, *others]
            signals |= {"plan"}
    for h in (h for h in hits if "violence" in h.signals):
        near = [c for c in context.near(h) if c.signals & {"timeframe", "means", "plan"}]
        if "means" in h.signals or near:
            evidence += [h, *near]
            signals |= {"harm_to_others"} | set().union(*(c.signals for c in near))
    for h in (h for h in hits if h.cue.acquired):  # a rope bought, and "tonight I'll use it"
        near = [c for c in context.near(h) if c.signals & {"plan", "timeframe"}]
        if any("plan" in c.signals for c in near):
            evidence += [h, *near]
            signals |= {"means"}.union(*(c.signals for c in near))
    for h in concern:  # distress next to a lethal means ("致死量は？もう楽になりたい")
        near = [c for c in context.near(h) if c.cue.topic and "means" in c.signals]
        if near:
            evidence += [h, *near]
            signals |= h.signals | {"means"}
    if evidence:
        return _result(t, "imminent", evidence, signals, language)
    if core:
        return _result(t, "crisis", core, set().union(*(h.signals for h in core)), language)
    if concern:
        labels = set().union(*(h.signals & _CONCERN for h in concern)) or {"hopelessness"}
        return _result(t, "concern", concern, labels, language)
    return CrisisAssessment("none", 0.0, language=language)


# Score bands: concern stays below 0.5 (the guardrail engine's default ``min_score``), so a concern is
# reported only where an organisation asks for it; crisis and imminent are above it.
_BASE = {"concern": 0.3, "crisis": 0.75, "imminent": 0.9}
_STEP = {"concern": 0.04, "crisis": 0.03, "imminent": 0.02}


def _result(
    t: Text, level: Level, evidence: list[_Hit], signals: set[str], language: Literal["ja", "en"]
) -> CrisisAssessment:
    labels = tuple(sorted(signals - {"violence", "method"}))
    score = _BASE[level] + _STEP[level] * min(len(evidence) - 1, 4)
    merged: list[list[int]] = []
    for h in sorted(evidence, key=lambda h: (h.start, h.end)):
        if merged and h.start <= merged[-1][1]:
            merged[-1][1] = max(merged[-1][1], h.end)
        else:
            merged.append([h.start, h.end])
    spans = tuple(t.span(a, b) for a, b in merged)
    return CrisisAssessment(level, round(score, 4), labels, spans, language)
