"""How findings are scored against gold spans, identically for Sekisho and for Presidio.

Scored types. Per data set there is a set of scored types: for pii-en-presidio the Sekisho types its entity
names map to (``corpora.EN_GOLD_MAP``), for the Japanese set every type that occurs in its gold spans.
Gold spans of other types (GPE, ORGANIZATION, DATE_TIME, ZIP_CODE, ...) are kept as "unscored".

The false-positive rule. A predicted span of a scored type T is judged only against gold spans of T:
if it matches none it is a false positive, also when it lies on a gold span of an unscored type (a
PERSON finding on an ORGANIZATION, an ADDRESS finding on a lone city that the set labels GPE: those are
real mistakes for a redactor of persons and addresses). A predicted span of a type that is not scored
(POSTAL_CODE on a ZIP_CODE, SECRET, Presidio's DATE_TIME, ...) is never counted, for or against; such
findings are tallied separately, with how many of them overlap a gold span of an unscored type, so
that nothing disappears silently.

Predicted spans of the same type that overlap or touch are merged first (two detectors reporting the same
phone number are one redaction).

Token level (like presidio-research's evaluator): the text is split into tokens (runs of word characters,
and every other non-space character alone); a token is positive for a type if it overlaps a span of that
type, on the gold side and on the predicted side; TP/FP/FN are counted per token and type. Japanese text
is split into characters instead (``TOKEN_CJK``).
Span level: a predicted span matches a gold span of the same type when their character IoU is >= 0.5
(one-to-one, best IoU first); "exact" additionally requires identical boundaries.
"""

from __future__ import annotations

import math
import re
import statistics
from collections import Counter, defaultdict
from collections.abc import Iterable, Sequence
from dataclasses import dataclass, field
from typing import Any

from corpora import Sample, Span

TOKEN = re.compile(r"\w+|[^\w\s]")
# Japanese has no spaces, so ``\w+`` would make a whole clause one token: there every non-space character
# is a token of its own, except runs of ASCII letters and digits.
TOKEN_CJK = re.compile(r"[0-9A-Za-z]+|\S")
IOU_THRESHOLD = 0.5
ALL = "ALL (micro)"


@dataclass(slots=True)
class Counts:
    tp: int = 0
    fp: int = 0
    fn: int = 0

    def add(self, other: Counts) -> None:
        self.tp += other.tp
        self.fp += other.fp
        self.fn += other.fn

    def metrics(self) -> dict[str, Any]:
        p = self.tp / (self.tp + self.fp) if self.tp + self.fp else None
        r = self.tp / (self.tp + self.fn) if self.tp + self.fn else None
        return {
            "tp": self.tp,
            "fp": self.fp,
            "fn": self.fn,
            "precision": _round(p),
            "recall": _round(r),
            "f1": _round(f_beta(p, r, 1.0)),
            "f2": _round(f_beta(p, r, 2.0)),
        }


def f_beta(p: float | None, r: float | None, beta: float) -> float | None:
    if p is None or r is None:
        # With no prediction at all precision is undefined but F is 0 if there was something to find.
        return 0.0 if r == 0.0 else None
    if p == 0 and r == 0:
        return 0.0
    b2 = beta * beta
    return (1 + b2) * p * r / (b2 * p + r)


def _round(x: float | None) -> float | None:
    return None if x is None else round(x, 4)


def merge(spans: Iterable[Span]) -> list[Span]:
    """Same-type spans that overlap or touch, merged; sorted by type and start."""
    out: list[Span] = []
    for s in sorted(spans, key=lambda s: (s.type, s.start, s.end)):
        if out and out[-1].type == s.type and s.start <= out[-1].end:
            last = out[-1]
            out[-1] = Span(s.type, last.start, max(last.end, s.end))
        else:
            out.append(s)
    return out


def iou(a: Span, b: Span) -> float:
    inter = min(a.end, b.end) - max(a.start, b.start)
    if inter <= 0:
        return 0.0
    return inter / (max(a.end, b.end) - min(a.start, b.start))


