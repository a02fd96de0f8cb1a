"""`--batch-api`: every chunk of every spec in one provider batch (Anthropic Message Batches or the OpenAI
Batch API), at the batch discount, collected by custom id into one `JudgeResult` per spec.

The LLM judge's batch module (`crossfield.judgment.llm.batch`) builds the requests and reads results back
through the same parsing, grounding and cache as a live call; it submits one spec at a time, so this
module only adds the corpus level: it pools the uncached chunks of all specs (identical chunks once),
submits them together, polls, and hands each spec a `BatchHandle` naming its own chunks, which
`collect_batch` uses to pick that spec's results out of the shared batch.

A submitted batch is remembered in `DIR/.crossfield-batch.json` until it is collected: a run stopped while
waiting (Ctrl-C, a closed laptop) picks the same batch up again instead of paying for a second one.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, TypeVar, cast

from crossfield.batch._outputs import atomic_write_json
from crossfield.batch._work import Job, Prepared, Worked, compile_tests, conclude, prepare
from crossfield.batch.summary import SpecOutcome
from crossfield.errors import JudgeError, SpecError

if TYPE_CHECKING:
    from crossfield.batch._runner import _Run
    from crossfield.judgment.llm import LLMJudge

PENDING_NAME = ".crossfield-batch.json"
POLL_INTERVAL = 30.0
T = TypeVar("T")


@dataclass(slots=True)
class _Spec:
    job: Job
    prepared: Prepared
    handle: Any  # BatchHandle


async def run_batch_api(run: _Run, jobs: list[Job]) -> None:
    """Judge `jobs` through one provider batch; each spec's outputs are put in place as it is collected.
    A failure that concerns the whole batch (submission refused, not finished in time) is every waiting
    spec's outcome; the pending batch is kept for the next run."""
    assert run.judge is not None
    judge = _llm_judge(run.judge.judge)
    specs: list[_Spec] = []
    requests: dict[str, dict[str, Any]] = {}
    for job in jobs:
        if job.reuse is not None:  # judged before: nothing to send
            await run.one(job, asyncio.Semaphore(1))
            continue
        spec = await _prepare(run, judge, job, requests)
        if spec is not None:
            specs.append(spec)
    waiting = [s for s in specs if s.handle.chunks]
    pending_file = run.out / PENDING_NAME
    if waiting:
        from crossfield.judgment.llm.batch import poll_batch

        try:
            ids = set(requests)
            batch_id, status, input_file = _pending(pending_file, judge, ids) or await _submit(
                judge, list(requests.values())
            )
            atomic_write_json(pending_file, _pending_record(judge, batch_id, status, input_file, ids))
            for spec in waiting:
                spec.handle.batch_id, spec.handle.status = batch_id, status
                spec.handle.input_file_id = input_file
            await poll_batch(judge, waiting[0].handle, interval=run.batch_poll_interval)
        except Exception as exc:  # the batch stays pending for the next run
            for spec in waiting:
                run.record(run.failed(spec.job, exc))
            await asyncio.gather(*(_collect(run, judge, s) for s in specs if not s.handle.chunks))
            return
    for spec in specs:
        await _collect(run, judge, spec)
    pending_file.unlink(missing_ok=True)  # collected results are cached: a later run reads them there


def _llm_judge(judge: Any) -> LLMJudge:
    from crossfield.judgment.llm import LLMJudge

    if not isinstance(judge, LLMJudge):
        raise JudgeError("--batch-api needs an LLM judge: anthropic/MODEL or openai/MODEL")
    if judge.backend.provider not in ("anthropic", "openai"):
        raise JudgeError(f"the batch API needs anthropic/MODEL or openai/MODEL, not {judge.backend.name}")
    return judge


