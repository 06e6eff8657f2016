"""The sign-in columns of ``users``: reading an account, counting failures, the sealed TOTP state.

The TOTP secret and the last accepted time step are sealed together in ``users.mfa_secret`` (with the
row's id as associated data): the step belongs to that secret, and a new secret starts afresh.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime, timedelta

import orjson
from sqlalchemy import Connection, RowMapping, Select, select, update

from sekisho.clock import as_utc
from sekisho.crypto import SecretBox, SecretBoxError
from sekisho.identity.settings import LockoutSettings
from sekisho.store.tables import orgs, users


@dataclass(frozen=True, slots=True)
class Account:
    """A user as sign-in sees it (never serialised as a whole: it holds the hashes)."""

    id: str
    org_id: str
    org_slug: str
    org_name: str
    email: str
    name: str
    role: str
    active: bool
    service_account: bool
    password_hash: str | None
    mfa_sealed: str | None
    mfa_enabled: bool
    recovery_digests: tuple[str, ...]
    failed_logins: int
    locked_until: datetime | None

    def locked(self, now: datetime) -> bool:
        """Locked out at ``now``."""
        return self.locked_until is not None and self.locked_until > now

    @property
    def may_sign_in(self) -> bool:
        """A person's active account (service accounts only hold API keys)."""
        return self.active and not self.service_account


@dataclass(frozen=True, slots=True)
class MfaState:
    """The TOTP secret and the last time step accepted with it."""

    secret: str
    last_step: int | None = None


def _query() -> Select[tuple[object, ...]]:
    return select(
        users,
        orgs.c.slug.label("org_slug"),
        orgs.c.name.label("org_name"),
    ).join(orgs, orgs.c.id == users.c.org_id)


def _account(row: RowMapping) -> Account:
    digests = row["recovery_codes"]
    return Account(
        id=row["id"],
        org_id=row["org_id"],
        org_slug=row["org_slug"],
        org_name=row["org_name"],
        email=row["email"],
        name=row["name"],
        role=row["role"],
        active=bool(row["active"]),
        service_account=bool(row["is_service_account"]),
        password_hash=row["password_hash"],
        mfa_sealed=row["mfa_secret"],
        mfa_enabled=row["mfa_enabled_at"] is not None,
        recovery_digests=tuple(str(d) for d in digests) if isinstance(digests, list) else (),
        failed_logins=int(row["failed_logins"] or 0),
        locked_until=as_utc(row["locked_until"]) if row["locked_until"] else None,
    )


def accounts_by_email(conn: Connection, email: str, org_slug: str | None) -> Sequence[Account]:
    """Every account with this e-mail (in the named organisation only, when one is named)."""
    query = _query().where(users.c.email == email.strip().lower())
    if org_slug is not None:
        query = query.where(orgs.c.slug == org_slug)
    return [_account(r) for r in conn.execute(query.order_by(users.c.created_at)).mappings()]


def account(conn: Connection, user_id: str, *, for_update: bool = False) -> Account | None:
    """One account by id; ``for_update`` locks the row until the transaction ends (PostgreSQL)."""
    query = _query().where(users.c.id == user_id)
    if for_update:
        query = query.with_for_update(of=users)
    row = conn.execute(query).mappings().first()
    return _account(row) if row is not None else None


def record_failure(conn: Connection, user_id: str, now: datetime, lockout: LockoutSettings) -> bool:
    """Count a failed attempt; lock the account when it reaches the limit. True if it locked now."""
    conn.execute(update(users).where(users.c.id == user_id).values(failed_logins=users.c.failed_logins + 1))
    count = conn.execute(select(users.c.failed_logins).where(users.c.id == user_id)).scalar_one()
    if int(count) < lockout.max_failures:
        return False
    # The counter starts again, so after the lock ends the owner has a fresh set of attempts.
    conn.execute(
        update(users)
        .where(users.c.id == user_id)
        .values(failed_logins=0, locked_until=now + timedelta(minutes=lockout.lock_minutes))
    )
    return True


def clear_failures(conn: Connection, user_id: str) -> None:
    """Forget failed attempts after a success."""
    conn.execute(update(users).where(users.c.id == user_id).values(failed_logins=0, locked_until=None))


def mfa_aad(user_id: str) -> str:
    """Associated data binding a sealed TOTP state to its row."""
    return f"users.mfa_secret:{user_id}"


def seal_mfa(box: SecretBox, user_id: str, state: MfaState) -> str:
    """The sealed form stored in ``users.mfa_secret``."""
    payload = {"secret": state.secret, "last_step": state.last_step}
    return box.seal(orjson.dumps(payload), aad=mfa_aad(user_id))


def open_mfa(box: SecretBox, acct: Account) -> MfaState | None:
    """The account's TOTP state; None when there is none or it does not open (wrong key, copied row)."""
    if acct.mfa_sealed is None:
        return None
    try:
        data = orjson.loads(box.open(acct.mfa_sealed, aad=mfa_aad(acct.id)))
    except (SecretBoxError, orjson.JSONDecodeError):
        return None
    if not isinstance(data, dict) or not isinstance(data.get("secret"), str):
        return None
    step = data.get("last_step")
    return MfaState(data["secret"], step if isinstance(step, int) else None)
