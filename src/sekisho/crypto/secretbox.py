"""Seal small secrets (TOTP seeds, IdP client secrets, PKCE verifiers) with AES-256-GCM.

The key comes from ``SEKISHO_SECRETS_KEY`` (base64 of 32 bytes; give every replica the same one) or,
by default, from ``<data_dir>/keys/secrets.key``, created on first use readable by its owner only.
``aad`` binds a sealed value to where it is stored (say ``users.mfa_secret:<user id>``), so a value
copied into another row or column fails to open instead of being silently accepted.
"""

from __future__ import annotations

import base64
import binascii
import os
import secrets
from pathlib import Path

from cryptography.exceptions import InvalidTag
from cryptography.hazmat.primitives.ciphers.aead import AESGCM

_VERSION = "v1"
KEY_ENV = "SEKISHO_SECRETS_KEY"


class SecretBoxError(Exception):
    """A sealed value cannot be opened: wrong key, wrong row, or tampered with."""


class SecretBox:
    """Authenticated encryption of short secrets under one 256-bit key."""

    def __init__(self, key: bytes) -> None:
        if len(key) != 32:
            raise ValueError("a SecretBox key is 32 bytes")
        self._aead = AESGCM(key)

    @classmethod
    def load(cls, data_dir: Path, environ: dict[str, str] | None = None) -> SecretBox:
        """The key from the environment, else from the key file (created on first run)."""
        env = os.environ if environ is None else environ
        encoded = env.get(KEY_ENV)
        if encoded:
            try:
                return cls(base64.b64decode(encoded, validate=True))
            except (binascii.Error, ValueError) as exc:
                raise SecretBoxError(f"{KEY_ENV} must be the base64 of 32 random bytes") from exc
        return cls(_key_file(data_dir / "keys" / "secrets.key"))

    def seal(self, plaintext: str | bytes, *, aad: str) -> str:
        """``v1:<base64(nonce ‖ ciphertext ‖ tag)>``."""
        data = plaintext.encode() if isinstance(plaintext, str) else plaintext
        nonce = secrets.token_bytes(12)
        sealed = self._aead.encrypt(nonce, data, aad.encode())
        return f"{_VERSION}:{base64.b64encode(nonce + sealed).decode()}"

    def open(self, token: str, *, aad: str) -> bytes:
        """The plaintext, or SecretBoxError."""
        version, _, body = token.partition(":")
        if version != _VERSION:
            raise SecretBoxError("unknown sealed-value format")
        try:
            raw = base64.b64decode(body, validate=True)
            return self._aead.decrypt(raw[:12], raw[12:], aad.encode())
        except (binascii.Error, InvalidTag, ValueError) as exc:
            raise SecretBoxError("the sealed value does not open with this key for this record") from exc

    def open_text(self, token: str, *, aad: str) -> str:
        """``open`` decoded as UTF-8."""
        return self.open(token, aad=aad).decode()


def _key_file(path: Path) -> bytes:
    try:
        key = path.read_bytes()
    except FileNotFoundError:
        path.parent.mkdir(parents=True, exist_ok=True, mode=0o700)
        key = secrets.token_bytes(32)
        # O_EXCL: two processes starting at once must not write two different keys.
        try:
            fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        except FileExistsError:
            return path.read_bytes()
        with os.fdopen(fd, "wb") as handle:
            handle.write(key)
    if len(key) != 32:
        raise SecretBoxError(f"{path} must hold exactly 32 bytes")
    return key
