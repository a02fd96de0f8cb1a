"""The threshold rule: a field the prose requires from some value of a number on is tested at the
boundary, exactly at the first value that needs it (refused without it) and just below (accepted)."""

from __future__ import annotations

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import LiteralValue, StatusExpectation
from crossfield.spec import load_spec

SPEC = """
openapi: 3.0.3
info: {title: Thresholds, version: "1"}
paths:
  /expenses:
    post:
      operationId: addExpense
      description: |
        Records an expense.

        * Expenses of 7500 cents (75.00 EUR) or more need a `receipt_url` (`422`).
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [amount_cents]
              properties:
                amount_cents: {type: integer, minimum: 1}
                receipt_url: {type: string, format: uri}
      responses:
        "201": {description: recorded, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}
  /transfers:
    post:
      operationId: sendTransfer
      description: Transfers over 10,000 require a `reference`. Amounts are in whole units.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [amount]
              properties:
                amount: {type: integer, minimum: 1, maximum: 1000000}
                reference: {type: string}
      responses:
        "201": {description: sent, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}
  /notes:
    post:
      operationId: addNote
      description: A `title` is required. Notes of 500 characters or more are truncated.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              properties:
                title: {type: string}
                length: {type: integer}
      responses:
        "201": {description: added}
"""


@pytest.fixture(scope="module")
def titles(tmp_path_factory: pytest.TempPathFactory) -> dict[str, object]:
    path = tmp_path_factory.mktemp("thresholds") / "openapi.yaml"
    path.write_text(SPEC)
    result = HeuristicJudge(families=("thresholds",)).judge(load_spec(path, cache=False))
    assert result.dropped == []
    return {h.title: h for h in result.hypotheses}


def _sent(h: object) -> list[tuple[object, str | None, list[str]]]:
    out = []
    for step in h.steps:  # type: ignore[attr-defined]
        band = next(e.band for e in step.expect if isinstance(e, StatusExpectation))
        body = step.body.overrides
        amount = next(v for k, v in body.items() if k.startswith("amount"))
        out.append((amount, band, sorted(body)))
    return out


def test_an_inclusive_threshold_is_tested_at_its_value_and_just_below(titles: dict[str, object]) -> None:
    h = titles["addExpense: `amount_cents` of 7500 without `receipt_url` is rejected"]
    assert _sent(h) == [
        (LiteralValue(value=7499), "2xx", ["amount_cents"]),
        (LiteralValue(value=7500), "4xx", ["amount_cents"]),
    ]
    assert h.steps[0].body.omit == ["receipt_url"]  # type: ignore[attr-defined]


def test_an_exclusive_threshold_starts_one_unit_above(titles: dict[str, object]) -> None:
    h = titles["sendTransfer: `amount` of 10001 without `reference` is rejected"]
    assert [(a, band) for a, band, _ in _sent(h)] == [
        (LiteralValue(value=10000), "2xx"),
        (LiteralValue(value=10001), "4xx"),
    ]


def test_a_sentence_without_a_field_it_brings_is_no_threshold(titles: dict[str, object]) -> None:
    assert not [t for t in titles if t.startswith("addNote")]


def test_one_claim_per_threshold(titles: dict[str, object]) -> None:
    assert len(titles) == 2
