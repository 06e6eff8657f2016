"""Network rules (issue 5): client addresses behind trusted proxies, IP allow-lists per organisation
and project, verified e-mail domains, and client certificates (mTLS) mapped to service accounts.

``sekisho.settings`` imports ``sekisho.network.settings``, which runs this file first; so only the
light modules are imported here, and the names that pull in the gateway, the database or the
settings module itself load on first use (PEP 562). The admin routes are in
``sekisho.network.admin`` (imported by ``build_app`` only: they depend on the admin API).
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from sekisho.network.addresses import IPAddress, Networks, parse_address, parse_network
from sekisho.network.client import TrustedProxies
from sekisho.network.context import current_scope, request_scope
from sekisho.network.settings import NetworkSettings, TlsSettings

if TYPE_CHECKING:
    from sekisho.network.domains import DnsUnavailable, TxtResolver, domain_policy, verified_org
    from sekisho.network.gate import NetworkGate, check_admin
    from sekisho.network.policy import NetworkPolicy, OrgNetworks
    from sekisho.network.services import NetworkServices, build_network
    from sekisho.network.tls import uvicorn_tls_options

_LAZY = {
    "DnsUnavailable": "sekisho.network.domains",
    "TxtResolver": "sekisho.network.domains",
    "domain_policy": "sekisho.network.domains",
    "verified_org": "sekisho.network.domains",
    "NetworkGate": "sekisho.network.gate",
    "check_admin": "sekisho.network.gate",
    "NetworkPolicy": "sekisho.network.policy",
    "OrgNetworks": "sekisho.network.policy",
    "NetworkServices": "sekisho.network.services",
    "build_network": "sekisho.network.services",
    "uvicorn_tls_options": "sekisho.network.tls",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'sekisho.network' has no attribute {name!r}")
    return getattr(importlib.import_module(module), name)


__all__ = [
    "DnsUnavailable",
    "IPAddress",
    "NetworkGate",
    "NetworkPolicy",
    "NetworkServices",
    "NetworkSettings",
    "Networks",
    "OrgNetworks",
    "TlsSettings",
    "TrustedProxies",
    "TxtResolver",
    "build_network",
    "check_admin",
    "current_scope",
    "domain_policy",
    "parse_address",
    "parse_network",
    "request_scope",
    "uvicorn_tls_options",
    "verified_org",
]
