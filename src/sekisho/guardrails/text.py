"""One normalised view of a text that every detector shares, with offsets mapped back.

Detectors match on ``Text.norm``: NFKC (full-width digits and letters become ASCII, half-width katakana
becomes full-width, ``㍿`` becomes ``株式会社``), so one pattern covers every way people type a value.
A finding must still point into the text the user sent, so ``Text.span`` maps a range of ``norm`` back
to the original. ``Text.kana`` additionally folds katakana to hiragana (one character for one, so it
shares ``norm``'s offsets) for list matching where 「パスワード」 and 「ぱすわーど」 must be the same word.
"""

from __future__ import annotations

import re
import unicodedata
from array import array
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, cached_property
from typing import Any, TypeVar

from sekisho.guardrails.finding import Finding

T = TypeVar("T")

# Characters that NFKC may fold into the character before them; a normalisation unit never starts
# with one. Half-width voiced marks (ﾞﾟ) compose with the preceding half-width katakana.
_JOINERS = frozenset("\uff9e\uff9f\u3099\u309a")
# Hangul vowel and final jamo (conjoining, compatibility and half-width) compose with what precedes.
_JAMO = ((0x1160, 0x11FF), (0x314F, 0x318E), (0xFFC2, 0xFFDC))
_KATAKANA_TO_HIRAGANA = {cp: cp - 0x60 for cp in range(0x30A1, 0x30F7)}


@dataclass(frozen=True, slots=True)
class _Complex:
    find: re.Pattern[str]  # one expanding or joining character in the BMP
    astral: frozenset[str]  # the same beyond the BMP (emoji are common there: checked one by one)
    joiners: re.Pattern[str]  # a run of joining characters
    joining_set: frozenset[str]


@cache
def _complex() -> _Complex:
    """The pieces of text where NFKC does not map one character to one character.

    A character that expands or vanishes (``㍿`` → ``株式会社``), or any character followed by marks that
    compose with it (``ｶﾞ`` → ``ガ``, ``e`` + U+0301 → ``é``, Hangul jamo). Every other change is one
    character for one (full-width ASCII, half-width katakana, ``（``), so offsets survive it. Built once
    per process from the running Python's Unicode tables (about half a second); ``warm_up`` pays for it
    at start-up.
    """
    expanding: list[int] = []
    joining: list[int] = []
    for cp in range(0x80, 0x110000):
        if 0xD800 <= cp < 0xE000:
            continue
        ch = chr(cp)
        if unicodedata.combining(ch) or ch in _JOINERS or any(a <= cp <= b for a, b in _JAMO):
            joining.append(cp)
        elif len(unicodedata.normalize("NFKC", ch)) != 1:
            expanding.append(cp)
    found = sorted(expanding + joining)
    # Two classes: Python's regex engine tests a class of BMP characters with a bitmap, but one that
    # also holds astral ranges with a slow range scan (50x slower on Japanese text).
    bmp, astral = [cp for cp in found if cp <= 0xFFFF], [cp for cp in found if cp > 0xFFFF]
    return _Complex(
        re.compile(_char_class(bmp)),
        frozenset(map(chr, astral)),
        re.compile(_char_class(joining) + "*"),
        frozenset(map(chr, joining)),
    )


def _char_class(codepoints: list[int]) -> str:
    ranges: list[list[int]] = []
    for cp in sorted(codepoints):
        if ranges and ranges[-1][1] == cp - 1:
            ranges[-1][1] = cp
        else:
            ranges.append([cp, cp])
    body = "".join(
        re.escape(chr(a)) if a == b else f"{re.escape(chr(a))}-{re.escape(chr(b))}" for a, b in ranges
    )
    return f"[{body}]"


def warm_up() -> None:
    """Build the normalisation tables now rather than on the first request."""
    _complex()


