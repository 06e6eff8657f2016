"""BLOCKLIST: an organisation's own words and patterns, matched after Japanese normalisation.

Words are compared on ``Text.kana`` — NFKC, lower case, katakana folded to hiragana — so ``ﾊﾟｽﾜｰﾄﾞ``,
``パスワード`` and ``ぱすわーど`` are one word, as are ``ＳＥＣＲＥＴ`` and ``secret``. A word that starts or
ends with a Latin letter or digit only matches at a word boundary (``ass`` does not match ``class``);
Japanese has no spaces, so Japanese words match anywhere. Patterns are Python regular expressions
matched case-insensitively on ``Text.norm``; they come from administrators, not from callers.
"""

from __future__ import annotations

import re
from functools import cache
from pathlib import Path

from sekisho.guardrails.actions import resolve_rules
from sekisho.guardrails.base import GuardrailResult, ScanContext
from sekisho.guardrails.config import BlocklistSettings, GuardrailSettings
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.text import Text

TYPE = "BLOCKLIST"
_ALNUM = re.compile(r"[0-9a-z]")


def fold(word: str) -> str:
    """A word as ``Text.kana`` would spell it."""
    return Text(word).kana


class Blocklist:
    """One compiled list."""

    def __init__(self, settings: BlocklistSettings) -> None:
        self.name = settings.name
        words = list(settings.words)
        if settings.file is not None:
            words.extend(_read_lines(settings.file))
        alternatives = []
        for word in sorted({fold(w.strip()) for w in words if w.strip()}, key=len, reverse=True):
            escaped = re.escape(word)
            if _ALNUM.match(word):
                escaped = r"(?<![0-9a-z])" + escaped
            if _ALNUM.match(word[-1]):
                escaped += r"(?![0-9a-z])"
            alternatives.append(escaped)
        self._words = re.compile("|".join(alternatives)) if alternatives else None
        try:
            self._patterns = [re.compile(p, re.IGNORECASE) for p in settings.patterns]
        except re.error as exc:
            raise ValueError(f"blocklist {settings.name!r}: invalid pattern: {exc}") from exc

    def detect(self, text: Text) -> list[Finding]:
        """Every listed word or pattern in ``text``."""
        detector = f"blocklist:{self.name}"
        found: list[Finding] = []
        if self._words is not None:
            found.extend(
                text.finding(TYPE, *m.span(), 1.0, detector) for m in self._words.finditer(text.kana)
            )
        for pattern in self._patterns:
            found.extend(
                text.finding(TYPE, *m.span(), 1.0, detector)
                for m in pattern.finditer(text.norm)
                if m.end() > m.start()
            )
        return found


def _read_lines(path: Path) -> list[str]:
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise ValueError(f"cannot read blocklist file {path}: {exc}") from exc
    return [line.strip() for line in lines if line.strip() and not line.lstrip().startswith("#")]


def make_blocklist(settings: GuardrailSettings, caller: object = None) -> BlocklistGuardrail | None:
    """The blocklist guardrail, or None when no scope configures a list."""
    if not settings.blocklists and not any(o.blocklists for o in settings.overrides.values()):
        return None
    return BlocklistGuardrail(settings)


class BlocklistGuardrail:
    """The lists of the caller's scope: the defaults plus its organisation's and project's."""

    name = "blocklist"
    types = frozenset({TYPE})
    fail_open = False

    def __init__(self, settings: GuardrailSettings, caller: object = None) -> None:
        self._settings = settings
        self._compile = cache(self._lists)
        # Compile every configured list now: a bad pattern or a missing file stops start-up, not a request.
        self._compile(None, None)
        for scope in settings.overrides:
            org, _, project = scope.partition("/")
            self._compile(org, project or None)

    def _lists(self, org: str | None, project: str | None) -> tuple[Blocklist, ...]:
        rules = resolve_rules(self._settings, org, project)
        return tuple(Blocklist(b) for b in rules.blocklists)

    async def scan(self, text: Text, context: ScanContext) -> GuardrailResult:
        """Findings of every list that applies to ``context``'s organisation and project."""
        # Scopes without an override share the default lists (and one cache entry).
        overrides = self._settings.overrides
        project_scoped = f"{context.org}/{context.project}" in overrides
        org = context.org if project_scoped or context.org in overrides else None
        project = context.project if project_scoped else None
        found = [f for blocklist in self._compile(org, project) for f in blocklist.detect(text)]
        return GuardrailResult(self.name, found, "flag" if found else "pass")
