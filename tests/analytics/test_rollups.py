"""The daily roll-ups add up to exactly the raw events, however the events are spread (generated),
and the usage reports served from them agree with the raw rows (issue 7)."""

from __future__ import annotations

import random
from collections import defaultdict
from collections.abc import Callable, Iterable
from datetime import UTC, datetime, timedelta
from typing import Any

from sqlalchemy import Table, func, select

from sekisho.analytics.rollups import rebuild_daily
from sekisho.metering import UsageEvent
from sekisho.store.tables_usage import ROLLUPS, usage_events
from tests.analytics.conftest import ANALYTICS, Served, event

DIMENSIONS = {
    "project": lambda e: e.project_id,
    "key": lambda e: e.key_id,
    "user": lambda e: e.user_id,
    "model": lambda e: e.model,
    "day": lambda e: e.ts.date().isoformat(),
}
MODELS = ["gpt-4o-mini", "claude-haiku", "llama-3-8b", "embed"]


def _generate(rng: random.Random, tenants: dict[str, list[tuple[str, str, str]]], n: int) -> list[UsageEvent]:
    """``n`` events over the last 40 days: random tenants, keys, models, outcomes and sizes."""
    now = datetime.now(UTC).replace(microsecond=0)
    out = []
    for _ in range(n):
        org_id = rng.choice(list(tenants))
        project_id, user_id, key_id = rng.choice(tenants[org_id])
        anonymous = rng.random() < 0.05  # no user or key recorded (e.g. an approved review's rerun)
        out.append(
            event(
                now - timedelta(seconds=rng.randrange(40 * 86400)),
                org_id,
                project_id,
                None if anonymous else user_id,
                None if anonymous else key_id,
                rng.choice(MODELS),
                status=rng.choice([200] * 8 + [429, 500]),
                prompt=rng.randrange(0, 4000),
                completion=rng.randrange(0, 1500),
                cost=rng.randrange(0, 5_000_000),
            )
        )
    return out


def _totals(events: Iterable[UsageEvent], key: Callable[[UsageEvent], Any]) -> dict[Any, tuple[int, ...]]:
    sums: dict[Any, list[int]] = defaultdict(lambda: [0, 0, 0, 0, 0])
    for e in events:
        row = sums[key(e)]
        row[0] += 1
        row[1] += e.status_code >= 400
        row[2] += e.prompt_tokens
        row[3] += e.completion_tokens
        row[4] += e.cost_nanousd
    return {k: tuple(v) for k, v in sums.items()}


def _rollup_rows(served: Served, table: Table) -> dict[tuple[str, ...], tuple[int, ...]]:
    key = [c.name for c in table.primary_key]
    with served.core.engine.connect() as conn:
        rows = conn.execute(select(table)).mappings().all()
    return {
        tuple(r[k].isoformat() if k == "day" else r[k] for k in key): tuple(
            r[c] for c in ("requests", "errors", "prompt_tokens", "completion_tokens", "cost_nanousd")
        )
        for r in rows
    }


def _grain(table: Table) -> Callable[[UsageEvent], tuple[str, ...]]:
    """An event's key in ``table``: the roll-up's own key columns, as the trigger fills them."""
    names = [c.name for c in table.primary_key]

    def key(e: UsageEvent) -> tuple[str, ...]:
        values = {
            "org_id": e.org_id,
            "day": e.ts.date().isoformat(),
            "project_id": e.project_id,
            "user_id": e.user_id or "",
            "key_id": e.key_id or "",
            "model": e.model,
        }
        return tuple(values[n] for n in names)

    return key


def _reported(served: Served, org_id: str, group_by: list[str], **params: Any) -> dict[Any, tuple[int, ...]]:
    body = served.ok(f"{ANALYTICS}/usage", org_id=org_id, group_by=group_by, **params)
    assert body["group_by"] == group_by
    out = {}
    for row in body["data"]:
        assert row["total_tokens"] == row["prompt_tokens"] + row["completion_tokens"]
        assert round(row["cost_usd"] * 1e9) == row["cost_nanousd"]
        key = tuple(row[g] for g in group_by)
        out[key[0] if len(key) == 1 else key] = (
            row["requests"],
            row["errors"],
            row["prompt_tokens"],
            row["completion_tokens"],
            row["cost_nanousd"],
        )
    return out


