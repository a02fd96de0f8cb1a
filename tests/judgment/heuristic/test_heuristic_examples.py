"""The heuristic judge and a spec's request example: plain values stay the example's, times of day
follow the example's start, and a role-reserved operation may still prepare a claim as a setup step."""

from __future__ import annotations

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import Hypothesis, RelativeTimeValue
from crossfield.spec import load_spec

SPEC = """
openapi: 3.0.3
info: {title: Tables, version: "1"}
security: [{key: []}]
paths:
  /reservations:
    post:
      operationId: reserve
      description: Staff only.
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [startsAt, partySize]
              properties:
                startsAt: {type: string, format: date-time}
                partySize: {type: integer, minimum: 1, maximum: 12}
                childrenCount: {type: integer, minimum: 0}
            example: {startsAt: '2026-05-02T19:30:00Z', partySize: 4, childrenCount: 1}
      responses:
        "201": {description: reserved, content: {application/json: {schema: {$ref: '#/components/schemas/Reservation'}}}}
  /reservations/{reservationId}:
    parameters: [{name: reservationId, in: path, required: true, schema: {type: string}}]
    get:
      operationId: getReservation
      responses:
        "200": {description: one, content: {application/json: {schema: {$ref: '#/components/schemas/Reservation'}}}}
        "404": {description: not yours}
components:
  securitySchemes:
    key: {type: apiKey, in: header, name: X-Api-Key}
  schemas:
    Reservation:
      type: object
      properties:
        id: {type: string}
        owner_id: {type: string}
        partySize: {type: integer}
"""


@pytest.fixture(scope="module")
def hyps(tmp_path_factory: pytest.TempPathFactory) -> list[Hypothesis]:
    path = tmp_path_factory.mktemp("tables") / "openapi.yaml"
    path.write_text(SPEC)
    return HeuristicJudge(families=("authorization",)).judge(load_spec(path, cache=False)).hypotheses


def test_a_role_reserved_create_still_prepares_a_read_claim(hyps: list[Hypothesis]) -> None:
    h = next(h for h in hyps if "cannot read" in h.title)
    create = h.steps[0]
    assert create.operation == "reserve" and create.setup


def test_plain_values_stay_the_examples_and_times_follow_its_start(hyps: list[Hypothesis]) -> None:
    create = next(h for h in hyps if "cannot read" in h.title).steps[0]
    assert create.body is not None
    overrides = create.body.overrides
    assert "partySize" not in overrides and "childrenCount" not in overrides
    start = overrides["startsAt"]
    assert isinstance(start, RelativeTimeValue) and start.at == "19:30"
