"""The LLM judge through the real OpenAI SDK and instructor: OpenAI via a MockTransport, and the
OpenAI-compatible path against the fake endpoint on 127.0.0.1."""

from __future__ import annotations

import json
from typing import Any

import pytest
from llm_support import (
    FAST,
    SECRET,
    MockProvider,
    error_response,
    openai_completion,
    with_unknown_field,
)

from crossfield.errors import JudgeError
from crossfield.judgment.llm import LLMJudge
from crossfield.spec import Api, load_spec_from_text
from crossfield.testing import FakeLLMServer, FakeRequest, Scripted


def make_judge(provider: MockProvider, **options: Any) -> LLMJudge:
    options.setdefault("retry", FAST)
    return LLMJudge("openai/gpt-5.5", api_key=SECRET, transport=provider.transport, **options)


def test_tool_calls_are_parsed_and_cached_tokens_priced(api: Api, example: dict[str, Any]) -> None:
    provider = MockProvider(
        lambda body, n: openai_completion(
            {"hypotheses": [example]}, prompt_tokens=5000, completion_tokens=300, cached=4000
        )
    )
    result = make_judge(provider).judge(api)

    [hyp] = result.hypotheses
    assert hyp.provenance.model == "openai/gpt-5.5"
    [body] = provider.bodies
    assert body["model"] == "gpt-5.5"
    assert body["max_completion_tokens"] == 16_000 and "max_tokens" not in body  # reasoning models
    assert body["tools"][0]["type"] == "function" and body["tools"][0]["function"]["name"] == "JudgeOutput"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "JudgeOutput"}}
    assert [m["role"] for m in body["messages"]] == ["system", "user"]  # the shared prefix first
    assert provider.requests[0].headers["authorization"] == f"Bearer {SECRET}"

    [call] = result.calls
    assert (call.input_tokens, call.cache_read_tokens, call.output_tokens) == (1000, 4000, 300)
    assert call.cost_usd == pytest.approx((1000 * 5.00 + 4000 * 0.50 + 300 * 30.00) / 1_000_000)


def test_grounding_error_is_reasked_as_a_tool_message(api: Api, example: dict[str, Any]) -> None:
    replies = [
        openai_completion(
            {"hypotheses": [with_unknown_field(example)]}, prompt_tokens=1000, completion_tokens=100
        ),
        openai_completion({"hypotheses": [example]}, prompt_tokens=1500, completion_tokens=120, cached=900),
    ]
    provider = MockProvider(lambda body, n: replies[n])
    result = make_judge(provider).judge(api)

    messages = provider.bodies[1]["messages"]
    assert messages[2]["role"] == "assistant" and messages[2]["tool_calls"]
    assert messages[3]["role"] == "tool" and "has no field 'body.amout'" in messages[3]["content"]
    assert len(result.hypotheses) == 1
    [call] = result.calls
    assert (call.attempts, call.input_tokens, call.cache_read_tokens, call.output_tokens) == (
        2,
        1600,
        900,
        220,
    )


def test_malformed_arguments_are_reasked(api: Api, example: dict[str, Any]) -> None:
    replies = [openai_completion('{"hypotheses": [ {"title": '), openai_completion({"hypotheses": [example]})]
    provider = MockProvider(lambda body, n: replies[n])
    assert len(make_judge(provider).judge(api).hypotheses) == 1
    assert len(provider.bodies) == 2


def test_output_never_parsed_is_a_chunk_error(api: Api) -> None:
    provider = MockProvider(lambda body, n: openai_completion("not json at all"))
    result = make_judge(provider, max_retries=1).judge(api)
    [error] = result.chunk_errors.values()
    assert "no usable JudgeOutput after 2 attempt(s)" in error


def test_rate_limit_then_success(api: Api, example: dict[str, Any]) -> None:
    provider = MockProvider(
        lambda body, n: (
            error_response(429, {"retry-after-ms": "1"})
            if n == 0
            else openai_completion({"hypotheses": [example]})
        )
    )
    result = make_judge(provider).judge(api)
    assert len(provider.bodies) == 2 and len(result.hypotheses) == 1


