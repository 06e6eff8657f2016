"""Verified domains: the TXT challenge looked up through dnspython against a real DNS server.

The server (``DnsPeer``) listens on a loopback UDP port and Sekisho's production resolver is
pointed at it with ``network.dns_nameservers``; the Protocol-level fake resolver appears only in
the last test, which checks that the store takes any ``TxtResolver``.
"""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from sekisho.network import DnsUnavailable, domain_policy, verified_org
from sekisho.network.domains import DomainStore, normalise_domain
from sekisho.network.resolver import DnsPythonResolver
from sekisho.store.tables import audit_log
from tests.network.conftest import ADMIN, NetworkApp, Tenant, error_code, new_tenant
from tests.network.dns_peer import DnsPeer

pytestmark = pytest.mark.anyio


def dns_settings(peer: DnsPeer) -> dict[str, Any]:
    return {"dns_nameservers": [peer.address], "dns_timeout_seconds": 2}


async def claim(t: Tenant, domain: str, **extra: Any) -> dict[str, Any]:
    response = await t.gw.client.post(
        f"{ADMIN}/domains", headers=t.gw.headers(t.admin_key), json={"domain": domain, **extra}
    )
    assert response.status_code == 201, response.text
    body: dict[str, Any] = response.json()
    return body


async def verify(t: Tenant, domain_id: str) -> Any:
    return await t.gw.client.post(f"{ADMIN}/domains/{domain_id}/verify", headers=t.gw.headers(t.admin_key))


async def test_claim_publish_verify(network_app: NetworkApp, dns_peer: DnsPeer) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        t = await new_tenant(gw, "acme")
        claimed = await claim(t, "Example.COM.", join_policy="auto", default_role="reviewer")
        assert claimed["domain"] == "example.com" and claimed["verified"] is False
        record = claimed["txt_record"]
        assert record["name"] == "_sekisho-challenge.example.com" and record["type"] == "TXT"
        assert record["value"].startswith("sekisho-verification=") and len(record["value"]) > 50
        assert claimed["record"] == f'_sekisho-challenge.example.com TXT "{record["value"]}"'
        engine = gw.core.engine
        assert domain_policy(engine, t.id, "alice@example.com") is None  # not verified yet

        early = await verify(t, claimed["id"])
        assert error_code(early, 400) == "domain_not_verified"
        assert claimed["record"] in early.json()["error"]["message"]
        assert "_sekisho-challenge.example.com" in dns_peer.queries

        # Other TXT records (SPF, other vendors' tokens, a wrong token) sit beside ours.
        dns_peer.publish(record["name"], "v=spf1 -all", "sekisho-verification=wrong", record["value"])
        done = await verify(t, claimed["id"])
        assert done.status_code == 200, done.text
        assert done.json()["verified"] is True and done.json()["verified_at"] is not None
        again = await verify(t, claimed["id"])  # idempotent
        assert again.status_code == 200 and again.json()["verified_at"] == done.json()["verified_at"]

        assert domain_policy(engine, t.id, "Alice@Example.com") == ("auto", "reviewer")
        assert domain_policy(engine, t.id, "bob@eng.example.com") is None  # exact domain only
        assert domain_policy(engine, "org_other", "alice@example.com") is None
        assert verified_org(engine, "carol@example.com") == (t.id, "auto", "reviewer")
        listed = await gw.client.get(f"{ADMIN}/domains", headers=gw.headers(t.admin_key))
        assert [d["verified"] for d in listed.json()] == [True]


async def test_a_domain_verified_by_one_org_cannot_be_verified_by_another(
    network_app: NetworkApp, dns_peer: DnsPeer
) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        acme, globex = await new_tenant(gw, "acme"), await new_tenant(gw, "globex")
        mine = await claim(acme, "example.com")
        theirs = await claim(globex, "example.com")  # claiming is allowed; proof decides
        assert mine["txt_record"]["value"] != theirs["txt_record"]["value"]
        dns_peer.publish("_sekisho-challenge.example.com", mine["txt_record"]["value"])
        # globex's token is not published: its check fails on DNS, not on acme's claim.
        assert error_code(await verify(globex, theirs["id"]), 400) == "domain_not_verified"
        assert (await verify(acme, mine["id"])).status_code == 200
        # Even with its own token published too, globex is refused once acme has verified.
        dns_peer.publish("_sekisho-challenge.example.com", theirs["txt_record"]["value"])
        conflict = await verify(globex, theirs["id"])
        assert error_code(conflict, 409) == "conflict"
        assert domain_policy(gw.core.engine, globex.id, "x@example.com") is None
        # Once acme gives the domain up, globex can prove it.
        gone = await gw.client.delete(f"{ADMIN}/domains/{mine['id']}", headers=gw.headers(acme.admin_key))
        assert gone.status_code == 204
        assert (await verify(globex, theirs["id"])).status_code == 200
        assert verified_org(gw.core.engine, "x@example.com") == (globex.id, "invite_only", "member")


