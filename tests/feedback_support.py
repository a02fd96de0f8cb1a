"""Shared helpers for the feedback-store tests (and their subprocesses): grounded hypotheses about the
payments target, and judge results built from them without a model."""

from __future__ import annotations

from functools import cache
from pathlib import Path

from crossfield.judgment.base import JudgeResult, LLMCall
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    FieldRef,
    Hypothesis,
    HypothesisDraft,
    LiteralValue,
    Provenance,
    Severity,
    SpecEvidence,
    StatusExpectation,
    Step,
)
from crossfield.spec import Api, load_spec

REPO = Path(__file__).resolve().parents[1]
PAYMENTS_SPEC = REPO / "datasets" / "targets" / "payments" / "openapi.yaml"


@cache
def payments_api() -> Api:
    return load_spec(PAYMENTS_SPEC, cache=False)


def refund_draft(
    i: int,
    *,
    category: Category = Category.ARITHMETIC_INVARIANT,
    confidence: float = 0.8,
    title: str | None = None,
) -> HypothesisDraft:
    """A grounded hypothesis; `i` varies the amounts (and so the content id)."""
    return HypothesisDraft(
        title=title or f"A refund never exceeds the charge amount (variant {i})",
        rationale="Refunds are bounded by the captured amount; an unchecked sum over-refunds.",
        category=category,
        severity=Severity.HIGH,
        confidence=confidence,
        fields=[
            FieldRef(operation="createCharge", path="body.amount"),
            FieldRef(operation="createRefund", path="body.amount"),
        ],
        evidence=[
            SpecEvidence(
                pointer="/paths/~1charges~1{charge_id}~1refunds/post", text="Refunds never exceed the charge."
            )
        ],
        steps=[
            Step(
                id="create_charge",
                operation="createCharge",
                body=Body(overrides={"amount": LiteralValue(value=1000 + i)}),
                captures=[Capture(name="charge_id", pointer="/id")],
                expect=[StatusExpectation(band="2xx")],
            ),
            Step(
                id="over_refund",
                operation="createRefund",
                params={"path.charge_id": CapturedValue(name="charge_id")},
                body=Body(overrides={"amount": LiteralValue(value=1001 + i)}),
                expect=[StatusExpectation(band="4xx")],
            ),
        ],
    )


def scripted_result(drafts: list[HypothesisDraft]) -> JudgeResult:
    """A heuristic-like judge result (no prompts). Unlike `ScriptedJudge`, it keeps variants that share a
    field set (judges dedupe those), so tests can make as many distinct hypotheses as they like."""
    api = payments_api()
    result = JudgeResult(judge="heuristic", model=None, prompt_id=None, prompt_hash=None, api=api)
    prov = Provenance(judge="heuristic", spec_hash=api.content_hash, api_version=api.version)
    _add(result, drafts, prov)
    return result


def _add(result: JudgeResult, drafts: list[HypothesisDraft], prov: Provenance) -> None:
    for draft in drafts:
        problems = grounding_problems(draft, result.api)
        assert not problems, problems
        result.hypotheses.append(Hypothesis.from_draft(draft, prov))
    result.finished_at = result.started_at


def llm_like_result(
    drafts: list[HypothesisDraft], *, model: str = "test-model", chunk: str = "charges"
) -> JudgeResult:
    """A judge result shaped like an LLM judge's: provenance with a prompt and chunk, and one call."""
    api = payments_api()
    result = JudgeResult(judge="llm", model=model, prompt_id="judge-v1", prompt_hash="ph1", api=api)
    prov = Provenance(
        judge="llm",
        model=model,
        prompt_id="judge-v1",
        prompt_hash="ph1",
        spec_hash=api.content_hash,
        api_version=api.version,
        chunk=chunk,
    )
    _add(result, drafts, prov)
    result.calls.append(
        LLMCall(
            model=model,
            prompt_id="judge-v1",
            prompt_hash="ph1",
            chunk=chunk,
            input_tokens=1200,
            output_tokens=300,
            latency_s=1.5,
            cost_usd=0.01,
            request_hash="rq1",
        )
    )
    result.finished_at = result.started_at
    return result
