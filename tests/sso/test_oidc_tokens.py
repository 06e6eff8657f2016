"""ID-token validation and discovery against the real provider's metadata and keys.

Tokens here are signed with the provider's own key (the test made it), so only the claim or
signature under test differs from what the provider issues.
"""

from __future__ import annotations

import base64
import json
import time
from typing import Any

import httpx
import pytest
from joserfc import jwt
from joserfc.errors import JoseError
from joserfc.jwk import KeySet, OctKey, RSAKey

from sekisho.sso.oidc import identity_from_claims, validate_id_token
from sekisho.sso.oidc_config import OidcConfig
from sekisho.sso.oidc_discovery import Discovery
from sekisho.sso.provision import SsoDenied
from tests.sso.conftest import OidcPeer

pytestmark = pytest.mark.anyio

CLIENT = "client-a"
NONCE = "nonce-1"


class CountingTransport(httpx.AsyncBaseTransport):
    """Real HTTP, with a count of the requests per path."""

    def __init__(self) -> None:
        self.inner = httpx.AsyncHTTPTransport()
        self.paths: list[str] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.paths.append(request.url.path)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def provider_keys(peer: OidcPeer) -> KeySet:
    return await Discovery().keys(peer.issuer)


def check(peer: OidcPeer, keys: KeySet, token: str, **kwargs: Any) -> dict[str, Any]:
    args: dict[str, Any] = {
        "issuer": peer.issuer,
        "client_id": CLIENT,
        "nonce": NONCE,
        "algorithms": ["RS256"],
    }
    args.update(kwargs)
    return validate_id_token(keys, token, **args)


async def test_a_token_as_the_provider_issues_it_is_accepted(oidc_peer: OidcPeer) -> None:
    keys = await provider_keys(oidc_peer)
    claims = check(oidc_peer, keys, oidc_peer.mint({"aud": CLIENT, "nonce": NONCE, "email": "a@example.com"}))
    assert (claims["sub"], claims["email"]) == ("alice", "a@example.com")


@pytest.mark.parametrize(
    ("claims", "why"),
    [
        ({"aud": "client-b"}, "another client's token"),
        ({"aud": ["client-b", "client-c"]}, "audiences without us"),
        ({"nonce": "nonce-2"}, "nonce of another sign-in"),
        ({"nonce": None}, "no nonce"),
        ({"iss": "https://evil.example"}, "another issuer"),
        # Times are offsets from when the test runs (``"+"`` keys), not from collection: a long suite
        # would otherwise turn "in the future" into the past.
        ({"+exp": -600, "+iat": -900}, "expired"),
        ({"+iat": 900, "+exp": 1200}, "issued in the future"),
        ({"sub": None}, "no subject"),
        ({"aud": [CLIENT, "client-b"]}, "several audiences, no azp"),
        ({"aud": [CLIENT, "client-b"], "azp": "client-b"}, "authorised party is another client"),
    ],
)
async def test_tokens_with_wrong_claims_are_refused(
    oidc_peer: OidcPeer, claims: dict[str, Any], why: str
) -> None:
    keys = await provider_keys(oidc_peer)
    now = int(time.time())
    claims = {k.lstrip("+"): now + v if k.startswith("+") else v for k, v in claims.items()}
    token = oidc_peer.mint({"aud": CLIENT, "nonce": NONCE, **claims})
    with pytest.raises(JoseError):
        check(oidc_peer, keys, token)


async def test_several_audiences_are_accepted_with_us_as_authorised_party(oidc_peer: OidcPeer) -> None:
    keys = await provider_keys(oidc_peer)
    token = oidc_peer.mint({"aud": [CLIENT, "client-b"], "azp": CLIENT, "nonce": NONCE})
    assert check(oidc_peer, keys, token)["azp"] == CLIENT


async def test_a_forged_signature_is_refused(oidc_peer: OidcPeer) -> None:
    keys = await provider_keys(oidc_peer)
    other = RSAKey.generate_key(2048, parameters={"kid": str(oidc_peer.key.kid)})
    forged = oidc_peer.mint({"aud": CLIENT, "nonce": NONCE}, key=other)
    with pytest.raises(JoseError):
        check(oidc_peer, keys, forged)
    # A valid token with one changed byte in its payload is refused too.
    header, payload, signature = oidc_peer.mint({"aud": CLIENT, "nonce": NONCE}).split(".")
    claims = json.loads(base64.urlsafe_b64decode(payload + "=="))
    claims["sub"] = "bob"
    tampered = base64.urlsafe_b64encode(json.dumps(claims).encode()).decode().rstrip("=")
    with pytest.raises(JoseError):
        check(oidc_peer, keys, f"{header}.{tampered}.{signature}")


