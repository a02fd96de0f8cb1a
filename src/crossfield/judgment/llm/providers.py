"""`provider/model` strings, API keys and base URLs, and the SDK clients built from them.

    anthropic/<model>           Anthropic Messages API             key: $ANTHROPIC_API_KEY
    openai/<model>              OpenAI Chat Completions            key: $OPENAI_API_KEY
    openai-compatible/<model>   any Chat Completions server (Ollama, vLLM, llama.cpp server);
                                base URL: option or $CROSSFIELD_OPENAI_BASE_URL;
                                key optional: option or $CROSSFIELD_OPENAI_API_KEY

A provider alone (`anthropic`, `openai`) picks a current default model. Keys come from the environment (or
an explicit argument); they are handed to the SDK client and never logged, cached or written to results.
`openai-compatible` never reads `$OPENAI_API_KEY`: a real OpenAI key must not be sent to an arbitrary server.
"""

from __future__ import annotations

import os
from dataclasses import dataclass
from typing import Literal

import anthropic
import httpx2
import openai

from crossfield.errors import JudgeError

ProviderName = Literal["anthropic", "openai", "openai-compatible"]
PROVIDERS: tuple[ProviderName, ...] = ("anthropic", "openai", "openai-compatible")

DEFAULT_MODELS: dict[str, str] = {
    # Current models of the SDKs' own lists (anthropic.types.ModelParam, openai.types.ChatModel).
    # Not claude-sonnet-4-5: it is retired on 2026-11-30.
    "anthropic": "claude-sonnet-5-5",
    "openai": "gpt-5.5",
}
KEY_ENV: dict[str, str] = {
    "anthropic": "ANTHROPIC_API_KEY",
    "openai": "OPENAI_API_KEY",
    "openai-compatible": "CROSSFIELD_OPENAI_API_KEY",
}
BASE_URL_ENV = "CROSSFIELD_OPENAI_BASE_URL"
_NO_KEY = "not-needed"

AsyncClient = anthropic.AsyncAnthropic | openai.AsyncOpenAI


@dataclass(frozen=True, slots=True)
class ModelSpec:
    provider: ProviderName
    model: str

    @property
    def name(self) -> str:
        return f"{self.provider}/{self.model}"

    def __str__(self) -> str:
        return self.name


def parse_model_spec(spec: str) -> ModelSpec:
    """`anthropic/claude-sonnet-5-5` -> ModelSpec; `openai` -> the default OpenAI model."""
    provider, _, model = spec.strip().partition("/")
    provider = provider.lower()
    if provider not in PROVIDERS:
        raise JudgeError(
            f"unknown judge {spec!r}: use 'heuristic', 'scripted', or PROVIDER/MODEL with PROVIDER one of "
            f"{', '.join(PROVIDERS)} (e.g. anthropic/{DEFAULT_MODELS['anthropic']}, "
            f"openai/{DEFAULT_MODELS['openai']}, openai-compatible/llama3.1 with --base-url)"
        )
    if not model:
        if provider not in DEFAULT_MODELS:
            raise JudgeError(
                f"{provider} needs a model name: {provider}/MODEL, e.g. openai-compatible/llama3.1 "
                "(the name the server knows the model by)"
            )
        model = DEFAULT_MODELS[provider]
    return ModelSpec(provider, model)


class Secret:
    """An API key that never shows itself in a repr, a log line or a traceback."""

    __slots__ = ("_value",)

    def __init__(self, value: str) -> None:
        self._value = value

    def reveal(self) -> str:
        return self._value

    def __repr__(self) -> str:
        return "Secret('***')"

    __str__ = __repr__


def resolve_api_key(spec: ModelSpec, explicit: Secret | None) -> Secret | None:
    """The key to use, or None when none is needed (openai-compatible) or none is set."""
    if explicit is not None:
        return explicit
    value = os.environ.get(KEY_ENV[spec.provider], "").strip()
    return Secret(value) if value else None


def require_api_key(spec: ModelSpec, explicit: Secret | None) -> Secret:
    key = resolve_api_key(spec, explicit)
    if key is not None:
        return key
    if spec.provider == "openai-compatible":
        return Secret(_NO_KEY)
    raise JudgeError(
        f"{spec.name} needs an API key: set the {KEY_ENV[spec.provider]} environment variable "
        "(or use --judge heuristic, which needs none)"
    )


def resolve_base_url(spec: ModelSpec, explicit: str | None) -> str | None:
    if explicit:
        return explicit
    if spec.provider == "openai-compatible":
        url = os.environ.get(BASE_URL_ENV, "").strip()
        if not url:
            raise JudgeError(
                f"{spec.name} needs the server's base URL: pass --base-url (e.g. http://localhost:11434/v1 "
                f"for Ollama, http://localhost:8000/v1 for vLLM) or set {BASE_URL_ENV}"
            )
        return url
    return None


def build_async_client(
    spec: ModelSpec,
    *,
    api_key: Secret,
    base_url: str | None,
    http_client: httpx2.AsyncClient | None,
    timeout: float,
) -> AsyncClient:
    """The provider's async SDK client, with SDK retries off (crossfield retries, see `retry.py`)."""
    client_timeout = httpx2.Timeout(timeout, connect=min(timeout, 10.0))
    if spec.provider == "anthropic":
        return anthropic.AsyncAnthropic(
            api_key=api_key.reveal(),
            base_url=base_url,
            http_client=http_client,
            max_retries=0,
            timeout=client_timeout,
        )
    return openai.AsyncOpenAI(
        api_key=api_key.reveal(),
        base_url=base_url,
        http_client=http_client,
        max_retries=0,
        timeout=client_timeout,
    )
