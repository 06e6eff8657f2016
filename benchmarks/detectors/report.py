"""The machine description, the Markdown report and the result files of a detector-benchmark run."""

from __future__ import annotations

import json
import os
import platform
import subprocess
from datetime import UTC, datetime
from importlib.metadata import PackageNotFoundError
from importlib.metadata import version as dist_version
from pathlib import Path
from typing import Any

from presidio_client import PRESIDIO_MAP
from scoring import ALL, IOU_THRESHOLD

REPO = Path(__file__).resolve().parents[2]
FUZZY = ("PERSON", "ADDRESS")
# Issue 3's targets, used only to mark each figure as met or not.
TARGET_STRUCTURED_F1 = 0.95
TARGET_FUZZY_F1 = 0.85
TARGET_INJECTION_RECALL = 0.95
TARGET_INJECTION_FPR = 0.01
TARGET_THROUGHPUT_RATIO = 20.0
TARGET_MS_PER_PROMPT = 3.0


def environment() -> dict[str, Any]:
    def git(*argv: str) -> str:
        try:
            out = subprocess.run(["git", "-C", str(REPO), *argv], capture_output=True, text=True, timeout=60)
        except OSError:
            return "?"
        return out.stdout.strip()

    cpuinfo = Path("/proc/cpuinfo")
    cpu_model = next(
        (
            line.split(":", 1)[1].strip()
            for line in (cpuinfo.read_text().splitlines() if cpuinfo.exists() else [])
            if line.startswith("model name")
        ),
        platform.processor() or "?",
    )
    try:
        sekisho = dist_version("sekisho")
    except PackageNotFoundError:
        sekisho = "not installed"
    return {
        "date_utc": datetime.now(UTC).isoformat(timespec="seconds"),
        "cpu": cpu_model,
        "cores": os.cpu_count(),
        "python": platform.python_version(),
        "kernel": platform.release(),
        "loadavg_at_start": loadavg(),
        "sekisho": sekisho,
        "sekisho_git": git("rev-parse", "--short", "HEAD"),
        "sekisho_git_modified_or_new_files": len(git("status", "--porcelain", "--", "src").splitlines()),
    }


def loadavg() -> list[str]:
    path = Path("/proc/loadavg")
    return path.read_text().split()[:3] if path.exists() else ["?"] * 3


def write(results: dict[str, Any], markdown: str, out: Path) -> None:
    (out / "latest.json").write_text(
        json.dumps(results, indent=2, ensure_ascii=False) + "\n", encoding="utf-8"
    )
    (out / "latest.md").write_text(markdown, encoding="utf-8")


# --------------------------------------------------------------------------------------------------
# Markdown


def _f(x: Any, digits: int = 3) -> str:
    if x is None:
        return "–"
    if isinstance(x, float):
        return f"{x:.{digits}f}"
    return str(x)


def _ms(stats: dict[str, Any], key: str) -> str:
    return _f(stats.get(key), 3) if stats else "–"


def _mark(ok: bool | None) -> str:
    return "–" if ok is None else ("met" if ok else "**not met**")


