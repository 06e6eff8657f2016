"""API key format, generation and hashing."""

from __future__ import annotations

import hashlib
import hmac
import secrets

KEY_PREFIX = "sk-sks-"
_PREFIX_SHOWN = len(KEY_PREFIX) + 8


def generate_key() -> str:
    """A new key: ``sk-sks-`` and 32 url-safe random bytes (about 256 bits)."""
    return KEY_PREFIX + secrets.token_urlsafe(32)


def hash_key(key: str) -> str:
    """SHA-256 hex digest under which the key is stored."""
    return hashlib.sha256(key.encode("utf-8")).hexdigest()


def visible_prefix(key: str) -> str:
    """The part of a key that may be shown and logged (``sk-sks-AbCdEfGh``)."""
    return key[:_PREFIX_SHOWN]


def same_secret(a: str, b: str) -> bool:
    """Constant-time comparison for secrets."""
    return hmac.compare_digest(a.encode("utf-8"), b.encode("utf-8"))
