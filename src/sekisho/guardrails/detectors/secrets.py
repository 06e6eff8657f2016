"""SECRET: credentials that must never reach a model provider or a log.

Vendor token formats come from the ``detect-secrets`` plugins (their compiled ``denylist`` regexes are
imported, not copied, so new formats arrive with the library); what it lacks is added here: newer key
formats (``github_pat_``, ``sk-proj-``, ``sk-ant-``, Sekisho's own ``sk-sks-``, Google ``AIza``), whole
PEM blocks, JWTs whose header really decodes to JSON with ``alg``, Azure SAS signatures, and
``password=`` / ``パスワード：`` assignments in English and Japanese.

Entropy is used only next to a key word (``api_key = …``, ``Bearer …``): alone it flags every git SHA,
UUID, lockfile hash and base64 image, which are the usual false positives of secret scanners.
"""

from __future__ import annotations

import base64
import binascii
import json
import math
import re
from bisect import bisect_right
from collections import Counter
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Any

from detect_secrets.plugins.aws import AWSKeyDetector
from detect_secrets.plugins.basic_auth import BasicAuthDetector
from detect_secrets.plugins.github_token import GitHubTokenDetector
from detect_secrets.plugins.gitlab_token import GitLabTokenDetector
from detect_secrets.plugins.keyword import DENYLIST as KEYWORD_DENYLIST
from detect_secrets.plugins.mailchimp import MailchimpDetector
from detect_secrets.plugins.openai import OpenAIDetector
from detect_secrets.plugins.private_key import PrivateKeyDetector
from detect_secrets.plugins.pypi_token import PypiTokenDetector
from detect_secrets.plugins.sendgrid import SendGridDetector
from detect_secrets.plugins.slack import SlackDetector
from detect_secrets.plugins.square_oauth import SquareOAuthDetector
from detect_secrets.plugins.stripe import StripeDetector
from detect_secrets.plugins.telegram_token import TelegramBotTokenDetector
from detect_secrets.plugins.twilio import TwilioKeyDetector

from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

SECRET = "SECRET"  # noqa: S105 - the finding type, not a password

# A token never starts or ends in the middle of a longer run of token characters: this is what keeps
# an ``AKIA…`` or ``eyJ…`` inside a base64 image or a lockfile hash from matching.
_BEFORE = r"(?<![A-Za-z0-9_+/\-])"
_AFTER = r"(?![A-Za-z0-9_\-])"
_TAIL = re.compile(r"[A-Za-z0-9_\-]*")


@dataclass(frozen=True, slots=True)
class _Rule:
    pattern: re.Pattern[str]
    score: float
    needles: tuple[str, ...]  # the pattern runs only if one of these is in the text (a C-speed search)
    group: int = 0
    extend: bool = False  # vendors lengthen keys over time: grow the match over token characters
    check: Callable[[str, int, int], float | None] | None = None  # (norm, start, end) -> score or drop
    folded: bool = False  # needles are lower case, searched in the lower-cased text


def _bounded(patterns: Iterable[re.Pattern[str]], *, after: bool = True) -> list[re.Pattern[str]]:
    """A library pattern with token boundaries added on the sides where it has none."""
    return [
        re.compile(_BEFORE + "(?:" + p.pattern + ")" + (_AFTER if after else ""), p.flags) for p in patterns
    ]


def _own(pattern: str, flags: int = 0) -> re.Pattern[str]:
    return re.compile(_BEFORE + pattern + _AFTER, flags)


def _entropy(value: str) -> float:
    counts = Counter(value)
    n = len(value)
    return -sum(c / n * math.log2(c / n) for c in counts.values())


_UUID = re.compile(r"[0-9a-fA-F]{8}-(?:[0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}")
_HEX = re.compile(r"[0-9a-fA-F]+")
_PLACEHOLDER = re.compile(
    r"(?i)(?:[x*#.\-_]+|[<{$%].*|.*(?:your|example|placeholder|dummy|changeme|redacted|xxxx|\.\.\.|…).*"
    r"|pass(?:word|wd)?|secret|token|none|null|nil|true|false|str|string|required|optional|undefined"
    r"|\*+)"
)


def _random_enough(value: str) -> bool:
    """Looks generated (a key), not like a word, an identifier or a number."""
    if len(value) < 16 or _UUID.fullmatch(value):
        return False
    has_digit = any(c.isdigit() for c in value)
    has_alpha = any(c.isalpha() for c in value)
    if not (has_digit and has_alpha):
        return False
    if _HEX.fullmatch(value):
        return len(value) >= 32 and _entropy(value) >= 3.0
    return _entropy(value) >= 3.3


