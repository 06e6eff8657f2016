"""mTLS served by uvicorn itself: the handshake verifies the chain, the app maps the certificate.

A real uvicorn HTTPS server, configured by ``uvicorn_tls_options`` (what ``sekisho serve`` uses),
and real clients presenting certificates the tests issued. The server runs its own app on the test's
database, like a second replica; the in-process app sets the tenant up.
"""

from __future__ import annotations

from typing import Any

import anyio
import httpx
import pytest

from sekisho.app import build_app
from tests.network.conftest import (
    ADMIN,
    CHAT,
    HELLO,
    NetworkApp,
    TlsServer,
    client_context,
    error_code,
    new_tenant,
)
from tests.network.pki import Issued, Pki

pytestmark = pytest.mark.anyio


def tls_settings(pki: Pki, mode: str = "optional") -> dict[str, Any]:
    return {
        "client_ca_file": str(pki.ca.ca.cert_file),
        "tls": {
            "cert_file": str(pki.server.cert_file),
            "key_file": str(pki.server.key_file),
            "client_cert": mode,
        },
    }


def get(url: str, pki: Pki, cert: Issued | None, **kwargs: Any) -> httpx.Response:
    with httpx.Client(base_url=url, verify=client_context(pki, cert), timeout=10) as client:
        return client.request(kwargs.pop("method", "GET"), kwargs.pop("path", "/v1/models"), **kwargs)


@pytest.mark.parametrize("http", ["httptools", "h11"])
async def test_optional_client_certificates(network_app: NetworkApp, pki: Pki, http: str) -> None:
    async with network_app(tls_settings(pki)) as gw:
        t = await new_tenant(gw, "acme")
        mapped = await gw.client.post(
            f"{ADMIN}/client-certificates",
            headers=gw.headers(t.admin_key),
            json={"project_id": t.project.id, "pem": pki.client.pem, "service_account_name": "billing"},
        )
        assert mapped.status_code == 201, mapped.text
        with TlsServer(build_app(gw.settings), gw.settings, http=http) as server:
            # A mapped certificate is enough: no Authorization header.
            listed = await anyio_run(get, server.url, pki, pki.client)
            assert listed.status_code == 200, listed.text
            assert "gpt-4o-mini" in [m["id"] for m in listed.json()["data"]]
            chat = await anyio_run(get, server.url, pki, pki.client, method="POST", path=CHAT, json=HELLO)
            assert chat.status_code == 200, chat.text
            # Optional: API-key clients without a certificate are still served.
            keyed = await anyio_run(
                get, server.url, pki, None, headers={"authorization": f"Bearer {t.key_for()}"}
            )
            assert keyed.status_code == 200, keyed.text
            bare = await anyio_run(get, server.url, pki, None)
            assert error_code(bare, 401) == "missing_api_key"
            # A valid certificate of the right CA that nobody mapped.
            unmapped = await anyio_run(get, server.url, pki, pki.unmapped)
            assert error_code(unmapped, 401) == "invalid_client_certificate"
            # Another CA's certificate and an expired one do not get through the handshake.
            for refused in (pki.foreign, pki.expired):
                with pytest.raises(httpx.TransportError):
                    await anyio_run(get, server.url, pki, refused)


async def test_required_client_certificates(network_app: NetworkApp, pki: Pki) -> None:
    async with network_app(tls_settings(pki, "required")) as gw:
        t = await new_tenant(gw, "acme")
        mapped = await gw.client.post(
            f"{ADMIN}/client-certificates",
            headers=gw.headers(t.admin_key),
            json={"project_id": t.other_project.id, "subject": pki.client_no_san.subject},
        )
        assert mapped.status_code == 201, mapped.text
        with TlsServer(build_app(gw.settings), gw.settings) as server:
            ok = await anyio_run(get, server.url, pki, pki.client_no_san)
            assert ok.status_code == 200, ok.text
            with pytest.raises(httpx.TransportError):
                await anyio_run(
                    get, server.url, pki, None, headers={"authorization": f"Bearer {t.key_for()}"}
                )


async def anyio_run(fn: Any, *args: Any, **kwargs: Any) -> httpx.Response:
    """Run a blocking client call off the event loop (the server runs in its own thread)."""
    result: httpx.Response = await anyio.to_thread.run_sync(lambda: fn(*args, **kwargs))
    return result
