#!/usr/bin/env python3
"""BYO-policy classifier on the gpt-oss-safeguard spam golden set, with real models.

The policy text (shared/datasets/policy-spam-safeguard/policy.txt) goes to the model at inference, as
gpt-oss-safeguard is used; nothing is trained or tuned on the 40 examples, which only measure.

Ground truth is the section an example sits in (``SP0``: VALID, no violation; ``SP2``/``SP3``/``SP4``:
INVALID, violation, at that severity). The CSV's second column of labels is what gpt-oss-safeguard
answered on the same examples (its header says so, and the figures at the bottom of the CSV score that
column against the sections); it is shown as a reference row, scored the same way.

Backends:
- ``local`` (default): a GGUF run in-process by Sekisho's own llama.cpp provider, offline — the bundled
  SmolLM2-135M-Instruct demo model unless ``--model-path`` names another GGUF file on this machine.
- ``upstream``: any OpenAI-compatible server, through Sekisho's own HTTP provider, when
  ``--base-url`` (or ``BYO_BENCH_BASE_URL``) is given; skipped with a message otherwise.

An answer that cannot be read after the retries, or a timeout, counts as a violation — the gateway
fails closed — and is reported separately as the parse-failure (or timeout) rate.

Run: ``.venv/bin/python benchmarks/policy/byo.py [--limit N] [--json PATH]``.
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import json
import os
import re
import statistics
import sys
import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sekisho.app import RouterCaller
from sekisho.policy.byo import ByoParseError, ByoPolicyClassifier
from sekisho.providers import Provider, Router, create_provider
from sekisho.settings import ModelSettings, ProviderSettings

REPO = Path(__file__).resolve().parents[2]
DATASET = REPO.parent / "shared" / "datasets" / "policy-spam-safeguard"
_LEVEL = re.compile(r"SP\s*(\d)")


@dataclass(frozen=True)
class Example:
    id: str  # "SP3-5": section and number in it
    text: str
    level: str  # ground truth: the section, SP0 | SP2 | SP3 | SP4
    reference: str  # gpt-oss-safeguard's label, from the CSV

    @property
    def violation(self) -> bool:
        return self.level != "SP0"


def load_golden(directory: Path = DATASET) -> tuple[str, list[Example]]:
    """The policy text and the examples; header rows ("SP2,,,,") open a section."""
    policy = (directory / "policy.txt").read_text(encoding="utf-8")
    examples: list[Example] = []
    section = ""
    with (directory / "golden_dataset.csv").open(encoding="utf-8", newline="") as f:
        for row in csv.reader(f):
            first = row[0].strip() if row else ""
            if _LEVEL.fullmatch(first):
                section = first
            elif first.isdigit() and section and len(row) > 9:
                examples.append(Example(f"{section}-{first}", row[1].strip(), section, row[9].strip()))
    return policy, examples


class RecordingCaller:
    """Passes calls through, keeping the raw answers so a report can show what the model said."""

    def __init__(self, inner: Any) -> None:
        self.inner = inner
        self.answers: list[str] = []

    async def complete(self, model: str, messages: list[dict[str, str]], *, max_tokens: int = 60) -> str:
        answer: str = await self.inner.complete(model, messages, max_tokens=max_tokens)
        self.answers.append(answer)
        return answer


def local_backend(model_path: str | None, context_size: int, timeout: float) -> tuple[str, Provider]:
    """A GGUF run in-process by Sekisho's llama.cpp provider: the model's name and its provider."""
    settings = ProviderSettings(
        name="local", type="llama_cpp", model_path=model_path, context_size=context_size
    )
    return (Path(model_path).stem if model_path else "smollm2-135m-demo"), create_provider(settings)


def upstream_backend(base_url: str, api_key_env: str | None) -> Provider:
    """An OpenAI-compatible server reached by Sekisho's HTTP provider."""
    return create_provider(
        ProviderSettings(name="upstream", type="openai", base_url=base_url, api_key_env=api_key_env)
    )


def caller_for(name: str, provider: Provider, timeout: float) -> RouterCaller:
    """The gateway's own path to a model (router, retries) for one model on ``provider``."""
    model = ModelSettings(name=name, provider="p", timeout_seconds=timeout, max_retries=1)
    return RouterCaller(Router({name: model}, {"p": provider}, backoff=0.5))


RESULT_SCHEMA: dict[str, Any] = {
    "type": "object",
    "properties": {
        "violation": {"type": "boolean"},
        "category": {"type": "string"},
        "rule_ids": {"type": "array", "items": {"type": "string"}},
        "confidence": {"type": "number"},
        "rationale": {"type": "string"},
    },
    "required": ["violation", "category", "rule_ids", "confidence", "rationale"],
}


