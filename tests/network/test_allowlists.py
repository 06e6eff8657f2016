"""IP allow-lists per organisation and project, through the real app on SQLite and PostgreSQL.

The in-process client connects from 127.0.0.1, configured as the trusted proxy, so each request's
X-Forwarded-For says which client address the proxy saw.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from sekisho.store.tables import audit_log
from tests.conftest import Gateway
from tests.network.conftest import ADMIN, CHAT, HELLO, NetworkApp, Tenant, error_code, master, new_tenant, via

pytestmark = pytest.mark.anyio

PROXIED = {"trusted_proxies": ["127.0.0.1"], "rules_cache_seconds": 60}
OFFICE = "203.0.113.0/24"
OFFICE_IP = "203.0.113.10"
HOME_IP = "198.51.100.20"


async def add_rule(t: Tenant, cidr: str, *, project_id: str | None = None, **extra: Any) -> dict[str, Any]:
    response = await t.gw.client.post(
        f"{ADMIN}/network-rules",
        headers=via(extra.pop("from_ip", OFFICE_IP), t.admin_key),
        json={"cidr": cidr, "project_id": project_id, **extra},
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


def audit_kinds(gw: Gateway, prefix: str) -> list[dict[str, Any]]:
    with gw.core.engine.connect() as conn:
        rows = conn.execute(
            select(audit_log.c.kind, audit_log.c.record).where(audit_log.c.kind.like(f"{prefix}%"))
        ).all()
    return [{"kind": kind, **orjson.loads(record)} for kind, record in rows]


async def test_without_rules_every_address_is_allowed(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        response = await gw.client.post(CHAT, headers=via(HOME_IP, t.key_for()), json=HELLO)
        assert response.status_code == 200, response.text


async def test_an_org_rule_admits_only_its_networks_on_v1_and_admin(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        other = await new_tenant(gw, "globex")
        key = t.key_for()
        rule = await add_rule(t, OFFICE, note="Tokyo office")
        assert rule["cidr"] == OFFICE and rule["project_id"] is None and rule["note"] == "Tokyo office"

        inside = await gw.client.post(CHAT, headers=via(OFFICE_IP, key), json=HELLO)
        assert inside.status_code == 200, inside.text
        outside = await gw.client.post(CHAT, headers=via(HOME_IP, key), json=HELLO)
        assert error_code(outside, 403) == "ip_not_allowed"
        assert outside.json()["error"]["type"] == "permission_error"
        assert HOME_IP in outside.json()["error"]["message"]
        models = await gw.client.get("/v1/models", headers=via(HOME_IP, key))
        assert error_code(models, 403) == "ip_not_allowed"
        # Enforcement status and appeals are /v1 routes like the others.
        status = await gw.client.get("/v1/enforcement", headers=via(HOME_IP, key))
        assert error_code(status, 403) == "ip_not_allowed"
        assert (await gw.client.get("/v1/enforcement", headers=via(OFFICE_IP, key))).status_code == 200

        # The admin API is held to the organisation's rule too.
        admin_outside = await gw.client.get(f"{ADMIN}/network-rules", headers=via(HOME_IP, t.admin_key))
        assert error_code(admin_outside, 403) == "ip_not_allowed"
        admin_inside = await gw.client.get(f"{ADMIN}/network-rules", headers=via(OFFICE_IP, t.admin_key))
        assert [r["cidr"] for r in admin_inside.json()] == [OFFICE]

        # Another organisation without rules is not affected; the master key is never held back.
        free = await gw.client.post(CHAT, headers=via(HOME_IP, other.key_for()), json=HELLO)
        assert free.status_code == 200, free.text
        operator = await gw.client.get(
            f"{ADMIN}/network-rules", params={"org_id": t.id}, headers={**master(gw), **via(HOME_IP)}
        )
        assert operator.status_code == 200, operator.text


async def test_the_header_from_an_untrusted_peer_is_ignored(network_app: NetworkApp) -> None:
    # The proxy is elsewhere: the in-process client (127.0.0.1) is the client, whatever it claims.
    async with network_app({"trusted_proxies": ["10.0.0.0/8"]}) as gw:
        t = await new_tenant(gw, "acme")
        key = t.key_for()
        await add_rule(t, "127.0.0.0/8")
        spoof = await gw.client.post(CHAT, headers=via(HOME_IP, key), json=HELLO)
        assert spoof.status_code == 200, spoof.text  # 127.0.0.1 is allowed, the header is not read
        await add_rule(t, OFFICE)
        listed = await gw.client.get(f"{ADMIN}/network-rules", headers=via(OFFICE_IP, t.admin_key))
        rules = [r for r in listed.json() if r["cidr"] == "127.0.0.0/8"]
        response = await gw.client.delete(
            f"{ADMIN}/network-rules/{rules[0]['id']}",
            headers=via(OFFICE_IP, t.admin_key),
            params={"force": "true"},
        )
        assert response.status_code == 204, response.text
        # Claiming to come from the office does not help a caller at 127.0.0.1.
        denied = await gw.client.post(CHAT, headers=via(OFFICE_IP, key), json=HELLO)
        assert error_code(denied, 403) == "ip_not_allowed"
        assert "127.0.0.1" in denied.json()["error"]["message"]


async def test_project_rules_narrow_model_calls_of_that_project(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        await add_rule(t, OFFICE)
        await add_rule(t, "203.0.113.128/25", project_id=t.other_project.id)
        default_key, restricted_key = t.key_for(), t.key_for(project=t.other_project)

        # The default project only has the org-wide rule.
        assert (
            await gw.client.post(CHAT, headers=via("203.0.113.5", default_key), json=HELLO)
        ).status_code == 200
        # The other project also needs its own network: .5 is in the office but not in .128/25.
        narrow = await gw.client.post(CHAT, headers=via("203.0.113.5", restricted_key), json=HELLO)
        assert error_code(narrow, 403) == "ip_not_allowed"
        assert "project" in narrow.json()["error"]["message"]
        ok = await gw.client.post(CHAT, headers=via("203.0.113.200", restricted_key), json=HELLO)
        assert ok.status_code == 200, ok.text
        # Both must match: inside the project's network is not enough outside the org's.
        await add_rule(t, "192.0.2.0/24", project_id=t.other_project.id)
        both = await gw.client.post(CHAT, headers=via("192.0.2.1", restricted_key), json=HELLO)
        assert error_code(both, 403) == "ip_not_allowed"


async def test_project_rules_alone_leave_the_rest_of_the_org_open(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        await add_rule(t, "2001:db8:10::/48", project_id=t.other_project.id)
        key = t.key_for(project=t.other_project)
        assert (await gw.client.post(CHAT, headers=via("2001:db8:10::5", key), json=HELLO)).status_code == 200
        denied = await gw.client.post(CHAT, headers=via("2001:db8:11::5", key), json=HELLO)
        assert error_code(denied, 403) == "ip_not_allowed"
        # Neither the default project nor the admin API is affected by a project's rule.
        assert (await gw.client.post(CHAT, headers=via(HOME_IP, t.key_for()), json=HELLO)).status_code == 200
        listed = await gw.client.get(f"{ADMIN}/network-rules", headers=via(HOME_IP, t.admin_key))
        assert listed.status_code == 200


async def test_ipv6_org_rules(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        await add_rule(t, "2001:db8:abcd::/48", from_ip="2001:db8:abcd::1")
        key = t.key_for()
        assert (
            await gw.client.post(CHAT, headers=via("2001:db8:abcd:1::9", key), json=HELLO)
        ).status_code == 200
        for outside in ("2001:db8:abce::1", OFFICE_IP):
            response = await gw.client.post(CHAT, headers=via(outside, key), json=HELLO)
            assert error_code(response, 403) == "ip_not_allowed", outside


async def test_changes_take_effect_at_once_despite_the_cache(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:  # rules cached for 60 s
        t = await new_tenant(gw, "acme")
        key = t.key_for()
        assert (await gw.client.post(CHAT, headers=via(HOME_IP, key), json=HELLO)).status_code == 200
        rule = await add_rule(t, OFFICE)
        denied = await gw.client.post(CHAT, headers=via(HOME_IP, key), json=HELLO)
        assert error_code(denied, 403) == "ip_not_allowed"
        gone = await gw.client.delete(
            f"{ADMIN}/network-rules/{rule['id']}", headers=via(OFFICE_IP, t.admin_key)
        )
        assert gone.status_code == 204, gone.text
        assert (await gw.client.post(CHAT, headers=via(HOME_IP, key), json=HELLO)).status_code == 200


async def test_self_lockout_is_refused_unless_forced(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        refused = await gw.client.post(
            f"{ADMIN}/network-rules", headers=via(HOME_IP, t.admin_key), json={"cidr": OFFICE}
        )
        assert error_code(refused, 409) == "conflict"
        assert HOME_IP in refused.json()["error"]["message"] and "force" in refused.json()["error"]["message"]
        assert (await gw.client.get(f"{ADMIN}/network-rules", headers=via(HOME_IP, t.admin_key))).json() == []

        home = await add_rule(t, f"{HOME_IP}/32", from_ip=HOME_IP)
        office = await add_rule(t, OFFICE, from_ip=HOME_IP)  # the caller is still inside the union
        # Removing the rule the caller depends on, while another remains, would lock them out too.
        refused_delete = await gw.client.delete(
            f"{ADMIN}/network-rules/{home['id']}", headers=via(HOME_IP, t.admin_key)
        )
        assert error_code(refused_delete, 409) == "conflict"
        forced = await gw.client.delete(
            f"{ADMIN}/network-rules/{home['id']}", headers=via(HOME_IP, t.admin_key), params={"force": "true"}
        )
        assert forced.status_code == 204
        locked_out = await gw.client.get(f"{ADMIN}/network-rules", headers=via(HOME_IP, t.admin_key))
        assert error_code(locked_out, 403) == "ip_not_allowed"
        # Removing the last rule never locks anyone out.
        last = await gw.client.delete(
            f"{ADMIN}/network-rules/{office['id']}", headers=via(OFFICE_IP, t.admin_key)
        )
        assert last.status_code == 204
        forced_create = await gw.client.post(
            f"{ADMIN}/network-rules", headers=via(HOME_IP, t.admin_key), json={"cidr": OFFICE, "force": True}
        )
        assert forced_create.status_code == 201
        assert [e["data"]["forced"] for e in audit_kinds(gw, "network_rule.")] == [
            False,
            False,
            True,
            False,
            True,
        ]


@pytest.mark.parametrize(
    ("cidr", "fragment"),
    [("10.0.0.1/8", "host bits"), ("10.0.0.0/40", "not an IP"), ("intranet", "not an IP"), ("", "")],
)
async def test_bad_networks_answer_400(network_app: NetworkApp, cidr: str, fragment: str) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        response = await gw.client.post(
            f"{ADMIN}/network-rules", headers=via(OFFICE_IP, t.admin_key), json={"cidr": cidr}
        )
        assert error_code(response, 400) == "invalid_value"
        assert fragment in response.json()["error"]["message"]


async def test_rules_are_scoped_to_their_organisation(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        acme, globex = await new_tenant(gw, "acme"), await new_tenant(gw, "globex")
        rule = await add_rule(acme, OFFICE)
        theirs = await gw.client.delete(
            f"{ADMIN}/network-rules/{rule['id']}", headers=via(OFFICE_IP, globex.admin_key)
        )
        assert error_code(theirs, 404) == "not_found"
        listed = await gw.client.get(f"{ADMIN}/network-rules", headers=via(OFFICE_IP, globex.admin_key))
        assert listed.json() == []
        snooping = await gw.client.get(
            f"{ADMIN}/network-rules", params={"org_id": acme.id}, headers=via(OFFICE_IP, globex.admin_key)
        )
        assert error_code(snooping, 404) == "not_found"
        # A project of another organisation cannot be given a rule.
        foreign = await gw.client.post(
            f"{ADMIN}/network-rules",
            headers=via(OFFICE_IP, globex.admin_key),
            json={"cidr": OFFICE, "project_id": acme.other_project.id},
        )
        assert error_code(foreign, 404) == "not_found"
        # Members may not change the allow-list.
        member = await gw.client.post(
            f"{ADMIN}/network-rules", headers=via(OFFICE_IP, acme.key_for("member")), json={"cidr": OFFICE}
        )
        assert error_code(member, 403) == "insufficient_role"


async def test_changes_are_audited(network_app: NetworkApp) -> None:
    async with network_app(PROXIED) as gw:
        t = await new_tenant(gw, "acme")
        rule = await add_rule(t, "2001:db8::/32", project_id=t.other_project.id, note="VPN")
        await gw.client.delete(f"{ADMIN}/network-rules/{rule['id']}", headers=via(OFFICE_IP, t.admin_key))
        events = audit_kinds(gw, "network_rule.")
        assert [e["kind"] for e in events] == ["network_rule.created", "network_rule.deleted"]
        created = events[0]
        assert created["org_id"] == t.id and created["project_id"] == t.other_project.id
        assert created["data"]["cidr"] == "2001:db8::/32" and created["data"]["rule_id"] == rule["id"]
        assert created["actor"].startswith(f"user:{t.admin.id}")
