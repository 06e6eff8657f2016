"""Migration 0005 converts an existing usage_events table in place: every row kept with its id, the
roll-ups built from them, partitions on PostgreSQL; and it downgrades back without loss."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from alembic import command
from sqlalchemy import Engine, insert, select, text

from sekisho.store import create_db_engine, upgrade
from sekisho.store.migrate import alembic_config
from sekisho.store.tables_usage import usage_daily, usage_events

NOW = datetime.now(UTC).replace(microsecond=0)


def _row(i: int, ts: datetime, user: str | None, status: int = 200) -> dict[str, object]:
    return {
        "id": i,
        "ts": ts,
        "day": ts.date().isoformat(),
        "request_id": f"req_{i}",
        "org_id": "org_a",
        "project_id": "proj_a",
        "user_id": user,
        "key_id": "key_a" if user else None,
        "model": "gpt-4o-mini",
        "served_model": None,
        "endpoint": "chat.completions",
        "status_code": status,
        "prompt_tokens": 10 * i,
        "completion_tokens": i,
        "cost_nanousd": 1000 * i,
        "usage_estimated": False,
        "latency_ms": 5,
    }


LEGACY = [
    _row(1, NOW - timedelta(days=800), "user_a"),
    _row(2, NOW - timedelta(days=800), "user_a", status=500),
    _row(3, NOW - timedelta(days=2), None),
    _row(4, NOW, "user_a"),
]


def _events(engine: Engine) -> list[tuple[object, ...]]:
    with engine.connect() as conn:
        return [
            (r.id, r.request_id, r.ts.replace(tzinfo=UTC) if r.ts.tzinfo is None else r.ts, r.cost_nanousd)
            for r in conn.execute(select(usage_events).order_by(usage_events.c.id))
        ]


def _downgrade(engine: Engine, revision: str) -> None:
    config = alembic_config(engine)
    with engine.begin() as conn:
        config.attributes["connection"] = conn
        command.downgrade(config, revision)


def test_existing_usage_is_kept_and_rolled_up(database_url: str) -> None:
    engine = create_db_engine(database_url)
    try:
        upgrade(engine, "0004")
        with engine.begin() as conn:
            # Columns as 0001 made them; the legacy table's id sequence must carry on afterwards.
            for row in LEGACY:
                conn.execute(insert(usage_events).values(**{k: v for k, v in row.items() if k != "id"}))
        before = _events(engine)
        assert [r[0] for r in before] == [1, 2, 3, 4]

        upgrade(engine)
        assert _events(engine) == before
        with engine.connect() as conn:
            daily = {
                (r.day.isoformat(), r.user_id): (r.requests, r.errors, r.cost_nanousd)
                for r in conn.execute(select(usage_daily))
            }
        old_day = LEGACY[0]["day"]
        assert daily == {
            (old_day, "user_a"): (2, 1, 3000),
            (LEGACY[2]["day"], ""): (1, 0, 3000),
            (LEGACY[3]["day"], "user_a"): (1, 0, 4000),
        }
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                homes = conn.execute(
                    text("SELECT id, tableoid::regclass::text FROM usage_events ORDER BY id")
                ).all()
            old_month = datetime.fromisoformat(str(old_day)).strftime("%Y_%m")
            assert homes[0][1] == f"usage_partitions.usage_events_p{old_month}"
            assert all(home.startswith("usage_partitions.usage_events_p") for _id, home in homes)

        # New rows carry on the id sequence, and the trigger rolls them up.
        with engine.begin() as conn:
            conn.execute(
                insert(usage_events).values(**{k: v for k, v in _row(5, NOW, "user_a").items() if k != "id"})
            )
            new_id = conn.execute(
                select(usage_events.c.id).where(usage_events.c.request_id == "req_5")
            ).scalar()
            total = conn.execute(
                select(usage_daily.c.requests).where(
                    usage_daily.c.day == NOW.date(), usage_daily.c.user_id == "user_a"
                )
            ).scalar()
        assert new_id == 5 and total == 2

        _downgrade(engine, "0004")
        assert len(_events(engine)) == 5
        if engine.dialect.name == "postgresql":
            with engine.connect() as conn:
                kind = conn.execute(
                    text("SELECT relkind FROM pg_class WHERE relname = 'usage_events'")
                ).scalar()
            assert kind == "r"
        upgrade(engine)
        assert len(_events(engine)) == 5
    finally:
        engine.dispose()
