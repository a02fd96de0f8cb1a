"""The one interface every judge implements, and what a judge run returns.

A judge turns the spec model (plus its interaction map and, optionally, requirements) into grounded
hypotheses. Whatever the backend — the offline heuristic judge, an LLM through instructor, a scripted
queue in tests — callers see the same `JudgeResult`, so the CLI, batch runs, the store and the eval
harness never care which judge ran.
"""

from __future__ import annotations

from collections import deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any, Protocol, runtime_checkable

from crossfield.judgment.grounding import dedupe, grounding_problems
from crossfield.judgment.models import Hypothesis, HypothesisDraft, HypothesisSet, Provenance
from crossfield.spec.model import Api


@dataclass(frozen=True, slots=True)
class Requirement:
    """One requirement from a requirements document (`REQ-12: Refunds never exceed the charge.`)."""

    id: str
    text: str


@dataclass(slots=True)
class LLMCall:
    """One call to a model: what it cost and how long it took. Never holds keys or headers."""

    model: str
    prompt_id: str
    prompt_hash: str
    chunk: str
    input_tokens: int = 0
    output_tokens: int = 0
    cache_read_tokens: int = 0
    cache_write_tokens: int = 0
    latency_s: float = 0.0
    cost_usd: float = 0.0
    attempts: int = 1
    cached: bool = False
    error: str | None = None
    request_hash: str = ""
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())


@dataclass(slots=True)
class Dropped:
    """A draft that failed grounding even after correction: counted and reported, never passed on."""

    title: str
    problems: list[str]
    chunk: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return {"title": self.title, "problems": self.problems, "chunk": self.chunk}


@dataclass(slots=True)
class JudgeResult:
    """What a judge run produced: grounded hypotheses, what was dropped, calls and failures."""

    judge: str
    model: str | None
    prompt_id: str | None
    prompt_hash: str | None
    api: Api
    hypotheses: list[Hypothesis] = field(default_factory=list)
    dropped: list[Dropped] = field(default_factory=list)
    calls: list[LLMCall] = field(default_factory=list)
    chunk_errors: dict[str, str] = field(default_factory=dict)
    parameters: dict[str, Any] = field(default_factory=dict)
    started_at: str = field(default_factory=lambda: datetime.now(UTC).isoformat())
    finished_at: str | None = None

    @property
    def usage(self) -> dict[str, Any]:
        return {
            "calls": sum(1 for c in self.calls if not c.cached),
            "cached_calls": sum(1 for c in self.calls if c.cached),
            "input_tokens": sum(c.input_tokens for c in self.calls),
            "output_tokens": sum(c.output_tokens for c in self.calls),
            "cache_read_tokens": sum(c.cache_read_tokens for c in self.calls),
            "cache_write_tokens": sum(c.cache_write_tokens for c in self.calls),
            "cost_usd": round(sum(c.cost_usd for c in self.calls), 6),
            "dropped": len(self.dropped),
            "failed_chunks": len(self.chunk_errors),
        }

    def to_set(self) -> HypothesisSet:
        return HypothesisSet(
            spec_path=self.api.source_path,
            spec_hash=self.api.content_hash,
            api_title=self.api.title,
            api_version=self.api.version,
            hypotheses=self.hypotheses,
            dropped=[d.to_dict() for d in self.dropped],
            usage=self.usage,
        )


@runtime_checkable
class Judge(Protocol):
    """Anything that can judge an API."""

    name: str

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult: ...


def finalize(
    drafts: Iterable[HypothesisDraft],
    api: Api,
    provenance: Provenance,
    result: JudgeResult,
    *,
    chunk: str | None = None,
) -> None:
    """Ground, dedupe and stamp drafts into `result`: the shared tail of every judge."""
    grounded: list[HypothesisDraft] = []
    for draft in drafts:
        problems = grounding_problems(draft, api)
        if problems:
            result.dropped.append(Dropped(draft.title, problems, chunk))
        else:
            grounded.append(draft)
    existing = {h.field_key: h for h in result.hypotheses}
    for draft in dedupe(grounded):
        hyp = Hypothesis.from_draft(draft, provenance)
        old = existing.get(hyp.field_key)
        if old is not None:
            if hyp.score > old.score:
                result.hypotheses[result.hypotheses.index(old)] = hyp
                existing[hyp.field_key] = hyp
            continue
        existing[hyp.field_key] = hyp
        result.hypotheses.append(hyp)


class ScriptedJudge:
    """A judge that returns queued drafts: for tests and notebooks that need a judge without a model.

    Each call to `judge` takes the next batch from the queue (or every batch if `repeat` is set)."""

    name = "scripted"

    def __init__(self, batches: Iterable[list[HypothesisDraft]], *, repeat: bool = False) -> None:
        self._queue: deque[list[HypothesisDraft]] = deque(batches)
        self._repeat = repeat

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        if not self._queue:
            raise IndexError("ScriptedJudge has no queued outputs left")
        batch = self._queue[0] if self._repeat else self._queue.popleft()
        result = JudgeResult(judge=self.name, model=None, prompt_id=None, prompt_hash=None, api=api)
        provenance = Provenance(judge=self.name, spec_hash=api.content_hash, api_version=api.version)
        finalize(batch, api, provenance, result)
        result.finished_at = datetime.now(UTC).isoformat()
        return result
