"""E-mail addresses and telephone numbers, in English and Japanese text alike.

Phone numbers are validated by ``phonenumbers`` (Google's libphonenumber metadata), but only on
candidate spans that a cheap compiled regex has already found: calling the library on every digit of a
long prompt costs milliseconds, while real candidates are rare. The regex decides *where* a number may
be; libphonenumber decides *whether* it is one (length and number ranges per region), and a few
shape checks here reject what is valid by chance: dates, IPs, amounts and card numbers.
"""

from __future__ import annotations

import re
from functools import lru_cache

import phonenumbers
from phonenumbers import NumberParseException

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

# Local part: RFC 5322 atoms, dot-separated, in Latin script (accented letters included). Unicode
# local parts (RFC 6531) are left out on purpose: Japanese text runs straight into an address
# ("連絡先はtaro@example.jp"), and a kana-aware local part would swallow the sentence. Domain: labels
# of letters/digits/hyphens (IDN labels stay Unicode in text) and an ASCII or punycode TLD, ending on
# a letter, so trailing punctuation or Japanese ("a@b.com.", "a@b.jpまで") stays out.
# Matching starts from each "@" (found with str.find, at C speed): the local part is read backwards
# from it, so the regex engine never has to try every position of the text.
_ATOM = r"A-Za-z0-9_\u00c0-\u024f!#$%&'*+/=?^`{|}~\-"
_LOCAL_REVERSED = re.compile(f"[{_ATOM}.]{{1,64}}")
_LOCAL = re.compile(f"[{_ATOM}]+(?:[.][{_ATOM}]+)*")
_DOMAIN = re.compile(
    r"(?:[^\W_](?:[\w-]{0,61}[^\W_])?\.)+"
    r"(?:[A-Za-z]{2,63}|xn--[a-z0-9-]{1,59})"
    r"(?![A-Za-z0-9_@-])"
)
# Asset names like "icon@2x.png" look like addresses; no real TLD is a file extension among these.
_FILE_TLDS = frozenset(
    "png jpg jpeg gif svg webp bmp ico js ts css py rb go rs java json yaml yml xml html txt md pdf".split()
)


class EmailDetector:
    """E-mail addresses (RFC 5322 shapes, Unicode local parts and IDN domains)."""

    name = "email"
    types = frozenset({"EMAIL"})

    def __init__(self, *, score: float = 0.95) -> None:
        self.score = score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        out: list[Finding] = []
        at = norm.find("@")
        while at != -1:
            found = _email_at(norm, at)
            if found is not None:
                out.append(text.finding("EMAIL", found[0], found[1], self.score, self.name))
                at = norm.find("@", found[1])
            else:
                at = norm.find("@", at + 1)
        return out


def _email_at(norm: str, at: int) -> tuple[int, int] | None:
    """The address around the "@" at ``at``, if there is one."""
    lo = max(0, at - 64)
    back = _LOCAL_REVERSED.match(norm[lo:at][::-1])
    if back is None:
        return None
    start = at - back.end()
    while start < at and norm[start] == ".":
        start += 1  # a local part never starts with a dot; the dot ended the previous sentence
    local = _LOCAL.fullmatch(norm, start, at)
    domain = _DOMAIN.match(norm, at + 1)
    if local is None or domain is None:
        return None
    if domain.group().rsplit(".", 1)[-1].lower() in _FILE_TLDS:
        return None
    return start, domain.end()


