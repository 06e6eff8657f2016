"""Usage tables (issue 7): one row per request, and daily roll-ups kept after the rows are dropped.

Migration 0005 gives them their PostgreSQL shape, which these definitions cannot express whole:

* ``usage_events`` is range-partitioned by ``ts``, one partition a calendar month (UTC), kept in the
  ``usage_partitions`` schema so the application schema still lists one table. A partitioned
  table's primary key must contain the partition key, so on PostgreSQL it is ``(id, ts)``; SQLite
  keeps ``id`` alone, the rowid that numbers rows. Code relies only on ``id`` being unique per row
  (one sequence numbers every partition), so the definition here names ``id``.
* The ``usage_daily*`` roll-ups are maintained by a trigger on ``usage_events`` (PostgreSQL and SQLite
  alike) in the transaction that inserts the event, so a roll-up never disagrees with the rows it sums.
"""

from __future__ import annotations

from typing import Any

from sqlalchemy import BigInteger, Boolean, Column, Date, DateTime, Index, Integer, String, Table

from sekisho.store.meta import metadata

usage_events = Table(
    "usage_events",
    metadata,
    Column("id", BigInteger().with_variant(Integer, "sqlite"), primary_key=True, autoincrement=True),
    Column("ts", DateTime(timezone=True), nullable=False),
    # The UTC date of ``ts``, as the writer saw it: the roll-up's day.
    Column("day", String(10), nullable=False),
    Column("request_id", String(64), nullable=False),
    Column("org_id", String(40), nullable=False),
    Column("project_id", String(40), nullable=False),
    Column("user_id", String(40), nullable=True),
    Column("key_id", String(40), nullable=True),
    Column("model", String(200), nullable=False),
    Column("served_model", String(200), nullable=True),
    Column("endpoint", String(40), nullable=False),
    Column("status_code", Integer, nullable=False),
    Column("prompt_tokens", Integer, nullable=False),
    Column("completion_tokens", Integer, nullable=False),
    # Cost in nano-dollars (1e-9 USD): integers add up exactly, floats do not.
    Column("cost_nanousd", BigInteger, nullable=False),
    Column("usage_estimated", Boolean, nullable=False),
    Column("latency_ms", Integer, nullable=False),
    # Reports read the roll-ups; these serve drill-down into one organisation's recent requests and
    # the time-ordered deletes retention makes on SQLite (PostgreSQL drops whole partitions).
    Index("ix_usage_events_org_ts", "org_id", "ts"),
    Index("ix_usage_events_ts", "ts"),
)


def _rollup(name: str, *keys: str) -> Table:
    """A roll-up keyed by ``keys``, with the sums every report reads.

    The key leads with (org_id, day), the range every report scans (a caller narrowed to projects
    filters within it). A request without a user or key is counted under "" (a primary key column
    cannot be NULL)."""
    widths = {"project_id": 40, "user_id": 40, "key_id": 40, "model": 200}
    columns: list[Column[Any]] = [
        Column("org_id", String(40), primary_key=True),
        Column("day", Date, primary_key=True),
        *(Column(k, String(widths[k]), primary_key=True) for k in keys),
        Column("requests", BigInteger, nullable=False),
        # Requests answered with an HTTP status of 400 or more.
        Column("errors", BigInteger, nullable=False),
        Column("prompt_tokens", BigInteger, nullable=False),
        Column("completion_tokens", BigInteger, nullable=False),
        Column("cost_nanousd", BigInteger, nullable=False),
    ]
    return Table(name, metadata, *columns)


# Three grains of the same sums. Reports read the smallest that holds what they group and filter by:
# at 10 million events the largest organisation has about 140,000 full-grain rows in 30 days, but
# at most 2,880 by project and model, and 31,000 by user and key (see benchmarks/usage_scale).
usage_daily = _rollup("usage_daily", "project_id", "user_id", "key_id", "model")
usage_daily_models = _rollup("usage_daily_models", "project_id", "model")
usage_daily_users = _rollup("usage_daily_users", "project_id", "user_id", "key_id")
ROLLUPS = (usage_daily, usage_daily_models, usage_daily_users)
