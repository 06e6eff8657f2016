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
# ``ts`` is among them because export --since selects on that column: an unchecked copy could hide
# or reveal records without breaking the chain.
INDEXED_FIELDS = ("seq", "ts", "kind", "instance_id", "request_id", "actor", "org_id", "project_id")


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
    count = 0
    for row in rows:
        reason = _defect(row, count + 1, expected_prev)
        if reason is not None:
            return VerifyResult(False, count, row.seq, reason, expected_prev)
        expected_prev = row.hash
        count += 1
    return VerifyResult(True, count, head_hash=expected_prev)


def _defect(row: StoredRecord, expected_seq: int, expected_prev: str) -> str | None:
    """Why ``row`` does not belong at this point of the chain, or None when it does."""
    if row.seq != expected_seq:
        return f"sequence jumps from {expected_seq - 1} to {row.seq} (a record was removed)"
    if row.prev_hash != expected_prev:
        return "prev_hash does not match the previous record (records removed or reordered)"
    if link_hash(row.prev_hash, row.record) != row.hash:
        return "content does not match its hash (the record was changed)"
    try:
        content = orjson.loads(row.record)
    except orjson.JSONDecodeError:
        return "record is not valid JSON"
    for field in INDEXED_FIELDS:
        if content.get(field) != row.columns.get(field):
            return f"column {field!r} differs from the hashed record"
    return None
