"""The app behind a real uvicorn server, and usage events recorded through its batch writer."""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from sekisho.app import build_app
from sekisho.identity import Project, User
from sekisho.metering import UsageEvent
from sekisho.settings import Settings
from tests.conftest import MASTER_KEY, ServerThread

ANALYTICS = "/admin/v1/analytics"
_request_ids = itertools.count(1)


@dataclass
class Served:
    """The running app: a real HTTP client at its URL, and its core objects for setting up data."""

    app: FastAPI
    http: httpx.Client

    @property
    def core(self) -> Any:
        return self.app.state.core

    def get(self, path: str, key: str = MASTER_KEY, **params: Any) -> httpx.Response:
        return self.http.get(path, params=params, headers={"authorization": f"Bearer {key}"})

    def ok(self, path: str, key: str = MASTER_KEY, **params: Any) -> Any:
        response = self.get(path, key, **params)
        assert response.status_code == 200, response.text
        return response.json()

    def record(self, events: list[UsageEvent]) -> None:
        """Queue events the way the gateway does (no waiting), then wait for their commit."""
        for event in events:
            self.core.writer.submit(event)
        self.core.writer.flush()

    def user(self, org_id: str, email: str, role: str = "member", **kw: Any) -> User:
        user: User = self.core.tenancy.create_user(
            org_id, email, email.split("@")[0], role, actor="test", **kw
        )
        return user

    def key(self, project: Project, user: User, name: str = "k") -> tuple[str, str]:
        """(key id, secret)."""
        key, secret = self.core.tenancy.create_key(project, user, name, actor="test")
        return key.id, str(secret)


@pytest.fixture
def serve(database_url: str, make_settings: Callable[..., Settings]) -> Callable[..., Any]:
    """``with serve({...settings}) as served:`` the app on a fresh database, behind uvicorn."""

    @contextmanager
    def start(config: dict[str, Any] | None = None) -> Iterator[Served]:
        settings = make_settings(
            config or {}, SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY
        )
        app = build_app(settings)
        with ServerThread(app) as server, httpx.Client(base_url=server.url, timeout=30) as http:
            yield Served(app, http)

    return start


def event(
    ts: datetime,
    org_id: str,
    project_id: str,
    user_id: str | None,
    key_id: str | None,
    model: str = "gpt-4o-mini",
    *,
    status: int = 200,
    prompt: int = 10,
    completion: int = 5,
    cost: int = 1000,
) -> UsageEvent:
    """One usage event as the settle stage writes it."""
    return UsageEvent(
        ts=ts,
        request_id=f"req_test_{next(_request_ids)}",
        org_id=org_id,
        project_id=project_id,
        user_id=user_id,
        key_id=key_id,
        model=model,
        served_model=model,
        endpoint="chat.completions",
        status_code=status,
        prompt_tokens=prompt,
        completion_tokens=completion,
        cost_nanousd=cost,
        usage_estimated=False,
        latency_ms=12,
    )
