"""Password hashing (argon2id) and the rules a new password must meet.

Hashes carry their own parameters, so raising the cost in settings upgrades each account's hash the
next time its owner signs in (``needs_rehash``). Unknown accounts are checked against a dummy hash
made with the same parameters, so the time an attempt takes does not tell which e-mails exist.
"""

from __future__ import annotations

import secrets
import threading
import unicodedata
from dataclasses import dataclass
from functools import cache
from importlib.resources import files

from argon2 import PasswordHasher, Type
from argon2.exceptions import InvalidHashError, VerificationError, VerifyMismatchError

from sekisho.identity.settings import PasswordSettings

# argon2 copes with long inputs, but hashing megabytes per attempt would be a cheap way to burn CPU.
MAX_LENGTH = 256


class WeakPassword(ValueError):
    """A new password that the rules refuse; the message says which rule."""


@dataclass(frozen=True, slots=True)
class Checked:
    """The outcome of checking a password against a stored hash."""

    ok: bool
    needs_rehash: bool = False


@cache
def common_passwords() -> frozenset[str]:
    """The bundled list of passwords attackers try first (lower case)."""
    text = files("sekisho.accounts").joinpath("common_passwords.txt").read_text(encoding="utf-8")
    return frozenset(
        line.strip().lower() for line in text.splitlines() if line.strip() and not line.startswith("#")
    )


class Passwords:
    """Hashes, verifies and vets passwords with the operator's argon2id parameters."""

    def __init__(self, settings: PasswordSettings) -> None:
        self._settings = settings
        self._hasher = PasswordHasher(
            time_cost=settings.argon2_time_cost,
            memory_cost=settings.argon2_memory_kib,
            parallelism=settings.argon2_parallelism,
            type=Type.ID,
        )
        # Each hash takes argon2_memory_kib of memory: a burst of sign-ins must not take them all at once.
        self._slots = threading.BoundedSemaphore(settings.concurrent_hashes)
        self._dummy = self._hasher.hash(secrets.token_urlsafe(24))

    @property
    def min_length(self) -> int:
        """Shortest acceptable new password."""
        return self._settings.min_length

    def hash(self, password: str) -> str:
        """The argon2id hash (PHC string) of ``password``."""
        with self._slots:
            return self._hasher.hash(_normalise(password))

    def verify(self, stored: str | None, password: str) -> Checked:
        """Check ``password`` against ``stored``; with no stored hash, spend the same time and fail."""
        if stored is None or len(password) > MAX_LENGTH:
            self._burn(password[:MAX_LENGTH])
            return Checked(False)
        try:
            with self._slots:
                self._hasher.verify(stored, _normalise(password))
        except VerifyMismatchError:
            return Checked(False)
        except (VerificationError, InvalidHashError):
            # A corrupt or foreign hash is a failed sign-in, not a server error.
            return Checked(False)
        return Checked(True, self._hasher.check_needs_rehash(stored))

    def burn(self, password: str) -> None:
        """Spend a verification's time on nothing (unknown account, locked account)."""
        self._burn(password[:MAX_LENGTH])

    def check_new(self, password: str, *, email: str | None = None) -> None:
        """Raise WeakPassword unless ``password`` may be set as a new password."""
        if len(password) < self._settings.min_length:
            raise WeakPassword(f"The password must be at least {self._settings.min_length} characters long.")
        if len(password) > MAX_LENGTH:
            raise WeakPassword(f"The password must be at most {MAX_LENGTH} characters long.")
        folded = _normalise(password).lower()
        if len(set(folded)) < 4:
            raise WeakPassword("The password repeats too few different characters.")
        # "Password2024!" is "password" to a guesser: strip the digits and symbols people append.
        stem = folded.rstrip("0123456789!@#$%^&*.?_-+= ")
        common = common_passwords()
        if folded in common or (len(stem) >= 4 and stem in common):
            raise WeakPassword("The password is on the list of commonly used passwords.")
        if email:
            local = email.lower().partition("@")[0]
            if folded == email.lower() or (len(local) >= 4 and local in folded):
                raise WeakPassword("The password must not contain the e-mail address.")

    def _burn(self, password: str) -> None:
        try:
            with self._slots:
                self._hasher.verify(self._dummy, _normalise(password))
        except VerificationError:
            pass


def _normalise(password: str) -> str:
    # The same password typed on two keyboards can arrive as different code points (NFKC folds them).
    return unicodedata.normalize("NFKC", password)
