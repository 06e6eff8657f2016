"""Personal names in Japanese text: SudachiPy's 人名 tags, read only where a cue says a name is near.

Sudachi analyses about a million characters a second, so a 2,000-character prompt would cost 2 ms
on its own: more than this detector's share. Names in Japanese writing are almost always marked,
though — 「山田様」「田中さん」「佐藤部長」「氏名：鈴木一郎」「担当：高橋」「…の中村です」 — or sit in a
slot only a person fills (「田中と会う」「佐藤から電話があった」). The detector finds those cues with one
regex pass, cuts the few characters beside each cue, and runs Sudachi **once** over all of them
joined by newlines. Text with no kana or kanji is skipped outright.

Around a cue, consecutive tokens tagged 名詞,固有名詞,人名 (姓, 名, or 一般 for foreign names) form one
span, a space between 姓 and 名 included. Place names (大阪様), company names (山田商事様) and common
nouns (お客様, 皆様) are not 人名 and so are not reported. A one-kanji surname (林さん) counts right
before an honorific or title when nothing else is attached to it. A reading in parentheses after a
name, before or after its honorific (「山田太郎（やまだ）」「山田様（ヤマダ）」), is a PERSON span of its
own, and so is a katakana or hiragana value after フリガナ/カナ. Names listed after a label
(「出席者：田中、鈴木」) and names joined by と (「佐藤と長尾が」) are followed along the list.
"""

from __future__ import annotations

import threading
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sekisho.guardrails.detectors.ja_numbers import has_japanese
from sekisho.guardrails.detectors.ja_person_cues import (
    BATCH,
    CUES,
    DIGITISH,
    KANA_LABEL,
    LABEL_TAIL,
    LIST_SEP,
    NOT_BEFORE,
    NOT_ONE,
    PREFIX,
    READING,
    SCORES,
    TITLE_END,
    TITLES2,
    WINDOW,
)
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text


@cache
def _dictionary() -> Any:
    """One Sudachi dictionary per process (loading it takes ~50 ms)."""
    from sudachipy import Dictionary

    return Dictionary(dict="core")


@cache
def _tokenizer() -> Any:
    from sudachipy import SplitMode

    return _dictionary().tokenizer(mode=SplitMode.C)


# A Sudachi tokenizer is not safe to share between threads; the engine may run detectors in a pool.
_lock = threading.Lock()


def _is_person(pos: tuple[str, ...]) -> bool:
    return len(pos) > 2 and pos[1] == "固有名詞" and pos[2] == "人名"


# Nouns that take さん/様 and are listed as rare surnames too (「大家さん」 is a landlord).
_NOT_NAMES = frozenset({"大家", "八百屋", "魚屋", "本屋", "花屋", "神様", "王様", "奥様", "お客", "皆様"})


@lru_cache(maxsize=8192)
def _name_kind(surface: str) -> str | None:
    """'姓' or '名' if the dictionary lists ``surface`` as a surname or given name under any reading.

    Sudachi picks one reading per token: 「千葉」「平野」「長野」 come out as places or common nouns in
    context, though they are among the commonest surnames. Next to an honorific the person reading wins.
    """
    if surface in _NOT_NAMES or not surface.strip():
        return None
    kinds = {m.part_of_speech()[3] for m in _dictionary().lookup(surface) if _is_person(m.part_of_speech())}
    return "姓" if "姓" in kinds else ("名" if "名" in kinds else None)


def _kana_only(surface: str) -> bool:
    return all("\u3041" <= ch <= "\u30fa" or ch == "ー" for ch in surface)


class _Token(NamedTuple):
    surface: str
    kind: str | None  # 姓, 名, 一般 (a foreign name), 弱 (a one-character name), None
    oov: bool
    begin: int
    end: int
    tagged: bool  # Sudachi itself read it as 人名 here (not only the dictionary under another reading)


def _kind(surface: str, pos: tuple[str, ...]) -> str | None:
    if len(surface) == 1:
        if pos[0] != "名詞" or pos[1] == "数詞" or surface in NOT_ONE:
            return None
        return "弱" if _is_person(pos) or _name_kind(surface) is not None else None
    if _is_person(pos):
        return pos[3]
    if pos[0] != "名詞" or pos[1] == "数詞":
        return None
    return _name_kind(surface)


