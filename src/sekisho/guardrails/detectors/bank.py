"""Bank accounts: Japanese accounts (銀行・信用金庫・ゆうちょ) and international IBANs.

What the span covers, decided once: **the account-identifying digits only** — the 7-digit account
number, the ゆうちょ 記号 through 番号 (「12345-12345671」, 「記号12345 番号12345671」), or the whole
IBAN. Bank, branch and 普通/当座 are public facts about an institution; they are the context that makes
seven digits an account, and redaction that keeps them («みずほ銀行 渋谷支店 普通 [BANK_ACCOUNT_1]»)
leaves the sentence readable. A 3-digit 支店番号 alone identifies nobody and is not reported.

A 7-digit number is an account only with account context close before it: 普通/当座/貯蓄/口座番号
right before it is strong; a bank, branch or 振込 word within the clause is weaker; nothing else
counts (7-digit order numbers and amounts are everywhere).
"""

from __future__ import annotations

import re

from sekisho.guardrails.detectors.ja_numbers import digit_runs, digit_windows, has_japanese, run_starts
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

_DASH = "-\u2010\u2011\u2012\u2013\u2014\u2015\u2212\u30fc"

# Every Japanese form is matched digits first, at the start of a digit run (``digit_runs``, shared
# with the other numeric detectors), and its context is then read backwards with a ``$``-anchored
# pattern over the few characters before it: patterns that open with context words or look-behinds
# cost ~60 µs each per 2,000 characters when scanned.
# Not followed by more digits, a unit or a decimal part; a full stop ending the sentence is fine.
_SEVEN_AT = re.compile(rf"[0-9]{{7}}(?![0-9{_DASH}円万千:/]|[,.][0-9]|\s?円)")
# The kind of account right before the number (「普通預金 1234567」「当座口座番号：1234567」
# 「口座番号 1234567」), allowing a few particles and punctuation in between: strong.
_TYPED_BEFORE = re.compile(
    r"(?:(?:普通|当座|貯蓄|総合)(?:預金)?(?:口座)?(?:番号)?|口座番号|口座No\.?|account (?:no\.?|number))"
    r"\s*(?:[:#は]|\(\w{1,4}\))?\s*$",
    re.IGNORECASE,
)
# A bare 7-digit number is an account when bank context precedes it in the same clause.
_NOT_BEFORE_SEVEN = frozenset("0123456789.,/:¥$#" + _DASH)
_BANK_CONTEXT = re.compile(
    r"銀行|信用金庫|信金|信用組合|信組|労働金庫|労金|農協|JAバンク|ゆうちょ|支店|出張所|口座|振込|振り込み|"
    r"振込先|送金先|引き?落とし|bank|branch|account",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(
    r"注文|受注|伝票|追跡|問い?合わ?せ|会員|顧客|予約|請求書番号|管理番号|品番|型番|商品|電話|TEL|FAX|"
    r"金額|合計|円|税|order|invoice|tracking",
    re.IGNORECASE,
)
# ゆうちょ: 記号 (5 digits, starting with 1) and 番号 (up to 8 digits), together or with a dash.
_KIGO_BEFORE = re.compile(r"記号\s*[:は]?\s*$")
_KIGO_AT = re.compile(r"1[0-9]{4}\s*[、,]?\s*番号\s*[:は]?\s*[0-9]{1,8}(?![0-9])")
_YUCHO_AT = re.compile(rf"1[0-9]{{4}}[{_DASH}][0-9]{{6,8}}(?![0-9{_DASH}])")
_YUCHO_CONTEXT = re.compile(r"ゆうちょ|郵便貯金|振替|記号|通帳|口座", re.IGNORECASE)

# IBAN: country, two check digits, then 11-30 letters and digits, compact or in groups of four.
_IBAN = re.compile(
    r"(?<![A-Za-z0-9])[A-Z]{2}[0-9]{2}(?: ?[A-Z0-9]{4}){2,7}(?: ?[A-Z0-9]{1,4})?(?![A-Za-z0-9])"
)
# ISO 13616 registry lengths for the countries most likely to appear; others are checked by mod-97 only.
_IBAN_LENGTH = {
    "AT": 20, "BE": 16, "BG": 22, "CH": 21, "CY": 28, "CZ": 24, "DE": 22, "DK": 18, "EE": 20, "ES": 24,
    "FI": 18, "FR": 27, "GB": 22, "GR": 27, "HR": 21, "HU": 28, "IE": 22, "IS": 26, "IT": 27, "LI": 21,
    "LT": 20, "LU": 20, "LV": 21, "MC": 27, "MT": 31, "NL": 18, "NO": 15, "PL": 28, "PT": 25, "RO": 24,
    "SA": 24, "SE": 24, "SI": 19, "SK": 24, "TR": 26, "AE": 23, "BR": 29, "IL": 23, "QA": 29,
}  # fmt: skip


def iban_valid(compact: str) -> bool:
    """ISO 13616 check: known length for the country, and mod-97 of the rearranged number is 1."""
    if len(compact) < 15 or len(compact) > 34:
        return False
    expected = _IBAN_LENGTH.get(compact[:2])
    if expected is not None and len(compact) != expected:
        return False
    rearranged = compact[4:] + compact[:4]
    digits = "".join(str(int(ch, 36)) for ch in rearranged)
    return int(digits) % 97 == 1


class BankAccountDetector:
    """BANK_ACCOUNT: Japanese account numbers with bank context, ゆうちょ 記号・番号, and IBANs."""

    name = "bank_account"
    types = frozenset({"BANK_ACCOUNT"})

    def __init__(self, *, window: int = 40) -> None:
        self.window = window

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        found: list[Finding] = []
        japanese = has_japanese(text)
        if japanese or "ccount" in norm:
            for a, b in digit_runs(text):
                for start in run_starts(norm, a, b):
                    self._at(text, start, japanese, found)
        for lo, hi in digit_windows(text, 12, 10):
            for m in _IBAN.finditer(norm, lo, hi):
                if iban_valid(m.group().replace(" ", "")):
                    found.append(text.finding("BANK_ACCOUNT", m.start(), m.end(), 0.95, self.name))
        return found

    def _at(self, text: Text, start: int, japanese: bool, found: list[Finding]) -> None:
        """The account number starting at ``start``, if there is one."""
        norm = text.norm
        lo = max(0, start - 24)
        m = _SEVEN_AT.match(norm, start)
        if m is not None:
            if _TYPED_BEFORE.search(norm, lo, start):
                found.append(text.finding("BANK_ACCOUNT", start, m.end(), 0.9, self.name))
                return
            if (start == 0 or norm[start - 1] not in _NOT_BEFORE_SEVEN) and self._context(norm, start):
                found.append(text.finding("BANK_ACCOUNT", start, m.end(), 0.75, self.name))
                return
        if not japanese or norm[start] != "1":
            return
        m = _KIGO_AT.match(norm, start)
        if m is not None and _KIGO_BEFORE.search(norm, max(0, start - 8), start):
            found.append(text.finding("BANK_ACCOUNT", start, m.end(), 0.9, self.name))
            return
        m = _YUCHO_AT.match(norm, start)
        if m is not None and (start == 0 or norm[start - 1] not in _DASH):
            if _YUCHO_CONTEXT.search(norm, max(0, start - self.window), m.end()):
                found.append(text.finding("BANK_ACCOUNT", start, m.end(), 0.9, self.name))

    def _context(self, norm: str, start: int) -> bool:
        """Bank context before ``start`` in the same clause, and no nearer word naming something else."""
        lo = max(0, start - self.window)
        for stop in ("。", "\n"):
            cut = norm.rfind(stop, lo, start)
            if cut >= 0:
                lo = cut + 1
        bank = -1
        for m in _BANK_CONTEXT.finditer(norm, lo, start):
            bank = m.end()
        if bank < 0:
            return False
        return all(m.end() < bank for m in _NEGATIVE.finditer(norm, lo, start))
