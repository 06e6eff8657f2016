"""Fixtures for the network tests: the app with network settings, tenants, certificates, a DNS peer."""

from __future__ import annotations

import ssl
import threading
import time
from collections.abc import AsyncIterator, Callable, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
import uvicorn

from sekisho.identity import Project, User
from sekisho.network import uvicorn_tls_options
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway, free_port, mock_config, running_gateway
from tests.network.dns_peer import DnsPeer
from tests.network.pki import Issued, Pki, make_pki

ADMIN = "/admin/v1"
CHAT = "/v1/chat/completions"
HELLO = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "hello"}]}


@pytest.fixture(scope="session")
def pki(tmp_path_factory: pytest.TempPathFactory) -> Pki:
    return make_pki(tmp_path_factory.mktemp("pki"))


@pytest.fixture
def dns_peer() -> Iterator[DnsPeer]:
    with DnsPeer() as peer:
        yield peer


NetworkApp = Callable[..., Any]


@pytest.fixture
def network_app(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> NetworkApp:
    """``async with network_app(network={...}) as gw``: the app with these network settings."""

    @asynccontextmanager
    async def start(network: dict[str, Any] | None = None, **config: Any) -> AsyncIterator[Gateway]:
        settings = make_settings(
            {**mock_config(upstream[1]), "network": network or {}, **config},
            SEKISHO_DATABASE_URL=database_url,
            SEKISHO_MASTER_KEY=MASTER_KEY,
        )
        async with running_gateway(settings) as gw:
            yield gw

    return start


def master(gw: Gateway) -> dict[str, str]:
    return gw.headers(MASTER_KEY)


def via(address: str, key: str | None = None) -> dict[str, str]:
    """Headers of a request that the trusted proxy (the in-process client, 127.0.0.1) forwarded."""
    headers = {"x-forwarded-for": address}
    if key is not None:
        headers["authorization"] = f"Bearer {key}"
    return headers


@dataclass
class Tenant:
    """An organisation with an admin, a second project, and keys."""

    gw: Gateway
    id: str
    slug: str
    project: Project
    other_project: Project
    admin: User
    admin_key: str

    def key_for(self, role: str = "member", project: Project | None = None) -> str:
        tenancy = self.gw.core.tenancy
        user = tenancy.create_user(
            self.id, f"{role}-{time.monotonic_ns()}@{self.slug}.test", role, role, actor="t"
        )
        _key, secret = tenancy.create_key(project or self.project, user, role, actor="test")
        return str(secret)

    def service_account(self, name: str = "svc") -> User:
        tenancy = self.gw.core.tenancy
        email = f"{name}-{time.monotonic_ns()}@service.{self.slug}.test"
        return tenancy.create_user(self.id, email, name, "member", actor="test", service_account=True)


async def new_tenant(gw: Gateway, slug: str) -> Tenant:
    response = await gw.client.post(
        f"{ADMIN}/orgs", headers=master(gw), json={"slug": slug, "name": slug.title()}
    )
    assert response.status_code == 201, response.text
    org = response.json()
    tenancy = gw.core.tenancy
    project = tenancy.get_project("default", org["id"])
    other = tenancy.create_project(org["id"], "other", "Other", actor="test")
    admin = tenancy.create_user(org["id"], f"admin@{slug}.test", "Admin", "admin", actor="test")
    _key, secret = tenancy.create_key(project, admin, "admin key", actor="test")
    return Tenant(gw, org["id"], slug, project, other, admin, str(secret))


def error_code(response: httpx.Response, status: int) -> str | None:
    """The OpenAI-format error's code, after checking the status and the shape."""
    assert response.status_code == status, response.text
    error = response.json()["error"]
    assert set(error) >= {"message", "type", "param", "code"}
    assert error["message"]
    code: str | None = error["code"]
    return code


class TlsServer:
    """A real uvicorn HTTPS server configured the way ``sekisho serve`` configures it."""

    def __init__(self, app: Any, settings: Settings, *, http: str = "httptools") -> None:
        self.port = free_port()
        options = {"http": http, **uvicorn_tls_options(settings.network, http=http)}
        self.server = uvicorn.Server(
            uvicorn.Config(
                app,
                host="127.0.0.1",
                port=self.port,
                log_level="warning",
                access_log=False,
                lifespan="on",
                proxy_headers=False,
                **options,
            )
        )
        self.thread = threading.Thread(target=self.server.run, daemon=True)

    @property
    def url(self) -> str:
        return f"https://127.0.0.1:{self.port}"

    def __enter__(self) -> TlsServer:
        self.thread.start()
        deadline = time.monotonic() + 20
        while not self.server.started:
            if time.monotonic() > deadline or not self.thread.is_alive():
                raise RuntimeError("TLS server did not start")
            time.sleep(0.02)
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.should_exit = True
        self.thread.join(30)
        if self.thread.is_alive():
            raise RuntimeError("TLS server did not stop")


def client_context(pki: Pki, cert: Issued | None) -> ssl.SSLContext:
    """A client TLS context trusting the test CA, presenting ``cert`` when given."""
    context = ssl.create_default_context(cafile=str(pki.ca.ca.cert_file))
    if cert is not None:
        context.load_cert_chain(str(cert.cert_file), str(cert.key_file))
    return context
