"""Train the PROMPT_INJECTION classifier and write src/sekisho/guardrails/data/injection.npz.

Reproduce (dev dependencies scikit-learn, pyarrow and faker, and ../shared/datasets; about 6 minutes):

    .venv/bin/python scripts/train_injection.py [--datasets ../shared/datasets] [--out PATH] [--no-test]

Seeded and deterministic (same data, same artifact, byte for byte). Train fits; validation chooses C
and the two thresholds; test is printed at the end and used for nothing (``--no-test`` skips it).

- injection-slabs: its own train/validation/test.csv.
- injection-neuralchemy: its own core-{train,validation,test}.parquet.
- injection-multilingual-yanismiraoui: attacks only, no split shipped: split 70/15/15 by the MD5 of
  the text. Its test recall has no benign counterpart.
- toxic-ja-inspection (Japanese, benign for this task): split 70/15/15 by MD5.
- intents-banking77 (benign customer questions): train.csv split 85/15 by MD5 into train/validation;
  test.csv is the test split.
- templates-ja / templates-en (``injection_templates.py``): business mail, meeting notes, code
  questions, questions *about* prompt injection, and attacks, direct and hidden in documents and tool
  output. No public set has Japanese attacks, so the Japanese attack figures come from these templates,
  split 70/15/15 by MD5: they measure generalisation across combinations of phrases, not to phrasings
  nobody wrote here.
- buried: long benign documents (1,500–4,000 characters of banking77 and template sentences of one
  split) with one attack of that split hidden inside, and as many without: indirect injection.
- Not part of ``load()`` (whose rows and splits other code imports unchanged), added by
  ``business_rows()``: business-ja / business-en (``injection_business.py``: registrations, invoices,
  forms, support replies, meeting notes, code review, instructions to colleagues), split 70/15/15 by
  MD5; ja_pii-dev (``tests/data/ja_pii/dev.jsonl``, validation only); buried-business (long business
  documents, half with one attack of the same split hidden inside).
- Training only: sentences, pairs and 3–6-sentence runs cut from long benign training texts (the
  detector scores such windows), and training texts wrapped as JSON tool results (so JSON is neutral).
  The buried documents labelled as attacks are not fitted on (their attack is a row of its own; the
  rest is benign filler), only scored.

Two thresholds (logits), because a sentence cut from a long text scores noisier than a whole prompt:
one for the whole prompt (texts up to 600 characters), one for sentence and pair windows. The pair
chosen has the best validation recall with <= 1 % false positives on the benign validation texts of
slabs and neuralchemy pooled, and on all benign validation texts, and <= 0.3 % on the benign business
validation texts (business-*, ja_pii-dev, buried-business): a block on ordinary business text costs more
than a missed attack the model downstream may still refuse. Heuristics on, scored by the same
``InjectionDetector`` code that serves requests.
"""

from __future__ import annotations

import argparse
import csv
import hashlib
import json
import random
import re
import sys
import tempfile
import time
from collections import defaultdict
from pathlib import Path

import numpy as np
import pyarrow.parquet as pq
from scipy.sparse import csr_matrix
from sklearn.linear_model import LogisticRegression

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT / "src"))

from sekisho.guardrails.detectors.injection import MODEL_PATH, InjectionDetector  # noqa: E402
from sekisho.guardrails.detectors.injection_features import featurise  # noqa: E402
from sekisho.guardrails.text import Text  # noqa: E402

sys.path.insert(0, str(Path(__file__).resolve().parent))
from injection_business import business  # noqa: E402
from injection_templates import EN_TOPICS, SEED, templates  # noqa: E402

BITS = 18
Row = tuple[str, int, str, str]  # text, label, dataset, split
JA_PII_DEV = ROOT / "tests" / "data" / "ja_pii" / "dev.jsonl"
BUSINESS = ("business-ja", "business-en", "buried-business", "ja_pii-dev")  # benign business text


def bucket(text: str, cuts: tuple[float, float] = (0.70, 0.85)) -> str:
    h = int(hashlib.md5(text.encode()).hexdigest()[:8], 16) / 0xFFFFFFFF  # noqa: S324 - a split, not security
    return "train" if h < cuts[0] else ("validation" if h < cuts[1] else "test")


def language(text: str) -> str:
    if re.search(r"[\u3040-\u30ff\u4e00-\u9fff]", text):
        return "ja"
    words = re.findall(r"[a-zA-Z']+", text.lower())
    english = {
        "the",
        "you",
        "your",
        "and",
        "to",
        "of",
        "is",
        "a",
        "what",
        "how",
        "me",
        "my",
        "i",
        "in",
        "all",
    }
    english |= {"can", "do", "for", "it", "are", "this", "that", "with", "please", "tell", "show", "ignore"}
    if not words or re.search(r"[àâçéèêëîïôûùüÿñæœäöüßãõ¿¡]", text.lower()):
        return "other"
    return "en" if sum(w in english for w in words) / len(words) >= 0.12 or len(words) <= 3 else "other"


