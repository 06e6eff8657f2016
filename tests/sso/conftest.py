"""SSO fixtures: a real OpenID provider (panva/oidc-provider on Node.js) and Sekisho behind uvicorn.

The provider runs from tests/peers/oidc (``npm ci --prefix tests/peers/oidc`` installs it). Its
signing key is made here, so tests can also mint tokens exactly as the provider would sign them.
A ``Browser`` follows redirects between Sekisho and the provider with one cookie jar, as a browser
does; the provider's login screen signs in the account named by ``login_hint``.
"""

from __future__ import annotations

import json
import shutil
import subprocess
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.jwk import RSAKey
from sqlalchemy import Engine

from sekisho.app import build_app
from sekisho.identity import Org, TenancyStore
from sekisho.settings import Settings
from sekisho.sso.routes import CALLBACK_PATH
from sekisho.sso.web import SsoServices
from tests.conftest import MASTER_KEY, ServerThread, free_port

PEER_DIR = Path(__file__).resolve().parents[1] / "peers" / "oidc"

# The provider's users. Their id is the `sub` and what `login_hint` names.
ACCOUNTS: dict[str, dict[str, Any]] = {
    "alice": {
        "email": "alice@example.com",
        "email_verified": True,
        "name": "Alice Admin",
        "groups": ["sekisho-admins", "eng", "platform"],
    },
    "bob": {"email": "Bob@Example.com", "email_verified": True, "name": "Bob Reviewer", "groups": ["eng"]},
    "carol": {"email": "carol@example.com", "email_verified": True, "name": "Carol Gone", "groups": []},
    "dave": {"email": "dave@example.com", "email_verified": True, "name": "Dave Member", "groups": ["eng"]},
    "erin": {"email": "erin@example.com", "email_verified": False, "name": "Erin Unverified"},
    "frank": {"email": "frank@partner.example", "email_verified": True, "name": "Frank", "groups": []},
}


@dataclass
class OidcPeer:
    """The running provider and the key it signs with."""

    issuer: str
    key: RSAKey

    def register_client(self, redirect_uri: str, **metadata: Any) -> tuple[str, str]:
        """A new client (RFC 7591 registration): (client_id, client_secret)."""
        body = {
            "redirect_uris": [redirect_uri],
            "response_types": ["code"],
            "grant_types": ["authorization_code"],
            "token_endpoint_auth_method": "client_secret_basic",
            **metadata,
        }
        response = httpx.post(f"{self.issuer}/reg", json=body, timeout=10)
        assert response.status_code == 201, response.text
        data = response.json()
        return str(data["client_id"]), str(data.get("client_secret", ""))

    def mint(self, claims: dict[str, Any], *, key: RSAKey | None = None, kid: str | None = None) -> str:
        """An ID token signed with the provider's key (or ``key``), with the provider's claims filled in."""
        now = int(time.time())
        body = {"iss": self.issuer, "iat": now, "exp": now + 300, "sub": "alice", **claims}
        signer = key or self.key
        header = {"alg": "RS256", "kid": kid or str(self.key.kid)}
        return jwt.encode(header, {k: v for k, v in body.items() if v is not None}, signer)


@pytest.fixture(scope="session")
def oidc_peer(tmp_path_factory: pytest.TempPathFactory) -> Iterator[OidcPeer]:
    """oidc-provider on a free port, for the whole test session."""
    if not (PEER_DIR / "node_modules" / "oidc-provider").is_dir():
        pytest.fail(
            "The OpenID provider for the SSO tests is not installed: run `npm ci --prefix tests/peers/oidc`."
        )
    node = shutil.which("node")
    if node is None:
        pytest.fail("Node.js is needed for the SSO tests (the OpenID provider runs on it).")
    key = RSAKey.generate_key(2048, parameters={"kid": "peer-signing-key", "alg": "RS256", "use": "sig"})
    workdir = tmp_path_factory.mktemp("oidc-peer")
    config = workdir / "config.json"
    config.write_text(json.dumps({"jwks": {"keys": [key.as_dict(private=True)]}, "accounts": ACCOUNTS}))
    port = free_port()
    log_path = workdir / "provider.log"
    with log_path.open("wb") as log:
        proc = subprocess.Popen(
            [node, str(PEER_DIR / "provider.mjs"), str(port), str(config)],
            stdout=log,
            stderr=subprocess.STDOUT,
        )
    issuer = f"http://127.0.0.1:{port}"
    try:
        deadline = time.monotonic() + 30
        while True:
            if proc.poll() is not None:
                pytest.fail(f"oidc-provider exited: {log_path.read_text()}")
            try:
                if httpx.get(f"{issuer}/.well-known/openid-configuration", timeout=2).status_code == 200:
                    break
            except httpx.HTTPError:
                pass
            if time.monotonic() > deadline:
                pytest.fail(f"oidc-provider did not start: {log_path.read_text()}")
            time.sleep(0.1)
        yield OidcPeer(issuer, key)
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait()