async def test_unsigned_and_secret_signed_tokens_are_refused(oidc_peer: OidcPeer) -> None:
    keys = await provider_keys(oidc_peer)
    body = {
        "iss": oidc_peer.issuer,
        "sub": "alice",
        "aud": CLIENT,
        "nonce": NONCE,
        "iat": int(time.time()),
        "exp": int(time.time()) + 300,
    }

    def b64(data: dict[str, Any]) -> str:
        return base64.urlsafe_b64encode(json.dumps(data).encode()).decode().rstrip("=")

    unsigned = f"{b64({'alg': 'none'})}.{b64(body)}."
    with pytest.raises(JoseError):
        check(oidc_peer, keys, unsigned)
    hmac_signed = jwt.encode({"alg": "HS256"}, body, OctKey.import_key(b"the-client-secret-of-client-a!!!"))
    with pytest.raises(JoseError):
        check(oidc_peer, keys, hmac_signed, algorithms=["RS256", "HS256"])


async def test_a_wrong_access_token_hash_is_refused(oidc_peer: OidcPeer) -> None:
    keys = await provider_keys(oidc_peer)
    token = oidc_peer.mint({"aud": CLIENT, "nonce": NONCE, "at_hash": "AAAAAAAAAAAAAAAAAAAAAA"})
    with pytest.raises(JoseError):
        check(oidc_peer, keys, token, access_token="the-real-access-token")


async def test_unknown_key_ids_refetch_the_keys_at_most_once_in_a_while(oidc_peer: OidcPeer) -> None:
    now = [1000.0]
    transport = CountingTransport()
    discovery = Discovery(transport=transport, clock=lambda: now[0])
    await discovery.keys(oidc_peer.issuer)
    await discovery.keys(oidc_peer.issuer, refresh=True)  # right after a fetch: the cached set
    assert transport.paths.count("/jwks") == 1
    now[0] += 31
    await discovery.keys(oidc_peer.issuer, refresh=True)
    assert transport.paths.count("/jwks") == 2
    assert transport.paths.count("/.well-known/openid-configuration") == 1
    await transport.aclose()


async def test_discovery_must_name_the_configured_issuer(oidc_peer: OidcPeer) -> None:
    with pytest.raises(SsoDenied) as refused:
        await Discovery().metadata(oidc_peer.issuer + "/")
    assert refused.value.code == "issuer_mismatch"
    with pytest.raises(SsoDenied) as unreachable:
        await Discovery(timeout=2).metadata("http://127.0.0.1:9")
    assert (unreachable.value.code, unreachable.value.status) == ("idp_unreachable", 502)


def test_claims_become_an_identity() -> None:
    cfg = OidcConfig(issuer="https://idp.example", client_id="c", groups_claim="realm_access.roles")
    ident = identity_from_claims(
        cfg,
        {
            "sub": "u1",
            "email": "u@example.com",
            "preferred_username": "u1",
            "realm_access": {"roles": ["a", 3, "b"]},
        },
    )
    assert (ident.subject, ident.email, ident.name, ident.groups, ident.groups_asserted) == (
        "u1",
        "u@example.com",
        "u1",
        ("a", "b"),
        True,
    )
    single = identity_from_claims(
        OidcConfig(issuer="https://idp.example", client_id="c"), {"sub": "u2", "groups": "ops"}
    )
    assert (single.groups, single.email) == (("ops",), None)
    none = identity_from_claims(OidcConfig(issuer="https://idp.example", client_id="c"), {"sub": "u3"})
    assert (none.groups, none.groups_asserted) == ((), False)


@pytest.mark.parametrize(
    "config",
    [
        {"issuer": "http://idp.example", "client_id": "c"},
        {"issuer": "ftp://idp.example", "client_id": "c"},
        {"issuer": "https://idp.example?x=1", "client_id": "c"},
        {"issuer": "https://idp.example", "client_id": ""},
        {"issuer": "https://idp.example", "client_id": "c", "auth_params": {"redirect_uri": "https://evil"}},
        {"issuer": "https://idp.example", "client_id": "c", "default_role": "owner"},
        {"issuer": "https://idp.example", "client_id": "c", "role_mapping": {"g": "emperor"}},
        {"issuer": "https://idp.example", "client_id": "c", "unknown": 1},
    ],
)
def test_bad_oidc_settings_are_refused(config: dict[str, Any]) -> None:
    with pytest.raises(ValueError):
        OidcConfig.model_validate(config)


def test_openid_is_always_asked_for() -> None:
    cfg = OidcConfig(issuer="http://127.0.0.1:8080/realms/x", client_id="c", scopes=["email"])
    assert cfg.scopes == ["openid", "email"]
