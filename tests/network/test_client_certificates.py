"""The /admin/v1/client-certificates routes: validation, organisation scoping, audit."""

from __future__ import annotations

from typing import Any

import orjson
import pytest
from sqlalchemy import select

from sekisho.network.certs import fingerprint
from sekisho.store.tables import audit_log
from tests.network.conftest import ADMIN, NetworkApp, Tenant, error_code, new_tenant
from tests.network.pki import Pki

pytestmark = pytest.mark.anyio
CERTS = f"{ADMIN}/client-certificates"


def settings(pki: Pki) -> dict[str, Any]:
    return {"client_ca_file": str(pki.ca.ca.cert_file)}


async def post(t: Tenant, **body: Any) -> Any:
    return await t.gw.client.post(
        CERTS, headers=t.gw.headers(t.admin_key), json={"project_id": t.project.id, **body}
    )


async def test_mapping_by_fingerprint_subject_or_pem(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(settings(pki)) as gw:
        t = await new_tenant(gw, "acme")
        sa = t.service_account("etl")
        digest = fingerprint(pki.unmapped.cert)
        colons = ":".join(digest[i : i + 2] for i in range(0, 64, 2)).upper()
        by_fp = await post(t, fingerprint_sha256=colons, user_id=sa.id, models=["gpt-4o-mini"])
        assert by_fp.status_code == 201, by_fp.text
        assert by_fp.json()["fingerprint_sha256"] == digest and by_fp.json()["user_id"] == sa.id
        assert by_fp.json()["models"] == ["gpt-4o-mini"] and by_fp.json()["active"] is True

        by_subject = await post(t, subject="CN=svc-x, O=Sekisho Tests", project_id=t.other_project.slug)
        assert by_subject.status_code == 201, by_subject.text
        assert by_subject.json()["subject"] == "CN=svc-x,O=Sekisho Tests"
        assert by_subject.json()["project_id"] == t.other_project.id

        by_pem = await post(t, pem=pki.client.pem)
        assert by_pem.json()["fingerprint_sha256"] == fingerprint(pki.client.cert)

        listed = await gw.client.get(CERTS, headers=gw.headers(t.admin_key))
        assert [m["id"] for m in listed.json()] == [
            by_fp.json()["id"],
            by_subject.json()["id"],
            by_pem.json()["id"],
        ]


@pytest.mark.parametrize(
    ("body", "fragment"),
    [
        ({}, "exactly one"),
        ({"fingerprint_sha256": "ab" * 32, "subject": "CN=x"}, "exactly one"),
        ({"fingerprint_sha256": "xyz"}, "64 hex"),
        ({"subject": "not a dn"}, "RFC 4514"),
        ({"pem": "-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----"}, "cannot be read"),
        ({"pem": "hello"}, "no PEM"),
        ({"pem": "foreign"}, "not trusted"),
        ({"pem": "expired"}, "expired"),
        ({"pem": "client", "surprise": 1}, "surprise"),
    ],
)
async def test_bad_mappings_answer_400(
    network_app: NetworkApp, pki: Pki, body: dict[str, Any], fragment: str
) -> None:
    async with network_app(settings(pki)) as gw:
        t = await new_tenant(gw, "acme")
        if body.get("pem") in ("foreign", "expired", "client"):
            body["pem"] = getattr(pki, body["pem"]).pem
        response = await post(t, **body)
        error_code(response, 400)
        assert fragment in response.json()["error"]["message"]


async def test_users_projects_and_duplicates(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(settings(pki)) as gw:
        acme, globex = await new_tenant(gw, "acme"), await new_tenant(gw, "globex")
        # Certificates map to service accounts only, of the same organisation.
        person = await post(acme, pem=pki.client.pem, user_id=acme.admin.id)
        assert error_code(person, 400) == "invalid_value"
        theirs = await post(acme, pem=pki.client.pem, user_id=globex.service_account().id)
        assert error_code(theirs, 404) == "not_found"
        foreign_project = await post(acme, pem=pki.client.pem, project_id=globex.project.id)
        assert error_code(foreign_project, 404) == "not_found"

        first = await post(acme, pem=pki.client.pem)
        assert first.status_code == 201
        # One certificate, one caller: not twice, not in another organisation either.
        for tenant in (acme, globex):
            again = await post(tenant, pem=pki.client.pem)
            assert error_code(again, 409) == "conflict"
        subject = await post(acme, subject=pki.unmapped.subject)
        assert subject.status_code == 201
        assert error_code(await post(globex, subject=pki.unmapped.subject), 409) == "conflict"

        # Another organisation cannot see or revoke the mapping.
        gone = await gw.client.delete(f"{CERTS}/{first.json()['id']}", headers=gw.headers(globex.admin_key))
        assert error_code(gone, 404) == "not_found"
        assert (await gw.client.get(CERTS, headers=gw.headers(globex.admin_key))).json() == []
        member = await gw.client.get(CERTS, headers=gw.headers(acme.key_for("member")))
        assert error_code(member, 403) == "insufficient_role"

        # Revoked stays revoked: the fingerprint cannot be mapped again.
        revoked = await gw.client.delete(f"{CERTS}/{first.json()['id']}", headers=gw.headers(acme.admin_key))
        assert revoked.status_code == 204
        listed = await gw.client.get(CERTS, headers=gw.headers(acme.admin_key))
        assert [m["active"] for m in listed.json()] == [False, True]
        remap = await post(acme, pem=pki.client.pem)
        assert error_code(remap, 409) == "conflict" and "revoked" in remap.json()["error"]["message"]


async def test_changes_are_audited(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(settings(pki)) as gw:
        t = await new_tenant(gw, "acme")
        created = (await post(t, pem=pki.client.pem, service_account_name="nightly")).json()
        await gw.client.delete(f"{CERTS}/{created['id']}", headers=gw.headers(t.admin_key))
        with gw.core.engine.connect() as conn:
            rows = conn.execute(
                select(audit_log.c.kind, audit_log.c.record)
                .where(audit_log.c.org_id == t.id)
                .order_by(audit_log.c.seq)
            ).all()
        kinds = [kind for kind, _ in rows]
        # The service account made for the certificate is recorded like any other user.
        assert kinds[-3:] == [
            "admin.user.created",
            "client_certificate.created",
            "client_certificate.deleted",
        ]
        data = orjson.loads(rows[-2][1])["data"]
        assert data["certificate_id"] == created["id"] and data["user_id"] == created["user_id"]
        assert data["fingerprint_sha256"] == created["fingerprint_sha256"]
