"""Built-in and third-party detectors and guardrails, found through entry points.

Built-ins are registered in Sekisho's own ``pyproject.toml`` under the same groups a plug-in package
uses, so there is one way in:

    [project.entry-points."sekisho.detectors"]     # pure detectors: a class or factory taking options
    my_detector = "my_package.module:MyDetector"

    [project.entry-points."sekisho.guardrails"]    # async guardrails: factory(settings, caller)
    my_guard = "my_package.module:make_guard"     # returns a Guardrail, or None when not configured
"""

from __future__ import annotations

from collections.abc import Callable
from functools import cache
from importlib.metadata import EntryPoint, entry_points
from typing import Any

DETECTOR_GROUP = "sekisho.detectors"
GUARDRAIL_GROUP = "sekisho.guardrails"


class UnknownGuardrail(LookupError):
    """A name in the configuration or a request that no entry point provides."""


@cache
def _group(group: str) -> dict[str, EntryPoint]:
    return {ep.name: ep for ep in entry_points(group=group)}


def detector_names() -> list[str]:
    """Every registered detector, sorted."""
    return sorted(_group(DETECTOR_GROUP))


def guardrail_names() -> list[str]:
    """Every registered async guardrail, sorted."""
    return sorted(_group(GUARDRAIL_GROUP))


def load(group: str, name: str) -> Callable[..., Any]:
    """The factory registered as ``name`` in ``group``; a readable error if there is none."""
    entry = _group(group).get(name)
    if entry is None:
        known = ", ".join(sorted(_group(group))) or "none"
        raise UnknownGuardrail(f"no {group.rsplit('.', 1)[-1][:-1]} named {name!r} (known: {known})")
    factory: Callable[..., Any] = entry.load()
    return factory
