"""Sensitive conversations: crisis signals in Japanese and English, and the caring answer to them.

``assess(text)`` reads a message and says how worried to be (``none`` / ``concern`` / ``crisis`` /
``imminent``) with the signals and spans behind it; ``safe_response(assessment, locale)`` writes the reply
a person in that state should get: warm, engaged, with help that exists where they are.
"""

from sekisho.crisis.assess import LEVELS, CrisisAssessment, Level, assess
from sekisho.crisis.resources import DEFAULT_RESOURCES, HelpResource, resources_for
from sekisho.crisis.response import safe_response

__all__ = [
    "DEFAULT_RESOURCES",
    "LEVELS",
    "CrisisAssessment",
    "HelpResource",
    "Level",
    "assess",
    "resources_for",
    "safe_response",
]
