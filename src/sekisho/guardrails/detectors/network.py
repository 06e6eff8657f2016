"""IP addresses (v4 and v6), validated by the standard library's ``ipaddress``.

The regexes only find candidates; ``ipaddress`` decides. The lookarounds keep IPv4 from matching
inside version strings (``1.2.3.4.5``, ``v1.2.3.4``) and IPv6 from matching clock times or C++ scopes.
"""

from __future__ import annotations

import ipaddress
import re

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

# ASCII-only classes in the lookbehind: "IPアドレスは192.168.0.1です" must match, and \w would
# treat the kana before it as part of a word.
# The lookahead on the first character lets the regex engine skip ahead with a fast scan.
_V4 = re.compile(r"(?=[0-9])(?<![0-9A-Za-z_.\-])(?:[0-9]{1,3}\.){3}[0-9]{1,3}(?![0-9A-Za-z_]|\.[0-9]|-[0-9])")
_V6_HINT = re.compile(r"::|[0-9A-Fa-f]:[0-9A-Fa-f]{1,4}:")
_V6 = re.compile(
    r"(?=[0-9A-Fa-f:])(?<![0-9A-Za-z_:.])"
    r"(?:[0-9A-Fa-f]{1,4})?(?::[0-9A-Fa-f]{0,4}){2,7}"
    r"(?:(?<=:)\d{1,3}(?:\.\d{1,3}){3})?"
    r"(?:%[0-9A-Za-z]{1,15})?"
    r"(?![0-9A-Za-z_:]|\.\d)"
)
_VERSION_CUE = re.compile(r"(?:\bv|\bver\.?|\bversion|\brelease|\bbuild|バージョン)\s*$", re.IGNORECASE)


class IpAddressDetector:
    """IPv4 (each octet 0-255, not a version string or dotted date) and IPv6 (all compressed forms,
    IPv4-mapped ``::ffff:1.2.3.4``, zone indexes)."""

    name = "ip_address"
    types = frozenset({"IP_ADDRESS"})

    def __init__(self, *, score: float = 0.9) -> None:
        self.score = score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        out: list[Finding] = []
        v6_spans: list[tuple[int, int]] = []
        if ":" in norm and _V6_HINT.search(norm):
            for m in _V6.finditer(norm):
                value = m.group()
                if value.count(":") < 2 or not any(c.isdigit() for c in value):
                    continue  # "abc::def" in C++ code is a scope, not an address
                try:
                    ipaddress.IPv6Address(value)
                except ValueError:
                    continue
                v6_spans.append((m.start(), m.end()))
                out.append(text.finding("IP_ADDRESS", m.start(), m.end(), self.score, self.name))
        if "." in norm:
            for m in _V4.finditer(norm):
                if any(a <= m.start() and m.end() <= b for a, b in v6_spans):
                    continue  # the tail of an IPv4-mapped IPv6 address, already reported whole
                try:
                    ipaddress.IPv4Address(m.group())
                except ValueError:
                    continue
                if _VERSION_CUE.search(norm, max(0, m.start() - 12), m.start()):
                    continue
                out.append(text.finding("IP_ADDRESS", m.start(), m.end(), self.score, self.name))
        return out