class JsonModeCaller:
    """Asks the provider for schema-constrained JSON (llama.cpp turns the schema into a grammar).

    The gateway's ModelCaller sends no ``response_format``, so this goes to Sekisho's provider
    directly: it shows what the model decides once the format can no longer fail.
    """

    def __init__(self, provider: Provider, timeout: float) -> None:
        self.provider = provider
        self.timeout = timeout

    async def complete(self, model: str, messages: list[dict[str, str]], *, max_tokens: int = 60) -> str:
        settings = ModelSettings(name=model, provider="p", timeout_seconds=self.timeout)
        body = {
            "model": model,
            "messages": messages,
            "temperature": 0,
            "max_tokens": max_tokens,
            "response_format": {"type": "json_object", "schema": RESULT_SCHEMA},
        }
        result = await self.provider.chat(settings, body)
        content = ((result.data.get("choices") or [{}])[0].get("message") or {}).get("content")
        return content if isinstance(content, str) else ""


def _level_of(category: str | None, rule_ids: tuple[str, ...], violation: bool) -> str | None:
    for text in (category or "", *rule_ids):
        if match := _LEVEL.search(text):
            return f"SP{match.group(1)}"
    return None if violation else "SP0"


def score(
    truth: list[bool], predicted: list[bool], levels: list[str], predicted_levels: list[str | None]
) -> dict[str, float]:
    tp = sum(t and p for t, p in zip(truth, predicted, strict=True))
    fp = sum(p and not t for t, p in zip(truth, predicted, strict=True))
    fn = sum(t and not p for t, p in zip(truth, predicted, strict=True))
    precision = tp / (tp + fp) if tp + fp else 0.0
    recall = tp / (tp + fn) if tp + fn else 0.0
    return {
        "accuracy": sum(t == p for t, p in zip(truth, predicted, strict=True)) / len(truth),
        "precision": precision,
        "recall": recall,
        "f1": 2 * precision * recall / (precision + recall) if precision + recall else 0.0,
        "level_accuracy": sum(a == b for a, b in zip(levels, predicted_levels, strict=True)) / len(levels),
    }


async def classify_all(
    classifier: ByoPolicyClassifier, recorder: RecordingCaller, policy: str, examples: list[Example]
) -> dict[str, Any]:
    """Every example through ``classifier``, one at a time (a local model serves one request anyway)."""
    rows: list[dict[str, Any]] = []
    latencies: list[float] = []
    for number, example in enumerate(examples, 1):
        retries, answered = classifier.stats.retries, len(recorder.answers)
        started = time.perf_counter()
        error = None
        try:
            result = await classifier.classify(policy, example.text)
            violation, level = result.violation, _level_of(result.category, result.rule_ids, result.violation)
            extra = {
                "category": result.category,
                "rule_ids": list(result.rule_ids),
                "confidence": result.confidence,
            }
        except (ByoParseError, TimeoutError) as exc:
            error = "timeout" if isinstance(exc, TimeoutError) else "parse"
            violation, level, extra = True, None, {}  # fail closed, as the gateway does
        latencies.append(time.perf_counter() - started)
        rows.append(
            {
                "id": example.id,
                "truth": example.level,
                "violation": violation,
                "level": level,
                "error": error,
                "retries": classifier.stats.retries - retries,
                "latency_s": round(latencies[-1], 3),
                "answers": recorder.answers[answered:],
                **extra,
            }
        )
        print(
            f"  {number:>2}/{len(examples)} {example.id:<7} truth={example.level} -> "
            f"{'INVALID' if violation else 'VALID'} {level or '-'} {error or ''}",
            file=sys.stderr,
        )
    metrics = score(
        [e.violation for e in examples],
        [r["violation"] for r in rows],
        [e.level for e in examples],
        [r["level"] for r in rows],
    )
    return {
        **metrics,
        "parse_failure_rate": sum(r["error"] == "parse" for r in rows) / len(rows),
        "timeout_rate": sum(r["error"] == "timeout" for r in rows) / len(rows),
        "retries": sum(r["retries"] for r in rows),
        "median_latency_s": statistics.median(latencies),
        "model_calls": classifier.stats.model_calls,
        "items": rows,
    }


def reference_row(examples: list[Example]) -> dict[str, Any]:
    """gpt-oss-safeguard's own labels from the CSV, scored like ours (no latency: not run here)."""
    predicted_levels = [_level_of(e.reference, (), e.reference != "SP0") for e in examples]
    metrics = score(
        [e.violation for e in examples],
        [lv != "SP0" for lv in predicted_levels],
        [e.level for e in examples],
        predicted_levels,
    )
    return {
        **metrics,
        "parse_failure_rate": 0.0,
        "timeout_rate": 0.0,
        "retries": None,
        "median_latency_s": None,
    }


