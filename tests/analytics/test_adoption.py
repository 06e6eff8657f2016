"""Adoption figures on a small dataset worked out by hand, their CSV exports, and tenant isolation.

Three ISO weeks (Mondays 7, 14 and 21 September 2026; the report ends on Wednesday the 23rd, so the
last week counts 3 days). People in acme: ana (an admin), ben, cho, dan, eve. Groups: eng = ana, ben, cho (and
fay, deactivated); sales = cho, dan; "=ops" = eve (a name a spreadsheet would run as a formula).

    week of      ana  ben  cho  dan  eve | fay (deactivated)  service account
    7 Sep         3    1    .    2    .  |     .                  .
    14 Sep        1    .    4    .    .  |     .                  .
    21 Sep        2    .    .    .    .  |     5                 10

Whole org (5 people): WAU 3, 2, 1; messages 6, 5, 2; messages per WAU 2.0, 2.5, 2.0; activated 4 of 5.
eng (3 people): WAU 2, 2, 1; messages 4, 5, 2; activated 3 of 3. sales (2): WAU 1, 1, 0; messages 2, 4, 0.
Globex's member sends 7 messages in the first week: counted nowhere in acme.
"""

from __future__ import annotations

import csv
import io
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import pytest

from sekisho.identity.members import MemberStore
from sekisho.metering import UsageEvent
from tests.analytics.conftest import ANALYTICS, Served, event

WEEK1 = datetime(2026, 9, 7, 9, tzinfo=UTC)  # a Monday
END = "2026-09-23"
WINDOW = {"weeks": 3, "end": END}


class World:
    """The dataset above, recorded through the app's batch writer."""

    def __init__(self, served: Served) -> None:
        tenancy = served.core.tenancy
        groups = served.app.state.admin.groups
        self.acme = tenancy.create_org("acme", "Acme", actor="test")
        self.globex = tenancy.create_org("globex", "Globex", actor="test")
        self.project = tenancy.get_project("default", self.acme.id)
        # Ana administers the organisation and reads the reports with her own key.
        self.people = {
            n: served.user(self.acme.id, f"{n}@acme.test", "admin" if n == "ana" else "member")
            for n in ("ana", "ben", "cho", "dan", "eve")
        }
        self.admin_key = served.key(self.project, self.people["ana"], "reports")[1]
        fay = served.user(self.acme.id, "fay@acme.test")
        service = tenancy.service_account_for(self.acme.id, actor="test")
        keys = {n: served.key(self.project, u)[0] for n, u in self.people.items()}
        fay_key, service_key = served.key(self.project, fay)[0], served.key(self.project, service)[0]
        self.groups = {}
        for name, members in (("eng", ["ana", "ben", "cho"]), ("sales", ["cho", "dan"]), ("=ops", ["eve"])):
            group = groups.create(self.acme.id, name, actor="test")
            for member in members:
                groups.add_member(group.id, self.people[member].id, self.acme.id, actor="test")
            self.groups[name] = group.id
        groups.add_member(self.groups["eng"], fay.id, self.acme.id, actor="test")

        def sent(name: str, day: int, hour: int = 0, **kw: Any) -> UsageEvent:
            user = self.people[name]
            return event(
                WEEK1 + timedelta(days=day, hours=hour),
                self.acme.id,
                self.project.id,
                user.id,
                keys[name],
                **kw,
            )

        events = [
            *(sent("ana", 0, h) for h in range(2)),
            sent("ana", 1),
            sent("ben", 3),
            *(sent("dan", 6, h) for h in range(2)),
            sent("ana", 9),
            *(sent("cho", 10, h) for h in range(4)),
            sent("ana", 14),
            sent("ana", 14, 1, status=500),
            *(
                event(WEEK1 + timedelta(days=15), self.acme.id, self.project.id, fay.id, fay_key)
                for _ in range(5)
            ),
            *(
                event(WEEK1 + timedelta(days=15), self.acme.id, self.project.id, service.id, service_key)
                for _ in range(10)
            ),
        ]
        globex_project = tenancy.get_project("default", self.globex.id)
        outsider = served.user(self.globex.id, "ana@globex.test")
        outsider_key = served.key(globex_project, outsider)[0]
        events += [
            event(WEEK1, self.globex.id, globex_project.id, outsider.id, outsider_key) for _ in range(7)
        ]
        served.record(events)
        MemberStore(served.core.engine, served.core.audit).update_user(
            fay.id, self.acme.id, actor="test", active=False
        )


