"""SELF_HARM: crisis signals (suicidal intent, plans, means, self-harm, harm to others), Japanese and English.

A thin wrapper over ``sekisho.crisis.assess`` so the same judgement shows up in ``/v1/guardrails/scan``
and in the gateway's own crisis handling. One finding per evidence span, all with the assessment's
score, which encodes the level:

- ``imminent``: 0.90-0.98; ``crisis``: 0.75-0.87 — above the engine's default ``min_score`` (0.5).
- ``concern`` (hopelessness, emotional reliance on the AI, no stated intent): 0.30-0.46, *below* the
  default bar on purpose. "No point in anything" is worth a gentler answer, not a block or an audit
  finding on every sad message; an organisation that wants concerns too lowers ``min_score`` or reads
  the assessment directly. ``include_concern=False`` drops them at the source.

Findings never carry the matched text (``Finding`` has none); the signal labels are on the assessment.
"""

from __future__ import annotations

from sekisho.crisis.assess import assess_text
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

SELF_HARM = "SELF_HARM"


class SelfHarmDetector:
    """Crisis signals about the writer (not idioms, not professional or fictional discussion)."""

    name = "self_harm"
    types = frozenset({SELF_HARM})

    def __init__(self, *, include_concern: bool = True) -> None:
        self.include_concern = include_concern

    def detect(self, text: Text) -> list[Finding]:
        if not text.norm.strip():
            return []
        # The rule layer only: detectors run inline on the event loop, and the learned model embeds
        # the text (tens of milliseconds). The gateway's crisis check adds the model in a worker
        # thread whenever the model's gate opens (gateway/crisis_gate.py).
        result = assess_text(text, model=False)
        if result.level == "none" or (result.level == "concern" and not self.include_concern):
            return []
        return [Finding(SELF_HARM, a, b, result.score, self.name) for a, b in result.spans]
