"""The LLM judge through the real Anthropic SDK and instructor, against an httpx2 MockTransport."""

from __future__ import annotations

import asyncio
import dataclasses
import json
import logging
import time
from pathlib import Path
from typing import Any

import httpx2
import pytest
from llm_support import (
    FAST,
    SECRET,
    MockProvider,
    anthropic_message,
    chunk_of,
    error_response,
    user_text,
    variant,
    with_unknown_field,
)

from crossfield.errors import JudgeError
from crossfield.judgment.base import Requirement
from crossfield.judgment.llm import JudgeProgress, LLMBackend, LLMJudge, load_prompt
from crossfield.spec import Api


def sent_key(request: httpx2.Request) -> str | None:
    """The API key a request carried (this SDK version sends it as a bearer token; older ones as x-api-key)."""
    auth = request.headers.get("authorization", "")
    return auth.removeprefix("Bearer ") if auth else request.headers.get("x-api-key")


def make_judge(provider: MockProvider, **options: Any) -> LLMJudge:
    options.setdefault("retry", FAST)
    return LLMJudge("anthropic/claude-sonnet-5-5", api_key=SECRET, transport=provider.transport, **options)


def test_tool_use_is_parsed_grounded_and_stamped(api: Api, example: dict[str, Any]) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": [example]}))
    result = make_judge(provider).judge(api)

    assert not result.chunk_errors and not result.dropped
    [hyp] = result.hypotheses
    assert hyp.title == example["title"]
    prompt = load_prompt("v1")
    assert hyp.provenance.judge == "llm"
    assert hyp.provenance.model == "anthropic/claude-sonnet-5-5"
    assert (hyp.provenance.prompt_id, hyp.provenance.prompt_hash) == ("v1", prompt.hash)
    assert hyp.provenance.spec_hash == api.content_hash
    assert hyp.provenance.chunk == result.parameters["chunks"][0]["name"]
    assert result.prompt_hash == prompt.hash and result.model == "anthropic/claude-sonnet-5-5"

    [body] = provider.bodies
    assert body["model"] == "claude-sonnet-5-5"
    assert [t["name"] for t in body["tools"]] == ["JudgeOutput"]
    assert body["tool_choice"] == {
        "type": "auto",
        "disable_parallel_tool_use": True,
    }  # current Claude models reject a forced tool choice
    assert "temperature" not in body  # nor do they accept sampling parameters
    assert sent_key(provider.requests[0]) == SECRET
    [call] = result.calls
    assert (call.prompt_id, call.prompt_hash, call.cached, call.attempts) == ("v1", prompt.hash, False, 1)


def test_system_prompt_is_the_shared_cached_prefix(api: Api) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": []}))
    result = make_judge(provider, chunk_operations=1).judge(api)

    assert len(provider.bodies) == len(result.parameters["chunks"]) == len(api.operations)
    systems = [body["system"] for body in provider.bodies]
    assert all(s == systems[0] for s in systems)
    [block] = systems[0]
    assert block["cache_control"] == {"type": "ephemeral"}
    assert block["text"] == load_prompt("v1").system
    users = {user_text(body) for body in provider.bodies}
    assert len(users) == len(provider.bodies)  # the chunk-specific part comes after the cached prefix


def test_grounding_error_is_sent_back_and_corrected(api: Api, example: dict[str, Any]) -> None:
    replies = [
        anthropic_message(
            {"hypotheses": [with_unknown_field(example)]},
            input_tokens=900,
            output_tokens=300,
            cache_write=4000,
        ),
        anthropic_message({"hypotheses": [example]}, input_tokens=1100, output_tokens=280, cache_read=4000),
    ]
    provider = MockProvider(lambda body, n: replies[n])
    judge = make_judge(provider)
    result = judge.judge(api)

    assert len(provider.bodies) == 2
    second = provider.bodies[1]["messages"]
    assert second[1]["role"] == "assistant" and second[1]["content"][0]["type"] == "tool_use"
    [tool_result] = second[2]["content"]
    assert tool_result["type"] == "tool_result" and tool_result["is_error"] is True
    assert "has no field 'body.amout'" in tool_result["content"]
    assert "hypotheses[0]" in tool_result["content"]

    assert [h.title for h in result.hypotheses] == [example["title"]] and not result.dropped
    [call] = result.calls
    assert call.attempts == 2
    assert (call.input_tokens, call.output_tokens) == (2000, 580)  # summed over both completions
    assert (call.cache_write_tokens, call.cache_read_tokens) == (4000, 4000)
    expected = (2000 * 2.00 + 580 * 10.00 + 4000 * 2.50 + 4000 * 0.20) / 1_000_000
    assert call.cost_usd == pytest.approx(expected)
    assert result.usage["cost_usd"] == pytest.approx(expected)


