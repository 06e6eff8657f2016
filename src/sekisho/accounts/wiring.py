"""``build_accounts``: the sign-in services, built once by ``build_app`` and reached through app.state."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import Engine
from starlette.datastructures import State

from sekisho.accounts.mfa import MfaService
from sekisho.accounts.parts import Parts
from sekisho.accounts.passwords import Passwords
from sekisho.accounts.policy import OrgPolicy
from sekisho.accounts.sessions import SessionStore
from sekisho.accounts.signin import SignIn
from sekisho.accounts.throttle import AddressThrottle
from sekisho.accounts.totp import TotpVerifier
from sekisho.audit import AuditLog
from sekisho.clock import utcnow
from sekisho.crypto import SecretBox
from sekisho.identity.org_settings import session_lifetimes
from sekisho.identity.settings import IdentitySettings
from sekisho.network.client import TrustedProxies


@dataclass(frozen=True, slots=True)
class Accounts:
    """Console sign-in: sessions, passwords, MFA, the organisations' security settings."""

    settings: IdentitySettings
    sessions: SessionStore
    signin: SignIn
    mfa: MfaService
    policy: OrgPolicy
    throttle: AddressThrottle
    passwords: Passwords
    trusted: TrustedProxies

    def install(self, state: State) -> None:
        """Make these the app's: ``state.sessions`` (for every cookie check) and ``state.accounts``."""
        state.sessions = self.sessions
        state.accounts = self


def build_accounts(
    settings: IdentitySettings,
    engine: Engine,
    audit: AuditLog,
    box: SecretBox,
    *,
    trusted: TrustedProxies | None = None,
    clock: Callable[[], datetime] = utcnow,
) -> Accounts:
    """Everything console sign-in needs, sharing one clock (tests pass a controllable one).

    ``trusted``: the reverse proxies whose X-Forwarded-For names the client (throttling and audit
    records use that address); none by default.
    """
    lifetimes = session_lifetimes(engine, settings.sessions)
    sessions = SessionStore(engine, audit, settings.sessions, lifetimes=lifetimes, clock=clock)
    passwords = Passwords(settings.passwords)
    parts = Parts(
        engine=engine,
        audit=audit,
        sessions=sessions,
        passwords=passwords,
        totp=TotpVerifier(clock),
        box=box,
        lockout=settings.lockout,
        clock=clock,
    )
    return Accounts(
        settings=settings,
        sessions=sessions,
        signin=SignIn(parts),
        mfa=MfaService(parts),
        policy=OrgPolicy(engine, audit, settings.sessions, lifetimes, clock),
        throttle=AddressThrottle(settings.lockout.ip_attempts_per_minute, clock),
        passwords=passwords,
        trusted=trusted if trusted is not None else TrustedProxies(()),
    )