# Candidate phone numbers: an optional "+" (or "00"/"001" international prefix), digit groups joined by
# one separator each (space, dot, any dash, "ー" as typed in Japanese) or by a "(area)" group, then an
# optional extension. Every separator consumes a character, so the pattern is linear in the input.
_DASH = r"\-‐‑‒–—−ー"
# Every pattern here opens with a lookahead on its first character: Python's regex engine then skips
# ahead with a fast character scan instead of evaluating the lookbehind at every position (5x faster
# on Japanese text).
_PHONE = re.compile(
    r"(?=[+(0-9])(?<![0-9A-Za-z_+.@/#" + _DASH + r"])"
    r"(?:\+[ ]?)?"
    r"(?:\([+]?[0-9]{1,5}\)[ ]?(?:[" + _DASH + r"/][ ]?)?)?"
    r"[0-9]+"
    r"(?:(?:[ ]?[" + _DASH + r"./][ ]?|[ ]|[ ]?\([0-9]{1,5}\)[ ]?)[0-9]+)*"
    r"(?:[ ]?(?:ext\.?|extension|x|#|内線)[ ]?[0-9]{1,6})?"
    r"(?![0-9A-Za-z_@]|[.][0-9]|[" + _DASH + r"][0-9])",
    re.IGNORECASE,
)
_EXT = re.compile(r"[ ]?(?:ext\.?|extension|x|#|内線)[ ]?\d{1,6}$", re.IGNORECASE)
_NON_DIGIT = re.compile(r"\D")
_LAST_GROUP_SINGLE = re.compile(r"[^0-9][0-9]$")
_ISBN = re.compile(r"isbn[ :-]*(?:1[03])?[ :-]*$", re.IGNORECASE)
# Shapes that are something else even when libphonenumber accepts the digits.
_DATE = re.compile(r"(?:\d{4}[-./ ]\d{1,2}[-./ ]\d{1,2}|\d{1,2}[-./ ]\d{1,2}[-./ ]\d{2,4})")
# Thousands groups ("1 234 567", "12.345.678"): an amount, not a number to dial.
_AMOUNT = re.compile(r"\d{1,3}(?:([ .,])\d{3})(?:\1\d{3})*")
_DOTTED_QUAD = re.compile(r"\d{1,3}(?:\.\d{1,3}){3}")
_CARD_GROUPS = re.compile(r"\d{4}([ -])\d{4}\1\d{4}\1\d{1,4}")
_CONTEXT = re.compile(
    r"(?:phone|tel|telephone|mobile|mob|cell|call|fax|contact|whatsapp|sms|text me|text|reach|dial|ring|"
    r"☎|📞|📱|電話|携帯|連絡|ファックス|ファクス|問い合わせ|問合せ)",
    re.IGNORECASE,
)
# A phone word right after the number: "0412 345 678 (mobile)".
_CUE_AFTER = re.compile(
    r"[ ]*(?:[(\[]?(?:mobile|cell|home|work|office|fax|tel|phone|landline)\b"
    r"|is my (?:number|phone|mobile|cell))",
    re.IGNORECASE,
)
_NEGATIVE = re.compile(
    r"(?:\b(?:order|invoice|tracking|account|acct|ref|reference|serial|isbn|id|no|number|code|ticket|"
    r"receipt|transaction|policy|case|sku|part|model|customer|member|version|iban|bic|swift|routing|"
    r"sort code|bank|"
    r"zip|zip code|postal code|postcode|post code)|#|〒|"
    r"注文|請求|伝票|口座|番号|品番|型番|会員|銀行|振込先|郵便)[ :.#]*$",
    re.IGNORECASE,
)
# "Phone number: ..." and "Tel. No. ...": the label after a phone word is the phone's own.
_PHONE_LABEL = re.compile(
    r"(?:phone|tel|telephone|mobile|cell|fax|contact|電話|携帯|連絡先?)\.?[ ]*"
    r"(?:no\.?|number|#|番号)[ :.#]*$",
    re.IGNORECASE,
)
# A date or time at the start ("2022-10-02 14" before ":45") and the tail of an IBAN ("NL21 ABNA 0384 ...").
_DATE_PREFIX = re.compile(r"(?:\d{4}[-./]\d{1,2}[-./]\d{1,2}|\d{1,2}[-./]\d{1,2}[-./]\d{4})(?:[ T]|$)")
_TRUNK = re.compile(r"\(?0[0-9]")
_TIME_AFTER = re.compile(r"[:：]\d\d")
_IBAN_BEFORE = re.compile(r"\b[A-Z]{2}[0-9]{2}[ ]?(?:[A-Z0-9]{4}[ ]?){1,7}$")
# Regions tried for a national number (trunk 0) that is neither Japanese nor North American: with a
# phone word near it, or without one when it is written in groups ("078 8098 1119").
_WIDE_REGIONS = (
    "GB DE FR IT NL AU IN CN KR ES PT BE AT CH IE NZ BR MX PL SE NO DK FI CZ SK HU RO HR SI TR ID RU ZA "
    "AR PH TH VN MY"
).split()
# The North American shape, 3-3-4 with separators or "(3) 3-4": a phone number in English text even
# when the area code is unassigned or fictional (555), so it is kept at a lower score.
_NANP_SHAPE = re.compile(r"(?:\+?1[ .-]?|001[ .-]?)?(?:\(\d{3}\)[ ]?|\d{3}[ .-])\d{3}[ .-]\d{4}")


