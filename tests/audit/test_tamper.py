"""Tampering with the audit log directly in the database, caught by the real ``sekisho audit verify``.

Each case builds the same history (admin actions and requests through the real app), changes the
``audit_log`` table with SQL the way someone with database access could, and runs the CLI as a
subprocess on the same database. What a hash chain can and cannot show:

- a changed record, a changed indexed column, a removed or reordered record: caught, at the first
  record that no longer fits;
- the newest records cut off, or the tail rewritten with freshly computed hashes: the chain is still
  self-consistent, so verify passes. Only a head hash kept outside the database (the last export)
  reveals it; those cases assert exactly that.
"""

from __future__ import annotations

import hashlib
import json
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import anyio
import orjson
import pytest
from sqlalchemy import Connection, delete, select, update

from sekisho.audit import GENESIS_HASH, AuditEvent, AuditLog, canonical, link_hash
from sekisho.clock import utcnow
from sekisho.store import create_db_engine, upgrade, write_transaction
from sekisho.store.batch import BatchWriter
from sekisho.store.tables import audit_log
from tests.conftest import MASTER_KEY, Gateway, cli_env, run_sekisho

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"
GOLDEN = Path(__file__).with_name("golden")


async def build_history(gw: Gateway, tag: str = "acme") -> None:
    """Admin actions by the master key, successful and failed calls, a revocation."""
    master = gw.headers(MASTER_KEY)
    org = await _created(gw, "/admin/v1/orgs", master, {"slug": tag, "name": f"{tag} Inc"})
    project = await _created(
        gw, "/admin/v1/projects", master, {"slug": "research", "name": "Research", "org_id": org["id"]}
    )
    user = await _created(
        gw,
        "/admin/v1/users",
        master,
        {"email": f"ana@{tag}.test", "name": "Ana", "role": "member", "org_id": org["id"]},
    )
    key = await _created(
        gw,
        "/admin/v1/keys",
        master,
        {"project_id": project["id"], "name": "tamper", "user_id": user["id"], "org_id": org["id"]},
    )
    for secret in (key["key"], gw.key):
        for text in ("one", "two words", "three more words"):
            response = await gw.client.post(
                CHAT, headers=gw.headers(secret), json={"model": "gpt-4o-mini", "messages": _user(text)}
            )
            assert response.status_code == 200, response.text
    failed = await gw.client.post(
        CHAT, headers=gw.headers(), json={"model": "bad-request", "messages": _user("x")}
    )
    assert failed.status_code == 400
    revoked = await gw.client.post(f"/admin/v1/keys/{key['id']}/revoke", headers=master)
    assert revoked.status_code == 200, revoked.text
    gw.flush()


async def _created(gw: Gateway, path: str, headers: dict[str, str], body: dict[str, Any]) -> dict[str, Any]:
    response = await gw.client.post(path, headers=headers, json=body)
    assert response.status_code == 201, response.text
    data: dict[str, Any] = response.json()
    return data


def _user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


def audit_rows(gw: Gateway) -> list[Any]:
    with gw.core.engine.connect() as conn:
        return list(conn.execute(select(audit_log).order_by(audit_log.c.seq)).all())


async def cli(gw: Gateway, tmp_path: Path, *args: str) -> Any:
    env = cli_env(tmp_path / "cli-data", SEKISHO_DATABASE_URL=gw.settings.database_url)
    return await anyio.to_thread.run_sync(lambda: run_sekisho(*args, env=env))


def first_of(rows: list[Any], kind: str) -> Any:
    return next(r for r in rows if r.kind == kind)


# Tampering ---------------------------------------------------------------------------------------
# Each function changes the table and returns the seq verify must name, or None when a chain alone
# cannot notice (then verify must pass: asserting a detection that cannot happen would be a lie).

Tamper = Callable[[Connection, list[Any]], int | None]


def change_record_text(conn: Connection, rows: list[Any]) -> int:
    """Shrink the tokens (and so the bill) of a completed request inside the hashed text."""
    target = first_of(rows, "request.completed")
    content = orjson.loads(target.record)
    content["data"]["prompt_tokens"] = 0
    conn.execute(update(audit_log).where(audit_log.c.seq == target.seq).values(record=canonical(content)))
    return int(target.seq)


