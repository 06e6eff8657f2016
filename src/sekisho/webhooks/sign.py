"""Standard Webhooks signatures (https://www.standardwebhooks.com), for sending and for receiving.

Every delivery carries three headers::

    webhook-id: msg_5f1c0e9a2b7d4c3e          (the same on every retry, so receivers can dedupe)
    webhook-timestamp: 1614265330              (Unix seconds of this attempt)
    webhook-signature: v1,<base64 HMAC-SHA256 of "{id}.{timestamp}.{body}">

Secrets come in two forms. ``whsec_<base64>`` is the Standard Webhooks form: the key is the
base64-decoded bytes, so any Standard Webhooks (or Svix) library verifies our deliveries. Any other
text is used as-is: the key is its UTF-8 bytes. Receivers using a library must then pass
``"whsec_" + base64(secret)``; :func:`verify` here accepts both forms. Several signatures,
separated by spaces, may be sent while a secret is rotated; one valid signature is enough.
"""

from __future__ import annotations

import base64
import binascii
import hashlib
import hmac
import secrets
import time
from collections.abc import Iterable, Mapping

SECRET_PREFIX = "whsec_"  # noqa: S105 - the label of the secret format, not a secret
# The specification recommends keys of 24 to 64 bytes; shorter ones are too easy to guess offline.
MIN_KEY_BYTES = 24
DEFAULT_TOLERANCE_SECONDS = 300


class VerificationError(Exception):
    """A delivery is not authentic: missing headers, stale timestamp or no matching signature."""


def new_secret() -> str:
    """A fresh secret in the Standard Webhooks form (32 random bytes)."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode("ascii")


def decode_secret(secret: str) -> bytes:
    """The HMAC key for ``secret``: base64-decoded after ``whsec_``, else the text's UTF-8 bytes."""
    if secret.startswith(SECRET_PREFIX):
        try:
            key = base64.b64decode(secret[len(SECRET_PREFIX) :], validate=True)
        except (binascii.Error, ValueError):
            raise ValueError("a whsec_ secret must be base64 after the prefix") from None
    else:
        key = secret.encode("utf-8")
    if len(key) < MIN_KEY_BYTES:
        raise ValueError(f"webhook secret too short: {len(key)} bytes of key, need {MIN_KEY_BYTES}")
    return key


def sign(key: bytes, msg_id: str, timestamp: int, body: bytes) -> str:
    """The ``webhook-signature`` value for one attempt: ``v1,<base64 HMAC-SHA256>``."""
    content = b"%s.%d.%s" % (msg_id.encode("utf-8"), timestamp, body)
    digest = hmac.new(key, content, hashlib.sha256).digest()
    return "v1," + base64.b64encode(digest).decode("ascii")


def signed_headers(key: bytes, msg_id: str, timestamp: int, body: bytes) -> dict[str, str]:
    """The three Standard Webhooks headers for a delivery attempt made at ``timestamp``."""
    return {
        "webhook-id": msg_id,
        "webhook-timestamp": str(timestamp),
        "webhook-signature": sign(key, msg_id, timestamp, body),
    }


def verify(
    secret: str | bytes | Iterable[str | bytes],
    headers: Mapping[str, str],
    body: bytes | str,
    *,
    tolerance_seconds: int = DEFAULT_TOLERANCE_SECONDS,
    now: float | None = None,
) -> str:
    """Check a received delivery; returns its ``webhook-id`` or raises :class:`VerificationError`.

    ``secret`` is a secret string (either form), raw key bytes, or several of them (during a
    rotation). ``body`` must be the raw request body, byte for byte: re-serialised JSON does not
    verify. The timestamp must lie within ``tolerance_seconds`` of ``now`` either way, which bounds
    replays; receivers should also remember the ids they have processed, since retries repeat them.
    """
    lowered = {name.lower(): value for name, value in headers.items()}
    msg_id = lowered.get("webhook-id")
    timestamp_text = lowered.get("webhook-timestamp")
    signature_header = lowered.get("webhook-signature")
    if not msg_id or not timestamp_text or not signature_header:
        raise VerificationError("missing webhook-id, webhook-timestamp or webhook-signature header")
    try:
        timestamp = int(timestamp_text)
    except ValueError:
        raise VerificationError("webhook-timestamp is not an integer") from None
    current = time.time() if now is None else now
    if abs(current - timestamp) > tolerance_seconds:
        raise VerificationError("webhook-timestamp is outside the tolerance")
    payload = body.encode("utf-8") if isinstance(body, str) else body
    offered = [
        part.split(",", 1)[1]
        for part in signature_header.split()
        if part.startswith("v1,")  # other schemes (v1a: asymmetric) are not ours to check
    ]
    for key in _keys(secret):
        expected = sign(key, msg_id, timestamp, payload).split(",", 1)[1]
        # Compare every offered signature, without an early exit on the first byte that differs.
        if any(hmac.compare_digest(expected.encode(), candidate.encode()) for candidate in offered):
            return msg_id
    raise VerificationError("no matching signature")


def _keys(secret: str | bytes | Iterable[str | bytes]) -> list[bytes]:
    items: Iterable[str | bytes] = [secret] if isinstance(secret, str | bytes) else secret
    return [item if isinstance(item, bytes) else decode_secret(item) for item in items]
