"""The OpenAI-compatible API through the real app, on SQLite and PostgreSQL."""

from __future__ import annotations

import orjson
import pytest

from tests.conftest import Gateway

pytestmark = pytest.mark.anyio

CHAT = "/v1/chat/completions"


def user(text: str) -> list[dict[str, str]]:
    return [{"role": "user", "content": text}]


async def test_chat_completion_answers_and_is_metered(gateway: Gateway) -> None:
    response = await gateway.client.post(
        CHAT, headers=gateway.headers(), json={"model": "gpt-4o-mini", "messages": user("hello world")}
    )
    assert response.status_code == 200, response.text
    body = response.json()
    assert body["choices"][0]["message"]["content"] == "Echo: hello world"
    assert body["usage"] == {"prompt_tokens": 2, "completion_tokens": 3, "total_tokens": 5}
    assert response.headers["x-request-id"].startswith("req_")


async def test_parameters_pass_through_faithfully(gateway: Gateway, upstream) -> None:  # type: ignore[no-untyped-def]
    mock, _ = upstream
    tools = [{"type": "function", "function": {"name": "lookup", "parameters": {"type": "object"}}}]
    request = {
        "model": "gpt-4o-mini",
        "messages": user("x"),
        "tools": tools,
        "tool_choice": {"type": "function", "function": {"name": "lookup"}},
        "response_format": {"type": "json_object"},
        "n": 2,
        "stop": ["\n", "END"],
        "max_tokens": 7,
        "max_completion_tokens": 9,
        "temperature": 0.3,
        "seed": 42,
        "logit_bias": {"50256": -100},
        "metadata": {"ticket": "T-1"},
    }
    response = await gateway.client.post(CHAT, headers=gateway.headers(), json=request)
    assert response.status_code == 200, response.text
    sent = mock.requests[-1]
    assert sent == {**request, "model": "mock-gpt"}
    assert mock.headers[-1]["authorization"] == "Bearer sk-upstream-secret"
    assert len(response.json()["choices"]) == 2
    assert response.json()["choices"][0]["message"]["tool_calls"][0]["function"]["name"] == "lookup"


async def test_stream_relays_chunks_and_hides_usage_unless_asked(gateway: Gateway, upstream) -> None:  # type: ignore[no-untyped-def]
    mock, _ = upstream
    body = {"model": "gpt-4o-mini", "messages": user("one two three"), "stream": True}
    response = await gateway.client.post(CHAT, headers=gateway.headers(), json=body)
    assert response.status_code == 200
    assert response.headers["content-type"].startswith("text/event-stream")
    events = [line[6:] for line in response.text.split("\n\n") if line.startswith("data: ")]
    assert events[-1] == "[DONE]"
    chunks = [orjson.loads(e) for e in events[:-1]]
    text = "".join(c["choices"][0]["delta"].get("content") or "" for c in chunks if c["choices"])
    assert text == "Echo: one two three"
    assert all("usage" not in c or c["usage"] is None for c in chunks)
    # Sekisho asked upstream for usage anyway, so the stream is metered exactly.
    assert mock.requests[-1]["stream_options"] == {"include_usage": True}

    body["stream_options"] = {"include_usage": True}
    response = await gateway.client.post(CHAT, headers=gateway.headers(), json=body)
    chunks = [orjson.loads(e[6:]) for e in response.text.split("\n\n") if e.startswith("data: {")]
    assert chunks[-1]["usage"] == {"prompt_tokens": 3, "completion_tokens": 4, "total_tokens": 7}


@pytest.mark.parametrize(
    ("body", "param", "code"),
    [
        ({"messages": [{"role": "user", "content": "x"}]}, "model", "missing_required_parameter"),
        ({"model": "gpt-4o-mini"}, "messages", "missing_required_parameter"),
        ({"model": "gpt-4o-mini", "messages": []}, "messages", "invalid_value"),
        ({"model": "gpt-4o-mini", "messages": "hello"}, "messages", "invalid_type"),
        ({"model": 7, "messages": [{"role": "user", "content": "x"}]}, "model", "invalid_type"),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "wizard", "content": "x"}]},
            "messages[0].role",
            "invalid_value",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "stream": "yes"},
            "stream",
            "invalid_type",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "max_tokens": 0},
            "max_tokens",
            "invalid_value",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "user", "content": "x"}], "temperature": 9},
            "temperature",
            "invalid_value",
        ),
        (
            {"model": "gpt-4o-mini", "messages": [{"role": "tool", "content": "x"}]},
            "messages[0]",
            "invalid_value",
        ),
    ],
)
async def test_invalid_bodies_get_openai_400s(gateway: Gateway, body: dict, param: str, code: str) -> None:
    response = await gateway.client.post(CHAT, headers=gateway.headers(), json=body)
    assert response.status_code == 400, response.text
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    assert error["type"] == "invalid_request_error"
    assert error["param"] == param
    assert error["code"] == code


@pytest.mark.parametrize("raw", [b"", b"{", b"[1, 2]", b"null", b"\xff\xfe", b'{"model": "gpt-4o-mini",}'])
async def test_malformed_json_is_a_400(gateway: Gateway, raw: bytes) -> None:
    response = await gateway.client.post(
        CHAT, headers={**gateway.headers(), "content-type": "application/json"}, content=raw
    )
    assert response.status_code == 400
    assert response.json()["error"]["code"] in {"invalid_json", "invalid_request"}


