"""The audit hash chain: canonical form, hashing, and verification.

Each record's ``hash`` is SHA-256 over the previous record's hash and the record's canonical JSON
(sorted keys, no insignificant white space, integers only). Changing, removing or reordering any
record breaks the chain at that record and every later link.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable
from dataclasses import dataclass
from typing import Any

import orjson

GENESIS_HASH = "0" * 64
# Columns copied out of the record for querying; verification checks they still agree with it.
INDEXED_FIELDS = ("seq", "kind", "instance_id", "request_id", "actor", "org_id", "project_id")


def canonical(content: dict[str, Any]) -> str:
    """The canonical JSON text of a record."""
    return orjson.dumps(content, option=orjson.OPT_SORT_KEYS).decode("utf-8")


def link_hash(prev_hash: str, canonical_text: str) -> str:
    """Hash of one link of the chain."""
    digest = hashlib.sha256()
    digest.update(prev_hash.encode("ascii"))
    digest.update(b"\n")
    digest.update(canonical_text.encode("utf-8"))
    return digest.hexdigest()


@dataclass(frozen=True, slots=True)
class StoredRecord:
    """One row of the audit table as read back."""

    seq: int
    record: str
    prev_hash: str
    hash: str
    columns: dict[str, Any]


@dataclass(frozen=True, slots=True)
class VerifyResult:
    """Outcome of verifying the chain."""

    ok: bool
    records: int
    first_bad_seq: int | None = None
    reason: str | None = None
    head_hash: str = GENESIS_HASH


def verify_chain(rows: Iterable[StoredRecord]) -> VerifyResult:
    """Walk the chain in ``seq`` order and report the first record that does not fit."""
    expected_prev = GENESIS_HASH
    expected_seq = 1
    count = 0
    for row in rows:

        def bad(reason: str, row: StoredRecord = row) -> VerifyResult:
            return VerifyResult(False, count, row.seq, reason, expected_prev)

        if row.seq != expected_seq:
            return bad(f"sequence jumps from {expected_seq - 1} to {row.seq} (a record was removed)")
        if row.prev_hash != expected_prev:
            return bad("prev_hash does not match the previous record (records removed or reordered)")
        if link_hash(row.prev_hash, row.record) != row.hash:
            return bad("content does not match its hash (the record was changed)")
        try:
            content = orjson.loads(row.record)
        except orjson.JSONDecodeError:
            return bad("record is not valid JSON")
        for field in INDEXED_FIELDS:
            if content.get(field) != row.columns.get(field):
                return bad(f"column {field!r} differs from the hashed record")
        expected_prev = row.hash
        expected_seq += 1
        count += 1
    return VerifyResult(True, count, head_hash=expected_prev)
