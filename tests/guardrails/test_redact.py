"""Reversible pseudonymisation and the action table."""

from __future__ import annotations

from sekisho.guardrails.actions import decide, resolve_rules
from sekisho.guardrails.config import GuardrailSettings
from sekisho.guardrails.finding import Finding
from sekisho.guardrails.redact import Pseudonymizer, StreamRestorer, merge_spans


def _f(kind: str, start: int, end: int, score: float = 0.9) -> Finding:
    return Finding(kind, start, end, score, "test")


def test_redact_then_restore_round_trips_and_repeats_share_a_placeholder() -> None:
    text = "Mail a@example.com and b@example.com, again a@example.com."
    spans = [(text.index("a@"), "a@example.com"), (text.index("b@"), "b@example.com")]
    third = text.rindex("a@")
    findings = [_f("EMAIL", s, s + len(v)) for s, v in spans] + [_f("EMAIL", third, third + 13)]
    p = Pseudonymizer()
    redacted = p.redact(text, findings)
    assert redacted == "Mail [EMAIL_1] and [EMAIL_2], again [EMAIL_1]."
    assert p.restore("Reply to [EMAIL_2] and [EMAIL_1]; keep [EMAIL_9] and [x].") == (
        "Reply to b@example.com and a@example.com; keep [EMAIL_9] and [x]."
    )


def test_overlapping_findings_redact_once_preferring_the_longer() -> None:
    text = "call 090-1234-5678 now"
    merged = merge_spans([_f("PHONE", 5, 18), _f("MY_NUMBER", 9, 18), _f("PHONE", 5, 12)])
    assert [(f.start, f.end) for f in merged] == [(5, 18)]
    assert Pseudonymizer().redact(text, merged) == "call [PHONE_1] now"


def test_stream_restorer_holds_a_placeholder_split_across_chunks() -> None:
    p = Pseudonymizer()
    p.redact("x@example.com", [_f("EMAIL", 0, 13)])
    restorer = StreamRestorer(p)
    pieces = ["Write to [EM", "AIL", "_1] tod", "ay [", "not a placeholder"]
    out = "".join(restorer.feed(piece) for piece in pieces) + restorer.flush()
    assert out == "Write to x@example.com today [not a placeholder"


def test_overrides_merge_org_then_project() -> None:
    settings = GuardrailSettings.model_validate(
        {
            "actions": {"EMAIL": "redact"},
            "overrides": {
                "acme": {"actions": {"EMAIL": "block", "PERSON": "allow"}, "restore": True},
                "acme/lab": {"actions": {"EMAIL": "warn"}},
            },
        }
    )
    assert resolve_rules(settings, None, None).action("EMAIL", "input") == "redact"
    acme = resolve_rules(settings, "acme", "other")
    assert (acme.action("EMAIL", "input"), acme.action("PERSON", "input"), acme.restore) == (
        "block",
        "allow",
        True,
    )
    lab = resolve_rules(settings, "acme", "lab")
    assert (lab.action("EMAIL", "input"), lab.action("PERSON", "input"), lab.restore) == (
        "warn",
        "allow",
        True,
    )
    assert resolve_rules(settings, "other", "lab").action("EMAIL", "input") == "redact"


def test_the_strictest_action_decides_and_unknown_types_warn() -> None:
    rules = resolve_rules(GuardrailSettings(), None, None)
    outcome = decide([_f("EMAIL", 0, 1), _f("MY_NUMBER", 2, 3), _f("VENDOR_THING", 4, 5)], rules, "input")
    assert outcome.decision == "redact"
    assert outcome.types("warn") == ["EMAIL", "VENDOR_THING"]
    assert decide([_f("SECRET", 0, 1)], rules, "input").decision == "block"
    assert decide([_f("PROMPT_INJECTION", 0, 1)], rules, "output").decision == "allow"
