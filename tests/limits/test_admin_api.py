"""/admin/v1/budgets and /admin/v1/rate-limits through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from sekisho.store.tables import audit_log
from tests.limits.conftest import LimitsGateway, MakeGateway

pytestmark = pytest.mark.anyio


def org_key(lg: LimitsGateway, org_id: str, role: str) -> str:
    tenancy = lg.gw.core.tenancy
    user = tenancy.create_user(org_id, f"{role}@{org_id}.test", role, role, actor="test")
    _key, secret = tenancy.create_key(tenancy.get_project("default", org_id), user, role, actor="test")
    return str(secret)


def audit_kinds(lg: LimitsGateway, prefix: str) -> list[dict[str, Any]]:
    lg.flush()
    with lg.gw.core.engine.connect() as conn:
        records = [
            orjson.loads(r)
            for r in conn.execute(select(audit_log.c.record).order_by(audit_log.c.seq)).scalars()
        ]
    return [r for r in records if r["kind"].startswith(prefix)]


def assert_error(response: Any, status: int, code: str | None = None) -> None:
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert error["message"]
    if code is not None:
        assert error["code"] == code


async def test_budget_lifecycle_is_audited(make_gateway: MakeGateway) -> None:
    async with make_gateway() as lg:
        key, _secret = lg.key()
        created = await lg.budget(
            scope_type="key",
            scope_id=key.id,
            amount_usd="2.5",
            period="week",
            thresholds=[80, 50],
            name="team",
        )
        assert created["amount"] == 2_500_000_000 and created["amount_usd"] == 2.5
        assert created["thresholds"] == [50, 80]
        assert created["current"]["spent"] == 0 and created["current"]["remaining"] == 2_500_000_000
        assert created["current"]["resets_at"] is not None
        org_budget = await lg.budget(scope_type="org", unit="tokens", amount=1_000_000, period="none")
        assert org_budget["scope_id"] == lg.org_id and org_budget["current"]["period_start"] == "all"
        assert org_budget["current"]["resets_at"] is None

        listed = (await lg.admin("GET", "/budgets")).json()
        assert [b["id"] for b in listed] == [created["id"], org_budget["id"]]
        only_keys = (await lg.admin("GET", "/budgets", params={"scope_type": "key"})).json()
        assert [b["id"] for b in only_keys] == [created["id"]]

        patched = await lg.admin(
            "PATCH",
            f"/budgets/{created['id']}",
            json={"amount_usd": "3", "notify": ["ops@example.com"], "enabled": False},
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["amount"], body["notify"], body["enabled"], body["period"]) == (
            3_000_000_000, ["ops@example.com"], False, "week"
        )  # fmt: skip
        assert (await lg.get_budget(created["id"]))["amount"] == 3_000_000_000

        assert (await lg.admin("DELETE", f"/budgets/{created['id']}")).status_code == 204
        assert_error(await lg.admin("GET", f"/budgets/{created['id']}"), 404, "not_found")

        kinds = [(r["kind"], r["data"]["budget_id"]) for r in audit_kinds(lg, "budget.")]
        assert kinds == [
            ("budget.created", created["id"]),
            ("budget.created", org_budget["id"]),
            ("budget.updated", created["id"]),
            ("budget.deleted", created["id"]),
        ]
        updated = audit_kinds(lg, "budget.updated")[0]
        assert updated["actor"] == "master-key" and updated["data"]["changed"] == "amount,enabled,notify"


@pytest.mark.parametrize(
    ("body", "param_hint"),
    [
        ({"scope_type": "team", "amount": 1}, "scope_type"),
        ({"scope_type": "key", "amount": 1}, "scope_id"),
        ({"scope_type": "key", "scope_id": "key_nope", "amount": 1}, "no key"),
        ({"scope_type": "org", "scope_id": "org_other", "amount": 1}, "organisation's own id"),
        ({"scope_type": "org"}, "amount"),
        ({"scope_type": "org", "amount": -1}, "amount"),
        ({"scope_type": "org", "amount": 1, "amount_usd": "1"}, "not both"),
        ({"scope_type": "org", "unit": "tokens", "amount_usd": "1"}, "amount_usd"),
        ({"scope_type": "org", "amount": 1, "thresholds": [0]}, "thresholds"),
        ({"scope_type": "org", "amount": 1, "thresholds": [50, 50]}, "distinct"),
        ({"scope_type": "org", "amount": 1, "notify": ["not-an-address"]}, "notify"),
        ({"scope_type": "org", "amount": 1, "period": "year"}, "period"),
        ({"scope_type": "org", "amount": 1, "colour": "red"}, "colour"),
    ],
)
async def test_invalid_budgets_are_400(
    make_gateway: MakeGateway, body: dict[str, Any], param_hint: str
) -> None:
    async with make_gateway() as lg:
        response = await lg.admin("POST", "/budgets", json=body)
        assert_error(response, 400)
        error = response.json()["error"]
        assert param_hint in f"{error['message']} {error['param']}"


async def test_budgets_and_limits_of_another_organisation_are_404(make_gateway: MakeGateway) -> None:
    async with make_gateway() as lg:
        tenancy = lg.gw.core.tenancy
        other = tenancy.create_org("other", "Other", actor="test")
        other_admin = org_key(lg, other.id, "admin")
        theirs = await lg.budget(org_id=other.id, scope_type="org", amount=5)
        their_limit = await lg.rate_limit(
            org_id=other.id, scope_type="model", scope_id="gpt-4o-mini", concurrent=3
        )
        mine_key, _ = lg.key()
        mine = await lg.budget(scope_type="key", scope_id=mine_key.id, amount=5)

        my_limit = await lg.rate_limit(scope_type="key", scope_id=mine_key.id, concurrent=1)
        for method, path, json in [
            ("GET", f"/budgets/{mine['id']}", None),
            ("PATCH", f"/budgets/{mine['id']}", {"amount": 9}),
            ("DELETE", f"/budgets/{mine['id']}", None),
            ("GET", f"/rate-limits/{my_limit['id']}", None),
            ("PATCH", f"/rate-limits/{my_limit['id']}", {"concurrent": 2}),
            ("DELETE", f"/rate-limits/{my_limit['id']}", None),
        ]:
            assert_error(await lg.admin(method, path, json=json, key=other_admin), 404, "not_found")
        # A budget naming another organisation's key is refused.
        assert_error(
            await lg.admin(
                "POST",
                "/budgets",
                json={"scope_type": "key", "scope_id": mine_key.id, "amount": 1},
                key=other_admin,
            ),
            400,
        )
        # Their own objects are theirs; they see only them.
        listed = (await lg.admin("GET", "/budgets", key=other_admin)).json()
        assert [b["id"] for b in listed] == [theirs["id"]]
        assert (
            await lg.admin("GET", f"/rate-limits/{their_limit['id']}", key=other_admin)
        ).status_code == 200
        assert (await lg.get_budget(mine["id"]))["amount"] == 5


async def test_permissions_readers_read_managers_change(make_gateway: MakeGateway) -> None:
    async with make_gateway() as lg:
        viewer = org_key(lg, lg.org_id, "analytics_viewer")
        member = org_key(lg, lg.org_id, "member")
        admin = org_key(lg, lg.org_id, "admin")
        assert (await lg.admin("GET", "/budgets", key=viewer)).status_code == 200
        assert (await lg.admin("GET", "/rate-limits", key=viewer)).status_code == 200
        assert_error(
            await lg.admin("POST", "/budgets", json={"scope_type": "org", "amount": 1}, key=viewer),
            403,
            "insufficient_role",
        )
        assert_error(await lg.admin("GET", "/budgets", key=member), 403, "insufficient_role")
        created = await lg.admin("POST", "/budgets", json={"scope_type": "org", "amount": 1}, key=admin)
        assert created.status_code == 201, created.text
        assert created.json()["created_by"].startswith("user:")


async def test_rate_limit_lifecycle(make_gateway: MakeGateway) -> None:
    async with make_gateway() as lg:
        key, _ = lg.key()
        created = await lg.rate_limit(scope_type="key", scope_id=key.id, requests_per_minute=60, concurrent=4)
        assert created["current"] == {"requests": 0, "tokens": 0, "concurrent": 0}
        model_limit = await lg.rate_limit(
            scope_type="model", scope_id="gpt-4o-mini", tokens_per_minute=10_000
        )
        listed = (await lg.admin("GET", "/rate-limits")).json()
        assert [r["id"] for r in listed] == [created["id"], model_limit["id"]]

        patched = await lg.admin(
            "PATCH",
            f"/rate-limits/{created['id']}",
            json={"requests_per_minute": None, "tokens_per_minute": 500},
        )
        assert patched.status_code == 200, patched.text
        body = patched.json()
        assert (body["requests_per_minute"], body["tokens_per_minute"], body["concurrent"]) == (None, 500, 4)
        # Removing the last number leaves nothing to enforce: refused.
        assert_error(
            await lg.admin(
                "PATCH", f"/rate-limits/{created['id']}", json={"tokens_per_minute": None, "concurrent": None}
            ),
            400,
        )
        assert (await lg.admin("DELETE", f"/rate-limits/{created['id']}")).status_code == 204
        assert_error(await lg.admin("GET", f"/rate-limits/{created['id']}"), 404)
        kinds = [r["kind"] for r in audit_kinds(lg, "rate_limit.")]
        assert kinds == [
            "rate_limit.created",
            "rate_limit.created",
            "rate_limit.updated",
            "rate_limit.deleted",
        ]


@pytest.mark.parametrize(
    "body",
    [
        {"scope_type": "model", "scope_id": "no-such-model", "concurrent": 1},
        {"scope_type": "user", "scope_id": "x", "concurrent": 1},
        {"scope_type": "project", "scope_id": "proj_nope", "concurrent": 1},
        {"scope_type": "model", "scope_id": "gpt-4o-mini"},
        {"scope_type": "model", "scope_id": "gpt-4o-mini", "concurrent": 0},
    ],
)
async def test_invalid_rate_limits_are_400(make_gateway: MakeGateway, body: dict[str, Any]) -> None:
    async with make_gateway() as lg:
        assert_error(await lg.admin("POST", "/rate-limits", json=body), 400)
