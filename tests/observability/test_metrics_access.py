"""Who may read /metrics: a bearer token, or (without one) loopback and the configured networks."""

from __future__ import annotations

import time
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import ServerThread, mock_config
from tests.observability.conftest import PROMPT, Samples

pytestmark = pytest.mark.anyio
TOKEN = "metrics-token-0123456789abcdef"


@asynccontextmanager
async def app_for(settings: Settings) -> AsyncIterator[FastAPI]:
    app = build_app(settings)
    async with app.router.lifespan_context(app):
        yield app


async def scrape(app: FastAPI, client: str = "127.0.0.1", **headers: str) -> httpx.Response:
    transport = httpx.ASGITransport(app=app, client=(client, 40000))
    async with httpx.AsyncClient(transport=transport, base_url="http://sekisho") as http:
        return await http.get("/metrics", headers=headers)


@pytest.fixture
def settings_with(
    upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> Callable[..., Settings]:
    def make(**observability: Any) -> Settings:
        network = observability.pop("network", {})
        return make_settings({**mock_config(upstream[1]), "observability": observability, "network": network})

    return make


async def test_without_a_token_only_loopback_may_scrape(settings_with: Callable[..., Settings]) -> None:
    async with app_for(settings_with()) as app:
        assert (await scrape(app, "127.0.0.1")).status_code == 200
        assert (await scrape(app, "::1")).status_code == 200
        refused = await scrape(app, "10.1.2.3")
        assert refused.status_code == 403
        assert refused.json()["error"]["code"] == "metrics_forbidden"
        assert "sekisho_" not in refused.text
        transport = httpx.ASGITransport(app=app)
        async with httpx.AsyncClient(transport=transport, base_url="http://sekisho") as http:
            assert (await http.post("/metrics")).status_code == 405


async def test_a_token_is_required_from_everyone_once_set(settings_with: Callable[..., Settings]) -> None:
    async with app_for(settings_with(metrics_token=TOKEN)) as app:
        missing = await scrape(app, "127.0.0.1")
        assert missing.status_code == 401
        assert missing.headers["www-authenticate"] == 'Bearer realm="metrics"'
        assert (await scrape(app, "10.1.2.3", authorization="Bearer wrong-token")).status_code == 401
        assert (await scrape(app, "10.1.2.3", authorization=f"Basic {TOKEN}")).status_code == 401
        allowed = await scrape(app, "10.1.2.3", authorization=f"Bearer {TOKEN}")
        assert allowed.status_code == 200
        assert "sekisho_build_info" in allowed.text


async def test_networks_are_judged_by_the_real_client_behind_trusted_proxies(
    settings_with: Callable[..., Settings],
) -> None:
    settings = settings_with(metrics_networks=["10.20.0.0/16"], network={"trusted_proxies": ["10.0.0.1"]})
    async with app_for(settings) as app:
        assert (await scrape(app, "10.20.3.4")).status_code == 200
        assert (await scrape(app, "127.0.0.1")).status_code == 403  # loopback is no longer listed
        # Through the trusted load balancer: the client it names decides, not the balancer itself.
        assert (await scrape(app, "10.0.0.1", **{"x-forwarded-for": "203.0.113.9"})).status_code == 403
        assert (await scrape(app, "10.0.0.1", **{"x-forwarded-for": "10.20.9.9"})).status_code == 200
        # From a peer that is not a trusted proxy the header proves nothing.
        assert (await scrape(app, "203.0.113.9", **{"x-forwarded-for": "10.20.9.9"})).status_code == 403


async def test_switched_off_there_is_no_metrics_route(settings_with: Callable[..., Settings]) -> None:
    async with app_for(settings_with(metrics_enabled=False)) as app:
        assert app.state.observability.metrics is None
        assert (await scrape(app)).status_code == 404


def test_prometheus_scrapes_a_real_server(settings_with: Callable[..., Settings]) -> None:
    """A real uvicorn server on a socket, scraped over TCP like Prometheus does."""
    app = build_app(settings_with(metrics_token=TOKEN))
    tenancy = app.state.core.tenancy
    with ServerThread(app) as server:
        org = tenancy.ensure_default_org()
        project = tenancy.get_project("default", org.id)
        key = tenancy.create_key(project, tenancy.service_account_for(org.id, actor="t"), "t", actor="t")[1]
        with httpx.Client(base_url=server.url, timeout=10) as http:
            scraper = {"authorization": f"Bearer {TOKEN}", "accept": "text/plain"}
            before = Samples.parse(http.get("/metrics", headers=scraper).text)
            body = {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": PROMPT}]}
            for _ in range(3):
                answer = http.post(
                    "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {key}"}
                )
                assert answer.status_code == 200
            # The last request's counters are updated as its final byte goes out; allow a moment.
            deadline = time.monotonic() + 5
            while True:
                response = http.get("/metrics", headers=scraper)
                after = Samples.parse(response.text)
                labels = {"route": "/v1/chat/completions", "status": "200"}
                grown = after.since(before, "sekisho_requests_total", **labels)
                if grown == 3 or time.monotonic() > deadline:
                    break
                time.sleep(0.05)
            assert grown == 3
            assert response.headers["content-type"].startswith("text/plain")
            assert after.value("sekisho_requests_in_flight") == 0
            assert after.value("sekisho_tokens_total", model="gpt-4o-mini") > 0
