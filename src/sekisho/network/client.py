"""The address a request really comes from.

The TCP peer is the client unless the peer is one of the operator's trusted reverse proxies; then
the client is found in ``X-Forwarded-For`` by walking it from the right, skipping addresses of
trusted proxies, and taking the first one that is not trusted. Everything to the left of that
entry was written by the client itself and proves nothing, so a client cannot choose its address
by sending the header; and a header from a peer that is not a trusted proxy is ignored entirely.
"""

from __future__ import annotations

from collections.abc import Iterable

from starlette.types import Scope

from sekisho.network.addresses import IPAddress, Networks, parse_address

_XFF = b"x-forwarded-for"


class TrustedProxies:
    """The operator's trusted proxies and the client-address rule that depends on them."""

    def __init__(self, entries: Iterable[str]) -> None:
        self.networks = Networks.parse(entries)

    def peer(self, scope: Scope) -> IPAddress | None:
        """The TCP peer of the connection (None for a Unix socket or an in-process client)."""
        client = scope.get("client")
        if not client:
            return None
        return parse_address(client[0])

    def is_trusted(self, address: IPAddress | None) -> bool:
        """True when ``address`` is one of the trusted proxies."""
        return address is not None and address in self.networks

    def client_address(self, scope: Scope) -> IPAddress | None:
        """The client's address, or None when it cannot be known (then allow-lists deny)."""
        peer = self.peer(scope)
        if peer is None or not self.networks or peer not in self.networks:
            return peer
        hops = _forwarded_for(scope)
        if not hops:
            return peer
        address: IPAddress | None = peer
        for hop in reversed(hops):
            address = parse_address(hop)
            if address is None:
                # Garbage written by (or passed on by) the trusted proxy to its right: the client
                # cannot be identified, and guessing would let the garbage choose the answer.
                return None
            if address not in self.networks:
                return address
        # Every hop is a trusted proxy: the left-most is the closest thing to a client there is.
        return address


def _forwarded_for(scope: Scope) -> list[str]:
    """Every X-Forwarded-For entry in order; several header lines are one comma-separated list.

    ASGI servers give header names in lower case, so they are compared as they are.
    """
    hops: list[str] = []
    for name, value in scope.get("headers") or ():
        if name == _XFF:
            hops.extend(value.decode("latin-1").split(","))
    return [hop for hop in hops if hop and not hop.isspace()]
