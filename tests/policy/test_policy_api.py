"""Stored policy versions through the admin API, ``/v1/policy/evaluate``, and the CLI — on SQLite and
PostgreSQL, with tenant isolation."""

from __future__ import annotations

from pathlib import Path

import pytest

from tests.conftest import MASTER_KEY, Gateway, cli_env, run_sekisho

pytestmark = pytest.mark.anyio

ORG_POLICY = """name: acme
rules:
  - id: ACME.PHOENIX
    decision: block
    match: {any: ["Project Phoenix", "フェニックス計画"]}
    rationale: {en: Project Phoenix is confidential., ja: フェニックス計画は機密です。}
classifier: {local: false}
"""


def _admin_key(gw: Gateway, role: str = "admin", email: str = "admin@example.com") -> str:
    tenancy = gw.core.tenancy
    org = tenancy.ensure_default_org()
    user = tenancy.create_user(org.id, email, role, role, actor="test")
    return str(tenancy.create_key(tenancy.get_project("default", org.id), user, role, actor="test")[1])


async def test_versions_diff_rollback_and_evaluate(gateway: Gateway) -> None:
    gw = gateway
    admin = gw.headers(_admin_key(gw))
    saved = await gw.client.post(
        "/admin/v1/policies", headers=admin, json={"source": ORG_POLICY, "comment": "v1"}
    )
    assert saved.status_code == 201, saved.text
    assert saved.json()["version"] == 1
    evaluate = await gw.client.post(
        "/v1/policy/evaluate", headers=gw.headers(), json={"text": "Status of project phoenix?"}
    )
    assert evaluate.status_code == 200
    verdict = evaluate.json()
    assert verdict["decision"] == "block" and verdict["rule_id"] == "ACME.PHOENIX"
    assert verdict["rationale"] == "Project Phoenix is confidential." and verdict["policy_version"].endswith(
        "org:1"
    )
    ja = await gw.client.post(
        "/v1/policy/evaluate", headers=gw.headers(), json={"text": "フェニックス計画の状況は？"}
    )
    assert ja.json()["rationale"] == "フェニックス計画は機密です。"

    second = ORG_POLICY.replace("decision: block", "decision: review")
    assert (await gw.client.post("/admin/v1/policies", headers=admin, json={"source": second})).json()[
        "version"
    ] == 2
    again = await gw.client.post(
        "/v1/policy/evaluate", headers=gw.headers(), json={"text": "project phoenix"}
    )
    assert again.json()["decision"] == "review"  # a save here takes effect at once
    diff = (await gw.client.get("/admin/v1/policies/diff?from=1&to=2", headers=admin)).json()["diff"]
    assert "-    decision: block" in diff and "+    decision: review" in diff
    rolled = await gw.client.post("/admin/v1/policies/rollback", headers=admin, json={"version": 1})
    assert rolled.json()["version"] == 3 and rolled.json()["comment"] == "rollback to version 1"
    history = (await gw.client.get("/admin/v1/policies", headers=admin)).json()["data"]
    assert [v["version"] for v in history] == [3, 2, 1] and "source" not in history[0]
    assert all(v["author"].startswith("user:") for v in history)
    gw.flush()
    saves = [r for r in gw.core.audit.export() if r["kind"] == "policy.saved"]
    assert [r["data"]["version"] for r in saves] == [1, 2, 3]


async def test_invalid_policies_are_refused_and_nothing_is_saved(gateway: Gateway) -> None:
    gw = gateway
    admin = gw.headers(_admin_key(gw))
    bad = await gw.client.post(
        "/admin/v1/policies", headers=admin, json={"source": "name: x\nrules: [{id: A}]"}
    )
    assert bad.status_code == 400
    error = bad.json()["error"]
    assert error["code"] == "invalid_policy" and "rules.0.decision" in error["message"]
    assert (await gw.client.get("/admin/v1/policies", headers=admin)).json()["data"] == []
    empty = await gw.client.post("/v1/policy/evaluate", headers=gw.headers(), json={"txt": "x"})
    assert empty.status_code == 400 and empty.json()["error"]["param"]


