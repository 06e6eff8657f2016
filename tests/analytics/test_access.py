"""Who may read analytics: ``usage:read`` org-wide, or through project roles narrowed to those
projects (no group breakdown for them), and nothing for roles without it (issue 7)."""

from __future__ import annotations

from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

from sekisho.identity.members import MemberStore
from tests.analytics.conftest import ANALYTICS, Served, event

DAY = datetime.now(UTC).replace(hour=12, minute=0, second=0, microsecond=0) - timedelta(days=1)


class Research:
    """acme with two projects. Usage: carl 3 in default; rita 2 in research and 4 in default.
    Research's people: pv (project viewer, no usage), gina (a research viewer through her group's
    grant, no usage), and rita, who used it without a role there (she has an org-wide role)."""

    def __init__(self, served: Served) -> None:
        tenancy, groups = served.core.tenancy, served.app.state.admin.groups
        org = tenancy.create_org("acme", "Acme", actor="test")
        self.org_id = org.id
        default = tenancy.get_project("default", org.id)
        self.research = tenancy.create_project(org.id, "research", "Research", actor="test")
        self.default = default
        names = ("pv", "gina", "carl", "rita", "auditor", "analyst", "member")
        roles = {"auditor": "auditor", "analyst": "analytics_viewer"}
        people = {n: served.user(org.id, f"{n}@acme.test", roles.get(n, "member")) for n in names}
        self.keys = {n: served.key(default, u, n)[1] for n, u in people.items()}
        MemberStore(served.core.engine, served.core.audit).set_project_member(
            self.research.id, people["pv"].id, "viewer", org.id, actor="test"
        )
        self.team = groups.create(org.id, "research-team", actor="test")
        groups.add_member(self.team.id, people["gina"].id, org.id, actor="test")
        groups.set_grants(
            self.team.id, org.id, org_role=None, project_roles={self.research.id: "viewer"}, actor="test"
        )
        carl, rita = people["carl"], people["rita"]
        carl_key = served.key(default, carl, "carl-default")[0]
        rita_research = served.key(self.research, rita, "rita-research")[0]
        rita_default = served.key(default, rita, "rita-default")[0]
        served.record(
            [
                *(event(DAY, org.id, default.id, carl.id, carl_key) for _ in range(3)),
                *(event(DAY, org.id, self.research.id, rita.id, rita_research) for _ in range(2)),
                *(event(DAY, org.id, default.id, rita.id, rita_default) for _ in range(4)),
            ]
        )


def _requests_by(served: Served, key: str, group: str, **params: Any) -> dict[str, int]:
    body = served.ok(f"{ANALYTICS}/usage", key, group_by=group, **params)
    return {r[group]: r["requests"] for r in body["data"]}


def test_project_roles_see_their_projects_only(serve: Callable[..., Any]) -> None:
    with serve() as served:
        r = Research(served)
        pv = r.keys["pv"]
        assert _requests_by(served, pv, "project") == {r.research.id: 2}
        assert served.get(f"{ANALYTICS}/usage", pv, project_id=r.default.id).status_code == 404
        assert _requests_by(served, pv, "project", project_id=r.research.id) == {r.research.id: 2}

        people = served.ok(f"{ANALYTICS}/users", pv)["data"]
        assert all(p["groups"] == [] for p in people)  # memberships are the organisation's
        assert {p["email"]: p["requests"] for p in people} == {
            "pv@acme.test": 0,
            "gina@acme.test": 0,
            "rita@acme.test": 2,  # her usage elsewhere is not this project's
        }
        adoption = served.ok(f"{ANALYTICS}/adoption", pv, weeks=1)
        assert adoption["summary"]["users"] == 3 and adoption["summary"]["activated_users"] == 1
        assert adoption["groups"] == []
        for path in ("usage", "users", "adoption"):
            response = served.get(f"{ANALYTICS}/{path}", pv, group_id=r.team.id)
            assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_role"
        # CSV is narrowed the same way.
        csv_text = served.get(f"{ANALYTICS}/usage", pv, group_by="project", format="csv").text
        assert r.research.id in csv_text and r.default.id not in csv_text


def test_org_wide_readers_see_everything_and_members_nothing(serve: Callable[..., Any]) -> None:
    with serve() as served:
        r = Research(served)
        for reader in ("auditor", "analyst"):
            by_project = _requests_by(served, r.keys[reader], "project")
            assert by_project == {r.research.id: 2, r.default.id: 7}, reader
            adoption = served.ok(f"{ANALYTICS}/adoption", r.keys[reader], weeks=1)
            assert adoption["summary"]["users"] == 7  # every person in acme
            assert [g["name"] for g in adoption["groups"]] == ["research-team"]
        for path in ("usage", "users", "adoption"):
            response = served.get(f"{ANALYTICS}/{path}", r.keys["member"])
            assert response.status_code == 403 and response.json()["error"]["code"] == "insufficient_role"
            assert served.http.get(f"{ANALYTICS}/{path}").status_code == 401