async def test_domains_are_scoped_to_their_organisation(network_app: NetworkApp, dns_peer: DnsPeer) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        acme, globex = await new_tenant(gw, "acme"), await new_tenant(gw, "globex")
        mine = await claim(acme, "example.com")
        for response in (
            await verify(globex, mine["id"]),
            await gw.client.delete(f"{ADMIN}/domains/{mine['id']}", headers=gw.headers(globex.admin_key)),
        ):
            assert error_code(response, 404) == "not_found"
        assert (await gw.client.get(f"{ADMIN}/domains", headers=gw.headers(globex.admin_key))).json() == []
        member = await gw.client.post(
            f"{ADMIN}/domains", headers=gw.headers(acme.key_for("member")), json={"domain": "acme.test"}
        )
        assert error_code(member, 403) == "insufficient_role"
        duplicate = await gw.client.post(
            f"{ADMIN}/domains", headers=gw.headers(acme.admin_key), json={"domain": "EXAMPLE.com"}
        )
        assert error_code(duplicate, 409) == "conflict"


@pytest.mark.parametrize(
    "body",
    [
        {"domain": "not a domain"},
        {"domain": "alice@example.com"},
        {"domain": "https://example.com/"},
        {"domain": "localhost"},
        {"domain": "192.0.2.1"},
        {"domain": "-bad.example.com"},
        {"domain": "example.com", "default_role": "owner"},
        {"domain": "example.com", "default_role": "emperor"},
        {"domain": "example.com", "join_policy": "everyone"},
        {"domain": "example.com", "surprise": True},
    ],
)
async def test_bad_claims_answer_400(
    network_app: NetworkApp, dns_peer: DnsPeer, body: dict[str, Any]
) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        t = await new_tenant(gw, "acme")
        response = await gw.client.post(f"{ADMIN}/domains", headers=gw.headers(t.admin_key), json=body)
        assert error_code(response, 400) == "invalid_value"


async def test_internationalised_domains_are_stored_in_ascii(
    network_app: NetworkApp, dns_peer: DnsPeer
) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        t = await new_tenant(gw, "acme")
        claimed = await claim(t, "例え.jp")
        assert claimed["domain"] == normalise_domain("例え.jp") == "xn--r8jz45g.jp"
        dns_peer.publish(claimed["txt_record"]["name"], claimed["txt_record"]["value"])
        assert (await verify(t, claimed["id"])).status_code == 200
        assert domain_policy(gw.core.engine, t.id, "taro@例え.jp") == ("invite_only", "member")


async def test_dns_failure_answers_503_and_changes_nothing(
    network_app: NetworkApp, dns_peer: DnsPeer
) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        t = await new_tenant(gw, "acme")
        claimed = await claim(t, "example.com")
        dns_peer.failing.add("_sekisho-challenge.example.com")  # SERVFAIL
        response = await verify(t, claimed["id"])
        assert error_code(response, 503) == "dns_unavailable"
        assert response.json()["error"]["type"] == "api_error"
        listed = await gw.client.get(f"{ADMIN}/domains", headers=gw.headers(t.admin_key))
        assert listed.json()[0]["verified"] is False


async def test_changes_are_audited(network_app: NetworkApp, dns_peer: DnsPeer) -> None:
    async with network_app(dns_settings(dns_peer)) as gw:
        t = await new_tenant(gw, "acme")
        claimed = await claim(t, "example.com", join_policy="auto")
        dns_peer.publish(claimed["txt_record"]["name"], claimed["txt_record"]["value"])
        await verify(t, claimed["id"])
        await gw.client.delete(f"{ADMIN}/domains/{claimed['id']}", headers=gw.headers(t.admin_key))
        with gw.core.engine.connect() as conn:
            rows = conn.execute(
                select(audit_log.c.record).where(audit_log.c.kind.like("domain.%")).order_by(audit_log.c.seq)
            ).scalars()
            events = [orjson.loads(r) for r in rows]
        assert [e["kind"] for e in events] == ["domain.created", "domain.verified", "domain.deleted"]
        assert all(e["org_id"] == t.id and e["data"]["domain"] == "example.com" for e in events)
        # The token is proof of control; it stays out of the audit log.
        token = claimed["txt_record"]["value"].split("=", 1)[1]
        assert all(token not in orjson.dumps(e).decode() for e in events)


class ScriptedResolver:
    """A ``TxtResolver`` answering from a dict, or failing like a DNS outage."""

    def __init__(self, records: dict[str, list[str]], *, down: bool = False) -> None:
        self.records = records
        self.down = down

    async def txt(self, name: str) -> list[str]:
        if self.down:
            raise DnsUnavailable("no server answered")
        return self.records.get(name, [])


async def test_the_store_takes_any_resolver(network_app: NetworkApp) -> None:
    async with network_app() as gw:
        t = await new_tenant(gw, "acme")
        store = DomainStore(gw.core.engine, gw.core.audit, ScriptedResolver({}))
        found = store.create(t.id, "example.org", join_policy="auto", default_role="member", actor="test")
        assert await store.published(found) is False
        store.resolver = ScriptedResolver({found.record_name: [found.record_value]})
        assert await store.published(found) is True
        store.resolver = ScriptedResolver({}, down=True)
        with pytest.raises(DnsUnavailable):
            await store.published(found)


async def test_the_production_resolver_against_the_dns_peer(dns_peer: DnsPeer) -> None:
    resolver = DnsPythonResolver([dns_peer.address], timeout=2)
    long_value = "x" * 300  # longer than one TXT character-string: sent as two, read back as one
    dns_peer.publish("_sekisho-challenge.example.net", long_value)
    assert await resolver.txt("_sekisho-challenge.example.net") == [long_value]
    assert await resolver.txt("_sekisho-challenge.missing.example") == []
    dns_peer.failing.add("down.example")
    with pytest.raises(DnsUnavailable):
        await resolver.txt("down.example")