async def test_project_policies_and_tenant_isolation(gateway: Gateway) -> None:
    gw = gateway
    tenancy = gw.core.tenancy
    admin = gw.headers(_admin_key(gw))
    org = tenancy.ensure_default_org()
    lab = tenancy.create_project(org.id, "lab", "Lab", actor="test")
    await gw.client.post("/admin/v1/policies", headers=admin, json={"source": ORG_POLICY})
    project_policy = "name: lab\nrules:\n  - {id: ACME.PHOENIX, decision: allow, match: {any: [phoenix]}}"
    saved = await gw.client.post(
        "/admin/v1/policies", headers=admin, json={"source": project_policy, "project_id": lab.id}
    )
    assert saved.status_code == 201
    lab_key = gw.headers(gw.new_key(project=lab))
    in_lab = await gw.client.post("/v1/policy/evaluate", headers=lab_key, json={"text": "project phoenix"})
    assert in_lab.json()["decision"] == "allow"
    in_default = await gw.client.post(
        "/v1/policy/evaluate", headers=gw.headers(), json={"text": "project phoenix"}
    )
    assert in_default.json()["decision"] == "block"
    effective = (
        await gw.client.get(f"/admin/v1/policies/effective?project_id={lab.id}", headers=admin)
    ).json()
    assert effective["version"].endswith("org:1+project:1")

    other = tenancy.create_org("other", "Other", actor="test")
    other_admin = tenancy.create_user(other.id, "a@other.example", "A", "admin", actor="test")
    other_key = gw.headers(
        str(tenancy.create_key(tenancy.get_project("default", other.id), other_admin, "k", actor="test")[1])
    )
    assert (await gw.client.get("/admin/v1/policies", headers=other_key)).json()["data"] == []
    assert (await gw.client.get("/admin/v1/policies/versions/1", headers=other_key)).status_code == 404
    sneaky = await gw.client.post(
        "/admin/v1/policies", headers=other_key, json={"source": project_policy, "project_id": lab.id}
    )
    assert sneaky.status_code == 404  # another organisation's project does not exist for them
    across = await gw.client.post(
        "/v1/policy/evaluate", headers=gw.headers(), json={"text": "x", "org_id": other.id}
    )
    assert across.status_code == 404
    member = gw.headers(_admin_key(gw, role="member", email="m@example.com"))
    assert (
        await gw.client.post("/admin/v1/policies", headers=member, json={"source": ORG_POLICY})
    ).status_code == 403
    master = await gw.client.post(
        "/v1/policy/evaluate",
        headers=gw.headers(MASTER_KEY),
        json={"text": "Project Phoenix", "org_id": org.id},
    )
    assert master.json()["decision"] == "block"


async def test_draft_policies_run_their_own_tests_through_the_api(gateway: Gateway) -> None:
    gw = gateway
    admin = gw.headers(_admin_key(gw))
    draft = (
        ORG_POLICY
        + "tests:\n  - {text: 'Project Phoenix update', expect: block}\n  - {text: 'hello', expect: block}\n"
    )
    result = await gw.client.post(
        "/admin/v1/policies/test", headers=admin, json={"source": draft, "prompts": ["hi"]}
    )
    rows = result.json()["results"]
    assert [(r["decision"], r["passed"]) for r in rows] == [
        ("block", True),
        ("allow", False),
        ("allow", None),
    ]


def test_policy_test_cli_prints_decisions_and_fails_on_unmet_expectations(tmp_path: Path) -> None:
    path = tmp_path / "policy.yaml"
    path.write_text(
        ORG_POLICY + "tests:\n  - {text: 'What is Project Phoenix?', expect: block, rule_id: ACME.PHOENIX}\n"
    )
    env = cli_env(tmp_path)
    ok = run_sekisho("policy", "test", str(path), "--prompt", "hello there", env=env)
    assert ok.returncode == 0, ok.stderr
    assert "ok block" in ok.stdout and "ACME.PHOENIX" in ok.stdout and "1/1 expectations met" in ok.stdout
    prompts = tmp_path / "prompts.jsonl"
    prompts.write_text('{"text": "hello", "expect": "block"}\n')
    failed = run_sekisho("policy", "test", str(path), "--prompts", str(prompts), "--json", env=env)
    assert failed.returncode == 1 and '"passed": false' in failed.stdout
    broken = tmp_path / "broken.yaml"
    broken.write_text("name: x\nrules: [{id: A, decision: sometimes}]\n")
    refused = run_sekisho("policy", "test", str(broken), env=env)
    assert (
        refused.returncode == 1
        and "is not a valid policy" in refused.stderr
        and "Traceback" not in refused.stderr
    )


def test_policy_cli_saves_lists_diffs_and_rolls_back(tmp_path: Path) -> None:
    env = cli_env(tmp_path)
    path = tmp_path / "policy.yaml"
    path.write_text(ORG_POLICY)
    assert run_sekisho("policy", "save", str(path), "--comment", "first", env=env).returncode == 0
    path.write_text(ORG_POLICY.replace("decision: block", "decision: review"))
    assert "saved version 2" in run_sekisho("policy", "save", str(path), env=env).stdout
    assert "+    decision: review" in run_sekisho("policy", "diff", "1", "2", env=env).stdout
    assert "saved version 3" in run_sekisho("policy", "rollback", "1", env=env).stdout
    history = run_sekisho("policy", "history", env=env).stdout.splitlines()
    assert [line.split()[0] for line in history] == ["3", "2", "1"] and "first" in history[2]
    missing = run_sekisho("policy", "diff", "1", "9", env=env)
    assert missing.returncode == 1 and "not found" in missing.stderr
