"""Train the embedding PROMPT_INJECTION back-end and write src/sekisho/guardrails/data/injection_embed.npz.

Reproduce (dev dependencies scikit-learn and pyarrow, and ../shared/datasets):

    nice -n 10 .venv/bin/python scripts/train_injection_embed.py [--datasets ../shared/datasets] [--no-test]

Data and splits are exactly ``scripts/train_injection.py``'s (its ``load``, ``window_negatives`` and
``as_tool_results``, so the same MD5 split of the multilingual set, the same templates and buried
documents). Every text becomes the windows ``EmbeddingInjectionDetector`` embeds (``spans``); their
multilingual-e5-small embeddings are cached in ``--cache`` (one .npy per split, keyed by the window
text) because embedding is the slow part (about 25-90 ms per window on two cores).

- Train (subsampled, seeded, stratified by dataset and label; ``TRAIN_CAP`` texts per stratum at
  most): the window-level MLP head. The validation and test splits are embedded in full.
  Window labels: a short text's label; every window of a long benign text is 0; every window of a
  long public attack is 1 (they are whole jailbreaks); in a buried document, found by diffing it with
  its benign twin, windows overlapping the hidden attack are 1, windows that do not touch it are 0,
  and partial overlaps are left out.
- Validation: chooses the head (among a few sizes and penalties), fits the stacker (logistic
  regression over ``features``: best window logit and the n-gram detector's evidence) and the
  threshold: the lowest with <= 1 % false positives on all benign validation texts and on the
  benign texts of slabs and neuralchemy pooled, the n-gram trainer's rule; then a lower bar for long
  texts (over ``WHOLE`` characters) that adds <= 1 % false positives among long benign texts.
- Test: reported once at the end, side by side with ``InjectionDetector``; used for nothing.
"""

from __future__ import annotations

import argparse
import json
import random
import sys
import time
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, replace
from functools import partial
from pathlib import Path

import numpy as np
from sklearn.linear_model import LogisticRegression
from sklearn.neural_network import MLPClassifier

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from train_injection import Row, as_tool_results, language, load, report, window_negatives  # noqa: E402

from sekisho.guardrails.detectors.injection import InjectionDetector  # noqa: E402
from sekisho.guardrails.detectors.injection_embed import (  # noqa: E402
    MODEL_PATH,
    WHOLE,
    EmbeddingInjectionDetector,
    encoder,
    features,
    ngram_features,
    spans,
)
from sekisho.guardrails.text import Text  # noqa: E402

SEED = 20240611
# Per (dataset, label) stratum of the training split: embedding all ~41,000 training texts and windows
# would take over an hour on two shared cores; a head on 384-d embeddings needs far fewer.
TRAIN_CAP = {
    "banking77": 1500,
    "slabs": 2500,
    "neuralchemy": 1500,
    "windows": 2500,
    "json": 600,
    "buried": 300,
}
DEFAULT_CAP = 100_000  # multilingual, templates and toxic-ja: all of them (they are few, and most Japanese)


