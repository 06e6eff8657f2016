"""The long-lived objects behind Sekisho, without HTTP: what the CLI needs, and what ``build_app`` wraps.

Kept apart from ``app.py`` so that CLI commands do not import the web stack.
"""

from __future__ import annotations

from dataclasses import dataclass

from sqlalchemy import Engine

from sekisho.audit import AuditLog
from sekisho.identity import TenancyStore
from sekisho.settings import Settings
from sekisho.store import create_db_engine, upgrade
from sekisho.store.batch import BatchWriter


@dataclass(frozen=True, slots=True)
class Core:
    """The long-lived objects behind the app (also used by the CLI without HTTP)."""

    settings: Settings
    engine: Engine
    writer: BatchWriter
    audit: AuditLog
    tenancy: TenancyStore


def build_core(settings: Settings) -> Core:
    """Database, writer, audit log and tenancy store; migrates first when ``auto_migrate`` is on."""
    if settings.resolved_database_url.startswith("sqlite:///") and not settings.database_url:
        settings.data_dir.mkdir(parents=True, exist_ok=True)
    engine = create_db_engine(settings.resolved_database_url)
    if settings.auto_migrate:
        upgrade(engine)
    writer = BatchWriter(engine, batch_max=settings.audit.batch_max)
    audit = AuditLog(engine, writer, settings.instance_id)
    return Core(settings, engine, writer, audit, TenancyStore(engine, audit))
