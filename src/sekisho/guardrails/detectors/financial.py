"""Payment card numbers and US Social Security numbers.

Both are digit runs that look like many other digit runs, so each candidate must pass structure checks
(card grouping, issuer prefix and length, Luhn; SSA's never-issued SSN ranges) before it is reported.
"""

from __future__ import annotations

import re

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

# Card numbers as people write them: 4-4-4-4(-3), Amex 4-6-5, Diners 4-6-4, or one unbroken run; the
# separator (space or hyphen) must be the same throughout, so a phone number or a date range does not
# chain into a card. Lookarounds keep the run from being a slice of a longer number.
# The lookahead on the first character lets the regex engine skip to digits quickly.
_CARD = re.compile(
    r"(?=[0-9])(?<![0-9A-Za-z_.\-])"
    r"(?:[0-9]{4}([ -])[0-9]{4}\1[0-9]{4}\1[0-9]{4}(?:\1[0-9]{1,3})?"
    r"|[0-9]{4}([ -])[0-9]{6}\2[0-9]{4,5}"
    r"|[0-9]{12,19})"
    r"(?![0-9A-Za-z_]|[.\-][0-9]|[ -][0-9]{4})"  # not a slice of a longer grouped number
)
_CARD_CONTEXT = re.compile(
    r"(?:card|visa|master ?card|amex|american express|discover|jcb|diners|maestro|unionpay|credit|debit|"
    r"payment|pay with|cc|カード|クレジット|クレカ|決済|支払)",
    re.IGNORECASE,
)
_NON_DIGIT = re.compile(r"\D")


def luhn_ok(digits: str) -> bool:
    """The Luhn (mod 10) check that every payment card number carries."""
    total = 0
    for i, ch in enumerate(reversed(digits)):
        d = ord(ch) - 48
        if i % 2:
            d *= 2
            if d > 9:
                d -= 9
        total += d
    return total % 10 == 0


def _issuer_ok(d: str) -> bool:
    """A known issuer prefix (IIN) with a length that issuer uses."""
    n = len(d)
    p2, p4 = int(d[:2]), int(d[:4])
    p3, p6 = int(d[:3]), int(d[:6])
    if d[0] == "4":  # Visa
        return n in (13, 16, 19)
    if 51 <= p2 <= 55 or 2221 <= p4 <= 2720:  # Mastercard
        return n == 16
    if p2 in (34, 37):  # American Express
        return n == 15
    if p4 == 6011 or 644 <= p3 <= 649 or p2 == 65 or 622126 <= p6 <= 622925:  # Discover
        return 16 <= n <= 19
    if p2 == 35:  # JCB (3528-3589 assigned; test generators use all of 35xx)
        return 15 <= n <= 19
    if p4 in (2131, 1800):  # JCB's older 15-digit range
        return n == 15
    if 300 <= p3 <= 305 or p2 in (36, 38, 39) or p4 == 3095:  # Diners Club
        return 14 <= n <= 19
    if p2 == 62 or p2 == 81:  # UnionPay
        return 16 <= n <= 19
    if p2 == 50 or 56 <= p2 <= 69:  # Maestro
        return 12 <= n <= 19
    return False


class CreditCardDetector:
    """Payment card numbers: issuer prefix and length, Luhn, with spaces, hyphens or full-width digits.

    An unbroken run of digits that passes is still only a 1-in-10 chance by Luhn alone, so it scores
    lower without a card word nearby than a number grouped the way cards are printed.
    """

    name = "credit_card"
    types = frozenset({"CREDIT_CARD"})

    def __init__(self, *, score: float = 0.9) -> None:
        self.score = score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        out: list[Finding] = []
        for m in _CARD.finditer(norm):
            raw = m.group()
            digits = _NON_DIGIT.sub("", raw) if not raw.isdigit() else raw
            if not (_issuer_ok(digits) and luhn_ok(digits)):
                continue
            cue = _CARD_CONTEXT.search(norm, max(0, m.start() - 40), m.start()) is not None
            if len(digits) == 12 and not cue:
                continue  # 12-digit Maestro numbers look like any other 12-digit id without a card word
            if len(set(digits)) == 1:
                continue  # 0000 0000 0000 0000 and friends are placeholders
            if raw.isdigit():
                score = self.score if cue else 0.7
            else:
                score = round(min(1.0, self.score + 0.05), 2) if cue else self.score
            out.append(text.finding("CREDIT_CARD", m.start(), m.end(), score, self.name))
        return out


# One pass for both shapes: AAA-GG-SSSS (hyphens or spaces, the same throughout) and a bare run of
# nine digits; the lookahead on the first character lets the regex engine skip ahead quickly.
_SSN = re.compile(
    r"(?=[0-9])(?<![0-9A-Za-z_\-./])([0-9]{3})([- ]?)([0-9]{2})\2([0-9]{4})(?![0-9A-Za-z_]|[\-./][0-9])"
)
_SSN_CONTEXT = re.compile(r"(?:ssn|ss#|social security|social sec|ssa|tax ?id|taxpayer)", re.IGNORECASE)


def _ssn_ranges_ok(area: str, group: str, serial: str) -> bool:
    """SSA never issues area 000, 666 or 900-999, group 00, or serial 0000."""
    return (
        not (area in ("000", "666") or area[0] == "9" or group == "00" or serial == "0000")
        and area + group + serial not in _ADVERTISED
    )


# Numbers that appeared in advertising and were voided (e.g. the Woolworth wallet card).
_ADVERTISED = frozenset({"078051120", "219099999", "123456789"})


class UsSsnDetector:
    """US Social Security numbers: AAA-GG-SSSS (hyphens or spaces), outside SSA's invalid ranges.

    A bare nine-digit run is reported only with an SSN cue before it (zip+4, phone and order numbers
    are nine digits too).
    """

    name = "us_ssn"
    types = frozenset({"US_SSN"})

    def __init__(self, *, score: float = 0.85) -> None:
        self.score = score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        out: list[Finding] = []
        for m in _SSN.finditer(norm):
            if not _ssn_ranges_ok(m.group(1), m.group(3), m.group(4)):
                continue
            cue = _SSN_CONTEXT.search(norm, max(0, m.start() - 40), m.start()) is not None
            sep = m.group(2)
            if not sep:
                if not cue:
                    continue  # nine bare digits are a zip+4, a phone or an order number without a cue
                score = 0.9
            elif cue:
                score = round(min(1.0, self.score + 0.1), 2)
            else:
                score = self.score if sep == "-" else 0.6  # "123 45 6789" is as often a list of numbers
            out.append(text.finding("US_SSN", m.start(), m.end(), score, self.name))
        return out
