"""Guardrails on the gateway path: what a request carries, and what is done to it and its answer.

``request_parts`` finds every text (all roles, content parts, tool-call arguments, embedding inputs)
and every attachment (image parts, base64 data URLs, file parts) of a body. ``GuardInput`` scans them
and blocks, redacts in place, or notes warnings; ``GuardOutput`` does the same for the answer and, when
the scope asks for it, puts redacted values back into the answer.
"""

from __future__ import annotations

import base64
import binascii
import re
from dataclasses import dataclass
from typing import Any

import orjson

from sekisho.audit import AuditEvent, AuditLog
from sekisho.gateway.call import Call
from sekisho.gateway.errors import GatewayError
from sekisho.guardrails.base import Attachment, ScanContext
from sekisho.guardrails.config import Action
from sekisho.guardrails.engine import GuardrailEngine, ScanReport, Segment
from sekisho.guardrails.redact import Pseudonymizer
from sekisho.guardrails.stream import OutputBlocked, StreamGuard
from sekisho.observability.hooks import findings
from sekisho.providers import ChatResult

Path = tuple[str | int, ...]
_DATA_URL = re.compile(r"data:([\w.+-]+/[\w.+-]+)?(?:;[\w=-]+)*;base64,", re.ASCII)


@dataclass(frozen=True, slots=True)
class Parts:
    """The texts of a body (with where each sits) and its attachments."""

    segments: list[Segment]
    paths: list[Path]
    attachments: list[Attachment]


def request_parts(body: dict[str, Any]) -> Parts:
    """Every text and attachment a chat or embeddings body carries."""
    parts = Parts([], [], [])
    for i, message in enumerate(body.get("messages") or []):
        if not isinstance(message, dict):
            continue
        content = message.get("content")
        if isinstance(content, str):
            _add(parts, ("messages", i, "content"), content)
        elif isinstance(content, list):
            for j, part in enumerate(content):
                if isinstance(part, dict):
                    _content_part(parts, ("messages", i, "content", j), part)
        for k, tool_call in enumerate(message.get("tool_calls") or []):
            function = tool_call.get("function") if isinstance(tool_call, dict) else None
            if isinstance(function, dict) and isinstance(function.get("arguments"), str):
                _add(parts, ("messages", i, "tool_calls", k, "function", "arguments"), function["arguments"])
    raw = body.get("input")
    if isinstance(raw, str):
        _add(parts, ("input",), raw)
    elif isinstance(raw, list):
        for k, item in enumerate(raw):
            if isinstance(item, str):
                _add(parts, ("input", k), item)
    return parts


def _content_part(parts: Parts, path: Path, part: dict[str, Any]) -> None:
    kind = part.get("type")
    if kind == "text" and isinstance(part.get("text"), str):
        _add(parts, (*path, "text"), part["text"])
    elif kind == "image_url":
        image = part.get("image_url")
        url = image.get("url") if isinstance(image, dict) else image
        if isinstance(url, str):
            _attach(parts, _where(path), url, "image/*")
    elif kind == "file" and isinstance(part.get("file"), dict):
        data = part["file"].get("file_data")
        if isinstance(data, str):
            _attach(parts, _where(path), data, "application/octet-stream")


def _attach(parts: Parts, where: str, url: str, default_type: str) -> None:
    match = _DATA_URL.match(url)
    if match is None:
        return  # a remote URL: Sekisho does not fetch it (no outbound calls from the checkpoint)
    try:
        data = base64.b64decode(url[match.end() :], validate=False)
    except (binascii.Error, ValueError):
        raise GatewayError(400, f"{where} is not valid base64.", code="invalid_attachment") from None
    media_type = match.group(1) or default_type
    if media_type == "image/*":  # an image part whose data URL names no type
        media_type = "image/unknown"
    parts.attachments.append(Attachment(data, media_type, where))


def _add(parts: Parts, path: Path, text: str) -> None:
    parts.segments.append(Segment(_where(path), text))
    parts.paths.append(path)


def _where(path: Path) -> str:
    out = ""
    for key in path:
        out += f"[{key}]" if isinstance(key, int) else (f".{key}" if out else key)
    return out


def _set(body: dict[str, Any], path: Path, value: str) -> None:
    node: Any = body
    for key in path[:-1]:
        node = node[key]
    node[path[-1]] = value


def _context(call: Call, direction: str, attachments: list[Attachment] | None = None) -> ScanContext:
    principal = call.principal
    return ScanContext(
        direction="input" if direction == "input" else "output",
        org=principal.org_slug if principal else None,
        project=principal.project_slug if principal else None,
        request_id=call.request_id,
        attachments=tuple(attachments or ()),
    )


def _blocked(report: ScanReport, direction: str) -> GatewayError:
    if report.failures:
        return GatewayError(
            503,
            f"A guardrail could not check the {'request' if direction == 'input' else 'answer'} "
            f"({', '.join(sorted(set(report.failures)))}), so it was not let through.",
            type="api_error",
            code="guardrail_failed",
        )
    if report.outcome.decision == "review":
        types = ", ".join(report.outcome.types("review"))
        return GatewayError(
            403,
            f"The {'request' if direction == 'input' else 'answer'} needs human review ({types}); "
            f"{'embeddings' if direction == 'input' else 'answers'} are not held for review, "
            "so it was not let through.",
            code="review_required",
        )
    types = ", ".join(report.outcome.types("block"))
    what = "request" if direction == "input" else "answer"
    return GatewayError(
        400 if direction == "input" else 422,
        f"The {what} was blocked by guardrails: it contains {types}.",
        code="guardrail_blocked" if direction == "input" else "output_blocked",
    )


