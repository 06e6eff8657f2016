"""``assess``: how worried to be about the person who wrote a text, from ``none`` to ``imminent``.

A cascade, cheapest first:

1. The rules (``rules.assess_text``, ~0.1 ms): lexicon cues checked against idioms, negation, third
   persons and frames. Whatever level they find at ``crisis`` or above is the answer, with their
   signals and spans: every such decision can be explained to a reviewer.
2. The gate (``prefilter.gate``, a single regular expression): does the text come near the topic
   at all (death, pain, methods, heights, pills, goodbyes, slang)? Most business prompts do not, and
   stop here with the rules' answer.
3. The model (``model.CrisisModel``, one embedding, ~20 ms): a head trained on generated and
   hand-written messages reads what the lexicon did not ("bought a rope for the weekend", 「一番高い
   ビルはどこ」). Above its threshold it lifts the level to ``crisis``, or to ``imminent`` when its most
   likely class is a plan or a threat to someone else. Its signal is ``model`` (and
   ``harm_to_others`` for a threat); its spans are the gate's words, the vocabulary that put the text
   in front of it.

The model only raises a level; it never lowers what the rules found, and it is not asked when the
rules set a wish aside on purpose (negated, someone else's, past, quoted, in a professional or
fictional frame): an embedding reads "I'm not suicidal" as close to "I'm suicidal". Level definitions:
``tests/data/crisis/README.md``.
"""

from __future__ import annotations

import re
from typing import Literal

from sekisho.crisis import rules
from sekisho.crisis.model import CrisisModel, Prediction, default_model
from sekisho.crisis.prefilter import gate
from sekisho.crisis.rules import LEVELS, CrisisAssessment, Level
from sekisho.guardrails.text import Text

__all__ = ["LEVELS", "CrisisAssessment", "Level", "assess", "assess_text"]

# "i want to die lol, this exam", 「全滅した。もう死にたい（白目）」: hyperbole the lexicon reads as a wish.
LAUGH = re.compile(r"\b(?:lol|lmao|lmfao|haha\w*|jk|rofl)\b|😂|🤣|💀|笑|ｗ|(?<![a-z])w{2,}|白目|草$")
VETO = 0.3  # the model's P(crisis or worse) under which a laughing wish is taken as a joke

ModelChoice = CrisisModel | Literal[False] | None
"""``None``: the packaged model (if installed); ``False``: rules only; or a model of one's own."""


def assess(text: str, *, model: ModelChoice = None) -> CrisisAssessment:
    """Assess one text (a user message). Offsets in ``spans`` are into ``text`` as given."""
    return assess_text(Text(text), model=model)


def assess_text(t: Text, *, model: ModelChoice = None) -> CrisisAssessment:
    """``assess`` on an already normalised ``Text`` (a detector shares one with the others)."""
    found, set_aside = rules.judge(t)
    if model is False or (found.at_least_crisis and not _joking(found, t)):
        return found
    if set_aside and not found.at_least_crisis:
        return found
    words = gate(t.kana)
    head = model or default_model()
    if not words or head is None or not _enough_context(t.kana):
        return found
    prediction = head.predict(t.original, t.kana)
    if found.at_least_crisis:  # a wish next to a laugh: the one place the model may overrule the rules
        return (
            found if prediction.positive >= VETO else CrisisAssessment("none", 0.0, language=found.language)
        )
    if not prediction.flagged:
        return found
    return _lifted(t, found, prediction, words)


_LATIN_WORD = re.compile(r"[a-z0-9']+")
_CJK = re.compile(r"[\u3040-\u30ff\u3400-\u9fff]")


def _enough_context(folded: str) -> bool:
    """Whether a message says enough for the model to read intent into it.

    The model lifts indirect phrasing ("bought a rope for the weekend"), which needs a sentence; on
    two or three words an embedding matches on topic alone ("fall back", "drop the table"), and
    explicit short wishes ("死にたい", "kms") are the rules' job anyway.
    """
    return len(_LATIN_WORD.findall(folded)) >= 4 or len(_CJK.findall(folded)) >= 8


def _joking(found: CrisisAssessment, t: Text) -> bool:
    """A bare wish (level crisis, no plan or means) with a laugh in the same message."""
    return found.level == "crisis" and LAUGH.search(t.kana) is not None


def _lifted(
    t: Text, found: CrisisAssessment, prediction: Prediction, words: list[tuple[int, int]]
) -> CrisisAssessment:
    level: Level = "crisis" if prediction.top == "crisis" else "imminent"
    signals = {"model", *found.signals}
    if prediction.top == "harm":
        signals.add("harm_to_others")
    # Same score bands as the rules (crisis 0.75-0.87, imminent 0.9-0.98), placed by the model's margin.
    base, width = (0.75, 0.12) if level == "crisis" else (0.9, 0.08)
    margin = (prediction.positive - prediction.threshold) / max(1.0 - prediction.threshold, 1e-9)
    score = round(base + width * min(max(margin, 0.0), 1.0), 4)
    merged: list[list[int]] = []
    for a, b in sorted(words):
        if merged and a <= merged[-1][1] + 1:
            merged[-1][1] = max(merged[-1][1], b)
        else:
            merged.append([a, b])
    spans = tuple(t.span(a, b) for a, b in merged)
    return CrisisAssessment(level, score, tuple(sorted(signals)), spans, found.language)
