"""Personal names in Japanese text: SudachiPy's 人名 tags, read only where a cue says a name is near.

Sudachi analyses about a million characters a second, so a 2,000-character prompt would cost 2 ms
on its own: more than this detector's share. Names in Japanese writing are almost always marked,
though — 「山田様」「田中さん」「佐藤部長」「氏名：鈴木一郎」「担当：高橋」「…の中村です」 — so the
detector finds those cues with one regex pass and runs Sudachi only on the dozen characters beside
each cue. Text with no kana or kanji is skipped outright.

Around a cue, consecutive tokens tagged 名詞,固有名詞,人名 (姓, 名, or 一般 for foreign names) form one
span, a space between 姓 and 名 included. Place names (大阪様), company names (山田商事様) and common
nouns (お客様, 皆様) are not 人名 and so are not reported. A reading in parentheses right after a name
(「山田太郎（やまだたろう）」) is reported as a second PERSON span.
"""

from __future__ import annotations

import re
import threading
from functools import cache, lru_cache
from typing import Any, NamedTuple

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

_JA = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_NAME_CHAR = r"[\u4e00-\u9fff\u3005\u3041-\u3096\u30a1-\u30fa\u30fc]"
# Cues after a name: honorifics, titles, self-introductions, a reading in parentheses (NFKC turns
# 「（」 into 「(」). Written as a bare alternation of literals so the regex engine can skip ahead by
# first character; what must touch the cue (a name character before it) is checked in Python.
_SUFFIX = re.compile(
    r"様|さま|さん|氏|君|くん|ちゃん|先生|殿|教授|准教授|博士|医師|弁護士|税理士|社長|副社長|会長|専務|常務|"
    r"取締役|部長|次長|課長|係長|主任|室長|所長|支店長|店長|局長|理事長|院長|選手|監督|議員|宛|と申します|"
    r"と申す|でございます|です(?=[。、!！\s])|より(?=[\s。\n]|$)|\((?=[ぁ-んァ-ヶー\s・]{2,20}\))"
)
_NAME_END = re.compile(rf"{_NAME_CHAR}\s?$")
# Field labels before a name: 「氏名：」「担当：」「From: 」…; the separator is checked after the label.
_PREFIX = re.compile(
    r"氏名|お名前|名前|フリガナ|ふりがな|カナ氏名|担当|宛名|契約者|申込者|申請者|代表者|代表取締役|受取人|"
    r"依頼人|差出人|送り主|署名|記入者|名義|口座名義|患者|作成者|承認者|責任者|連絡担当|From|from|FROM|To|TO|"
    r"Cc|CC|Name|name"
)
_LABEL_TAIL = re.compile(r"(?:者|名|人|社長)*\s*(?:[:：]|は|\s)\s*")
_READING = re.compile(r"\s?[（(]([ぁ-んァ-ヶー][ぁ-んァ-ヶー\s・]{0,19})[）)]")
_WINDOW = 12
_CLAUSE_END = re.compile(r"[。、,.!?！？\n「」『』:：]")


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
    kind: str | None  # 姓, 名, 一般 (a foreign name), 弱 (a one-character name, only beside a 姓), None
    oov: bool
    begin: int
    end: int


def _kind(surface: str, pos: tuple[str, ...]) -> str | None:
    if _is_person(pos):
        return pos[3]
    if pos[0] != "名詞" or pos[1] == "数詞":
        return None
    kind = _name_kind(surface)
    if kind is not None and len(surface) == 1:
        return "弱"
    return kind


