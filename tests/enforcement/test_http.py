"""Enforcement through the real app over HTTP (httpx ASGI): suspension, appeals, reinstatement,
tenant isolation and the transparency report, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from starlette.routing import Router

from sekisho.enforcement import Enforcement
from sekisho.enforcement.admin_routes import enforcement_admin_router
from sekisho.enforcement.routes import enforcement_routes
from sekisho.identity import Org, Project
from tests.conftest import MASTER_KEY, Gateway

pytestmark = pytest.mark.anyio
ADMIN = "/admin/v1"


def enforcement_of(gw: Gateway) -> Enforcement:
    """The app's enforcement service; mounted here while the app does not mount it itself."""
    app = gw.app
    found = getattr(app.state, "enforcement", None)
    if isinstance(found, Enforcement):
        return found
    authenticator = app.state.admin.authenticator
    enforcement = Enforcement(gw.core.engine, gw.core.audit, authenticator=authenticator)
    app.state.enforcement = enforcement
    gateway_router: Router = app._gateway
    gateway_router.routes[:0] = enforcement_routes(enforcement, authenticator)
    app.include_router(enforcement_admin_router(enforcement))
    return enforcement


class Tenant:
    """An organisation with people in it, each with a key."""

    def __init__(self, gw: Gateway, org: Org) -> None:
        self.gw, self.org = gw, org
        self.project: Project = gw.core.tenancy.get_project("default", org.id)
        self.keys: dict[str, str] = {}
        self.key_ids: dict[str, str] = {}
        self.user_ids: dict[str, str] = {}

    def person(self, name: str, role: str = "member", *, user_of: str | None = None) -> str:
        tenancy = self.gw.core.tenancy
        if user_of is None:
            user = tenancy.create_user(self.org.id, f"{name}@{self.org.slug}.test", name, role, actor="test")
        else:
            user = tenancy.get_user(self.user_ids[user_of], self.org.id)
        key, secret = tenancy.create_key(self.project, user, name, actor="test")
        self.keys[name], self.key_ids[name], self.user_ids[name] = secret, key.id, user.id
        return secret

    def h(self, name: str) -> dict[str, str]:
        return {"authorization": f"Bearer {self.keys[name]}"}


def tenant(gw: Gateway, slug: str) -> Tenant:
    t = Tenant(gw, gw.core.tenancy.create_org(slug, slug.title(), actor="test"))
    for name, role in (
        ("admin", "admin"),
        ("reviewer", "reviewer"),
        ("auditor", "auditor"),
        ("alice", "member"),
    ):
        t.person(name, role)
    return t


def error(response: httpx.Response, status: int, code: str) -> dict[str, Any]:
    assert response.status_code == status, response.text
    body: dict[str, Any] = response.json()["error"]
    assert set(body) == {"message", "type", "param", "code"} and body["code"] == code, body
    return body


