"""From findings to a decision: the action table for a scope, and the strictest action wins."""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field

from sekisho.guardrails.base import Direction
from sekisho.guardrails.config import (
    DEFAULT_INPUT_ACTIONS,
    DEFAULT_OUTPUT_ACTIONS,
    Action,
    BlocklistSettings,
    GuardrailRules,
    GuardrailSettings,
)
from sekisho.guardrails.finding import Finding

SEVERITY: dict[Action, int] = {"allow": 0, "warn": 1, "redact": 2, "review": 3, "block": 4}
# A type no table names (a third-party detector's) is recorded and shown, never silently allowed.
UNKNOWN_TYPE_ACTION: Action = "warn"


@dataclass(frozen=True, slots=True)
class Rules:
    """The effective guardrail rules for one organisation or project."""

    input_actions: dict[str, Action]
    output_actions: dict[str, Action]
    restore: bool
    disabled: frozenset[str]
    blocklists: tuple[BlocklistSettings, ...]

    def action(self, finding_type: str, direction: Direction) -> Action:
        """What to do with a finding of ``finding_type``."""
        table = self.input_actions if direction == "input" else self.output_actions
        return table.get(finding_type, UNKNOWN_TYPE_ACTION)


def resolve_rules(settings: GuardrailSettings, org: str | None, project: str | None) -> Rules:
    """Defaults, then the organisation's override, then the project's."""
    layers: list[GuardrailRules] = [settings]
    if org is not None and org in settings.overrides:
        layers.append(settings.overrides[org])
    if org is not None and project is not None and f"{org}/{project}" in settings.overrides:
        layers.append(settings.overrides[f"{org}/{project}"])
    input_actions = dict(DEFAULT_INPUT_ACTIONS)
    output_actions = dict(DEFAULT_OUTPUT_ACTIONS)
    restore = False
    disabled: set[str] = set()
    blocklists: list[BlocklistSettings] = []
    for layer in layers:
        input_actions.update(layer.actions)
        output_actions.update(layer.output_actions)
        if layer.restore is not None:
            restore = layer.restore
        disabled.update(layer.disabled)
        blocklists.extend(layer.blocklists)
    return Rules(input_actions, output_actions, restore, frozenset(disabled), tuple(blocklists))


@dataclass(slots=True)
class Outcome:
    """Findings sorted by what happens to them, and the decision for the whole text."""

    decision: Action = "allow"
    by_action: dict[Action, list[Finding]] = field(default_factory=dict)

    def types(self, action: Action) -> list[str]:
        """The finding types that drew ``action``, sorted and without repeats."""
        return sorted({f.type for f in self.by_action.get(action, [])})

    def counts(self) -> dict[str, int]:
        """How many findings of each type (for audit records: types and counts, never values)."""
        return dict(Counter(f.type for fs in self.by_action.values() for f in fs))


def decide(findings: Iterable[Finding], rules: Rules, direction: Direction) -> Outcome:
    """Group ``findings`` by their action; the decision is the strictest one."""
    outcome = Outcome()
    for finding in findings:
        action = rules.action(finding.type, direction)
        outcome.by_action.setdefault(action, []).append(finding)
        if SEVERITY[action] > SEVERITY[outcome.decision]:
            outcome.decision = action
    return outcome
