"""``sekisho transparency report`` (the click group, run in-process with CliRunner)."""

from __future__ import annotations

from pathlib import Path

import orjson
from click.testing import CliRunner

from sekisho.core import build_core
from sekisho.enforcement import Enforcement
from sekisho.enforcement.cli import transparency
from sekisho.settings import load_settings


def test_report_as_table_and_json_with_readable_errors(tmp_path: Path) -> None:
    env = {"SEKISHO_DATA_DIR": str(tmp_path), "SEKISHO_LOG_LEVEL": "WARNING"}
    core = build_core(load_settings(None, environ=env))
    org = core.tenancy.ensure_default_org()
    user = core.tenancy.create_user(org.id, "u@example.test", "U", "member", actor="t")
    key, _ = core.tenancy.create_key(core.tenancy.get_project("default", org.id), user, "k", actor="t")
    enforcement = Enforcement(core.engine, core.audit)
    for category in ("impersonation_fraud", "impersonation_fraud", "election_interference"):
        enforcement.record_violation(
            org_id=org.id,
            project_id=None,
            user_id=user.id,
            key_id=key.id,
            category=category,
            rule_id=None,
            request_id=None,
        )
    core.engine.dispose()
    runner = CliRunner()

    table = runner.invoke(transparency, ["report", "--org", "default"], env=env)
    assert table.exit_code == 0, table.output
    lines = table.output.splitlines()
    assert lines[0] == "Transparency report — default"
    assert "Violations (3)" in lines and "  impersonation_fraud    2" in lines
    assert any(line.split() == ["warn", "1", "1", "0", "0"] for line in lines)
    assert any(line.split() == ["require_review", "1", "1", "0", "0"] for line in lines)

    as_json = runner.invoke(transparency, ["report", "--format", "json"], env=env)
    assert as_json.exit_code == 0, as_json.output
    data = orjson.loads(as_json.output)
    assert data["org_id"] is None and data["violations"]["by_category"]["election_interference"] == 1
    assert data["appeals"]["by_outcome"] == {"open": 0, "upheld": 0, "overturned": 0}

    past = runner.invoke(transparency, ["report", "--since", "2020-01-01", "--until", "2020-01-31"], env=env)
    assert past.exit_code == 0 and "Violations (0)" in past.output and "(none)" in past.output

    missing = runner.invoke(transparency, ["report", "--org", "nope"], env=env)
    assert missing.exit_code == 1 and "organisation 'nope' not found" in missing.output
    backwards = runner.invoke(
        transparency, ["report", "--since", "2020-02-01", "--until", "2020-01-01"], env=env
    )
    assert backwards.exit_code == 2 and "--until must be after --since" in backwards.output
    bad_db = runner.invoke(
        transparency, ["report"], env={**env, "SEKISHO_DATABASE_URL": "mysql://x@localhost/db"}
    )
    assert bad_db.exit_code == 1 and "Error:" in bad_db.output and "Traceback" not in bad_db.output
