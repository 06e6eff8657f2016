"""The policy in force for a caller, cached per process for a few seconds.

A saved version takes effect on this replica at once (``invalidate``) and on the others within
``ttl`` seconds — the same promise API-key revocation makes. Compiling happens once per change, not
per request.
"""

from __future__ import annotations

import time
from dataclasses import dataclass

import anyio

from sekisho.policy.compile import CompiledPolicy, compile_layers
from sekisho.policy.store import PolicyStore


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    labels: tuple[str, ...]
    policy: CompiledPolicy


class PolicyResolver:
    """``effective(org, project)`` → CompiledPolicy."""

    def __init__(self, store: PolicyStore, *, ttl: float = 2.0) -> None:
        self.store = store
        self._ttl = ttl
        self._cache: dict[tuple[str, str | None], _Entry] = {}

    async def effective(self, org_id: str, project_id: str | None) -> CompiledPolicy:
        """The layered policy for this organisation and project."""
        key = (org_id, project_id)
        now = time.monotonic()
        entry = self._cache.get(key)
        if entry is not None and entry.expires > now:
            return entry.policy
        layers = await anyio.to_thread.run_sync(self.store.layers, org_id, project_id)
        labels = tuple(layer.label for layer in layers)
        if entry is not None and entry.labels == labels:
            policy = entry.policy  # unchanged since last read: keep the compiled one
        else:
            policy = compile_layers(layers)
        if len(self._cache) > 10_000:
            self._cache.clear()
        self._cache[key] = _Entry(now + self._ttl, labels, policy)
        return policy

    def invalidate(self, org_id: str) -> None:
        """Forget an organisation's cached policies (after a save through this process)."""
        for key in [k for k in self._cache if k[0] == org_id]:
            del self._cache[key]
