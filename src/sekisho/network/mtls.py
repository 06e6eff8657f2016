"""Authenticating a /v1 request by its client certificate (mTLS), with a short per-process cache.

The certificate comes from the TLS connection (``scope["extensions"]["tls"]``, filled by
``sekisho.network.tls`` when ``sekisho serve`` terminates TLS) or, behind a TLS-terminating proxy,
from the configured header — believed only when the TCP peer is a trusted proxy. Either way Sekisho
verifies it against ``network.client_ca_file`` itself before looking up its mapping.
"""

from __future__ import annotations

import hashlib
import time
from dataclasses import dataclass
from typing import Literal

import anyio
from starlette.types import Scope

from sekisho.clock import utcnow
from sekisho.identity import AuthError, Principal
from sekisho.identity.authenticate import KeySuspended
from sekisho.network.cert_store import ClientCertificateStore
from sekisho.network.certs import CertificateError, CertificateVerifier, chain_from_header, load_pem_chain
from sekisho.network.client import TrustedProxies

Source = Literal["tls", "header"]
CODE = "invalid_client_certificate"


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    principal: Principal | None
    reason: str


class ClientCertAuth:
    """Client certificate → Principal of the mapped service account, or AuthError (401)."""

    def __init__(
        self,
        verifier: CertificateVerifier,
        store: ClientCertificateStore,
        *,
        header: str | None,
        ttl: float,
    ) -> None:
        self._verifier = verifier
        self._store = store
        self._header = header.lower().encode("latin-1") if header else None
        self._ttl = ttl
        self._cache: dict[str, _Entry] = {}

    def presented(self, scope: Scope, trusted: TrustedProxies) -> tuple[Source, str] | None:
        """Where the request's certificate is and its text; None when it brought none."""
        tls = (scope.get("extensions") or {}).get("tls") or {}
        chain = tls.get("client_cert_chain")
        if chain:
            return "tls", "".join(chain)
        if self._header is None or not trusted.is_trusted(trusted.peer(scope)):
            return None
        for name, value in scope.get("headers") or ():
            if name.lower() == self._header and value.strip():
                return "header", value.decode("latin-1")
        return None

    async def authenticate(self, scope: Scope, trusted: TrustedProxies) -> Principal | None:
        """The mapped principal; None when no certificate came; AuthError when it is refused."""
        presented = self.presented(scope, trusted)
        if presented is None:
            return None
        source, text = presented
        digest = hashlib.sha256(f"{source}\0{text}".encode()).hexdigest()
        now = time.monotonic()
        entry = self._cache.get(digest)
        if entry is None or entry.expires <= now:
            entry = await anyio.to_thread.run_sync(self._lookup, source, text, now)
            if self._ttl > 0:
                if len(self._cache) > 10_000:
                    self._cache.clear()
                self._cache[digest] = entry
        if entry.principal is None:
            raise AuthError(entry.reason, code=CODE)
        if entry.principal.suspended:
            raise KeySuspended(entry.principal.suspended_reason)
        return entry.principal

    def forget(self) -> None:
        """Drop every cached result (after a mapping is revoked in this process)."""
        self._cache.clear()

    def _lookup(self, source: Source, text: str, now: float) -> _Entry:
        expires = now + self._ttl
        try:
            chain = load_pem_chain(text) if source == "tls" else chain_from_header(text)
            verified = self._verifier.verify(chain[0], chain[1:])
        except CertificateError as exc:
            return _Entry(expires, None, f"The client certificate was refused: {exc}.")
        # Never cache a certificate past its own expiry.
        expires = min(expires, now + (verified.not_after - utcnow()).total_seconds())
        found = self._store.principal_for(verified.fingerprint_sha256, verified.subject)
        if isinstance(found, str):
            return _Entry(expires, None, found)
        return _Entry(expires, found, "")
