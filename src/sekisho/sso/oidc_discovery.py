"""OpenID provider metadata and signing keys, fetched by discovery and cached per issuer.

Keys rotate: a token signed with a key id the cached set does not know makes one fresh fetch of the
JWKS, at most once per ``_REFRESH_GAP`` per issuer, so tokens with made-up key ids cannot turn
Sekisho into a loop of requests against the provider.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import httpx
from joserfc.errors import JoseError
from joserfc.jwk import KeySet

from sekisho.sso.provision import SsoDenied

_TTL = 3600.0
_REFRESH_GAP = 30.0
_MAX_DOCUMENT = 512 * 1024


@dataclass(slots=True)
class _Entry:
    value: Any
    fetched: float


class Discovery:
    """Provider metadata and JWKS per issuer, over real HTTP (``transport`` for embedding)."""

    def __init__(
        self,
        *,
        timeout: float = 10.0,
        transport: httpx.AsyncBaseTransport | None = None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self.timeout = timeout
        self.transport = transport
        self._clock = clock
        self._metadata: dict[str, _Entry] = {}
        self._keys: dict[str, _Entry] = {}

    def client(self, **kwargs: Any) -> httpx.AsyncClient:
        """An HTTP client for talking to providers (no redirects followed: endpoints are exact)."""
        return httpx.AsyncClient(timeout=self.timeout, transport=self.transport, **kwargs)

    async def metadata(self, issuer: str) -> dict[str, Any]:
        """The provider's discovery document, checked to name ``issuer`` as its issuer."""
        entry = self._metadata.get(issuer)
        if entry is not None and self._clock() - entry.fetched < _TTL:
            return dict(entry.value)
        url = issuer.rstrip("/") + "/.well-known/openid-configuration"
        document = await self._get_json(url)
        # OpenID Connect Discovery §4.3: the document must name the very issuer it was fetched
        # for, or an attacker-controlled document could speak for another provider.
        if document.get("issuer") != issuer:
            raise SsoDenied(
                "The identity provider's discovery document names a different issuer.", "issuer_mismatch", 502
            )
        for field in ("authorization_endpoint", "token_endpoint", "jwks_uri"):
            if not isinstance(document.get(field), str):
                raise SsoDenied(f"The identity provider publishes no {field}.", "idp_metadata_invalid", 502)
        self._metadata[issuer] = _Entry(document, self._clock())
        return dict(document)

    async def keys(self, issuer: str, *, refresh: bool = False) -> KeySet:
        """The provider's public signing keys; ``refresh`` re-fetches them (rate-limited)."""
        entry = self._keys.get(issuer)
        now = self._clock()
        if entry is not None:
            fresh = now - entry.fetched < _TTL
            if (fresh and not refresh) or (refresh and now - entry.fetched < _REFRESH_GAP):
                keyset: KeySet = entry.value
                return keyset
        metadata = await self.metadata(issuer)
        document = await self._get_json(metadata["jwks_uri"])
        try:
            # Only public keys: a private or symmetric key in a JWKS is a misconfiguration, and
            # an HMAC "key" published for everyone would let anyone sign tokens.
            keys = [k for k in document.get("keys", []) if isinstance(k, dict) and k.get("kty") != "oct"]
            keyset = KeySet.import_key_set({"keys": keys})
        except (JoseError, ValueError, TypeError) as exc:
            raise SsoDenied(
                "The identity provider's signing keys are unreadable.", "idp_jwks_invalid", 502
            ) from exc
        self._keys[issuer] = _Entry(keyset, now)
        return keyset

    def forget(self, issuer: str) -> None:
        """Drop what is cached for ``issuer`` (its configuration changed)."""
        self._metadata.pop(issuer, None)
        self._keys.pop(issuer, None)

    async def _get_json(self, url: str) -> dict[str, Any]:
        try:
            async with self.client() as http:
                response = await http.get(url, headers={"accept": "application/json"})
        except httpx.HTTPError as exc:
            raise SsoDenied("The identity provider cannot be reached.", "idp_unreachable", 502) from exc
        if response.status_code != 200 or len(response.content) > _MAX_DOCUMENT:
            # No status or body in the message: the issuer is an admin's input, and the answer
            # must not become a way to probe what else this server can reach.
            raise SsoDenied("The identity provider's metadata could not be fetched.", "idp_unreachable", 502)
        try:
            document = response.json()
        except ValueError as exc:
            raise SsoDenied(
                "The identity provider answered with something other than JSON.", "idp_bad_answer", 502
            ) from exc
        if not isinstance(document, dict):
            raise SsoDenied(
                "The identity provider answered with something other than JSON.", "idp_bad_answer", 502
            )
        return document
