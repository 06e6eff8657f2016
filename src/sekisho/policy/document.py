"""A usage-policy document: YAML that a person writes, reviews and versions like code.

    name: acme-policy
    extends: parent                 # start from the parent policy; rules with the same id replace it
    rules:
      - id: HIGH_RISK.EMPLOYMENT
        category: employment
        decision: allow             # this organisation lets HR automate screening
      - id: ACME.PROJECT_PHOENIX
        decision: block
        match: {any: ["Project Phoenix", "フェニックス計画"]}
        title: {en: Unreleased project, ja: 未発表プロジェクト}
    review: {mode: hold, hold_seconds: 20, sla_minutes: 240, on_expiry: reject}

A rule says what to *do*; what a request *is* comes from a classifier (``category``), a text match
(``match``) or an LLM reading the rule's own definition (``classifier.llm``).
"""

from __future__ import annotations

import hashlib
import re
from typing import Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from sekisho.policy.verdict import CATEGORIES, NONE, PolicyDecision

LocalText = str | dict[str, str]
"""Plain text, or text per language (``{"en": ..., "ja": ...}``)."""


class PolicyError(ValueError):
    """A policy document cannot be used; the message names the key and the problem."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class Match(_Strict):
    """Plain-text matching: any phrase (case-insensitive, after NFKC) or any regular expression."""

    any: list[str] = Field(default_factory=list, description="Phrases; one occurring is a match.")
    regex: list[str] = Field(default_factory=list, description="Python regular expressions (re.IGNORECASE).")

    @field_validator("regex")
    @classmethod
    def _compiles(cls, patterns: list[str]) -> list[str]:
        for pattern in patterns:
            try:
                re.compile(pattern)
            except re.error as exc:
                raise ValueError(f"regular expression {pattern!r} does not compile: {exc}") from None
        return patterns

    @model_validator(mode="after")
    def _not_empty(self) -> Match:
        if not self.any and not self.regex:
            raise ValueError("match needs at least one phrase in 'any' or one pattern in 'regex'")
        return self


class Rule(_Strict):
    """One rule: when it applies (a category or a match) and the decision it gives."""

    id: str = Field(
        pattern=r"^[A-Za-z0-9_.:\-]{1,200}$", description="Stable identifier, e.g. HIGH_RISK.CREDIT."
    )
    decision: PolicyDecision = Field(description="allow | review | block.")
    category: str | None = Field(None, description="A category the built-in classifier recognises.")
    match: Match | None = Field(None, description="Phrases or patterns that trigger the rule.")
    title: LocalText = Field("", description="Short name shown to people.")
    definition: LocalText = Field("", description="What the rule covers; the LLM classifier reads it.")
    rationale: LocalText = Field("", description="Why: shown to the requester with a block or hold.")
    approvals: int = Field(1, ge=1, le=2, description="Reviews: 2 asks for two different reviewers.")
    enabled: bool = Field(True, description="A disabled rule is ignored (an override can switch one off).")

    @field_validator("category")
    @classmethod
    def _known_category(cls, value: str | None) -> str | None:
        if (value is not None and value not in CATEGORIES) or value == NONE:
            raise ValueError(f"unknown category {value!r}; known: {', '.join(CATEGORIES[:-1])}")
        return value

    def text(self, field: Literal["title", "definition", "rationale"], lang: str) -> str:
        """A localised field, falling back to English, then to any language given."""
        value = getattr(self, field)
        if isinstance(value, str):
            return value
        return value.get(lang) or value.get("en") or next(iter(value.values()), "")


class LlmClassifier(_Strict):
    """Ask a configured model with the policy's rules as the instructions (bring-your-own policy)."""

    model: str = Field(description="A model from `models` in the server configuration.")
    timeout_seconds: float = Field(15.0, gt=0, le=120)
    on_error: PolicyDecision = Field("review", description="Decision when the model fails or times out.")
    violation_decision: PolicyDecision = Field(
        "block", description="Decision for a violation whose rule ids name no rule of this policy."
    )


class ClassifierSettings(_Strict):
    """How a request's category is found."""

    local: bool = Field(True, description="Use the built-in offline classifier (Japanese and English).")
    min_confidence: float = Field(0.5, ge=0, le=1, description="Below this a category does not count.")
    llm: LlmClassifier | None = Field(None, description="Also ask an LLM, with the rules as its policy.")


class ReviewSettings(_Strict):
    """What happens to a request held for review."""

    mode: Literal["hold", "async"] = Field(
        "async",
        description="hold: the client waits up to hold_seconds for the decision; "
        "async: it gets a review_required error at once and fetches the answer later.",
    )
    hold_seconds: float = Field(20.0, ge=0, le=300)
    sla_minutes: float = Field(240, gt=0, description="A pending review expires after this long.")
    on_expiry: Literal["reject", "approve", "escalate"] = Field("reject")


class PolicyTest(_Strict):
    """An example prompt and the decision the policy must give it (run by ``sekisho policy test``)."""

    text: str = Field(min_length=1)
    expect: PolicyDecision
    rule_id: str | None = Field(None, description="When set, the rule that must decide.")


class PolicyDocument(_Strict):
    """The whole document, as written."""

    name: str = Field(min_length=1, max_length=200)
    description: str = ""
    extends: Literal["parent", "sekisho-default"] | None = Field(
        "parent",
        description="parent: an organisation's document starts from the built-in pack, a project's from "
        "its organisation's policy; sekisho-default: from the built-in pack; null: only these rules.",
    )
    rules: list[Rule] = Field(default_factory=list)
    classifier: ClassifierSettings | None = None
    review: ReviewSettings | None = None
    tests: list[PolicyTest] = Field(default_factory=list, description="Examples with expected decisions.")

    @model_validator(mode="after")
    def _unique_ids(self) -> PolicyDocument:
        seen: set[str] = set()
        for rule in self.rules:
            if rule.id in seen:
                raise ValueError(f"rule id {rule.id!r} appears twice")
            seen.add(rule.id)
        return self


def parse_policy(source: str) -> PolicyDocument:
    """Validate YAML source; PolicyError names every problem with its location."""
    try:
        raw = yaml.safe_load(source)
    except yaml.YAMLError as exc:
        raise PolicyError(f"not valid YAML: {exc}") from None
    if not isinstance(raw, dict):
        raise PolicyError("a policy document is a YAML mapping with at least 'name'")
    try:
        return PolicyDocument.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise PolicyError(problems) from None


def source_digest(source: str) -> str:
    """SHA-256 of a document's source: names a version in caches and audit records."""
    return hashlib.sha256(source.encode()).hexdigest()