async def run(
    *,
    limit: int | None = None,
    local: bool = True,
    model_path: str | None = None,
    context_size: int = 4096,
    base_url: str | None = None,
    model: str | None = None,
    api_key_env: str | None = None,
    max_tokens: int = 300,
    retries: int = 2,
    timeout_seconds: float = 120.0,
    json_mode: bool = False,
) -> dict[str, Any]:
    """Every configured backend on the golden set; a dict of results keyed by row name."""
    policy, examples = load_golden()
    examples = examples[:limit] if limit else examples
    results: dict[str, Any] = {"dataset": str(DATASET), "examples": len(examples), "runs": {}, "skipped": []}
    backends: list[tuple[str, str, Provider]] = []
    if local:
        name, provider = local_backend(model_path, context_size, timeout_seconds)
        mode = ", JSON schema grammar" if json_mode else ""
        backends.append((f"local: {name} (llama.cpp{mode})", name, provider))
    if base_url and model and api_key_env and api_key_env not in os.environ:
        results["skipped"].append(f"upstream: skipped, environment variable {api_key_env} is not set")
    elif base_url and model:
        backends.append((f"upstream: {model}", model, upstream_backend(base_url, api_key_env)))
    else:
        results["skipped"].append(
            "upstream: skipped, no OpenAI-compatible upstream configured (pass --base-url and --model, "
            "or set BYO_BENCH_BASE_URL and BYO_BENCH_MODEL)"
        )
    for label, name, provider in backends:
        print(f"{label}: {len(examples)} examples", file=sys.stderr)
        inner = (
            JsonModeCaller(provider, timeout_seconds)
            if json_mode
            else caller_for(name, provider, timeout_seconds)
        )
        recorder = RecordingCaller(inner)
        classifier = ByoPolicyClassifier(
            recorder, name, max_tokens=max_tokens, retries=retries, timeout_seconds=timeout_seconds
        )
        try:
            results["runs"][label] = await classify_all(classifier, recorder, policy, examples)
        finally:
            await provider.aclose()
    results["runs"]["reference: gpt-oss-safeguard labels in the CSV"] = reference_row(examples)
    majority = [True] * len(examples)
    results["runs"]["baseline: always INVALID"] = {
        **score(
            [e.violation for e in examples], majority, [e.level for e in examples], [None] * len(examples)
        ),
        "parse_failure_rate": 0.0,
        "timeout_rate": 0.0,
        "retries": None,
        "median_latency_s": None,
    }
    return results


def markdown(results: dict[str, Any]) -> str:
    def cell(value: Any, fmt: str = "{:.3f}") -> str:
        return "–" if value is None else fmt.format(value)

    lines = [
        f"BYO policy classifier on policy-spam-safeguard ({results['examples']} examples; "
        "violation = SP2/SP3/SP4, level = SP0/SP2/SP3/SP4)",
        "",
        "| run | accuracy | precision | recall | F1 | level acc. "
        "| parse fail | timeouts | retries | median s |",
        "|---|---|---|---|---|---|---|---|---|---|",
    ]
    for name, r in results["runs"].items():
        lines.append(
            f"| {name} | {cell(r['accuracy'])} | {cell(r['precision'])} | {cell(r['recall'])} "
            f"| {cell(r['f1'])} "
            f"| {cell(r['level_accuracy'])} | {cell(r['parse_failure_rate'])} | {cell(r['timeout_rate'])} "
            f"| {cell(r['retries'], '{}')} | {cell(r['median_latency_s'], '{:.2f}')} |"
        )
    lines += [f"\n_{note}_" for note in results["skipped"]]
    return "\n".join(lines)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--limit", type=int, help="only the first N examples (a smoke run)")
    parser.add_argument("--no-local", action="store_true", help="skip the local llama.cpp model")
    parser.add_argument(
        "--model-path", help="another GGUF file for the local run (default: bundled SmolLM2-135M)"
    )
    parser.add_argument("--context-size", type=int, default=4096)
    parser.add_argument(
        "--base-url", default=os.environ.get("BYO_BENCH_BASE_URL"), help="OpenAI-compatible /v1 URL"
    )
    parser.add_argument("--model", default=os.environ.get("BYO_BENCH_MODEL"), help="model name upstream")
    parser.add_argument(
        "--api-key-env",
        default=os.environ.get("BYO_BENCH_API_KEY_ENV"),
        help="environment variable holding the upstream key",
    )
    parser.add_argument("--max-tokens", type=int, default=300)
    parser.add_argument("--retries", type=int, default=2)
    parser.add_argument("--timeout", type=float, default=120.0, help="seconds per classification")
    parser.add_argument(
        "--json-mode",
        action="store_true",
        help="constrain answers to the result's JSON schema (response_format), bypassing the router",
    )
    parser.add_argument("--json", type=Path, help="write the results (per-example answers too) here")
    args = parser.parse_args()
    results = asyncio.run(
        run(
            limit=args.limit,
            local=not args.no_local,
            model_path=args.model_path,
            context_size=args.context_size,
            base_url=args.base_url,
            model=args.model,
            api_key_env=args.api_key_env,
            max_tokens=args.max_tokens,
            retries=args.retries,
            timeout_seconds=args.timeout,
            json_mode=args.json_mode,
        )
    )
    print(markdown(results))
    if args.json:
        args.json.write_text(json.dumps(results, ensure_ascii=False, indent=2) + "\n", encoding="utf-8")


if __name__ == "__main__":
    main()
