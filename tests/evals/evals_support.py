"""Shared helpers for the eval-harness tests: the tiny target and hand-written hypothesis drafts for it.

The drafts are written against tests/fixtures/targets/tiny/openapi.yaml so that, with the tiny app:

* `discount_draft` passes on the correct app and fails on `discount-exceeds-price` (a detection),
* `negative_price_draft` passes on the correct app and fails on `negative-price-accepted` (a detection),
* `wrong_total_draft` claims the fetched price is net of the discount, which the correct app does not
  do, so it fails on the correct app (a false alarm),
* nothing covers `delete-twice-succeeds` (an undetected bug).
"""

from __future__ import annotations

from pathlib import Path

from crossfield.judgment.base import JudgeResult, Requirement
from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    ConstraintKind,
    FieldRef,
    HypothesisDraft,
    LiteralValue,
    RelationExpectation,
    Severity,
    SpecEvidence,
    StatusExpectation,
    Step,
)
from crossfield.spec import Api

REPO = Path(__file__).resolve().parents[2]
TINY = REPO / "tests" / "fixtures" / "targets" / "tiny"


def _lit(value: object) -> LiteralValue:
    return LiteralValue(value=value)  # type: ignore[arg-type]


def discount_draft() -> HypothesisDraft:
    return HypothesisDraft(
        title="A discount larger than the price is rejected",
        rationale="discount is taken off price; a larger discount would make the net price negative.",
        category=Category.INTER_PARAMETER,
        constraint_kind=ConstraintKind.ARITHMETIC_RELATIONAL,
        severity=Severity.HIGH,
        confidence=0.9,
        fields=[
            FieldRef(operation="createItem", path="body.discount"),
            FieldRef(operation="createItem", path="body.price"),
        ],
        evidence=[SpecEvidence(pointer="/paths/~1items/post", text="it must not exceed `price`")],
        steps=[
            Step(
                id="control",
                operation="createItem",
                body=Body(overrides={"name": _lit("lamp"), "price": _lit(100), "discount": _lit(10)}),
                expect=[StatusExpectation(band="2xx")],
                note="positive control: a discount below the price is accepted",
            ),
            Step(
                id="violation",
                operation="createItem",
                body=Body(overrides={"name": _lit("lamp"), "price": _lit(10), "discount": _lit(50)}),
                expect=[StatusExpectation(band="4xx")],
            ),
        ],
    )


def negative_price_draft() -> HypothesisDraft:
    return HypothesisDraft(
        title="A negative price is rejected",
        rationale="price has minimum 0; a negative price must not be stored.",
        category=Category.INPUT_VALIDATION,
        severity=Severity.MEDIUM,
        confidence=0.8,
        fields=[FieldRef(operation="createItem", path="body.price")],
        steps=[
            Step(
                id="negative",
                operation="createItem",
                body=Body(overrides={"name": _lit("lamp"), "price": _lit(-5)}),
                expect=[StatusExpectation(band="4xx")],
            )
        ],
    )


def wrong_total_draft() -> HypothesisDraft:
    """Wrong on purpose: the tiny API returns the list price, not price - discount."""
    return HypothesisDraft(
        title="A fetched item's price is net of its discount",
        rationale="a wrong claim on purpose: the harness must report the test as a false alarm.",
        category=Category.ARITHMETIC_INVARIANT,
        severity=Severity.LOW,
        confidence=0.3,
        fields=[
            FieldRef(operation="createItem", path="body.price"),
            FieldRef(operation="createItem", path="body.discount"),
        ],
        steps=[
            Step(
                id="create",
                operation="createItem",
                body=Body(overrides={"name": _lit("desk"), "price": _lit(100), "discount": _lit(10)}),
                captures=[Capture(name="item_id", pointer="/id")],
                expect=[StatusExpectation(band="2xx")],
            ),
            Step(
                id="fetch",
                operation="getItem",
                params={"path.item_id": CapturedValue(name="item_id")},
                expect=[
                    StatusExpectation(band="2xx"),
                    RelationExpectation(pointer="/price", op="eq", against=_lit(90)),
                ],
            ),
        ],
    )


def tiny_drafts() -> list[HypothesisDraft]:
    return [discount_draft(), negative_price_draft(), wrong_total_draft()]


class ExplodingJudge:
    """A judge that fails the test if it is ever called (rescoring must not judge again)."""

    name = "exploding"

    def __init__(self) -> None:
        self.calls = 0

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        self.calls += 1
        raise AssertionError("the judge was called during a rescore")
