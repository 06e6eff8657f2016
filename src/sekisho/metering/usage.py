"""Token usage, cost from configured prices, and the usage event written per request."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sekisho.settings import ModelSettings
from sekisho.store.rows import Batch
from sekisho.store.tables import usage_events


@dataclass(frozen=True, slots=True)
class Usage:
    """Tokens one request used. ``estimated`` when the upstream reported none and Sekisho counted."""

    prompt_tokens: int = 0
    completion_tokens: int = 0
    estimated: bool = False

    @classmethod
    def from_openai(cls, usage: Any) -> Usage | None:
        """Read OpenAI's ``usage`` object; None when absent or malformed."""
        if not isinstance(usage, dict):
            return None
        prompt, completion = usage.get("prompt_tokens"), usage.get("completion_tokens", 0)
        if not isinstance(prompt, int) or not isinstance(completion, int):
            return None
        return cls(prompt, completion or 0)


def cost_nanousd(model: ModelSettings, usage: Usage) -> int:
    """Cost in nano-dollars: a price per million tokens is 1,000 nano-dollars per token per dollar."""
    return round(
        usage.prompt_tokens * model.input_cost_per_1m * 1000
        + usage.completion_tokens * model.output_cost_per_1m * 1000
    )


def estimate_tokens(text: str) -> int:
    """A rough token count (about four characters a token in English, fewer in Japanese)."""
    ascii_chars = sum(1 for ch in text if ord(ch) < 128)
    return max(1, round(ascii_chars / 4 + (len(text) - ascii_chars) * 0.8)) if text else 0


@dataclass(frozen=True, slots=True)
class UsageEvent:
    """One row of ``usage_events``."""

    ts: datetime
    request_id: str
    org_id: str
    project_id: str
    user_id: str | None
    key_id: str | None
    model: str
    served_model: str | None
    endpoint: str
    status_code: int
    prompt_tokens: int
    completion_tokens: int
    cost_nanousd: int
    usage_estimated: bool
    latency_ms: int

    def apply(self, batch: Batch) -> None:
        """Queue the row (a WriteOp for the batch writer)."""
        # dataclasses.asdict deep-copies every field; the fields here are all immutable.
        row = {f: getattr(self, f) for f in self.__slots__}
        row["day"] = self.ts.date().isoformat()
        batch.insert(usage_events, row)
