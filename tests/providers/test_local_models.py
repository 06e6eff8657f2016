"""The offline defaults: the bundled SmolLM2 demo model and local multilingual embeddings,
served by a real uvicorn server and called with the official OpenAI SDK."""

from __future__ import annotations

import base64
import importlib.util
import os
from collections.abc import Iterator

import numpy as np
import openai
import pytest

from sekisho.app import build_app
from sekisho.settings import Settings
from tests.conftest import ServerThread

needs_llama = pytest.mark.skipif(
    importlib.util.find_spec("llama_cpp") is None and not os.environ.get("CI"),
    reason="the 'local' extra (llama-cpp-python) is not installed",
)


@pytest.fixture(scope="module")
def local_server(tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, str]]:
    from sekisho.settings import load_settings

    data = tmp_path_factory.mktemp("local")
    settings: Settings = load_settings(None, environ={"SEKISHO_DATA_DIR": str(data)})
    app = build_app(settings)
    with ServerThread(app) as server:
        tenancy = app.state.core.tenancy
        org = tenancy.ensure_default_org()
        _key, secret = tenancy.create_key(
            tenancy.get_project("default", org.id),
            tenancy.service_account_for(org.id, actor="test"),
            "local",
            actor="test",
        )
        yield f"{server.url}/v1", secret


def test_default_configuration_offers_the_local_models(local_server: tuple[str, str]) -> None:
    client = openai.OpenAI(base_url=local_server[0], api_key=local_server[1], max_retries=0)
    models = {m.id: m for m in client.models.list()}
    assert set(models) == {"smollm2-135m-demo", "multilingual-e5-small"}
    assert "Demo model" in (models["smollm2-135m-demo"].model_extra or {}).get("description", "")


@needs_llama
@pytest.mark.local_model
def test_bundled_demo_model_answers_and_streams(local_server: tuple[str, str]) -> None:
    client = openai.OpenAI(base_url=local_server[0], api_key=local_server[1], max_retries=0, timeout=120)
    answer = client.chat.completions.create(
        model="smollm2-135m-demo",
        messages=[{"role": "user", "content": "Name a colour."}],
        max_tokens=8,
        temperature=0,
    )
    assert answer.choices[0].message.content
    assert answer.usage is not None and 0 < answer.usage.completion_tokens <= 8

    pieces: list[str] = []
    usage = None
    for chunk in client.chat.completions.create(
        model="smollm2-135m-demo",
        messages=[{"role": "user", "content": "Say hi."}],
        max_tokens=6,
        stream=True,
        stream_options={"include_usage": True},
    ):
        if chunk.choices:
            pieces.append(chunk.choices[0].delta.content or "")
        if chunk.usage:
            usage = chunk.usage
    assert "".join(pieces).strip()
    assert usage is not None and 0 < usage.completion_tokens <= 6

    with pytest.raises(openai.BadRequestError):
        client.chat.completions.create(
            model="smollm2-135m-demo", messages=[{"role": "user", "content": "x"}], n=2, max_tokens=2
        )


def test_local_embeddings_relate_japanese_and_english(local_server: tuple[str, str]) -> None:
    client = openai.OpenAI(base_url=local_server[0], api_key=local_server[1], max_retries=0)
    texts = ["今日は天気が良いです。", "The weather is nice today.", "株価の決算報告書を提出した。"]
    result = client.embeddings.create(model="multilingual-e5-small", input=texts)
    vectors = np.array([d.embedding for d in result.data])
    assert vectors.shape == (3, 384)
    similarity = vectors @ vectors.T
    assert similarity[0, 1] > similarity[0, 2]
    assert result.usage.prompt_tokens > 0

    encoded = client.embeddings.create(model="multilingual-e5-small", input="hello", encoding_format="base64")
    raw = encoded.data[0].embedding
    assert isinstance(raw, str)
    decoded = np.frombuffer(base64.b64decode(raw), dtype="<f4")
    assert decoded.shape == (384,)
    assert abs(float(np.linalg.norm(decoded)) - 1.0) < 1e-3


def test_chat_model_refuses_embeddings_cleanly(local_server: tuple[str, str]) -> None:
    client = openai.OpenAI(base_url=local_server[0], api_key=local_server[1], max_retries=0)
    with pytest.raises(openai.BadRequestError):
        client.embeddings.create(model="smollm2-135m-demo", input="x")