class Item:
    """One text as the detector sees it: its windows, their labels (None: left out), n-gram evidence."""

    __slots__ = ("dataset", "label", "long", "ngram", "pieces", "window_labels")

    def __init__(self, row: Row, detector: InjectionDetector, attack: tuple[int, int] | None) -> None:
        text = Text(row[0])
        scored = detector.score(text)
        chosen = spans(text, scored)
        self.label, self.dataset = row[1], row[2]
        self.long = len(text.norm) > WHOLE
        self.pieces = [text.norm[a:b] for a, b in chosen]
        self.ngram = ngram_features(detector, text, scored) if text.norm.strip() else (-2.0, -2.0, 0.0)
        labels: list[int | None] = [row[1]] * len(chosen)
        if attack is not None:
            p, q = attack
            labels = []
            for a, b in chosen:
                overlap = min(b, q) - max(a, p)
                labels.append(1 if overlap >= min(b - a, q - p) // 2 else 0 if overlap <= 0 else None)
        self.window_labels = labels


def buried_attacks(rows: list[Row]) -> dict[int, tuple[int, int]]:
    """Where the attack sits in each buried attack document (norm offsets): the diff with its twin.

    ``buried`` appends each benign document and then the same document with one attack inserted.
    """
    out: dict[int, tuple[int, int]] = {}
    for i in range(1, len(rows)):
        if rows[i][2] == "buried" and rows[i][1] == 1 and rows[i - 1][2] == "buried" and rows[i - 1][1] == 0:
            pos, neg = Text(rows[i][0]).norm, Text(rows[i - 1][0]).norm
            p = 0
            while p < len(neg) and pos[p] == neg[p]:
                p += 1
            s = 0
            while s < len(neg) - p and pos[-1 - s] == neg[-1 - s]:
                s += 1
            out[i] = (p, len(pos) - s)
    return out


def subsample(rows: list[Row], seed: int) -> list[Row]:
    rng = random.Random(seed)  # noqa: S311 - a reproducible sample, not security
    strata: dict[tuple[str, int], list[Row]] = defaultdict(list)
    for row in rows:
        strata[(row[2], row[1])].append(row)
    out: list[Row] = []
    for key in sorted(strata):
        group = strata[key]
        cap = TRAIN_CAP.get(key[0], DEFAULT_CAP)
        out += group if len(group) <= cap else rng.sample(group, cap)
    return out


def embed(split: str, pieces: list[str], cache: Path) -> dict[str, np.ndarray]:
    """Embeddings of ``pieces``, from the cache where possible; new ones are embedded and cached."""
    cache.mkdir(parents=True, exist_ok=True)
    keys_path, vec_path = cache / f"{split}.json", cache / f"{split}.npy"
    known: list[str] = json.loads(keys_path.read_text()) if keys_path.exists() else []
    vectors = np.load(vec_path) if vec_path.exists() else np.zeros((0, 384), np.float32)
    have = set(known)
    todo = sorted({p for p in pieces if p not in have}, key=len)  # similar lengths batch well
    started = time.perf_counter()
    model = encoder()
    for k in range(0, len(todo), 64):
        batch = todo[k : k + 64]
        vectors = np.concatenate(
            [vectors, np.asarray(model.passage(batch), np.float32).reshape(len(batch), -1)]
        )
        known += batch
        if k // 64 % 10 == 9 or k + 64 >= len(todo):  # checkpoint: an interrupted run loses little
            np.save(vec_path, vectors)
            keys_path.write_text(json.dumps(known, ensure_ascii=False))
            print(
                f"  {split}: {k + len(batch)}/{len(todo)} ({time.perf_counter() - started:.0f}s)", flush=True
            )
    return dict(zip(known, vectors, strict=True))


def items_for(rows: list[Row], detector: InjectionDetector) -> list[Item]:
    attacks = buried_attacks(rows)
    return [Item(row, detector, attacks.get(i)) for i, row in enumerate(rows)]


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    p.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    p.add_argument("--cache", type=Path, default=Path("/tmp/inj_emb"))  # noqa: S108 - a cache, documented
    p.add_argument("--out", type=Path, default=MODEL_PATH)
    p.add_argument("--embed-only", action="store_true", help="fill the embedding cache and stop")
    p.add_argument("--no-test", action="store_true", help="development runs: do not even look at test")
    return p


# --- Head, stacker, threshold ---------------------------------------------------------------------
def mlp_arrays(model: MLPClassifier | LogisticRegression) -> dict[str, np.ndarray]:
    """The head as ``Head`` stores it; a linear head is an MLP with two units: relu(x.w) - relu(-x.w)."""
    if isinstance(model, LogisticRegression):
        w = model.coef_[0][:, None]
        w1, b1 = np.hstack([w, -w]), np.zeros(2)
        w2, b2 = np.array([1.0, -1.0]), float(model.intercept_[0])
    else:
        w1, b1 = model.coefs_[0], model.intercepts_[0]
        w2, b2 = model.coefs_[1][:, 0], float(model.intercepts_[1][0])
    return {
        "w1": w1.astype(np.float16),
        "b1": b1.astype(np.float32),
        "w2": w2.astype(np.float32),
        "b2": np.float64(b2),
    }


def window_max(items: list[Item], vectors: dict[str, np.ndarray], head: dict[str, np.ndarray]) -> np.ndarray:
    w1, b1, w2 = head["w1"].astype(np.float32), head["b1"], head["w2"]
    out = np.empty(len(items))
    for i, item in enumerate(items):
        e = np.stack([vectors[p] for p in item.pieces])
        out[i] = float((np.maximum(e @ w1 + b1, 0.0) @ w2).max() + head["b2"])
    return out


def stack_rows(items: list[Item], best: np.ndarray) -> np.ndarray:
    return np.stack([features(float(b), item.ngram, item.long) for item, b in zip(items, best, strict=True)])


def threshold(
    z: np.ndarray, labels: np.ndarray, groups: np.ndarray, decide: Callable[[float], np.ndarray]
) -> float:
    """The lowest bar with <= 1 % false positives on all benign texts and on slabs+neuralchemy's pooled."""
    benign = labels == 0
    sets = benign & np.isin(groups, ["slabs", "neuralchemy"])
    for bar in np.unique(np.quantile(z[benign], np.linspace(0.95, 1.0, 501))):
        flagged = decide(float(bar)) > 0
        if flagged[benign].mean() <= 0.01 and flagged[sets].mean() <= 0.01:
            return float(bar)
    return float(z.max())


@dataclass(frozen=True)
class Combiner:
    """How the best window logit and the n-gram evidence become one decision (``decision``)."""

    name: str
    stack: np.ndarray
    bias: float
    threshold: float
    or_ngram: bool
    long_threshold: float | None = None  # None: the same as ``threshold``

    def decide(self, x: np.ndarray) -> np.ndarray:
        """``decision`` for every row at once (the detector's scalar form is checked against it)."""
        long = self.threshold if self.long_threshold is None else self.long_threshold
        z = x @ self.stack + self.bias - np.where(x[:, 4] > 0, long, self.threshold)
        if self.or_ngram:
            z = np.maximum.reduce([z, x[:, 1], x[:, 2], np.where(x[:, 3] > 0, 1.0, -np.inf)])
        return np.asarray(z, np.float64)


def long_bar(combiner: Combiner, x: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> float:
    """The lowest bar for long texts that adds <= 1 % false positives among long benign texts (to what
    the n-gram verdict, when OR-ed in, flags already) and keeps the global constraints of ``threshold``:
    an instruction buried in a long document is one window among many and scores lower than a whole
    attack prompt, which is why the n-gram trainer has a window bar of its own too."""
    long = x[:, 4] > 0
    benign = labels == 0
    sets = benign & np.isin(groups, ["slabs", "neuralchemy"])
    best = combiner.threshold
    already = replace(combiner, threshold=np.inf, long_threshold=np.inf).decide(x) > 0
    for bar in np.unique(
        np.quantile((x @ combiner.stack + combiner.bias)[long & benign], np.linspace(0.9, 1, 201))
    ):
        if bar >= best:
            break
        flagged = replace(combiner, long_threshold=float(bar)).decide(x) > 0
        if (
            (flagged & ~already)[long & benign].mean() <= 0.01
            and flagged[benign].mean() <= 0.01
            and flagged[sets].mean() <= 0.01
        ):
            return float(bar)
    return best


def _at(combiner: Combiner, x: np.ndarray, bar: float) -> np.ndarray:
    return replace(combiner, threshold=bar).decide(x)


def combiners(x: np.ndarray, labels: np.ndarray, groups: np.ndarray) -> list[Combiner]:
    """The candidates, each with its threshold chosen on validation: a logistic-regression stacker over
    all features, or the embedding logit alone, each with or without the n-gram detector's own verdict."""
    lr = LogisticRegression(C=1.0, class_weight="balanced", max_iter=2000).fit(x, labels)
    alone = np.zeros(x.shape[1])
    alone[0] = 1.0
    out = []
    for name, stack, bias in (("stacked", lr.coef_[0], float(lr.intercept_[0])), ("embedding", alone, 0.0)):
        for or_ngram in (False, True):
            label = f"{name}{' or n-gram' if or_ngram else ''}"
            base = Combiner(label, stack.astype(np.float64), bias, 0.0, or_ngram)
            # With the n-gram verdict OR-ed in, its hits are fixed: search the bar for the rest.
            t = threshold(x @ base.stack + bias, labels, groups, partial(_at, base, x))
            out.append(
                replace(
                    base, threshold=t, long_threshold=long_bar(replace(base, threshold=t), x, labels, groups)
                )
            )
    return out


def main() -> None:
    args = parser().parse_args()
    np.random.seed(SEED)
    rows = load(args.datasets)
    split: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        split[row[3]].append(row)
    detector = InjectionDetector()
    train_all = split["train"] + window_negatives(split["train"]) + as_tool_results(split["train"])
    attack_at = {train_all[i][0]: span for i, span in buried_attacks(train_all).items()}
    train_rows = subsample(train_all, SEED)
    n_val = len(split["validation"])
    print(f"train: {len(train_rows)} of {len(train_all)} texts (subsampled); validation {n_val}")
    items: dict[str, list[Item]] = {}
    vectors: dict[str, dict[str, np.ndarray]] = {}
    plan = [("validation", split["validation"]), ("train", train_rows)]
    plan += [] if args.no_test else [("test", split["test"])]
    for name, part in plan:
        started = time.perf_counter()
        if name == "train":
            items[name] = [Item(r, detector, attack_at.get(r[0]) if r[1] else None) for r in part]
        else:
            items[name] = items_for(part, detector)
        pieces = [p for item in items[name] for p in item.pieces]
        print(f"{name}: {len(part)} texts, {len(pieces)} windows ({time.perf_counter() - started:.0f}s)")
        vectors[name] = embed(name, pieces, args.cache)
    if args.embed_only:
        return

    # Window-level training rows.
    xs, ys = [], []
    for item in items["train"]:
        for piece, label in zip(item.pieces, item.window_labels, strict=True):
            if label is not None:
                xs.append(vectors["train"][piece])
                ys.append(label)
    x, y = np.stack(xs), np.array(ys)
    weight = np.where(y == 1, 0.5 / y.mean(), 0.5 / (1 - y.mean()))
    print(f"head: {len(y)} windows, {int(y.sum())} attacks")

    val = items["validation"]
    v_labels = np.array([i.label for i in val])
    v_groups = np.array([i.dataset for i in val])
    candidates: list[tuple[str, MLPClassifier | LogisticRegression]] = [
        ("linear C=10", LogisticRegression(C=10.0, max_iter=3000)),
    ]
    for hidden, alpha in ((64, 1e-3), (128, 1e-3), (256, 1e-3)):
        mlp = MLPClassifier((hidden,), alpha=alpha, max_iter=300, early_stopping=True, random_state=SEED)
        candidates.append((f"mlp {hidden} alpha={alpha}", mlp))
    best: tuple[float, str, dict[str, np.ndarray], Combiner] | None = None
    for label, model in candidates:
        started = time.perf_counter()
        model.fit(x, y, sample_weight=weight)
        head = mlp_arrays(model)
        sx = stack_rows(val, window_max(val, vectors["validation"], head))
        for combiner in combiners(sx, v_labels, v_groups):
            z = combiner.decide(sx)
            recall = float((z[v_labels == 1] > 0).mean())
            took = time.perf_counter() - started
            print(f"{label}, {combiner.name}: validation recall {recall:.4f} ({took:.0f}s)")
            if best is None or recall > best[0]:
                best = (recall, label, head, combiner)
    assert best is not None
    _, label, head, combiner = best
    print(f"chose {label}, {combiner.name}: {combiner}")
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        **head,
        stack=combiner.stack,
        stack_bias=np.float64(combiner.bias),
        threshold=np.float64(combiner.threshold),
        long_threshold=np.float64(
            combiner.threshold if combiner.long_threshold is None else combiner.long_threshold
        ),
        or_ngram=np.bool_(combiner.or_ngram),
        whole=np.int64(WHOLE),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size} bytes)")

    def evaluate(name: str) -> None:
        part, vec = items[name], vectors[name]
        labels, groups = np.array([i.label for i in part]), np.array([i.dataset for i in part])
        z = combiner.decide(stack_rows(part, window_max(part, vec, head)))
        texts = [r[0] for r in (split[name])]
        ngram = np.array([any(f.score >= 0.5 for f in detector.detect(Text(s))) for s in texts])
        empty = np.array([not Text(s).norm.strip() for s in texts])
        langs = np.array([language(s) for s in texts])
        report(f"{name} n-gram", ngram, labels, groups, langs)
        report(f"{name} embed ", (z > 0) & ~empty, labels, groups, langs)
        report(f"{name} either", ((z > 0) & ~empty) | ngram, labels, groups, langs)

    # The served code path (fresh embeddings, scalar decision) must agree with the cached one above.
    served = EmbeddingInjectionDetector(model=str(args.out))
    sample = random.Random(SEED).sample(range(len(val)), 40)  # noqa: S311 - a sample, not security
    cached = combiner.decide(
        stack_rows(
            [val[i] for i in sample], window_max([val[i] for i in sample], vectors["validation"], head)
        )
    )
    live = np.array([served.logit(Text(split["validation"][i][0]))[0] for i in sample])
    agree = np.mean((live > 0) == (cached > 0))
    print(f"served vs cached: max |dz| {np.abs(live - cached).max():.4f}, same verdict {agree:.3f}")
    evaluate("validation")
    if not args.no_test:
        evaluate("test")  # reported once, after every choice is made


if __name__ == "__main__":
    main()