def test_rollups_and_reports_match_the_raw_events(serve: Callable[..., Any]) -> None:
    rng = random.Random(20261205)
    with serve() as served:
        tenancy = served.core.tenancy
        tenants: dict[str, list[tuple[str, str, str]]] = {}
        for slug in ("acme", "globex"):
            org = tenancy.create_org(slug, slug.title(), actor="test")
            projects = [
                tenancy.get_project("default", org.id),
                tenancy.create_project(org.id, "r", "R", actor="test"),
            ]
            people = [served.user(org.id, f"u{i}@{slug}.test") for i in range(4)]
            tenants[org.id] = [
                (p.id, u.id, served.key(p, u)[0]) for p in projects for u in people if rng.random() < 0.8
            ]
        events = _generate(rng, tenants, 1500)
        served.record(events)
        acme_id = next(iter(tenants))
        acme = [e for e in events if e.org_id == acme_id]

        # Each roll-up holds exactly the sums of the raw events at its grain.
        expected = {t.name: _totals(events, _grain(t)) for t in ROLLUPS}
        for table in ROLLUPS:
            assert _rollup_rows(served, table) == expected[table.name], table.name

        # Rebuilding from the raw rows (what a bulk load does) gives the same tables.
        days = sorted({e.ts.date() for e in events})
        assert rebuild_daily(served.core.engine, days[0], days[-1]) == len(expected["usage_daily"])
        for table in ROLLUPS:
            assert _rollup_rows(served, table) == expected[table.name], table.name

        window = {"start": days[0].isoformat(), "end": days[-1].isoformat()}
        for group, key in DIMENSIONS.items():
            assert _reported(served, acme_id, [group], **window) == _totals(acme, key), group
        # Combinations read the grain that holds them (user × model: the full grain).
        for pair in (["project", "model"], ["user", "key"], ["user", "model"], ["day", "key"]):
            expected_pairs = _totals(acme, lambda e, p=pair: tuple(DIMENSIONS[g](e) for g in p))
            assert _reported(served, acme_id, pair, **window) == expected_pairs, pair

        # Filters and a narrower window.
        model = MODELS[1]
        start, end = days[5], days[20]
        inside = [e for e in acme if e.model == model and start <= e.ts.date() <= end]
        narrowed = _reported(
            served, acme_id, ["user"], model=model, start=start.isoformat(), end=end.isoformat()
        )
        assert narrowed == _totals(inside, DIMENSIONS["user"])

        # The admin usage report (issue 1's endpoint) reads the same roll-ups.
        legacy = served.ok("/admin/v1/usage", org_id=acme_id, group_by="model")
        assert {r["model"]: r["requests"] for r in legacy["data"]} == {
            k: v[0] for k, v in _totals(acme, DIMENSIONS["model"]).items()
        }

        # And the raw table still holds every event.
        with served.core.engine.connect() as conn:
            assert conn.execute(select(func.count()).select_from(usage_events)).scalar() == len(events)


def test_the_default_window_is_the_last_30_days(serve: Callable[..., Any]) -> None:
    with serve() as served:
        org = served.core.tenancy.ensure_default_org()
        project = served.core.tenancy.get_project("default", org.id)
        today = datetime.now(UTC)
        served.record(
            [event(today - timedelta(days=d), org.id, project.id, None, None) for d in (0, 29, 30, 45)]
        )
        body = served.ok(f"{ANALYTICS}/usage", group_by="project")
        assert body["end"] == today.date().isoformat()
        assert body["start"] == (today.date() - timedelta(days=29)).isoformat()
        assert [r["requests"] for r in body["data"]] == [2]
        assert body["data"][0]["project_name"] == project.name


def test_bad_windows_are_400s(serve: Callable[..., Any]) -> None:
    with serve() as served:
        for params, param in (
            ({"start": "2026-02-01", "end": "2026-01-01"}, "start"),
            ({"start": "2000-01-01", "end": "2026-01-01"}, "start"),
            ({"start": "yesterday"}, "start"),
            ({"group_by": "weekday"}, "group_by.0"),
            ({"format": "xml"}, "format"),
        ):
            response = served.get(f"{ANALYTICS}/usage", **params)
            assert response.status_code == 400, response.text
            assert response.json()["error"]["param"] == param
        assert served.get(f"{ANALYTICS}/adoption", weeks=0).status_code == 400
        assert served.get(f"{ANALYTICS}/adoption", weeks=500).status_code == 400
        assert served.get(f"{ANALYTICS}/users", end="2026-13-01").status_code == 400
