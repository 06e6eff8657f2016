"""Turn a bearer token into a Principal, with a short per-process cache.

Looking a key up costs a database round trip; the cache keeps that off the hot path. A key revoked
through this process's admin API is dropped from the cache at once; one revoked elsewhere (another
replica, the CLI) stops working within ``ttl`` seconds.
"""

from __future__ import annotations

import asyncio
import logging
import time
from dataclasses import dataclass

import anyio

from sekisho.clock import utcnow
from sekisho.identity.keys import hash_key, same_secret, visible_prefix
from sekisho.identity.principal import Principal
from sekisho.identity.store import TenancyStore

log = logging.getLogger("sekisho.identity")


class AuthError(Exception):
    """Authentication failed; ``code`` is OpenAI's error code for it, ``status`` the HTTP status."""

    status = 401
    type = "invalid_request_error"

    def __init__(self, message: str, code: str = "invalid_api_key") -> None:
        super().__init__(message)
        self.code = code


class KeySuspended(AuthError):
    """The key is genuine but suspended by enforcement: 403, and the message says how to appeal."""

    status = 403
    type = "permission_error"

    def __init__(self, reason: str | None) -> None:
        super().__init__(suspended_message(reason), code="key_suspended")
        self.reason = reason


_APPEAL_EN = "See GET /v1/enforcement for the action id; appeal with POST /v1/appeals {action_id, text}."
_APPEAL_JA = (
    "措置の ID は GET /v1/enforcement で確認でき、"
    "POST /v1/appeals {action_id, text} で異議を申し立てられます。"
)


def suspended_message(reason: str | None) -> str:
    """Why the key cannot be used and how to appeal, in English and Japanese."""
    because_en = f" Reason: {reason}" if reason else ""
    because_ja = f"理由: {reason} " if reason else ""
    return (
        f"This API key is suspended and can only be used to appeal.{because_en} {_APPEAL_EN}"
        f" / この API キーは停止中のため、異議申し立てにのみ使えます。{because_ja}{_APPEAL_JA}"
    )


@dataclass(frozen=True, slots=True)
class _Entry:
    expires: float
    principal: Principal | None
    reason: str


MASTER = Principal(
    org_id=None, project_id=None, user_id=None, key_id=None, key_prefix="master", role="owner", superuser=True
)


class KeyAuthenticator:
    """Verifies API keys (and the optional master key)."""

    def __init__(self, store: TenancyStore, *, master_key: str | None, ttl: float) -> None:
        self._store = store
        self._master_key = master_key
        self._ttl = ttl
        self._cache: dict[str, _Entry] = {}
        self._refreshing: dict[str, asyncio.Task[None]] = {}

    async def authenticate(self, authorization: str | None, *, allow_suspended: bool = False) -> Principal:
        """The principal for an ``Authorization: Bearer …`` header, or AuthError.

        A suspended key raises KeySuspended unless ``allow_suspended`` (the appeal routes): the
        cache keeps its principal, so lifting the suspension here takes effect through ``forget``.
        """
        token = _bearer(authorization)
        if self._master_key is not None and same_secret(token, self._master_key):
            return MASTER
        digest = hash_key(token)
        now = time.monotonic()
        entry = self._cache.get(digest)
        if entry is None or entry.expires <= now:
            entry = await anyio.to_thread.run_sync(self._lookup, token, now)
            self._store_entry(digest, entry)
        elif entry.principal is not None and entry.expires - now < self._ttl / 2:
            # Refresh ahead: a key in use is re-read in the background during the second half of
            # its cache life, so busy keys never wait for the database, and an entry is still never
            # served past its expiry (revocation elsewhere takes effect within ``ttl``).
            self._refresh_in_background(digest, token)
        if entry.principal is None:
            raise AuthError(entry.reason.format(prefix=visible_prefix(token)))
        if entry.principal.suspended and not allow_suspended:
            raise KeySuspended(entry.principal.suspended_reason)
        return entry.principal

    def _store_entry(self, digest: str, entry: _Entry) -> None:
        if self._ttl > 0:
            if len(self._cache) > 100_000:
                self._cache.clear()
            self._cache[digest] = entry

    def _refresh_in_background(self, digest: str, token: str) -> None:
        if digest in self._refreshing:
            return

        async def refresh() -> None:
            try:
                entry = await anyio.to_thread.run_sync(self._lookup, token, time.monotonic())
                if digest in self._cache:  # not forgotten (revoked here) meanwhile
                    self._store_entry(digest, entry)
            except Exception:
                log.exception("background refresh of an API key failed; it will be read on next use")
                self._cache.pop(digest, None)
            finally:
                self._refreshing.pop(digest, None)

        self._refreshing[digest] = asyncio.get_running_loop().create_task(refresh())

    def forget(self, key_id: str) -> None:
        """Drop a key from the cache (after revocation or an enforcement change).

        Safe from a worker thread (enforcement runs there): it iterates over a snapshot and pops.
        """
        for digest, entry in list(self._cache.items()):
            if entry.principal is not None and entry.principal.key_id == key_id:
                self._cache.pop(digest, None)

    def _lookup(self, token: str, now: float) -> _Entry:
        expires = now + self._ttl
        record = self._store.find_key(token)
        if record is None:
            return _Entry(expires, None, "Incorrect API key provided: {prefix}…")
        key = record.key
        if key.revoked_at is not None:
            return _Entry(expires, None, "The API key {prefix}… has been revoked.")
        wall = utcnow()
        if key.expires_at is not None:
            if key.expires_at <= wall:
                return _Entry(expires, None, "The API key {prefix}… has expired.")
            # Never cache a key past its own expiry.
            expires = min(expires, now + (key.expires_at - wall).total_seconds())
        if not record.user_active:
            return _Entry(expires, None, "The API key {prefix}… belongs to a deactivated user.")
        principal = Principal(
            org_id=key.org_id,
            project_id=key.project_id,
            user_id=key.user_id,
            key_id=key.id,
            key_prefix=key.prefix,
            role=record.role,
            models=frozenset(key.models) if key.models is not None else None,
            org_slug=record.org_slug,
            project_slug=record.project_slug,
            suspended=key.suspended_at is not None or record.user_suspended,
            suspended_reason=key.suspended_reason
            if key.suspended_at is not None
            else record.user_suspended_reason,
            review_all=key.review_all or record.user_review_all,
            roles=record.access.org_roles,
            project_roles=record.access.project_roles,
        )
        return _Entry(expires, principal, "")


def _bearer(authorization: str | None) -> str:
    if not authorization:
        raise AuthError(
            "You didn't provide an API key. Send it in the Authorization header as 'Bearer YOUR_KEY'.",
            code="missing_api_key",
        )
    scheme, _, token = authorization.partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token:
        raise AuthError("The Authorization header must be 'Bearer YOUR_KEY'.", code="invalid_api_key")
    return token
