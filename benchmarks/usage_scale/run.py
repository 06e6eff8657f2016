#!/usr/bin/env python3
"""Usage data at scale: 10 million usage events on PostgreSQL, and the dashboard queries timed on
Sekisho's daily roll-ups beside the same figures computed from the raw events.

1. Creates a dedicated database (``sekisho_bench_usage_<random>``) and migrates it (partitioned
   ``usage_events``, ``usage_daily``).
2. Generates organisations, people, groups, keys and the events (``generate.py``): monthly partitions
   first, indexes dropped during the load and rebuilt after, as one would for a bulk import.
3. Builds the roll-ups with ``sekisho.analytics.rollups.rebuild_daily`` (the trigger that keeps them
   current during normal running is off for the bulk load), then VACUUM ANALYZE.
4. Times each dashboard query (last 30 days by project, by model, by user; weekly active users; the
   full adoption report) for the largest organisation and a median one: on the roll-ups, through the
   HTTP API, and on the raw events. Median and p95 over repeated warm runs.
5. Prints the table, writes ``results/latest.md`` and ``results/latest.json``, and drops the database
   (unless ``--keep``; ``--reuse NAME`` times a kept database again without regenerating it).

Run it as ``.venv/bin/python benchmarks/usage_scale/run.py`` (``--events 1000000`` for a quick run).
It needs the PostgreSQL server at ``--pg-url`` (default: the local one, user postgres).
"""

from __future__ import annotations

import argparse
import secrets
import sys
import tempfile
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import psycopg
from generate import Shape, dimensions, events, timed
from queries import dashboard, timings
from report import environment, markdown, write
from sqlalchemy import create_engine

from sekisho.analytics import partitions
from sekisho.analytics.rollups import rebuild_daily
from sekisho.store import create_db_engine, normalise_url, upgrade
from sekisho.store.tx import write_transaction

HERE = Path(__file__).resolve().parent


def log(message: str) -> None:
    print(f"[{time.strftime('%H:%M:%S')}] {message}", flush=True)


def _arguments() -> argparse.Namespace:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/postgres")
    parser.add_argument("--events", type=int, default=10_000_000)
    parser.add_argument("--days", type=int, default=90)
    parser.add_argument("--orgs", type=int, default=200)
    parser.add_argument("--users", type=int, default=5000)
    parser.add_argument("--models", type=int, default=32)
    parser.add_argument("--workers", type=int, default=2, help="parallel sessions generating events")
    parser.add_argument("--block", type=int, default=500_000, help="events per INSERT statement")
    parser.add_argument("--repeat", type=int, default=20, help="timed runs per query")
    parser.add_argument("--warmup", type=int, default=3)
    parser.add_argument("--keep", action="store_true", help="keep the database afterwards")
    parser.add_argument("--reuse", metavar="NAME", help="time a database kept by an earlier --keep run")
    parser.add_argument("--results", type=Path, default=HERE / "results")
    return parser.parse_args()


def _db_url(admin_url: str, name: str) -> str:
    return f"{admin_url.rsplit('/', 1)[0]}/{name}"


def _load(url: str, shape: Shape, now: datetime, args: argparse.Namespace) -> dict[str, float]:
    """Everything up to a queryable database; returns the seconds each phase took."""
    phases: dict[str, float] = {}
    engine = create_db_engine(url)
    timed("migrate", lambda: upgrade(engine), phases, log)

    def make_partitions() -> None:
        month = partitions.month_start(now - timedelta(days=shape.days))
        while month <= now:
            partition = partitions.month_partition(month)
            with write_transaction(engine) as conn:
                partitions.lock(conn)
                if not any(partition.overlaps(p) for p in partitions.list_partitions(conn)):
                    partitions.create(conn, partition, 10_000)
            month = partitions.next_month(month)

    timed("partitions", make_partitions, phases, log)
    with psycopg.connect(normalise_url(url).replace("+psycopg", "")) as conn:
        timed("dimensions", lambda: dimensions(conn, shape, now), phases, log)
    plain = normalise_url(url).replace("+psycopg", "")
    with psycopg.connect(plain, autocommit=True) as conn:
        # Loading without the indexes and building them once after is the fast way in.
        conn.execute("ALTER TABLE usage_events DROP CONSTRAINT pk_usage_events")
        conn.execute("DROP INDEX ix_usage_events_org_ts, ix_usage_events_ts")

    def progress(done: int) -> None:
        log(f"  {done:,} / {shape.events:,} events")

    timed(
        "events",
        lambda: events(plain, shape, now, workers=args.workers, block=args.block, progress=progress),
        phases,
        log,
    )
    with psycopg.connect(plain, autocommit=True) as conn:
        conn.execute("SET maintenance_work_mem = '512MB'")

        def indexes() -> None:
            conn.execute("ALTER TABLE usage_events ADD CONSTRAINT pk_usage_events PRIMARY KEY (id, ts)")
            conn.execute("CREATE INDEX ix_usage_events_org_ts ON usage_events (org_id, ts)")
            conn.execute("CREATE INDEX ix_usage_events_ts ON usage_events (ts)")

        timed("indexes", indexes, phases, log)
    # The rebuild's GROUP BY gets more memory than the default 4 MB (the timed queries do not).
    builder = create_engine(normalise_url(url), connect_args={"options": "-c work_mem=256MB"})

    def rollups() -> None:
        # Disjoint windows of days, two at a time (each rebuild replaces only its own days).
        day, last = (now - timedelta(days=shape.days)).date(), now.date()
        windows = []
        while day <= last:
            windows.append((day, min(last, day + timedelta(days=9))))
            day += timedelta(days=10)
        with ThreadPoolExecutor(max_workers=args.workers) as pool:
            list(pool.map(lambda w: rebuild_daily(builder, *w), windows))

    timed("roll-ups", rollups, phases, log)
    builder.dispose()
    with psycopg.connect(plain, autocommit=True) as conn:
        timed("vacuum analyze", lambda: conn.execute("VACUUM ANALYZE"), phases, log)
    engine.dispose()
    return phases


