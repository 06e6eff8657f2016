"""Rows collected during one write transaction and sent with one ``executemany`` per table.

The writer thread shares the GIL with the request path, so its cost per transaction is latency
for every request in flight. Building and compiling a SQLAlchemy statement per write cost more than
the database work itself; here each table's INSERT is rendered once per dialect (by SQLAlchemy's
own compiler and type processors, so what SQLAlchemy reads back is exactly what it would have
written) and rows go to the driver's ``executemany`` directly.
"""

from __future__ import annotations

import functools
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import Connection, Table
from sqlalchemy.engine import Dialect


@dataclass(frozen=True, slots=True)
class _Statement:
    sql: str
    columns: tuple[str, ...]
    processors: tuple[Callable[[Any], Any] | None, ...]

    def params(self, row: dict[str, Any]) -> tuple[Any, ...]:
        return tuple(
            proc(row[name]) if proc is not None else row[name]
            for name, proc in zip(self.columns, self.processors, strict=True)
        )


def _placeholder(dialect: Dialect) -> str:
    return "?" if dialect.paramstyle == "qmark" else "%s"


@functools.cache
def _insert(table: Table, columns: tuple[str, ...], dialect: Dialect) -> _Statement:
    quote = dialect.identifier_preparer.quote
    marks = ", ".join(_placeholder(dialect) for _ in columns)
    # Identifiers come from our own table metadata, quoted by the dialect; values are parameters.
    names = ", ".join(quote(c) for c in columns)
    sql = f"INSERT INTO {quote(table.name)} ({names}) VALUES ({marks})"  # noqa: S608
    processors = tuple(table.c[c].type.dialect_impl(dialect).bind_processor(dialect) for c in columns)
    return _Statement(sql, columns, processors)


@functools.cache
def _delete(table: Table, column: str, dialect: Dialect) -> _Statement:
    quote = dialect.identifier_preparer.quote
    sql = f"DELETE FROM {quote(table.name)} WHERE {quote(column)} = {_placeholder(dialect)}"  # noqa: S608
    processor = table.c[column].type.dialect_impl(dialect).bind_processor(dialect)
    return _Statement(sql, (column,), (processor,))


class Batch:
    """What one transaction writes. Ops queue rows; ``flush`` sends inserts first, then deletes."""

    def __init__(self, dbapi_connection: Any, dialect: Dialect) -> None:
        self._dbapi = dbapi_connection
        self.dialect = dialect
        self.scratch: dict[str, Any] = {}
        self._inserts: dict[Table, list[dict[str, Any]]] = {}
        self._deletes: dict[tuple[Table, str], list[Any]] = {}

    @classmethod
    def within(cls, conn: Connection) -> Batch:
        """A batch that writes inside ``conn``'s current transaction."""
        return cls(conn.connection.driver_connection, conn.dialect)

    def insert(self, table: Table, row: dict[str, Any]) -> None:
        """Queue a row; every row of one table in a batch must have the same keys."""
        self._inserts.setdefault(table, []).append(row)

    def delete(self, table: Table, column: str, value: Any) -> None:
        """Queue ``DELETE FROM table WHERE column = value``."""
        self._deletes.setdefault((table, column), []).append(value)

    def query_one(self, sql: str, params: Sequence[Any] = ()) -> tuple[Any, ...] | None:
        """Run a read inside the transaction; ``sql`` uses the driver's placeholder (see ``mark``)."""
        cursor = self._dbapi.cursor()
        try:
            cursor.execute(sql, tuple(params))
            row = cursor.fetchone()
        finally:
            cursor.close()
        return tuple(row) if row is not None else None

    @property
    def mark(self) -> str:
        """The driver's parameter placeholder."""
        return _placeholder(self.dialect)

    def flush(self) -> None:
        """Send the queued rows."""
        cursor = self._dbapi.cursor()
        try:
            for table, rows in self._inserts.items():
                statement = _insert(table, tuple(rows[0]), self.dialect)
                cursor.executemany(statement.sql, [statement.params(r) for r in rows])
            for (table, column), values in self._deletes.items():
                statement = _delete(table, column, self.dialect)
                cursor.executemany(statement.sql, [statement.params({column: v}) for v in values])
        finally:
            cursor.close()
        self._inserts.clear()
        self._deletes.clear()