class PhoneDetector:
    """Telephone numbers: Japanese (mobile, IP, landline, free dial, navi-dial, +81) and international.

    National numbers are tried in ``regions`` (Japan for a leading trunk ``0``, the US otherwise); any
    number with a ``+`` or ``00`` prefix is parsed as international. With a phone word nearby ("Tel",
    "call", "電話"), a national number that fits neither is also tried in ``cue_regions``. A bare digit
    run (no separators, no ``+``) is a weaker signal: dropped after an order/account label, moderate
    without any label, high with a phone word.
    """

    name = "phone"
    types = frozenset({"PHONE"})

    def __init__(
        self,
        *,
        regions: tuple[str, ...] = ("JP", "US"),
        cue_regions: tuple[str, ...] = tuple(_WIDE_REGIONS),
        score: float = 0.85,
    ) -> None:
        self.regions = tuple(r.upper() for r in regions)
        self.cue_regions = tuple(r.upper() for r in cue_regions if r.upper() not in self.regions)
        self.score = score
        # libphonenumber loads each region's metadata on first use (milliseconds): pay for it now, not
        # on the first request that happens to contain a number.
        for region in (*self.regions, *self.cue_regions):
            phonenumbers.PhoneMetadata.metadata_for_region(region)

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        out: list[Finding] = []
        for m in _PHONE.finditer(norm):
            if m.end() - m.start() < 7:
                continue  # fast exit: most digit runs in prose are short (years, amounts, counts)
            score = self._score(norm, m.start(), m.group())
            if score > 0.0:
                out.append(text.finding("PHONE", m.start(), m.end(), score, self.name))
        return out

    def _score(self, norm: str, start: int, raw: str) -> float:
        ext = _EXT.search(raw)
        body = raw[: ext.start()] if ext else raw
        digits = _NON_DIGIT.sub("", body)
        if not 7 <= len(digits) <= 15 and not (body.startswith("00") and len(digits) <= 17):
            return 0.0
        if _DATE.fullmatch(body) or _DOTTED_QUAD.fullmatch(body) or _CARD_GROUPS.fullmatch(body):
            return 0.0
        if _LAST_GROUP_SINGLE.search(body):
            return 0.0  # ISBN-10 (0-306-40615-2) and similar codes end in a check digit group
        end = start + len(raw)
        if _DATE_PREFIX.match(body) or _TIME_AFTER.match(norm, end):
            return 0.0  # "2022-10-02 14:45", "24.03.2021 20:26"
        before = _line_before(norm, start)
        if _ISBN.search(before) or _IBAN_BEFORE.search(before):
            return 0.0
        cue = _CONTEXT.search(before) is not None or _CUE_AFTER.match(norm, end) is not None
        # A label such as "Order", "Invoice no." right before the number names something else.
        negative = _NEGATIVE.search(before) is not None and _PHONE_LABEL.search(before) is None
        plain = body.isdigit()
        if negative:
            return 0.0
        if not self._valid(body, digits, cue):
            # Formatted like a phone number but not in an assigned range: still one in practice.
            if not plain and (_NANP_SHAPE.fullmatch(body) or (body.startswith("+") and _possible(body))):
                return 0.75 if cue else 0.6
            if cue and not _amount(norm, start, body):
                # A national number of a country not tried ("9472 7916" after "mobile"); seven digits
                # are also a Japanese postal code's shape, hence the lower score.
                return 0.65 if len(digits) >= 8 else 0.6
            if not plain and _TRUNK.match(body) and self._valid_wide(body):
                return 0.6  # "078 8098 1119": grouped, trunk 0, valid in some region
            return 0.0
        if plain:
            # A bare run of digits is a phone number with a cue, and a moderate guess without one.
            return 0.9 if cue else 0.55
        return min(1.0, self.score + 0.1) if cue else self.score

    def _valid_wide(self, body: str) -> bool:
        return any(_is_valid(body, r) for r in self.cue_regions)

    def _valid(self, body: str, digits: str, cue: bool) -> bool:
        if body.startswith("+"):
            return _is_valid(body, None)
        if body.startswith("(+"):
            return _is_valid(body.replace("(", "", 1).replace(")", "", 1), None)  # "(+358) 901370387"
        if digits.startswith("00"):
            # "00" (and "001" in Faker-style US data) is the international prefix in most countries.
            return _is_valid("+" + digits[2:], None)
        if digits.startswith("0"):
            # A leading trunk 0 is how Japanese (and most non-NANP) national numbers are written. Every
            # Japanese number is 10 or 11 digits with it: skip the library call for anything else.
            if "JP" in self.regions and 10 <= len(digits) <= 11 and _is_valid(body, "JP"):
                return True
            others = [r for r in self.regions if r not in ("JP", "US")]
        else:
            # North American numbers: 10 digits, or 11 with the leading 1.
            if "US" in self.regions and (len(digits) == 10 or (len(digits) == 11 and digits[0] == "1")):
                if _is_valid(body, "US"):
                    return True
            others = [r for r in self.regions if r not in ("JP", "US")]
        if cue and digits.startswith("0"):
            # Tried for a trunk 0 only: other national shapes after a phone word get the cue score.
            others += self.cue_regions
        return any(_is_valid(body, r) for r in others)


