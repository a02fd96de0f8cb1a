"""`LLMBackend`: one model behind one interface, shared by every judge (and spec) that uses it.

A backend owns what must be shared in a batch run: the SDK client (one per event loop), the concurrency
bound (N requests in flight), the rate-limit pause, the retry policy, the response cache and the price
table. Several `LLMJudge`s given the same backend share all of it.

A structured call goes: instructor (tool-calling mode, validation context, reask on grounding errors)
-> `call_with_retry` (transient errors, Retry-After, semaphore) -> the provider SDK. Usage is summed over
every completion instructor received, through its `completion:response` hook.
"""

from __future__ import annotations

import asyncio
import logging
import time
import weakref
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, cast

import anthropic
import httpx2
import instructor
from instructor.core.hooks import Hooks
from instructor.utils.providers import Provider

from crossfield.judgment.llm._instructor import memoize_async_validator_check, response_model
from crossfield.judgment.llm.cache import ResponseCache
from crossfield.judgment.llm.output import VALIDATION_CONTEXT, JudgeOutput, ValidationState
from crossfield.judgment.llm.prices import PriceTable
from crossfield.judgment.llm.providers import (
    AsyncClient,
    ModelSpec,
    Secret,
    build_async_client,
    parse_model_spec,
    require_api_key,
    resolve_api_key,
    resolve_base_url,
)
from crossfield.judgment.llm.retry import RateLimiter, RetryPolicy, call_with_retry, describe

log = logging.getLogger("crossfield.judgment.llm")

DEFAULT_CONCURRENCY = 4

DEFAULT_MAX_TOKENS = 16_000
DEFAULT_TIMEOUT = 600.0
CACHE_CONTROL = {"type": "ephemeral"}
ANTHROPIC_TOOL_CHOICE = {"type": "auto", "disable_parallel_tool_use": True}
"""Current Claude models think adaptively and reject a forced tool choice (`any`/`tool`): the prompt asks for
exactly one JudgeOutput call, a reply without one is reasked, and parallel calls are switched off."""


@dataclass(slots=True)
class Usage:
    """Tokens of one or more completions. `input_tokens` are the uncached ones."""

    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0

    def add(self, other: Usage) -> None:
        self.input_tokens += other.input_tokens
        self.output_tokens += other.output_tokens
        self.cache_read_tokens += other.cache_read_tokens
        self.cache_write_tokens += other.cache_write_tokens

    @property
    def total(self) -> int:
        return self.input_tokens + self.output_tokens + self.cache_read_tokens + self.cache_write_tokens


def usage_of(response: Any) -> Usage:
    """Usage of one Anthropic `Message` or OpenAI `ChatCompletion` (or their JSON), provider-neutral."""
    usage = response.get("usage") if isinstance(response, Mapping) else getattr(response, "usage", None)
    if usage is None:
        return Usage()

    def get(obj: Any, name: str) -> int:
        value = obj.get(name) if isinstance(obj, Mapping) else getattr(obj, name, None)
        return int(value) if isinstance(value, int | float) else 0

    if get(usage, "prompt_tokens") or get(usage, "completion_tokens"):  # OpenAI: prompt includes cached
        details = (
            usage.get("prompt_tokens_details")
            if isinstance(usage, Mapping)
            else getattr(usage, "prompt_tokens_details", None)
        )
        cached = get(details, "cached_tokens") if details is not None else 0
        return Usage(
            input_tokens=max(0, get(usage, "prompt_tokens") - cached),
            output_tokens=get(usage, "completion_tokens"),
            cache_read_tokens=cached,
        )
    return Usage(  # Anthropic: input_tokens excludes cache reads and writes
        input_tokens=get(usage, "input_tokens"),
        output_tokens=get(usage, "output_tokens"),
        cache_read_tokens=get(usage, "cache_read_input_tokens"),
        cache_write_tokens=get(usage, "cache_creation_input_tokens"),
    )


@dataclass(slots=True)
class CallStats:
    """What one structured call cost: completions, HTTP attempts, tokens, time."""

    completions: int = 0
    http_attempts: int = 0
    transient_retries: int = 0
    usage: Usage = field(default_factory=Usage)
    latency_s: float = 0.0
    last_error: str | None = None

    def on_response(self, response: Any) -> None:
        """Hook for instructor's `completion:response` event: once per completion, reasks included."""
        self.completions += 1
        self.usage.add(usage_of(response))


@dataclass(slots=True)
class _LoopState:
    client: AsyncClient
    semaphore: asyncio.Semaphore
    owns_client: bool
    http_client: httpx2.AsyncClient | None = None