def test_what_still_fails_after_retries_is_dropped_and_counted(api: Api, example: dict[str, Any]) -> None:
    good = variant(example, "Refunds are listed on their charge")
    provider = MockProvider(
        lambda body, n: anthropic_message({"hypotheses": [with_unknown_field(example), good]})
    )
    result = make_judge(provider, max_retries=1).judge(api)

    assert len(provider.bodies) == 2  # the first attempt and one correction
    assert [h.title for h in result.hypotheses] == [good["title"]]  # the grounded one survives
    [dropped] = result.dropped
    assert dropped.title == example["title"]
    assert any("body.amout" in p for p in dropped.problems)
    assert dropped.chunk == result.parameters["chunks"][0]["name"]
    assert result.usage["dropped"] == 1 and not result.chunk_errors


def test_contract_violations_are_reasked_too(api: Api, example: dict[str, Any]) -> None:
    broken = dict(example, severity="apocalyptic")
    replies = [anthropic_message({"hypotheses": [broken]}), anthropic_message({"hypotheses": [example]})]
    provider = MockProvider(lambda body, n: replies[n])
    result = make_judge(provider).judge(api)
    assert "severity" in json.dumps(provider.bodies[1]["messages"][2])
    assert len(result.hypotheses) == 1


def test_a_reply_without_the_tool_call_is_reasked(api: Api, example: dict[str, Any]) -> None:
    replies = [
        anthropic_message(
            None, content=[{"type": "text", "text": "Here are my thoughts."}], stop_reason="end_turn"
        ),
        anthropic_message({"hypotheses": [example]}),
    ]
    provider = MockProvider(lambda body, n: replies[n])
    result = make_judge(provider).judge(api)
    assert len(provider.bodies) == 2 and "Validation Error" in json.dumps(provider.bodies[1]["messages"][-1])
    assert len(result.hypotheses) == 1


def test_hypotheses_sent_as_a_json_string_are_accepted(api: Api, example: dict[str, Any]) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": json.dumps([example])}))
    assert len(make_judge(provider).judge(api).hypotheses) == 1


@pytest.mark.parametrize(
    ("status", "headers"),
    [
        (429, {"retry-after": "0"}),
        (429, {"retry-after-ms": "1"}),
        (529, {}),  # overloaded
        (500, {}),
        (503, {"retry-after": "Wed, 21 Oct 2015 07:28:00 GMT"}),  # an HTTP date in the past: no wait
    ],
)
def test_transient_errors_are_retried(
    api: Api, example: dict[str, Any], status: int, headers: dict[str, str]
) -> None:
    def reply(body: dict[str, Any], n: int) -> Any:
        return (
            error_response(status, headers, "overloaded_error")
            if n < 2
            else anthropic_message({"hypotheses": [example]})
        )

    provider = MockProvider(reply)
    started = time.monotonic()
    result = make_judge(provider).judge(api)
    assert time.monotonic() - started < 2.0
    assert len(provider.bodies) == 3
    assert len(result.hypotheses) == 1 and not result.chunk_errors
    assert result.calls[0].attempts == 1  # one completion; the failed HTTP attempts cost nothing


def test_a_mixed_run_of_429_529_and_500_recovers(api: Api, example: dict[str, Any]) -> None:
    script = [error_response(429, {"retry-after-ms": "2"}), error_response(529), error_response(500)]
    provider = MockProvider(
        lambda body, n: script[n] if n < 3 else anthropic_message({"hypotheses": [example]})
    )
    result = make_judge(provider).judge(api)
    assert len(provider.bodies) == 4 and len(result.hypotheses) == 1


