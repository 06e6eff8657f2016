"""IP addresses and networks: parsing what people type, and a fast membership test.

``Networks.__contains__`` sits on the request path of every model call of an organisation with an
allow-list, so each network is kept as two integers (address, mask) and a test is an AND and a
compare per network, instead of ``ipaddress``'s attribute walk (several times slower).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable
from functools import lru_cache

IPAddress = ipaddress.IPv4Address | ipaddress.IPv6Address
IPNetwork = ipaddress.IPv4Network | ipaddress.IPv6Network


@lru_cache(maxsize=4096)
def parse_address(text: str) -> IPAddress | None:
    """An address from a header or a socket, or None when it is not one.

    Accepts ``1.2.3.4``, ``1.2.3.4:5678``, ``2001:db8::1``, ``[2001:db8::1]`` and
    ``[2001:db8::1]:443`` (some proxies append the port). An IPv4-mapped IPv6 address
    (``::ffff:1.2.3.4``, what a dual-stack socket reports) becomes the IPv4 address, so one rule
    matches however the connection arrived. Results are cached: ``ipaddress`` takes microseconds
    to parse, and the same few addresses arrive again and again.
    """
    value = text.strip()
    if value.startswith("["):
        value = value[1:].partition("]")[0]
    elif value.count(":") == 1:
        value = value.partition(":")[0]
    try:
        address = ipaddress.ip_address(value)
    except ValueError:
        return None
    if isinstance(address, ipaddress.IPv6Address) and address.ipv4_mapped is not None:
        return address.ipv4_mapped
    return address


def parse_network(text: str) -> IPNetwork:
    """A network from ``10.0.0.0/8``, ``2001:db8::/32`` or a single address (a /32 or /128).

    Host bits must be zero: ``10.0.0.1/8`` is refused rather than widened to ``10.0.0.0/8``, since
    the person who typed it more likely meant one address than sixteen million.
    """
    value = text.strip()
    if not value:
        raise ValueError("an empty network")
    try:
        network = ipaddress.ip_network(value, strict=True)
    except ValueError as exc:
        try:
            widened = ipaddress.ip_network(value, strict=False)
        except ValueError:
            raise ValueError(f"{text!r} is not an IP address or CIDR network") from exc
        raise ValueError(
            f"{text!r} has host bits set; write {widened} for the whole network "
            f"or {value.partition('/')[0]} for one address"
        ) from exc
    if isinstance(network, ipaddress.IPv6Network) and network.network_address.ipv4_mapped is not None:
        raise ValueError(f"{text!r}: write IPv4-mapped networks as IPv4")
    return network


class Networks:
    """An immutable set of networks with an O(n) membership test of integer operations."""

    __slots__ = ("_v4", "_v6", "networks")

    def __init__(self, networks: Iterable[IPNetwork]) -> None:
        self.networks: tuple[IPNetwork, ...] = tuple(networks)
        self._v4 = tuple((int(n.network_address), int(n.netmask)) for n in self.networks if n.version == 4)
        self._v6 = tuple((int(n.network_address), int(n.netmask)) for n in self.networks if n.version == 6)

    @classmethod
    def parse(cls, entries: Iterable[str]) -> Networks:
        """From strings; non-strict, for operator settings (trusted proxies) already validated."""
        return cls(ipaddress.ip_network(e.strip(), strict=False) for e in entries)

    def __contains__(self, address: object) -> bool:
        if isinstance(address, ipaddress.IPv4Address):
            pairs = self._v4
        elif isinstance(address, ipaddress.IPv6Address):
            pairs = self._v6
        else:
            return False
        value = int(address)
        for network, mask in pairs:
            if value & mask == network:
                return True
        return False

    def __bool__(self) -> bool:
        return bool(self.networks)

    def __len__(self) -> int:
        return len(self.networks)

    def __repr__(self) -> str:
        return f"Networks({', '.join(str(n) for n in self.networks)})"