async def test_body_over_the_limit_is_413(gateway: Gateway) -> None:
    big = "x" * (70 * 1024)
    response = await gateway.client.post(
        CHAT, headers=gateway.headers(), json={"model": "gpt-4o-mini", "messages": user(big)}
    )
    assert response.status_code == 413
    assert response.json()["error"]["code"] == "request_too_large"


@pytest.mark.parametrize(
    ("authorization", "code"),
    [(None, "missing_api_key"), ("Bearer sk-sks-nope", "invalid_api_key"), ("Basic abc", "invalid_api_key")],
)
async def test_bad_keys_are_401(gateway: Gateway, authorization: str | None, code: str) -> None:
    headers = {"authorization": authorization} if authorization else {}
    response = await gateway.client.post(
        CHAT, headers=headers, json={"model": "gpt-4o-mini", "messages": user("x")}
    )
    assert response.status_code == 401
    assert response.json()["error"]["code"] == code


async def test_revoked_and_expired_keys_are_401(gateway: Gateway) -> None:
    from datetime import timedelta

    from sekisho.clock import utcnow

    key = gateway.new_key(name="to revoke")
    body = {"model": "gpt-4o-mini", "messages": user("x")}
    assert (await gateway.client.post(CHAT, headers=gateway.headers(key), json=body)).status_code == 200
    key_id = gateway.core.tenancy.list_keys(None)[-1].id
    gateway.core.tenancy.revoke_key(key_id, actor="test")
    response = await gateway.client.post(CHAT, headers=gateway.headers(key), json=body)
    assert response.status_code == 401
    assert "revoked" in response.json()["error"]["message"]

    expired = gateway.new_key(expires_at=utcnow() - timedelta(seconds=1))
    response = await gateway.client.post(CHAT, headers=gateway.headers(expired), json=body)
    assert response.status_code == 401
    assert "expired" in response.json()["error"]["message"]


async def test_model_allow_list_gives_403_and_filters_models(gateway: Gateway) -> None:
    key = gateway.new_key(models=["embed"])
    response = await gateway.client.post(
        CHAT, headers=gateway.headers(key), json={"model": "gpt-4o-mini", "messages": user("x")}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "model_not_allowed"
    listed = (await gateway.client.get("/v1/models", headers=gateway.headers(key))).json()
    assert [m["id"] for m in listed["data"]] == ["embed"]


async def test_unknown_model_is_404(gateway: Gateway) -> None:
    response = await gateway.client.post(
        CHAT, headers=gateway.headers(), json={"model": "gpt-17", "messages": user("x")}
    )
    assert response.status_code == 404
    assert response.json()["error"] == {
        "message": "The model 'gpt-17' does not exist.",
        "type": "invalid_request_error",
        "param": "model",
        "code": "model_not_found",
    }


async def test_models_lists_every_model_for_an_unrestricted_key(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/models", headers=gateway.headers())
    assert response.status_code == 200
    names = {m["id"] for m in response.json()["data"]}
    assert {"gpt-4o-mini", "embed", "flaky"} <= names
    one = await gateway.client.get("/v1/models/gpt-4o-mini", headers=gateway.headers())
    assert one.json()["id"] == "gpt-4o-mini"
    missing = await gateway.client.get("/v1/models/gpt-17", headers=gateway.headers())
    assert missing.status_code == 404
    assert missing.json()["error"]["code"] == "model_not_found"
    assert missing.headers["x-request-id"].startswith("req_")
    refused = await gateway.client.get("/v1/models", headers=gateway.headers("sk-sks-wrong"))
    assert refused.status_code == 401
    assert refused.headers["x-request-id"].startswith("req_")


async def test_embeddings(gateway: Gateway) -> None:
    response = await gateway.client.post(
        "/v1/embeddings", headers=gateway.headers(), json={"model": "embed", "input": ["a b", "c"]}
    )
    assert response.status_code == 200, response.text
    assert len(response.json()["data"]) == 2
    wrong = await gateway.client.post(
        "/v1/embeddings", headers=gateway.headers(), json={"model": "gpt-4o-mini", "input": "a"}
    )
    assert wrong.status_code == 400
    assert wrong.json()["error"]["code"] == "wrong_model_kind"
    empty = await gateway.client.post(
        "/v1/embeddings", headers=gateway.headers(), json={"model": "embed", "input": []}
    )
    assert empty.status_code == 400


async def test_master_key_cannot_call_models(gateway: Gateway) -> None:
    from tests.conftest import MASTER_KEY

    response = await gateway.client.post(
        CHAT, headers=gateway.headers(MASTER_KEY), json={"model": "gpt-4o-mini", "messages": user("x")}
    )
    assert response.status_code == 403
    assert response.json()["error"]["code"] == "project_required"


async def test_unknown_route_and_method_answer_in_openai_shape(gateway: Gateway) -> None:
    response = await gateway.client.get("/v1/nothing-here", headers=gateway.headers())
    assert response.status_code == 404
    assert "error" in response.json()
    response = await gateway.client.get(CHAT, headers=gateway.headers())
    assert response.status_code == 405
    assert response.json()["error"]["code"] == "method_not_allowed"
