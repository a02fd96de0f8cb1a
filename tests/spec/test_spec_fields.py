"""Flattening schemas into fields: dotted paths, required, nullable (3.0 `nullable`, 3.1 type lists,
Swagger `x-nullable`), readOnly, enum, bounds, composition."""

from __future__ import annotations

import pickle

from crossfield.spec import load_spec_from_text
from crossfield.spec._fields import flatten
from crossfield.spec.model import Field, new_field

SPEC = """
openapi: 3.0.3
info: {title: Fields, version: "1"}
paths:
  /orders/{id}:
    parameters:
      - {name: id, in: path, required: true, schema: {type: integer, minimum: 1}}
    post:
      operationId: update
      parameters:
        - {name: limit, in: query, schema: {type: integer, minimum: 1, maximum: 100, default: 10}}
        - {name: X-Trace, in: header, description: A trace id., schema: {type: string}}
        - {name: session, in: cookie, schema: {type: string}}
      requestBody:
        content:
          application/json:
            schema:
              type: object
              required: [lines]
              properties:
                lines:
                  type: array
                  items:
                    type: object
                    required: [price]
                    properties:
                      price: {type: number, exclusiveMinimum: true, minimum: 0, maximum: 1000}
                      tags: {type: array, items: {type: string, enum: [a, b]}, maxItems: 3}
                note: {type: string, nullable: true, minLength: 1, maxLength: 10}
                status: {type: string, enum: [draft, sent], nullable: true}
                meta:
                  allOf:
                    - {type: object, properties: {source: {type: string}}}
                    - {type: object, required: [version], properties: {version: {type: integer}}}
                payment:
                  oneOf:
                    - {type: object, properties: {card: {type: string}}}
                    - {type: object, properties: {iban: {type: string}}}
      responses:
        "200":
          description: ok
          content:
            application/json:
              schema:
                type: object
                properties:
                  id: {type: integer, readOnly: true}
                  secret: {type: string, writeOnly: true}
                  data:
                    type: array
                    items:
                      type: object
                      properties:
                        id: {type: string}
"""


def _fields() -> dict[str, Field]:
    api = load_spec_from_text(SPEC)
    return {f.path: f for f in api.operation("update").fields}  # type: ignore[union-attr]


def test_paths_of_every_location() -> None:
    fields = _fields()
    assert list(fields) == [
        "path.id", "query.limit", "header.X-Trace", "cookie.session",
        "body.lines", "body.lines[].price", "body.lines[].tags", "body.note", "body.status", "body.meta",
        "body.meta.source", "body.meta.version", "body.payment", "body.payment.card", "body.payment.iban",
        "response.id", "response.secret", "response.data", "response.data[].id",
    ]  # fmt: skip
    assert {f.location for f in fields.values()} == {"path", "query", "header", "cookie", "body", "response"}


def test_required_and_bounds() -> None:
    fields = _fields()
    assert fields["path.id"].required and fields["path.id"].minimum == 1
    assert not fields["query.limit"].required
    assert (fields["query.limit"].minimum, fields["query.limit"].maximum, fields["query.limit"].default) == (
        1,
        100,
        10,
    )
    assert fields["body.lines"].required and fields["body.lines[].price"].required
    price = fields["body.lines[].price"]
    assert price.exclusive_minimum == 0 and price.minimum is None and price.maximum == 1000
    assert fields["body.lines[].tags"].max_items == 3
    assert (fields["body.note"].min_length, fields["body.note"].max_length) == (1, 10)
    assert fields["body.meta.version"].required and not fields["body.meta.source"].required
    assert not fields["body.payment.card"].required


def test_nullable_enum_readonly() -> None:
    fields = _fields()
    assert fields["body.note"].nullable and fields["body.note"].type == "string"
    assert fields["body.status"].nullable and fields["body.status"].enum == ("draft", "sent", None)
    assert not fields["body.lines"].nullable
    assert fields["response.id"].read_only and fields["response.secret"].write_only
    assert fields["header.X-Trace"].description == "A trace id."


def test_pointers_lead_into_the_source_document() -> None:
    fields = _fields()
    assert fields["body.lines[].price"].pointer == (
        "/paths/~1orders~1{id}/post/requestBody/content/application~1json/schema/properties/lines/items/properties/price"
    )
    assert fields["response.data[].id"].pointer.endswith(
        "/responses/200/content/application~1json/schema/properties/data/items/properties/id"
    )
    assert fields["path.id"].pointer == "/paths/~1orders~1{id}/parameters/0"


def test_lookup_helpers() -> None:
    api = load_spec_from_text(SPEC)
    op = api.operation("update")
    assert op is not None
    assert op.field("header.x-trace") is not None  # headers are case-insensitive
    assert op.parameter("header", "x-trace") is not None
    assert api.field("update", "body.note") is op.field("body.note")


def test_flatten_is_bounded() -> None:
    defs = {
        "Deep": {"type": "object", "properties": {"next": {"$ref": "#/$defs/Deep"}, "v": {"type": "string"}}}
    }
    fields = flatten({"$ref": "#/$defs/Deep"}, defs, prefix="body", location="body", pointer="")
    assert [f.path for f in fields] == ["body.next", "body.v"]


def test_new_field_equals_the_dataclass_and_pickles() -> None:
    a = Field(
        "body.x", "body", "x", "integer", minimum=1, required=True, examples=(1,), schema={"type": "integer"}
    )
    b = new_field(
        "body.x", "body", "x", "integer", minimum=1, required=True, examples=(1,), schema={"type": "integer"}
    )
    assert a == b and type(b) is Field and repr(a) == repr(b)
    assert pickle.loads(pickle.dumps(b)) == a
    assert b.to_dict() == {
        "path": "body.x",
        "location": "body",
        "name": "x",
        "type": "integer",
        "minimum": 1,
        "required": True,
        "examples": [1],
        "pointer": "",
    }
