"""usage data at scale: usage_events partitioned by month on PostgreSQL, daily roll-ups

PostgreSQL: the plain ``usage_events`` table becomes a table range-partitioned by ``ts`` (a partition
per calendar month, UTC, in the ``usage_partitions`` schema, plus a default partition so an insert
never fails for want of one). Existing rows are copied over, keeping their ids; the id sequence
carries on. SQLite keeps the plain table. Both get the daily roll-ups (``usage_daily``,
``usage_daily_models``, ``usage_daily_users``), filled from the existing rows and then kept current by
an insert trigger on ``usage_events``.

The copy runs inside the migration's transaction: on a large table, expect it to take about as
long as ``INSERT … SELECT`` of that many rows, with writes to ``usage_events`` waiting meanwhile.

Revision ID: 0005
Revises: 0004
Create Date: 2026-12-06 10:00:00
"""

from __future__ import annotations

from datetime import UTC, datetime

import sqlalchemy as sa
from alembic import op

revision = "0005"
down_revision = "0004"
branch_labels = None
depends_on = None

PARTITION_SCHEMA = "usage_partitions"
MONTHS_AHEAD = 2

_COLUMNS = (
    "id, ts, day, request_id, org_id, project_id, user_id, key_id, model, served_model, endpoint, "
    "status_code, prompt_tokens, completion_tokens, cost_nanousd, usage_estimated, latency_ms"
)
# The roll-ups: the same sums at three grains (see store/tables_usage.py).
GRAINS = {
    "usage_daily": ("project_id", "user_id", "key_id", "model"),
    "usage_daily_models": ("project_id", "model"),
    "usage_daily_users": ("project_id", "user_id", "key_id"),
}
_WIDTHS = {"project_id": 40, "user_id": 40, "key_id": 40, "model": 200}
_SUMS = ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_nanousd")
# What the trigger adds for one new event, per column.
_NEW = {
    "org_id": "NEW.org_id",
    "project_id": "NEW.project_id",
    "user_id": "COALESCE(NEW.user_id, '')",
    "key_id": "COALESCE(NEW.key_id, '')",
    "model": "NEW.model",
    "requests": "1",
    "errors": "CASE WHEN NEW.status_code >= 400 THEN 1 ELSE 0 END",
    "prompt_tokens": "NEW.prompt_tokens",
    "completion_tokens": "NEW.completion_tokens",
    "cost_nanousd": "NEW.cost_nanousd",
}


def _upsert(table: str, *, day: str, target: str, existing: str) -> str:
    """One roll-up's share of the trigger: add the new event to its row, or start the row."""
    key = ("org_id", "day", *GRAINS[table])
    columns = ", ".join((*key, *_SUMS))
    values = ", ".join(day if c == "day" else _NEW[c] for c in (*key, *_SUMS))
    sets = ", ".join(f"{c} = {existing}{c} + excluded.{c}" for c in _SUMS)
    return (
        f"INSERT INTO {target} ({columns}) VALUES ({values}) "  # noqa: S608 - names from GRAINS
        f"ON CONFLICT ({', '.join(key)}) DO UPDATE SET {sets};"
    )


def _sqlite_trigger() -> str:
    body = "\n".join(_upsert(t, day="NEW.day", target=t, existing="") for t in GRAINS)
    return f"CREATE TRIGGER usage_events_rollup AFTER INSERT ON usage_events BEGIN\n{body}\nEND"


def _pg_function(schema: str) -> str:
    # Tables are named with their schema so the function does not depend on the inserter's
    # search_path; ``d`` names the existing row.
    body = "\n".join(
        _upsert(t, day="NEW.day::date", target=f'"{schema}".{t} AS d', existing="d.") for t in GRAINS
    )
    return (
        "CREATE FUNCTION usage_daily_add() RETURNS trigger LANGUAGE plpgsql AS $$\n"
        f"BEGIN\n{body}\nRETURN NULL;\nEND\n$$"
    )