class LLMBackend:
    """A model, its client and the shared limits. Pass one backend to several judges to share them.

    `http_client` (an `httpx2.AsyncClient`) or `transport` (an httpx2 transport, e.g. `MockTransport`) is
    the injection point for tests; otherwise the SDK builds its own HTTP client."""

    def __init__(
        self,
        model: str = "anthropic",
        *,
        api_key: str | None = None,
        base_url: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        concurrency: int = DEFAULT_CONCURRENCY,
        retry: RetryPolicy | None = None,
        cache: bool | ResponseCache = True,
        cache_dir: str | None = None,
        prices: PriceTable | str | Mapping[str, Any] | None = None,
        max_tokens: int = DEFAULT_MAX_TOKENS,
        temperature: float | None = None,
        request_timeout: float = DEFAULT_TIMEOUT,
        extra_params: Mapping[str, Any] | None = None,
    ) -> None:
        if concurrency < 1:
            raise ValueError("concurrency must be at least 1")
        self.spec: ModelSpec = parse_model_spec(model)
        self._api_key = Secret(api_key) if api_key else None
        self.base_url = resolve_base_url(self.spec, base_url)
        self._http_client = http_client
        self._transport = transport
        self.concurrency = concurrency
        self.retry = retry or RetryPolicy()
        if isinstance(cache, ResponseCache):
            self.cache: ResponseCache | None = cache
        else:
            self.cache = ResponseCache(cache_dir) if cache else None
        self.prices = prices if isinstance(prices, PriceTable) else PriceTable.load(prices)
        self.max_tokens = max_tokens
        self.temperature = temperature
        self.request_timeout = request_timeout
        self.extra_params = dict(extra_params or {})
        self.limiter = RateLimiter()
        memoize_async_validator_check()
        self._states: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _LoopState] = (
            weakref.WeakKeyDictionary()
        )

    # ---- identity -------------------------------------------------------------------------------------

    @property
    def name(self) -> str:
        """`provider/model`, as recorded on calls and hypotheses."""
        return self.spec.name

    @property
    def provider(self) -> str:
        return self.spec.provider

    @property
    def model(self) -> str:
        return self.spec.model

    def __repr__(self) -> str:
        return f"LLMBackend({self.name!r}, concurrency={self.concurrency})"

    def has_api_key(self) -> bool:
        return (
            self.spec.provider == "openai-compatible" or resolve_api_key(self.spec, self._api_key) is not None
        )

    def require_api_key(self) -> None:
        """Raise `JudgeError` naming the environment variable to set, when the key is missing."""
        require_api_key(self.spec, self._api_key)

    def request_parameters(self) -> dict[str, Any]:
        """The parameters that shape a response (part of the cache key)."""
        params: dict[str, Any] = {"max_tokens": self.max_tokens}
        if self.temperature is not None:
            params["temperature"] = self.temperature
        params.update(self.extra_params)
        return params

    # ---- clients, one per event loop --------------------------------------------------------------------

    def _state(self) -> _LoopState:
        loop = asyncio.get_running_loop()
        state = self._states.get(loop)
        if state is None:
            key = require_api_key(self.spec, self._api_key)
            http_client = self._http_client
            own_http: httpx2.AsyncClient | None = None
            if http_client is None and self._transport is not None:
                own_http = http_client = httpx2.AsyncClient(
                    transport=self._transport, timeout=httpx2.Timeout(self.request_timeout)
                )
            client = build_async_client(
                self.spec,
                api_key=key,
                base_url=self.base_url,
                http_client=http_client,
                timeout=self.request_timeout,
            )
            # The SDKs import their resource modules on first use (seconds for openai): do it now, before
            # any request is in flight, rather than stalling the loop mid-run.
            _ = client.messages if isinstance(client, anthropic.AsyncAnthropic) else client.chat.completions
            state = _LoopState(
                client=client,
                semaphore=asyncio.Semaphore(self.concurrency),
                owns_client=self._http_client is None,
                http_client=own_http,
            )
            self._states[loop] = state
        return state

    async def release_loop(self) -> None:
        """Close the clients this backend built for the running event loop (injected ones stay open)."""
        loop = asyncio.get_running_loop()
        state = self._states.pop(loop, None)
        if state is not None and state.owns_client:
            await state.client.close()

    async def aclose(self) -> None:
        await self.release_loop()

    async def __aenter__(self) -> LLMBackend:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def client(self) -> AsyncClient:
        """The SDK client for the running event loop (the batch API uses it directly)."""
        return self._state().client

    # ---- requests -------------------------------------------------------------------------------------

    def message_kwargs(self, system: str, user: str) -> dict[str, Any]:
        """Messages in the provider's shape. The system prompt comes first and is identical for every
        chunk, so the provider caches it: Anthropic by the `cache_control` marker on the system block,
        OpenAI automatically for a shared prefix."""
        if self.spec.provider == "anthropic":
            return {
                "system": [{"type": "text", "text": system, "cache_control": dict(CACHE_CONTROL)}],
                "messages": [{"role": "user", "content": user}],
            }
        return {"messages": [{"role": "system", "content": system}, {"role": "user", "content": user}]}

    def _sdk_parameters(self) -> dict[str, Any]:
        params = self.request_parameters()
        if self.spec.provider == "openai":
            params["max_completion_tokens"] = params.pop("max_tokens")  # reasoning models reject max_tokens
        if self.spec.provider == "anthropic" and "tool_choice" not in params:
            params["tool_choice"] = dict(ANTHROPIC_TOOL_CHOICE)
        return params

    async def structured(
        self,
        *,
        system: str,
        user: str,
        context: dict[str, Any],
        state: ValidationState,
        max_retries: int,
        stats: CallStats,
    ) -> JudgeOutput:
        """One structured call: JudgeOutput, validated (and reasked) with `context`, counted in `stats`."""
        loop_state = self._state()
        sdk = loop_state.client
        raw_create: Callable[..., Awaitable[Any]]
        if isinstance(sdk, anthropic.AsyncAnthropic):
            raw_create = sdk.messages.create
        else:
            raw_create = sdk.chat.completions.create

        def on_retry(exc: BaseException, wait: float, attempt: int) -> None:
            stats.transient_retries += 1
            stats.last_error = describe(exc)
            log.info("%s: %s; retrying in %.2fs (attempt %d)", self.name, stats.last_error, wait, attempt)

        async def create(*args: Any, **kwargs: Any) -> Any:
            async def send() -> Any:
                stats.http_attempts += 1
                return await raw_create(*args, **_untransformed(kwargs))

            return await call_with_retry(
                send,
                policy=self.retry,
                semaphore=loop_state.semaphore,
                limiter=self.limiter,
                on_retry=on_retry,
            )

        provider = Provider.ANTHROPIC if self.spec.provider == "anthropic" else Provider.OPENAI
        patched = cast(
            Callable[..., Awaitable[JudgeOutput]],
            instructor.patch(create=create, mode=instructor.Mode.TOOLS, provider=provider),
        )
        hooks = Hooks()
        hooks.on("completion:kwargs", state.next_attempt)
        hooks.on("completion:response", stats.on_response)
        started = time.monotonic()
        token = VALIDATION_CONTEXT.set(context)  # not instructor's `context=`: see VALIDATION_CONTEXT
        try:
            return await patched(
                response_model=response_model(),
                max_retries=max_retries,
                strict=False,
                hooks=hooks,
                model=self.spec.model,
                **self.message_kwargs(system, user),
                **self._sdk_parameters(),
            )
        finally:
            VALIDATION_CONTEXT.reset(token)
            stats.latency_s = time.monotonic() - started

    def cost(self, usage: Usage, *, batch: bool = False) -> float:
        return self.prices.cost(
            self.name,
            input_tokens=usage.input_tokens,
            output_tokens=usage.output_tokens,
            cache_read_tokens=usage.cache_read_tokens,
            cache_write_tokens=usage.cache_write_tokens,
            batch=batch,
        )


_PLAIN_JSON = ("tools", "tool_choice", "messages")


def _untransformed(kwargs: dict[str, Any]) -> dict[str, Any]:
    """`kwargs` with the tool definitions and messages sent as they are, through `extra_body` (which the
    SDKs merge into the JSON body last). The SDKs walk every request parameter against their TypedDicts
    (each message against every message type of a union) to rename and reformat fields; ours are plain
    JSON that needs neither, and the walk cost ~3 ms of event-loop CPU per request, which at 20 requests
    in flight is what stood between the judge and the transport's own speed. `messages` stays as an
    empty placeholder because the SDKs require the argument."""
    moved = {k: kwargs[k] for k in _PLAIN_JSON if k in kwargs}
    if not moved:
        return kwargs
    rest = {k: v for k, v in kwargs.items() if k not in moved}
    if "messages" in moved:
        rest["messages"] = []
    rest["extra_body"] = {**moved, **(kwargs.get("extra_body") or {})}
    return rest