def render(r: dict[str, Any]) -> str:
    env = r["environment"]
    det = r["detectors"]
    lines = [
        f"# Detector benchmark — {env['date_utc']}",
        "",
        f"Machine: {env['cpu']}, {env['cores']} CPUs, Python {env['python']}, kernel {env['kernel']}, load "
        f"average at start {' / '.join(env['loadavg_at_start'])}, at end "
        f"{' / '.join(env.get('loadavg_at_end', ['?']))}. Sekisho {env['sekisho']} (git "
        f"{env['sekisho_git']}, {env['sekisho_git_modified_or_new_files']} changed files under src/). Run "
        f"took {r.get('elapsed_seconds', '?')} "
        f"s{' — QUICK run on subsets, not for publishing' if r['config']['quick'] else ''}.",
        "",
        f"Default detector set ({det['source']}): {', '.join(det['loaded']) or 'none'}; findings below "
        f"score {r['config']['min_score']} dropped.",
    ]
    if det["skipped"]:
        lines += ["", "**Skipped detectors** (failed to import, construct or run on two probe texts):", ""]
        lines += [f"- `{name}`: {why}" for name, why in det["skipped"].items()]
    if det.get("raised"):
        lines += [
            "",
            "**Detectors that raised during the run** (counted as finding nothing in that text):",
            "",
        ]
        lines += [f"- `{name}`: {what}" for name, what in det["raised"].items()]
    for note in r.get("notes", []):
        lines += ["", f"Note: {note}"]
    lines += _speed(r) + _pii(r, "pii_en", "PII, English — pii-en-presidio")
    for key in ("pii_ja", "pii_ja_holdout"):
        if key in r:
            lines += _pii(r, key, f"PII, Japanese — {r[key].get('path', '?')}")
    lines += _injection(r) + _targets(r) + _presidio(r) + _method()
    return "\n".join(lines) + "\n"


def _speed(r: dict[str, Any]) -> list[str]:
    speed = r.get("speed", {})
    cfg = r["config"]
    lines = [
        "",
        "## Speed",
        "",
        f"{cfg['prompt_chars']:,}-character prompts built by joining dataset texts. Sekisho: "
        f"`DetectorSet.detect(Text(s))` (normalisation included), {cfg['timing_repeat']} rounds over "
        f"{cfg['timing_prompts']} prompts per language. Presidio: `AnalyzerEngine.analyze(s, "
        f"language='en')` in its own process, {cfg['presidio_timing_repeat']} run(s) on each of the first "
        f"{cfg['presidio_timing_prompts']} English prompts. A prompt's latency is the median of its runs "
        "(the machine is shared; the p99 of single calls is in latest.json as ms_per_call_p99_raw); median "
        "and p99 are over prompts. One process each, one thread.",
        "",
        "| language | system | prompts × runs | ms / prompt (median) | ms / prompt (p99) | ms / 1k chars "
        "(median) | ms / 1k chars (p99) | chars / s | CPU ms / prompt (median) | CPU chars / s |",
        "|---|---|---:|---:|---:|---:|---:|---:|---:|---:|",
    ]
    rows = [
        ("en", "Sekisho (default set)", "sekisho"),
        ("en", "Sekisho, interleaved with Presidio", "sekisho_on_presidio_prompts"),
        ("en", "Presidio, interleaved", "presidio"),
        ("ja", "Sekisho (default set)", "sekisho"),
    ]
    for lang, label, key in rows:
        s = speed.get(lang, {}).get(key)
        if s:
            lines.append(
                f"| {lang} | {label} | {s['prompts']} × {s['rounds']} | {_ms(s, 'ms_per_call_median')} | "
                f"{_ms(s, 'ms_per_call_p99')} | {_ms(s, 'ms_per_1k_chars_median')} | "
                f"{_ms(s, 'ms_per_1k_chars_p99')} | {s['chars_per_second']:,} | "
                f"{_ms(s, 'cpu_ms_per_call_median')} | {s.get('cpu_chars_per_second') or 0:,} |"
            )
    en = speed.get("en", {})
    if "throughput_ratio" in en:
        lines += [
            "",
            f"Sekisho's English throughput is **{en['throughput_ratio']}×** Presidio's on the same prompts "
            f"(median latency ratio {en['median_latency_ratio']}×, CPU-time throughput ratio "
            f"{en.get('cpu_throughput_ratio', '–')}×; target ≥ {TARGET_THROUGHPUT_RATIO:.0f}×), timed "
            "interleaved: each prompt by Sekisho, then by Presidio, round after round, so that load from "
            "other processes weighs on both alike.",
        ]
    for lang in ("en", "ja"):
        if "missing" in speed.get(lang, {}):
            lines += ["", f"{lang}: {speed[lang]['missing']}"]
    sources = [f"{lang}: {speed[lang]['source']}" for lang in ("en", "ja") if "source" in speed.get(lang, {})]
    if sources:
        lines += ["", "Prompt sources — " + "; ".join(sources) + "."]
    stages = sorted(
        {k for lang in ("en", "ja") for k in speed.get(lang, {}).get("breakdown", {})},
        key=lambda k: (k != "normalisation", k),
    )
    if stages:
        lines += [
            "",
            "Per stage (each detector alone on a shared `Text`; `normalisation` = `Text(s)` and its `kana` "
            "view; work that detectors share through the `Text`, such as one tagging pass, is charged to the "
            "first detector that asks for it), ms per 2,000-character prompt:",
            "",
            "| stage | en median | en p99 | ja median | ja p99 |",
            "|---|---:|---:|---:|---:|",
        ]
        for k in stages:
            en_s = speed.get("en", {}).get("breakdown", {}).get(k, {})
            ja_s = speed.get("ja", {}).get("breakdown", {}).get(k, {})
            lines.append(
                f"| {k} | {_ms(en_s, 'ms_per_call_median')} | {_ms(en_s, 'ms_per_call_p99')} | "
                f"{_ms(ja_s, 'ms_per_call_median')} | {_ms(ja_s, 'ms_per_call_p99')} |"
            )
    return lines


