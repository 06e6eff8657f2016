"""Operator settings for network rules and mutual TLS (issue 5). IP allow-lists themselves are kept
per organisation and project at run time (``network_rules``)."""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, field_validator, model_validator


class TlsSettings(BaseModel):
    """HTTPS served by ``sekisho serve`` itself (no TLS-terminating proxy in front)."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    cert_file: Path = Field(description="PEM file with the server certificate (and its intermediates).")
    key_file: Path = Field(description="PEM file with the server certificate's private key.")
    key_password: str | None = Field(None, description="Password of an encrypted key file.")
    client_cert: Literal["none", "optional", "required"] = Field(
        "optional",
        description="Ask clients for a certificate issued by `network.client_ca_file`: "
        "optional lets API-key clients in too; required refuses the TLS handshake without one. "
        "Ignored (none) when no client CA is configured.",
    )


class NetworkSettings(BaseModel):
    """Client addresses, allow-lists and mTLS."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    trusted_proxies: list[str] = Field(
        default_factory=list,
        description="Addresses or CIDR networks of reverse proxies whose X-Forwarded-For is believed. "
        "From any other peer the header is ignored and the TCP peer address is the client.",
    )
    rules_cache_seconds: float = Field(
        2.0,
        ge=0,
        description="How long a process keeps an organisation's IP allow-list; a change made through "
        "another replica takes effect within this time (at once on the replica that made it).",
    )
    client_ca_file: Path | None = Field(
        None,
        description="PEM bundle of the certificate authorities that issue client certificates. "
        "Setting it turns on mTLS: a /v1 request without an API key may authenticate with a client "
        "certificate mapped to a service account (admin API: /admin/v1/client-certificates).",
    )
    client_cert_header: str | None = Field(
        None,
        description="Header in which a TLS-terminating proxy forwards the client certificate "
        "(URL-encoded PEM, e.g. nginx's $ssl_client_escaped_cert as X-SSL-Client-Cert, or Envoy's "
        "X-Forwarded-Client-Cert). Believed only from `trusted_proxies`; Sekisho verifies the "
        "certificate against `client_ca_file` itself.",
    )
    tls: TlsSettings | None = Field(
        None, description="Serve HTTPS directly, optionally asking for client certificates."
    )
    dns_nameservers: list[str] = Field(
        default_factory=list,
        description="DNS servers (address or address:port) asked for domain-verification TXT "
        "records; default: the system resolver configuration.",
    )
    dns_timeout_seconds: float = Field(
        5.0, gt=0, le=60, description="How long a domain verification waits for DNS."
    )

    @field_validator("trusted_proxies")
    @classmethod
    def _networks(cls, value: list[str]) -> list[str]:
        for entry in value:
            try:
                ipaddress.ip_network(entry.strip(), strict=False)
            except ValueError:
                raise ValueError(f"{entry!r} is not an IP address or CIDR network") from None
        return value

    @field_validator("dns_nameservers")
    @classmethod
    def _nameservers(cls, value: list[str]) -> list[str]:
        for entry in value:
            split_host_port(entry)
        return value

    @field_validator("client_cert_header")
    @classmethod
    def _header(cls, value: str | None) -> str | None:
        return value.strip().lower() if value else None

    @model_validator(mode="after")
    def _check(self) -> NetworkSettings:
        if self.client_cert_header and self.client_ca_file is None:
            raise ValueError("network.client_cert_header needs network.client_ca_file to verify with")
        if self.client_cert_header and not self.trusted_proxies:
            raise ValueError(
                "network.client_cert_header is only believed from network.trusted_proxies; list the proxy"
            )
        return self

    @property
    def client_cert_mode(self) -> Literal["none", "optional", "required"]:
        """What the native TLS server asks of clients."""
        if self.tls is None or self.client_ca_file is None:
            return "none"
        return self.tls.client_cert


def split_host_port(entry: str) -> tuple[str, int]:
    """``"10.0.0.53"`` → (address, 53); ``"127.0.0.1:5353"`` and ``"[::1]:5353"`` carry a port."""
    text = entry.strip()
    host, port = text, 53
    if text.startswith("["):
        host, _, rest = text[1:].partition("]")
        if rest:
            if not rest.startswith(":") or not rest[1:].isdigit():
                raise ValueError(f"{entry!r} is not address or address:port")
            port = int(rest[1:])
    elif text.count(":") == 1:
        host, _, raw = text.partition(":")
        if not raw.isdigit():
            raise ValueError(f"{entry!r} is not address or address:port")
        port = int(raw)
    try:
        ipaddress.ip_address(host)
    except ValueError:
        raise ValueError(f"{entry!r}: a DNS server is named by its IP address") from None
    if not 0 < port < 65536:
        raise ValueError(f"{entry!r}: port out of range")
    return host, port
