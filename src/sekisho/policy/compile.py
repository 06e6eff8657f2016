"""From stored documents to the policy in force for one organisation or project.

Documents are layered: the built-in pack, then the organisation's document, then the project's; a
rule replaces the rule with the same id below it. ``extends`` cuts the chain (see ``document.py``).
Compiling happens once per version, never per request.
"""

from __future__ import annotations

import re
import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass
from functools import cache
from importlib import resources

from sekisho.policy.document import (
    ClassifierSettings,
    PolicyDocument,
    ReviewSettings,
    Rule,
    parse_policy,
    source_digest,
)

DEFAULT_PACK = "sekisho-default"


@cache
def default_pack_source() -> str:
    """The built-in pack's YAML, shipped with the package."""
    return resources.files("sekisho.policy").joinpath("packs/default.yaml").read_text(encoding="utf-8")


@cache
def default_pack() -> PolicyDocument:
    """The built-in pack, parsed."""
    return parse_policy(default_pack_source())


@dataclass(frozen=True, slots=True)
class Matcher:
    """A rule's ``match``: phrases (NFKC, case-folded) and compiled patterns."""

    rule: Rule
    phrases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]

    def hits(self, folded: str, original: str) -> bool:
        """Whether the rule's phrases or patterns occur."""
        return any(p in folded for p in self.phrases) or any(p.search(original) for p in self.patterns)


@dataclass(frozen=True, slots=True)
class CompiledPolicy:
    """The effective policy: rules after layering, with their lookups prepared."""

    name: str
    version: str  # names the layered versions, e.g. "sekisho-default+org:3+project:1"
    digest: str  # SHA-256 over the layered sources: the cache key for classifier results
    rules: tuple[Rule, ...]
    by_category: dict[str, Rule]
    matchers: tuple[Matcher, ...]
    by_id: dict[str, Rule]
    classifier: ClassifierSettings
    review: ReviewSettings

    def policy_text(self, lang: str = "en") -> str:
        """The rules as instructions for an LLM classifier (bring-your-own policy)."""
        lines = [f"POLICY {self.name} (version {self.version})", "", "RULES"]
        for rule in self.rules:
            definition = rule.text("definition", lang) or rule.text("title", lang)
            lines.append(f"- {rule.id} [{rule.decision}]: {rule.text('title', lang)} — {definition}")
        lines += ["", "Content that no rule covers is allowed."]
        return "\n".join(lines)


@dataclass(frozen=True, slots=True)
class Layer:
    """One stored document in the chain, with the name of its version."""

    document: PolicyDocument
    label: str  # "org:3", "project:1"
    source: str


def fold(text: str) -> str:
    """The view phrases are matched in: NFKC (full-width → ASCII, half-width kana → full) and casefold."""
    return unicodedata.normalize("NFKC", text).casefold()


def compile_layers(layers: Sequence[Layer]) -> CompiledPolicy:
    """Layer ``layers`` (organisation first, then project) over the built-in pack as they ask."""
    pack = Layer(default_pack(), DEFAULT_PACK, default_pack_source())
    chain: list[Layer] = [pack]
    for layer in layers:
        if layer.document.extends is None:
            chain = [layer]
        elif layer.document.extends == DEFAULT_PACK:
            chain = [pack, layer]
        else:
            chain.append(layer)
    rules: dict[str, Rule] = {}
    classifier = ClassifierSettings()
    review = ReviewSettings()
    for layer in chain:
        for rule in layer.document.rules:
            rules.pop(rule.id, None)  # re-insert so an override keeps the overriding layer's order
            rules[rule.id] = rule
        classifier = layer.document.classifier or classifier
        review = layer.document.review or review
    active = tuple(r for r in rules.values() if r.enabled)
    by_category: dict[str, Rule] = {}
    for rule in active:
        if rule.category is not None:
            # Two rules for one category: the stricter one governs it.
            current = by_category.get(rule.category)
            if current is None or _STRICTNESS[rule.decision] > _STRICTNESS[current.decision]:
                by_category[rule.category] = rule
    matchers = tuple(
        Matcher(
            rule,
            tuple(fold(p) for p in rule.match.any),
            tuple(re.compile(p, re.IGNORECASE) for p in rule.match.regex),
        )
        for rule in active
        if rule.match is not None
    )
    return CompiledPolicy(
        name=chain[-1].document.name,
        version="+".join(layer.label for layer in chain),
        digest=source_digest("\x00".join(layer.source for layer in chain)),
        rules=active,
        by_category=by_category,
        matchers=matchers,
        by_id={r.id: r for r in active},
        classifier=classifier,
        review=review,
    )


_STRICTNESS = {"allow": 0, "review": 1, "block": 2}


def strictness(decision: str) -> int:
    """Order of decisions: the strictest one wins."""
    return _STRICTNESS[decision]