async def chat(t: Tenant, name: str) -> httpx.Response:
    return await t.gw.client.post(
        "/v1/chat/completions",
        headers=t.h(name),
        json={"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]},
    )


async def test_suspended_key_can_only_appeal_and_overturn_reinstates_it(gateway: Gateway) -> None:
    enforcement_of(gateway)
    acme, client = tenant(gateway, "acme"), gateway.client
    assert (await chat(acme, "alice")).status_code == 200

    made = await client.post(
        f"{ADMIN}/enforcement/actions",
        headers=acme.h("admin"),
        json={
            "subject_type": "key",
            "subject_id": acme.key_ids["alice"],
            "action": "suspend_key",
            "reason": "mass persuasion campaign",
        },
    )
    assert made.status_code == 201, made.text
    action = made.json()
    refused = error(await chat(acme, "alice"), 403, "key_suspended")
    assert refused["type"] == "permission_error"
    assert "mass persuasion campaign" in refused["message"] and "/v1/appeals" in refused["message"]
    assert "停止" in refused["message"]
    error(await client.get(f"{ADMIN}/appeals", headers=acme.h("alice")), 403, "key_suspended")

    status = await client.get("/v1/enforcement", headers=acme.h("alice"))
    assert status.status_code == 200, status.text
    assert status.json()["suspended"] is True and [a["id"] for a in status.json()["actions"]] == [
        action["id"]
    ]
    appealed = await client.post(
        "/v1/appeals",
        headers=acme.h("alice"),
        json={"action_id": action["id"], "text": "誤解です。説明させてください。"},
    )
    assert appealed.status_code == 201, appealed.text
    appeal = appealed.json()
    assert (await client.get(f"/v1/appeals/{appeal['id']}", headers=acme.h("alice"))).json()[
        "status"
    ] == "open"
    error(
        await client.post("/v1/appeals", headers=acme.h("alice"), json={"action_id": action["id"]}),
        400,
        "missing_required_parameter",
    )

    queue = await client.get(f"{ADMIN}/appeals", params={"status": "open"}, headers=acme.h("reviewer"))
    assert [a["id"] for a in queue.json()] == [appeal["id"]]
    error(
        await client.post(
            f"{ADMIN}/appeals/{appeal['id']}/decide",
            headers=acme.h("auditor"),
            json={"outcome": "overturn", "reason": "x"},
        ),
        403,
        "insufficient_role",
    )
    decided = await client.post(
        f"{ADMIN}/appeals/{appeal['id']}/decide",
        headers=acme.h("reviewer"),
        json={"outcome": "overturn", "reason": "misclassified"},
    )
    assert decided.status_code == 200 and decided.json()["status"] == "overturned", decided.text
    answer = await chat(acme, "alice")
    assert answer.status_code == 200 and answer.json()["choices"][0]["message"]["content"] == "Echo: hello"
    final = (await client.get(f"/v1/appeals/{appeal['id']}", headers=acme.h("alice"))).json()
    assert (final["status"], final["decision_reason"]) == ("overturned", "misclassified")


async def test_the_ladder_suspends_and_an_upheld_appeal_keeps_it(gateway: Gateway) -> None:
    enforcement = enforcement_of(gateway)
    acme, client = tenant(gateway, "acme"), gateway.client
    for _ in range(3):
        enforcement.record_violation(
            org_id=acme.org.id,
            project_id=acme.project.id,
            user_id=acme.user_ids["alice"],
            key_id=acme.key_ids["alice"],
            category="election_interference",
            rule_id="r",
            request_id=None,
        )
    status = (await client.get("/v1/enforcement", headers=acme.h("alice"))).json()
    assert status["review_all"] is True and status["violations"]["count"] == 3
    held = await chat(acme, "alice")  # even "hello" now waits for a person
    assert held.status_code == 403, held.text
    assert held.json()["error"]["code"] == "review_required"
    assert held.json()["error"]["rule_id"] == "ENFORCEMENT.REVIEW_ALL"
    suspension = None
    for _ in range(2):
        suspension = enforcement.record_violation(
            org_id=acme.org.id,
            project_id=acme.project.id,
            user_id=acme.user_ids["alice"],
            key_id=acme.key_ids["alice"],
            category="election_interference",
            rule_id="r",
            request_id=None,
        )
    assert suspension is not None and suspension.action.action == "suspend_key"
    error(await chat(acme, "alice"), 403, "key_suspended")
    appeal = (
        await client.post(
            "/v1/appeals", headers=acme.h("alice"), json={"action_id": suspension.action.id, "text": "please"}
        )
    ).json()
    upheld = await client.post(
        f"{ADMIN}/appeals/{appeal['id']}/decide",
        headers=acme.h("reviewer"),
        json={"outcome": "uphold", "reason": "five violations"},
    )
    assert upheld.json()["status"] == "upheld"
    error(await chat(acme, "alice"), 403, "key_suspended")
    again = await client.post(
        f"{ADMIN}/appeals/{appeal['id']}/decide",
        headers=acme.h("reviewer"),
        json={"outcome": "overturn", "reason": "changed"},
    )
    error(again, 409, "conflict")


async def test_a_reviewer_cannot_decide_their_own_appeal(gateway: Gateway) -> None:
    enforcement_of(gateway)
    acme, client = tenant(gateway, "acme"), gateway.client
    acme.person("reviewer-2nd-key", user_of="reviewer")
    action = (
        await client.post(
            f"{ADMIN}/enforcement/actions",
            headers=acme.h("admin"),
            json={
                "subject_type": "key",
                "subject_id": acme.key_ids["reviewer"],
                "action": "suspend_key",
                "reason": "r",
            },
        )
    ).json()
    appeal = (
        await client.post(
            "/v1/appeals", headers=acme.h("reviewer"), json={"action_id": action["id"], "text": "let me"}
        )
    ).json()
    own = await client.post(
        f"{ADMIN}/appeals/{appeal['id']}/decide",
        headers=acme.h("reviewer-2nd-key"),
        json={"outcome": "overturn", "reason": "mine"},
    )
    error(own, 403, "self_decision")
    lifted = await client.post(
        f"{ADMIN}/enforcement/actions/{action['id']}/lift", headers=acme.h("admin"), json={"reason": "ok"}
    )
    assert lifted.status_code == 200 and lifted.json()["active"] is False
    assert (await chat(acme, "reviewer")).status_code == 200


async def test_other_organisations_ids_answer_404(gateway: Gateway) -> None:
    enforcement_of(gateway)
    acme, globex, client = tenant(gateway, "acme"), tenant(gateway, "globex"), gateway.client
    action = (
        await client.post(
            f"{ADMIN}/enforcement/actions",
            headers=acme.h("admin"),
            json={
                "subject_type": "key",
                "subject_id": acme.key_ids["alice"],
                "action": "warn",
                "reason": "r",
            },
        )
    ).json()
    appeal = (
        await client.post(
            "/v1/appeals", headers=acme.h("alice"), json={"action_id": action["id"], "text": "why"}
        )
    ).json()
    for response in (
        await client.get(f"{ADMIN}/appeals/{appeal['id']}", headers=globex.h("admin")),
        await client.post(
            f"{ADMIN}/appeals/{appeal['id']}/decide",
            headers=globex.h("reviewer"),
            json={"outcome": "overturn", "reason": "x"},
        ),
        await client.post(f"{ADMIN}/enforcement/actions/{action['id']}/lift", headers=globex.h("admin")),
        await client.post(
            f"{ADMIN}/enforcement/actions",
            headers=globex.h("admin"),
            json={
                "subject_type": "user",
                "subject_id": acme.user_ids["alice"],
                "action": "warn",
                "reason": "r",
            },
        ),
        await client.get(f"/v1/appeals/{appeal['id']}", headers=globex.h("alice")),
        await client.post(
            "/v1/appeals", headers=globex.h("alice"), json={"action_id": action["id"], "text": "x"}
        ),
        await client.get(f"{ADMIN}/transparency", params={"org_id": acme.org.id}, headers=globex.h("admin")),
    ):
        error(response, 404, "not_found")
    assert (await client.get(f"{ADMIN}/enforcement/actions", headers=globex.h("admin"))).json() == []
    # Someone else in the same organisation cannot read it either.
    acme.person("bob")
    error(await client.get(f"/v1/appeals/{appeal['id']}", headers=acme.h("bob")), 404, "not_found")


async def test_transparency_report_over_the_api(gateway: Gateway) -> None:
    enforcement = enforcement_of(gateway)
    acme, client = tenant(gateway, "acme"), gateway.client
    for category in ("impersonation_fraud", "political_campaigning"):
        enforcement.record_violation(
            org_id=acme.org.id,
            project_id=acme.project.id,
            user_id=acme.user_ids["alice"],
            key_id=acme.key_ids["alice"],
            category=category,
            rule_id="r",
            request_id=None,
        )
    error(await client.get(f"{ADMIN}/transparency", headers=acme.h("alice")), 403, "insufficient_role")
    error(await client.get(f"{ADMIN}/transparency", headers=acme.h("reviewer")), 403, "insufficient_role")
    report = await client.get(f"{ADMIN}/transparency", headers=acme.h("auditor"))
    assert report.status_code == 200, report.text
    data = report.json()
    assert data["org_id"] == acme.org.id
    assert data["violations"]["by_category"] == {"impersonation_fraud": 1, "political_campaigning": 1}
    assert data["actions"]["by_action"]["warn"]["automatic"] == 1
    empty = await client.get(
        f"{ADMIN}/transparency",
        params={"since": "2020-01-01", "until": "2020-02-01"},
        headers=acme.h("admin"),
    )
    assert empty.json()["violations"]["total"] == 0
    error(
        await client.get(
            f"{ADMIN}/transparency",
            params={"since": "2020-02-01", "until": "2020-01-01"},
            headers=acme.h("admin"),
        ),
        400,
        "invalid_value",
    )
    master = await client.get(
        f"{ADMIN}/transparency", params={"org_id": "acme"}, headers={"authorization": f"Bearer {MASTER_KEY}"}
    )
    assert master.json()["violations"]["total"] == 2
