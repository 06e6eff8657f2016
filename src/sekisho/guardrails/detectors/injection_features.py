"""Hashed features for the PROMPT_INJECTION classifier, shared by the detector and its training script.

Character 1–5-grams of the folded text (``Text.kana``: NFKC, lower case, katakana as hiragana, so
Japanese needs no tokenizer) and word uni/bigrams, hashed with numpy: a 2,000-character prompt costs a
few dozen vector operations, not a Python loop per n-gram. Each feature counts once per sentence.
Zero-width characters are dropped first (``i\u200bgnore`` reads ``ignore``) and JSON punctuation reads
as a space. ``scripts/train_injection.py`` builds its training rows from exactly these features.
"""

from __future__ import annotations

import re
import threading
from dataclasses import dataclass

import numpy as np
import numpy.typing as npt

U64 = npt.NDArray[np.uint64]
I64 = npt.NDArray[np.int64]

CHAR_NGRAMS = (1, 2, 3, 4, 5)
WORD_FAMILY, BIGRAM_FAMILY = 11, 12
_P = np.uint64(0x100000001B3)  # FNV prime: the polynomial base for n-grams and word bigrams
_M = np.uint64(0x9E3779B97F4A7C15)  # odd: multiplicative hashing, and invertible modulo 2**64
_M_INV = np.uint64(pow(0x9E3779B97F4A7C15, -1, 2**64))
_SALT = [np.uint64((f * 0xBF58476D1CE4E5B9) % 2**64) for f in range(16)]
_MAX_SEGMENT = 320  # longer sentences (no punctuation) are scored in overlapping pieces of this length
_ZERO_WIDTH = "\u200b\u200c\u200d\u2060\u2061\u2062\u2063\u2064\ufeff\xad"


def _classes() -> npt.NDArray[np.uint8]:
    """Per BMP code point: 1 word, 2 sentence end, 4 ASCII sentence end, 8 space, 16 zero-width, 32 JSON."""
    table = np.zeros(0x10000, np.uint8)
    for lo, hi in ((0x30, 0x39), (0x61, 0x7A), (0x41, 0x5A), (0xC0, 0x24F), (0x370, 0x4FF), (0x27, 0x27)):
        table[lo : hi + 1] |= 1
    for flag, chars in (
        (2, "。！？\n"),
        (4, ".!?"),
        (8, " \t\r\n\u3000"),
        (16, _ZERO_WIDTH),
        (32, '{}[]"\\'),
    ):
        table[[ord(c) for c in chars]] |= flag
    return table


_CLASS = _classes()


@dataclass(frozen=True, slots=True)
class Features:
    """The hashed features of one text, in the coordinates of its visible characters."""

    buckets: I64  # feature buckets, every family concatenated
    hashes: U64  # the full 64-bit hashes the buckets are cut from
    positions: I64  # where each feature starts
    kept: npt.NDArray[np.bool_]  # first occurrence of its bucket in its sentence
    bounds: I64  # sentence boundaries: 0, ends..., n
    where: I64 | None  # visible position -> position in the text, when zero-width characters were dropped
    length: int  # visible characters
    dense: int  # the first ``dense`` features are character n-grams, family by family, one per position