def load(root: Path) -> list[Row]:
    rows: list[Row] = []
    for split in ("train", "validation", "test"):
        with open(root / "injection-slabs" / f"{split}.csv", newline="") as f:
            rows += [(r["text"], int(r["label"]), "slabs", split) for r in csv.DictReader(f)]
        table = pq.read_table(root / "injection-neuralchemy" / f"core-{split}.parquet").to_pylist()
        rows += [(r["text"], int(r["label"]), "neuralchemy", split) for r in table]
    with open(root / "injection-multilingual-yanismiraoui" / "prompt_injections.csv", newline="") as f:
        reader = csv.reader(f)
        next(reader)
        rows += [(r[0], 1, "multilingual", bucket(r[0])) for r in reader if r and r[0].strip()]
    with open(root / "toxic-ja-inspection" / "subset.csv", newline="") as f:
        rows += [(r["text"], 0, "toxic-ja", bucket(r["text"])) for r in csv.DictReader(f)]
    with open(root / "intents-banking77" / "train.csv", newline="") as f:
        rows += [(r["text"], 0, "banking77", bucket(r["text"], (0.85, 1.0))) for r in csv.DictReader(f)]
    with open(root / "intents-banking77" / "test.csv", newline="") as f:
        rows += [(r["text"], 0, "banking77", "test") for r in csv.DictReader(f)]
    rows += [(t, label, ds, bucket(t)) for t, label, ds in templates()]
    return rows + buried(rows)


def buried(rows: list[Row]) -> list[Row]:
    """Long documents (1,500–4,000 characters of benign text from the same split) with one attack from
    that split hidden at a random place, and as many without: what indirect injection looks like."""
    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample, not security
    out: list[Row] = []
    for split in ("train", "validation", "test"):
        filler = [r[0] for r in rows if r[3] == split and r[1] == 0 and r[2] in ("banking77", "templates-en")]
        filler_ja = [
            r[0] for r in rows if r[3] == split and r[1] == 0 and r[2] in ("templates-ja", "toxic-ja")
        ]
        attacks = [r[0] for r in rows if r[3] == split and r[1] == 1 and r[2] != "buried"]
        for i in range(300 if split != "train" else 600):
            pool, sep, stop = (filler_ja, "", "。") if i % 3 == 0 else (filler, " ", ".")
            body = [rng.choice(pool) for _ in range(rng.randint(25, 60))]
            body = [b if b.rstrip()[-1:] in ".?!。？！" else b.rstrip() + stop for b in body]
            out.append((sep.join(body), 0, "buried", split))
            body.insert(rng.randrange(len(body) + 1), rng.choice(attacks))
            out.append((sep.join(body), 1, "buried", split))
    return out


def business_rows(rows: list[Row]) -> list[Row]:
    """Benign business text, kept apart from ``load()`` (whose splits other code relies on).

    ``injection_business.business()`` split 70/15/15 by MD5; the Japanese PII generator's dev split
    (``tests/data/ja_pii/dev.jsonl``, benign by construction) as validation only, so the thresholds are
    chosen on business text that training never saw; and "buried-business": long business documents
    (1,500–4,000 characters) from one split, half of them with one attack of that split hidden inside.
    """
    out = [(t, label, ds, bucket(t)) for t, label, ds in business()]
    if JA_PII_DEV.exists():
        with open(JA_PII_DEV, encoding="utf-8") as f:
            out += [(json.loads(line)["text"], 0, "ja_pii-dev", "validation") for line in f if line.strip()]
    rng = random.Random(SEED + 2)  # noqa: S311 - a reproducible sample, not security
    for split in ("train", "validation", "test"):
        attacks = [r[0] for r in rows if r[3] == split and r[1] == 1 and r[2] != "buried"]
        for ds, sep in (("business-ja", ""), ("business-en", "\n")):
            filler = [r[0] for r in out if r[3] == split and r[2] == ds]
            for _ in range(400 if split == "train" else 150):
                body: list[str] = []
                while sum(map(len, body)) < rng.randint(1500, 4000):
                    body.append(rng.choice(filler))
                out.append((sep.join(body), 0, "buried-business", split))
                body.insert(rng.randrange(len(body) + 1), rng.choice(attacks))
                out.append((sep.join(body), 1, "buried-business", split))
    return out