def delete_middle(conn: Connection, rows: list[Any]) -> int:
    target = rows[len(rows) // 2]
    conn.execute(delete(audit_log).where(audit_log.c.seq == target.seq))
    return int(target.seq) + 1  # the record after the gap is the first that does not fit


def delete_first(conn: Connection, rows: list[Any]) -> int:
    conn.execute(delete(audit_log).where(audit_log.c.seq == 1))
    return 2


_CONTENT_COLUMNS = ("ts", "kind", "instance_id", "request_id", "actor", "org_id", "project_id")


def swap_two(conn: Connection, rows: list[Any]) -> int:
    """Reorder: two records trade places, each keeping its own (valid) record, hashes and columns."""
    a, b = rows[len(rows) // 3], rows[2 * len(rows) // 3]
    assert b.seq - a.seq > 1
    for here, there in ((a, b), (b, a)):
        values = {c: getattr(there, c) for c in (*_CONTENT_COLUMNS, "record", "prev_hash", "hash")}
        conn.execute(update(audit_log).where(audit_log.c.seq == here.seq).values(**values))
    return int(a.seq)


def delete_last(conn: Connection, rows: list[Any]) -> None:
    # Undetectable by the chain alone: what remains is a complete, valid, shorter chain.
    conn.execute(delete(audit_log).where(audit_log.c.seq == rows[-1].seq))


def rewrite_tail(conn: Connection, rows: list[Any]) -> None:
    """Change a middle record and recompute every hash after it, as an attacker who read the code would.

    Undetectable by the chain alone: it proves the log is self-consistent, not that it is the original.
    """
    start = len(rows) // 2
    prev_hash = rows[start - 1].hash
    for i, row in enumerate(rows[start:]):
        content = orjson.loads(row.record)
        if i == 0:
            content["data"] = {**content["data"], "forged": True}
        record = canonical(content)
        digest = link_hash(prev_hash, record)
        conn.execute(
            update(audit_log)
            .where(audit_log.c.seq == row.seq)
            .values(record=record, prev_hash=prev_hash, hash=digest)
        )
        prev_hash = digest


TAMPERS: dict[str, Tamper] = {
    "change-record-text": change_record_text,
    "delete-middle": delete_middle,
    "delete-first": delete_first,
    "swap-two-records": swap_two,
    "delete-last": delete_last,
    "rewrite-tail-with-new-hashes": rewrite_tail,
}


async def test_untampered_history_verifies(gateway: Gateway, tmp_path: Path) -> None:
    await build_history(gateway)
    rows = audit_rows(gateway)
    kinds = {r.kind for r in rows}
    assert {"admin.org.created", "admin.key.created", "admin.key.revoked"} <= kinds
    assert {"request.admitted", "request.completed", "request.failed"} <= kinds
    result = await cli(gateway, tmp_path, "audit", "verify")
    assert result.returncode == 0, result.stderr
    assert result.stdout.strip() == f"ok: {len(rows)} records, head {rows[-1].hash}"


@pytest.mark.parametrize("case", list(TAMPERS))
async def test_tampering_is_caught_at_the_first_bad_record(
    gateway: Gateway, tmp_path: Path, case: str
) -> None:
    await build_history(gateway)
    rows = audit_rows(gateway)
    anchor = rows[-1].hash  # the head an operator kept outside the database at the last export
    with write_transaction(gateway.core.engine) as conn:
        expected = TAMPERS[case](conn, rows)

    result = await cli(gateway, tmp_path, "audit", "verify")
    api = (await gateway.client.get("/admin/v1/audit/verify", headers=gateway.headers(MASTER_KEY))).json()
    assert "Traceback" not in result.stderr
    if expected is None:
        # The chain alone cannot see these: verify passes, but the head moved away from the anchor.
        assert result.returncode == 0, result.stderr
        assert api["ok"] is True
        assert anchor not in {r.hash for r in audit_rows(gateway)}
        assert api["head_hash"] != anchor
        return
    assert result.returncode == 1, result.stdout
    assert f"BROKEN at record {expected}:" in result.stderr
    assert (api["ok"], api["first_bad_seq"]) == (False, expected)


@pytest.mark.parametrize(
    ("column", "forge"),
    [
        ("kind", lambda row: "request.failed"),
        ("actor", lambda row: "user:someone-else key:sk-sks-innocent"),
        ("org_id", lambda row: "org_forged"),
        ("project_id", lambda row: "proj_forged"),
        ("request_id", lambda row: "req_forged"),
        ("instance_id", lambda row: "another-host"),
        ("ts", lambda row: row.ts - timedelta(days=3)),
    ],
)
async def test_changing_an_indexed_column_only_is_caught(
    gateway: Gateway, tmp_path: Path, column: str, forge: Callable[[Any], Any]
) -> None:
    """The copies kept for querying (and for --since) must agree with the hashed record."""
    await build_history(gateway)
    target = first_of(audit_rows(gateway), "request.completed")
    with write_transaction(gateway.core.engine) as conn:
        conn.execute(update(audit_log).where(audit_log.c.seq == target.seq).values({column: forge(target)}))
    result = await cli(gateway, tmp_path, "audit", "verify")
    assert result.returncode == 1, result.stdout
    assert f"BROKEN at record {target.seq}:" in result.stderr
    assert repr(column) in result.stderr


# Export -----------------------------------------------------------------------------------------


def reverify(records: list[dict[str, Any]], prev_hash: str) -> None:
    """Recompute every hash from the exported fields alone, as an outside auditor would."""
    for record in records:
        content = {k: v for k, v in record.items() if k not in ("prev_hash", "hash")}
        assert record["prev_hash"] == prev_hash, record["seq"]
        assert link_hash(prev_hash, canonical(content)) == record["hash"], record["seq"]
        prev_hash = record["hash"]


def jsonl(text: str) -> list[dict[str, Any]]:
    return [orjson.loads(line) for line in text.splitlines() if line]


async def test_export_writes_records_that_reverify_and_respects_since(
    gateway: Gateway, tmp_path: Path
) -> None:
    await build_history(gateway, "before")
    # Cross a whole-second boundary (--since takes seconds) so the history splits in two.
    boundary = (utcnow() + timedelta(seconds=1)).replace(microsecond=0)
    await anyio.sleep((boundary - utcnow()).total_seconds() + 0.01)
    assert utcnow() >= boundary
    await build_history(gateway, "after")

    out = tmp_path / "audit.jsonl"
    full_run = await cli(gateway, tmp_path, "audit", "export", "-o", str(out))
    assert full_run.returncode == 0, full_run.stderr
    full = jsonl(out.read_text(encoding="utf-8"))
    rows = audit_rows(gateway)
    assert [r["seq"] for r in full] == list(range(1, len(rows) + 1))
    assert [r["hash"] for r in full] == [r.hash for r in rows]
    reverify(full, GENESIS_HASH)

    since_run = await cli(
        gateway, tmp_path, "audit", "export", "--since", boundary.strftime("%Y-%m-%dT%H:%M:%S")
    )
    assert since_run.returncode == 0, since_run.stderr
    since = jsonl(since_run.stdout)
    expected = [r for r in full if datetime.fromisoformat(r["ts"]) >= boundary]
    assert since == expected
    assert 0 < len(since) < len(full)
    assert {r["data"].get("slug") for r in since if r["kind"] == "admin.org.created"} == {"after"}
    # A partial export still re-verifies, anchored on the hash before its first record.
    first = since[0]["seq"]
    reverify(since, full[first - 2]["hash"])

    today = datetime.now(UTC).date()
    tomorrow = await cli(
        gateway, tmp_path, "audit", "export", "--since", (today + timedelta(days=1)).isoformat()
    )
    assert (tomorrow.returncode, tomorrow.stdout) == (0, "")
    yesterday = await cli(
        gateway, tmp_path, "audit", "export", "--since", (today - timedelta(days=1)).isoformat()
    )
    assert jsonl(yesterday.stdout) == full


# Golden canonical form ----------------------------------------------------------------------------

GOLDEN_TS = datetime(2026, 1, 2, 3, 4, 5, 678901, tzinfo=UTC)
GOLDEN_EVENTS = [
    AuditEvent(
        kind="admin.key.created",
        actor="master-key",
        org_id="org_00000000000000a1",
        project_id="proj_00000000000000b2",
        data={"key_id": "key_00000000000000c3", "prefix": "sk-sks-AbCdEfGh", "user_id": "user_0000000000d4"},
    ),
    AuditEvent(
        kind="request.completed",
        actor="user:user_0000000000d4 key:sk-sks-AbCdEfGh",
        org_id="org_00000000000000a1",
        project_id="proj_00000000000000b2",
        request_id="req_000000000000000000000e5f",
        data={
            "outcome": "completed",
            "status_code": 200,
            "error_code": None,
            "usage_estimated": False,
            "prompt_tokens": 12,
            "cost_nanousd": 2100,
            "note": '関所 "quoted" back\\slash tab\t newline\n',
        },
    ),
]


def test_canonical_record_form_matches_the_golden_files(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The exact bytes that are hashed. Changing them orphans every chain already written: if this
    fails, the change needs a migration plan, not a new golden file."""
    monkeypatch.setattr("sekisho.audit.log.utcnow", lambda: GOLDEN_TS)
    engine = create_db_engine(f"sqlite:///{tmp_path / 'golden.db'}")
    try:
        upgrade(engine)
        with write_transaction(engine) as conn:
            AuditLog(engine, BatchWriter(engine), "golden-instance").append_in(conn, *GOLDEN_EVENTS)
        with engine.connect() as conn:
            rows = conn.execute(select(audit_log).order_by(audit_log.c.seq)).all()
    finally:
        engine.dispose()

    records = (GOLDEN / "records.canonical").read_bytes().decode("utf-8").rstrip("\n").split("\n")
    hashes = (GOLDEN / "records.sha256").read_text(encoding="ascii").split()
    assert [r.record for r in rows] == records
    assert [r.hash for r in rows] == hashes
    assert [r.prev_hash for r in rows] == [GENESIS_HASH, hashes[0]]

    # The documented form, rebuilt with the standard library only: sorted keys, no spaces, UTF-8.
    prev = GENESIS_HASH
    for event, record, digest in zip(GOLDEN_EVENTS, records, hashes, strict=True):
        assert json.loads(record)["data"] == event.data
        assert record == json.dumps(
            json.loads(record), sort_keys=True, separators=(",", ":"), ensure_ascii=False
        )
        assert hashlib.sha256(f"{prev}\n{record}".encode()).hexdigest() == digest
        prev = digest
    assert json.loads(records[0])["ts"] == "2026-01-02T03:04:05.678901+00:00"
