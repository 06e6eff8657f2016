"""Loaders for the benchmark's data: PII sets with gold spans, injection sets with labels, timing prompts.

Every loader returns ``None`` (and a reason) when its file is missing, so a run on a machine without one
of the sets still reports everything else.
"""

from __future__ import annotations

import csv
import hashlib
import importlib.util
import json
import random
from collections.abc import Callable
from dataclasses import dataclass, field
from functools import cache
from pathlib import Path
from types import ModuleType

REPO = Path(__file__).resolve().parents[2]
SHARED = REPO.parent / "shared" / "datasets"
PII_EN = SHARED / "pii-en-presidio" / "synth_dataset_v2.json"
PII_JA = REPO / "tests" / "data" / "ja_pii" / "test.jsonl"
TOXIC_JA = SHARED / "toxic-ja-inspection" / "subset.csv"
SLABS_TEST = SHARED / "injection-slabs" / "test.csv"
NEURALCHEMY_TEST = SHARED / "injection-neuralchemy" / "core-test.parquet"
MULTILINGUAL = SHARED / "injection-multilingual-yanismiraoui" / "prompt_injections.csv"
TRAINER = REPO / "scripts" / "train_injection.py"

# pii-en-presidio entity names -> Sekisho finding types. Every other gold type is not scored (see scoring.py).
EN_GOLD_MAP = {
    "PERSON": "PERSON",
    "STREET_ADDRESS": "ADDRESS",
    "PHONE_NUMBER": "PHONE",
    "EMAIL_ADDRESS": "EMAIL",
    "CREDIT_CARD": "CREDIT_CARD",
    "US_SSN": "US_SSN",
    "IP_ADDRESS": "IP_ADDRESS",
    "IBAN_CODE": "BANK_ACCOUNT",
}
EN_SCORED = frozenset(EN_GOLD_MAP.values())
UNSCORED_PREFIX = "unscored:"


@dataclass(frozen=True, slots=True)
class Span:
    type: str
    start: int
    end: int


@dataclass(slots=True)
class Sample:
    """A text with gold spans; gold types outside the scored set keep their name behind ``unscored:``."""

    id: str
    text: str
    spans: list[Span]
    lang: str


@dataclass(slots=True)
class LabelledText:
    text: str
    label: int  # 1 = injection
    lang: str | None = None
    category: str | None = None


@dataclass(slots=True)
class InjectionSet:
    name: str
    split: str  # what part of the file is used, in words
    rows: list[LabelledText]
    notes: list[str] = field(default_factory=list)


def load_pii_en(path: Path = PII_EN) -> list[Sample] | None:
    if not path.exists():
        return None
    samples = []
    for i, item in enumerate(json.loads(path.read_text(encoding="utf-8"))):
        spans = [
            Span(
                EN_GOLD_MAP.get(s["entity_type"], UNSCORED_PREFIX + s["entity_type"]),
                int(s["start_position"]),
                int(s["end_position"]),
            )
            for s in item["spans"]
        ]
        samples.append(Sample(f"en-{i}", item["full_text"], spans, "en"))
    return samples


def load_pii_ja(path: Path = PII_JA) -> list[Sample] | None:
    """The generated Japanese set (JSON lines ``{"text", "spans": [{"type", "start", "end"}], "lang"}``)."""
    if not path.exists():
        return None
    samples = []
    for i, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        if not line.strip():
            continue
        item = json.loads(line)
        spans = [Span(str(s["type"]), int(s["start"]), int(s["end"])) for s in item.get("spans", [])]
        samples.append(Sample(f"ja-{i}", item["text"], spans, item.get("lang", "ja")))
    return samples


@cache
def _trainer() -> tuple[ModuleType | None, str]:
    """``scripts/train_injection.py`` as a module (it needs the dev dependencies), or why not."""
    if not TRAINER.exists():
        return None, f"{TRAINER.relative_to(REPO)} not found"
    spec = importlib.util.spec_from_file_location("_sekisho_train_injection", TRAINER)
    if spec is None or spec.loader is None:
        return None, "trainer could not be loaded"
    module = importlib.util.module_from_spec(spec)
    try:
        spec.loader.exec_module(module)
    except Exception as exc:  # the trainer may need packages the benchmark does not
        return None, f"trainer failed to import: {exc!r}"
    return module, str(TRAINER.relative_to(REPO))


def _trainer_split(trainer: ModuleType | None, why: str) -> tuple[Callable[[str], str] | None, str]:
    """The trainer's own split function for the attacks-only set, when it has one.

    ``scripts/train_injection.py`` splits that set 70/15/15 by a hash of the text; reusing its function
    guarantees that the rows scored here are the rows it did not train on.
    """
    if trainer is None:
        return None, why
    for name in ("bucket", "split_of", "hash_split"):
        fn = getattr(trainer, name, None)
        if callable(fn):
            return fn, f"{name}() from {why}"
    return None, f"no split function found in {why}"


def trainer_language() -> tuple[Callable[[str], str] | None, str]:
    """The trainer's language guess (ja / en / other), for a per-language view of sets without a column."""
    trainer, why = _trainer()
    fn = getattr(trainer, "language", None) if trainer else None
    return (fn, f"language() from {why}") if callable(fn) else (None, why)