async def _prepare(run: _Run, judge: LLMJudge, job: Job, requests: dict[str, dict[str, Any]]) -> _Spec | None:
    """Load one spec and add its uncached chunks to `requests`; its handle names those chunks."""
    from crossfield.judgment.llm.batch import BatchHandle, anthropic_request, custom_id, openai_request

    try:
        prepared = await asyncio.get_running_loop().run_in_executor(run.executor, prepare, job)
        items = judge.prepare(prepared.judged)
    except SpecError as exc:
        run.record(SpecOutcome(str(job.spec.path), job.spec.name, "not-loadable", reason=str(exc)))
        return None
    except Exception as exc:
        run.record(run.failed(job, exc))
        return None
    backend = judge.backend
    build = anthropic_request if backend.provider == "anthropic" else openai_request
    todo = [item for item in items if judge.from_cache(item) is None]
    for item in todo:
        requests.setdefault(custom_id(item), build(judge, item))  # identical chunks of two specs: sent once
    handle = BatchHandle(
        provider=backend.provider, model=backend.name, batch_id="", prompt_id=judge.prompt.id,
        prompt_hash=judge.prompt.hash, spec_hash=prepared.judged.content_hash,
        submitted_at=datetime.now(UTC).isoformat(),
        chunks={custom_id(i): {"name": i.name, "request_key": i.request_key} for i in todo},
        status="submitted" if todo else "empty",
    )  # fmt: skip
    return _Spec(job, prepared, handle)


async def _collect(run: _Run, judge: LLMJudge, spec: _Spec) -> None:
    """Read one spec's results out of the batch (or the cache), compile, and put it in place."""
    from crossfield.judgment.llm.batch import collect_batch

    try:
        result = await collect_batch(judge, spec.handle, spec.prepared.judged)
        worked = Worked(
            spec.prepared,
            result,
            conclude(spec.prepared, result),
            operations=len(spec.prepared.judged.operations),
        )
        if run.codegen:
            fn = _bind(compile_tests, worked.hypotheses, spec.prepared.api, run.out / spec.job.spec.name)
            worked.staging, worked.tests = await asyncio.get_running_loop().run_in_executor(run.executor, fn)
    except Exception as exc:
        run.record(run.failed(spec.job, exc))
        return
    await run.put_in_place(spec.job, worked)


def _bind(fn: Callable[..., T], *args: Any) -> Callable[[], T]:
    return lambda: fn(*args)


def _pending(path: Path, judge: LLMJudge, ids: set[str]) -> tuple[str, str, str | None] | None:
    """A batch an earlier run submitted with every request this run needs, if one is waiting."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    if not isinstance(data, dict) or data.get("model") != judge.backend.name:
        return None
    if data.get("prompt_hash") != judge.prompt.hash or not ids <= set(data.get("custom_ids") or ()):
        return None
    return str(data["batch_id"]), str(data.get("status") or "submitted"), data.get("input_file_id")


def _pending_record(
    judge: LLMJudge, batch_id: str, status: str, input_file: str | None, ids: set[str]
) -> Mapping[str, Any]:
    return {
        "provider": judge.backend.provider, "model": judge.backend.name, "prompt_hash": judge.prompt.hash,
        "batch_id": batch_id, "status": status, "input_file_id": input_file, "custom_ids": sorted(ids),
        "submitted_at": datetime.now(UTC).isoformat(),
    }  # fmt: skip


async def _submit(judge: LLMJudge, requests: list[dict[str, Any]]) -> tuple[str, str, str | None]:
    """Create one batch of `requests`; returns (batch id, status, input file id)."""
    import anthropic

    from crossfield.judgment.llm.retry import call_with_retry

    backend = judge.backend
    backend.require_api_key()
    client = backend.client()

    async def retried(send: Callable[[], Awaitable[T]]) -> T:
        return await call_with_retry(
            send, policy=backend.retry, semaphore=asyncio.Semaphore(1), limiter=backend.limiter
        )

    if isinstance(client, anthropic.AsyncAnthropic):
        anthropic_client = client
        batch = await retried(lambda: anthropic_client.messages.batches.create(requests=cast(Any, requests)))
        return batch.id, batch.processing_status, None
    lines = "".join(json.dumps(r, ensure_ascii=False) + "\n" for r in requests).encode("utf-8")
    upload = await retried(
        lambda: client.files.create(
            file=("crossfield-batch.jsonl", lines, "application/jsonl"), purpose="batch"
        )
    )
    created = await retried(
        lambda: client.batches.create(
            input_file_id=upload.id,
            endpoint="/v1/chat/completions",
            completion_window="24h",
            metadata={"tool": "crossfield", "prompt": judge.prompt.id},
        )
    )
    return created.id, created.status, upload.id
