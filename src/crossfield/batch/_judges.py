"""Turning the `judge` argument of a run into a judge, and into the part of the run key that names it.

A judge given as a string ("heuristic", "anthropic/claude-...", "openai-compatible/fake") is built once
through `crossfield.judgment.registry.make_judge`, so every spec of the run shares one judge and, for LLM
judges, one backend: one client, one concurrency bound, one rate-limit pause. A judge given as an object is
used as is. Judges with `ajudge` run on the event loop (their I/O overlaps); the others run in worker
threads or processes.
"""

from __future__ import annotations

import inspect
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, cast

from crossfield._version import __version__
from crossfield.judgment.base import Judge, JudgeResult
from crossfield.spec.model import Api

AsyncJudgeFn = Callable[[Api], Awaitable[JudgeResult]]


@dataclass(frozen=True, slots=True)
class ResolvedJudge:
    judge: Judge
    label: str
    """How the summary names the judge: the spec string, or the judge's `name`."""
    key: str
    """The judge part of the run key: changes whenever the judge would judge differently."""
    prompt: str | None
    """The prompt part of the run key: the prompt id, and `@hash` when the judge exposes `prompt_hash` (an
    LLM judge's prompt template, the heuristic judge's rule set)."""
    prompt_hash: str | None = None

    @property
    def version(self) -> str | None:
        """The crossfield version, for the run key of a judge that exposes no hash of what it judges with (a
        new release may judge differently); None when the hash says it."""
        return None if self.prompt_hash else __version__

    @property
    def ajudge(self) -> AsyncJudgeFn | None:
        fn = getattr(self.judge, "ajudge", None)
        return cast(AsyncJudgeFn, fn) if fn is not None and inspect.iscoroutinefunction(fn) else None


def resolve_judge(
    judge: str | Judge, *, prompt: str | None, concurrency: int, options: Mapping[str, Any] | None
) -> ResolvedJudge:
    """Build (or adopt) the run's judge. `options` go to `make_judge` as keyword arguments."""
    if isinstance(judge, str):
        instance = make_judge(judge, prompt=prompt, concurrency=concurrency, options=options or {})
        label = judge
    else:
        instance = judge
        label = str(getattr(judge, "name", type(judge).__name__))
    model = getattr(instance, "model", None)
    prompt_key = prompt or _attr(instance, "prompt_id")
    prompt_hash = _attr(instance, "prompt_hash")
    if prompt_hash:
        prompt_key = f"{prompt_key or ''}@{prompt_hash}"
    key = label if not isinstance(model, str) or model in label else f"{label}:{model}"
    return ResolvedJudge(judge=instance, label=label, key=key, prompt=prompt_key, prompt_hash=prompt_hash)


def make_judge(spec: str, *, prompt: str | None, concurrency: int, options: Mapping[str, Any]) -> Judge:
    """`make_judge` with the run's prompt and concurrency (the registry passes them to LLM judges only)."""
    from crossfield.judgment.registry import make_judge as build

    kwargs: dict[str, Any] = {"concurrency": concurrency, **options}
    if prompt is not None:
        kwargs.setdefault("prompt", prompt)
    return build(spec, **kwargs)


def _attr(obj: Any, name: str) -> str | None:
    value = getattr(obj, name, None)
    if value is None:
        prompt = getattr(obj, "prompt", None)
        value = getattr(prompt, name.removeprefix("prompt_"), None) if prompt is not None else None
    return value if isinstance(value, str) else None


async def close_judge(judge: Judge) -> None:
    """Release an LLM judge's clients on the loop they were created on (nothing to do for other judges)."""
    for target in (judge, getattr(judge, "backend", None)):
        close = getattr(target, "aclose", None)
        if close is not None and inspect.iscoroutinefunction(close):
            await close()
            return