@lru_cache(maxsize=16384)
def _kind_of(surface: str, pos_id: int) -> tuple[str | None, bool]:
    """``_kind`` and whether Sudachi read the token as 人名, cached by surface and part of speech."""
    pos = _dictionary().pos_of(pos_id)
    return _kind(surface, pos), _is_person(pos)


class _Ask(NamedTuple):
    """One window for Sudachi: read backwards from ``stop`` (a cue) or forwards from ``lo`` (a label)."""

    lo: int
    segment: str
    stop: int  # offset in ``segment`` where the name must end (backwards), or -1 (forwards)
    cue: str  # hon, self, verb, label


class JapanesePersonDetector:
    """PERSON in Japanese text: Sudachi 人名 tokens next to honorifics, titles, verbs and name fields."""

    name = "ja_person"
    types = frozenset({"PERSON"})

    def __init__(self, *, window: int = WINDOW) -> None:
        self.window = window
        self._tok = _tokenizer()

    def _tokenize(self, asks: list[_Ask]) -> list[list[_Token]]:
        """Tokens of every window, from one Sudachi call per batch of distinct windows joined by
        newlines. A window that recurs in the text (the same name, the same phrase before です) is
        read once: repetitive text would otherwise cost a Sudachi pass per repetition."""
        index: dict[str, int] = {}
        for ask in asks:
            index.setdefault(ask.segment, len(index))
        read: list[list[_Token]] = []
        batch: list[str] = []
        size = 0
        for segment in index:
            # Sudachi refuses input over 48 KiB of UTF-8, and slows down per character well before.
            if size + len(segment) >= BATCH:
                read += self._tokenize_batch(batch)
                batch, size = [], 0
            batch.append(segment)
            size += len(segment) + 1
        read += self._tokenize_batch(batch)
        return [read[index[ask.segment]] for ask in asks]

    def _tokenize_batch(self, segments: list[str]) -> list[list[_Token]]:
        if not segments:
            return []
        starts, pos = [], 0
        for segment in segments:
            starts.append(pos)
            pos += len(segment) + 1
        with _lock:
            raw = [
                (m.surface(), m.part_of_speech_id(), m.begin(), m.end(), m)
                for m in self._tok.tokenize("\n".join(segments))
            ]
        out: list[list[_Token]] = [[] for _ in segments]
        i, last = 0, len(starts) - 1
        for surface, pos_id, b, e, morpheme in raw:
            if surface.isspace() and "\n" in surface:
                continue
            while i < last and b >= starts[i + 1]:
                i += 1
            kind, person = _kind_of(surface, pos_id)
            oov = kind is None and morpheme.is_oov()
            out[i].append(_Token(surface, kind, oov, b - starts[i], e - starts[i], person))
        return out

    def detect(self, text: Text) -> list[Finding]:
        if not has_japanese(text):
            return []
        norm = text.norm
        spans: dict[int, tuple[int, float]] = {}  # start -> (end, score)
        asks: list[_Ask] = []
        for m in KANA_LABEL.finditer(norm):
            spans[m.start(1)] = (m.end(1), 0.85)
        kana = set(spans)
        for m in PREFIX.finditer(norm):
            tail = LABEL_TAIL.match(norm, m.end())
            if tail is not None and tail.end() not in kana and has_japanese_at(norm, tail.end()):
                self._ask_after(norm, tail.end(), asks)
        labelled = {ask.lo for ask in asks}
        cues = sorted((m.start(), m.end(), kind) for kind, pattern in CUES for m in pattern.finditer(norm))
        hon_end = -1
        for cue, cue_end, kind in cues:
            if cue <= hon_end:
                continue  # 「山田様(やまだ)」「新井先生から」: the honorific already asks for this name
            if kind == "hon":
                hon_end = cue_end
            before = norm[cue - 1] if cue else ""
            if before == " " and cue > 1:
                before = norm[cue - 2]
            if not before or not (_kanji_kata(before) or _hiragana(before)):
                continue
            if kind != "verb" and NOT_BEFORE.search(norm, max(0, cue - 4), cue):
                continue
            # A short honorific goes to Sudachi with the name: 「林」 alone is a grove, 「林さん」 a
            # person. A title does not: Sudachi reads 「谷部長」 as the surname 谷部 and the name 長.
            short = kind != "verb" and cue_end - cue <= 2 and norm[cue:cue_end] not in TITLES2
            self._ask_before(norm, cue, cue_end if short else cue, kind, asks)
            if asks and asks[-1].lo in labelled and asks[-1].stop >= 0:
                asks.pop()  # 「氏名：山田太郎(やまだ)」: the label already asks for this name
        for _ in range(4):  # a list is followed one name per round (「出席者：A、B、C」)
            if not asks:
                break
            asks = self._resolve(norm, asks, spans)
        found: list[Finding] = []
        last_end = -1
        for start in sorted(spans):
            end, score = spans[start]
            if start < last_end:
                continue
            found.append(text.finding("PERSON", start, end, score, self.name))
            last_end = end
            reading = READING.match(norm, end)
            if reading and reading.start(1) not in spans:
                found.append(text.finding("PERSON", reading.start(1), reading.end(1), 0.85, self.name))
                last_end = reading.end()
        return found

    def _ask_before(self, norm: str, cue: int, cue_end: int, kind: str, asks: list[_Ask]) -> None:
        lo = _name_start(norm, max(0, cue - self.window), cue)
        while lo < cue and norm[lo] == " ":
            lo += 1
        if lo >= cue:
            return
        if cue - lo == 1 and (
            _hiragana(norm[lo]) or norm[lo] in NOT_ONE or (lo and norm[lo - 1] in DIGITISH)
        ):
            return  # one hiragana is no name, nor 「日」 in 「26日です」
        asks.append(_Ask(lo, norm[lo:cue_end], cue - lo, kind))

    def _ask_after(self, norm: str, begin: int, asks: list[_Ask]) -> None:
        end = _name_end(norm, begin, min(len(norm), begin + self.window))
        if end > begin:
            asks.append(_Ask(begin, norm[begin:end], -1, "label"))

    def _resolve(self, norm: str, asks: list[_Ask], spans: dict[int, tuple[int, float]]) -> list[_Ask]:
        """Read every window; return the windows to read next (the rest of a list of names)."""
        follow: list[_Ask] = []
        for ask, tokens in zip(asks, self._tokenize(asks), strict=True):
            if ask.stop < 0:
                j = _run_forward(tokens)
                if j == 0:
                    continue
                start, end = ask.lo + tokens[0].begin, ask.lo + tokens[j - 1].end
                if start not in spans or spans[start][0] < end:
                    spans[start] = (end, 0.85)
                sep = LIST_SEP.match(norm, end)
                if sep is not None and has_japanese_at(norm, sep.end()):
                    self._ask_after(norm, sep.end(), follow)
                continue
            tokens = [t for t in tokens if t.end <= ask.stop]
            while tokens and tokens[-1].surface.isspace():
                tokens.pop()
            if not tokens or tokens[-1].end != len(ask.segment[: ask.stop].rstrip()):
                continue  # the cue is part of a longer word
            first = _run_back(tokens, one_kanji=ask.cue in ("hon", "self"))
            if first is None:
                last = tokens[-1]
                # An unknown word right before an honorific (「髙橋様」): a name Sudachi has not seen.
                if ask.cue == "hon" and last.oov and len(last.surface) >= 2 and not _kana_only(last.surface):
                    spans.setdefault(ask.lo + last.begin, (ask.lo + last.end, 0.6))
                continue
            full = first < len(tokens) - 1
            if not full and tokens[first].kind == "弱" and ask.lo > 0 and norm[ask.lo - 1] in DIGITISH:
                continue  # 「3,000円です」: a one-kanji name never sits against a number
            if ask.cue == "verb" and not full and not tokens[-1].tagged:
                continue  # 「市場と話し合う」「渋谷が担当」: a surname only under another reading
            start, end = ask.lo + tokens[first].begin, ask.lo + tokens[-1].end
            spans[start] = (end, SCORES[ask.cue, full])
            # 「佐藤と長尾が」「田中、鈴木両名が」: a name joined to this one is a name too. One with its
            # own honorific or title (「谷部長と沖課長が」) has already been asked for by that cue.
            if first == 0 and start >= 2 and norm[start - 1] in "と、・" and ask.cue != "self":
                if TITLE_END.search(norm, max(0, start - 6), start - 1) is None:
                    self._ask_before(norm, start - 1, start - 1, "verb", follow)
        return follow


