"""Database engine from a URL, with the settings each backend needs."""

from __future__ import annotations

from typing import Any

from sqlalchemy import Engine, create_engine, event
from sqlalchemy.engine import make_url
from sqlalchemy.pool import QueuePool


def normalise_url(url: str) -> str:
    """Map the URLs people write to the synchronous drivers Sekisho ships.

    ``postgresql://`` and ``postgresql+asyncpg://`` become ``postgresql+psycopg://``;
    ``sqlite+aiosqlite://`` becomes plain ``sqlite://``.
    """
    parsed = make_url(url)
    backend = parsed.get_backend_name()
    if backend == "postgresql":
        return parsed.set(drivername="postgresql+psycopg").render_as_string(hide_password=False)
    if backend == "sqlite":
        return parsed.set(drivername="sqlite").render_as_string(hide_password=False)
    raise ValueError(f"unsupported database URL scheme {parsed.drivername!r}: use sqlite:// or postgresql://")


def _sqlite_pragmas(dbapi_connection: Any, _record: Any) -> None:
    # WAL lets readers run beside the single writer; synchronous=NORMAL in WAL mode survives a
    # process crash (kill -9) because committed frames are already in the WAL file, and only an
    # OS crash or power loss can lose the last transactions.
    cursor = dbapi_connection.cursor()
    cursor.execute("PRAGMA journal_mode=WAL")
    cursor.execute("PRAGMA synchronous=NORMAL")
    cursor.execute("PRAGMA busy_timeout=10000")
    cursor.execute("PRAGMA foreign_keys=ON")
    cursor.close()


def create_db_engine(url: str) -> Engine:
    """Create the engine; SQLite gets WAL and a busy timeout, PostgreSQL a connection pool."""
    real_url = normalise_url(url)
    if real_url.startswith("sqlite"):
        engine = create_engine(
            real_url,
            poolclass=QueuePool,
            pool_size=8,
            max_overflow=8,
            connect_args={"check_same_thread": False, "timeout": 10},
        )
        event.listen(engine, "connect", _sqlite_pragmas)
        # pysqlite's own transaction handling defers BEGIN, which breaks BEGIN IMMEDIATE; take control.
        event.listen(engine, "connect", _disable_pysqlite_begin)
        event.listen(engine, "begin", _sqlite_begin)
        return engine
    return create_engine(real_url, pool_size=10, max_overflow=20, pool_pre_ping=True)


def _disable_pysqlite_begin(dbapi_connection: Any, _record: Any) -> None:
    dbapi_connection.isolation_level = None


def _sqlite_begin(conn: Any) -> None:
    # Writers take the write lock up front, so two processes never deadlock upgrading a read lock.
    conn.exec_driver_sql("BEGIN IMMEDIATE" if conn.info.get("write") else "BEGIN")


def is_sqlite(engine: Engine) -> bool:
    """True for the embedded SQLite backend."""
    return engine.dialect.name == "sqlite"
