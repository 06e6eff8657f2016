"""What the admin API works with, handed over by ``build_app``."""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from sekisho.audit import AuditLog
from sekisho.identity import KeyAuthenticator, TenancyStore


@dataclass(frozen=True, slots=True)
class AdminServices:
    """The admin API's collaborators."""

    engine: Engine
    tenancy: TenancyStore
    audit: AuditLog
    authenticator: KeyAuthenticator