class JapanesePersonDetector:
    """PERSON in Japanese text: Sudachi 人名 tokens next to honorifics, titles and name fields."""

    name = "ja_person"
    types = frozenset({"PERSON"})

    def __init__(self, *, window: int = _WINDOW) -> None:
        self.window = window
        self._tok = _tokenizer()

    def _tokens(self, segment: str) -> list[_Token]:
        with _lock:
            morphemes = self._tok.tokenize(segment)
            raw = [(m.surface(), m.part_of_speech(), m.is_oov(), m.begin(), m.end()) for m in morphemes]
        return [_Token(s, _kind(s, pos), oov, b, e) for s, pos, oov, b, e in raw]

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        if norm.isascii() or _JA.search(norm) is None:
            return []
        spans: dict[int, tuple[int, float]] = {}  # start -> (end, score)
        for m in _SUFFIX.finditer(norm):
            cue = m.start()
            if cue > 0 and _NAME_END.search(norm, max(0, cue - 2), cue):
                self._before(norm, cue, spans)
        for m in _PREFIX.finditer(norm):
            tail = _LABEL_TAIL.match(norm, m.end())
            if tail is not None and tail.end() < len(norm) and _JA.match(norm, tail.end()):
                self._after(norm, tail.end(), spans)
        found: list[Finding] = []
        last_end = -1
        for start in sorted(spans):
            end, score = spans[start]
            if start < last_end:
                continue
            found.append(text.finding("PERSON", start, end, score, self.name))
            last_end = end
            reading = _READING.match(norm, end)
            if reading and reading.start(1) not in spans:
                found.append(text.finding("PERSON", reading.start(1), reading.end(1), 0.85, self.name))
                last_end = reading.end()
        return found

    def _before(self, norm: str, cue: int, spans: dict[int, tuple[int, float]]) -> None:
        """The name ending at ``cue``: name tokens read backwards from the end of a small window."""
        lo = max(0, cue - self.window)
        for cut in _CLAUSE_END.finditer(norm, lo, cue):  # only the last one matters
            lo = cut.end()
        segment = norm[lo:cue].rstrip()
        if not segment:
            return
        tokens = self._tokens(segment)
        first = _run_back(tokens)
        if first is None:
            # An unknown word right before an honorific (「髙橋様」): a name Sudachi has not seen.
            last = tokens[-1]
            if last.oov and len(last.surface) >= 2 and not _kana_only(last.surface):
                spans.setdefault(lo + last.begin, (lo + last.end, 0.6))
            return
        start, end = lo + tokens[first].begin, lo + tokens[-1].end
        spans[start] = (end, 0.9 if first < len(tokens) - 1 else 0.85)

    def _after(self, norm: str, begin: int, spans: dict[int, tuple[int, float]]) -> None:
        """The name starting at ``begin`` (after a field label): name tokens read forwards."""
        segment = norm[begin : begin + self.window + 2]
        cut = _CLAUSE_END.search(segment)
        if cut is not None:
            segment = segment[: cut.start()]
        tokens = self._tokens(segment)
        j = 0
        while j < len(tokens):
            tok = tokens[j]
            if tok.kind in ("姓", "名", "一般") or (tok.kind == "弱" and j > 0):
                j += 1
            elif tok.surface == " " and 0 < j < len(tokens) - 1 and _joins(tokens[j - 1], tokens[j + 1]):
                j += 2
            elif (
                j > 0
                and tokens[j - 1].kind == "姓"
                and _kana_only(tok.surface)
                and 2 <= len(tok.surface) <= 5
            ):
                j += 1  # an unknown kana given name after a surname
                break
            else:
                break
        if j == 0:
            return
        start, end = begin + tokens[0].begin, begin + tokens[j - 1].end
        if start not in spans or spans[start][0] < end:
            spans[start] = (end, 0.85)


def _joins(left: _Token, right: _Token) -> bool:
    """Whether ``right`` continues the name that ``left`` ends across a space."""
    return right.kind in ("姓", "名", "一般") or (right.kind == "弱" and left.kind == "姓")


def _run_back(tokens: list[_Token]) -> int | None:
    """Index of the first token of the name that ends with the last token, or None.

    Tokens that may be names are taken backwards; a space is crossed only between two of them. A
    one-character name (「愛」) or an unknown kana one (「ひなた」) counts only right after a surname.
    """
    i = len(tokens) - 1
    last = tokens[i]
    surname_before = i >= 1 and tokens[i - 1].kind == "姓"
    surname_across = i >= 2 and tokens[i - 1].surface == " " and tokens[i - 2].kind == "姓"
    if last.kind in (None, "弱"):
        weak = last.kind == "弱" or (_kana_only(last.surface) and 2 <= len(last.surface) <= 5)
        if not (weak and (surname_before or surname_across)):
            return None
    j = i
    while j >= 1:
        prev = tokens[j - 1]
        if prev.kind in ("姓", "名", "一般"):
            j -= 1
        elif prev.surface == " " and j >= 2 and tokens[j - 2].kind in ("姓", "名", "一般"):
            j -= 2
        else:
            break
    return j