def _note(call: Call, report: ScanReport) -> None:
    actions: tuple[Action, ...] = ("warn", "redact")
    for action in actions:
        for finding_type in report.outcome.types(action):
            call.guard_notes.setdefault(action, set()).add(finding_type)
    for finding_type, count in report.outcome.counts().items():
        call.finding_counts[finding_type] = call.finding_counts.get(finding_type, 0) + count
    call.findings.extend(report.located)


class GuardInput:
    """Scan a request; block it, redact it in place, or let it pass with notes."""

    def __init__(self, engine: GuardrailEngine | None, audit: AuditLog) -> None:
        self.engine = engine
        self._audit = audit

    async def __call__(self, call: Call) -> None:
        engine = self.engine
        if engine is None:
            return
        principal = call.principal
        rules = (
            engine.rules(principal.org_slug, principal.project_slug)
            if principal
            else engine.rules(None, None)
        )
        call.rules = rules
        parts = request_parts(call.body)
        if not parts.segments and not parts.attachments:
            return
        report = await engine.scan(parts.segments, _context(call, "input", parts.attachments), rules)
        self._record_safety(call, report)
        _note(call, report)
        findings(report.outcome, "input")
        call.guard_decision = report.decision
        call.guard_checks = frozenset(report.checks)
        if report.decision == "block" or (
            report.decision == "review" and call.endpoint != "chat.completions"
        ):
            raise _blocked(report, "input")
        if report.decision == "review":
            # Held by the decide stage in the review queue, after redaction like any other request.
            call.guard_review = tuple(report.outcome.types("review"))
        redact = report.outcome.by_action.get("redact", [])
        if redact:
            pseudonymizer = Pseudonymizer()
            for index, (segment, path) in enumerate(zip(parts.segments, parts.paths, strict=True)):
                found = report.in_segment(index, redact)
                if found:
                    _set(call.body, path, pseudonymizer.redact(segment.text, found))
            call.pseudonymizer = pseudonymizer

    def _record_safety(self, call: Call, report: ScanReport) -> None:
        principal = call.principal
        for record in report.reports:
            self._audit.record(
                AuditEvent(
                    kind="safety.hash_match",
                    actor=principal.actor if principal else None,
                    org_id=principal.org_id if principal else None,
                    project_id=principal.project_id if principal else None,
                    request_id=call.request_id,
                    data={k: v for k, v in record.items() if isinstance(v, str | int | bool) or v is None},
                )
            )


class GuardOutput:
    """Scan an answer; block it, redact it, restore placeholders."""

    def __init__(self, engine: GuardrailEngine | None) -> None:
        self.engine = engine

    def active(self, call: Call) -> bool:
        """Whether answers of this call need looking at."""
        if self.engine is None or call.rules is None:
            return False
        return self.engine.settings.scan_output or self._restore(call)

    def _restore(self, call: Call) -> bool:
        return bool(call.rules and call.rules.restore and call.pseudonymizer)

    async def complete(self, call: Call, result: ChatResult) -> ChatResult:
        """The answer after output guardrails (``result`` itself when nothing changes)."""
        engine = self.engine
        if engine is None or call.rules is None or not self.active(call):
            return result
        choices = [c for c in result.data.get("choices") or [] if isinstance(c, dict)]
        messages = [c.get("message") for c in choices]
        texts = [
            (m, m["content"]) for m in messages if isinstance(m, dict) and isinstance(m.get("content"), str)
        ]
        if not texts:
            return result
        changed = False
        if engine.settings.scan_output:
            segments = [Segment(f"choices[{i}].message.content", t) for i, (_, t) in enumerate(texts)]
            report = await engine.scan(segments, _context(call, "output"), call.rules)
            _note(call, report)
            findings(report.outcome, "output")
            if report.decision in ("block", "review"):
                raise _blocked(report, "output")
            redact = report.outcome.by_action.get("redact", [])
            if redact:
                # The answer's values must not be restored: a separate map, numbered after the request's.
                pseudonymizer = call.pseudonymizer.successor() if call.pseudonymizer else Pseudonymizer()
                for index, (message, text) in enumerate(texts):
                    found = report.in_segment(index, redact)
                    if found:
                        message["content"] = pseudonymizer.redact(text, found)
                        changed = True
        if self._restore(call) and call.pseudonymizer is not None:
            for message, _ in texts:
                restored = call.pseudonymizer.restore(message["content"])
                if restored != message["content"]:
                    message["content"] = restored
                    changed = True
        if not changed:
            return result
        return ChatResult(orjson.dumps(result.data), result.data)

    def stream_guard(self, call: Call) -> StreamGuard | None:
        """A guard for one streamed choice, or None when answers are not looked at."""
        engine = self.engine
        if engine is None or call.rules is None or not self.active(call):
            return None
        if not engine.settings.scan_output:
            # Restoring only: no scanning, but placeholders must still be put back whole.
            return StreamGuard(
                engine,
                call.rules,
                _context(call, "output"),
                hold=0,
                pseudonymizer=call.pseudonymizer,
                restore=True,
                scan=False,
            )
        return StreamGuard(
            engine,
            call.rules,
            _context(call, "output"),
            hold=engine.settings.stream_hold_chars,
            pseudonymizer=call.pseudonymizer,
            restore=self._restore(call),
        )


__all__ = ["GuardInput", "GuardOutput", "OutputBlocked", "Parts", "request_parts"]