def _backfill(day: str) -> None:
    """Fill the roll-ups from the events already there: the full grain from the rows, the others
    from the full grain."""
    key = ", ".join(("org_id", "day", *GRAINS["usage_daily"]))
    op.execute(
        f"INSERT INTO usage_daily ({key}, {', '.join(_SUMS)}) "  # noqa: S608 - constant names
        f"SELECT org_id, {day}, project_id, COALESCE(user_id, ''), COALESCE(key_id, ''), model, "
        "count(*), sum(CASE WHEN status_code >= 400 THEN 1 ELSE 0 END), "
        "sum(prompt_tokens), sum(completion_tokens), sum(cost_nanousd) "
        f"FROM usage_events GROUP BY org_id, day, project_id, user_id, key_id, model"
    )
    for table in ("usage_daily_models", "usage_daily_users"):
        grain = ", ".join(("org_id", "day", *GRAINS[table]))
        sums = ", ".join(f"sum({c})" for c in _SUMS)
        op.execute(
            f"INSERT INTO {table} ({grain}, {', '.join(_SUMS)}) "  # noqa: S608 - constant names
            f"SELECT {grain}, {sums} FROM usage_daily GROUP BY {grain}"
        )


def _create_rollups() -> None:
    for table, grain in GRAINS.items():
        op.create_table(
            table,
            sa.Column("org_id", sa.String(length=40), nullable=False),
            sa.Column("day", sa.Date(), nullable=False),
            *(sa.Column(c, sa.String(length=_WIDTHS[c]), nullable=False) for c in grain),
            *(sa.Column(c, sa.BigInteger(), nullable=False) for c in _SUMS),
            sa.PrimaryKeyConstraint("org_id", "day", *grain, name=op.f(f"pk_{table}")),
        )


def _event_columns(id_default: str | None) -> list[sa.Column[object]]:
    return [
        sa.Column(
            "id",
            sa.BigInteger(),
            nullable=False,
            autoincrement=False,
            server_default=sa.text(id_default) if id_default else None,
        ),
        sa.Column("ts", sa.DateTime(timezone=True), nullable=False),
        sa.Column("day", sa.String(length=10), nullable=False),
        sa.Column("request_id", sa.String(length=64), nullable=False),
        sa.Column("org_id", sa.String(length=40), nullable=False),
        sa.Column("project_id", sa.String(length=40), nullable=False),
        sa.Column("user_id", sa.String(length=40), nullable=True),
        sa.Column("key_id", sa.String(length=40), nullable=True),
        sa.Column("model", sa.String(length=200), nullable=False),
        sa.Column("served_model", sa.String(length=200), nullable=True),
        sa.Column("endpoint", sa.String(length=40), nullable=False),
        sa.Column("status_code", sa.Integer(), nullable=False),
        sa.Column("prompt_tokens", sa.Integer(), nullable=False),
        sa.Column("completion_tokens", sa.Integer(), nullable=False),
        sa.Column("cost_nanousd", sa.BigInteger(), nullable=False),
        sa.Column("usage_estimated", sa.Boolean(), nullable=False),
        sa.Column("latency_ms", sa.Integer(), nullable=False),
    ]


def upgrade() -> None:
    _create_rollups()
    if op.get_bind().dialect.name == "postgresql":
        _upgrade_postgresql()
    else:
        _upgrade_sqlite()


def downgrade() -> None:
    if op.get_bind().dialect.name == "postgresql":
        _downgrade_postgresql()
    else:
        _downgrade_sqlite()
    for table in reversed(GRAINS):
        op.drop_table(table)


# --- SQLite ---------------------------------------------------------------------------------------


def _upgrade_sqlite() -> None:
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_project_day")
        batch_op.drop_index("ix_usage_events_org_day")
        batch_op.create_index("ix_usage_events_org_ts", ["org_id", "ts"], unique=False)
        batch_op.create_index("ix_usage_events_ts", ["ts"], unique=False)
    # SQLAlchemy stores a Date as 'YYYY-MM-DD' text on SQLite: the event's ``day`` as it is.
    _backfill("day")
    op.execute(_sqlite_trigger())


def _downgrade_sqlite() -> None:
    op.execute("DROP TRIGGER IF EXISTS usage_events_rollup")
    with op.batch_alter_table("usage_events", schema=None) as batch_op:
        batch_op.drop_index("ix_usage_events_ts")
        batch_op.drop_index("ix_usage_events_org_ts")
        batch_op.create_index("ix_usage_events_org_day", ["org_id", "day"], unique=False)
        batch_op.create_index("ix_usage_events_project_day", ["project_id", "day"], unique=False)


# --- PostgreSQL -----------------------------------------------------------------------------------


def _month_start(ts: datetime) -> datetime:
    ts = ts.astimezone(UTC)
    return datetime(ts.year, ts.month, 1, tzinfo=UTC)