@dataclass(slots=True)
class PiiScore:
    """Accumulated counts for one system on one data set."""

    scored: frozenset[str]
    tokens: re.Pattern[str] = TOKEN
    token: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    span: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    exact: dict[str, Counts] = field(default_factory=lambda: defaultdict(Counts))
    gold_spans: Counter[str] = field(default_factory=Counter)
    unscored_predictions: Counter[str] = field(default_factory=Counter)
    unscored_on_unscored_gold: Counter[str] = field(default_factory=Counter)
    errors: list[dict[str, Any]] | None = None  # span-level misses and false positives, when wanted

    def add(self, sample: Sample, predicted: Sequence[Span]) -> None:
        gold = [s for s in sample.spans if s.type in self.scored]
        other_gold = [s for s in sample.spans if s.type not in self.scored]
        preds = merge(p for p in predicted if p.type in self.scored)
        for p in predicted:
            if p.type not in self.scored:
                self.unscored_predictions[p.type] += 1
                if any(iou(p, g) > 0 for g in other_gold):
                    self.unscored_on_unscored_gold[p.type] += 1
        for g in gold:
            self.gold_spans[g.type] += 1
        self._tokens(sample.text, gold, preds)
        for t in self.scored:
            g_t = [g for g in gold if g.type == t]
            p_t = [p for p in preds if p.type == t]
            if g_t or p_t:
                self._spans(t, g_t, p_t, sample)

    def _tokens(self, text: str, gold: list[Span], preds: list[Span]) -> None:
        if not gold and not preds:
            return
        for m in self.tokens.finditer(text):
            a, b = m.start(), m.end()
            g = {s.type for s in gold if s.start < b and a < s.end}
            p = {s.type for s in preds if s.start < b and a < s.end}
            for t in g & p:
                self.token[t].tp += 1
            for t in p - g:
                self.token[t].fp += 1
            for t in g - p:
                self.token[t].fn += 1

    def _spans(self, t: str, gold: list[Span], preds: list[Span], sample: Sample) -> None:
        pairs = sorted(
            ((iou(g, p), i, j) for i, g in enumerate(gold) for j, p in enumerate(preds)),
            reverse=True,
        )
        used_g: set[int] = set()
        used_p: set[int] = set()
        exact = 0
        for score, i, j in pairs:
            if score < IOU_THRESHOLD:
                break
            if i in used_g or j in used_p:
                continue
            used_g.add(i)
            used_p.add(j)
            exact += gold[i].start == preds[j].start and gold[i].end == preds[j].end
        matched = len(used_g)
        self.span[t].add(Counts(matched, len(preds) - matched, len(gold) - matched))
        self.exact[t].add(Counts(exact, len(preds) - exact, len(gold) - exact))
        if self.errors is not None:
            for kind, spans, used in (("missed", gold, used_g), ("false_positive", preds, used_p)):
                for k, x in enumerate(spans):
                    if k not in used:
                        self.errors.append(
                            {
                                "id": sample.id,
                                "type": t,
                                "error": kind,
                                "start": x.start,
                                "end": x.end,
                                "value": sample.text[x.start : x.end],
                                "text": sample.text,
                            }
                        )

    def result(self) -> dict[str, Any]:
        def table(counts: dict[str, Counts]) -> dict[str, Any]:
            rows = {t: counts[t].metrics() for t in sorted(self.scored) if t in counts or self.gold_spans[t]}
            total = Counts()
            for t in self.scored:
                if t in counts:
                    total.add(counts[t])
            rows[ALL] = total.metrics()
            return rows

        return {
            "scored_types": sorted(self.scored),
            "gold_spans": dict(sorted(self.gold_spans.items())),
            "token": table(self.token),
            "span_iou50": table(self.span),
            "span_exact": table(self.exact),
            "unscored_predictions": dict(sorted(self.unscored_predictions.items())),
            "unscored_predictions_on_unscored_gold": dict(sorted(self.unscored_on_unscored_gold.items())),
        }


# --------------------------------------------------------------------------------------------------
# Injection and speed


def injection_metrics(labels: Sequence[int], flagged: Sequence[bool]) -> dict[str, Any]:
    pos = sum(1 for y in labels if y == 1)
    neg = len(labels) - pos
    tp = sum(1 for y, f in zip(labels, flagged, strict=True) if y == 1 and f)
    fp = sum(1 for y, f in zip(labels, flagged, strict=True) if y == 0 and f)
    return {
        "texts": len(labels),
        "attacks": pos,
        "benign": neg,
        "recall": _round(tp / pos) if pos else None,
        "false_positive_rate": _round(fp / neg) if neg else None,
        "precision": _round(tp / (tp + fp)) if tp + fp else None,
        "missed": pos - tp,
        "false_positives": fp,
    }


def percentile(sorted_values: Sequence[float], p: float) -> float:
    """Nearest-rank percentile of an already sorted sequence."""
    if not sorted_values:
        return float("nan")
    rank = max(1, min(len(sorted_values), math.ceil(p / 100 * len(sorted_values))))
    return sorted_values[rank - 1]


def speed_stats(
    chars: Sequence[int], wall: Sequence[Sequence[float]], cpu: Sequence[Sequence[float]] | None = None
) -> dict[str, Any]:
    """Latency and throughput of prompts of ``chars[i]`` characters timed ``wall[i]`` (one per round).

    Each prompt's latency is the median of its rounds, so that a round that lost the CPU to another
    process (this machine is shared) does not stand for the detector; median and p99 are then taken over
    prompts, and throughput is characters over the sum of those latencies. The p99 over every single
    call, noise included, is kept as ``ms_per_call_p99_raw``. With ``cpu`` (process CPU time of the same
    calls) the CPU figures are added: they move much less than wall time when other processes compete.
    """
    pairs = [(n, statistics.median(s)) for n, s in zip(chars, wall, strict=True) if s]
    if not pairs:
        return {}
    per_k = sorted(1000 * 1000 * s / max(1, n) for n, s in pairs)  # ms per 1,000 characters
    per_call = sorted(1000 * s for _, s in pairs)
    raw = sorted(1000 * x for s in wall for x in s)
    total_chars = sum(n for n, _ in pairs)
    total_seconds = sum(s for _, s in pairs)
    out: dict[str, Any] = {
        "prompts": len(pairs),
        "rounds": max(len(s) for s in wall),
        "mean_chars": round(total_chars / len(pairs)),
        "ms_per_1k_chars_median": round(statistics.median(per_k), 4),
        "ms_per_1k_chars_p99": round(percentile(per_k, 99), 4),
        "ms_per_call_median": round(statistics.median(per_call), 4),
        "ms_per_call_p99": round(percentile(per_call, 99), 4),
        "ms_per_call_p99_raw": round(percentile(raw, 99), 4),
        "chars_per_second": round(total_chars / total_seconds) if total_seconds else None,
    }
    if cpu is not None:
        cpu_per_prompt = [statistics.median(s) for s in cpu if s]
        cpu_total = sum(cpu_per_prompt)
        out["cpu_ms_per_call_median"] = round(1000 * statistics.median(cpu_per_prompt), 4)
        out["cpu_chars_per_second"] = round(total_chars / cpu_total) if cpu_total else None
    return out
