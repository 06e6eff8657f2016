"""What the admin API works with, handed over by ``build_app``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from sekisho.audit import AuditLog
from sekisho.identity import GroupStore, KeyAuthenticator, TenancyStore


@dataclass(frozen=True, slots=True)
class AdminServices:
    """The admin API's collaborators."""

    engine: Engine
    tenancy: TenancyStore
    groups: GroupStore
    audit: AuditLog
    authenticator: KeyAuthenticator
