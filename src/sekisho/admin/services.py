"""What the admin API works with, handed over by ``build_app``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from dataclasses import dataclass

from sqlalchemy import Engine
from starlette.requests import Request

from sekisho.accounts.session_auth import SessionAuthenticator
from sekisho.audit import AuditLog
from sekisho.identity import GroupStore, KeyAuthenticator, Principal, TenancyStore

NetworkCheck = Callable[[Principal, Request], Awaitable[None]]
"""Raises when the caller's address is outside its organisation's allow-list (see sekisho.network)."""


@dataclass(frozen=True, slots=True)
class AdminServices:
    """The admin API's collaborators."""

    engine: Engine
    tenancy: TenancyStore
    groups: GroupStore
    audit: AuditLog
    authenticator: KeyAuthenticator
    sessions: SessionAuthenticator
    cookie_name: str = "sekisho_session"
    network_check: NetworkCheck | None = None
