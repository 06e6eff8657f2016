"""Enforcement and appeal (M9): violations counted per user and key, a ladder of actions, appeals
decided by reviewers with reinstatement, and a transparency report."""

from sekisho.enforcement.models import Action, Appeal, AppliedAction, Forbidden
from sekisho.enforcement.service import Enforcement
from sekisho.enforcement.settings import EnforcementSettings, Threshold
from sekisho.enforcement.transparency import transparency_report

__all__ = [
    "Action",
    "Appeal",
    "AppliedAction",
    "Enforcement",
    "EnforcementSettings",
    "Forbidden",
    "Threshold",
    "transparency_report",
]