def window_negatives(train: list[Row], limit: int = 12000) -> list[Row]:
    """Sentences, neighbour pairs and runs cut from long benign training texts, as the detector scores them.

    The public sets are whole prompts; without these the classifier never sees a lone sentence of a
    long benign document, and windows of such documents score too high.
    """
    rng = random.Random(SEED)  # noqa: S311 - a reproducible sample, not security
    out: dict[str, None] = {}
    for text, label, _, _ in train:
        if label or len(text) < 200:
            continue
        norm = Text(text).norm
        bounds = featurise(Text(text).kana, BITS).bounds.tolist()
        for k in range(len(bounds) - 1):
            # A sentence, a pair (as the detector scores them) and a prompt-sized run of 3-6 sentences
            # (multi-sentence benign prompts are rare in the public sets, multi-sentence attacks are not).
            for j in (k + 1, k + 2, k + 3 + k % 4):
                if j < len(bounds) and norm[bounds[k] : bounds[j]].strip() and bounds[j] - bounds[k] <= 600:
                    out[norm[bounds[k] : bounds[j]].strip()] = None
    windows = sorted(out)
    rng.shuffle(windows)
    return [(w, 0, "windows", "train") for w in windows[:limit]]


def as_tool_results(train: list[Row], n: int = 1500) -> list[Row]:
    """Training texts, benign and attacks alike, wrapped as JSON tool results, so that JSON itself
    (which tool outputs and retrieved documents are full of) carries no weight either way."""
    rng = random.Random(SEED + 1)  # noqa: S311 - a reproducible sample, not security
    keys = ["content", "summary", "text", "body", "snippet", "description", "result"]
    out: list[Row] = []
    for text, label, _, _ in rng.sample([r for r in train if r[2] not in ("buried",)], n):
        doc = {"id": rng.randint(1, 9999), "title": rng.choice(EN_TOPICS).title(), rng.choice(keys): text}
        wrapped = json.dumps(
            {"results": [doc]} if rng.random() < 0.5 else doc, ensure_ascii=rng.random() < 0.3
        )
        out.append((wrapped, label, "json", "train"))
    return out


# --- Training -------------------------------------------------------------------------------------
def matrix(texts: list[str]) -> csr_matrix:
    """Rows exactly as the detector scores a whole prompt: once per sentence, L2-normalised."""
    data, indices, indptr = [], [], [0]
    for text in texts:
        features = featurise(Text(text).kana, BITS)
        ids, counts = np.unique(features.buckets[features.kept], return_counts=True)
        data.append(counts / np.sqrt(max(counts.sum(), 1)))
        indices.append(ids)
        indptr.append(indptr[-1] + len(ids))
    return csr_matrix((np.concatenate(data), np.concatenate(indices), indptr), shape=(len(texts), 2**BITS))


def save(path: Path, model: LogisticRegression, threshold: float, window_threshold: float) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    np.savez_compressed(
        path,
        weights=model.coef_[0].astype(np.float16),
        bias=np.float64(model.intercept_[0]),
        threshold=np.float64(threshold),
        window_threshold=np.float64(window_threshold),
        bits=np.int64(BITS),
    )


def scores(detector: InjectionDetector, texts: list[str]) -> tuple[np.ndarray, np.ndarray, np.ndarray]:
    """Per text: the whole-prompt logit, the best sentence/pair logit (thresholds 0), a heuristic hit."""
    whole, window = np.full(len(texts), -99.0), np.full(len(texts), -99.0)
    heuristic = np.zeros(len(texts), dtype=bool)
    for i, text in enumerate(texts):
        t = Text(text)
        if t.norm.strip():
            scored = detector.score(t)
            parts = scored.logits[:-1] if scored.whole else scored.logits
            whole[i] = scored.logits[-1] if scored.whole else -99.0
            window[i] = parts.max() if len(parts) else -99.0
            heuristic[i] = any(s >= 0.5 for _, _, s in detector.heuristic_hits(t, scored))
    return whole, window, heuristic


def choose_thresholds(
    whole: np.ndarray, window: np.ndarray, heur: np.ndarray, labels: np.ndarray, groups: np.ndarray
) -> tuple[float, float, float]:
    """The (whole, window) logit thresholds with the best recall at <= 1 % false positives on the
    injection sets' benign texts (pooled) and on all benign validation texts; heuristic hits count
    as positives whatever the thresholds."""
    benign = labels == 0
    sets = benign & np.isin(groups, ["slabs", "neuralchemy"])
    office = benign & np.isin(groups, BUSINESS)
    best = (-1.0, float(whole.max()), float(window.max()))
    candidates = np.unique(np.quantile(window[benign], np.linspace(0.9, 1.0, 101)))
    for tw in np.concatenate([candidates, [window.max() + 1]]):
        base = (window > tw) | heur
        # The lowest whole-text threshold that keeps both false-positive rates within 1 %.
        for t in np.unique(np.concatenate([whole[benign], [whole.max() + 1]])):
            flagged = base | (whole > t)
            if (
                flagged[benign].mean() <= 0.01
                and flagged[sets].mean() <= 0.01
                and flagged[office].mean() <= 0.003
            ):
                recall = flagged[labels == 1].mean()
                if recall > best[0]:
                    best = (float(recall), float(t), float(tw))
                break
    return best


