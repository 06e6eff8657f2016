"""``sekisho transparency report``: the transparency report on the command line.

The lead registers the group: ``main.add_command(transparency)`` in ``sekisho/cli.py``.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any

import click
import orjson

_FORMATS = ["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S", "%Y-%m-%d %H:%M:%S"]


@click.group()
def transparency() -> None:
    """What enforcement did: violations, actions, appeals and reviews, in counts."""


@transparency.command("report")
@click.option(
    "--config", "config", envvar="SEKISHO_CONFIG", type=click.Path(dir_okay=False), help="YAML settings file."
)
@click.option(
    "--since", type=click.DateTime(formats=_FORMATS), help="Start (UTC), default: 30 days before --until."
)
@click.option("--until", type=click.DateTime(formats=_FORMATS), help="End (UTC, exclusive), default: now.")
@click.option("--org", help="Organisation slug or id (default: every organisation).")
@click.option("--format", "fmt", type=click.Choice(["table", "json"]), default="table", show_default=True)
def report(
    config: str | None, since: datetime | None, until: datetime | None, org: str | None, fmt: str
) -> None:
    """Counts by violation category, action, appeal outcome and review status for a period."""
    from sqlalchemy.exc import SQLAlchemyError

    from sekisho.core import build_core
    from sekisho.enforcement.transparency import transparency_report
    from sekisho.identity.store import NotFound
    from sekisho.settings import ConfigError, load_settings

    end = until.replace(tzinfo=UTC) if until else datetime.now(UTC)
    start = since.replace(tzinfo=UTC) if since else end - timedelta(days=30)
    if end <= start:
        raise click.BadParameter("--until must be after --since", param_hint="--until")
    try:
        core = build_core(load_settings(config))
    except (ConfigError, ValueError) as exc:  # ValueError: an unsupported database URL scheme
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot use the database: {getattr(exc, 'orig', None) or exc}") from None
    try:
        org_id = core.tenancy.get_org(org).id if org else None
        data = transparency_report(core.engine, start, end, org_id)
    except NotFound as exc:
        raise click.ClickException(str(exc)) from None
    except SQLAlchemyError as exc:
        raise click.ClickException(f"cannot read the report: {getattr(exc, 'orig', None) or exc}") from None
    finally:
        core.engine.dispose()
    if fmt == "json":
        click.echo(orjson.dumps(data, option=orjson.OPT_INDENT_2).decode())
        return
    click.echo(render_table(data, org or "all organisations"))


def render_table(data: dict[str, Any], org: str) -> str:
    """The report as aligned plain-text tables."""
    lines = [f"Transparency report — {org}", f"{data['since']} → {data['until']}", ""]

    def table(title: str, rows: list[tuple[str, ...]], header: tuple[str, ...]) -> None:
        widths = [max(len(str(c)) for c in col) for col in zip(header, *rows, strict=False)]
        lines.append(title)
        for row in [header, *rows]:
            lines.append("  " + "  ".join(str(c).ljust(w) for c, w in zip(row, widths, strict=True)).rstrip())
        if not rows:
            lines.append("  (none)")
        lines.append("")

    violations = data["violations"]
    table(
        f"Violations ({violations['total']})",
        [(c, str(n)) for c, n in violations["by_category"].items()],
        ("category", "count"),
    )
    actions = data["actions"]
    table(
        f"Actions ({actions['total']})",
        [
            (a, str(e["total"]), str(e["automatic"]), str(e["manual"]), str(e["lifted"]))
            for a, e in sorted(actions["by_action"].items())
        ],
        ("action", "total", "automatic", "manual", "lifted"),
    )
    appeals = data["appeals"]
    table(
        f"Appeals ({appeals['total']})",
        [(s, str(n)) for s, n in appeals["by_outcome"].items()],
        ("outcome", "count"),
    )
    review = data["review_queue"]
    if review is not None:
        table(
            "Review queue by status",
            [(s, str(n)) for s, n in sorted(review["by_status"].items())],
            ("status", "count"),
        )
        table(
            "Review queue by category",
            [(c, str(n)) for c, n in sorted(review["by_category"].items())],
            ("category", "count"),
        )
    return "\n".join(lines).rstrip() + "\n"
