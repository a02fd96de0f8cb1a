"""Batch APIs (Anthropic Message Batches, OpenAI Batch) through the real SDKs against mock transports."""

from __future__ import annotations

import asyncio
import json
from typing import Any

import httpx2
import pytest
from llm_support import FAST, SECRET, anthropic_message, openai_completion, with_unknown_field

from crossfield.errors import JudgeError
from crossfield.judgment.llm import BatchHandle, LLMJudge, collect_batch, poll_batch, run_batch, submit_batch
from crossfield.spec import Api


def _chunk_name(request_body: dict[str, Any]) -> str:
    messages = request_body["messages"]
    user = next(m for m in messages if m["role"] == "user")["content"]
    return next(line for line in user.splitlines() if line.startswith("# Part ")).split(": ", 1)[1]


class FakeAnthropicBatches:
    """POST /v1/messages/batches, GET /v1/messages/batches/{id} (in progress once, then ended), GET results."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.submitted: list[dict[str, Any]] = []
        self.polls = 0

    def batch(self, status: str) -> dict[str, Any]:
        ended = status == "ended"
        return {
            "id": "msgbatch_01",
            "type": "message_batch",
            "processing_status": status,
            "request_counts": {
                "processing": 0 if ended else len(self.submitted),
                "succeeded": len(self.submitted) if ended else 0,
                "errored": 0,
                "canceled": 0,
                "expired": 0,
            },
            "created_at": "2026-11-22T00:00:00Z",
            "expires_at": "2026-11-23T00:00:00Z",
            "ended_at": "2026-11-22T00:10:00Z" if ended else None,
            "results_url": "https://api.anthropic.com/v1/messages/batches/msgbatch_01/results"
            if ended
            else None,
        }

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/messages/batches":
            self.submitted = json.loads(request.content)["requests"]
            return httpx2.Response(200, json=self.batch("in_progress"))
        if request.method == "GET" and path == "/v1/messages/batches/msgbatch_01":
            self.polls += 1
            return httpx2.Response(200, json=self.batch("in_progress" if self.polls == 1 else "ended"))
        if request.method == "GET" and path.endswith("/results"):
            lines = [
                json.dumps({"custom_id": r["custom_id"], "result": self.reply(r["params"])})
                for r in self.submitted
            ]
            return httpx2.Response(200, content=("\n".join(lines) + "\n").encode())
        return httpx2.Response(
            404, json={"type": "error", "error": {"type": "not_found_error", "message": path}}
        )


def test_anthropic_message_batch_round_trip(api: Api, example: dict[str, Any]) -> None:
    def reply(params: dict[str, Any]) -> dict[str, Any]:
        name = _chunk_name(params)
        if name == "customers":
            return {
                "type": "errored",
                "error": {"type": "error", "error": {"type": "overloaded_error", "message": "busy"}},
            }
        bad = with_unknown_field(example)
        bad["title"] = "An ungrounded draft"
        return {
            "type": "succeeded",
            "message": anthropic_message(
                {"hypotheses": [example, bad]}, input_tokens=1000, output_tokens=100
            ),
        }

    fake = FakeAnthropicBatches(reply)
    judge = LLMJudge(
        "anthropic/claude-sonnet-5-5",
        api_key=SECRET,
        transport=httpx2.MockTransport(fake),
        retry=FAST,
        chunk_operations=1,
    )

    async def run() -> Any:
        handle = await submit_batch(judge, api)
        assert handle.batch_id == "msgbatch_01" and len(handle.chunks) == len(api.operations)
        restored = BatchHandle.from_dict(json.loads(json.dumps(handle.to_dict())))  # a later process
        statuses: list[str] = []
        assert (
            await poll_batch(judge, restored, interval=0.0, on_status=lambda s, c: statuses.append(s))
            == "ended"
        )
        assert statuses == ["in_progress", "ended"]
        try:
            return await collect_batch(judge, restored, api)
        finally:
            await judge.backend.aclose()

    result = asyncio.run(run())

    request = fake.submitted[0]
    assert request["custom_id"].startswith("c0001-")
    params = request["params"]
    assert params["model"] == "claude-sonnet-5-5" and params["tools"][0]["name"] == "JudgeOutput"
    assert params["system"][0]["cache_control"] == {"type": "ephemeral"}
    assert params["tool_choice"] == {"type": "auto", "disable_parallel_tool_use": True}

    assert list(result.chunk_errors) == ["customers"] and "busy" in result.chunk_errors["customers"]
    assert len(result.hypotheses) == 1  # grounded, duplicates across chunks merged
    assert len(result.dropped) == len(api.operations) - 1  # the ungrounded draft of every succeeded chunk
    assert all(d.title == "An ungrounded draft" for d in result.dropped)
    ok_calls = [c for c in result.calls if c.error is None]
    assert ok_calls and all(
        c.cost_usd == pytest.approx((1000 * 2.0 + 100 * 10.0) / 1e6 * 0.5) for c in ok_calls
    )
    assert result.parameters["batch"]["batch_id"] == "msgbatch_01"

    # the collected results are cached: a live run afterwards calls only for the failed chunk
    live_calls: list[httpx2.Request] = []

    def live(request: httpx2.Request) -> httpx2.Response:
        live_calls.append(request)
        return httpx2.Response(200, json=anthropic_message({"hypotheses": []}))

    rerun = LLMJudge(
        "anthropic/claude-sonnet-5-5",
        api_key=SECRET,
        transport=httpx2.MockTransport(live),
        retry=FAST,
        chunk_operations=1,
    ).judge(api)
    assert len(live_calls) == 1 and sum(c.cached for c in rerun.calls) == len(api.operations) - 1


class FakeOpenAIBatches:
    """POST /v1/files, POST /v1/batches, GET /v1/batches/{id}, GET /v1/files/{id}/content."""

    def __init__(self, reply: Any) -> None:
        self.reply = reply
        self.lines: list[dict[str, Any]] = []
        self.created: dict[str, Any] = {}

    def batch(self, status: str) -> dict[str, Any]:
        return {
            "id": "batch_01",
            "object": "batch",
            "endpoint": "/v1/chat/completions",
            "input_file_id": "file-in",
            "completion_window": "24h",
            "status": status,
            "created_at": 1_700_000_000,
            "output_file_id": "file-out" if status == "completed" else None,
            "error_file_id": None,
            "request_counts": {"total": len(self.lines), "completed": len(self.lines), "failed": 0},
        }

    def __call__(self, request: httpx2.Request) -> httpx2.Response:
        path = request.url.path
        if request.method == "POST" and path == "/v1/files":
            self.lines = [
                json.loads(line) for line in request.content.splitlines() if line.startswith(b'{"custom_id"')
            ]
            return httpx2.Response(
                200,
                json={
                    "id": "file-in",
                    "object": "file",
                    "bytes": len(request.content),
                    "created_at": 1,
                    "filename": "crossfield-batch.jsonl",
                    "purpose": "batch",
                    "status": "processed",
                },
            )
        if request.method == "POST" and path == "/v1/batches":
            self.created = json.loads(request.content)
            return httpx2.Response(200, json=self.batch("validating"))
        if request.method == "GET" and path == "/v1/batches/batch_01":
            return httpx2.Response(200, json=self.batch("completed"))
        if request.method == "GET" and path == "/v1/files/file-out/content":
            out = [
                json.dumps(
                    {
                        "id": f"batch_req_{i}",
                        "custom_id": line["custom_id"],
                        "response": {"status_code": 200, "request_id": "r", "body": self.reply(line["body"])},
                        "error": None,
                    }
                )
                for i, line in enumerate(self.lines)
            ]
            return httpx2.Response(200, content=("\n".join(out) + "\n").encode())
        return httpx2.Response(404, json={"error": {"message": path}})


def test_openai_batch_round_trip(api: Api, example: dict[str, Any]) -> None:
    fake = FakeOpenAIBatches(
        lambda body: openai_completion(
            {"hypotheses": [example]}, prompt_tokens=2000, completion_tokens=100, cached=1000
        )
    )
    judge = LLMJudge(
        "openai/gpt-5.5", api_key=SECRET, transport=httpx2.MockTransport(fake), retry=FAST, chunk_operations=2
    )

    async def run() -> Any:
        try:
            return await run_batch(judge, api, poll_interval=0.0)
        finally:
            await judge.backend.aclose()

    result = asyncio.run(run())
    assert fake.created["endpoint"] == "/v1/chat/completions" and fake.created["input_file_id"] == "file-in"
    line = fake.lines[0]
    assert line["method"] == "POST" and line["url"] == "/v1/chat/completions"
    body = line["body"]
    assert body["model"] == "gpt-5.5" and body["max_completion_tokens"] == 16_000
    assert body["tools"][0]["function"]["name"] == "JudgeOutput"
    assert body["tool_choice"] == {"type": "function", "function": {"name": "JudgeOutput"}}
    assert len(fake.lines) == len(result.calls) == len(result.parameters["chunks"])
    assert not result.chunk_errors and len(result.hypotheses) == 1
    call = result.calls[0]
    assert (call.input_tokens, call.cache_read_tokens, call.output_tokens) == (1000, 1000, 100)
    assert call.cost_usd == pytest.approx((1000 * 5.0 + 1000 * 0.5 + 100 * 30.0) / 1e6 * 0.5)


def test_batch_of_a_fully_cached_spec_submits_nothing(api: Api, example: dict[str, Any]) -> None:
    live = httpx2.MockTransport(
        lambda r: httpx2.Response(200, json=anthropic_message({"hypotheses": [example]}))
    )
    LLMJudge("anthropic/claude-sonnet-5-5", api_key=SECRET, transport=live, retry=FAST).judge(api)

    def refuse(request: httpx2.Request) -> httpx2.Response:
        raise AssertionError("nothing should be sent")

    judge = LLMJudge("anthropic/claude-sonnet-5-5", transport=httpx2.MockTransport(refuse), retry=FAST)
    result = asyncio.run(run_batch(judge, api, poll_interval=0.0))
    assert len(result.hypotheses) == 1 and all(c.cached for c in result.calls)


def test_batch_needs_a_batch_capable_provider(api: Api) -> None:
    judge = LLMJudge("openai-compatible/m", base_url="http://127.0.0.1:9/v1", cache=False)
    with pytest.raises(JudgeError, match="batch API"):
        asyncio.run(submit_batch(judge, api))


def test_collecting_for_another_spec_version_is_refused(api: Api) -> None:
    judge = LLMJudge("anthropic/claude-sonnet-5-5", api_key=SECRET, cache=False)
    handle = BatchHandle(
        "anthropic", judge.model, "b", "v1", judge.prompt.hash, "other-hash", "2026-11-22T00:00:00+00:00"
    )
    with pytest.raises(JudgeError, match="different version"):
        asyncio.run(collect_batch(judge, handle, api))