def _kanji_kata(ch: str) -> bool:
    return "\u4e00" <= ch <= "\u9fff" or "\u30a1" <= ch <= "\u30fc" or ch == "\u3005"


def _hiragana(ch: str) -> bool:
    return "\u3041" <= ch <= "\u3096"


def _name_start(norm: str, lo: int, cue: int) -> int:
    """Where a name ending at ``cue`` can start at the earliest (not before ``lo``).

    After anything that is not kana, kanji or a space, and where hiragana turns into kanji or katakana:
    a particle between two words (「営業部の田中」) or a prefix (「ご案内」). Sudachi then reads a few
    characters per cue instead of a dozen. A Python loop over at most a dozen characters is cheaper
    here than a regex with look-behinds.
    """
    i = cue
    while i > lo:
        ch = norm[i - 1]
        if _kanji_kata(ch) or ch == " ":
            i -= 1
        elif _hiragana(ch) and not (i < cue and _kanji_kata(norm[i])):
            i -= 1
        else:
            break
    return i


_PARTICLES = frozenset("がはのをにでとへもや")


def _name_end(norm: str, begin: int, hi: int) -> int:
    """Where a name starting at ``begin`` (after a label) ends at the latest: before anything that is
    not kana, kanji or a space, or a particle after a word (「担当：桜井が対応します」)."""
    i = begin
    while i < hi:
        ch = norm[i]
        if _kanji_kata(ch) or ch == " ":
            i += 1
        elif _hiragana(ch) and not (ch in _PARTICLES and i > begin and _kanji_kata(norm[i - 1])):
            i += 1
        else:
            break
    return i


