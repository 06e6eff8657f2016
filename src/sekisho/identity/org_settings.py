"""An organisation's own security choices, kept in ``orgs.settings`` under the ``security`` key.

Admins change them at run time (``GET/PUT /admin/v1/org/security``): require MFA for password
sign-in, and shorter sessions than the operator's defaults (never longer: the session store takes the
shorter of the two). Other keys of ``orgs.settings`` belong to other features and are kept as they are.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable
from datetime import timedelta
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError
from sqlalchemy import Connection, Engine, select, update

from sekisho.accounts.sessions import Lifetimes
from sekisho.identity.settings import SessionSettings
from sekisho.store.tables import orgs

KEY = "security"


class OrgSecurity(BaseModel):
    """Security settings of one organisation."""

    model_config = ConfigDict(extra="forbid", frozen=True)

    require_mfa: bool = Field(
        False,
        description="Members signing in with a password must use TOTP; those without it must enrol "
        "before they can do anything else. SSO sign-ins rely on the identity provider's MFA.",
    )
    session_idle_minutes: float | None = Field(
        None, gt=0, description="End sessions unused this long (default: the operator's setting)."
    )
    session_absolute_hours: float | None = Field(
        None, gt=0, description="End sessions this long after sign-in (default: the operator's setting)."
    )


class OrgNotFound(LookupError):
    """No organisation with that id."""


def read_security(conn: Connection, org_id: str, *, for_update: bool = False) -> OrgSecurity:
    """The organisation's settings; defaults when none were saved (or the saved ones are unreadable)."""
    query = select(orgs.c.settings).where(orgs.c.id == org_id)
    if for_update:
        query = query.with_for_update()
    row = conn.execute(query).first()
    if row is None:
        raise OrgNotFound(org_id)
    return _parse(row.settings)


def write_security(conn: Connection, org_id: str, security: OrgSecurity) -> None:
    """Store ``security``, keeping the other features' keys of ``orgs.settings``."""
    row = conn.execute(select(orgs.c.settings).where(orgs.c.id == org_id).with_for_update()).first()
    if row is None:
        raise OrgNotFound(org_id)
    merged: dict[str, Any] = dict(row.settings) if isinstance(row.settings, dict) else {}
    merged[KEY] = security.model_dump(mode="json")
    conn.execute(update(orgs).where(orgs.c.id == org_id).values(settings=merged))


def _parse(raw: object) -> OrgSecurity:
    if not isinstance(raw, dict) or not isinstance(raw.get(KEY), dict):
        return OrgSecurity()
    try:
        return OrgSecurity.model_validate(raw[KEY])
    except ValidationError:
        # A hand-edited row must not turn every sign-in into a 500. Fail closed: keep require_mfa
        # when it says so, and fall back to the operator's session lifetimes.
        return OrgSecurity(require_mfa=raw[KEY].get("require_mfa") is True)


class OrgLifetimes:
    """Per-organisation session lifetimes for ``SessionStore(lifetimes=...)``, cached for ``ttl`` seconds.

    The cache is per process: another replica sees a change within ``ttl``. ``invalidate`` makes the
    change visible at once in the process that made it.
    """

    def __init__(
        self,
        engine: Engine,
        defaults: SessionSettings | None = None,
        *,
        ttl: float = 30.0,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._engine = engine
        # Without operator defaults an unset value is "no limit of its own"; the store still caps it.
        self._idle = timedelta(minutes=defaults.idle_minutes) if defaults else timedelta.max
        self._absolute = timedelta(hours=defaults.absolute_hours) if defaults else timedelta.max
        self._ttl = ttl
        self._monotonic = monotonic
        self._cache: dict[str, tuple[float, Lifetimes]] = {}
        self._lock = threading.Lock()

    def __call__(self, org_id: str) -> Lifetimes:
        now = self._monotonic()
        with self._lock:
            hit = self._cache.get(org_id)
        if hit is not None and hit[0] > now:
            return hit[1]
        with self._engine.connect() as conn:
            try:
                security = read_security(conn, org_id)
            except OrgNotFound:
                security = OrgSecurity()
        life = Lifetimes(
            timedelta(minutes=security.session_idle_minutes) if security.session_idle_minutes else self._idle,
            timedelta(hours=security.session_absolute_hours)
            if security.session_absolute_hours
            else self._absolute,
        )
        with self._lock:
            self._cache[org_id] = (now + self._ttl, life)
        return life

    def invalidate(self, org_id: str) -> None:
        """Forget the cached lifetimes of one organisation (after its settings changed here)."""
        with self._lock:
            self._cache.pop(org_id, None)


def session_lifetimes(
    engine: Engine, defaults: SessionSettings | None = None, *, ttl: float = 30.0
) -> OrgLifetimes:
    """The callable to give ``SessionStore(lifetimes=...)``: each organisation's own lifetimes."""
    return OrgLifetimes(engine, defaults, ttl=ttl)