def test_retry_budget_exhausted_is_a_chunk_error(api: Api) -> None:
    provider = MockProvider(lambda body, n: error_response(503))
    result = make_judge(provider).judge(api)
    assert len(provider.bodies) == FAST.max_attempts
    [error] = result.chunk_errors.values()
    assert "HTTP 503" in error
    assert result.calls[0].error == error and not result.hypotheses


def test_one_failing_chunk_does_not_lose_the_others(api: Api, example: dict[str, Any]) -> None:
    def reply(body: dict[str, Any], n: int) -> Any:
        if chunk_of(body) == "customers":
            return error_response(400, kind="invalid_request_error")
        return anthropic_message({"hypotheses": [example]})

    provider = MockProvider(reply)
    result = make_judge(provider, chunk_operations=1).judge(api)
    chunks = [c["name"] for c in result.parameters["chunks"]]
    assert "customers" in chunks and len(chunks) == len(api.operations)
    assert list(result.chunk_errors) == ["customers"]
    assert "HTTP 400" in result.chunk_errors["customers"]
    assert result.hypotheses  # the other chunks' work is kept (duplicates merged into one)
    assert len(result.hypotheses) == 1
    assert len(result.calls) == len(chunks)
    assert result.usage["failed_chunks"] == 1


def test_truncated_output_is_a_chunk_error(api: Api) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": []}, stop_reason="max_tokens"))
    result = make_judge(provider, max_tokens=1000).judge(api)
    [error] = result.chunk_errors.values()
    assert "max_tokens=1000" in error


def test_unchanged_spec_is_served_from_the_cache(api: Api, example: dict[str, Any], tmp_path: Path) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": [example]}, input_tokens=500))
    first = make_judge(provider, chunk_operations=2).judge(api)
    calls_made = len(provider.bodies)
    assert calls_made == len(first.calls) > 1

    second = make_judge(provider, chunk_operations=2).judge(api)
    assert len(provider.bodies) == calls_made  # zero calls
    assert all(c.cached and c.cost_usd == 0 and c.input_tokens == 0 for c in second.calls)
    assert second.usage["calls"] == 0 and second.usage["cached_calls"] == calls_made
    assert [h.id for h in second.hypotheses] == [h.id for h in first.hypotheses]
    assert all(c["cached"] for c in second.parameters["chunks"])
    assert any((tmp_path / "cache" / "llm").rglob("*.json"))

    make_judge(provider, chunk_operations=2, prompt="v2").judge(api)  # another prompt is another request
    assert len(provider.bodies) == 2 * calls_made


def test_cache_can_be_turned_off(api: Api) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": []}))
    make_judge(provider, cache=False).judge(api)
    make_judge(provider, cache=False).judge(api)
    assert len(provider.bodies) == 2


def test_requirement_ids_are_traced_and_invented_ones_removed(api: Api, example: dict[str, Any]) -> None:
    traced = dict(example, requirement_ids=["REQ-1", "REQ-99"])
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": [traced]}))
    requirements = [
        Requirement("REQ-1", "Refunds never exceed the captured amount."),
        Requirement("REQ-2", "Every charge has a currency."),
    ]
    result = make_judge(provider).judge(api, requirements=requirements)
    text = user_text(provider.bodies[0])
    assert "- REQ-1: Refunds never exceed the captured amount." in text and "REQ-2" in text
    [hyp] = result.hypotheses
    assert hyp.requirement_ids == ["REQ-1"]
    assert result.parameters["requirements"] == 2


def test_requirement_ids_are_cleared_without_requirements(api: Api, example: dict[str, Any]) -> None:
    provider = MockProvider(
        lambda body, n: anthropic_message({"hypotheses": [dict(example, requirement_ids=["REQ-7"])]})
    )
    [hyp] = make_judge(provider).judge(api).hypotheses
    assert hyp.requirement_ids == []