def _facts(url: str) -> dict[str, Any]:
    plain = normalise_url(url).replace("+psycopg", "")
    with psycopg.connect(plain) as conn:

        def one(sql: str) -> Any:
            row = conn.execute(sql).fetchone()
            return row[0] if row else None

        return {
            "events": one("SELECT count(*) FROM usage_events"),
            "days": one("SELECT count(DISTINCT day) FROM usage_daily"),
            "orgs": one("SELECT count(*) FROM orgs"),
            "projects": one("SELECT count(*) FROM projects"),
            "users": one("SELECT count(*) FROM users"),
            "active_users": one("SELECT count(DISTINCT user_id) FROM usage_daily"),
            "keys": one("SELECT count(*) FROM api_keys"),
            "models": one("SELECT count(DISTINCT model) FROM usage_daily"),
            "rollup_rows": one("SELECT count(*) FROM usage_daily"),
            "rollup_rows_users": one("SELECT count(*) FROM usage_daily_users"),
            "rollup_rows_models": one("SELECT count(*) FROM usage_daily_models"),
            "partitions": one("SELECT count(*) FROM pg_inherits WHERE inhparent = 'usage_events'::regclass"),
            "raw_mb": round(
                one(
                    "SELECT sum(pg_total_relation_size(inhrelid)) FROM pg_inherits "
                    "WHERE inhparent = 'usage_events'::regclass"
                )
                / 2**20
            ),
            "rollup_mb": round(
                one(
                    "SELECT pg_total_relation_size('usage_daily') "
                    "+ pg_total_relation_size('usage_daily_users') "
                    "+ pg_total_relation_size('usage_daily_models')"
                )
                / 2**20
            ),
            "org_sizes": conn.execute(
                "SELECT org_id, sum(requests) FROM usage_daily GROUP BY org_id ORDER BY 2 DESC"
            ).fetchall(),
            "pg": {
                "version": one("SHOW server_version"),
                "shared_buffers": one("SHOW shared_buffers"),
                "work_mem": one("SHOW work_mem"),
            },
        }


def _api_client(url: str, tmp: Path) -> tuple[Any, Callable[[], None]]:
    """An HTTP client for the real app on the benchmark database (master key)."""
    from fastapi.testclient import TestClient

    from sekisho.app import build_app
    from sekisho.settings import load_settings

    config = tmp / "sekisho.yaml"
    config.write_text("usage_data:\n  maintenance: false\n", encoding="utf-8")
    master = f"sk-bench-{secrets.token_hex(12)}"
    settings = load_settings(
        config,
        environ={"SEKISHO_DATABASE_URL": url, "SEKISHO_MASTER_KEY": master, "SEKISHO_DATA_DIR": str(tmp)},
    )
    client = TestClient(build_app(settings), headers={"authorization": f"Bearer {master}"})
    client.__enter__()
    return client, lambda: client.__exit__(None, None, None)


def main() -> int:
    args = _arguments()
    shape = Shape(events=args.events, days=args.days, orgs=args.orgs, users=args.users, models=args.models)
    name = args.reuse or f"sekisho_bench_usage_{secrets.token_hex(4)}"
    url = _db_url(args.pg_url, name)
    now = datetime.now(UTC)
    phases: dict[str, float] = {}
    if not args.reuse:
        with psycopg.connect(args.pg_url, autocommit=True) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
        log(f"database {name}")
    try:
        if not args.reuse:
            phases = _load(url, shape, now, args)
        facts = _facts(url)
        sizes = facts.pop("org_sizes")
        picks = [(sizes[0][0], f"largest ({int(sizes[0][1]):,} events)")]
        median = sizes[len(sizes) // 2]
        picks.append((median[0], f"median ({int(median[1]):,} events)"))
        env = environment(facts.pop("pg"))
        engine = create_db_engine(url)
        with tempfile.TemporaryDirectory() as tmp:
            client, close = _api_client(url, Path(tmp))
            rows = []
            try:
                for org, label in picks:
                    for query in dashboard(engine, client, org, now.date()):
                        row: dict[str, Any] = {"query": query.name, "org": org, "org_label": label}
                        row["rollup"] = timings(query.rollup, warmup=args.warmup, repeat=args.repeat)
                        if query.http is not None:
                            row["http"] = timings(query.http, warmup=args.warmup, repeat=args.repeat)
                        if query.raw is not None:
                            row["raw"] = timings(query.raw, warmup=args.warmup, repeat=args.repeat)
                        rows.append(row)
                        log(f"{label:<28} {query.name:<50} {row['rollup']} raw {row.get('raw')}")
            finally:
                close()
                engine.dispose()
        result = {
            "environment": env,
            "data": {**facts, "days": args.days},
            "phases": phases,
            "repeat": args.repeat,
            "rows": rows,
            "database": name if args.keep or args.reuse else None,
        }
        md = write(result, args.results)
        print()
        print(markdown(result))
        log(f"wrote {md} and {md.with_suffix('.json')}")
    finally:
        if not (args.keep or args.reuse):
            with psycopg.connect(args.pg_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            log(f"dropped {name}")
        elif args.keep:
            log(f"kept {name}: time it again with --reuse {name}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
