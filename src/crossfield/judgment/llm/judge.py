"""`LLMJudge`: the Judge protocol over a language model.

One run: split the spec into chunks that fit the token budget, render each chunk's prompt (the versioned
system prompt first, then the chunk's digest, interaction facts and requirements), serve what the disk
cache already has, call the model for the rest (bounded concurrency, transient retries, grounding reasks),
then ground, dedupe and stamp every draft into one `JudgeResult`. A chunk that fails for good is reported
in `chunk_errors`; the other chunks' hypotheses are kept.
"""

from __future__ import annotations

import asyncio
import concurrent.futures
import hashlib
import json
import logging
from collections.abc import Callable, Coroutine, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, TypeVar

import anthropic
import httpx2
import openai
from instructor.core.exceptions import IncompleteOutputException, InstructorRetryException
from pydantic import ValidationError

from crossfield.errors import JudgeError
from crossfield.judgment.base import Dropped, JudgeResult, LLMCall, Requirement, finalize
from crossfield.judgment.llm.backend import CallStats, LLMBackend
from crossfield.judgment.llm.cache import ResponseCache, request_key
from crossfield.judgment.llm.digest import (
    DEFAULT_BUDGET_TOKENS,
    Chunk,
    ChunkBuilder,
    InteractionFacts,
    SplitBy,
    estimate_tokens,
    select_requirements,
)
from crossfield.judgment.llm.output import ValidationState, judge_output_schema
from crossfield.judgment.llm.prices import PriceTable
from crossfield.judgment.llm.prompt import DEFAULT_PROMPT, Prompt, load_prompt
from crossfield.judgment.llm.retry import RetryPolicy, describe, is_transient
from crossfield.judgment.models import HypothesisDraft, Provenance
from crossfield.spec.model import Api

log = logging.getLogger("crossfield.judgment.llm")

T = TypeVar("T")
DEFAULT_MAX_RETRIES = 2
_AUTH_ERRORS = (
    anthropic.AuthenticationError,
    anthropic.PermissionDeniedError,
    openai.AuthenticationError,
    openai.PermissionDeniedError,
)


@dataclass(frozen=True, slots=True)
class PreparedChunk:
    """A chunk with its rendered messages, prompt-size estimate and cache key."""

    chunk: Chunk
    system: str
    user: str
    prompt_tokens: int
    request_key: str
    requirement_ids: tuple[str, ...] = ()

    @property
    def name(self) -> str:
        return self.chunk.name


@dataclass(slots=True)
class ChunkOutcome:
    """What one chunk produced (from the model or the cache), before grounding into the result."""

    prepared: PreparedChunk
    drafts: list[HypothesisDraft] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    call: LLMCall | None = None
    error: str | None = None


@dataclass(frozen=True, slots=True)
class JudgeProgress:
    """Reported after every chunk, for progress displays."""

    chunks_done: int
    chunks_total: int
    calls: int
    cached_calls: int
    input_tokens: int
    output_tokens: int
    cost_usd: float
    chunk: str
    error: str | None = None


ProgressCallback = Callable[[JudgeProgress], None]


