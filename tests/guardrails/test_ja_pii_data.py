"""The Japanese PII evaluation set is what its generator makes, and its spans are sound."""

from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Any

import pytest

DATA = Path(__file__).resolve().parents[1] / "data" / "ja_pii"
TYPES = {"MY_NUMBER", "CORPORATE_NUMBER", "PASSPORT", "DRIVERS_LICENSE", "RESIDENCE_CARD", "POSTAL_CODE",
         "ADDRESS", "PERSON", "BANK_ACCOUNT", "PHONE", "EMAIL"}  # fmt: skip


def generator() -> Any:
    spec = importlib.util.spec_from_file_location("ja_pii_generate", DATA / "generate.py")
    assert spec is not None and spec.loader is not None
    module = importlib.util.module_from_spec(spec)
    spec.loader.exec_module(module)
    return module


@pytest.mark.parametrize("split", ["dev", "test", "holdout"])
def test_generator_reproduces_files(split: str) -> None:
    gen = generator()
    assert gen.dump(gen.generate(split)) == (DATA / f"{split}.jsonl").read_text(encoding="utf-8")


@pytest.mark.parametrize("split", ["dev", "test", "holdout"])
def test_spans_are_within_text(split: str) -> None:
    for line in (DATA / f"{split}.jsonl").read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        assert list(record) == ["text", "spans", "lang"] and record["lang"] == "ja"
        previous_end = 0
        for span in record["spans"]:
            assert span["type"] in TYPES
            assert previous_end <= span["start"] < span["end"] <= len(record["text"])
            assert (
                record["text"][span["start"] : span["end"]].strip()
                == record["text"][span["start"] : span["end"]]
            )
            previous_end = span["end"]