def _weeks(weeks: list[dict[str, Any]]) -> list[tuple[Any, ...]]:
    return [
        (
            w["week_start"],
            w["days"],
            w["users"],
            w["weekly_active_users"],
            w["messages"],
            w["messages_per_wau"],
        )
        for w in weeks
    ]


@pytest.fixture
def world(serve: Callable[..., Any]) -> Any:
    with serve() as served:
        yield served, World(served)


def test_adoption_by_week_and_group(world: tuple[Served, World]) -> None:
    served, w = world
    body = served.ok(f"{ANALYTICS}/adoption", w.admin_key, **WINDOW)
    assert (body["start"], body["end"]) == ("2026-09-07", END)
    assert _weeks(body["weeks"]) == [
        ("2026-09-07", 7, 5, 3, 6, 2.0),
        ("2026-09-14", 7, 5, 2, 5, 2.5),
        ("2026-09-21", 3, 5, 1, 2, 2.0),
    ]
    assert [x["wau_rate"] for x in body["weeks"]] == [0.6, 0.4, 0.2]
    assert body["summary"] == {
        "users": 5,
        "activated_users": 4,
        "activation_rate": 0.8,
        "messages": 13,
        "average_wau": 2.0,
    }
    groups = {g["name"]: g for g in body["groups"]}
    assert set(groups) == {"eng", "sales", "=ops"}
    assert _weeks(groups["eng"]["weeks"]) == [
        ("2026-09-07", 7, 3, 2, 4, 2.0),
        ("2026-09-14", 7, 3, 2, 5, 2.5),
        ("2026-09-21", 3, 3, 1, 2, 2.0),
    ]
    assert groups["eng"]["summary"]["activation_rate"] == 1.0
    assert _weeks(groups["sales"]["weeks"]) == [
        ("2026-09-07", 7, 2, 1, 2, 2.0),
        ("2026-09-14", 7, 2, 1, 4, 4.0),
        ("2026-09-21", 3, 2, 0, 0, None),
    ]
    assert groups["=ops"]["summary"] == {
        "users": 1,
        "activated_users": 0,
        "activation_rate": 0.0,
        "messages": 0,
        "average_wau": 0.0,
    }

    # One group as the scope.
    eng = served.ok(f"{ANALYTICS}/adoption", w.admin_key, group_id=w.groups["eng"], **WINDOW)
    assert _weeks(eng["weeks"]) == _weeks(groups["eng"]["weeks"]) and eng["groups"] == []

    # A window with no activity: rates over the same people, no division by zero.
    quiet = served.ok(f"{ANALYTICS}/adoption", w.admin_key, weeks=2, end="2026-08-30")
    assert [x["weekly_active_users"] for x in quiet["weeks"]] == [0, 0]
    assert quiet["summary"]["activation_rate"] == 0.0 and quiet["weeks"][0]["messages_per_wau"] is None


def test_per_person_activity(world: tuple[Served, World]) -> None:
    served, w = world
    body = served.ok(f"{ANALYTICS}/users", w.admin_key, start="2026-09-07", end=END)
    rows = {r["email"]: r for r in body["data"]}
    assert set(rows) == {f"{n}@acme.test" for n in ("ana", "ben", "cho", "dan", "eve")}
    ana = rows["ana@acme.test"]
    assert (ana["requests"], ana["errors"], ana["active_days"]) == (6, 1, 4)
    assert (ana["first_active"], ana["last_active"]) == ("2026-09-07", "2026-09-21")
    assert ana["groups"] == ["eng"]
    assert sorted(rows["cho@acme.test"]["groups"]) == ["eng", "sales"]
    eve = rows["eve@acme.test"]
    assert (eve["requests"], eve["active_days"], eve["first_active"]) == (0, 0, None)
    # Busiest first.
    assert [r["email"] for r in body["data"]][:2] == ["ana@acme.test", "cho@acme.test"]
    sales = served.ok(
        f"{ANALYTICS}/users", w.admin_key, group_id=w.groups["sales"], start="2026-09-07", end=END
    )
    assert {r["email"]: r["requests"] for r in sales["data"]} == {"cho@acme.test": 4, "dan@acme.test": 2}
    # Cost by group (chargeback): the usage report narrowed to a group's members.
    charged = served.ok(
        f"{ANALYTICS}/usage",
        w.admin_key,
        group_id=w.groups["sales"],
        group_by="user",
        start="2026-09-07",
        end=END,
    )
    assert {r["user_email"]: r["requests"] for r in charged["data"]} == {
        "cho@acme.test": 4,
        "dan@acme.test": 2,
    }