def _line_before(norm: str, start: int) -> str:
    """Up to 40 characters before ``start`` on its line (or the line above, when the number opens a
    line: "Phone:\n0412 345 678"), so a phone word in an earlier sentence does not count."""
    before = norm[max(0, start - 40) : start]
    cut = before.rfind("\n")
    if cut == -1:
        return before
    if before[cut + 1 :].strip():
        return before[cut + 1 :]
    return before[before.rfind("\n", 0, cut) + 1 :]


def _amount(norm: str, start: int, body: str) -> bool:
    """Thousands groups ("1,234,567", "12.345.678", "€ 1 234 567"); 3-3-3 with spaces alone is also a
    common way to write a phone number, so it is an amount only after a currency sign."""
    m = _AMOUNT.fullmatch(body)
    if m is None:
        return False
    return m.group(1) != " " or norm[max(0, start - 2) : start].strip()[-1:] in ("$", "€", "£", "¥", "₩")


@lru_cache(maxsize=4096)
def _is_valid(number: str, region: str | None) -> bool:
    """libphonenumber's validity check; cached, because a conversation re-sends its earlier turns."""
    try:
        parsed = phonenumbers.parse(number, region)
    except NumberParseException:
        return False
    return phonenumbers.is_valid_number(parsed)


def _possible(number: str) -> bool:
    try:
        return phonenumbers.is_possible_number(phonenumbers.parse(number, None))
    except NumberParseException:
        return False
