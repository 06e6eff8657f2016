"""The network domain's objects, made once by ``build_app`` through ``build_network``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from sekisho.audit import AuditLog
from sekisho.identity import TenancyStore
from sekisho.network.cert_store import ClientCertificateStore
from sekisho.network.certs import CertificateVerifier
from sekisho.network.client import TrustedProxies
from sekisho.network.domains import DomainStore, TxtResolver
from sekisho.network.gate import NetworkGate
from sekisho.network.mtls import ClientCertAuth
from sekisho.network.policy import NetworkPolicy
from sekisho.network.resolver import DnsPythonResolver
from sekisho.network.rules import NetworkRuleStore
from sekisho.network.settings import NetworkSettings


@dataclass(frozen=True, slots=True)
class NetworkServices:
    """Allow-lists, verified domains and client certificates, for the routes and the gateway."""

    settings: NetworkSettings
    trusted: TrustedProxies
    rules: NetworkRuleStore
    policy: NetworkPolicy
    domains: DomainStore
    certificates: ClientCertificateStore
    verifier: CertificateVerifier | None
    gate: NetworkGate


def build_network(
    settings: NetworkSettings,
    engine: Engine,
    audit: AuditLog,
    tenancy: TenancyStore,
    *,
    cache_seconds: float,
    resolver: TxtResolver | None = None,
) -> NetworkServices:
    """Everything the network domain needs. ValueError when the client CA file cannot be used.

    ``cache_seconds`` bounds how long a revoked client-certificate mapping keeps working on other
    replicas (the same promise as for API keys); ``resolver`` replaces the DNS resolver.
    """
    trusted = TrustedProxies(settings.trusted_proxies)
    rules = NetworkRuleStore(engine, audit)
    policy = NetworkPolicy(rules, ttl=settings.rules_cache_seconds)
    certificates = ClientCertificateStore(engine, audit, tenancy)
    verifier = CertificateVerifier(settings.client_ca_file) if settings.client_ca_file else None
    auth = (
        ClientCertAuth(verifier, certificates, header=settings.client_cert_header, ttl=cache_seconds)
        if verifier is not None
        else None
    )
    return NetworkServices(
        settings=settings,
        trusted=trusted,
        rules=rules,
        policy=policy,
        domains=DomainStore(engine, audit, resolver or DnsPythonResolver.from_settings(settings)),
        certificates=certificates,
        verifier=verifier,
        gate=NetworkGate(trusted, policy, auth),
    )
