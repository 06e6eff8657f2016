"""Storage: SQLAlchemy Core tables, the engine from a URL, and migrations."""

from sekisho.store.batch import BatchWriter, WriteOp
from sekisho.store.engine import create_db_engine, is_sqlite, normalise_url
from sekisho.store.migrate import current_revision, upgrade
from sekisho.store.rows import Batch
from sekisho.store.tables import metadata
from sekisho.store.tx import write_transaction

__all__ = [
    "Batch",
    "BatchWriter",
    "WriteOp",
    "create_db_engine",
    "current_revision",
    "is_sqlite",
    "metadata",
    "normalise_url",
    "upgrade",
    "write_transaction",
]
