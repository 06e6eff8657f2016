"""TXT look-ups for domain verification with dnspython's asyncio resolver."""

from __future__ import annotations

import dns.asyncresolver
import dns.exception
import dns.nameserver
import dns.rdatatype
import dns.resolver

from sekisho.network.domains import DnsUnavailable
from sekisho.network.settings import NetworkSettings, split_host_port


class DnsPythonResolver:
    """The production ``TxtResolver``: the system's DNS servers, or ``network.dns_nameservers``."""

    def __init__(self, nameservers: list[str], *, timeout: float) -> None:
        self._timeout = timeout
        if nameservers:
            resolver = dns.asyncresolver.Resolver(configure=False)
            resolver.nameservers = [
                dns.nameserver.Do53Nameserver(host, port)
                for host, port in (split_host_port(n) for n in nameservers)
            ]
        else:
            try:
                resolver = dns.asyncresolver.Resolver()
            except dns.resolver.NoResolverConfiguration:
                # A container without /etc/resolv.conf: answer "DNS unavailable" when asked,
                # rather than refusing to start over a feature that may never be used.
                resolver = dns.asyncresolver.Resolver(configure=False)
        self._resolver = resolver

    @classmethod
    def from_settings(cls, settings: NetworkSettings) -> DnsPythonResolver:
        """The resolver described by the network settings."""
        return cls(settings.dns_nameservers, timeout=settings.dns_timeout_seconds)

    async def txt(self, name: str) -> list[str]:
        """Every TXT record of ``name``, each record's character strings joined (RFC 7208 §3.3)."""
        if not self._resolver.nameservers:
            raise DnsUnavailable("no DNS server is configured")
        absolute = name if name.endswith(".") else f"{name}."
        try:
            answer = await self._resolver.resolve(
                absolute, dns.rdatatype.TXT, search=False, lifetime=self._timeout
            )
        except (dns.resolver.NXDOMAIN, dns.resolver.NoAnswer, dns.resolver.YXDOMAIN):
            return []
        except (dns.resolver.NoNameservers, dns.exception.Timeout) as exc:
            raise DnsUnavailable(str(exc)) from exc
        records: list[str] = []
        for rdata in answer:
            strings = getattr(rdata, "strings", ())
            records.append(b"".join(strings).decode("utf-8", errors="replace"))
        return records