def _csv(response: Any) -> list[dict[str, str]]:
    assert response.status_code == 200, response.text
    assert response.headers["content-type"].startswith("text/csv")
    assert response.headers["content-disposition"].startswith("attachment;")
    return list(csv.DictReader(io.StringIO(response.text)))


def test_csv_exports(world: tuple[Served, World]) -> None:
    served, w = world
    adoption = _csv(served.get(f"{ANALYTICS}/adoption", w.admin_key, format="csv", **WINDOW))
    assert list(adoption[0]) == [
        "group_id", "group_name", "week_start", "days", "users",
        "weekly_active_users", "wau_rate", "messages", "messages_per_wau",
    ]  # fmt: skip
    whole = [r for r in adoption if r["group_id"] == ""]
    assert [(r["week_start"], r["weekly_active_users"], r["messages"]) for r in whole] == [
        ("2026-09-07", "3", "6"),
        ("2026-09-14", "2", "5"),
        ("2026-09-21", "1", "2"),
    ]
    assert len(adoption) == 3 * 4  # the org, then each of the three groups
    # A group name a spreadsheet would run as a formula is written as text.
    assert {r["group_name"] for r in adoption} == {"", "eng", "sales", "'=ops"}

    users = _csv(served.get(f"{ANALYTICS}/users", w.admin_key, format="csv", start="2026-09-07", end=END))
    cho = next(r for r in users if r["email"] == "cho@acme.test")
    assert cho["groups"] == "eng; sales" and cho["requests"] == "4" and cho["active_days"] == "1"

    usage = _csv(
        served.get(
            f"{ANALYTICS}/usage", w.admin_key, format="csv", group_by="user", start="2026-09-07", end=END
        )
    )
    assert list(usage[0])[:3] == ["user", "user_email", "user_name"]
    by_email = {r["user_email"]: int(r["requests"]) for r in usage}
    # Usage counts everyone who called, service accounts and deactivated people included.
    assert by_email["ana@acme.test"] == 6 and by_email["fay@acme.test"] == 5
    assert by_email["service-account@sekisho.local"] == 10
    assert sum(by_email.values()) == 13 + 5 + 10


def test_another_organisation_is_never_counted_or_shown(world: tuple[Served, World]) -> None:
    served, w = world
    acme_usage = served.ok(f"{ANALYTICS}/usage", w.admin_key, group_by="user", start="2026-09-01", end=END)
    assert sum(r["requests"] for r in acme_usage["data"]) == 28
    assert all(r["user_email"].endswith(("@acme.test", "@sekisho.local")) for r in acme_usage["data"])
    for path in ("usage", "users", "adoption"):
        # Naming the other organisation, or one of its groups, finds nothing.
        response = served.get(f"{ANALYTICS}/{path}", w.admin_key, org_id=w.globex.id)
        assert response.status_code == 404, response.text
        globex_group = served.app.state.admin.groups.create(w.globex.id, f"g-{path}", actor="test")
        response = served.get(f"{ANALYTICS}/{path}", w.admin_key, group_id=globex_group.id)
        assert response.status_code == 404, response.text
    # The master key reads each organisation separately.
    globex = served.ok(f"{ANALYTICS}/adoption", org_id=w.globex.id, **WINDOW)
    assert [x["messages"] for x in globex["weeks"]] == [7, 0, 0]
    assert globex["summary"]["users"] == 1
