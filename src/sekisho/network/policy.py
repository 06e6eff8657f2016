"""The allow-list check on the request path, with a short per-process cache of each organisation's rules.

A cached check costs a dictionary look-up and a few integer operations per rule (see
``benchmarks/network/allowlist.py``). Changes made through this process's admin API drop the
organisation from the cache at once; changes made through another replica take effect within
``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import ipaddress
import logging
import time
from collections.abc import Mapping
from dataclasses import dataclass, field

import anyio

from sekisho.network.addresses import IPAddress, IPNetwork, Networks
from sekisho.network.rules import NetworkRuleStore

log = logging.getLogger("sekisho.network")


@dataclass(frozen=True, slots=True)
class OrgNetworks:
    """One organisation's allow-lists: org-wide, and per project. None means "no rule": open."""

    org: Networks | None = None
    projects: Mapping[str, Networks] = field(default_factory=dict)

    def allows_org(self, address: IPAddress | None) -> bool:
        """The org-wide rule (the admin API and every model call)."""
        return self.org is None or (address is not None and address in self.org)

    def allows(self, address: IPAddress | None, project_id: str | None) -> bool:
        """The org-wide rule and, for a project with rules, the project's too."""
        if self.org is not None and (address is None or address not in self.org):
            return False
        if project_id is not None:
            networks = self.projects.get(project_id)
            if networks is not None and (address is None or address not in networks):
                return False
        return True


OPEN = OrgNetworks()


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    networks: OrgNetworks


class NetworkPolicy:
    """Answers "may this address reach this organisation (and project)?" from cached rules."""

    def __init__(self, store: NetworkRuleStore, *, ttl: float) -> None:
        self._store = store
        self._ttl = ttl
        self._cache: dict[str, _Entry] = {}
        # Bumped by ``forget``: a load that started before a change must not cache what it read.
        self._generation: dict[str, int] = {}
        self._loading: dict[str, asyncio.Task[OrgNetworks]] = {}
        store.on_change.append(self.forget)

    def cached(self, org_id: str) -> OrgNetworks | None:
        """The organisation's rules if the cache holds them fresh; no I/O (the fast path)."""
        entry = self._cache.get(org_id)
        if entry is not None and entry.expires > time.monotonic():
            return entry.networks
        return None

    async def networks(self, org_id: str) -> OrgNetworks:
        """The organisation's rules, read from the database when the cache has none fresh.

        Concurrent misses for one organisation share a single read, run as its own task so that a
        client hanging up does not cancel it for the others.
        """
        cached = self.cached(org_id)
        if cached is not None:
            return cached
        task = self._loading.get(org_id)
        if task is None:
            task = asyncio.get_running_loop().create_task(self._refresh(org_id))
            # Read the outcome even when every waiter has gone, so a failure is not reported twice.
            task.add_done_callback(lambda t: t.cancelled() or t.exception())
            self._loading[org_id] = task
        return await asyncio.shield(task)

    async def _refresh(self, org_id: str) -> OrgNetworks:
        generation = self._generation.get(org_id, 0)
        try:
            networks = await anyio.to_thread.run_sync(self.load, org_id)
        finally:
            self._loading.pop(org_id, None)
        if self._ttl > 0 and self._generation.get(org_id, 0) == generation:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[org_id] = _Entry(time.monotonic() + self._ttl, networks)
        return networks

    async def allows(self, address: IPAddress | None, org_id: str, project_id: str | None) -> bool:
        """May ``address`` call models of ``project_id`` in ``org_id``?"""
        return (await self.networks(org_id)).allows(address, project_id)

    def load(self, org_id: str) -> OrgNetworks:
        """Read and compile the organisation's rules (blocking)."""
        org: list[IPNetwork] = []
        has_org = False
        by_project: dict[str, list[IPNetwork]] = {}
        for rule in self._store.list(org_id):
            bucket = org if rule.project_id is None else by_project.setdefault(rule.project_id, [])
            has_org = has_org or rule.project_id is None
            try:
                bucket.append(ipaddress.ip_network(rule.cidr, strict=False))
            except ValueError:
                # A rule that cannot be read still counts as a rule, so the scope stays closed
                # rather than opening to everyone.
                log.error("network rule %s has an unreadable network %r; ignored", rule.id, rule.cidr)
        if not has_org and not by_project:
            return OPEN
        return OrgNetworks(
            Networks(org) if has_org else None, {p: Networks(n) for p, n in by_project.items()}
        )

    def forget(self, org_id: str) -> None:
        """Drop the organisation's cached rules (after a change in this process)."""
        self._generation[org_id] = self._generation.get(org_id, 0) + 1
        self._cache.pop(org_id, None)