def _next_month(start: datetime) -> datetime:
    return datetime(start.year + start.month // 12, start.month % 12 + 1, 1, tzinfo=UTC)


def _create_month(start: datetime) -> None:
    end = _next_month(start)
    # Names and bounds come from dates computed here, never from input.
    op.execute(
        f'CREATE TABLE {PARTITION_SCHEMA}."usage_events_p{start:%Y_%m}" PARTITION OF usage_events '
        f"FOR VALUES FROM ('{start.isoformat()}') TO ('{end.isoformat()}')"
    )


def _upgrade_postgresql() -> None:
    bind = op.get_bind()
    schema = bind.execute(sa.text("SELECT current_schema()")).scalar_one()
    op.execute(f"CREATE SCHEMA IF NOT EXISTS {PARTITION_SCHEMA}")

    # Free the names the partitioned table takes; the id sequence moves over to it.
    op.execute("ALTER TABLE usage_events RENAME TO usage_events_legacy")
    op.execute("ALTER TABLE usage_events_legacy RENAME CONSTRAINT pk_usage_events TO pk_usage_events_legacy")
    op.execute("ALTER TABLE usage_events_legacy ALTER COLUMN id DROP DEFAULT")
    op.execute("ALTER SEQUENCE usage_events_id_seq OWNED BY NONE")

    op.create_table(
        "usage_events",
        *_event_columns("nextval('usage_events_id_seq'::regclass)"),
        # A partitioned table's unique constraints must contain the partition key.
        sa.PrimaryKeyConstraint("id", "ts", name=op.f("pk_usage_events")),
        postgresql_partition_by="RANGE (ts)",
    )
    op.execute("ALTER SEQUENCE usage_events_id_seq OWNED BY usage_events.id")
    op.create_index("ix_usage_events_org_ts", "usage_events", ["org_id", "ts"], unique=False)
    op.create_index("ix_usage_events_ts", "usage_events", ["ts"], unique=False)
    op.execute(f"CREATE TABLE {PARTITION_SCHEMA}.usage_events_default PARTITION OF usage_events DEFAULT")

    oldest = bind.execute(sa.text("SELECT min(ts) FROM usage_events_legacy")).scalar()
    now = datetime.now(UTC)
    month = _month_start(min(oldest, now) if oldest is not None else now)
    last = _month_start(now)
    for _ in range(MONTHS_AHEAD):
        last = _next_month(last)
    while month <= last:
        _create_month(month)
        month = _next_month(month)

    op.execute(
        f"INSERT INTO usage_events ({_COLUMNS}) SELECT {_COLUMNS} FROM usage_events_legacy"  # noqa: S608
    )
    op.execute("DROP TABLE usage_events_legacy")
    _backfill("day::date")
    # The trigger is cloned onto every partition, present and future.
    op.execute(_pg_function(schema))
    op.execute(
        "CREATE TRIGGER usage_events_rollup AFTER INSERT ON usage_events "
        "FOR EACH ROW EXECUTE FUNCTION usage_daily_add()"
    )


def _downgrade_postgresql() -> None:
    op.execute("DROP TRIGGER IF EXISTS usage_events_rollup ON usage_events")
    op.execute("DROP FUNCTION IF EXISTS usage_daily_add()")
    op.execute("ALTER TABLE usage_events RENAME TO usage_events_partitioned")
    op.execute(
        "ALTER TABLE usage_events_partitioned "
        "RENAME CONSTRAINT pk_usage_events TO pk_usage_events_partitioned"
    )
    op.execute("DROP INDEX ix_usage_events_org_ts")
    op.execute("DROP INDEX ix_usage_events_ts")
    op.execute("ALTER TABLE usage_events_partitioned ALTER COLUMN id DROP DEFAULT")
    op.execute("ALTER SEQUENCE usage_events_id_seq OWNED BY NONE")
    op.create_table(
        "usage_events",
        *_event_columns("nextval('usage_events_id_seq'::regclass)"),
        sa.PrimaryKeyConstraint("id", name=op.f("pk_usage_events")),
    )
    op.execute("ALTER SEQUENCE usage_events_id_seq OWNED BY usage_events.id")
    op.execute(
        f"INSERT INTO usage_events ({_COLUMNS}) SELECT {_COLUMNS} FROM usage_events_partitioned"  # noqa: S608
    )
    op.execute("DROP TABLE usage_events_partitioned")
    op.execute(f"DROP SCHEMA IF EXISTS {PARTITION_SCHEMA}")
    op.create_index("ix_usage_events_org_day", "usage_events", ["org_id", "day"], unique=False)
    op.create_index("ix_usage_events_project_day", "usage_events", ["project_id", "day"], unique=False)