def report(name: str, flagged: np.ndarray, labels: np.ndarray, groups: np.ndarray, langs: np.ndarray) -> None:
    print(f"\n{name}: {'set':<16}{'n+':>6}{'recall':>8}{'n-':>7}{'FPR':>8}")
    keys = [("all", np.ones(len(labels), bool))]
    keys += [(f"ds:{g}", groups == g) for g in sorted(set(groups))]
    keys += [(f"lang:{lang}", langs == lang) for lang in ("ja", "en", "other")]
    for key, sel in keys:
        pos, neg = sel & (labels == 1), sel & (labels == 0)
        rec = f"{flagged[pos].mean():.4f}" if pos.any() else "-"
        fpr = f"{flagged[neg].mean():.4f}" if neg.any() else "-"
        print(f"{'':>{len(name) + 2}}{key:<16}{pos.sum():>6}{rec:>8}{neg.sum():>7}{fpr:>8}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--datasets", type=Path, default=ROOT.parent / "shared" / "datasets")
    parser.add_argument("--out", type=Path, default=MODEL_PATH)
    parser.add_argument("--no-test", action="store_true", help="development runs: do not even look at test")
    args = parser.parse_args()
    np.random.seed(SEED)
    rows = load(args.datasets)
    rows += business_rows(rows)
    split: dict[str, list[Row]] = defaultdict(list)
    for row in rows:
        split[row[3]].append(row)
    for s in ("train", "validation", "test"):
        print(s, len(split[s]), "attacks:", sum(r[1] for r in split[s]))
    # A buried attack is a long benign document labelled as an attack as a whole: fitted on, it teaches
    # that benign filler is evidence of attack. Its attack is a training row of its own already.
    fit = [r for r in split["train"] if not (r[1] and r[2] in ("buried", "buried-business"))]
    train = fit + window_negatives(fit) + as_tool_results(fit)
    x_train, y_train = matrix([r[0] for r in train]), np.array([r[1] for r in train])
    val = split["validation"]
    v_texts, v_labels = [r[0] for r in val], np.array([r[1] for r in val])
    v_groups = np.array([r[2] for r in val])
    best: tuple[float, float, float, float, LogisticRegression] | None = None
    with tempfile.TemporaryDirectory() as tmp:
        for c in (4.0, 8.0, 16.0):
            started = time.perf_counter()
            model = LogisticRegression(C=c, class_weight="balanced", max_iter=3000, solver="liblinear")
            model.fit(x_train, y_train)
            path = Path(tmp) / f"c{c}.npz"  # a new name each time: the detector caches models by path
            save(path, model, 0.0, 0.0)
            detector = InjectionDetector(model=str(path))
            recall, t, tw = choose_thresholds(*scores(detector, v_texts), v_labels, v_groups)
            took = time.perf_counter() - started
            print(f"C={c}: validation recall {recall:.4f} at thresholds {t:.3f} / {tw:.3f} ({took:.0f}s)")
            if best is None or recall > best[0]:
                best = (recall, c, t, tw, model)
    assert best is not None
    _, c, threshold, window_threshold, model = best
    save(args.out, model, threshold, window_threshold)
    size = args.out.stat().st_size
    print(
        f"chose C={c}, thresholds {threshold:.3f} / {window_threshold:.3f}; wrote {args.out} ({size} bytes)"
    )
    detector = InjectionDetector(model=str(args.out))
    v_flag = np.array([any(f.score >= 0.5 for f in detector.detect(Text(t))) for t in v_texts])
    report("validation", v_flag, v_labels, v_groups, np.array([language(t) for t in v_texts]))
    if args.no_test:
        return
    test = split["test"]  # reported once, after every choice is made
    t_texts, t_labels = [r[0] for r in test], np.array([r[1] for r in test])
    t_flag = np.array([any(f.score >= 0.5 for f in detector.detect(Text(t))) for t in t_texts])
    report("test", t_flag, t_labels, np.array([r[2] for r in test]), np.array([language(t) for t in t_texts]))


if __name__ == "__main__":
    main()
