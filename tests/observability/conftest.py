"""An observed gateway: tracing on with an in-memory exporter, metrics read back from /metrics."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any

import httpx
import pytest
from opentelemetry.sdk.trace import ReadableSpan
from opentelemetry.sdk.trace.export import SimpleSpanProcessor
from opentelemetry.sdk.trace.export.in_memory_span_exporter import InMemorySpanExporter
from prometheus_client.parser import text_string_to_metric_families

from sekisho.settings import Settings
from sekisho.testing import MockUpstream
from tests.conftest import MASTER_KEY, Gateway, mock_config, running_gateway

PROMPT = "Tell me about zebra-prompt-4f1c and nothing else."
MY_NUMBER = "1234 5678 9018"  # a valid check digit: the my_number detector finds it
SECRET = "ghp_" + "a1B2c3D4e5" * 3 + "abcdef"


@dataclass
class Observed:
    """A running gateway with its span exporter and an admin's key."""

    gw: Gateway
    spans: InMemorySpanExporter
    admin_key: str

    @property
    def client(self) -> httpx.AsyncClient:
        return self.gw.client

    async def scrape(self) -> Samples:
        response = await self.gw.client.get("/metrics")
        assert response.status_code == 200, response.text
        return Samples.parse(response.text)

    async def chat(self, text: str = PROMPT, model: str = "gpt-4o-mini", **extra: Any) -> httpx.Response:
        body = {"model": model, "messages": [{"role": "user", "content": text}], **extra}
        return await self.gw.client.post("/v1/chat/completions", json=body, headers=self.gw.headers())

    def finished(self) -> list[ReadableSpan]:
        return list(self.spans.get_finished_spans())


class Samples:
    """The samples of one scrape: ``value("sekisho_requests_total", route=...)`` sums the matches."""

    def __init__(self, samples: list[tuple[str, dict[str, str], float]]) -> None:
        self.samples = samples

    @classmethod
    def parse(cls, text: str) -> Samples:
        out = []
        for family in text_string_to_metric_families(text):
            for sample in family.samples:
                out.append((sample.name, dict(sample.labels), float(sample.value)))
        return cls(out)

    def value(self, name: str, **labels: str) -> float:
        return sum(
            value
            for sample, found, value in self.samples
            if sample == name and all(found.get(k) == want for k, want in labels.items())
        )

    def since(self, before: Samples, name: str, **labels: str) -> float:
        """How much the matching samples grew since ``before``."""
        return self.value(name, **labels) - before.value(name, **labels)

    def labels(self, name: str, label: str) -> set[str]:
        return {found[label] for sample, found, _ in self.samples if sample == name and label in found}


def observed_config(base_url: str, **extra: Any) -> dict[str, Any]:
    """The mock upstream's models, guardrails with a few detectors, phrase-rule policy, tracing on."""
    return {
        **mock_config(base_url),
        "guardrails": {"detectors": ["email", "my_number", "secret"]},
        "policy": {"local_classifier": False, "review_poll_seconds": 0.2},
        "observability": {
            "metrics_cache_seconds": 0,
            "tracing": {"enabled": True, "exporter": "none"},
        },
        **extra,
    }


@pytest.fixture
async def observed(
    database_url: str, upstream: tuple[MockUpstream, str], make_settings: Callable[..., Settings]
) -> AsyncIterator[Observed]:
    settings = make_settings(
        observed_config(upstream[1]), SEKISHO_DATABASE_URL=database_url, SEKISHO_MASTER_KEY=MASTER_KEY
    )
    async with observed_gateway(settings) as obs:
        yield obs


@asynccontextmanager
async def observed_gateway(settings: Settings) -> AsyncIterator[Observed]:
    """``running_gateway`` with an in-memory span exporter and an admin's key."""
    async with running_gateway(settings) as gw:
        exporter = InMemorySpanExporter()
        tracing = gw.app.state.observability.tracing
        if tracing is not None:
            tracing.provider.add_span_processor(SimpleSpanProcessor(exporter))
        tenancy = gw.core.tenancy
        org = tenancy.ensure_default_org()
        admin = tenancy.create_user(org.id, "admin@example.com", "Admin", "admin", actor="test")
        project = tenancy.get_project("default", org.id)
        admin_key = tenancy.create_key(project, admin, "admin", actor="test")[1]
        yield Observed(gw, exporter, admin_key)
