"""Text folding, the part of a long text that is read, and hashed n-gram features.

Shared by the runtime classifier and ``scripts/train_policy.py`` (which builds its rows with exactly
these functions), so training and inference cannot drift apart.

- ``fold``: NFKC, lower case, katakana as hiragana, zero-width characters dropped, whitespace runs as
  one space: 「サイヨウ」 and 「さいよう」, ``Ｌｏａｎ`` and ``loan`` are the same features, and
  ``i\u200bgnore``-style tricks change nothing.
- ``focus``: a request is an instruction plus, often, a pasted document (a CV, a claim file, meeting
  notes). The instruction sits at the start or the end, so a text longer than ``LONG`` characters is
  read as its first and last ``EDGE`` characters. The middle of a pasted document carries domain words
  but not the request, and reading it would make every long HR document look like a hiring decision.
- ``hashed``: character 2–4-grams (Japanese needs no tokenizer) and word 1–2-grams of ASCII words,
  each counted once, hashed into ``2**BITS`` buckets and L2-normalised, plus the cue tokens that
  ``cues.match`` found (so the trained weights, not hand-set numbers, decide what a cue is worth).
"""

from __future__ import annotations

import itertools
import re
import unicodedata
import zlib

import numpy as np
import numpy.typing as npt

BITS = 16
LONG = 1200  # characters of folded text read whole
EDGE = 500  # characters kept from each end of a longer text
CHAR_NGRAMS = (2, 3, 4)

_KATAKANA = {cp: cp - 0x60 for cp in range(0x30A1, 0x30F7)}
_ZERO_WIDTH = dict.fromkeys(map(ord, "\u200b\u200c\u200d\u2060\ufeff\xad"))
_SPACE = re.compile(r"\s+")
_WORD = re.compile(r"[a-z0-9][a-z0-9'\-]*")


def fold(text: str) -> str:
    """The canonical form every feature and cue is read from."""
    # Lone surrogates (possible in a str from JSON) become U+FFFD: they cannot be encoded for the model.
    text = text.encode("utf-16", "surrogatepass").decode("utf-16", "replace")
    folded = unicodedata.normalize("NFKC", text).translate(_ZERO_WIDTH).lower().translate(_KATAKANA)
    return _SPACE.sub(" ", folded).strip()


def focus(folded: str) -> str:
    """The instruction-bearing part of a folded text: all of it, or its two ends joined by a newline."""
    if len(folded) <= LONG:
        return folded
    return folded[:EDGE] + "\n" + folded[-EDGE:]


def _bucket(token: str) -> int:
    # crc32 is stable across processes and platforms (``hash`` is salted per process).
    return zlib.crc32(token.encode("utf-8", "surrogatepass")) & ((1 << BITS) - 1)


def tokens(folded: str, cue_tokens: tuple[str, ...] = ()) -> set[str]:
    """Every distinct feature token of a focused, folded text."""
    out: set[str] = set()
    padded = f"\x02{folded}\x03"
    for n in CHAR_NGRAMS:
        out.update("c" + padded[i : i + n] for i in range(len(padded) - n + 1))
    words = _WORD.findall(folded)
    out.update("w" + w for w in words)
    out.update(f"b{a} {b}" for a, b in itertools.pairwise(words))
    out.update("q" + c for c in cue_tokens)
    return out


def hashed(
    folded: str, cue_tokens: tuple[str, ...] = ()
) -> tuple[npt.NDArray[np.int64], npt.NDArray[np.float32]]:
    """Sparse L2-normalised binary features: (bucket indices, values)."""
    buckets = np.unique(np.fromiter((_bucket(t) for t in tokens(folded, cue_tokens)), dtype=np.int64))
    if len(buckets) == 0:
        return buckets, np.zeros(0, np.float32)
    return buckets, np.full(len(buckets), 1.0 / np.sqrt(len(buckets)), np.float32)
