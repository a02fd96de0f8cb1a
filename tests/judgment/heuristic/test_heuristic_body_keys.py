"""An idempotency key carried in the body (`requestId`, Google-style) gets the same claims as a header
key, and an enum-valued number is changed to another member of its enum, not to a neighbour."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import Hypothesis, LiteralValue, UniqueValue
from crossfield.spec import load_spec

SPEC = """
openapi: 3.0.3
info: {title: Visits, version: "1"}
security: [{token: []}]
paths:
  /visits:
    post:
      operationId: bookVisit
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [minutes]
              properties:
                requestId: {type: string, description: Makes the booking safe to retry; scoped to the caller.}
                minutes: {type: integer, enum: [15, 30, 45]}
      responses:
        "201": {description: booked, content: {application/json: {schema: {$ref: '#/components/schemas/Visit'}}}}
components:
  securitySchemes:
    token: {type: http, scheme: bearer}
  schemas:
    Visit:
      type: object
      properties:
        id: {type: string}
        minutes: {type: integer}
"""


@pytest.fixture(scope="module")
def hyps(tmp_path_factory: pytest.TempPathFactory) -> list[Hypothesis]:
    path = tmp_path_factory.mktemp("keys") / "openapi.yaml"
    path.write_text(SPEC)
    result = HeuristicJudge(families=("idempotency",)).judge(load_spec(path, cache=False))
    assert result.dropped == []
    return result.hypotheses


def _titled(hyps: list[Hypothesis], words: str) -> Hypothesis:
    found = [h for h in hyps if words in h.title]
    assert found, [h.title for h in hyps]
    return found[0]


def test_a_body_key_is_replayed_in_the_body(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "a retry with the same `requestId`")
    first, replay = h.steps
    assert first.body is not None and replay.body is not None
    assert (
        first.body.overrides["requestId"] == replay.body.overrides["requestId"] == UniqueValue(name="key_a")
    )
    assert not first.params and not replay.params
    assert {(f.operation, f.path) for f in h.fields} >= {("bookVisit", "body.requestId")}


def test_a_body_key_reused_with_another_enum_member_is_refused(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "reusing `requestId` with a different body")
    sent = [(s.body.overrides["requestId"], s.body.overrides["minutes"]) for s in h.steps if s.body]  # type: ignore[union-attr]
    assert sent == [
        (UniqueValue(name="key_a"), LiteralValue(value=15)),
        (UniqueValue(name="key_a"), LiteralValue(value=30)),
        (UniqueValue(name="key_b"), LiteralValue(value=30)),
    ]


def test_a_caller_scoped_body_key(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "another identity reusing an `requestId`")
    assert [s.identity for s in h.steps] == ["default", "other"]


def test_a_reused_key_changes_free_text_rather_than_a_choice_other_fields_depend_on(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(
        """
openapi: 3.0.3
info: {title: Rentals, version: "1"}
paths:
  /rentals:
    post:
      operationId: rent
      description: "`fulfillment: delivery` requires an `address`; with `pickup` no address may be sent."
      parameters:
        - {name: Idempotency-Key, in: header, required: true, schema: {type: string}}
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [fulfillment]
              properties:
                fulfillment: {type: string, enum: [pickup, delivery]}
                address: {type: string}
                notes: {type: string, maxLength: 200}
      responses:
        "201": {description: rented, content: {application/json: {schema: {type: object, properties: {id: {type: string}}}}}}
"""
    )
    result = HeuristicJudge(families=("idempotency",)).judge(load_spec(spec, cache=False))
    h = _titled(result.hypotheses, "different body")
    changed = {k for s in h.steps if s.body for k in s.body.overrides}
    assert "notes" in changed and "fulfillment" not in changed
