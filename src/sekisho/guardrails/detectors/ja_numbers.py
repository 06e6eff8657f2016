"""Japanese identity numbers: マイナンバー, 法人番号, passport, driver's licence and residence card.

Every pattern runs on ``text.norm`` (NFKC), so full-width digits and letters are plain ASCII there and
full-width hyphens are ``-``. Digit runs are delimited with look-arounds rather than ``\\b``: in Japanese
text a number sits directly against kanji (``個人番号123456789018``), which ``\\b`` does not separate.

Scores follow one rule: a valid check digit plus a context word is strong (0.95); a valid check digit
alone is kept only where the format itself is telling; a context word that names something else
(注文番号, 伝票番号, JAN …) pushes a match below the engine's 0.5 threshold, because a random 12-digit
order number passes the マイナンバー check one time in eleven.
"""

from __future__ import annotations

import re

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

# Hyphen-like characters that survive NFKC (U+FF0D becomes '-', these do not).
_SEP = r"[ \-\u2010\u2011\u2012\u2013\u2014\u2212]"
# How far before a number a context word may stand ("マイナンバー（個人番号）は次の通りです：…").
_WINDOW = 30

# Words that say a nearby number is something other than a personal identifier. Checked in the
# window before the number, nearest word wins against a positive one (see ``_nearest``).
_NEGATIVE = (
    r"注文|受注|発注|伝票|追跡|問い?合わ?せ|問合せ|お問合|管理番号|会員|顧客|予約|請求|invoice|order|"
    r"tracking|jan|ean|バーコード|商品|品番|型番|製品|部品|シリアル|serial|sku|口座|電話|tel|fax|携帯|"
    r"金額|合計|円|¥|\$|id[:：]|チケット|ticket|受付番号|整理番号|証券|保険証|郵便"
)
_NEGATIVE_RE = re.compile(_NEGATIVE, re.IGNORECASE)


# One scan for runs of digits (with the separators people put in them), shared by every numeric
# detector through the ``Text`` they all receive: Python's regex engine costs ~10 ns a character per
# pattern, so scanning 2,000 characters once per pattern for each of a dozen patterns would exceed the
# budget. Every pattern below is then tried only where a run starts (``_scan``), or on small windows
# around runs (``digit_windows``).
_RUN = re.compile(r"[0-9][0-9 \-\u2010-\u2015\u2212]*")
_RUNS_KEY = "_sekisho_ja_digit_runs"


_JAPANESE = re.compile(r"[\u3040-\u30ff\u4e00-\u9fff]")
_JAPANESE_KEY = "_sekisho_has_japanese"


def _has_japanese(text: Text) -> bool:
    return not text.norm.isascii() and _JAPANESE.search(text.norm) is not None


def has_japanese(text: Text) -> bool:
    """Whether ``text`` holds any kana or kanji: one scan per text, shared by the Japanese detectors,
    which have nothing to find (and so return at once) in English text or code."""
    return text.shared(_JAPANESE_KEY, _has_japanese)


def _digit_runs(text: Text) -> list[tuple[int, int]]:
    return [m.span() for m in _RUN.finditer(text.norm) if m.end() - m.start() >= 5]


def digit_runs(text: Text) -> list[tuple[int, int]]:
    """Runs of digits (with the spaces and dashes people put in them), five characters or longer,
    found once per text: a detector can try its pattern at these positions with ``match``."""
    return text.shared(_RUNS_KEY, _digit_runs)


# Windows closer than this are scanned as one: a regex call costs about as much as scanning this many
# characters, and text packed with numbers would otherwise make hundreds of calls.
_GAP = 24


def digit_windows(text: Text, left: int, right: int, shortest: int = 7) -> list[tuple[int, int]]:
    """Merged ranges of ``text.norm`` around digit runs of ``shortest``+ characters, widened by
    ``left``/``right`` characters, in which a numeric pattern can be matched instead of the whole text.
    Computed once per text and shape (several detectors ask for the same windows)."""
    key = f"{_RUNS_KEY}:{left}:{right}:{shortest}"
    return text.shared(key, lambda t: _windows(t, left, right, shortest))


def _windows(text: Text, left: int, right: int, shortest: int) -> list[tuple[int, int]]:
    runs = text.shared(_RUNS_KEY, _digit_runs)
    size = len(text.norm)
    merged: list[tuple[int, int]] = []
    for start, end in runs:
        if end - start < shortest:
            continue
        lo, hi = max(0, start - left), min(size, end + right)
        if merged and lo <= merged[-1][1] + _GAP:
            merged[-1] = (merged[-1][0], max(hi, merged[-1][1]))
        else:
            merged.append((lo, hi))
    return merged