def fallback_split(text: str) -> str:
    """70/15/15 by MD5 of the text, as the trainer documents it (used only when its function is missing)."""
    h = int(hashlib.md5(text.encode(), usedforsecurity=False).hexdigest()[:8], 16) / 0xFFFFFFFF
    return "train" if h < 0.70 else "validation" if h < 0.85 else "test"


def load_injection_sets() -> tuple[list[InjectionSet], list[str]]:
    """The test splits of the injection sets; the second value lists sets that could not be read.

    First the three public sets, read here; then the trainer's other held-out test rows (benign Japanese
    and banking texts, its Japanese/English templates, the only Japanese attacks there are, and its long
    documents with a buried attack), when the trainer can be imported.
    """
    sets: list[InjectionSet] = []
    missing: list[str] = []
    trainer, why = _trainer()
    if SLABS_TEST.exists():
        with SLABS_TEST.open(encoding="utf-8", newline="") as f:
            rows = [LabelledText(r["text"], int(r["label"])) for r in csv.DictReader(f)]
        sets.append(InjectionSet("injection-slabs", "test.csv", rows, ["no language column"]))
    else:
        missing.append(f"injection-slabs: {SLABS_TEST} not found")
    if NEURALCHEMY_TEST.exists():
        try:
            sets.append(_neuralchemy())
        except ImportError as exc:
            missing.append(f"injection-neuralchemy: {exc}")
    else:
        missing.append(f"injection-neuralchemy: {NEURALCHEMY_TEST} not found")
    if MULTILINGUAL.exists():
        sets.append(_multilingual(*_trainer_split(trainer, why)))
    else:
        missing.append(f"injection-multilingual-yanismiraoui: {MULTILINGUAL} not found")
    if trainer is None or not callable(getattr(trainer, "load", None)):
        missing.append(f"the trainer's extra held-out sets (toxic-ja, banking77, templates): {why}")
        return sets, missing
    extra: dict[str, list[LabelledText]] = {}
    try:
        for text, label, dataset, split in trainer.load(SHARED):
            if split == "test" and dataset not in {"slabs", "neuralchemy", "multilingual"}:
                extra.setdefault(dataset, []).append(LabelledText(text, int(label), None))
    except Exception as exc:  # a missing data set or a changed trainer must not stop the benchmark
        missing.append(f"the trainer's extra held-out sets: load() failed: {exc!r}")
        return sets, missing
    for dataset, rows in sorted(extra.items()):
        attacks = sum(r.label for r in rows)
        notes = ["benign only"] if attacks == 0 else ["attacks only"] if attacks == len(rows) else []
        if dataset.startswith("templates") or dataset == "buried":
            notes.append("built by the trainer (synthetic; see its docstring)")
        sets.append(InjectionSet(dataset, f"test split of {why}:load()", rows, notes))
    return sets, missing


def _neuralchemy() -> InjectionSet:
    import pyarrow.parquet as pq

    table = pq.read_table(NEURALCHEMY_TEST).to_pylist()
    lang_column = next((c for c in ("lang", "language") if table and c in table[0]), None)
    rows = [
        LabelledText(
            str(r["text"]),
            int(r["label"]),
            str(r[lang_column]) if lang_column else None,
            str(r["category"]) if r.get("category") is not None else None,
        )
        for r in table
    ]
    notes = [] if lang_column else ["no language column"]
    return InjectionSet("injection-neuralchemy", "core-test.parquet", rows, notes)


def _multilingual(split: Callable[[str], str] | None, how: str) -> InjectionSet:
    with MULTILINGUAL.open(encoding="utf-8", newline="") as f:
        reader = csv.reader(f)
        next(reader, None)  # header: prompt_injections
        texts = [row[0] for row in reader if row and row[0].strip()]
    notes = []
    if split is None:
        notes.append(
            f"test split = MD5 70/15/15 fallback in corpora.py ({how}); may differ from the trainer's split"
        )
        split = fallback_split
    else:
        notes.append(f"test split = {how}")
    notes.append("attacks only (recall only); many languages, no language column")
    rows = [LabelledText(t, 1, None) for t in texts if split(t) == "test"]
    return InjectionSet("injection-multilingual", f"test split of {len(texts)} rows", rows, notes)


# --------------------------------------------------------------------------------------------------
# Timing prompts


def build_prompts(texts: list[str], *, size: int, count: int, seed: int) -> list[str]:
    """``count`` prompts of exactly ``size`` characters, each whole dataset texts joined by newlines.

    Texts are drawn in a seeded random order so that the prompts differ; the last text is cut at ``size``.
    """
    pool = [t for t in texts if t.strip()]
    if not pool:
        return []
    rng = random.Random(seed)
    prompts = []
    for _ in range(count):
        parts: list[str] = []
        length = 0
        while length < size:
            piece = rng.choice(pool)
            parts.append(piece)
            length += len(piece) + 1
        prompts.append("\n".join(parts)[:size])
    return prompts


def japanese_timing_texts(ja: list[Sample] | None, source: str) -> tuple[list[str], str]:
    """Japanese texts for the timing prompts: the Japanese PII set if present, else the toxic-ja set."""
    if ja:
        return [s.text for s in ja], source
    if TOXIC_JA.exists():
        with TOXIC_JA.open(encoding="utf-8", newline="") as f:
            return [r["text"] for r in csv.DictReader(f)], "shared/datasets/toxic-ja-inspection/subset.csv"
    return [], "none"