def _jwt(norm: str, start: int, end: int) -> float | None:
    header, _, rest = norm[start:end].partition(".")
    try:
        decoded = json.loads(base64.urlsafe_b64decode(header + "=" * (-len(header) % 4)))
    except (binascii.Error, ValueError, UnicodeDecodeError):
        return None
    if not isinstance(decoded, dict) or "alg" not in decoded:
        return None
    signed = not rest.endswith(".")
    return 0.95 if signed else 0.7


def _url_password(norm: str, start: int, end: int) -> float | None:
    return 0.3 if _PLACEHOLDER.fullmatch(norm[start:end]) else 0.9


def _sas(norm: str, start: int, end: int) -> float | None:
    around = norm[max(0, start - 400) : end + 200]
    return 0.9 if "sv=" in around and ("se=" in around or "sp=" in around) else None


def _contextual(norm: str, start: int, end: int) -> float | None:
    return 0.85 if _random_enough(norm[start:end]) else None


def _rules(
    needles: tuple[str, ...], patterns: Iterable[re.Pattern[str]], score: float, **kw: Any
) -> list[_Rule]:
    return [_Rule(p, score, needles, **kw) for p in patterns]


_GITLAB = (
    "glpat-",
    "gldt-",
    "glft-",
    "glsoat-",
    "glrt-",
    "GR1348941",
    "glcbt-",
    "glimt-",
    "glptt-",
    "glagent-",
)
_RULES: list[_Rule] = [
    # Cloud providers.
    *_rules(("AKIA", "ASIA", "ABIA", "ACCA", "A3T"), _bounded(AWSKeyDetector.denylist[:1]), 0.95),
    *_rules(("aws",), AWSKeyDetector.denylist[1:2], 0.9, group=1, folded=True),
    _Rule(
        re.compile(
            r"(?i)aws_?secret_?(?:access_?)?key[\w\"']{0,4}[ \t]{0,4}[:=][ \t]{0,4}[\"']?"
            r"([A-Za-z0-9/+]{40})(?![A-Za-z0-9/+])"
        ),
        0.9,
        ("aws",),
        group=1,
        folded=True,
    ),
    _Rule(_own(r"AIza[0-9A-Za-z_\-]{35}"), 0.95, ("AIza",)),
    _Rule(_own(r"GOCSPX-[0-9A-Za-z_\-]{28}"), 0.9, ("GOCSPX-",)),
    _Rule(
        re.compile(r"(?i)(?:AccountKey|SharedAccessKey)[ \t]*=[ \t]*([A-Za-z0-9+/]{40,}={0,2})"),
        0.9,
        ("accountkey", "sharedaccesskey"),
        group=1,
        folded=True,
    ),
    _Rule(
        re.compile(r"(?<![A-Za-z0-9])sig=([A-Za-z0-9%+/]{40,}(?:%3D|=){0,2})"),
        0.9,
        ("sig=",),
        group=1,
        check=_sas,
    ),
    # Code hosting and chat.
    *_rules(("ghp_", "gho_", "ghu_", "ghs_", "ghr_"), _bounded(GitHubTokenDetector.denylist), 0.95),
    _Rule(_own(r"github_pat_[A-Za-z0-9_]{60,100}"), 0.95, ("github_pat_",)),
    *_rules((*_GITLAB, "gloas-"), _bounded(GitLabTokenDetector.denylist, after=False), 0.95),
    *_rules(("xox",), _bounded(SlackDetector.denylist[:1], after=False), 0.95, folded=True),
    *_rules(("hooks.slack.com",), SlackDetector.denylist[1:2], 0.95, folded=True),
    # Real bot tokens' secret half starts with "AA"; without that needle the pattern runs on every colon.
    *_rules((":AA",), _bounded(TelegramBotTokenDetector.denylist), 0.85),
    # Payments, mail, packages.
    *_rules(("k_live_",), _bounded(StripeDetector.denylist, after=False), 0.95, extend=True),
    _Rule(_own(r"[rs]k_test_[0-9a-zA-Z]{24,}"), 0.7, ("k_test_",)),
    *_rules(("SG.",), _bounded(SendGridDetector.denylist), 0.9),
    *_rules(("pypi-",), _bounded(PypiTokenDetector.denylist, after=False), 0.9),
    *_rules(("sq0csp-",), _bounded(SquareOAuthDetector.denylist), 0.9),
    *_rules(("-us",), _bounded(MailchimpDetector.denylist), 0.85),
    *_rules(("AC", "SK"), _bounded(TwilioKeyDetector.denylist), 0.7),
    # Model providers, and Sekisho's own keys.
    *_rules(("T3BlbkFJ",), _bounded(OpenAIDetector.denylist, after=False), 0.95, extend=True),
    _Rule(_own(r"sk-ant-[a-z]+\d*-[A-Za-z0-9_\-]{20,}"), 0.95, ("sk-ant-",)),
    _Rule(
        _own(r"sk-(?:proj|svcacct|admin)-[A-Za-z0-9_\-]{20,}"), 0.95, ("sk-proj-", "sk-svcacct-", "sk-admin-")
    ),
    _Rule(_own(r"sk-sks-[A-Za-z0-9_\-]{32,}"), 0.95, ("sk-sks-",)),
    _Rule(_own(r"sk-[A-Za-z0-9]{32,}"), 0.85, ("sk-",), check=_contextual),
    # Structured tokens.
    _Rule(
        re.compile(
            r"(?<![A-Za-z0-9_\-])eyJ[A-Za-z0-9_\-]{8,}={0,2}\.[A-Za-z0-9_\-]{2,}={0,2}\.(?:[A-Za-z0-9_\-]+={0,2})?"
        ),
        0.95,
        ("eyJ",),
        check=_jwt,
    ),
    # user:password@host in any URL; the span is the password only.
    *_rules(("://",), BasicAuthDetector.denylist[:1], 0.9, group=1, check=_url_password),
    # The library follows RFC 3986 (no unescaped ``!`` or ``$``); people paste passwords as typed.
    _Rule(
        re.compile(r"(?<=[A-Za-z0-9])://[^:/@\s]{0,100}:([^@\s/]{1,200})@"),
        0.9,
        ("://",),
        group=1,
        check=_url_password,
    ),
    _Rule(
        re.compile(r"(?i)\bbearer[ \t]+([A-Za-z0-9._~+/\-]{16,}=*)"),
        0.85,
        ("bearer",),
        group=1,
        check=_contextual,
        folded=True,
    ),
]

