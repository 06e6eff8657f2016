"""How many policy violations lead to which action.

Counting (why two subjects): a person is counted once across all their keys — every blocked request
is one row in ``violations`` and a user's count is the number of those rows in the window, whichever
of their keys sent them — so opening a second key does not reset the ladder, and an action taken on
the person applies to every key they own. A key owned by a *service account* is counted on its own:
a service account stands for many unrelated clients, and one misbehaving integration must not
suspend the others.
"""

from __future__ import annotations

from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

ActionName = Literal["warn", "require_review", "restrict_models", "suspend_key"]
ACTIONS: tuple[str, ...] = ("warn", "restrict_models", "require_review", "suspend_key")
"""From mildest to gravest: when several thresholds are newly reached at once, the gravest wins."""


def severity(action: str) -> int:
    """Rank of ``action`` in ACTIONS (higher is graver)."""
    return ACTIONS.index(action)


class Threshold(BaseModel):
    """Reaching ``violations`` within the window applies ``action`` once."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    violations: int = Field(ge=1, description="Violations within the window that trigger the action.")
    action: ActionName
    models: list[str] | None = Field(
        None, description="restrict_models: the models the key may still use (empty: none)."
    )

    @model_validator(mode="after")
    def _models_only_for_restrict(self) -> Threshold:
        if self.action == "restrict_models" and self.models is None:
            raise ValueError("restrict_models needs a 'models' list")
        if self.action != "restrict_models" and self.models is not None:
            raise ValueError("'models' only applies to restrict_models")
        return self


def _default_ladder() -> list[Threshold]:
    return [
        Threshold(violations=1, action="warn"),
        Threshold(violations=3, action="require_review"),
        Threshold(violations=5, action="suspend_key"),
    ]


class EnforcementSettings(BaseModel):
    """The ``enforcement:`` section of the settings file."""

    model_config = ConfigDict(extra="forbid", frozen=True)
    enabled: bool = Field(True, description="Count violations and apply the ladder.")
    window_days: int = Field(30, ge=1, description="Violations older than this no longer count.")
    thresholds: list[Threshold] = Field(
        default_factory=_default_ladder, description="The ladder, by increasing violation count."
    )

    @model_validator(mode="after")
    def _increasing(self) -> EnforcementSettings:
        counts = [t.violations for t in self.thresholds]
        if counts != sorted(set(counts)):
            raise ValueError("thresholds must have strictly increasing 'violations'")
        return self

    def reached(self, count: int) -> Threshold | None:
        """The highest threshold at or below ``count``."""
        hits = [t for t in self.thresholds if t.violations <= count]
        return hits[-1] if hits else None
