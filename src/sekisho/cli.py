"""The ``sekisho`` command."""

from __future__ import annotations

import logging
import os
import sys
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any, TypeVar

import click
import orjson

from sekisho.settings import ConfigError, Settings, load_settings

T = TypeVar("T")


def _settings(config: str | None) -> Settings:
    try:
        return load_settings(config)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


def _core(config: str | None) -> Any:
    settings = _settings(config)
    # Imported after the settings are read: a configuration mistake is reported without first
    # loading the web stack (seconds on a small machine).
    from sekisho.core import build_core

    try:
        with _database_errors(settings.resolved_database_url):
            return build_core(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None


@contextmanager
def _database_errors(url: str) -> Iterator[None]:
    """A database that cannot be used is the operator's to fix: say so in one line, not a traceback."""
    from sqlalchemy.exc import SQLAlchemyError

    try:
        yield
    except SQLAlchemyError as exc:
        # ``orig`` is the driver's own message (e.g. "unable to open database file"), without the SQL.
        reason = getattr(exc, "orig", None) or exc
        raise click.ClickException(f"cannot use the database {_redact(url)}: {reason}") from None
    except ValueError as exc:  # an unsupported URL scheme (see store.engine.normalise_url)
        raise click.ClickException(str(exc)) from None


def _friendly(fn: Callable[[], T]) -> T:
    from sekisho.identity import Conflict, NotFound

    try:
        return fn()
    except (NotFound, Conflict, ValueError) as exc:
        raise click.ClickException(str(exc)) from None


config_option = click.option(
    "--config", "config", envvar="SEKISHO_CONFIG", type=click.Path(dir_okay=False), help="YAML settings file."
)


@click.group()
@click.version_option(package_name="sekisho")
def main() -> None:
    """Sekisho (関所): the governed checkpoint for every AI call."""
    logging.basicConfig(
        level=os.environ.get("SEKISHO_LOG_LEVEL", "INFO"),
        format="%(asctime)s %(levelname)s %(name)s: %(message)s",
    )
    # Alembic narrates every plugin it loads at INFO; operators only need to hear about failures.
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # httpx logs every upstream request at INFO: noise on the hot path, and URLs can carry secrets.
    logging.getLogger("httpx").setLevel(logging.WARNING)


@main.command()
@config_option
@click.option("--host", default="127.0.0.1", show_default=True)
@click.option("--port", default=8000, show_default=True, type=int)
@click.option("--workers", default=1, show_default=True, type=int, help="Worker processes.")
@click.option(
    "--log-format",
    type=click.Choice(["auto", "json", "text"]),
    envvar="SEKISHO_LOG_FORMAT",
    help="JSON lines or text; auto: text on a terminal, JSON otherwise. [default: observability.log_format]",
)
@click.option(
    "--log-level",
    type=click.Choice(["DEBUG", "INFO", "WARNING", "ERROR"], case_sensitive=False),
    envvar="SEKISHO_LOG_LEVEL",
    default="INFO",
    show_default=True,
)
def serve(
    config: str | None, host: str, port: int, workers: int, log_format: str | None, log_level: str
) -> None:
    """Run the gateway, the admin API and health checks."""
    import uvicorn

    from sekisho.observability.logs import configure_logging, resolve_format, secret_values

    settings = _settings(config)
    log_format = resolve_format(log_format or settings.observability.log_format, sys.stderr)
    configure_logging(log_format, log_level.upper(), secrets=secret_values(settings))
    options: dict[str, Any] = {
        "host": host,
        "port": port,
        "access_log": False,
        "log_level": "warning",
        "loop": "uvloop",
        "http": "httptools",
        # Sekisho reads X-Forwarded-For itself, and only from network.trusted_proxies.
        "proxy_headers": False,
        "timeout_graceful_shutdown": 10,
        # uvicorn's own lines go through the handler configured above (JSON or text, request ids).
        "log_config": None,
    }
    from sekisho.network.tls import uvicorn_tls_options

    try:
        # HTTPS, and client certificates exposed to the app, when network.tls is set.
        options.update(uvicorn_tls_options(settings.network, http=options["http"]))
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    scheme = "https" if settings.network.tls else "http"
    models = ", ".join(m.name for m in settings.models)
    database = _redact(settings.resolved_database_url)
    click.echo(f"Sekisho on {scheme}://{host}:{port}  database: {database}  models: {models}")
    if workers > 1:
        if config:
            os.environ["SEKISHO_CONFIG"] = str(Path(config).resolve())
        from sekisho.observability.metrics import reset_multiprocess_dir

        # The workers configure their own logging (see app_from_environment) the same way.
        os.environ["SEKISHO_LOG_FORMAT"], os.environ["SEKISHO_LOG_LEVEL"] = log_format, log_level.upper()
        reset_multiprocess_dir()
        uvicorn.run("sekisho.app:app_from_environment", factory=True, workers=workers, **options)
        return
    from sekisho.app import build_app

    try:
        with _database_errors(settings.resolved_database_url):
            app = build_app(settings)
    except ConfigError as exc:
        raise click.ClickException(str(exc)) from None
    uvicorn.run(app, **options)


@main.command()
@config_option
def migrate(config: str | None) -> None:
    """Bring the database schema up to date."""
    from sekisho.store import create_db_engine, current_revision, upgrade

    settings = _settings(config)
    if not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    with _database_errors(settings.resolved_database_url):
        engine = create_db_engine(settings.resolved_database_url)
        before = current_revision(engine)
        upgrade(engine)
        after = current_revision(engine)
    click.echo(f"database at revision {after} (was {before or 'empty'})")


@main.group()
def keys() -> None:
    """Create, list and revoke API keys."""


@keys.command("create")
@config_option
@click.option("--org", default="default", show_default=True, help="Organisation slug or id.")
@click.option("--project", default="default", show_default=True, help="Project slug or id.")
@click.option("--name", required=True, help="What the key is for.")
@click.option("--user", "user_ref", help="Owner (e-mail or id); default: the service account.")
@click.option("--models", help="Comma-separated model allow-list.")
@click.option("--expires-days", type=click.IntRange(min=1), help="Expire after this many days.")
def keys_create(
    config: str | None,
    org: str,
    project: str,
    name: str,
    user_ref: str | None,
    models: str | None,
    expires_days: int | None,
) -> None:
    """Create a key and print it once."""
    from sekisho.clock import utcnow

    core = _core(config)
    tenancy = core.tenancy
    organisation = (
        tenancy.ensure_default_org() if org == "default" else _friendly(lambda: tenancy.get_org(org))
    )
    proj = _friendly(lambda: tenancy.get_project(project, organisation.id))
    owner = (
        _friendly(lambda: tenancy.get_user(user_ref, organisation.id))
        if user_ref
        else tenancy.service_account_for(organisation.id, actor="cli")
    )
    allow = [m.strip() for m in models.split(",") if m.strip()] if models else None
    expires = utcnow() + timedelta(days=expires_days) if expires_days else None
    key, secret = _friendly(
        lambda: tenancy.create_key(proj, owner, name, actor="cli", models=allow, expires_at=expires)
    )
    click.echo(secret)
    click.echo(
        f"created {key.id} ({key.prefix}…) for project {proj.slug}; this is the only time it is shown",
        err=True,
    )


@keys.command("list")
@config_option
@click.option("--org", default="default", show_default=True)
@click.option("--json", "as_json", is_flag=True, help="JSON lines instead of a table.")
def keys_list(config: str | None, org: str, as_json: bool) -> None:
    """List keys (prefixes only; secrets are never stored)."""
    core = _core(config)
    organisation = (
        _friendly(lambda: core.tenancy.get_org(org))
        if org != "default"
        else core.tenancy.ensure_default_org()
    )
    for key in core.tenancy.list_keys(organisation.id):
        state = (
            "revoked"
            if key.revoked_at
            else ("expired" if not key.is_usable(datetime.now(key.created_at.tzinfo)) else "active")
        )
        if as_json:
            click.echo(
                orjson.dumps(
                    {
                        "id": key.id,
                        "prefix": key.prefix,
                        "name": key.name,
                        "project_id": key.project_id,
                        "state": state,
                    }
                ).decode()
            )
        else:
            click.echo(f"{key.id}  {key.prefix}…  {state:8}  {key.project_id}  {key.name}")


@keys.command("revoke")
@config_option
@click.argument("key")
def keys_revoke(config: str | None, key: str) -> None:
    """Revoke KEY (its id or visible prefix)."""
    core = _core(config)
    revoked = _friendly(lambda: core.tenancy.revoke_key(key, actor="cli"))
    click.echo(f"revoked {revoked.id} ({revoked.prefix}…)")


@main.group()
def audit() -> None:
    """Verify and export the audit log."""


@audit.command("verify")
@config_option
def audit_verify(config: str | None) -> None:
    """Check the hash chain; exits 1 and names the first bad record if anything was altered."""
    result = _core(config).audit.verify()
    if result.ok:
        click.echo(f"ok: {result.records} records, head {result.head_hash}")
        return
    click.echo(
        f"BROKEN at record {result.first_bad_seq}: {result.reason} "
        f"({result.records} records verified before it)",
        err=True,
    )
    sys.exit(1)


@audit.command("export")
@config_option
@click.option(
    "--since",
    type=click.DateTime(formats=["%Y-%m-%d", "%Y-%m-%dT%H:%M:%S"]),
    help="Only records at or after this UTC time.",
)
@click.option("--output", "-o", type=click.File("wb"), default="-", help="File to write (default: stdout).")
def audit_export(config: str | None, since: datetime | None, output: Any) -> None:
    """Write records as JSON lines, with their hashes, in chain order."""
    from datetime import UTC

    start = since.replace(tzinfo=UTC) if since else None
    for record in _core(config).audit.export(start):
        output.write(orjson.dumps(record) + b"\n")


def _redact(url: str) -> str:
    from sqlalchemy.engine import make_url
    from sqlalchemy.exc import ArgumentError

    try:
        return make_url(url).render_as_string(hide_password=True)
    except ArgumentError:
        # Never echo a URL that cannot be parsed: its password cannot be found to hide it.
        return "(unparseable URL)"


@main.group()
def guard() -> None:
    """Guardrails from the command line: scan text, hash files for hash lists."""


@guard.command("scan")
@config_option
@click.argument("text", required=False)
@click.option(
    "--file", "path", type=click.Path(exists=True, dir_okay=False, path_type=Path), help="Scan a file."
)
@click.option("--guardrails", "only", help="Comma-separated detector names or finding types (default: all).")
@click.option("--org", help="Apply this organisation's overrides (slug).")
@click.option("--project", help="Apply this project's overrides (slug; needs --org).")
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def guard_scan(
    config: str | None,
    text: str | None,
    path: Path | None,
    only: str | None,
    org: str | None,
    project: str | None,
    as_json: bool,
) -> None:
    """Scan TEXT, a --file, or standard input; exit status 1 when the verdict is block or review."""
    from sekisho.guardrails.cli import scan_command

    settings = _settings(config)
    if text is not None and path is not None:
        raise click.UsageError("give TEXT or --file, not both")
    if path is not None:
        try:
            text = path.read_text(encoding="utf-8")
        except UnicodeDecodeError:
            raise click.ClickException(f"{path} is not UTF-8 text") from None
    elif text is None:
        text = sys.stdin.read()
    names = [n.strip() for n in only.split(",") if n.strip()] if only else None
    code = _friendly(lambda: scan_command(settings.guardrails, text, names, org, project, as_json))
    sys.exit(code)


@guard.command("hash")
@click.argument(
    "files", nargs=-1, required=True, type=click.Path(exists=True, dir_okay=False, path_type=Path)
)
def guard_hash(files: tuple[Path, ...]) -> None:
    """Print SHA-256 and, for images, the PDQ hash of FILES (the lines a hash list file holds)."""
    from sekisho.guardrails.cli import hash_command

    for line in hash_command(list(files)):
        click.echo(line)


def _register_transparency() -> None:
    from sekisho.enforcement.cli import transparency

    main.add_command(transparency)


_register_transparency()


@main.group()
def policy() -> None:
    """Usage policy as code: test a policy file; save, list, diff and roll back stored versions."""


@policy.command("test")
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--prompt", "prompts", multiple=True, help="A prompt to evaluate (repeatable).")
@click.option(
    "--prompts",
    "prompts_file",
    type=click.Path(exists=True, dir_okay=False, path_type=Path),
    help="A file of prompts: one per line, or JSON Lines with text and expect.",
)
@click.option("--json", "as_json", is_flag=True, help="JSON instead of a table.")
def policy_test(file: Path, prompts: tuple[str, ...], prompts_file: Path | None, as_json: bool) -> None:
    """Run FILE's own tests and the given prompts offline; exit status 1 when an expectation fails."""
    from sekisho.policy.cli import test_command

    sys.exit(0 if test_command(file, list(prompts), prompts_file, as_json) else 1)


def _policy_scope(core: Any, org: str, project: str | None) -> tuple[str, str | None]:
    if org == "default":
        core.tenancy.ensure_default_org()  # created at first start; the CLI may come first
    org_row = _friendly(lambda: core.tenancy.get_org(org))
    project_id = _friendly(lambda: core.tenancy.get_project(project, org_row.id).id) if project else None
    return org_row.id, project_id


scope_options = [
    click.option("--org", default="default", show_default=True, help="Organisation slug."),
    click.option("--project", help="Project slug (default: the organisation's own policy)."),
]


def _scoped(fn: Callable[..., Any]) -> Callable[..., Any]:
    for option in reversed(scope_options):
        fn = option(fn)
    return config_option(fn)


@policy.command("save")
@_scoped
@click.argument("file", type=click.Path(dir_okay=False, path_type=Path))
@click.option("--comment", help="Why this version (kept in the history).")
def policy_save(config: str | None, org: str, project: str | None, file: Path, comment: str | None) -> None:
    """Validate FILE and store it as the newest version."""
    from sekisho.policy.cli import read_policy
    from sekisho.policy.store import PolicyStore

    source, _document = read_policy(file)
    core = _core(config)
    org_id, project_id = _policy_scope(core, org, project)
    store = PolicyStore(core.engine, core.audit)
    version = _friendly(lambda: store.save(org_id, project_id, source, author="cli", comment=comment))
    click.echo(f"saved version {version.version} ({version.sha256[:12]})")


@policy.command("history")
@_scoped
def policy_history(config: str | None, org: str, project: str | None) -> None:
    """List stored versions, newest first."""
    from sekisho.policy.store import PolicyStore

    core = _core(config)
    org_id, project_id = _policy_scope(core, org, project)
    for v in PolicyStore(core.engine, core.audit).history(org_id, project_id):
        click.echo(f"{v.version:>4}  {v.created_at:%Y-%m-%d %H:%M}  {v.author:30}  {v.comment or ''}")


@policy.command("diff")
@_scoped
@click.argument("old", type=int)
@click.argument("new", type=int)
def policy_diff(config: str | None, org: str, project: str | None, old: int, new: int) -> None:
    """Show what changed from version OLD to version NEW."""
    from sekisho.policy.store import PolicyStore

    core = _core(config)
    org_id, project_id = _policy_scope(core, org, project)
    store = PolicyStore(core.engine, core.audit)
    click.echo(_friendly(lambda: store.diff(org_id, project_id, old, new)), nl=False)


@policy.command("rollback")
@_scoped
@click.argument("version", type=int)
def policy_rollback(config: str | None, org: str, project: str | None, version: int) -> None:
    """Save VERSION's document again as the newest version."""
    from sekisho.policy.store import PolicyStore

    core = _core(config)
    org_id, project_id = _policy_scope(core, org, project)
    store = PolicyStore(core.engine, core.audit)
    saved = _friendly(lambda: store.rollback(org_id, project_id, version, author="cli"))
    click.echo(f"saved version {saved.version} (a copy of version {version})")
