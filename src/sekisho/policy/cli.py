"""``sekisho policy …``: test a policy file offline, and save, list, diff and roll back stored versions."""

from __future__ import annotations

import asyncio
from pathlib import Path
from typing import Any

import click
import orjson

from sekisho.policy.compile import Layer, compile_layers
from sekisho.policy.document import PolicyDocument, PolicyError, parse_policy
from sekisho.policy.evaluate import PolicyEvaluator
from sekisho.policy.testing import Example, TestResult, run_tests


def read_policy(path: Path) -> tuple[str, PolicyDocument]:
    """The file's source and document; a readable ClickException when it is not a valid policy."""
    try:
        source = path.read_text(encoding="utf-8")
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    try:
        return source, parse_policy(source)
    except PolicyError as exc:
        raise click.ClickException(f"{path} is not a valid policy: {exc}") from None


def read_prompts(path: Path) -> list[Example]:
    """Prompts from a file: JSON Lines ({"text", "expect"?}) or one prompt per line."""
    examples: list[Example] = []
    try:
        lines = path.read_text(encoding="utf-8").splitlines()
    except OSError as exc:
        raise click.ClickException(f"cannot read {path}: {exc.strerror}") from None
    for number, line in enumerate(lines, 1):
        if not line.strip() or line.lstrip().startswith("#"):
            continue
        if line.lstrip().startswith("{"):
            try:
                row = orjson.loads(line)
                examples.append(
                    (str(row["text"]), row.get("expect") or row.get("decision"), row.get("rule_id"))
                )
            except (orjson.JSONDecodeError, KeyError, TypeError):
                raise click.ClickException(f"{path}:{number}: expected a JSON object with 'text'") from None
        else:
            examples.append((line.strip(), None, None))
    return examples


def test_command(path: Path, prompts: list[str], prompts_file: Path | None, as_json: bool) -> bool:
    """Run the file's own tests and the given prompts; print a table or JSON. True when all pass."""
    source, document = read_policy(path)
    policy = compile_layers([Layer(document, "file", source)])
    local = None
    if policy.classifier.local:
        from sekisho.policy.local import load_local_classifier

        local = load_local_classifier()
    if policy.classifier.llm is not None:
        click.echo(
            f"note: the LLM classifier ({policy.classifier.llm.model}) runs in the gateway only; "
            "here the rules and the offline classifier decide.",
            err=True,
        )
    examples: list[Example] = [(t.text, t.expect, t.rule_id) for t in document.tests]
    examples += [(p, None, None) for p in prompts]
    if prompts_file is not None:
        examples += read_prompts(prompts_file)
    if not examples:
        raise click.ClickException(
            f"{path} has no 'tests' and no prompts were given (use --prompt TEXT or --prompts FILE)"
        )
    results = asyncio.run(run_tests(PolicyEvaluator(local), policy, examples))
    if as_json:
        click.echo(orjson.dumps([_as_dict(r) for r in results], option=orjson.OPT_INDENT_2).decode())
    else:
        _table(results)
    return all(r.passed is not False for r in results)


def _as_dict(result: TestResult) -> dict[str, Any]:
    return {k: getattr(result, k) for k in TestResult.__dataclass_fields__}


def _table(results: list[TestResult]) -> None:
    click.echo(f"{'':2} {'decision':8} {'expected':8} {'rule':34} {'conf':>5}  text")
    for r in results:
        mark = {True: "ok", False: "XX", None: "--"}[r.passed]
        text = r.text.replace("\n", " ")
        text = text if len(text) <= 60 else text[:57] + "..."
        click.echo(
            f"{mark:2} {r.decision:8} {r.expected or '':8} {r.rule_id or '-':34} {r.confidence:5.2f}  {text}"
        )
    failed = sum(1 for r in results if r.passed is False)
    checked = sum(1 for r in results if r.passed is not None)
    click.echo(f"\n{checked - failed}/{checked} expectations met; {len(results)} prompts evaluated.")
