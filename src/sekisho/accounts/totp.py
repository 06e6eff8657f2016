"""TOTP codes (RFC 6238, via pyotp) and single-use recovery codes.

A code is accepted within one 30-second step either side of now (clock drift between the server and
the phone) and only for a step later than the last one accepted, so an observed code cannot be
replayed, even within its own window.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

import pyotp

from sekisho.clock import utcnow

INTERVAL = 30
DIGITS = 6
DRIFT_STEPS = 1
RECOVERY_CODES = 10
# 16 characters of base32 = 80 bits: far beyond guessing online, and the stored SHA-256 (salted by
# the user id) is not worth brute-forcing offline either.
_RECOVERY_ALPHABET = "abcdefghijkmnpqrstuvwxyz23456789"
_RECOVERY_LENGTH = 16


@dataclass(frozen=True, slots=True)
class Enrolment:
    """A new TOTP secret and the URI an authenticator app scans as a QR code."""

    secret: str
    uri: str


def new_enrolment(account: str, issuer: str) -> Enrolment:
    """A fresh random secret (160 bits) for ``account`` under ``issuer``."""
    secret = pyotp.random_base32(32)
    uri = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL).provisioning_uri(
        name=account, issuer_name=issuer
    )
    return Enrolment(secret, uri)


class TotpVerifier:
    """Checks codes against a secret at the time ``clock`` says (tests move the clock)."""

    def __init__(self, clock: Callable[[], datetime] = utcnow) -> None:
        self._clock = clock

    def now_step(self) -> int:
        """The current 30-second time step."""
        return int(self._clock().timestamp()) // INTERVAL

    def verify(self, secret: str, code: str, *, last_step: int | None) -> int | None:
        """The time step ``code`` belongs to, or None when it is wrong, stale or already used."""
        code = "".join(code.split())
        if len(code) != DIGITS or not code.isdigit():
            return None
        totp = pyotp.TOTP(secret, digits=DIGITS, interval=INTERVAL)
        now = self.now_step()
        matched: int | None = None
        # Compare with every candidate step (no early exit), so timing does not say which one matched.
        for step in range(now - DRIFT_STEPS, now + DRIFT_STEPS + 1):
            if hmac.compare_digest(totp.generate_otp(step), code) and matched is None:
                matched = step
        if matched is None or (last_step is not None and matched <= last_step):
            return None
        return matched


def new_recovery_codes() -> list[str]:
    """Ten fresh recovery codes, formatted ``xxxx-xxxx-xxxx-xxxx`` for reading aloud and typing."""
    codes = []
    for _ in range(RECOVERY_CODES):
        raw = "".join(secrets.choice(_RECOVERY_ALPHABET) for _ in range(_RECOVERY_LENGTH))
        codes.append("-".join(raw[i : i + 4] for i in range(0, _RECOVERY_LENGTH, 4)))
    return codes


def recovery_digest(user_id: str, code: str) -> str:
    """What is stored for a recovery code: SHA-256 over the user id and the normalised code."""
    normalised = "".join(ch for ch in code.lower() if ch.isalnum())
    return hashlib.sha256(f"{user_id}:{normalised}".encode()).hexdigest()
