"""Guardrails over a streamed answer: scan as it arrives, hold back a little, never show half a value.

The last ``hold`` characters are held back, so a value split across chunks (``090-12`` + ``34-5678``) is
whole before anyone sees it; a finding that reaches into the held part holds everything from its
start. Each scan also sees up to ``context`` characters already shown, so a detector has the words
around a value (「マイナンバーは」) even when they went out earlier. A value longer than ``hold``
(a PEM key block) can have its beginning shown before it is recognised: raise ``hold`` for such
streams, at the cost of a later first token.
"""

from __future__ import annotations

from sekisho.guardrails.actions import Rules
from sekisho.guardrails.base import ScanContext
from sekisho.guardrails.engine import GuardrailEngine, Segment
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.redact import Pseudonymizer, StreamRestorer


class OutputBlocked(Exception):
    """The answer drew a block (or a check failed closed); the stream must stop."""

    def __init__(self, types: list[str], failed: list[str]) -> None:
        self.types = types
        self.failed = failed
        super().__init__(", ".join(types or failed))


class StreamGuard:
    """One choice's text, scanned in batches as it streams."""

    def __init__(
        self,
        engine: GuardrailEngine,
        rules: Rules,
        context: ScanContext,
        *,
        hold: int,
        pseudonymizer: Pseudonymizer | None,
        restore: bool,
        batch: int = 32,
        lookback: int = 64,
        scan: bool = True,
    ) -> None:
        self._engine = engine
        self._rules = rules
        self._context = context
        self._hold = hold
        self._batch = batch
        self._scan = scan
        self._lookback = lookback
        self._pending = ""
        self._shown_tail = ""
        # The answer's own values get placeholders that are never restored; the request's are.
        self._pseudonymizer = pseudonymizer.successor() if pseudonymizer else Pseudonymizer()
        self._restorer = StreamRestorer(pseudonymizer) if restore and pseudonymizer else None
        self.findings: list[Finding] = []
        self.failures: list[str] = []

    async def feed(self, piece: str) -> str:
        """Text that may be shown now (possibly empty); raises OutputBlocked."""
        if not self._scan:
            return self._restorer.feed(piece) if self._restorer else piece
        self._pending += piece
        if len(self._pending) < self._hold + self._batch:
            return ""
        return await self._release(final=False)

    async def flush(self) -> str:
        """The rest, at the end of the stream; raises OutputBlocked."""
        if not self._pending:
            return self._restorer.flush() if self._restorer else ""
        shown = await self._release(final=True)
        return shown + (self._restorer.flush() if self._restorer else "")

    async def _release(self, *, final: bool) -> str:
        window = self._shown_tail + self._pending
        offset = len(self._shown_tail)
        report = await self._engine.scan(
            [Segment("answer", window)], self._context, self._rules, remember=False
        )
        self.failures.extend(report.failures)
        cut = len(self._pending) if final else len(self._pending) - self._hold
        relevant = [loc.finding for loc in report.located if loc.finding.end > offset]
        for finding in relevant:
            if not final and finding.end > offset + cut:
                cut = min(cut, max(finding.start - offset, 0))
        shown_range = [f for f in relevant if f.start < offset + cut]
        self.findings.extend(f for f in shown_range if f.start >= offset)
        if report.failures or any(
            self._rules.action(f.type, "output") in ("block", "review") for f in shown_range
        ):
            blocked = sorted(
                {f.type for f in shown_range if self._rules.action(f.type, "output") in ("block", "review")}
            )
            raise OutputBlocked(blocked, report.failures)
        raw = self._pending[:cut]
        redact = [f for f in shown_range if self._rules.action(f.type, "output") == "redact"]
        out = raw
        if redact:
            # Offsets relative to the part being shown; a value begun in shown text is redacted from here.
            local = [
                Finding(f.type, max(f.start - offset, 0), min(f.end - offset, cut), f.score, f.detector)
                for f in redact
            ]
            out = self._pseudonymizer.redact(raw, local)
        self._shown_tail = (self._shown_tail + raw)[-self._lookback :]
        self._pending = self._pending[cut:]
        return self._restorer.feed(out) if self._restorer else out
