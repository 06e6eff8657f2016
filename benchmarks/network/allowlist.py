#!/usr/bin/env python3
"""Cost of the IP allow-list check on the request path, beside the check a user would write.

Rows:
- ``sekisho allows()``: ``OrgNetworks.allows`` on cached rules (integer mask-and-compare per rule);
- ``sekisho check_call()``: the whole per-request work of the Authenticate stage's network step
  (cache look-up, client address from the scope behind a trusted proxy, org and project rules);
- ``ipaddress any(in)``: ``any(address in network for network in networks)`` over
  ``ipaddress`` objects, the obvious hand-written check.

Each figure is the fastest of nine ``timeit`` repeats, in nanoseconds per check, for an address
that matches only the last rule, of both the organisation and the project (the worst case for an
allowed call: every rule is tried twice). Run:
``.venv/bin/python benchmarks/network/allowlist.py``.
"""

from __future__ import annotations

import ipaddress
import random
import timeit
from typing import Any

from sekisho.identity import Principal
from sekisho.network.addresses import Networks
from sekisho.network.client import TrustedProxies
from sekisho.network.context import request_scope
from sekisho.network.gate import NetworkGate
from sekisho.network.policy import NetworkPolicy, OrgNetworks, _Entry

SIZES = (1, 10, 100, 1000)


def networks(version: int, count: int, rng: random.Random) -> list[Any]:
    bits = 32 if version == 4 else 128
    prefix = 24 if version == 4 else 48
    out = []
    for _ in range(count):
        # Never 198.51.100.0/24 or 2001:db8:ffff::/48, the probes below, so every rule is tried.
        value = rng.getrandbits(bits)
        net = ipaddress.ip_network((value, prefix), strict=False)
        if str(net) in ("198.51.100.0/24", "2001:db8:ffff::/48"):
            continue
        out.append(net)
    return out


def per_call_ns(fn: Any, number: int) -> float:
    # The minimum of the repeats: on a shared machine, slower runs measure the neighbours.
    runs = timeit.repeat(fn, number=number, repeat=9)
    return min(runs) / number * 1e9


class _NoRules:
    """Stands in for the rule store: the benchmark fills the policy's cache directly."""

    def __init__(self) -> None:
        self.on_change: list[Any] = []


def gate_with(org: OrgNetworks) -> NetworkGate:
    policy = NetworkPolicy(_NoRules(), ttl=3600)  # type: ignore[arg-type]
    policy._cache["org_1"] = _Entry(float("inf"), org)
    return NetworkGate(TrustedProxies(["10.0.0.0/8"]), policy, None)


def drive(coroutine: Any) -> None:
    """Run a coroutine that never suspends (the cached path) without an event loop's overhead."""
    try:
        coroutine.send(None)
    except StopIteration:
        return
    raise RuntimeError("the check suspended: the rules were not cached")


PRINCIPAL = Principal(
    org_id="org_1", project_id="proj_1", user_id="u", key_id="k", key_prefix="sk-", role="member"
)


def row(version: int, probe_text: str, size: int, rng: random.Random) -> tuple[float, float, float]:
    """(allows, check_call, hand-written) nanoseconds per check with ``size`` rules."""
    probe = ipaddress.ip_address(probe_text)
    home = ipaddress.ip_network(f"{probe_text}/{24 if version == 4 else 48}", strict=False)
    # The caller's network is the last rule: every other rule is tried first (worst case).
    nets = [*networks(version, size - 1, rng), home]
    org = OrgNetworks(Networks(nets), {"proj_1": Networks(nets)})
    if not org.allows(probe, "proj_1"):
        raise RuntimeError("the probe should be allowed")
    number = max(2000, 200_000 // size)
    gate = gate_with(org)
    scope = {
        "type": "http",
        "client": ("10.1.2.3", 40000),
        "headers": [(b"x-forwarded-for", f"6.6.6.6, {probe_text}".encode())],
    }

    def whole() -> None:
        with request_scope(scope):
            drive(gate.check_call(PRINCIPAL))

    def by_hand() -> bool:
        return any(probe in n for n in nets) and any(probe in n for n in nets)

    fast = per_call_ns(lambda: org.allows(probe, "proj_1"), number)
    return fast, per_call_ns(whole, number), per_call_ns(by_hand, number)


def main() -> None:
    rng = random.Random(7)
    print(f"{'rules':>6} {'ip':>4} {'sekisho allows()':>18} {'sekisho check_call()':>22} ", end="")
    print(f"{'ipaddress any(in)':>19}")
    for version, probe_text in ((4, "198.51.100.7"), (6, "2001:db8:ffff::7")):
        for size in SIZES:
            fast, total, naive = row(version, probe_text, size, rng)
            print(f"{size:>6} {'v' + str(version):>4} {fast:>15.0f} ns {total:>19.0f} ns {naive:>16.0f} ns")


if __name__ == "__main__":
    main()
