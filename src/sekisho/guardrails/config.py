"""Guardrail settings: which checks run, and what happens to each finding type.

The ``guardrails`` key of the YAML file. ``overrides`` are keyed by organisation slug (``acme``) or
organisation and project slug (``acme/research``); a project override applies over its organisation's,
which applies over the defaults. ``docs/configuration.md`` documents every key.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any, Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator

Action = Literal["allow", "redact", "block", "review", "warn"]

# What a careful default looks like: credentials and attacks never leave, identity numbers are
# pseudonymised, contact details are recorded but pass (blocking every name would stop real work).
DEFAULT_INPUT_ACTIONS: dict[str, Action] = {
    "SECRET": "block",
    "PROMPT_INJECTION": "block",
    "BLOCKLIST": "block",
    "HASH_MATCH": "block",
    "MY_NUMBER": "redact",
    "CREDIT_CARD": "redact",
    "US_SSN": "redact",
    "BANK_ACCOUNT": "redact",
    "PASSPORT": "redact",
    "DRIVERS_LICENSE": "redact",
    "RESIDENCE_CARD": "redact",
    "PERSON": "warn",
    "ADDRESS": "warn",
    "PHONE": "warn",
    "EMAIL": "warn",
    "POSTAL_CODE": "warn",
    "IP_ADDRESS": "warn",
    "CORPORATE_NUMBER": "allow",  # 法人番号 are public by law
    # Recorded; the decide stage answers a message in crisis itself (see gateway/crisis_gate.py).
    "SELF_HARM": "warn",
}
# An answer cannot inject into itself; otherwise the model's words get the same treatment.
DEFAULT_OUTPUT_ACTIONS: dict[str, Action] = {
    **DEFAULT_INPUT_ACTIONS,
    "PROMPT_INJECTION": "allow",
    "SELF_HARM": "allow",  # an answer that talks about help is what we want
}


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class BlocklistSettings(_Strict):
    """Words and patterns an organisation does not want sent (matched after Japanese normalisation)."""

    name: str = Field("default", description="Shown in findings as the detector name.")
    words: list[str] = Field(default_factory=list, description="Literal words or phrases.")
    patterns: list[str] = Field(default_factory=list, description="Python regular expressions.")
    file: Path | None = Field(None, description="A UTF-8 file with one word per line (# comments).")


class HashListSettings(_Strict):
    """Known files and images (exact SHA-256 and perceptual PDQ hashes) that must not pass."""

    name: str = Field("default", description="Named in the safety report record.")
    sha256_file: Path | None = Field(None, description="One hex SHA-256 per line (# comments).")
    pdq_file: Path | None = Field(None, description="One 64-hex-digit PDQ hash per line.")
    pdq_threshold: int = Field(31, ge=0, le=256, description="Largest Hamming distance that matches.")


class LlmJudgeSettings(_Strict):
    """A configured chat model asked whether a text is a prompt injection (slower, stronger, optional)."""

    model: str = Field(description="A model name from `models` (any provider).")
    type: str = Field("PROMPT_INJECTION", description="The finding type a positive answer reports.")
    threshold: float = Field(0.5, ge=0, le=1, description="Smallest confidence that counts as a finding.")
    max_chars: int = Field(
        12_000, ge=100, description="Longer texts are judged by their first and last halves."
    )
    timeout_seconds: float = Field(10.0, gt=0, description="Deadline for the judge's answer.")
    fail_open: bool = Field(False, description="Let the text pass when the judge cannot answer.")


class GuardrailRules(_Strict):
    """The part of the settings an organisation or project may override."""

    actions: dict[str, Action] = Field(
        default_factory=dict, description="Finding type → action for inputs; merged over the defaults."
    )
    output_actions: dict[str, Action] = Field(
        default_factory=dict, description="Finding type → action for answers; merged over the defaults."
    )
    restore: bool | None = Field(
        None, description="Put redacted originals back into the answer (reversible pseudonymisation)."
    )
    disabled: list[str] = Field(default_factory=list, description="Detector or guardrail names to skip.")
    blocklists: list[BlocklistSettings] = Field(default_factory=list, description="Extra blocklists.")


class GuardrailSettings(GuardrailRules):
    """Guardrails over every input and output (the defaults every organisation starts from)."""

    enabled: bool = Field(True, description="Run guardrails on the gateway path.")
    detectors: list[str] | None = Field(
        None, description="Detector names to run; default: every registered detector."
    )
    detector_options: dict[str, dict[str, Any]] = Field(
        default_factory=dict, description="Keyword options per detector name."
    )
    guardrails: list[str] | None = Field(
        None, description="Async guardrail names to run; default: every registered one."
    )
    cache_entries: int = Field(
        4096, ge=0, description="Texts whose detector results are remembered (0: off); keys are digests."
    )
    min_score: float = Field(0.5, ge=0, le=1, description="Findings scored lower are dropped.")
    scan_output: bool = Field(True, description="Inspect answers as well as requests.")
    stream_hold_chars: int = Field(
        48,
        ge=0,
        le=4096,
        description="Characters held back in a stream so a value split across chunks is caught.",
    )
    hash_lists: list[HashListSettings] = Field(default_factory=list, description="Hash lists.")
    llm_judge: LlmJudgeSettings | None = Field(None, description="Ask a model about prompt injection too.")
    overrides: dict[str, GuardrailRules] = Field(
        default_factory=dict, description="Per organisation ('acme') or project ('acme/research')."
    )

    @field_validator("overrides")
    @classmethod
    def _scopes(cls, value: dict[str, GuardrailRules]) -> dict[str, GuardrailRules]:
        for scope in value:
            if scope.count("/") > 1 or not all(scope.split("/")):
                raise ValueError(f"override scope {scope!r} must be 'org' or 'org/project' (slugs)")
        return value
