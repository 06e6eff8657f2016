"""The ``sekisho`` command line, run as a real subprocess the way an operator runs it."""

from __future__ import annotations

import subprocess
from pathlib import Path
from typing import Any

import anyio
import click
import orjson
import pytest
import yaml
from sqlalchemy import inspect

from sekisho.cli import main
from sekisho.store import create_db_engine, current_revision
from sekisho.store.tables import metadata
from tests.conftest import Gateway, cli_env, run_sekisho

CHAT = "/v1/chat/completions"


def readable_failure(result: subprocess.CompletedProcess[str], *fragments: str) -> None:
    """Failed with a message an operator can act on: non-zero exit, no traceback, the key words."""
    assert result.returncode != 0, result.stdout
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stderr.startswith("Error: "), result.stderr
    for fragment in fragments:
        assert fragment in result.stderr, result.stderr


# migrate ----------------------------------------------------------------------------------------------


def test_migrate_brings_a_fresh_database_to_head(database_url: str, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data", SEKISHO_DATABASE_URL=database_url)
    first = run_sekisho("migrate", env=env)
    assert first.returncode == 0, first.stderr
    engine = create_db_engine(database_url)
    try:
        head = current_revision(engine)
        assert head is not None
        assert set(metadata.tables) <= set(inspect(engine).get_table_names())
    finally:
        engine.dispose()
    assert first.stdout.strip() == f"database at revision {head} (was empty)"
    again = run_sekisho("migrate", env=env)
    assert again.returncode == 0, again.stderr
    assert again.stdout.strip() == f"database at revision {head} (was {head})"


def test_migrate_without_a_url_creates_the_sqlite_file_in_the_data_dir(tmp_path: Path) -> None:
    data_dir = tmp_path / "not" / "yet" / "there"
    result = run_sekisho("migrate", env=cli_env(data_dir))
    assert result.returncode == 0, result.stderr
    assert (data_dir / "sekisho.db").is_file()


# keys -------------------------------------------------------------------------------------------------


@pytest.mark.anyio
async def test_keys_create_list_and_revoke(gateway: Gateway, tmp_path: Path) -> None:
    env = cli_env(tmp_path / "cli-data", SEKISHO_DATABASE_URL=gateway.settings.database_url)

    async def sekisho(*args: str) -> subprocess.CompletedProcess[str]:
        return await anyio.to_thread.run_sync(lambda: run_sekisho(*args, env=env))

    async def chat(key: str, model: str = "gpt-4o-mini") -> int:
        response = await gateway.client.post(
            CHAT,
            headers=gateway.headers(key),
            json={"model": model, "messages": [{"role": "user", "content": "hi"}]},
        )
        return response.status_code

    created = await sekisho("keys", "create", "--name", "laptop")
    assert created.returncode == 0, created.stderr
    secret = created.stdout.strip()
    assert created.stdout == secret + "\n" and secret.startswith("sk-sks-")
    assert "only time it is shown" in created.stderr
    assert await chat(secret) == 200

    org = gateway.core.tenancy.ensure_default_org()
    research = gateway.core.tenancy.create_project(org.id, "research", "Research", actor="test")
    limited = await sekisho(
        "keys", "create", "--name", "ci", "--project", "research", "--models", "gpt-4o-mini"
    )
    assert limited.returncode == 0, limited.stderr
    limited_secret = limited.stdout.strip()
    assert await chat(limited_secret) == 200
    assert await chat(limited_secret, model="no-usage") == 403

    table = await sekisho("keys", "list")
    assert table.returncode == 0, table.stderr
    as_json = await sekisho("keys", "list", "--json")
    listed = {row["name"]: row for row in map(orjson.loads, as_json.stdout.splitlines())}
    for name, key in (("laptop", secret), ("ci", limited_secret)):
        assert key not in table.stdout and key not in as_json.stdout
        assert listed[name]["prefix"] == key[:15] and listed[name]["state"] == "active"
        assert f"{listed[name]['id']}  {key[:15]}…  active" in table.stdout
    assert listed["ci"]["project_id"] == research.id

    by_id = await sekisho("keys", "revoke", listed["laptop"]["id"])
    assert by_id.returncode == 0, by_id.stderr
    assert by_id.stdout.strip() == f"revoked {listed['laptop']['id']} ({secret[:15]}…)"
    by_prefix = await sekisho("keys", "revoke", limited_secret[:15])
    assert by_prefix.returncode == 0, by_prefix.stderr
    assert listed["ci"]["id"] in by_prefix.stdout
    # The fixture's app caches no keys, so the CLI's revocation applies to its next request.
    assert await chat(secret) == 401
    assert await chat(limited_secret) == 401
    states = {
        row["name"]: row["state"]
        for row in map(orjson.loads, (await sekisho("keys", "list", "--json")).stdout.splitlines())
    }
    assert states["laptop"] == states["ci"] == "revoked"
    assert await chat(gateway.key) == 200  # others are untouched

    readable_failure(await sekisho("keys", "revoke", "sk-sks-nothere"), "not found")
    readable_failure(
        await sekisho("keys", "create", "--name", "x", "--project", "nope"), "project 'nope' not found"
    )
    readable_failure(await sekisho("keys", "create", "--name", "x", "--org", "nope"), "organisation 'nope'")
    readable_failure(
        await sekisho("keys", "create", "--name", "x", "--user", "ghost@x.y"), "user 'ghost@x.y'"
    )


# Readable errors ----------------------------------------------------------------------------------


def _write(path: Path, text: str) -> str:
    path.write_text(text, encoding="utf-8")
    return str(path)


BAD_CONFIGS: dict[str, tuple[str | None, str]] = {
    "missing-file": (None, "config file not found"),
    "invalid-yaml": ("providers: [\n  - name: x\n    type: openai\n  base_url: {", "is not valid YAML"),
    "not-a-mapping": ("- just\n- a list\n", "must hold a mapping"),
    "unknown-provider": (
        yaml.safe_dump(
            {
                "providers": [{"name": "openai", "base_url": "http://127.0.0.1:9/v1"}],
                "models": [{"name": "gpt", "provider": "opneai"}],
            }
        ),
        "model 'gpt' names unknown provider 'opneai'",
    ),
    "unknown-setting": ("databse_url: sqlite:///x.db\n", "databse_url"),
}
# One command per way the CLI reads its settings: directly (serve, migrate) or through the core.
COMMANDS = [["serve"], ["migrate"], ["keys", "create", "--name", "x"], ["audit", "export"]]


@pytest.mark.parametrize("case", list(BAD_CONFIGS))
@pytest.mark.parametrize("command", COMMANDS, ids=" ".join)
def test_bad_configuration_is_a_readable_error(tmp_path: Path, case: str, command: list[str]) -> None:
    text, message = BAD_CONFIGS[case]
    path = str(tmp_path / "absent.yaml") if text is None else _write(tmp_path / "sekisho.yaml", text)
    env = cli_env(tmp_path / "data", SEKISHO_DATABASE_URL=f"sqlite:///{tmp_path / 'db.sqlite'}")
    readable_failure(run_sekisho(*command, "--config", path, env=env), message)


def test_config_named_by_the_environment_is_checked_too(tmp_path: Path) -> None:
    env = cli_env(tmp_path / "data", SEKISHO_CONFIG=str(tmp_path / "absent.yaml"))
    readable_failure(run_sekisho("migrate", env=env), "config file not found", "absent.yaml")


@pytest.mark.parametrize(
    ("url", "message"),
    [
        ("mysql://root:hunter2@127.0.0.1/sekisho", "unsupported database URL scheme 'mysql'"),
        ("not a database url", "cannot use the database (unparseable URL)"),
        (
            "sqlite:////nonexistent-dir-for-sekisho/sub/sekisho.db",
            "cannot use the database sqlite:////nonexistent-dir-for-sekisho/sub/sekisho.db",
        ),
        # Port 1 refuses connections at once; the password must not be echoed.
        (
            "postgresql://sekisho:hunter2@127.0.0.1:1/sekisho",
            "cannot use the database postgresql://sekisho:***@",
        ),
    ],
    ids=["unsupported-scheme", "unparseable", "sqlite-cannot-open", "postgres-unreachable"],
)
@pytest.mark.parametrize("command", [["serve"], ["migrate"], ["keys", "list"]], ids=" ".join)
def test_unusable_database_is_a_readable_error(
    tmp_path: Path, url: str, message: str, command: list[str]
) -> None:
    env = cli_env(tmp_path / "data", SEKISHO_DATABASE_URL=url)
    result = run_sekisho(*command, env=env)
    readable_failure(result, message)
    assert "hunter2" not in result.stderr + result.stdout


# --help -------------------------------------------------------------------------------------------------


def _commands(group: click.Group, path: tuple[str, ...] = ()) -> list[tuple[tuple[str, ...], Any]]:
    found: list[tuple[tuple[str, ...], Any]] = [(path, group)]
    for name, command in sorted(group.commands.items()):
        if isinstance(command, click.Group):
            found.extend(_commands(command, (*path, name)))
        else:
            found.append(((*path, name), command))
    return found


ALL_COMMANDS = _commands(main)


def test_every_documented_command_exists() -> None:
    names = {" ".join(path) for path, _ in ALL_COMMANDS}
    assert names >= {
        "",
        "serve",
        "migrate",
        "keys",
        "keys create",
        "keys list",
        "keys revoke",
        "audit",
        "audit verify",
        "audit export",
        "guard",
        "guard scan",
        "guard hash",
    }


@pytest.mark.parametrize(
    ("path", "command"), ALL_COMMANDS, ids=[" ".join(p) or "sekisho" for p, _ in ALL_COMMANDS]
)
def test_help_for_every_command(tmp_path: Path, path: tuple[str, ...], command: click.Command) -> None:
    result = run_sekisho(*path, "--help", env=cli_env(tmp_path))
    assert result.returncode == 0, result.stderr
    assert result.stdout.startswith(f"Usage: sekisho {' '.join(path)}".rstrip())
    summary = " ".join((command.help or "").splitlines()[0].split())
    assert summary and summary in " ".join(result.stdout.split())  # click re-wraps long lines
    for param in command.params:
        for option in getattr(param, "opts", []):
            if option.startswith("--"):
                assert option in result.stdout, option