def _prf(m: dict[str, Any] | None) -> str:
    if not m:
        return "– | – | – | –"
    return " | ".join(_f(m.get(k)) for k in ("precision", "recall", "f1", "f2"))


def _pii(r: dict[str, Any], key: str, title: str) -> list[str]:
    data = r.get(key, {})
    lines = ["", f"## {title}", ""]
    if "missing" in data:
        return [*lines, f"Not scored: {data['missing']}."]
    ours = data["sekisho"]
    theirs = data.get("presidio")
    lines.append(
        f"{data['texts']} texts. Scored types: {', '.join(ours['scored_types'])}; gold spans of other types "
        "are not scored, and a finding of a scored type that matches no gold span of that type is a false "
        "positive (see Method)."
    )
    types = [*ours["scored_types"], ALL]
    for level, label in (("span_iou50", f"span level (IoU ≥ {IOU_THRESHOLD})"), ("token", "token level")):
        head = "| type | gold spans | Sekisho P | R | F1 | F2 |"
        rule = "|---|---:|---:|---:|---:|---:|"
        if theirs:
            head += " Presidio P | R | F1 | F2 |"
            rule += "---:|---:|---:|---:|"
        lines += ["", f"**{label}**", "", head, rule]
        for t in types:
            gold = sum(ours["gold_spans"].values()) if t == ALL else ours["gold_spans"].get(t, 0)
            row = f"| {t} | {gold} | {_prf(ours[level].get(t))} |"
            if theirs:
                row += f" {_prf(theirs[level].get(t))} |"
            lines.append(row)
    exact = f"| type | Sekisho exact-span F1 |{' Presidio exact-span F1 |' if theirs else ''}"
    lines += ["", "**exact span boundaries**", "", exact, "|---|---:|" + ("---:|" if theirs else "")]
    for t in types:
        row = f"| {t} | {_f(ours['span_exact'].get(t, {}).get('f1'))} |"
        if theirs:
            row += f" {_f(theirs['span_exact'].get(t, {}).get('f1'))} |"
        lines.append(row)
    for name, result in (("Sekisho", ours), ("Presidio", theirs)):
        if result and result["unscored_predictions"]:
            parts = [
                f"{t} {n} ({result['unscored_predictions_on_unscored_gold'].get(t, 0)} on an unscored gold "
                "span)"
                for t, n in result["unscored_predictions"].items()
            ]
            lines += ["", f"{name} findings of types not scored here (not counted): {'; '.join(parts)}."]
    return lines