# PEM private keys: the header names come from detect-secrets; the whole block is the secret.
_PEM_NAMES = [
    p.pattern.removeprefix("BEGIN ") for p in PrivateKeyDetector.denylist if p.pattern.startswith("BEGIN ")
]
_PEM = re.compile(
    r"-----BEGIN (" + "|".join(map(re.escape, [*_PEM_NAMES, "ENCRYPTED PRIVATE KEY"])) + r")-----"
)
_PEM_BODY = re.compile(r"(?:[A-Za-z0-9+/=:,\- \t\r\n]|\\n|\\r)*")
_PUTTY = re.compile(r"PuTTY-User-Key-File-\d:[^\n]*")
_PUTTY_END = re.compile(r"Private-MAC: [0-9a-fA-F]+")
_PEM_MAX = 65536

# Assignments: ``password = …``, ``DB_PASSWORD: …``, ``パスワードは…``, ``api_key="…"``. Scanned on
# ``Text.kana`` (lower case, katakana folded to hiragana) so no IGNORECASE is needed; the value is then
# read from ``norm`` at the same offsets, case intact. The keyword may end an identifier (``db_password``)
# but not start a longer word (``passwords``, ``secretary``, ``tokens``).
_PASSWORD_WORDS = ["password", "passwd", "passphrase", "pwd", "pass", "contraseña", "contrasena"]
_PASSWORD_WORDS += ["ぱすわーど", "暗証番号", "ぱすふれーず", "合言葉"]
_KEY_WORDS = [w for w in KEYWORD_DENYLIST if w not in _PASSWORD_WORDS and "pass" not in w]
_KEY_WORDS += ["token", "access_?token", "auth_?token", "secret_?key", "client_?secret", "api_?secret"]
_KEY_WORDS += ["apiきー", "あくせすきー", "しーくれっときー", "しーくれっと", "とーくん", "秘密鍵"]
_ASSIGN_NEEDLES = "pass pwd secret key token contrase ぱすわーど 暗証番号 ぱすふれーず 合言葉".split()
_ASSIGN_NEEDLES += ["きー", "しーくれっと", "とーくん", "秘密鍵"]
_ASSIGN = re.compile(
    r"(?<![a-z0-9])(?:(" + "|".join(_PASSWORD_WORDS) + r")|(" + "|".join(_KEY_WORDS) + r"))"
    r"(?:[_.\-][a-z0-9_.\-]{0,40})?(?![a-z0-9])[\"'\]]{0,2}[ \t]{0,8}"
    r"(?:=>|:=|==?|:|[ \t]is[ \t]|は|を)[ \t]{0,8}[\"'「`]?"
    r"([^\s\"'`,;<>(){}\[\]「」\u0080-\U0010ffff]{4,200})"
)


