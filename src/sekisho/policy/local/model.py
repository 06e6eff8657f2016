"""The trained weights (``data/policy_local.npz``) and the arithmetic on them, numpy only.

Two linear heads over the same sixteen categories, trained by ``scripts/train_policy.py``:

- ``lexical``: multinomial logistic regression on ``features.hashed`` (character and word n-grams
  plus cue tokens), ``2**BITS`` x 16 weights stored as float16 (2 MB: the precision lost is far
  below the noise between training runs).
- ``semantic``: multinomial logistic regression on the multilingual-e5-small embedding (384-d,
  ``query:`` prefix) of the focused text.

They are combined as a weighted sum of log-probabilities (``alpha`` on the lexical side) plus a bias
towards the block categories (``block_bias``: the issue asks for block recall >= 0.95, so a missed
prohibited use costs more than a false one), and the lexical head alone answers when it is sure a
request is ``none`` (``skip_none``) and no risky cue matched. These numbers were chosen on
``tests/data/policy/dev.jsonl``; the test split chose nothing.
"""

from __future__ import annotations

from dataclasses import dataclass
from functools import cache
from pathlib import Path

import numpy as np
import numpy.typing as npt

from sekisho.policy.verdict import BLOCK_CATEGORIES

MODEL_PATH = Path(__file__).resolve().parent.parent / "data" / "policy_local.npz"

F32 = npt.NDArray[np.float32]
F64 = npt.NDArray[np.float64]


def softmax(z: F64) -> F64:
    e = np.exp(z - z.max())
    out: F64 = e / e.sum()
    return out


@dataclass(frozen=True, slots=True)
class Weights:
    categories: tuple[str, ...]
    lexical_w: F32  # (2**BITS, n_categories)
    lexical_b: F64
    semantic_w: F32  # (384, n_categories)
    semantic_b: F64
    alpha: float  # weight of the lexical log-probabilities in the blend (1 - alpha: semantic)
    skip_none: float  # lexical P(none) at or above which the embedding is skipped (with no risky cue)
    block_bias: (
        float  # added to the blended log-probability of each block category (a missed block costs more)
    )

    def lexical(self, buckets: npt.NDArray[np.int64], values: F32) -> F64:
        """Category log-probabilities from the sparse n-gram features."""
        z = self.lexical_b + (values @ self.lexical_w[buckets]).astype(np.float64)
        return np.log(softmax(z))

    def semantic(self, embedding: F32) -> F64:
        """Category log-probabilities from one (unit-length) embedding."""
        z = self.semantic_b + (embedding @ self.semantic_w).astype(np.float64)
        return np.log(softmax(z))

    def blend(self, lexical: F64, semantic: F64) -> F64:
        """The combined probabilities."""
        z = self.alpha * lexical + (1.0 - self.alpha) * semantic
        z[[c in BLOCK_CATEGORIES for c in self.categories]] += self.block_bias
        return softmax(z)


@cache
def load_weights(path: str) -> Weights:
    """Read the weights once per path (``np.load`` of a plain npz: no pickle, nothing downloaded)."""
    with np.load(path, allow_pickle=False) as data:
        return Weights(
            tuple(str(c) for c in data["categories"]),
            data["lexical_w"].astype(np.float32),
            data["lexical_b"].astype(np.float64),
            data["semantic_w"].astype(np.float32),
            data["semantic_b"].astype(np.float64),
            float(data["alpha"]),
            float(data["skip_none"]),
            float(data["block_bias"]) if "block_bias" in data else 0.0,
        )