def _injection(r: dict[str, Any]) -> list[str]:
    inj = r.get("injection", {})
    lines = ["", "## Prompt injection (PROMPT_INJECTION, test splits)", ""]
    if "skipped" in inj:
        lines.append(f"Not scored: {inj['skipped']}.")
    else:
        lines += [
            "A text counts as flagged when the default set reports any PROMPT_INJECTION finding.",
            "",
            "| set | split | texts | attacks | benign | recall | false-positive rate | precision | notes |",
            "|---|---|---:|---:|---:|---:|---:|---:|---|",
        ]
        for s in inj.get("sets", []):
            o = s["overall"]
            lines.append(
                f"| {s['name']} | {s['split']} | {o['texts']} | {o['attacks']} | {o['benign']} | "
                f"{_f(o['recall'])} | {_f(o['false_positive_rate'])} | {_f(o['precision'])} | "
                f"{'; '.join(s['notes'])} |"
            )
        guess = f" ({inj.get('language_guess')})"
        for s in inj.get("sets", []):
            for key in ("by_language", "by_language_guess", "by_category"):
                if key in s:
                    lines += [
                        "",
                        f"{s['name']}, {key.replace('_', ' ')}{guess if key == 'by_language_guess' else ''}:",
                        "",
                        "| group | texts | attacks | recall | benign | FPR |",
                        "|---|---:|---:|---:|---:|---:|",
                    ]
                    for g, m in s[key].items():
                        lines.append(
                            f"| {g} | {m['texts']} | {m['attacks']} | {_f(m['recall'])} | {m['benign']} | "
                            f"{_f(m['false_positive_rate'])} |"
                        )
    for miss in inj.get("missing", []):
        lines += ["", f"Missing: {miss}"]
    return lines


def _targets(r: dict[str, Any]) -> list[str]:
    lines = ["", "## Against issue 3's targets", "", "| target | measured | status |", "|---|---|---|"]
    for key, lang in (("pii_en", "en"), ("pii_ja", "ja"), ("pii_ja_holdout", "ja holdout")):
        ours = r.get(key, {}).get("sekisho")
        if not ours:
            continue
        for t in ours["scored_types"]:
            f1 = ours["span_iou50"].get(t, {}).get("f1")
            goal = TARGET_FUZZY_F1 if t in FUZZY else TARGET_STRUCTURED_F1
            lines.append(
                f"| {lang} {t} span F1 ≥ {goal} | {_f(f1)} | {_mark(None if f1 is None else f1 >= goal)} |"
            )
    for s in r.get("injection", {}).get("sets", []):
        o = s["overall"]
        if o["recall"] is not None:
            ok = o["recall"] >= TARGET_INJECTION_RECALL
            lines.append(
                f"| {s['name']} recall ≥ {TARGET_INJECTION_RECALL} | {_f(o['recall'])} | {_mark(ok)} |"
            )
        if o["false_positive_rate"] is not None:
            ok = o["false_positive_rate"] <= TARGET_INJECTION_FPR
            lines.append(
                f"| {s['name']} FPR ≤ {TARGET_INJECTION_FPR} | {_f(o['false_positive_rate'])} | {_mark(ok)} |"
            )
    speed = r.get("speed", {})
    for lang in ("en", "ja"):
        s = speed.get(lang, {}).get("sekisho")
        if s:
            ok = s["ms_per_call_median"] <= TARGET_MS_PER_PROMPT
            lines.append(
                f"| {lang} default set ≤ {TARGET_MS_PER_PROMPT} ms per 2,000-char prompt (median) | "
                f"{_f(s['ms_per_call_median'])} ms (p99 {_f(s['ms_per_call_p99'])}) | {_mark(ok)} |"
            )
    ratio = speed.get("en", {}).get("throughput_ratio")
    if ratio is not None:
        lines.append(
            f"| ≥ {TARGET_THROUGHPUT_RATIO:.0f}× Presidio's throughput | {ratio}× | "
            f"{_mark(ratio >= TARGET_THROUGHPUT_RATIO)} |"
        )
    return lines


