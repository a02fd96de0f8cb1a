"""Transient-error classification, Retry-After parsing and the bounded retry loop."""

from __future__ import annotations

import asyncio
import email.utils
import time

import anthropic
import httpx2
import openai
import pytest

from crossfield.judgment.llm.retry import (
    RateLimiter,
    RetryPolicy,
    call_with_retry,
    describe,
    is_transient,
    parse_retry_after,
)

REQUEST = httpx2.Request("POST", "https://api.example.test/v1/messages")
POLICY = RetryPolicy(
    max_attempts=4, max_total_wait=1.0, initial_wait=0.001, max_wait=0.002, max_retry_after=0.5
)


def status_error(status: int, headers: dict[str, str] | None = None, sdk: str = "anthropic") -> Exception:
    response = httpx2.Response(
        status, headers=headers or {}, request=REQUEST, json={"error": {"message": "nope"}}
    )
    module = anthropic if sdk == "anthropic" else openai
    return module.APIStatusError(f"Error code: {status}", response=response, body=None)


@pytest.mark.parametrize("status", [408, 409, 429, 500, 502, 503, 504, 529])
@pytest.mark.parametrize("sdk", ["anthropic", "openai"])
def test_transient_statuses(status: int, sdk: str) -> None:
    assert is_transient(status_error(status, sdk=sdk))


@pytest.mark.parametrize("status", [400, 401, 403, 404, 413, 422])
def test_permanent_statuses(status: int) -> None:
    assert not is_transient(status_error(status))


def test_server_can_say_whether_to_retry() -> None:
    assert not is_transient(status_error(503, {"x-should-retry": "false"}))
    assert is_transient(status_error(400, {"x-should-retry": "true"}))


def test_connection_problems_and_wrapped_errors_are_transient() -> None:
    assert is_transient(anthropic.APITimeoutError(REQUEST))
    assert is_transient(openai.APIConnectionError(request=REQUEST))
    assert is_transient(httpx2.ConnectError("reset"))
    try:
        try:
            raise status_error(429)
        except Exception as inner:
            raise RuntimeError("wrapped, as instructor does") from inner
    except RuntimeError as outer:
        assert is_transient(outer)
    assert not is_transient(ValueError("a bug"))


def test_retry_after_forms() -> None:
    assert parse_retry_after(httpx2.Headers({"retry-after-ms": "250"})) == 0.25
    assert parse_retry_after(httpx2.Headers({"retry-after": "3"})) == 3.0
    assert parse_retry_after(httpx2.Headers({"retry-after": "1.5"})) == 1.5
    assert parse_retry_after(httpx2.Headers({"retry-after-ms": "100", "retry-after": "9"})) == 0.1  # ms wins
    now = time.time()
    date = email.utils.formatdate(now + 30, usegmt=True)
    assert parse_retry_after(httpx2.Headers({"retry-after": date}), now=now) == pytest.approx(30, abs=1)
    past = email.utils.formatdate(now - 30, usegmt=True)
    assert parse_retry_after(httpx2.Headers({"retry-after": past}), now=now) == 0.0
    assert parse_retry_after(httpx2.Headers({"retry-after": "soon"})) is None
    assert parse_retry_after(httpx2.Headers({})) is None


def test_describe_is_short_and_names_the_status() -> None:
    assert describe(status_error(529)).startswith("HTTP 529")
    assert describe(ValueError("x" * 1000)).startswith("ValueError: ")
    assert len(describe(ValueError("x" * 1000))) < 320


def run(coro: object) -> object:
    return asyncio.run(coro)  # type: ignore[arg-type]


def test_retries_until_success_and_honours_retry_after() -> None:
    attempts: list[float] = []
    retries: list[tuple[str, float, int]] = []
    limiter = RateLimiter()

    async def send() -> str:
        attempts.append(time.monotonic())
        if len(attempts) < 3:
            raise status_error(429, {"retry-after-ms": "20"})
        return "ok"

    async def go() -> str:
        return await call_with_retry(
            send,
            policy=POLICY,
            semaphore=asyncio.Semaphore(1),
            limiter=limiter,
            on_retry=lambda exc, wait, n: retries.append((describe(exc), wait, n)),
        )

    assert run(go()) == "ok"
    assert len(attempts) == 3
    assert attempts[1] - attempts[0] >= 0.019  # waited the server's 20 ms
    assert [n for _, _, n in retries] == [1, 2] and all(w >= 0.02 for _, w, _ in retries)
    assert limiter.pauses >= 1  # the pause is shared with every other request of the backend


def test_gives_up_after_max_attempts_with_the_last_error() -> None:
    calls = 0

    async def send() -> str:
        nonlocal calls
        calls += 1
        raise status_error(503)

    async def go() -> str:
        return await call_with_retry(
            send, policy=POLICY, semaphore=asyncio.Semaphore(1), limiter=RateLimiter()
        )

    with pytest.raises(anthropic.APIStatusError) as info:
        run(go())
    assert calls == POLICY.max_attempts and info.value.status_code == 503


def test_a_retry_after_beyond_the_budget_is_not_waited_for() -> None:
    calls = 0

    async def send() -> str:
        nonlocal calls
        calls += 1
        raise status_error(429, {"retry-after": "3600"})  # a quota, not a burst

    async def go() -> str:
        return await call_with_retry(
            send, policy=POLICY, semaphore=asyncio.Semaphore(1), limiter=RateLimiter()
        )

    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError):
        run(go())
    assert calls == 1 and time.monotonic() - started < 0.5


def test_total_wait_is_bounded() -> None:
    policy = RetryPolicy(max_attempts=100, max_total_wait=0.05, initial_wait=0.02, max_wait=0.02)
    calls = 0

    async def send() -> str:
        nonlocal calls
        calls += 1
        raise status_error(500)

    async def go() -> str:
        return await call_with_retry(
            send, policy=policy, semaphore=asyncio.Semaphore(1), limiter=RateLimiter()
        )

    started = time.monotonic()
    with pytest.raises(anthropic.APIStatusError):
        run(go())
    assert 2 <= calls <= 6 and time.monotonic() - started < 0.5


def test_permanent_errors_are_not_retried() -> None:
    calls = 0

    async def send() -> str:
        nonlocal calls
        calls += 1
        raise status_error(400)

    async def go() -> str:
        return await call_with_retry(
            send, policy=POLICY, semaphore=asyncio.Semaphore(1), limiter=RateLimiter()
        )

    with pytest.raises(anthropic.APIStatusError):
        run(go())
    assert calls == 1


def test_the_semaphore_bounds_requests_in_flight() -> None:
    in_flight = peak = 0

    async def send() -> None:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.005)
        in_flight -= 1

    async def go() -> None:
        semaphore = asyncio.Semaphore(3)
        limiter = RateLimiter()
        await asyncio.gather(
            *(call_with_retry(send, policy=POLICY, semaphore=semaphore, limiter=limiter) for _ in range(12))
        )

    run(go())
    assert peak == 3
