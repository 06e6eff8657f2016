"""mTLS behind a TLS-terminating proxy: the certificate arrives in a header from a trusted proxy,
and Sekisho verifies it against the CA itself before mapping it to a service account."""

from __future__ import annotations

import base64
from typing import Any
from urllib.parse import quote

import orjson
import pytest
from cryptography.hazmat.primitives.serialization import Encoding
from sqlalchemy import select

from sekisho.network.certs import fingerprint
from sekisho.store.tables import audit_log, usage_events
from tests.network.conftest import ADMIN, CHAT, HELLO, NetworkApp, Tenant, error_code, new_tenant, via
from tests.network.pki import Issued, Pki

pytestmark = pytest.mark.anyio

HEADER = "x-ssl-client-cert"


def proxied(pki: Pki, trusted: str = "127.0.0.1") -> dict[str, Any]:
    return {
        "trusted_proxies": [trusted],
        "client_ca_file": str(pki.ca.ca.cert_file),
        "client_cert_header": "X-SSL-Client-Cert",
    }


def with_cert(cert: Issued | str, **extra: str) -> dict[str, str]:
    return {HEADER: cert if isinstance(cert, str) else cert.escaped, **extra}


async def map_cert(t: Tenant, **body: Any) -> dict[str, Any]:
    response = await t.gw.client.post(
        f"{ADMIN}/client-certificates",
        headers=t.gw.headers(t.admin_key),
        json={"project_id": t.project.id, **body},
    )
    assert response.status_code == 201, response.text
    out: dict[str, Any] = response.json()
    return out


async def test_a_mapped_certificate_calls_models_as_its_service_account(
    network_app: NetworkApp, pki: Pki
) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        mapping = await map_cert(t, pem=pki.client.pem, service_account_name="billing batch")
        sa = gw.core.tenancy.get_user(mapping["user_id"], t.id)
        assert sa.is_service_account and sa.name == "billing batch"

        response = await gw.client.post(CHAT, headers=with_cert(pki.client), json=HELLO)
        assert response.status_code == 200, response.text
        gw.flush()
        with gw.core.engine.connect() as conn:
            usage = conn.execute(select(usage_events.c.user_id, usage_events.c.project_id)).all()
            records = [
                orjson.loads(r)
                for r in conn.execute(
                    select(audit_log.c.record).where(audit_log.c.kind == "request.admitted")
                ).scalars()
            ]
        assert usage == [(sa.id, t.project.id)]
        assert records[-1]["actor"] == f"user:{sa.id} key:cert:{mapping['fingerprint_sha256'][:12]}"


@pytest.mark.parametrize(
    ("name", "fragment"),
    [
        ("expired", "expired"),
        ("foreign", "not trusted"),
        ("unmapped", "not mapped"),
        ("server_as_client", "client authentication"),
    ],
)
async def test_refused_certificates_answer_401(
    network_app: NetworkApp, pki: Pki, name: str, fragment: str
) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        # Map the subjects of the refused certificates, so that only verification can refuse them:
        # the foreign certificate carries the mapped client's subject, issued by another CA.
        for cert in (pki.client, pki.expired, pki.server_as_client):
            await map_cert(t, subject=cert.subject)
        response = await gw.client.post(CHAT, headers=with_cert(getattr(pki, name)), json=HELLO)
        assert error_code(response, 401) == "invalid_client_certificate"
        assert fragment in response.json()["error"]["message"]


@pytest.mark.parametrize(
    "garbage", ["not a certificate", quote("-----BEGIN CERTIFICATE-----\nAAAA\n-----END CERTIFICATE-----")]
)
async def test_an_unreadable_header_answers_401(network_app: NetworkApp, pki: Pki, garbage: str) -> None:
    async with network_app(proxied(pki)) as gw:
        response = await gw.client.post(CHAT, headers=with_cert(garbage), json=HELLO)
        assert error_code(response, 401) == "invalid_client_certificate"


async def test_the_header_is_ignored_unless_a_trusted_proxy_sent_it(
    network_app: NetworkApp, pki: Pki
) -> None:
    async with network_app(proxied(pki, trusted="10.0.0.0/8")) as gw:  # the client is not the proxy
        t = await new_tenant(gw, "acme")
        await map_cert(t, pem=pki.client.pem)
        response = await gw.client.post(CHAT, headers=with_cert(pki.client), json=HELLO)
        assert error_code(response, 401) == "missing_api_key"


def envoy(cert: Issued) -> str:
    pem = quote(cert.pem, safe="")
    return f'By=spiffe://proxy;Hash=abc;Cert="{pem}";Subject="CN=x,O=a, b";URI=spiffe://client'


