"""The heuristic judge reads request-field relations from the interaction map: `Analysis.relations(op)`."""

from __future__ import annotations

from crossfield.judgment.heuristic._analysis import analyze
from crossfield.judgment.models import SpecEvidence
from crossfield.spec import load_spec_from_text
from crossfield.spec.model import Api


def _api(properties: str, description: str = "", extra: str = "") -> Api:
    return load_spec_from_text(
        f"""
openapi: 3.1.0
info: {{title: T, version: "1"}}
paths:
  /coupons:
    post:
      operationId: createCoupon
      description: "{description}"
      requestBody:
        content:
          application/json:
            schema:
              type: object
              properties:
{properties}
{extra}
      responses: {{"201": {{description: ok}}}}
"""
    )


def _relations(api: Api) -> list[tuple[str, str, tuple[str, ...], bool]]:
    op = api.operation("createCoupon")
    assert op is not None
    return [(r.kind, r.location, r.fields, r.structural) for r in analyze(api).relations(op)]


_COUPON = """\
                percent_off: {type: number}
                amount_off: {type: integer}
                currency: {type: string}
"""


def test_relations_come_from_the_map_with_their_direction_and_sentence() -> None:
    sentence = "`currency` is required together with `amount_off` and not allowed with `percent_off`."
    api = _api(_COUPON, sentence)
    assert _relations(api) == [
        ("mutex", "body", ("currency", "percent_off"), False),
        ("requires", "body", ("amount_off", "currency"), False),
    ]
    op = api.operation("createCoupon")
    assert op is not None
    first = analyze(api).relations(op)[0]
    assert first.evidence == SpecEvidence(pointer="/paths/~1coupons/post/description", text=sentence)


def test_schema_keywords_are_structural() -> None:
    extra = """\
              oneOf:
                - {required: [percent_off]}
                - {required: [amount_off]}
              dependentRequired:
                amount_off: [currency, percent_off]
"""
    assert _relations(_api(_COUPON, extra=extra)) == [
        ("one_of", "body", ("percent_off", "amount_off"), True),
        ("requires", "body", ("amount_off", "currency"), True),
        ("requires", "body", ("amount_off", "percent_off"), True),
    ]


def test_time_order_needs_two_dates_and_a_bound_two_numbers() -> None:
    properties = """\
                start_time: {type: string}
                end_time: {type: string}
                starts_at: {type: string, format: date-time}
                ends_at: {type: string, format: date-time}
                min_uses: {type: integer}
                max_uses: {type: integer}
"""
    api = _api(properties)
    kinds = {(r.relation, r.fields) for r in api.interactions.field_relations}
    assert ("temporal", ("body.start_time", "body.end_time")) in kinds  # the map reads the names...
    assert _relations(api) == [  # ...the rules need values they can order
        ("temporal", "body", ("starts_at", "ends_at"), False),
        ("range", "body", ("min_uses", "max_uses"), False),
    ]


def test_only_fields_one_request_sends_side_by_side() -> None:
    properties = """\
                id: {type: string, readOnly: true, description: Cannot be used with `currency`.}
                currency: {type: string}
                limits:
                  type: object
                  properties:
                    min_uses: {type: integer}
                    max_uses: {type: integer}
"""
    api = _api(properties)
    assert any(
        r.fields == ("body.limits.min_uses", "body.limits.max_uses") for r in api.interactions.field_relations
    )
    assert _relations(api) == []
