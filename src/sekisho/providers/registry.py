"""Provider types by name, loaded from the ``sekisho.providers`` entry point group.

Built-in providers register through the same entry points a third-party package would use, so a
package that declares ``[project.entry-points."sekisho.providers"] mytype = "pkg:Class"`` adds a
provider type without touching Sekisho.
"""

from __future__ import annotations

from importlib.metadata import entry_points
from typing import Any

from sekisho.providers.base import Provider
from sekisho.settings import ConfigError, ProviderSettings

GROUP = "sekisho.providers"


def provider_types() -> dict[str, Any]:
    """Entry point name → entry point, for every installed provider type."""
    return {ep.name: ep for ep in entry_points(group=GROUP)}


def create_provider(settings: ProviderSettings, **kwargs: Any) -> Provider:
    """Instantiate the provider class registered for ``settings.type``."""
    types = provider_types()
    entry = types.get(settings.type)
    if entry is None:
        known = ", ".join(sorted(types)) or "none"
        raise ConfigError(f"provider {settings.name!r}: unknown type {settings.type!r} (installed: {known})")
    cls = entry.load()
    provider: Provider = cls(settings, **kwargs)
    return provider
