"""The Alembic migrations create exactly the schema ``store/tables.py`` describes, and downgrade cleanly."""

from __future__ import annotations

from alembic.autogenerate import compare_metadata
from alembic.runtime.migration import MigrationContext
from alembic.script import ScriptDirectory

from sekisho.store import create_db_engine, upgrade
from sekisho.store.migrate import alembic_config
from sekisho.store.tables import metadata


def test_migrations_match_the_table_definitions(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        with engine.connect() as conn:
            context = MigrationContext.configure(conn, opts={"compare_type": True})
            diffs = compare_metadata(context, metadata)
        assert diffs == []
    finally:
        engine.dispose()


def test_the_newest_migration_downgrades_and_upgrades_again(database_url: str) -> None:
    from alembic import command

    engine = create_db_engine(database_url)
    try:
        upgrade(engine)
        config = alembic_config(engine)
        head = ScriptDirectory.from_config(config).get_current_head()
        with engine.begin() as conn:
            config.attributes["connection"] = conn
            command.downgrade(config, "-1")
        upgrade(engine)
        with engine.connect() as conn:
            assert MigrationContext.configure(conn).get_current_revision() == head
    finally:
        engine.dispose()