def has_japanese_at(norm: str, index: int) -> bool:
    """Whether the character at ``index`` is kana or kanji."""
    return index < len(norm) and ("\u3040" <= norm[index] <= "\u30ff" or "\u4e00" <= norm[index] <= "\u9fff")


def _joins(left: _Token, right: _Token) -> bool:
    """Whether ``right`` continues the name that ``left`` ends across a space."""
    return right.kind in ("姓", "名", "一般") or (right.kind == "弱" and left.kind == "姓")


def _run_forward(tokens: list[_Token]) -> int:
    """How many leading tokens form a name (after a field label), 0 if none."""
    j = 0
    while j < len(tokens):
        tok = tokens[j]
        if tok.kind in ("姓", "名", "一般") or (tok.kind == "弱" and (j > 0 or _alone(tokens, 0))):
            j += 1
        elif tok.surface == " " and 0 < j < len(tokens) - 1 and _joins(tokens[j - 1], tokens[j + 1]):
            j += 2
        elif j > 0 and tokens[j - 1].kind == "姓" and _kana_only(tok.surface) and 2 <= len(tok.surface) <= 5:
            return j + 1  # an unknown kana given name after a surname
        else:
            break
    return j


def _alone(tokens: list[_Token], i: int) -> bool:
    """A one-kanji token with nothing attached after it: the end of the window, a space or a particle."""
    return i + 1 >= len(tokens) or tokens[i + 1].surface.isspace() or _kana_only(tokens[i + 1].surface)


def _run_back(tokens: list[_Token], *, one_kanji: bool) -> int | None:
    """Index of the first token of the name that ends with the last token, or None.

    Tokens that may be names are taken backwards; a space is crossed only between two of them. A
    one-character name (「愛」) or an unknown kana one (「ひなた」) counts after a surname; a one-kanji
    surname alone (「林さん」) only when ``one_kanji`` and nothing but a boundary stands before it.
    """
    i = len(tokens) - 1
    last = tokens[i]
    surname_before = i >= 1 and tokens[i - 1].kind == "姓"
    surname_across = i >= 2 and tokens[i - 1].surface == " " and tokens[i - 2].kind == "姓"
    if last.kind in (None, "弱"):
        weak = last.kind == "弱" or (_kana_only(last.surface) and 2 <= len(last.surface) <= 5)
        if weak and (surname_before or surname_across):
            pass
        elif last.kind == "弱" and one_kanji and i == 0 and _name_kind(last.surface) == "姓":
            return 0
        else:
            return None
    j = i
    while j >= 1:
        prev = tokens[j - 1]
        if prev.kind in ("姓", "名", "一般") or (prev.kind == "弱" and j == 1):
            j -= 1  # a one-kanji piece at the start: Sudachi splits 「斉藤愛」 as 斉 + 藤愛
        elif prev.surface == " " and j >= 2 and tokens[j - 2].kind in ("姓", "名", "一般"):
            j -= 2
        else:
            break
    return j