class Text:
    """``original``, its NFKC form ``norm``, and the offset map between them."""

    __slots__ = ("__dict__", "_ends", "_shared", "_starts", "norm", "original")

    def __init__(self, original: str) -> None:
        self.original = original
        self._shared: dict[str, Any] = {}
        if original.isascii():
            # ASCII is already NFKC: the common case for English and for code costs nothing.
            self.norm = original
            self._starts: array[int] | None = None
            self._ends: array[int] | None = None
            return
        quick = unicodedata.is_normalized("NFKC", original)
        if quick:
            self.norm = original
            self._starts = None
            self._ends = None
            return
        self.norm, self._starts, self._ends = _normalise(original)

    @property
    def identity(self) -> bool:
        """``norm`` and ``original`` share offsets."""
        return self._starts is None

    def span(self, start: int, end: int) -> tuple[int, int]:
        """The original range that the range ``[start, end)`` of ``norm`` came from."""
        if self._starts is None or self._ends is None:
            return start, end
        if end <= start:
            position = self._starts[start] if start < len(self._starts) else len(self.original)
            return position, position
        return self._starts[start], self._ends[end - 1]

    @cached_property
    def kana(self) -> str:
        """``norm`` lower-cased with katakana folded to hiragana; same offsets as ``norm``."""
        folded = self.norm.translate(_KATAKANA_TO_HIRAGANA)
        lowered = folded.lower()
        # lower() can change length for a few characters (e.g. 'İ'); keep offsets aligned then.
        return lowered if len(lowered) == len(folded) else folded

    def shared(self, key: str, compute: Callable[[Text], T]) -> T:
        """``compute(self)``, computed once per text and shared by every detector that asks by ``key``.

        For work several detectors need (one scan for digit runs, one tokenisation): a dozen passes
        over the same 2,000 characters would cost more than the detectors themselves.
        """
        try:
            return self._shared[key]  # type: ignore[no-any-return]
        except KeyError:
            value = self._shared[key] = compute(self)
            return value

    def finding(self, type: str, start: int, end: int, score: float, detector: str) -> Finding:
        """A finding for the range ``[start, end)`` of ``norm``, with offsets into ``original``."""
        a, b = self.span(start, end)
        return Finding(type, a, b, score, detector)

    def __len__(self) -> int:
        return len(self.original)

    def __repr__(self) -> str:
        return f"Text({self.original[:40]!r}{'…' if len(self.original) > 40 else ''})"


_ASTRAL = re.compile("[\U00010000-\U0010ffff]")


def _normalise(original: str) -> tuple[str, array[int] | None, array[int] | None]:
    """NFKC with the original range of every output character, in linear time.

    Without complex pieces the whole string is normalised at C speed and offsets are unchanged.
    Otherwise only the complex pieces are normalised one by one; the runs between them map one to one.
    """
    pattern = _complex()
    hits = [m.start() for m in pattern.find.finditer(original)]
    if _ASTRAL.search(original) is not None:
        astral = [m.start() for m in _ASTRAL.finditer(original) if m.group() in pattern.astral]
        hits = sorted(hits + astral)
    if not hits:
        norm = unicodedata.normalize("NFKC", original)
        if len(norm) == len(original):
            return norm, None, None
    out: list[str] = []
    starts = array("q")
    ends = array("q")
    done = 0
    for i in hits:
        if i < done:
            continue  # already inside the previous piece
        if i > done and original[i] in pattern.joining_set:
            i -= 1  # a mark composes with the character before it: normalise them together
        match = pattern.joiners.match(original, i + 1)
        j = match.end() if match else i + 1
        if i > done:
            out.append(unicodedata.normalize("NFKC", original[done:i]))
            starts.extend(range(done, i))
            ends.extend(range(done + 1, i + 1))
        normal = unicodedata.normalize("NFKC", original[i:j])
        out.append(normal)
        starts.extend([i] * len(normal))
        ends.extend([j] * len(normal))
        done = j
    if done < len(original):
        out.append(unicodedata.normalize("NFKC", original[done:]))
        starts.extend(range(done, len(original)))
        ends.extend(range(done + 1, len(original) + 1))
    return "".join(out), starts, ends