def _presidio(r: dict[str, Any]) -> list[str]:
    p = r.get("presidio", {})
    lines = ["", "## Presidio's configuration", ""]
    if "skipped" in p:
        return [*lines, f"Presidio was not run: {p['skipped']}."]
    ner = (
        f"spaCy pipeline `{p['spacy_model']}` {p.get('spacy_model_version') or ''} (Explosion's "
        "en_core_web_sm re-published on PyPI; Presidio's default is en_core_web_lg, which is not "
        "installable offline: the small pipeline's PERSON/LOCATION figures are likely somewhat below lg's, "
        "and its latency below lg's). NLP configuration: Presidio's conf/default.yaml with the model name "
        "replaced (exact dictionary in latest.json)"
        if p.get("ner")
        else "**no NER** (`spacy.blank('en')`, tokenizer only): Presidio's PERSON and ADDRESS figures are "
        "not representative and its latency is a lower bound"
    )
    lines += [
        f"- presidio-analyzer {p['presidio_analyzer']}, spaCy {p['spacy']}, Python {p['python']}, in "
        "`benchmarks/.venv-presidio` (pinned: `presidio-requirements.txt`; full `pip freeze` in "
        "latest.json).",
        "- `AnalyzerEngine(nlp_engine=<spaCy engine>, supported_languages=['en'])` with its default "
        "recognizer registry, `analyze(text, language='en')` with every entity and the "
        f"{p['score_threshold']} score threshold.",
        f"- NER: {ner}.",
        f"- Recognizers: {', '.join(p['recognizers'])}.",
        "- Entity mapping to Sekisho types: "
        + ", ".join(f"{k}→{v}" for k, v in PRESIDIO_MAP.items())
        + "; every other Presidio entity (DATE_TIME, NRP, URL, US_BANK_NUMBER, US_DRIVER_LICENSE, ...) is "
        "not scored.",
        "- Offline: tldextract uses its bundled suffix list (TLDEXTRACT_PUBLIC_SUFFIX_LIST_URLS empty), "
        "HF_HUB_OFFLINE=1; nothing is downloaded at run time.",
        f"- Engine load time: {p['load_seconds']} s (not in the latency figures; 5 warm-up calls first).",
    ]
    return lines


def _method() -> list[str]:
    return [
        "",
        "## Method",
        "",
        "- pii-en-presidio entity names map to Sekisho types: PERSON→PERSON, STREET_ADDRESS→ADDRESS, "
        "PHONE_NUMBER→PHONE, EMAIL_ADDRESS→EMAIL, CREDIT_CARD, US_SSN, IP_ADDRESS, IBAN_CODE→BANK_ACCOUNT. "
        "GPE, ORGANIZATION, DATE_TIME, TITLE, NRP, AGE, ZIP_CODE, DOMAIN_NAME and US_DRIVER_LICENSE are "
        "not scored.",
        "- False positives: a finding of a scored type that matches no gold span of its type counts "
        "against precision even where it lies on a gold span of an unscored type (an ADDRESS finding on a "
        "lone city labelled GPE, a PERSON finding on an ORGANIZATION), because a redactor of that type "
        "would act on it. Findings of types that are not scored on a data set (POSTAL_CODE on a ZIP_CODE, "
        "SECRET, Presidio's DATE_TIME) are not counted either way; they are listed under each table.",
        "- Overlapping or touching findings of the same type are merged first (one redaction).",
        "- Token level, as presidio-research's evaluator: tokens are runs of word characters and single "
        "other non-space characters (in Japanese, which has no spaces, every non-space character except "
        "runs of ASCII letters and digits); a token is positive for a type when it overlaps a span of that "
        "type.",
        "- Span level: a finding matches a gold span of the same type when their character IoU ≥ "
        f"{IOU_THRESHOLD} (one-to-one, best first); exact additionally needs identical boundaries. F2 "
        "weighs recall 4× precision.",
        "- Japanese: the scored types are those present in the set's gold spans; Presidio has no Japanese "
        "recognizers and is not run on it.",
        "- Injection: test splits only (never tuned on); the attacks-only multilingual set gives recall "
        "only.",
        "- Latency excludes start-up; one warm-up pass first; the garbage collector runs between calls, "
        "not during them.",
    ]