def test_secrets_never_reach_logs_results_or_cache(
    api: Api, example: dict[str, Any], caplog: pytest.LogCaptureFixture, tmp_path: Path
) -> None:
    caplog.set_level(logging.DEBUG)

    def reply(body: dict[str, Any], n: int) -> Any:
        if n == 0:
            return error_response(429, {"retry-after": "0"})
        if chunk_of(body) == "customers":
            return error_response(400, kind="invalid_request_error")
        return anthropic_message({"hypotheses": [with_unknown_field(example)] if n == 1 else [example]})

    judge = make_judge(MockProvider(reply), chunk_operations=1)
    result = judge.judge(api)
    assert result.hypotheses and result.chunk_errors  # the run touched retries, reasks and failures

    blobs = [
        caplog.text,
        result.to_set().model_dump_json(),
        json.dumps([dataclasses.asdict(c) for c in result.calls]),
        json.dumps(result.parameters),
        json.dumps(result.chunk_errors),
        repr(judge),
        repr(judge.backend),
        repr(vars(judge.backend)),
    ]
    blobs += [p.read_text() for p in (tmp_path / "cache").rglob("*.json")]
    assert not [b for b in blobs if SECRET in b]


def test_a_rejected_key_fails_the_run(api: Api) -> None:
    provider = MockProvider(lambda body, n: error_response(401, kind="authentication_error"))
    with pytest.raises(JudgeError, match="rejected the API key"):
        make_judge(provider).judge(api)


def test_a_missing_key_names_the_variable_to_set(api: Api, example: dict[str, Any]) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": [example]}))
    keyless = LLMJudge("anthropic/claude-sonnet-5-5", transport=provider.transport, retry=FAST)
    with pytest.raises(JudgeError, match="ANTHROPIC_API_KEY"):
        keyless.judge(api)
    assert not provider.bodies

    make_judge(provider).judge(api)  # fill the cache with a key ...
    cached = LLMJudge("anthropic/claude-sonnet-5-5", transport=provider.transport, retry=FAST).judge(api)
    assert len(cached.hypotheses) == 1 and len(provider.bodies) == 1  # ... then no key is needed


def test_key_from_the_environment(api: Api, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("ANTHROPIC_API_KEY", SECRET)
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": []}))
    LLMJudge("anthropic", transport=provider.transport, retry=FAST).judge(api)
    assert sent_key(provider.requests[0]) == SECRET
    assert provider.bodies[0]["model"] == "claude-sonnet-5-5"  # the provider's default model


def test_progress_is_reported_per_chunk(api: Api) -> None:
    events: list[JudgeProgress] = []
    provider = MockProvider(
        lambda body, n: anthropic_message({"hypotheses": []}, input_tokens=10, output_tokens=5)
    )
    result = make_judge(provider, chunk_operations=1, progress=events.append).judge(api)
    total = len(result.parameters["chunks"])
    assert len(events) == total
    assert sorted(e.chunks_done for e in events) == list(range(1, total + 1))
    last = max(events, key=lambda e: e.chunks_done)
    assert (last.calls, last.input_tokens, last.output_tokens) == (total, 10 * total, 5 * total)


def test_one_backend_shared_by_judges_bounds_concurrency(api: Api, api_text: str) -> None:
    in_flight = 0
    peak = 0

    async def handler(request: httpx2.Request) -> httpx2.Response:
        nonlocal in_flight, peak
        in_flight += 1
        peak = max(peak, in_flight)
        await asyncio.sleep(0.01)
        in_flight -= 1
        return httpx2.Response(200, json=anthropic_message({"hypotheses": []}))

    backend = LLMBackend(
        "anthropic/claude-sonnet-5-5",
        api_key=SECRET,
        transport=httpx2.MockTransport(handler),
        concurrency=2,
        retry=FAST,
        cache=False,
    )
    first = LLMJudge(backend=backend, chunk_operations=1)
    second = LLMJudge(backend=backend, chunk_operations=1, prompt="v2")

    async def run() -> list[Any]:
        async with backend:
            return list(await asyncio.gather(first.ajudge(api), second.ajudge(api)))

    results = asyncio.run(run())
    assert peak == 2
    assert all(len(r.calls) == len(api.operations) for r in results)
    assert {r.prompt_id for r in results} == {"v1", "v2"}


def test_judge_works_inside_a_running_event_loop(api: Api) -> None:
    provider = MockProvider(lambda body, n: anthropic_message({"hypotheses": []}))

    async def notebook_cell() -> int:
        return len(make_judge(provider).judge(api).calls)  # sync call while a loop runs

    assert asyncio.run(notebook_cell()) == 1
