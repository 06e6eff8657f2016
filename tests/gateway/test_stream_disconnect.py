"""A client that walks away mid-stream: the upstream stream is closed and the call is settled."""

from __future__ import annotations

import time
from collections.abc import Callable

import httpx

from sekisho.app import build_app
from sekisho.settings import Settings
from sekisho.store.tables import inflight_requests, usage_events
from sekisho.testing import MockUpstream
from tests.conftest import ServerThread


def test_client_disconnect_mid_stream_is_recorded_and_releases_the_call(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> None:
    provider = {"name": "mock", "type": "openai", "base_url": upstream[1]}
    model = {"name": "trickle", "provider": "mock", "upstream_model": "mock-trickle-200"}
    settings = make_settings({"providers": [provider], "models": [model]}, SEKISHO_DATABASE_URL=database_url)
    app = build_app(settings)
    with ServerThread(app) as server:
        core = app.state.core
        org = core.tenancy.ensure_default_org()
        _key, secret = core.tenancy.create_key(
            core.tenancy.get_project("default", org.id),
            core.tenancy.service_account_for(org.id, actor="t"),
            "t",
            actor="t",
        )
        words = " ".join(f"w{i}" for i in range(50))
        body = {"model": "trickle", "stream": True, "messages": [{"role": "user", "content": words}]}
        with (
            httpx.Client(base_url=server.url, timeout=10) as client,
            client.stream(
                "POST", "/v1/chat/completions", json=body, headers={"authorization": f"Bearer {secret}"}
            ) as response,
        ):
            assert response.status_code == 200
            received = 0
            for line in response.iter_lines():
                if line.startswith("data: {"):
                    received += 1
                if received == 3:
                    break  # leaving the block closes the connection mid-stream
        deadline = time.monotonic() + 10
        records: list[dict[str, object]] = []
        while time.monotonic() < deadline:
            core.writer.flush()
            records = [r for r in core.audit.export() if r["kind"] == "request.failed"]
            if records:
                break
            time.sleep(0.1)
        assert len(records) == 1
        data = records[0]["data"]
        assert isinstance(data, dict)
        assert data["outcome"] == "cancelled"
        assert data["error_code"] == "client_disconnected"
        with core.engine.connect() as conn:
            assert conn.execute(inflight_requests.select()).all() == []
            usage = conn.execute(usage_events.select()).one()
        assert usage.status_code == 499
        assert usage.prompt_tokens > 0  # metered (estimated) even though the answer never finished