@pytest.mark.parametrize(
    "encode",
    [
        lambda c: c.escaped,  # nginx $ssl_client_escaped_cert, AWS ALB
        lambda c: c.pem.replace("\n", " "),  # raw PEM, newlines folded by the proxy
        lambda c: envoy(c),  # Envoy X-Forwarded-Client-Cert
        lambda c: f'By=spiffe://first;Cert="x",{envoy(c)}',  # the element the nearest proxy added
        lambda c: base64.b64encode(c.cert.public_bytes(Encoding.DER)).decode(),  # Traefik
    ],
    ids=["url-encoded-pem", "folded-pem", "envoy-xfcc", "envoy-two-hops", "base64-der"],
)
async def test_header_formats_of_common_proxies(network_app: NetworkApp, pki: Pki, encode: Any) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        await map_cert(t, pem=pki.client.pem)
        response = await gw.client.get("/v1/models", headers=with_cert(encode(pki.client)))
        assert response.status_code == 200, response.text


async def test_an_api_key_takes_precedence_over_a_certificate(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        await map_cert(t, pem=pki.client.pem)
        bad_key = await gw.client.get(
            "/v1/models", headers=with_cert(pki.client, authorization="Bearer sk-wrong")
        )
        assert error_code(bad_key, 401) == "invalid_api_key"  # no fall-through to the certificate
        good_key = await gw.client.get(
            "/v1/models", headers=with_cert(pki.unmapped, authorization=f"Bearer {t.key_for()}")
        )
        assert good_key.status_code == 200


async def test_subject_mapping_admits_reissued_certificates(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        await map_cert(t, subject=pki.client_no_san.subject, models=["embed"])
        reissued = pki.ca.issue("svc-no-san", san=False)
        assert fingerprint(reissued.cert) != fingerprint(pki.client_no_san.cert)
        for cert in (pki.client_no_san, reissued):
            embed = await gw.client.post(
                "/v1/embeddings", headers=with_cert(cert), json={"model": "embed", "input": "hi"}
            )
            assert embed.status_code == 200, embed.text
        # The mapping's model list holds.
        chat = await gw.client.post(CHAT, headers=with_cert(pki.client_no_san), json=HELLO)
        assert error_code(chat, 403) == "model_not_allowed"


async def test_revocation_takes_effect_at_once_despite_the_cache(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(proxied(pki), key_cache_seconds=60) as gw:
        t = await new_tenant(gw, "acme")
        mapping = await map_cert(t, pem=pki.client.pem)
        assert (await gw.client.get("/v1/models", headers=with_cert(pki.client))).status_code == 200
        gone = await gw.client.delete(
            f"{ADMIN}/client-certificates/{mapping['id']}", headers=gw.headers(t.admin_key)
        )
        assert gone.status_code == 204
        response = await gw.client.get("/v1/models", headers=with_cert(pki.client))
        assert error_code(response, 401) == "invalid_client_certificate"


async def test_certificate_callers_are_held_to_the_allow_lists(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        await map_cert(t, pem=pki.client.pem)
        rule = await gw.client.post(
            f"{ADMIN}/network-rules",
            headers=via("203.0.113.1", t.admin_key),
            json={"cidr": "203.0.113.0/24"},
        )
        assert rule.status_code == 201, rule.text
        inside = await gw.client.get(
            "/v1/models", headers=with_cert(pki.client, **{"x-forwarded-for": "203.0.113.9"})
        )
        assert inside.status_code == 200
        outside = await gw.client.get(
            "/v1/models", headers=with_cert(pki.client, **{"x-forwarded-for": "192.0.2.9"})
        )
        assert error_code(outside, 403) == "ip_not_allowed"


async def test_a_suspended_service_account_is_refused_like_its_keys(
    network_app: NetworkApp, pki: Pki
) -> None:
    async with network_app(proxied(pki)) as gw:
        t = await new_tenant(gw, "acme")
        mapping = await map_cert(t, pem=pki.client.pem)
        suspend = await gw.client.post(
            f"{ADMIN}/enforcement/actions",
            headers=gw.headers(t.admin_key),
            json={
                "subject_type": "user",
                "subject_id": mapping["user_id"],
                "action": "suspend_key",
                "reason": "runaway batch job",
            },
        )
        assert suspend.status_code == 201, suspend.text
        response = await gw.client.post(CHAT, headers=with_cert(pki.client), json=HELLO)
        assert error_code(response, 403) == "key_suspended"
        assert "runaway batch job" in response.json()["error"]["message"]