def _assignment_score(value: str, password: bool) -> float | None:
    if _PLACEHOLDER.fullmatch(value) or value.startswith(("os.", "self.", "env.", "process.", "settings.")):
        return None
    if not password:
        return 0.85 if _random_enough(value) else (0.45 if _UUID.fullmatch(value) else None)
    has_digit = any(c.isdigit() for c in value)
    has_symbol = any(not c.isalnum() and c not in "_." for c in value)
    if has_symbol or (has_digit and any(c.isalpha() for c in value)):
        return 0.9
    if has_digit:
        return 0.75  # a PIN (暗証番号) or a numeric password
    return 0.4  # letters only: as often a variable name (password=password) as a password


class SecretDetector:
    """Credentials: vendor API keys and tokens, JWTs, PEM private keys, passwords in URLs and assignments."""

    name = "secret"
    types = frozenset({SECRET})

    def __init__(self, *, min_score: float = 0.0) -> None:
        self.min_score = min_score

    def detect(self, text: Text) -> list[Finding]:
        norm = text.norm
        lower = _lower(text)
        spans: list[tuple[int, int, float]] = []
        for rule in _RULES:
            haystack = lower if rule.folded else norm
            if not any(needle in haystack for needle in rule.needles):
                continue
            for match in rule.pattern.finditer(norm):
                start, end = match.span(rule.group)
                if start == end:
                    continue
                if rule.extend:
                    tail = _TAIL.match(norm, end)
                    end = tail.end() if tail else end
                score: float | None = rule.score
                if rule.check is not None:
                    score = rule.check(norm, start, end)
                if score is not None:
                    spans.append((start, end, score))
        if "-----BEGIN" in norm or "PuTTY-User-Key-File" in norm:
            spans.extend(self._private_keys(norm))
        if any(needle in lower for needle in _ASSIGN_NEEDLES):
            spans.extend(self._assignments(norm, lower))
        return [
            text.finding(SECRET, a, b, s, self.name)
            for a, b, s in _best_disjoint(spans)
            if s >= self.min_score
        ]

    @staticmethod
    def _private_keys(norm: str) -> Iterable[tuple[int, int, float]]:
        for match in _PEM.finditer(norm):
            footer = f"-----END {match.group(1)}-----"
            end = norm.find(footer, match.end(), match.end() + _PEM_MAX)
            if end >= 0:
                yield match.start(), end + len(footer), 0.99
            else:  # truncated or pasted without its footer: the key material still leaked
                body = _PEM_BODY.match(norm, match.end(), match.end() + _PEM_MAX)
                end = body.end() if body else match.end()
                yield match.start(), match.start() + len(norm[match.start() : end].rstrip()), 0.95
        for match in _PUTTY.finditer(norm):
            mac = _PUTTY_END.search(norm, match.end(), match.end() + _PEM_MAX)
            yield match.start(), (mac.end() if mac else match.end()), 0.95

    @staticmethod
    def _assignments(norm: str, lower: str) -> Iterable[tuple[int, int, float]]:
        for match in _ASSIGN.finditer(lower):
            start, end = match.span(3)
            value = norm[start:end].rstrip(".")
            end = start + len(value)
            score = _assignment_score(value, password=match.group(1) is not None)
            if score is not None:
                yield start, end, score


def _lower(text: Text) -> str:
    """``Text.kana`` (lower case, hiragana), or ``norm`` lower-cased where that would move offsets."""
    if len(text.kana) == len(text.norm):
        return text.kana
    lowered = text.norm.lower()
    return lowered if len(lowered) == len(text.norm) else text.norm


def _best_disjoint(spans: list[tuple[int, int, float]]) -> list[tuple[int, int, float]]:
    """Overlapping matches of one value (two rules, one key): keep the strongest, then the longest."""
    kept: list[tuple[int, int, float]] = []  # sorted by start, pairwise disjoint
    starts: list[int] = []
    for a, b, s in sorted(spans, key=lambda x: (-x[2], x[0] - x[1])):
        i = bisect_right(starts, a)
        if (i > 0 and kept[i - 1][1] > a) or (i < len(kept) and kept[i][0] < b):
            continue
        kept.insert(i, (a, b, s))
        starts.insert(i, a)
    return kept
