"""Apply Alembic migrations programmatically, so `sekisho migrate` and start-up share one path."""

from __future__ import annotations

from pathlib import Path

from alembic import command
from alembic.config import Config
from sqlalchemy import Engine, text

from sekisho.store.tx import write_transaction

_MIGRATIONS = Path(__file__).with_name("migrations")
MIGRATION_LOCK_KEY = 0x5E4B_15E0_0001
"""The PostgreSQL advisory lock key that serialises migrations (any constant 64-bit number would do)."""


def alembic_config(engine: Engine) -> Config:
    """An Alembic config pointing at the packaged migrations."""
    config = Config()
    config.set_main_option("script_location", str(_MIGRATIONS))
    config.set_main_option("sqlalchemy.url", engine.url.render_as_string(hide_password=True))
    return config


def upgrade(engine: Engine, revision: str = "head") -> None:
    """Bring the schema to ``revision`` (default: the newest); safe to run from several processes at once.

    Replicas (or the workers of one server) that start together all call this. Each takes the
    database's migration lock first, inside the migration's own transaction: one migrates, the
    others wait, then find the schema already at ``revision`` and do nothing. On PostgreSQL the lock
    is an advisory lock released by the commit (or by the session ending, if the process dies); on
    SQLite it is the write lock, taken up front with BEGIN IMMEDIATE.
    """
    config = alembic_config(engine)
    with write_transaction(engine) as connection:
        if connection.dialect.name == "postgresql":
            connection.execute(text("SELECT pg_advisory_xact_lock(:key)"), {"key": MIGRATION_LOCK_KEY})
        config.attributes["connection"] = connection
        command.upgrade(config, revision)


def current_revision(engine: Engine) -> str | None:
    """The schema revision the database is at, or None for an empty database."""
    from alembic.runtime.migration import MigrationContext

    with engine.connect() as connection:
        return MigrationContext.configure(connection).get_current_revision()