class LLMJudge:
    """Judge an API with a language model.

        judge = LLMJudge("anthropic/claude-sonnet-5-5", prompt="v1", concurrency=4)
        result = judge.judge(api, requirements=reqs)          # or: await judge.ajudge(api)

    Pass `backend=` (an `LLMBackend`) to share one client, concurrency bound, rate-limit state and cache
    across several judges and specs; the model/connection options are then the backend's.
    """

    name = "llm"

    def __init__(
        self,
        model: str = "anthropic",
        *,
        backend: LLMBackend | None = None,
        prompt: str | Prompt = DEFAULT_PROMPT,
        concurrency: int = 4,
        base_url: str | None = None,
        api_key: str | None = None,
        http_client: httpx2.AsyncClient | None = None,
        transport: httpx2.AsyncBaseTransport | None = None,
        cache: bool | ResponseCache = True,
        cache_dir: str | None = None,
        max_retries: int = DEFAULT_MAX_RETRIES,
        budget_tokens: int = DEFAULT_BUDGET_TOKENS,
        split_by: SplitBy = "path",
        chunk_operations: int | None = None,
        retry: RetryPolicy | None = None,
        prices: PriceTable | str | Mapping[str, Any] | None = None,
        max_tokens: int | None = None,
        temperature: float | None = None,
        request_timeout: float | None = None,
        extra_params: Mapping[str, Any] | None = None,
        interaction_map: bool | InteractionFacts = True,
        progress: ProgressCallback | None = None,
    ) -> None:
        if max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if backend is None:
            options: dict[str, Any] = {}
            if max_tokens is not None:
                options["max_tokens"] = max_tokens
            if request_timeout is not None:
                options["request_timeout"] = request_timeout
            backend = LLMBackend(
                model,
                api_key=api_key,
                base_url=base_url,
                http_client=http_client,
                transport=transport,
                concurrency=concurrency,
                retry=retry,
                cache=cache,
                cache_dir=cache_dir,
                prices=prices,
                temperature=temperature,
                extra_params=extra_params,
                **options,
            )
        self.backend = backend
        self.prompt = prompt if isinstance(prompt, Prompt) else load_prompt(prompt)
        self.max_retries = max_retries
        self.budget_tokens = budget_tokens
        self.split_by: SplitBy = split_by
        self.chunk_operations = chunk_operations
        self.interaction_map = interaction_map
        self.progress = progress
        self.last_prepared: list[PreparedChunk] = []
        """The rendered chunks of the latest run (for the store's prompt records)."""
        self._schema_json = json.dumps(judge_output_schema(), sort_keys=True, separators=(",", ":"))
        self.schema_hash = hashlib.sha256(self._schema_json.encode("utf-8")).hexdigest()

    def __repr__(self) -> str:
        return f"LLMJudge({self.backend.name!r}, prompt={self.prompt.id!r})"

    @property
    def model(self) -> str:
        return self.backend.name

    async def aclose(self) -> None:
        """Close the clients the backend built on the running event loop (after `ajudge` runs)."""
        await self.backend.aclose()

    # ---- preparing chunks -----------------------------------------------------------------------------

    def _interaction_map(self, api: Api) -> InteractionFacts | None:
        if self.interaction_map is False:
            return None
        if self.interaction_map is not True:
            return self.interaction_map
        try:
            facts: InteractionFacts = api.interactions  # built once per Api (and kept in the load cache)
        except ImportError:
            log.warning("crossfield.spec.interactions is not available; judging without interaction facts")
            return None
        except Exception:  # the facts are leads for the model; judging goes on without them
            log.warning(
                "could not build the interaction map; judging without interaction facts", exc_info=True
            )
            return None
        return facts

    def _api_header(self, api: Api) -> dict[str, str]:
        schemes = []
        for scheme in api.security_schemes:
            detail = scheme.scheme or scheme.location or ""
            schemes.append(f"{scheme.name} ({scheme.type}{' ' + detail if detail else ''})")
        description = " ".join(api.description.split())
        return {
            "title": api.title,
            "version": api.version,
            "description": description if len(description) <= 800 else description[:799] + "\u2026",
            "auth": ", ".join(schemes),
        }

    def _render_user(
        self,
        api_header: Mapping[str, str],
        chunk: Chunk | None,
        requirements: Sequence[Requirement],
        *,
        sections: bool = False,
    ) -> str:
        """The user message; without a chunk, the fixed part only (`sections` keeps the headings of the
        optional sections, to count them in the overhead)."""
        chunk_vars: dict[str, Any] = (
            {"index": chunk.index, "total": chunk.total, "name": chunk.name}
            if chunk
            else {"index": 1, "total": 1, "name": ""}
        )
        return self.prompt.render_user(
            api=api_header,
            chunk=chunk_vars,
            digest=chunk.digest if chunk else "",
            related=chunk.related if chunk else ("-" if sections else ""),
            facts=chunk.facts if chunk else ("-" if sections else ""),
            requirements=list(requirements),
        )

    def prepare(self, api: Api, requirements: Sequence[Requirement] | None = None) -> list[PreparedChunk]:
        """Chunk the spec and render every chunk's messages (no calls). Also used by the batch API."""
        requirements = list(requirements or [])
        header = self._api_header(api)
        fixed = estimate_tokens(self.prompt.system) + estimate_tokens(self._schema_json)
        req_budget = self.budget_tokens // 4
        base_reqs = (
            requirements
            if sum(estimate_tokens(r.id + r.text) + 3 for r in requirements) <= req_budget
            else []
        )
        overhead = fixed + estimate_tokens(self._render_user(header, None, base_reqs, sections=True))
        builder = ChunkBuilder(
            api,
            budget_tokens=self.budget_tokens,
            overhead_tokens=overhead,
            interaction_map=self._interaction_map(api),
            split_by=self.split_by,
            max_operations=self.chunk_operations,
        )
        chunks = builder.build(
            on_oversize=lambda name, size: log.warning(
                "chunk %r needs ~%d tokens of spec content even in its shortest form (budget %d)",
                name,
                size,
                builder.content_budget,
            )
        )
        prepared = []
        for chunk in chunks:
            chunk_ids = set(chunk.operation_ids)
            ops = [op for op in api.operations if op.id in chunk_ids]
            chunk_reqs = select_requirements(requirements, ops, req_budget) if requirements else []
            user = self._render_user(header, chunk, chunk_reqs)
            key = request_key(
                {
                    "provider": self.backend.provider,
                    "model": self.backend.model,
                    "base_url": self.backend.base_url
                    if self.backend.provider == "openai-compatible"
                    else None,
                    "prompt_id": self.prompt.id,
                    "prompt_hash": self.prompt.hash,
                    "system": self.prompt.system,
                    "user": user,
                    "schema": self.schema_hash,
                    "params": self.backend.request_parameters(),
                    "max_retries": self.max_retries,
                }
            )
            prepared.append(
                PreparedChunk(
                    chunk=chunk,
                    system=self.prompt.system,
                    user=user,
                    prompt_tokens=fixed + estimate_tokens(user),
                    request_key=key,
                    requirement_ids=tuple(r.id for r in chunk_reqs),
                )
            )
        return prepared

    # ---- running --------------------------------------------------------------------------------------

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        """Synchronous `ajudge` (runs its own event loop; usable from a thread with a running loop)."""

        async def run() -> JudgeResult:
            try:
                return await self.ajudge(api, requirements=requirements)
            finally:
                await self.backend.release_loop()

        return run_sync(run())

    async def ajudge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        requirements = list(requirements or [])
        result = JudgeResult(
            judge=self.name,
            model=self.backend.name,
            prompt_id=self.prompt.id,
            prompt_hash=self.prompt.hash,
            api=api,
        )
        prepared = self.prepare(api, requirements)
        self.last_prepared = prepared
        outcomes: dict[int, ChunkOutcome] = {}
        todo: list[PreparedChunk] = []
        for item in prepared:
            cached = self.from_cache(item)
            if cached is not None:
                outcomes[item.chunk.index] = cached
            else:
                todo.append(item)
        if todo:
            self.backend.require_api_key()
        tracker = _Tracker(len(prepared), self.progress)
        for outcome in outcomes.values():
            tracker.done(outcome)
        try:
            async with asyncio.TaskGroup() as group:
                tasks = {
                    item.chunk.index: group.create_task(self._run_chunk(api, item, tracker)) for item in todo
                }
        except* JudgeError as eg:
            raise eg.exceptions[0] from None
        for index, task in tasks.items():
            outcomes[index] = task.result()
        self.assemble(result, api, prepared, outcomes, requirements)
        return result

    def from_cache(self, item: PreparedChunk) -> ChunkOutcome | None:
        cache = self.backend.cache
        if cache is None:
            return None
        entry = cache.get(item.request_key)
        if entry is None:
            return None
        try:
            drafts = [HypothesisDraft.model_validate(d) for d in entry.get("drafts", [])]
        except ValidationError:
            return None  # written under an older contract
        dropped = [
            Dropped(str(d.get("title", "")), [str(p) for p in d.get("problems", [])], item.name)
            for d in entry.get("dropped", [])
            if isinstance(d, dict)
        ]
        call = self.make_call(item, CallStats(), cached=True)
        return ChunkOutcome(item, drafts, dropped, call)

    def store_in_cache(self, item: PreparedChunk, outcome: ChunkOutcome, stats: CallStats) -> None:
        """Remember a chunk's successful outcome under its request key."""
        if self.backend.cache is None or outcome.error is not None:
            return
        self.backend.cache.put(
            item.request_key,
            {
                "model": self.backend.name,
                "prompt_id": self.prompt.id,
                "prompt_hash": self.prompt.hash,
                "chunk": item.name,
                "created_at": datetime.now(UTC).isoformat(),
                "drafts": [d.model_dump(mode="json") for d in outcome.drafts],
                "dropped": [d.to_dict() for d in outcome.dropped],
                "usage": {
                    "input_tokens": stats.usage.input_tokens,
                    "output_tokens": stats.usage.output_tokens,
                    "cache_read_tokens": stats.usage.cache_read_tokens,
                    "cache_write_tokens": stats.usage.cache_write_tokens,
                },
            },
        )

    def make_call(
        self,
        item: PreparedChunk,
        stats: CallStats,
        *,
        cached: bool = False,
        error: str | None = None,
        batch: bool = False,
    ) -> LLMCall:
        usage = stats.usage
        return LLMCall(
            model=self.backend.name,
            prompt_id=self.prompt.id,
            prompt_hash=self.prompt.hash,
            chunk=item.name,
            input_tokens=0 if cached else usage.input_tokens,
            output_tokens=0 if cached else usage.output_tokens,
            cache_read_tokens=0 if cached else usage.cache_read_tokens,
            cache_write_tokens=0 if cached else usage.cache_write_tokens,
            latency_s=round(stats.latency_s, 4),
            cost_usd=0.0 if cached else round(self.backend.cost(usage, batch=batch), 8),
            attempts=0 if cached else stats.completions,
            cached=cached,
            error=error,
            request_hash=item.request_key,
        )

    async def _run_chunk(self, api: Api, item: PreparedChunk, tracker: _Tracker) -> ChunkOutcome:
        state = ValidationState(max_attempts=self.max_retries + 1, chunk=item.name)
        stats = CallStats()
        outcome = ChunkOutcome(item)
        try:
            output = await self.backend.structured(
                system=item.system,
                user=item.user,
                context={"api": api, "state": state},
                state=state,
                max_retries=self.max_retries,
                stats=stats,
            )
        except _AUTH_ERRORS as exc:
            raise JudgeError(
                f"{self.backend.name} rejected the API key ({describe(exc)}); check the key in the environment"
            ) from None
        except InstructorRetryException as exc:
            cause = exc.__cause__ or exc
            if isinstance(cause, _AUTH_ERRORS):
                raise JudgeError(
                    f"{self.backend.name} rejected the API key ({describe(cause)}); check the key in the environment"
                ) from None
            if is_transient(cause) or isinstance(cause, anthropic.APIError | openai.APIError):
                outcome.error = describe(cause)
            else:
                outcome.error = f"no usable JudgeOutput after {exc.n_attempts} attempt(s): {describe(cause)}"
        except IncompleteOutputException:
            outcome.error = (
                f"the model's output was cut off at max_tokens={self.backend.max_tokens}; "
                "raise max_tokens or lower the token budget"
            )
        except (anthropic.APIError, openai.APIError) as exc:
            outcome.error = describe(exc)
        except Exception as exc:  # one chunk's failure must not lose the others
            log.warning("chunk %r failed unexpectedly", item.name, exc_info=True)
            outcome.error = describe(exc)
        else:
            outcome.drafts = list(output.hypotheses)
            outcome.dropped = list(state.dropped)
            self.store_in_cache(item, outcome, stats)
        outcome.call = self.make_call(item, stats, error=outcome.error)
        call = outcome.call
        log.info(
            "%s chunk %r: %d hypotheses, %d dropped, %d completion(s), %d in / %d out / %d cache-read tokens, "
            "$%.4f, %.2fs%s",
            self.backend.name,
            item.name,
            len(outcome.drafts),
            len(outcome.dropped),
            call.attempts,
            call.input_tokens,
            call.output_tokens,
            call.cache_read_tokens,
            call.cost_usd,
            call.latency_s,
            f", error: {outcome.error}" if outcome.error else "",
        )
        tracker.done(outcome, transient_retries=stats.transient_retries)
        return outcome

    def assemble(
        self,
        result: JudgeResult,
        api: Api,
        prepared: Sequence[PreparedChunk],
        outcomes: Mapping[int, ChunkOutcome],
        requirements: Sequence[Requirement],
    ) -> None:
        known = {r.id for r in requirements}
        chunks_info = []
        by_key: dict[tuple[str, frozenset[tuple[str, str]]], int] = {
            h.field_key: i for i, h in enumerate(result.hypotheses)
        }
        for item in prepared:
            outcome = outcomes[item.chunk.index]
            if outcome.call is not None:
                result.calls.append(outcome.call)
            chunks_info.append(
                {
                    **item.chunk.to_dict(),
                    "prompt_tokens": item.prompt_tokens,
                    "cached": bool(outcome.call and outcome.call.cached),
                }
            )
            if outcome.error is not None:
                result.chunk_errors[item.name] = outcome.error
                continue
            result.dropped.extend(outcome.dropped)
            drafts = [_trace_requirements(d, known) for d in outcome.drafts]
            provenance = Provenance(
                judge=self.name,
                model=self.backend.name,
                prompt_id=self.prompt.id,
                prompt_hash=self.prompt.hash,
                spec_hash=api.content_hash,
                api_version=api.version,
                chunk=item.name,
            )
            # `finalize` grounds, dedupes and stamps one chunk; merging chunk by chunk through an index keeps
            # the whole run linear in the number of hypotheses (same rule: the higher score wins a tie of
            # category and fields, the first one otherwise).
            part = JudgeResult(
                judge=result.judge, model=result.model, prompt_id=None, prompt_hash=None, api=api
            )
            finalize(drafts, api, provenance, part, chunk=item.name)
            result.dropped.extend(part.dropped)
            for hyp in part.hypotheses:
                index = by_key.get(hyp.field_key)
                if index is None:
                    by_key[hyp.field_key] = len(result.hypotheses)
                    result.hypotheses.append(hyp)
                elif hyp.score > result.hypotheses[index].score:
                    result.hypotheses[index] = hyp
        result.parameters = {
            "prompt": self.prompt.id,
            "prompt_source": self.prompt.source,
            "budget_tokens": self.budget_tokens,
            "max_retries": self.max_retries,
            "concurrency": self.backend.concurrency,
            "split_by": self.split_by,
            "chunk_operations": self.chunk_operations,
            "max_tokens": self.backend.max_tokens,
            "requirements": len(requirements),
            "prices_as_of": self.backend.prices.as_of,
            "chunks": chunks_info,
        }
        result.finished_at = datetime.now(UTC).isoformat()