@dataclass
class Site:
    """Sekisho behind a real uvicorn server, with handles on its stores."""

    url: str
    settings: Settings
    app: Any

    @property
    def engine(self) -> Engine:
        engine: Engine = self.app.state.core.engine
        return engine

    @property
    def tenancy(self) -> TenancyStore:
        tenancy: TenancyStore = self.app.state.core.tenancy
        return tenancy

    @property
    def sso(self) -> SsoServices:
        services: SsoServices = self.app.state.sso
        return services

    @property
    def callback(self) -> str:
        return self.url + CALLBACK_PATH

    def master(self) -> dict[str, str]:
        return {"authorization": f"Bearer {MASTER_KEY}"}

    def org(self, slug: str) -> Org:
        return self.tenancy.create_org(slug, slug.title(), actor="test")

    def audit(self, org_id: str | None = None) -> list[dict[str, Any]]:
        return list(self.app.state.core.audit.export(org_id=org_id))

    def add_idp(
        self,
        org: Org,
        peer: OidcPeer,
        *,
        slug: str = "corp",
        client: tuple[str, str] | None = None,
        **config: Any,
    ) -> dict[str, Any]:
        """An OIDC IdP for ``org`` through the admin API, with a client registered at the peer."""
        client_id, secret = client or peer.register_client(self.callback)
        body = {
            "org_id": org.id,
            "slug": slug,
            "kind": "oidc",
            "name": "Corporate SSO",
            "config": {
                "issuer": peer.issuer,
                "client_id": client_id,
                "scopes": ["openid", "email", "profile", "groups"],
                **config,
            },
            "secret": secret,
        }
        response = httpx.post(f"{self.url}/admin/v1/idps", json=body, headers=self.master(), timeout=10)
        assert response.status_code == 201, response.text
        idp: dict[str, Any] = response.json()
        return idp


@pytest.fixture
def site(database_url: str, make_settings: Callable[..., Settings]) -> Iterator[Site]:
    settings = make_settings({}, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY)
    app = build_app(settings)
    with ServerThread(app) as server:
        yield Site(server.url, settings, app)


class Browser:
    """One cookie jar across Sekisho and the provider; redirects followed one by one."""

    def __init__(self) -> None:
        self.http = httpx.Client(follow_redirects=False, timeout=20)

    def close(self) -> None:
        self.http.close()

    def get(self, url: str, **kwargs: Any) -> httpx.Response:
        return self.http.get(url, **kwargs)

    def to_callback(self, start_url: str) -> str:
        """Start a sign-in and follow it through the provider until it points back at Sekisho's callback."""
        response = self.http.get(start_url)
        for _ in range(10):
            assert response.is_redirect, f"{response.status_code} at {response.url}: {response.text[:500]}"
            target = response.url.join(response.headers["location"])
            if target.path == CALLBACK_PATH:
                return str(target)
            response = self.http.get(target)
        raise AssertionError("too many redirects")

    def sign_in(self, start_url: str) -> httpx.Response:
        """The whole sign-in: Sekisho's answer at the callback."""
        return self.http.get(self.to_callback(start_url))


@pytest.fixture
def browser() -> Iterator[Browser]:
    b = Browser()
    yield b
    b.close()


def start_url(site: Site, org_slug: str, idp_slug: str, user: str, next_path: str | None = None) -> str:
    params = {"login_hint": user, **({"next": next_path} if next_path else {})}
    return str(httpx.URL(f"{site.url}/auth/v1/sso/{org_slug}/{idp_slug}/start", params=params))
