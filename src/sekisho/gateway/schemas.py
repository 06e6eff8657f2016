"""Request bodies, validated so bad input gets a 400 that names the field.

Validation checks what Sekisho relies on and what OpenAI itself rejects; the original JSON object
is what goes upstream (with ``model`` rewritten), so fields we do not model pass through unchanged.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator

from sekisho.gateway.errors import GatewayError


class _Open(BaseModel):
    model_config = ConfigDict(extra="allow", strict=True)


class ContentPart(_Open):
    type: str


class ChatMessage(_Open):
    role: Literal["system", "developer", "user", "assistant", "tool", "function"]
    content: str | list[ContentPart] | None = None
    name: str | None = None
    tool_call_id: str | None = None
    tool_calls: list[dict[str, Any]] | None = None

    @model_validator(mode="after")
    def _content_required(self) -> ChatMessage:
        if self.content is None and self.role in ("system", "developer", "user", "tool"):
            raise ValueError(f"a {self.role} message needs content")
        if self.role == "tool" and not self.tool_call_id:
            raise ValueError("a tool message needs tool_call_id")
        return self


class StreamOptions(_Open):
    include_usage: bool | None = None


class ChatCompletionRequest(_Open):
    model: Annotated[str, Field(min_length=1)]
    messages: Annotated[list[ChatMessage], Field(min_length=1)]
    stream: bool | None = None
    stream_options: StreamOptions | None = None
    max_tokens: Annotated[int, Field(ge=1)] | None = None
    max_completion_tokens: Annotated[int, Field(ge=1)] | None = None
    n: Annotated[int, Field(ge=1, le=128)] | None = None
    stop: str | Annotated[list[str], Field(max_length=4)] | None = None
    temperature: Annotated[float, Field(ge=0, le=2)] | None = None
    top_p: Annotated[float, Field(ge=0, le=1)] | None = None
    presence_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    frequency_penalty: Annotated[float, Field(ge=-2, le=2)] | None = None
    tools: list[dict[str, Any]] | None = None
    tool_choice: str | dict[str, Any] | None = None
    response_format: dict[str, Any] | None = None
    user: str | None = None


class EmbeddingRequest(_Open):
    model: Annotated[str, Field(min_length=1)]
    input: str | list[str] | list[int] | list[list[int]]
    encoding_format: Literal["float", "base64"] | None = None
    dimensions: Annotated[int, Field(ge=1)] | None = None

    @model_validator(mode="after")
    def _non_empty(self) -> EmbeddingRequest:
        if isinstance(self.input, list) and not self.input:
            raise ValueError("input must not be empty")
        return self


M = TypeVar("M", bound=BaseModel)

_TYPE_TAGS = frozenset({"str", "int", "float", "bool", "none"})


def validate(model: type[M], body: object) -> M:
    """Validate ``body`` or raise a 400 naming the first bad field."""
    if not isinstance(body, dict):
        raise GatewayError(400, "The request body must be a JSON object.", code="invalid_request")
    try:
        return model.model_validate(body)
    except ValidationError as exc:
        first = exc.errors()[0]
        param = _param(first["loc"])
        kind = first["type"]
        if kind == "missing":
            message, code = f"Missing required parameter: '{param}'.", "missing_required_parameter"
        else:
            message = (
                f"Invalid value for '{param}': {first['msg']}." if param else f"Invalid body: {first['msg']}."
            )
            code = "invalid_type" if kind.endswith("_type") else "invalid_value"
        raise GatewayError(400, message, param=param, code=code) from None


def _param(loc: tuple[int | str, ...]) -> str:
    out = ""
    for part in loc:
        if isinstance(part, int):
            out += f"[{part}]"
        elif part in _TYPE_TAGS or "[" in part:
            continue  # pydantic names union members in the location; users do not need them
        else:
            out += ("." if out else "") + str(part)
    return out