def _trace_requirements(draft: HypothesisDraft, known: set[str]) -> HypothesisDraft:
    """Keep only requirement ids that exist: a model may invent one."""
    kept = [r for r in dict.fromkeys(draft.requirement_ids) if r in known]
    if kept == draft.requirement_ids:
        return draft
    removed = sorted(set(draft.requirement_ids) - set(kept))
    if removed:
        log.debug("removed unknown requirement ids %s from %r", removed, draft.title)
    return draft.model_copy(update={"requirement_ids": kept})


class _Tracker:
    def __init__(self, total: int, callback: ProgressCallback | None) -> None:
        self.total = total
        self.callback = callback
        self.done_count = 0
        self.calls = 0
        self.cached = 0
        self.input_tokens = 0
        self.output_tokens = 0
        self.cost = 0.0
        self.transient_retries = 0

    def done(self, outcome: ChunkOutcome, *, transient_retries: int = 0) -> None:
        self.done_count += 1
        self.transient_retries += transient_retries
        call = outcome.call
        if call is not None:
            if call.cached:
                self.cached += 1
            else:
                self.calls += 1
            self.input_tokens += call.input_tokens + call.cache_read_tokens + call.cache_write_tokens
            self.output_tokens += call.output_tokens
            self.cost += call.cost_usd
        if self.callback is not None:
            self.callback(
                JudgeProgress(
                    chunks_done=self.done_count,
                    chunks_total=self.total,
                    calls=self.calls,
                    cached_calls=self.cached,
                    input_tokens=self.input_tokens,
                    output_tokens=self.output_tokens,
                    cost_usd=round(self.cost, 6),
                    chunk=outcome.prepared.name,
                    error=outcome.error,
                )
            )


def run_sync(coro: Coroutine[Any, Any, T]) -> T:
    """Run a coroutine to completion from synchronous code, even when this thread already runs a loop
    (a notebook): then it runs on a fresh loop in a worker thread."""
    try:
        asyncio.get_running_loop()
    except RuntimeError:
        return asyncio.run(coro)
    with concurrent.futures.ThreadPoolExecutor(max_workers=1, thread_name_prefix="crossfield-judge") as pool:
        return pool.submit(asyncio.run, coro).result()
