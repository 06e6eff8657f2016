"""The configuration reference names every settings key, so the docs stay true as settings grow."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

from pydantic import BaseModel

from sekisho.settings import Settings

DOC = Path(__file__).parents[1] / "docs" / "configuration.md"


def _keys(model: type[BaseModel], prefix: str = "") -> Iterator[str]:
    for name, field in model.model_fields.items():
        annotation = field.annotation
        if isinstance(annotation, type) and issubclass(annotation, BaseModel):
            yield from _keys(annotation, f"{prefix}{name}.")
        else:
            yield f"{prefix}{name}"


def _sections(text: str) -> dict[str, str]:
    """Body of each ``## `name` `` section."""
    parts = re.split(r"^## `([^`]+)`\s*$", text, flags=re.M)
    return {parts[i].rstrip("[]"): parts[i + 1] for i in range(1, len(parts) - 1, 2)}


def test_every_settings_key_is_documented() -> None:
    text = DOC.read_text(encoding="utf-8")
    sections = _sections(text)
    missing = []
    for key in _keys(Settings):
        top, _, rest = key.partition(".")
        leaf = rest or top
        in_section = f"`{leaf}`" in sections.get(top, "") or f"`{leaf}[]`" in sections.get(top, "")
        if f"`{key}" not in text and not in_section:
            missing.append(key)
    assert not missing, f"docs/configuration.md does not mention: {missing}"