def test_missing_openai_key_names_the_variable(api: Api) -> None:
    provider = MockProvider(lambda body, n: openai_completion({"hypotheses": []}))
    with pytest.raises(JudgeError, match="OPENAI_API_KEY"):
        LLMJudge("openai/gpt-5.5", transport=provider.transport).judge(api)


# ---- openai-compatible, against the fake endpoint -----------------------------------------------------------


def test_openai_compatible_against_the_fake_server(
    api: Api, example: dict[str, Any], monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("OPENAI_API_KEY", SECRET)  # must never be sent to a third-party server
    with FakeLLMServer(
        latency=0.01,
        rate_limit_fraction=0.5,
        retry_after=0.001,
        seed=7,
        responder=lambda r: {"hypotheses": [example]},
    ) as server:
        judge = LLMJudge(
            "openai-compatible/llama3.1", base_url=server.openai_base_url, retry=FAST, chunk_operations=2
        )
        result = judge.judge(api)
        stats = server.stats()

    assert not result.chunk_errors
    assert (
        len(result.hypotheses) == 1 and result.hypotheses[0].provenance.model == "openai-compatible/llama3.1"
    )
    assert stats["rate_limited"] > 0 and stats["by_status"][200] == len(result.calls)
    assert all(r.body["model"] == "llama3.1" for r in server.requests)
    assert all(SECRET not in json.dumps(dict(r.headers)) for r in server.requests)
    assert all("max_tokens" in r.body and "max_completion_tokens" not in r.body for r in server.requests)
    assert all(c.cost_usd == 0 for c in result.calls)  # no price for a self-hosted model
    assert sum(c.cache_read_tokens for c in result.calls) > 0  # the fake caches the shared system prompt


def test_openai_compatible_key_and_base_url_from_the_environment(
    api: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    with FakeLLMServer() as server:
        monkeypatch.setenv("CROSSFIELD_OPENAI_BASE_URL", server.openai_base_url)
        monkeypatch.setenv("CROSSFIELD_OPENAI_API_KEY", "local-key")
        LLMJudge("openai-compatible/qwen", retry=FAST).judge(api)
        [request] = server.requests
    assert request.headers["authorization"] == "Bearer local-key"


def test_openai_compatible_needs_a_base_url() -> None:
    with pytest.raises(JudgeError, match="CROSSFIELD_OPENAI_BASE_URL"):
        LLMJudge("openai-compatible/llama3.1")


def test_scripted_reask_through_the_fake_server(api: Api, example: dict[str, Any]) -> None:
    with FakeLLMServer() as server:
        server.script(
            Scripted(tool_input={"hypotheses": [with_unknown_field(example)]}),
            Scripted(tool_input={"hypotheses": [example]}),
        )
        result = LLMJudge("openai-compatible/m", base_url=server.openai_base_url, retry=FAST).judge(api)
        second: FakeRequest = server.requests[1]
    assert "has no field 'body.amout'" in second.text
    assert len(result.hypotheses) == 1


def test_spec_text_with_template_syntax_reaches_the_model_verbatim() -> None:
    """instructor renders messages as Jinja templates when given `context=`; the judge must not let it."""
    spec = """
openapi: 3.0.3
info: {title: Templated, version: '1'}
paths:
  /items:
    post:
      operationId: createItem
      description: "Send to {{baseUrl}}/items; {% raw %} stays, and {#comment#} too."
      requestBody:
        content:
          application/json:
            schema: {type: object, properties: {name: {type: string}}}
      responses: {'201': {description: ok}}
"""
    api = load_spec_from_text(spec)
    with FakeLLMServer() as server:
        LLMJudge("openai-compatible/m", base_url=server.openai_base_url, retry=FAST).judge(api)
        [request] = server.requests
    assert "Send to {{baseUrl}}/items; {% raw %} stays, and {#comment#} too." in request.text