def _nearest(text: str, end: int, positive: re.Pattern[str], window: int = _WINDOW) -> int:
    """+1 if the context word nearest before ``end`` is positive, -1 if negative, 0 if none."""
    lo = max(0, end - window)
    best_pos, best = -1, 0
    for m in positive.finditer(text, lo, end):
        if m.end() > best_pos:
            best_pos, best = m.end(), 1
    for m in _NEGATIVE_RE.finditer(text, lo, end):
        if m.end() > best_pos:
            best_pos, best = m.end(), -1
    return best


def run_starts(norm: str, a: int, b: int) -> list[int]:
    """Where a number may start in the digit run ``[a, b)``: its start, and after a space inside it
    (「口座 1234 1234567」)."""
    starts = [a]
    space = norm.find(" ", a, b)
    while space >= 0:
        if space + 1 < b and norm[space + 1].isdigit():
            starts.append(space + 1)
        space = norm.find(" ", space + 1, b)
    return starts


def _scan(pattern: re.Pattern[str], text: Text, shortest: int, back: int = 0) -> list[re.Match[str]]:
    """``pattern``'s matches starting ``back`` characters before a digit run of ``shortest``+ characters.

    ``match`` at a few known positions instead of ``finditer`` over the text: these patterns open
    with look-behinds, which the regex engine cannot skip ahead for, so a scan costs ~50 µs per
    pattern per 2,000 characters however few numbers there are.
    """
    norm = text.norm
    found = []
    for a, b in digit_runs(text):
        if b - a >= shortest:
            for start in run_starts(norm, a, b):
                if start >= back:
                    m = pattern.match(norm, start - back)
                    if m is not None:
                        found.append(m)
    return found


def my_number_valid(digits: str) -> bool:
    """The マイナンバー check digit (個人番号の指定に関する省令 第5条).

    With P(n) the n-th of the first eleven digits counted from the right and Q(n) = n+1 for n <= 6,
    n-5 otherwise: r = sum(P*Q) mod 11, check = 0 if r <= 1 else 11 - r.
    """
    if len(digits) != 12 or not digits.isdigit():
        return False
    body = digits[:11][::-1]
    total = sum(int(p) * (n + 1 if n <= 6 else n - 5) for n, p in enumerate(body, start=1))
    r = total % 11
    return int(digits[11]) == (0 if r <= 1 else 11 - r)


def corporate_number_valid(digits: str) -> bool:
    """The 法人番号 check digit, which leads (法人番号の指定等に関する省令 第2条).

    With P(n) the n-th of the last twelve digits counted from the right and Q(n) = 1 for odd n,
    2 for even n: check = 9 - (sum(P*Q) mod 9).
    """
    if len(digits) != 13 or not digits.isdigit():
        return False
    body = digits[1:][::-1]
    total = sum(int(p) * (1 if n % 2 else 2) for n, p in enumerate(body, start=1))
    return int(digits[0]) == 9 - total % 9


# 公安委員会 codes: the first two digits of a licence number (10-14 北海道 areas … 97 沖縄).
_LICENCE_AREAS = frozenset(
    [*range(10, 15), *range(20, 26), 30, *range(40, 56), *range(60, 66), *range(70, 75), *range(80, 84),
     *range(90, 98)]
)  # fmt: skip


def drivers_licence_valid(digits: str) -> bool:
    """Area code and check digit of a 12-digit 運転免許証 number.

    The published layout: area (2), year first licensed (2), serial (6), check digit (the 11th digit,
    not the last), re-issue count (1). check = (11 - sum(d * w) mod 11) mod 10 with weights
    5,4,3,2,7,6,5,4,3,2 over the first ten digits. Not an official publication; widely reproduced and
    consistent with real cards.
    """
    if len(digits) != 12 or not digits.isdigit() or int(digits[:2]) not in _LICENCE_AREAS:
        return False
    total = sum(int(d) * w for d, w in zip(digits[:10], (5, 4, 3, 2, 7, 6, 5, 4, 3, 2), strict=True))
    return int(digits[10]) == (11 - total % 11) % 10


# Twelve digits, plain or in three groups of four with one consistent separator.
_TWELVE = re.compile(
    rf"(?<![0-9\-])(?<![0-9][ \-])(\d{{4}})({_SEP}?)(\d{{4}})\2(\d{{4}})(?![0-9]|[ \-][0-9])"
)
_MY_NUMBER_CONTEXT = re.compile(r"マイナンバー|個人番号|my ?number|通知カード", re.IGNORECASE)
_LICENCE_CONTEXT = re.compile(r"免許|licen[cs]e", re.IGNORECASE)


