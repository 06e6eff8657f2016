"""The client address: the TCP peer, or X-Forwarded-For only when the peer is a trusted proxy."""

from __future__ import annotations

import ipaddress
import threading
import time

import httpx
import pytest
import uvicorn
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import PlainTextResponse
from starlette.routing import Route

from sekisho.network import TrustedProxies
from tests.conftest import free_port


def scope(peer: str | None, *forwarded: str) -> dict[str, object]:
    headers = [(b"x-forwarded-for", value.encode()) for value in forwarded]
    return {"type": "http", "client": (peer, 50000) if peer else None, "headers": headers}


def addr(text: str | None) -> object:
    return None if text is None else ipaddress.ip_address(text)


PROXIES = TrustedProxies(["10.0.0.0/8", "2001:db8:ffff::/48", "192.0.2.7"])


@pytest.mark.parametrize(
    ("peer", "forwarded", "client"),
    [
        # No proxy in the path: the peer, whatever the header claims.
        ("198.51.100.4", ["6.6.6.6"], "198.51.100.4"),
        ("198.51.100.4", [], "198.51.100.4"),
        # A trusted proxy: the right-most address it did not add itself.
        ("10.1.2.3", ["203.0.113.9"], "203.0.113.9"),
        # The client sent its own header to spoof 1.1.1.1; the proxy appended the real address.
        ("10.1.2.3", ["1.1.1.1, 203.0.113.9"], "203.0.113.9"),
        # Two trusted proxies in a row are skipped.
        ("10.1.2.3", ["6.6.6.6, 203.0.113.9, 10.9.9.9"], "203.0.113.9"),
        ("192.0.2.7", ["203.0.113.9, 10.0.0.5"], "203.0.113.9"),
        # The header on several lines is one list, in order.
        ("10.1.2.3", ["6.6.6.6", "203.0.113.9"], "203.0.113.9"),
        # A spoofed trusted-looking address to the left of the real client does not matter.
        ("10.1.2.3", ["10.5.5.5, 203.0.113.9"], "203.0.113.9"),
        # Every hop is a trusted proxy: the left-most.
        ("10.1.2.3", ["10.7.7.7, 10.8.8.8"], "10.7.7.7"),
        # A trusted proxy that sent no header: the proxy itself.
        ("10.1.2.3", [], "10.1.2.3"),
        # Ports and brackets, as some proxies write them.
        ("10.1.2.3", ["203.0.113.9:51234"], "203.0.113.9"),
        ("10.1.2.3", ["[2001:db8::42]:443"], "2001:db8::42"),
        # IPv6 proxies and clients.
        ("2001:db8:ffff::1", ["2001:db8:1::7"], "2001:db8:1::7"),
        ("2001:db8:ffff::1", ["2001:db8:1::7, 2001:db8:ffff:0:1::2"], "2001:db8:1::7"),
        # IPv4-mapped IPv6 (a dual-stack socket) is the IPv4 address, for the peer and in the header.
        ("::ffff:10.1.2.3", ["::ffff:203.0.113.9"], "203.0.113.9"),
        ("::ffff:198.51.100.4", ["6.6.6.6"], "198.51.100.4"),
        # Garbage where the client's address should be: unknown, so allow-lists deny.
        ("10.1.2.3", ["203.0.113.9, not-an-address"], None),
        ("10.1.2.3", ["unknown"], None),
        # No peer at all (a Unix socket).
        (None, ["203.0.113.9"], None),
    ],
)
def test_client_address_from_a_scope(peer: str | None, forwarded: list[str], client: str | None) -> None:
    assert PROXIES.client_address(scope(peer, *forwarded)) == addr(client)


def test_without_trusted_proxies_the_header_is_never_read() -> None:
    none = TrustedProxies([])
    assert none.client_address(scope("10.1.2.3", "203.0.113.9")) == addr("10.1.2.3")
    assert none.client_address(scope("127.0.0.1", "203.0.113.9")) == addr("127.0.0.1")


def _echo_app(proxies: TrustedProxies) -> Starlette:
    async def echo(request: Request) -> PlainTextResponse:
        return PlainTextResponse(str(proxies.client_address(request.scope)))

    return Starlette(routes=[Route("/", echo)])


@pytest.mark.parametrize("trusted", [True, False], ids=["trusted-peer", "untrusted-peer"])
def test_client_address_over_real_http(trusted: bool) -> None:
    """A real uvicorn server (proxy_headers off, as ``sekisho serve`` runs it) and a real client."""
    proxies = TrustedProxies(["127.0.0.1/32"] if trusted else ["10.0.0.0/8"])
    port = free_port()
    server = uvicorn.Server(
        uvicorn.Config(
            _echo_app(proxies), host="127.0.0.1", port=port, log_level="warning", proxy_headers=False
        )
    )
    thread = threading.Thread(target=server.run, daemon=True)
    thread.start()
    try:
        deadline = time.monotonic() + 20
        while not server.started:
            assert time.monotonic() < deadline and thread.is_alive(), "server did not start"
            time.sleep(0.02)
        with httpx.Client(base_url=f"http://127.0.0.1:{port}") as client:
            spoofed = client.get("/", headers={"x-forwarded-for": "1.1.1.1, 203.0.113.9"}).text
            plain = client.get("/").text
    finally:
        server.should_exit = True
        thread.join(10)
    assert plain == "127.0.0.1"
    assert spoofed == ("203.0.113.9" if trusted else "127.0.0.1")
