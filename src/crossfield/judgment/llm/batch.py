"""The providers' batch APIs (half price, results within 24 hours) for whole-spec or many-spec runs.

instructor cannot drive a batch, so the requests are built here from the same prompt (same system and
user messages, same cache keys) and the JSON Schema of `JudgeOutput` as the tool, and the results go
through the same parsing and grounding path: the tool input is validated by `JudgeOutput` with the `Api`
in context, in final-attempt mode (a batch result cannot be reasked, so ungrounded drafts are dropped and
counted).

    handle = await submit_batch(judge, api)            # Anthropic Message Batch or OpenAI Batch
    await poll_batch(judge, handle)                    # until it has ended
    result = await collect_batch(judge, handle, api)   # a JudgeResult, like judge.ajudge(api)

Chunks already in the cache are not submitted; collected results are cached. A `BatchHandle` serializes
(`to_dict`/`from_dict`) so a run can be collected by a later process.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar, cast

import anthropic
import openai
from instructor import generate_anthropic_schema, generate_openai_schema
from pydantic import ValidationError

from crossfield.errors import JudgeError
from crossfield.judgment.base import JudgeResult, Requirement
from crossfield.judgment.llm.backend import ANTHROPIC_TOOL_CHOICE, CallStats
from crossfield.judgment.llm.judge import ChunkOutcome, LLMJudge, PreparedChunk
from crossfield.judgment.llm.output import JudgeOutput, ValidationState, contract_problems
from crossfield.judgment.llm.retry import call_with_retry
from crossfield.spec.model import Api

T = TypeVar("T")
ANTHROPIC_DONE = frozenset({"ended"})
OPENAI_DONE = frozenset({"completed", "failed", "expired", "cancelled"})
TOOL_NAME = "JudgeOutput"


@dataclass(slots=True)
class BatchHandle:
    """A submitted batch: enough to poll and collect it later, from another process."""

    provider: str
    model: str
    batch_id: str
    prompt_id: str
    prompt_hash: str
    spec_hash: str
    submitted_at: str
    chunks: dict[str, dict[str, Any]] = field(default_factory=dict)
    """custom_id -> {"name": chunk name, "request_key": cache key}"""
    status: str = "submitted"
    input_file_id: str | None = None

    @property
    def empty(self) -> bool:
        """True when every chunk was cached and nothing was submitted."""
        return not self.batch_id

    def to_dict(self) -> dict[str, Any]:
        return {
            "provider": self.provider,
            "model": self.model,
            "batch_id": self.batch_id,
            "prompt_id": self.prompt_id,
            "prompt_hash": self.prompt_hash,
            "spec_hash": self.spec_hash,
            "submitted_at": self.submitted_at,
            "chunks": self.chunks,
            "status": self.status,
            "input_file_id": self.input_file_id,
        }

    @classmethod
    def from_dict(cls, data: Mapping[str, Any]) -> BatchHandle:
        return cls(**{k: data[k] for k in cls.__dataclass_fields__ if k in data})


def custom_id(item: PreparedChunk) -> str:
    """`^[a-zA-Z0-9_-]{1,64}$`, unique per chunk and request."""
    return f"c{item.chunk.index:04d}-{item.request_key[:24]}"


def anthropic_request(judge: LLMJudge, item: PreparedChunk) -> dict[str, Any]:
    params: dict[str, Any] = {
        "model": judge.backend.model,
        **judge.backend.message_kwargs(item.system, item.user),
        "tools": [generate_anthropic_schema(JudgeOutput)],
        "tool_choice": dict(ANTHROPIC_TOOL_CHOICE),
        **judge.backend.request_parameters(),
    }
    return {"custom_id": custom_id(item), "params": params}


def openai_request(judge: LLMJudge, item: PreparedChunk) -> dict[str, Any]:
    params = judge.backend.request_parameters()
    params["max_completion_tokens"] = params.pop("max_tokens")
    body: dict[str, Any] = {
        "model": judge.backend.model,
        **judge.backend.message_kwargs(item.system, item.user),
        "tools": [{"type": "function", "function": generate_openai_schema(JudgeOutput)}],
        "tool_choice": {"type": "function", "function": {"name": TOOL_NAME}},
        **params,
    }
    return {"custom_id": custom_id(item), "method": "POST", "url": "/v1/chat/completions", "body": body}


async def _with_retry(judge: LLMJudge, send: Callable[[], Awaitable[T]]) -> T:
    backend = judge.backend
    return await call_with_retry(
        send, policy=backend.retry, semaphore=asyncio.Semaphore(1), limiter=backend.limiter
    )


async def submit_batch(
    judge: LLMJudge, api: Api, *, requirements: list[Requirement] | None = None
) -> BatchHandle:
    """Submit every uncached chunk of `api` as one batch."""
    backend = judge.backend
    if backend.provider not in ("anthropic", "openai"):
        raise JudgeError(f"the batch API needs anthropic/MODEL or openai/MODEL, not {backend.name}")
    prepared = judge.prepare(api, requirements)
    todo = [item for item in prepared if judge.from_cache(item) is None]
    handle = BatchHandle(
        provider=backend.provider,
        model=backend.name,
        batch_id="",
        prompt_id=judge.prompt.id,
        prompt_hash=judge.prompt.hash,
        spec_hash=api.content_hash,
        submitted_at=datetime.now(UTC).isoformat(),
        chunks={custom_id(item): {"name": item.name, "request_key": item.request_key} for item in todo},
        status="empty" if not todo else "submitted",
    )
    if not todo:
        return handle
    backend.require_api_key()
    client = backend.client()
    if isinstance(client, anthropic.AsyncAnthropic):
        requests = [anthropic_request(judge, item) for item in todo]
        batch = await _with_retry(judge, lambda: client.messages.batches.create(requests=cast(Any, requests)))
        handle.batch_id = batch.id
        handle.status = batch.processing_status
    else:
        lines = "".join(json.dumps(openai_request(judge, item), ensure_ascii=False) + "\n" for item in todo)
        upload = await _with_retry(
            judge,
            lambda: client.files.create(
                file=("crossfield-batch.jsonl", lines.encode("utf-8"), "application/jsonl"), purpose="batch"
            ),
        )
        handle.input_file_id = upload.id
        created = await _with_retry(
            judge,
            lambda: client.batches.create(
                input_file_id=upload.id,
                endpoint="/v1/chat/completions",
                completion_window="24h",
                metadata={"tool": "crossfield", "prompt": judge.prompt.id},
            ),
        )
        handle.batch_id = created.id
        handle.status = created.status
    return handle


async def poll_batch(
    judge: LLMJudge,
    handle: BatchHandle,
    *,
    interval: float = 30.0,
    timeout: float = 26 * 3600.0,
    on_status: Callable[[str, Mapping[str, int]], None] | None = None,
) -> str:
    """Wait until the batch has ended; returns its final status (`ended`, `completed`, `failed`, ...)."""
    if handle.empty:
        return handle.status
    client = judge.backend.client()
    deadline = time.monotonic() + timeout
    while True:
        counts: dict[str, int] = {}
        if isinstance(client, anthropic.AsyncAnthropic):
            mb = await _with_retry(judge, lambda: client.messages.batches.retrieve(handle.batch_id))
            handle.status = mb.processing_status
            counts = mb.request_counts.model_dump()
            done = handle.status in ANTHROPIC_DONE
        else:
            ob = await _with_retry(judge, lambda: client.batches.retrieve(handle.batch_id))
            handle.status = ob.status
            counts = ob.request_counts.model_dump() if ob.request_counts is not None else {}
            done = handle.status in OPENAI_DONE
        if on_status is not None:
            on_status(handle.status, counts)
        if done:
            return handle.status
        if time.monotonic() + interval > deadline:
            raise JudgeError(
                f"batch {handle.batch_id} still {handle.status} after {timeout:.0f}s; collect it later"
            )
        await asyncio.sleep(interval)


def parse_tool_input(
    judge: LLMJudge, api: Api, item: PreparedChunk, data: Any, outcome: ChunkOutcome
) -> None:
    """Validate a tool input with grounding, final-attempt mode: keep the grounded drafts, drop the rest."""
    if isinstance(data, str):
        try:
            data = json.loads(data)
        except json.JSONDecodeError as exc:
            outcome.error = f"tool arguments are not JSON: {exc}"
            return
    state = ValidationState(chunk=item.name, always_final=True, attempt=1)
    try:
        output = JudgeOutput.model_validate(data, context={"api": api, "state": state})
    except ValidationError as exc:
        outcome.error = "no usable JudgeOutput: " + "; ".join(contract_problems(exc))
        return
    outcome.drafts = list(output.hypotheses)
    outcome.dropped = list(state.dropped)


def _anthropic_tool_input(message: Any) -> Any:
    for block in message.content:
        if getattr(block, "type", None) == "tool_use" and getattr(block, "name", None) == TOOL_NAME:
            return block.input
    return None


def _openai_tool_input(body: Mapping[str, Any]) -> Any:
    choices = body.get("choices") or []
    if not choices:
        return None
    message = choices[0].get("message") or {}
    for call in message.get("tool_calls") or []:
        function = call.get("function") or {}
        if function.get("name") == TOOL_NAME:
            return function.get("arguments")
    return None


def _file_reader(client: openai.AsyncOpenAI, file_id: str) -> Callable[[], Awaitable[Any]]:
    async def read() -> Any:
        return await client.files.content(file_id)

    return read


async def collect_batch(
    judge: LLMJudge, handle: BatchHandle, api: Api, *, requirements: list[Requirement] | None = None
) -> JudgeResult:
    """Read an ended batch into a `JudgeResult` (cached chunks included, batch prices applied)."""
    if handle.spec_hash != api.content_hash:
        raise JudgeError("this batch was submitted for a different version of the spec")
    if handle.prompt_hash != judge.prompt.hash:
        raise JudgeError(
            f"this batch was submitted with prompt {handle.prompt_id} ({handle.prompt_hash[:12]})"
        )
    requirements = list(requirements or [])
    prepared = judge.prepare(api, requirements)
    by_key = {item.request_key: item for item in prepared}
    outcomes: dict[int, ChunkOutcome] = {}
    wall = 0.0
    with contextlib.suppress(ValueError):
        wall = max(
            0.0, datetime.now(UTC).timestamp() - datetime.fromisoformat(handle.submitted_at).timestamp()
        )

    def record(cid: str, fill: Callable[[ChunkOutcome, CallStats], None]) -> None:
        meta = handle.chunks.get(cid)
        item = by_key.get(meta["request_key"]) if meta else None
        if item is None:
            return
        outcome = ChunkOutcome(item)
        stats = CallStats(latency_s=wall)
        fill(outcome, stats)
        outcome.call = judge.make_call(item, stats, error=outcome.error, batch=True)
        judge.store_in_cache(item, outcome, stats)
        outcomes[item.chunk.index] = outcome

    if not handle.empty:
        client = judge.backend.client()
        if isinstance(client, anthropic.AsyncAnthropic):
            results = await _with_retry(judge, lambda: client.messages.batches.results(handle.batch_id))
            async for entry in results:

                def fill_anthropic(
                    outcome: ChunkOutcome, stats: CallStats, entry_result: Any = entry.result
                ) -> None:
                    if entry_result.type != "succeeded":
                        error = getattr(getattr(entry_result, "error", None), "error", None)
                        detail = getattr(error, "message", "")
                        outcome.error = f"batch request {entry_result.type}" + (
                            f": {detail}" if detail else ""
                        )
                        return
                    stats.on_response(entry_result.message)
                    data = _anthropic_tool_input(entry_result.message)
                    if data is None:
                        outcome.error = "the model did not call JudgeOutput"
                        return
                    parse_tool_input(judge, api, outcome.prepared, data, outcome)

                record(entry.custom_id, fill_anthropic)
        else:
            batch = await _with_retry(judge, lambda: client.batches.retrieve(handle.batch_id))
            for file_id in (batch.output_file_id, batch.error_file_id):
                if not file_id:
                    continue
                content = await _with_retry(judge, _file_reader(client, file_id))
                for line in content.text.splitlines():
                    if not line.strip():
                        continue
                    row = json.loads(line)

                    def fill_openai(outcome: ChunkOutcome, stats: CallStats, row: Any = row) -> None:
                        response = row.get("response") or {}
                        body = response.get("body") or {}
                        if row.get("error") or response.get("status_code", 200) >= 400:
                            error = row.get("error") or body.get("error") or {}
                            outcome.error = f"batch request failed: {error.get('message', error) if isinstance(error, dict) else error}"
                            return
                        stats.on_response(body)
                        data = _openai_tool_input(body)
                        if data is None:
                            outcome.error = "the model did not call JudgeOutput"
                            return
                        parse_tool_input(judge, api, outcome.prepared, data, outcome)

                    record(str(row.get("custom_id")), fill_openai)
    for item in prepared:
        if item.chunk.index in outcomes:
            continue
        cached = judge.from_cache(item)
        if cached is not None:
            outcomes[item.chunk.index] = cached
        else:
            outcome = ChunkOutcome(item, error="no result in the batch for this chunk")
            outcome.call = judge.make_call(item, CallStats(), error=outcome.error, batch=True)
            outcomes[item.chunk.index] = outcome
    result = JudgeResult(
        judge=judge.name,
        model=judge.backend.name,
        prompt_id=judge.prompt.id,
        prompt_hash=judge.prompt.hash,
        api=api,
    )
    judge.assemble(result, api, prepared, outcomes, requirements)
    result.parameters["batch"] = {
        "provider": handle.provider,
        "batch_id": handle.batch_id,
        "status": handle.status,
    }
    return result


async def run_batch(
    judge: LLMJudge,
    api: Api,
    *,
    requirements: list[Requirement] | None = None,
    poll_interval: float = 30.0,
    timeout: float = 26 * 3600.0,
) -> JudgeResult:
    """Submit, wait and collect in one call."""
    handle = await submit_batch(judge, api, requirements=requirements)
    await poll_batch(judge, handle, interval=poll_interval, timeout=timeout)
    return await collect_batch(judge, handle, api, requirements=requirements)
