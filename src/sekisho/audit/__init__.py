"""Hash-chained, append-only audit log (M10)."""

from sekisho.audit.chain import GENESIS_HASH, VerifyResult, canonical, link_hash, verify_chain
from sekisho.audit.log import AuditEvent, AuditLog

__all__ = ["GENESIS_HASH", "AuditEvent", "AuditLog", "VerifyResult", "canonical", "link_hash", "verify_chain"]
