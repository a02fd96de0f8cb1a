"""The response model a judge model fills, and grounding as validation.

`JudgeOutput` wraps the list of drafts. Its validator runs every draft through the contract
(`HypothesisDraft`) and, when the validation context carries the `Api`, through `grounding_problems`. A
draft that fails raises a `ValueError` listing every problem by hypothesis, which instructor sends back to
the model as a correction (reask). On the final attempt the validator filters instead of raising: the
grounded drafts are kept and the others are recorded in the context's `ValidationState` as `Dropped`, so
one bad hypothesis never costs the good ones.
"""

from __future__ import annotations

import json
from contextvars import ContextVar
from dataclasses import dataclass, field
from typing import Any

from pydantic import BaseModel, ConfigDict, Field, ValidationError, ValidationInfo, model_validator

from crossfield.judgment.base import Dropped
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import HypothesisDraft
from crossfield.spec.model import Api

MAX_PROBLEMS_PER_DRAFT = 8

VALIDATION_CONTEXT: ContextVar[dict[str, Any] | None] = ContextVar(
    "crossfield_validation_context", default=None
)
"""The validation context of the current structured call, when it cannot be passed as pydantic's `context`.

instructor treats a `context=` argument as Jinja variables and renders every message through Jinja with
it, which would rewrite spec text containing `{{ }}` (Postman variables, templated URLs) and dedent the
prompt. So the LLM backend sets this variable around the call instead; validation reads `info.context`
first, then this."""


@dataclass(slots=True)
class ValidationState:
    """Per-request state shared with the validator through the validation context.

    `attempt` is advanced by the `completion:kwargs` hook before every model call; on the attempt that is
    `max_attempts` (or always, with `always_final`, for batch results that cannot be reasked) invalid
    drafts are dropped instead of sent back."""

    max_attempts: int = 1
    chunk: str | None = None
    always_final: bool = False
    attempt: int = 0
    dropped: list[Dropped] = field(default_factory=list)
    corrections: int = 0

    @property
    def final(self) -> bool:
        return self.always_final or self.attempt >= self.max_attempts

    def next_attempt(self, *args: Any, **kwargs: Any) -> None:
        """Hook for instructor's `completion:kwargs` event."""
        self.attempt += 1


class JudgeOutput(BaseModel):
    """Record the risk hypotheses for this part of the API. Call this tool once, with the complete list."""

    model_config = ConfigDict(extra="ignore")

    hypotheses: list[HypothesisDraft] = Field(
        default_factory=list,
        description="every hypothesis for this part of the API, most important first; empty if none is supported",
    )

    @model_validator(mode="before")
    @classmethod
    def _contract_and_grounding(cls, data: Any, info: ValidationInfo) -> Any:
        if not isinstance(data, dict):
            return data
        items = data.get("hypotheses", [])
        if isinstance(items, str):  # some models send the array as a JSON string
            try:
                items = json.loads(items)
            except json.JSONDecodeError:
                return data
        if not isinstance(items, list):
            return data
        context = info.context if isinstance(info.context, dict) else (VALIDATION_CONTEXT.get() or {})
        api = context.get("api")
        state = context.get("state")
        kept, rejected = check_drafts(items, api if isinstance(api, Api) else None)
        if isinstance(state, ValidationState):
            if rejected and not state.final:
                state.corrections += 1
                raise ValueError(correction_message(rejected, len(items)))
            state.dropped = [Dropped(title, problems, state.chunk) for _, title, problems in rejected]
        elif rejected:
            raise ValueError(correction_message(rejected, len(items)))
        return {**data, "hypotheses": kept}


def check_drafts(
    items: list[Any], api: Api | None
) -> tuple[list[HypothesisDraft], list[tuple[int, str, list[str]]]]:
    """Split raw items into valid drafts and (index, title, problems) for the rest."""
    kept: list[HypothesisDraft] = []
    rejected: list[tuple[int, str, list[str]]] = []
    for index, item in enumerate(items):
        title = str(item.get("title") or "(untitled)") if isinstance(item, dict) else "(not an object)"
        try:
            draft = item if isinstance(item, HypothesisDraft) else HypothesisDraft.model_validate(item)
        except ValidationError as exc:
            rejected.append((index, title, contract_problems(exc)))
            continue
        problems = grounding_problems(draft, api) if api is not None else []
        if problems:
            rejected.append((index, draft.title, problems[:MAX_PROBLEMS_PER_DRAFT]))
            continue
        kept.append(draft)
    return kept, rejected


def contract_problems(exc: ValidationError) -> list[str]:
    """Pydantic errors of one draft as `location: message` lines."""
    problems = []
    for error in exc.errors(include_url=False, include_input=False)[:MAX_PROBLEMS_PER_DRAFT]:
        location = ".".join(str(part) for part in error["loc"]) or "(hypothesis)"
        message = str(error["msg"]).removeprefix("Value error, ")
        problems.append(f"{location}: {message}")
    return problems


def correction_message(rejected: list[tuple[int, str, list[str]]], total: int) -> str:
    lines = [
        f"{len(rejected)} of {total} hypotheses do not fit the contract or the spec. Call JudgeOutput again "
        "with the complete list: keep the valid hypotheses unchanged, fix every problem below, and remove a "
        "hypothesis only if it cannot be grounded in the digest."
    ]
    for index, title, problems in rejected:
        lines.append(f"hypotheses[{index}] {json.dumps(title, ensure_ascii=False)}:")
        lines.extend(f"  - {p}" for p in problems)
    return "\n".join(lines)


def judge_output_schema() -> dict[str, Any]:
    """The JSON Schema of the tool input (used by the batch path, which builds requests without instructor)."""
    return JudgeOutput.model_json_schema()