def featurise(folded: str, bits: int) -> Features:
    """Features of ``folded`` (``Text.kana``: NFKC, lower case, katakana folded to hiragana)."""
    codes = np.frombuffer(folded.encode("utf-32-le"), dtype=np.uint32).astype(np.uint64)
    cls = _CLASS[np.minimum(codes, 0xFFFF)]
    where: I64 | None = None
    if (cls & 16).any():
        visible = (cls & 16) == 0
        where = np.flatnonzero(visible)
        codes, cls = codes[visible], cls[visible]
    if (cls & 32).any():  # JSON punctuation reads as a space: tool results are JSON, and benign
        codes = np.where((cls & 32) != 0, np.uint64(32), codes)  # JSON looked like an attack
    n = len(codes)
    hashes: list[U64] = []
    base = np.arange(n, dtype=np.int64)
    positions: list[I64] = []
    h = codes
    for size in range(1, max(CHAR_NGRAMS) + 1):
        if size > 1:
            h = h[:-1] * _P + codes[size - 1 :]
        if len(h) == 0:
            break
        if size in CHAR_NGRAMS:
            hashes.append(h + _SALT[size])
            positions.append(base[: len(h)])
    families, dense = len(hashes), sum(len(x) for x in hashes)  # character n-grams: one per position
    word = (cls & 1).astype(np.int8)
    edges = np.flatnonzero(np.diff(np.concatenate(([0], word, [0])).astype(np.int8)))
    starts, ends = edges[0::2], edges[1::2]
    if len(starts):
        # The hash of codes[s:e] is sum(c_j * M**-(j - s)): prefix sums give every word at once.
        inv, fwd = _powers(n)
        prefix = np.concatenate((np.zeros(1, np.uint64), np.cumsum(codes * inv[:n], dtype=np.uint64)))
        words = (prefix[ends] - prefix[starts]) * fwd[starts]
        hashes.append(words + _SALT[WORD_FAMILY])
        positions.append(starts)
        if len(words) > 1:
            hashes.append(words[:-1] * _P + words[1:] + _SALT[BIGRAM_FAMILY])
            positions.append(starts[:-1])
    # Sentence ends: 。！？ or a newline anywhere; . ! ? when followed by a space or the end.
    follows = np.concatenate((cls[1:], np.full(1, 8, np.uint8)))
    is_end = ((cls & 2) != 0) | (((cls & 4) != 0) & ((follows & 12) != 0) & ((follows & 4) == 0))
    bounds = np.concatenate(([0], np.flatnonzero(is_end) + 1, [n])).astype(np.int64)
    bounds = bounds[np.concatenate(([True], np.diff(bounds) > 0))]
    long = np.flatnonzero(np.diff(bounds) > _MAX_SEGMENT)
    if len(long):  # cut every half piece: a pair of neighbours is then a piece, and pieces overlap by half
        step = _MAX_SEGMENT // 2
        cuts = [np.arange(bounds[i] + step, bounds[i + 1] - step // 2, step) for i in long.tolist()]
        bounds = np.union1d(bounds, np.concatenate(cuts)).astype(np.int64)
    if not hashes:
        empty = np.zeros(0, np.int64)
        return Features(empty, np.zeros(0, np.uint64), empty, np.zeros(0, bool), bounds, where, n, 0)
    mixed = np.concatenate(hashes) * _M
    buckets = ((mixed ^ (mixed >> np.uint64(29))) * _M >> np.uint64(64 - bits)).astype(np.int64)
    position = np.concatenate(positions)
    sentence = np.zeros(n + 1, np.int64)
    sentence[bounds[1:-1]] = 1
    sid = np.cumsum(sentence) * 0x9E3779B1
    sids = np.concatenate([sid[: len(x)] for x in positions[:families]] + [sid[position[dense:]]])
    key = (buckets ^ sids) & _DEDUP_MASK
    return Features(buckets, mixed, position, _first(key), bounds, where, n, dense)


_POWERS: tuple[U64, U64] = (np.zeros(0, np.uint64), np.zeros(0, np.uint64))


def _powers(n: int) -> tuple[U64, U64]:
    """``M**-i * M`` and ``M**i * M**-1`` for i < n, grown on demand (a tuple swap: safe across threads)."""
    global _POWERS
    if len(_POWERS[0]) < n:
        size = max(n, 4096)
        inv = np.full(size, _M_INV, np.uint64).cumprod() * _M
        _POWERS = (inv, np.full(size, _M, np.uint64).cumprod() * _M_INV)
    return _POWERS


_SCRATCH = threading.local()
_DEDUP_MASK = (1 << 20) - 1  # a table of 4 MB per thread; ~1 % of features collide and are dropped


def _first(key: I64) -> npt.NDArray[np.bool_]:
    """One occurrence of each key (a scatter into a reused table: no sort, no allocation per call)."""
    table = getattr(_SCRATCH, "table", None)
    if table is None:
        table = _SCRATCH.table = np.zeros(_DEDUP_MASK + 1, np.int32)
    index = np.arange(len(key), dtype=np.int32)
    table[key] = index
    first: npt.NDArray[np.bool_] = table[key] == index
    return first


def needle_hash(needle: str, bits: int) -> tuple[int, int]:
    """Bucket and 64-bit hash of a key word (a word feature) or short phrase (a character n-gram)."""
    features = featurise(needle, bits)
    families = [len(needle) - n + 1 for n in CHAR_NGRAMS if n <= len(needle)]
    if re.fullmatch(r"[a-z0-9']+", needle):
        i = sum(families)  # the first word feature
    elif len(needle) in CHAR_NGRAMS:
        i = sum(families[: CHAR_NGRAMS.index(len(needle))])
    else:
        raise ValueError(f"a needle must be a word or {max(CHAR_NGRAMS)} characters at most: {needle!r}")
    return int(features.buckets[i]), int(features.hashes[i])
