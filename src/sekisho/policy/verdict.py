"""What a usage-policy classifier answers, and the categories the built-in classifier knows.

A policy document's rules map categories to decisions, so an organisation can make ``employment``
``allow`` or add its own rules without retraining anything; the classifier only says what a request
*is*, the document says what to *do* about it.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Literal

PolicyDecision = Literal["allow", "review", "block"]

BLOCK_CATEGORIES: tuple[str, ...] = (
    "impersonation_fraud",  # posing as an executive, a bank, a public body or a named person
    "election_interference",  # false voting dates or rules, discouraging or suppressing voting
    "political_campaigning",  # persuasion at scale, fake grassroots letters, lobbying campaigns
)
"""Prohibited uses in the default pack."""

REVIEW_CATEGORIES: tuple[str, ...] = (
    "credit_finance",
    "insurance",
    "employment",
    "housing",
    "education",
    "medical",
    "government_benefits",
    "migration",
    "law_enforcement",
    "national_security",
    "critical_infrastructure",
    "product_safety",
)
"""High-risk domains: the AI is asked to make or carry out a decision about a person or a physical
system with no person in between. Information, analysis and drafting for a person who decides is
``none``."""

NONE = "none"
CATEGORIES: tuple[str, ...] = (*BLOCK_CATEGORIES, *REVIEW_CATEGORIES, NONE)


@dataclass(frozen=True, slots=True)
class CategoryPrediction:
    """A classifier's reading of one text: the likeliest category and how sure it is."""

    category: str  # one of CATEGORIES
    confidence: float  # 0..1, for ``category``
    scores: dict[str, float] = field(default_factory=dict)  # every category's probability
    signals: tuple[str, ...] = ()  # short, human-readable reasons (matched cues), no user text


@dataclass(frozen=True, slots=True)
class Verdict:
    """The decision a policy gives a text: what ``POST /v1/policy/evaluate`` returns."""

    decision: PolicyDecision
    category: str | None
    rule_id: str | None
    rationale: str
    confidence: float
    source: str = "classifier"  # classifier | pattern | llm | fallback
