"""Retrying transient provider errors: rate limits, overload, 5xx, timeouts, dropped connections.

instructor retries only validation errors (the reask loop). Everything transient is retried here, around
each single HTTP call, with tenacity: exponential backoff with jitter, honouring `Retry-After` (seconds or
an HTTP date) and `retry-after-ms`, within a bounded budget of attempts and of total waiting. A server's
`Retry-After` also pauses every other request of the same backend (`RateLimiter`), so N requests in flight
do not all hit the same limit again.

The SDK clients are built with `max_retries=0`, so this is the only retry layer.
"""

from __future__ import annotations

import asyncio
import email.utils
import logging
import random
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import anthropic
import httpx2
import openai
from tenacity import AsyncRetrying, RetryCallState, retry_if_exception

log = logging.getLogger("crossfield.judgment.llm")

T = TypeVar("T")
TRANSIENT_STATUS = frozenset({408, 409, 425, 429, 500, 502, 503, 504, 529})


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How hard to retry one model call. Waits are in seconds."""

    max_attempts: int = 6
    """HTTP attempts per model call, the first included."""
    max_total_wait: float = 180.0
    """Total time one call may spend waiting between attempts."""
    initial_wait: float = 1.0
    max_wait: float = 60.0
    """Cap of one exponential-backoff wait (a server's Retry-After is capped by `max_retry_after`)."""
    max_retry_after: float = 120.0
    """A Retry-After longer than this is not waited for: the call fails (a quota, not a burst)."""
    share_rate_limits: bool = True
    """A Retry-After pauses every request of the backend, not only the one that got it."""

    @classmethod
    def fast(cls) -> RetryPolicy:
        """Millisecond waits, for tests and benchmarks against local servers."""
        return cls(max_attempts=6, max_total_wait=5.0, initial_wait=0.001, max_wait=0.01, max_retry_after=5.0)


def _status_error(exc: BaseException) -> anthropic.APIStatusError | openai.APIStatusError | None:
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(current, anthropic.APIStatusError | openai.APIStatusError):
            return current
        current = current.__cause__
    return None


def is_transient(exc: BaseException) -> bool:
    """True for errors worth retrying: 408/409/425/429/5xx/529, timeouts and connection failures."""
    status_error = _status_error(exc)
    if status_error is not None:
        verdict = status_error.response.headers.get("x-should-retry")
        if verdict in ("true", "false"):
            return verdict == "true"
        return status_error.status_code in TRANSIENT_STATUS or status_error.status_code >= 500
    seen: set[int] = set()
    current: BaseException | None = exc
    while current is not None and id(current) not in seen:
        seen.add(id(current))
        if isinstance(
            current,
            anthropic.APIConnectionError | openai.APIConnectionError | httpx2.TransportError | TimeoutError,
        ):
            return True
        current = current.__cause__
    return False


def parse_retry_after(headers: Any, *, now: float | None = None) -> float | None:
    """Seconds to wait from `retry-after-ms`, or `retry-after` as seconds or as an HTTP date."""
    if headers is None:
        return None
    value = headers.get("retry-after-ms")
    if value is not None:
        try:
            return max(0.0, float(value) / 1000)
        except ValueError:
            pass
    value = headers.get("retry-after")
    if value is None:
        return None
    try:
        return max(0.0, float(value))
    except ValueError:
        pass
    try:
        when = email.utils.parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if when.tzinfo is None:
        when = when.replace(tzinfo=UTC)
    current = now if now is not None else datetime.now(UTC).timestamp()
    return max(0.0, when.timestamp() - current)


def retry_after(exc: BaseException) -> float | None:
    status_error = _status_error(exc)
    return parse_retry_after(status_error.response.headers) if status_error is not None else None


def describe(exc: BaseException) -> str:
    """A short, secret-free description of a provider error."""
    status_error = _status_error(exc)
    if status_error is not None:
        message = getattr(status_error, "message", "") or str(status_error)
        return f"HTTP {status_error.status_code}: {' '.join(str(message).split())[:300]}"
    return f"{type(exc).__name__}: {' '.join(str(exc).split())[:300]}"


class RateLimiter:
    """A shared pause: after a server's Retry-After, no request of the backend starts before it passes."""

    def __init__(self) -> None:
        self._not_before = 0.0
        self.pauses = 0

    def pause(self, seconds: float) -> None:
        until = time.monotonic() + seconds
        if until > self._not_before:
            self._not_before = until
            self.pauses += 1

    async def wait(self) -> None:
        delay = self._not_before - time.monotonic()
        if delay > 0:
            await asyncio.sleep(delay)


class _Wait:
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> float:
        exc = state.outcome.exception() if state.outcome is not None else None
        server = retry_after(exc) if exc is not None else None
        if server is not None:
            return server + random.uniform(0, min(0.1 * server + 0.01, 1.0))
        cap = min(self.policy.max_wait, self.policy.initial_wait * 2 ** (state.attempt_number - 1))
        return random.uniform(cap / 2, cap)


class _Stop:
    def __init__(self, policy: RetryPolicy) -> None:
        self.policy = policy

    def __call__(self, state: RetryCallState) -> bool:
        if state.attempt_number >= self.policy.max_attempts:
            return True
        exc = state.outcome.exception() if state.outcome is not None else None
        server = retry_after(exc) if exc is not None else None
        if server is not None and server > self.policy.max_retry_after:
            return True
        return state.idle_for + state.upcoming_sleep > self.policy.max_total_wait


async def call_with_retry(
    send: Callable[[], Awaitable[T]],
    *,
    policy: RetryPolicy,
    semaphore: asyncio.Semaphore,
    limiter: RateLimiter,
    on_retry: Callable[[BaseException, float, int], None] | None = None,
) -> T:
    """Run `send` (one HTTP call) under the concurrency bound, retrying transient errors."""

    def before_sleep(state: RetryCallState) -> None:
        exc = state.outcome.exception() if state.outcome is not None else None
        if exc is None:
            return
        server = retry_after(exc)
        if server is not None and policy.share_rate_limits:
            limiter.pause(server)
        if on_retry is not None:
            on_retry(exc, state.upcoming_sleep, state.attempt_number)

    retrying = AsyncRetrying(
        stop=_Stop(policy),
        wait=_Wait(policy),
        retry=retry_if_exception(is_transient),
        before_sleep=before_sleep,
        reraise=True,
    )
    result: T | None = None
    async for attempt in retrying:
        with attempt:
            async with semaphore:
                await limiter.wait()
                result = await send()
    return cast(T, result)
