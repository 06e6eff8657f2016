"""Cryptography helpers: sealing small secrets at rest (issue 5); envelope encryption (issue 6)."""

from sekisho.crypto.secretbox import SecretBox, SecretBoxError

__all__ = ["SecretBox", "SecretBoxError"]
