"""What ``sekisho guard scan`` and ``sekisho guard hash`` do, kept apart from click's wiring."""

from __future__ import annotations

import asyncio
import hashlib
from pathlib import Path

import click
import orjson

from sekisho.guardrails.base import ScanContext
from sekisho.guardrails.config import GuardrailSettings
from sekisho.guardrails.engine import GuardrailEngine, Segment
from sekisho.guardrails.hash_match import image_pdq, pdq_hex
from sekisho.guardrails.registry import UnknownGuardrail


def scan_command(
    settings: GuardrailSettings,
    text: str,
    only: list[str] | None,
    org: str | None,
    project: str | None,
    as_json: bool,
) -> int:
    """Scan ``text`` and print the findings; 1 when the verdict stops the text, else 0."""
    try:
        engine = GuardrailEngine.from_settings(settings)
    except UnknownGuardrail as exc:
        raise click.ClickException(str(exc)) from None
    if only is not None:
        known = set(engine.names) | engine.types
        unknown = [n for n in only if n not in known]
        if unknown:
            raise click.ClickException(f"unknown guardrail {unknown[0]!r}; known: {', '.join(sorted(known))}")
    rules = engine.rules(org, project)
    report = asyncio.run(
        engine.scan([Segment("text", text)], ScanContext(org=org, project=project), rules, only=only)
    )
    rows = [
        {**loc.finding.as_dict(), "action": rules.action(loc.finding.type, "input")} for loc in report.located
    ]
    if as_json:
        answer = {"verdict": report.decision, "findings": rows, "failed": report.failures}
        click.echo(orjson.dumps(answer).decode())
    else:
        _table(text, rows)
        click.echo(f"verdict: {report.decision}")
        if report.failures:
            click.echo(f"failed checks: {', '.join(report.failures)}", err=True)
    return 1 if report.decision in ("block", "review") else 0


def _table(text: str, rows: list[dict[str, object]]) -> None:
    if not rows:
        click.echo("no findings")
        return
    header = ("TYPE", "ACTION", "START", "END", "SCORE", "DETECTOR", "TEXT")
    lines = [header]
    for row in rows:
        start, end = int(str(row["start"])), int(str(row["end"]))
        excerpt = text[start:end].replace("\n", " ")
        excerpt = excerpt if len(excerpt) <= 40 else excerpt[:39] + "…"
        lines.append(
            (
                str(row["type"]),
                str(row["action"]),
                str(start),
                str(end),
                f"{float(str(row['score'])):.2f}",
                str(row["detector"]),
                excerpt,
            )
        )
    widths = [max(len(line[i]) for line in lines) for i in range(len(header) - 1)]
    for line in lines:
        click.echo("  ".join(cell.ljust(w) for cell, w in zip(line, widths, strict=False)) + "  " + line[-1])


def hash_command(files: list[Path]) -> list[str]:
    """Lines of ``sha256 <hex>  <file>`` and, for images, ``pdq <hex>  <file>``."""
    out = []
    for path in files:
        data = path.read_bytes()
        out.append(f"sha256 {hashlib.sha256(data).hexdigest()}  {path}")
        bits = image_pdq(data)
        if bits is not None:
            out.append(f"pdq {pdq_hex(bits)}  {path}")
    return out