class MyNumberDetector:
    """MY_NUMBER: a 12-digit マイナンバー with a valid check digit, plain, spaced or hyphenated."""

    name = "my_number"
    types = frozenset({"MY_NUMBER"})

    def __init__(self, *, require_context: bool = False) -> None:
        self.require_context = require_context

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        for m in _scan(_TWELVE, text, 12):
            digits = m.group(1) + m.group(3) + m.group(4)
            if not my_number_valid(digits):
                continue
            context = _nearest(norm, m.start(), _MY_NUMBER_CONTEXT)
            if context == 0 and _LICENCE_CONTEXT.search(norm, max(0, m.start() - _WINDOW), m.start()):
                continue  # a licence number that happens to pass the check: JapaneseIdDetector's
            if context > 0:
                score = 0.95
            elif context < 0 or self.require_context:
                score = 0.3
            else:
                # A 4-4-4 grouping is how マイナンバー is printed; a bare 12-digit run is weaker.
                score = 0.7 if m.group(2) else 0.55
            found.append(text.finding("MY_NUMBER", m.start(), m.end(), score, self.name))
        return found


# 13 digits, plain or grouped 1-4-4-4; an optional 'T' makes it an インボイス登録番号 (span: digits only).
_THIRTEEN = re.compile(
    rf"(?<![0-9\-])(?<![0-9][ \-])(\d)({_SEP}?)(\d{{4}})\2(\d{{4}})\2(\d{{4}})(?![0-9]|[ \-][0-9])"
)
_CORPORATE_CONTEXT = re.compile(r"法人番号|登録番号|インボイス|適格請求書|corporate number", re.IGNORECASE)


def _ean13_valid(digits: str) -> bool:
    total = sum(int(d) * (3 if i % 2 else 1) for i, d in enumerate(digits[:12]))
    return (10 - total % 10) % 10 == int(digits[12])


class CorporateNumberDetector:
    """CORPORATE_NUMBER: a 13-digit 法人番号 (or the digits of a T-prefixed インボイス登録番号)."""

    name = "corporate_number"
    types = frozenset({"CORPORATE_NUMBER"})

    def __init__(self, *, require_context: bool = False) -> None:
        self.require_context = require_context

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        for m in _scan(_THIRTEEN, text, 13):
            digits = "".join(m.group(1, 3, 4, 5))
            if not corporate_number_valid(digits):
                continue
            context = _nearest(norm, m.start(), _CORPORATE_CONTEXT)
            invoice = m.start() > 0 and norm[m.start() - 1] in "Tt"
            if context > 0 or invoice:
                score = 0.95
            elif context < 0 or self.require_context or _ean13_valid(digits):
                # A bare 13-digit run is most often a JAN/EAN barcode; one in nine passes this check.
                score = 0.3
            else:
                score = 0.45
            found.append(text.finding("CORPORATE_NUMBER", m.start(), m.end(), score, self.name))
        return found


_PASSPORT = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{7}(?![0-9A-Za-z])")
_PASSPORT_CONTEXT = re.compile(r"旅券|パスポート|passport", re.IGNORECASE)
_RESIDENCE = re.compile(r"(?<![A-Za-z0-9])[A-Z]{2}\d{8}[A-Z]{2}(?![0-9A-Za-z])")
_RESIDENCE_CONTEXT = re.compile(r"在留|特別永住者証明書|residence card|residence", re.IGNORECASE)
# A licence number is also printed as 第123456789012号 on the card.
_LICENCE = re.compile(
    rf"(?<![0-9\-])(?<![0-9][ \-])(\d{{4}})({_SEP}?)(\d{{4}})\2(\d{{4}})(?![0-9]|[ \-][0-9])"
)


class JapaneseIdDetector:
    """PASSPORT, DRIVERS_LICENSE and RESIDENCE_CARD numbers.

    Passport numbers (two letters, seven digits) have no check digit and look like many product codes,
    so they need a context word (旅券, パスポート, passport). Licence numbers need 免許 or licence
    nearby *and* a valid area code and check digit. Residence card numbers (two letters, eight
    digits, two letters) are distinctive enough to stand alone, scored higher with 在留カード nearby.
    """

    name = "ja_id"
    types = frozenset({"PASSPORT", "DRIVERS_LICENSE", "RESIDENCE_CARD"})

    def __init__(self, *, window: int = _WINDOW) -> None:
        self.window = window

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        for m in _scan(_PASSPORT, text, 7, back=2):
            if _nearest(norm, m.start(), _PASSPORT_CONTEXT, self.window) > 0:
                found.append(text.finding("PASSPORT", m.start(), m.end(), 0.9, self.name))
        for m in _scan(_RESIDENCE, text, 8, back=2):
            context = _nearest(norm, m.start(), _RESIDENCE_CONTEXT, self.window)
            score = 0.95 if context > 0 else (0.3 if context < 0 else 0.6)
            found.append(text.finding("RESIDENCE_CARD", m.start(), m.end(), score, self.name))
        if "免許" in norm or "icen" in norm:
            for m in _scan(_LICENCE, text, 12):
                digits = m.group(1) + m.group(3) + m.group(4)
                if not drivers_licence_valid(digits):
                    continue
                if _nearest(norm, m.start(), _LICENCE_CONTEXT, self.window) > 0:
                    found.append(text.finding("DRIVERS_LICENSE", m.start(), m.end(), 0.9, self.name))
        return found
