"""The prompts behind hypotheses, as training-data exports need them.

An LLM judge renders one prompt per chunk of the spec. The store keeps each rendered prompt (system and
user text) once, keyed by the hash of its text (`prompt_key`), and links every hypothesis to the prompt
that produced it through its provenance (`prompt_hash`, `chunk`). A supervised or preference example is
then exactly "this prompt -> this (accepted, rewritten or rejected) answer".

Heuristic and scripted hypotheses have no prompt. For them the exports build a *fallback prompt*: a fixed
system text and a compact description of the operations the hypothesis involves, taken from the
`operations` summary the store keeps for each spec. It is deterministic, so hypotheses about the same
operations share one prompt, and accepted/rejected pairs can be formed among them.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from crossfield.judgment.models import HypothesisDraft
from crossfield.spec.model import Api, Field, Operation

FALLBACK_SYSTEM = (
    "You are crossfield's judge. You read an API description and write cross-field risk hypotheses: "
    "rules that span several fields or requests, and the request scenario that would show them broken. "
    "Answer with one hypothesis as JSON that follows the crossfield hypothesis contract."
)
"""System text of the fallback prompt used for hypotheses that no LLM prompt produced."""

_MAX_FIELDS = 40


@dataclass(frozen=True, slots=True)
class RenderedPrompt:
    """One rendered prompt: the template (`prompt_id`, `prompt_hash`), the spec chunk it was rendered for,
    and the exact system and user text sent to the model."""

    prompt_id: str
    prompt_hash: str
    chunk: str
    system: str
    user: str

    @property
    def key(self) -> str:
        """Content key of the rendered text: equal prompts are stored once."""
        return prompt_key(self.system, self.user)


def prompt_key(system: str, user: str) -> str:
    return "p_" + hashlib.sha256(f"{system}\0{user}".encode()).hexdigest()[:32]


def prompts_from_calls(calls: Iterable[Any]) -> list[RenderedPrompt]:
    """Rendered prompts carried by LLM call records, if the judge put them there.

    `LLMCall` does not (yet) carry prompt text; a judge that adds `system_prompt` and `user_prompt`
    attributes to its calls gets them stored without passing `prompts=` to `record_judge_run`.
    """
    found: list[RenderedPrompt] = []
    for call in calls:
        system = getattr(call, "system_prompt", None)
        user = getattr(call, "user_prompt", None)
        if isinstance(system, str) and isinstance(user, str):
            found.append(RenderedPrompt(call.prompt_id, call.prompt_hash, call.chunk, system, user))
    return found


def _number(x: float) -> str:
    return str(int(x)) if float(x).is_integer() else str(x)


def _describe_field(f: Field) -> str:
    bits = [f.type or "any"]
    if f.format:
        bits.append(f.format)
    if f.required:
        bits.append("required")
    if f.enum is not None:
        bits.append("one of " + "|".join(str(v) for v in f.enum[:8]))
    if f.minimum is not None:
        bits.append(f"min {_number(f.minimum)}")
    if f.maximum is not None:
        bits.append(f"max {_number(f.maximum)}")
    if f.read_only:
        bits.append("read-only")
    return f"{f.path} ({', '.join(bits)})"


def operation_summary(op: Operation) -> dict[str, Any]:
    """A compact, JSON-ready description of one operation: what a model needs to reason about it."""
    fields = [_describe_field(f) for f in op.fields if f.location != "response"][:_MAX_FIELDS]
    responses = [r.status for r in op.responses]
    return {
        "id": op.id,
        "method": op.method.upper(),
        "path": op.path,
        "summary": op.summary,
        "fields": fields,
        "responses": responses,
    }


def operations_summary(api: Api) -> list[dict[str, Any]]:
    """`operation_summary` of every operation, stored once per spec (`specs.operations`)."""
    return [operation_summary(op) for op in api.operations]


def involved_operations(hypothesis: HypothesisDraft | Mapping[str, Any]) -> list[str]:
    """The operations a hypothesis names (fields first, then steps), each once, in order.

    Takes a model or its JSON form (a dict), so exports can work on stored JSON without re-validating."""
    data = hypothesis.model_dump() if isinstance(hypothesis, HypothesisDraft) else hypothesis
    seen: dict[str, None] = {}
    for item in [*data.get("fields", []), *data.get("steps", [])]:
        seen.setdefault(str(item["operation"]), None)
    return list(seen)


def fallback_prompt(
    operation_ids: Sequence[str],
    *,
    api_title: str,
    api_version: str,
    operations: Sequence[Mapping[str, Any]] | None,
) -> tuple[str, str]:
    """(system, user) for a hypothesis without an LLM prompt: the operations it involves
    (`involved_operations`), described from the spec's stored operation summary."""
    by_id = {str(op.get("id")): op for op in operations or ()}
    lines = [f"API: {api_title} {api_version}".rstrip(), "Operations involved:"]
    for op_id in operation_ids:
        op = by_id.get(op_id)
        if op is None:
            lines.append(f"- {op_id}")
            continue
        head = f"- {op_id}: {op.get('method', '')} {op.get('path', '')}".rstrip()
        if op.get("summary"):
            head += f" — {op['summary']}"
        lines.append(head)
        lines.extend(f"    {f}" for f in op.get("fields", []))
        if op.get("responses"):
            lines.append("    responses: " + ", ".join(str(r) for r in op["responses"]))
    lines.append("Write one cross-field risk hypothesis about these operations.")
    return FALLBACK_SYSTEM, "\n".join(lines)
