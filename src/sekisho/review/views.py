"""What reviewers see: metadata always, content redacted unless they reveal it (which is audited)."""

from __future__ import annotations

from typing import Any

import orjson

from sekisho.guardrails.base import ScanContext
from sekisho.guardrails.engine import GuardrailEngine
from sekisho.guardrails.redact import Pseudonymizer
from sekisho.review.store import ReviewItem


def item_out(item: ReviewItem) -> dict[str, Any]:
    """An item's metadata (no prompt or answer text)."""
    return {
        "id": item.id,
        "object": "review",
        "kind": item.kind,
        "status": item.status,
        "org_id": item.org_id,
        "project_id": item.project_id,
        "request_id": item.request_id,
        "endpoint": item.endpoint,
        "model": item.model,
        "requester": {"user_id": item.requester_user_id, "key_id": item.requester_key_id},
        "rule_id": item.rule_id,
        "category": item.category,
        "rationale": item.rationale,
        "confidence": item.confidence,
        "findings": item.findings or {},
        "approvals_required": item.approvals_required,
        "approvals": list(item.approvals),
        "escalated": item.escalated,
        "reason": item.reason,
        "on_expiry": item.on_expiry,
        "created_at": item.created_at.isoformat(),
        "expires_at": item.expires_at.isoformat(),
        "decided_at": item.decided_at.isoformat() if item.decided_at else None,
        "decided_by": item.decided_by,
        "completed_at": item.completed_at.isoformat() if item.completed_at else None,
    }


async def redacted_messages(item: ReviewItem, engine: GuardrailEngine | None) -> list[dict[str, Any]]:
    """The request's messages with every detected personal value replaced by a typed placeholder.

    Without a guardrail engine nothing can be found, so the text is withheld entirely (shown as its
    length): redacted by default must never mean "shown in full because detection is off".
    """
    body = orjson.loads(item.request_body) if item.request_body else {}
    messages = [m for m in body.get("messages") or [] if isinstance(m, dict)]
    out: list[dict[str, Any]] = []
    for message in messages:
        content = message.get("content")
        if isinstance(content, list):
            content = "\n".join(
                str(p.get("text", "")) for p in content if isinstance(p, dict) and p.get("type") == "text"
            )
        text = content if isinstance(content, str) else ""
        out.append({"role": message.get("role"), "content": await _redact(text, engine)})
    return out


async def _redact(text: str, engine: GuardrailEngine | None) -> str:
    if not text:
        return text
    if engine is None:
        return f"[content withheld: {len(text)} characters]"
    from sekisho.guardrails.engine import Segment

    report = await engine.scan(
        [Segment("content", text)], ScanContext(direction="input"), engine.rules(None, None), remember=False
    )
    findings = [loc.finding for loc in report.located if loc.finding.type != "PROMPT_INJECTION"]
    return Pseudonymizer().redact(text, findings) if findings else text
