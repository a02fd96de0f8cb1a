"""Checking a review decision before it is stored.

A decision is permanent (the store is append-only), so it is checked first: the action and reason come
from fixed lists, a reject says why, and a rewrite is a hypothesis that passes the contract *and* is
grounded in the spec of the hypothesis it replaces — a rewritten hypothesis is compiled into a test just
like a judged one, so it must meet the same bar.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any, Literal

from pydantic import ValidationError

from crossfield.errors import HypothesisError
from crossfield.feedback._schema import ACTIONS, REJECT_REASONS
from crossfield.feedback.errors import StoreError
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import Hypothesis, HypothesisDraft, Provenance
from crossfield.spec.model import Api

Action = Literal["accept", "reject", "rewrite"]
RejectReason = Literal["duplicate", "wrong", "not_risky", "not_testable", "out_of_scope", "other"]


@dataclass(frozen=True, slots=True)
class Decision:
    """One reviewer decision, for `Store.decide_many` (what `Store.decide` takes as arguments)."""

    hypothesis_id: str
    action: str
    reviewer: str
    reason: str | None = None
    note: str | None = None
    rewritten: HypothesisDraft | None = None


def check_decision(d: Decision) -> None:
    """Raise `StoreError` when the decision's fields do not fit together."""
    if d.action not in ACTIONS:
        raise StoreError(f"unknown action {d.action!r}: use one of {', '.join(ACTIONS)}")
    if not d.reviewer or not d.reviewer.strip():
        raise StoreError("a decision needs a reviewer (a name, or set CROSSFIELD_REVIEWER)")
    if d.reason is not None and d.reason not in REJECT_REASONS:
        raise StoreError(f"unknown reason {d.reason!r}: use one of {', '.join(REJECT_REASONS)}")
    if d.action == "reject" and d.reason is None:
        raise StoreError(f"a reject needs a reason: one of {', '.join(REJECT_REASONS)}")
    if d.action == "rewrite" and d.rewritten is None:
        raise StoreError("a rewrite needs the rewritten hypothesis")
    if d.action != "rewrite" and d.rewritten is not None:
        raise StoreError(f"only a rewrite carries a rewritten hypothesis (action was {d.action!r})")


def revalidate(candidate: HypothesisDraft | dict[str, Any]) -> HypothesisDraft:
    """Run the contract's validation again on a (possibly hand-built) hypothesis; `HypothesisError` if it fails.

    A model instance may have been made with `model_construct` or mutated, so it goes through JSON again."""
    data = candidate.model_dump(mode="json") if isinstance(candidate, HypothesisDraft) else dict(candidate)
    data.pop("id", None)
    data.pop("provenance", None)
    try:
        return HypothesisDraft.model_validate(data)
    except ValidationError as exc:
        problems = [
            f"{'.'.join(str(p) for p in err['loc']) or '(hypothesis)'}: {err['msg']}" for err in exc.errors()
        ]
        raise HypothesisError(problems) from exc


def rewritten_hypothesis(candidate: HypothesisDraft, original: Hypothesis, api: Api) -> Hypothesis:
    """The stored form of a rewrite: validated, grounded against `api`, with the original's provenance.

    The rewrite answers the same prompt as the original (so exports pair the two), but a person wrote it:
    its provenance keeps prompt, chunk and spec, with `judge='human'` and no model."""
    draft = revalidate(candidate)
    problems = grounding_problems(draft, api)
    if problems:
        raise HypothesisError(problems)
    provenance = Provenance.model_validate(
        {**original.provenance.model_dump(), "judge": "human", "model": None}
    )
    return Hypothesis.from_draft(draft, provenance)
