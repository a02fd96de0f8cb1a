"""`diff_specs` on small hand-made versions: one test per change kind, and the breaking rules by direction."""

from __future__ import annotations

import copy
import json
from typing import Any

import pytest

from crossfield.spec import load_spec_from_text
from crossfield.spec._facets import facets
from crossfield.spec.diff import ChangeKind, SpecDiff, diff_specs


def _doc() -> dict[str, Any]:
    return {
        "openapi": "3.0.3",
        "info": {"title": "Shop", "version": "1"},
        "paths": {
            "/orders": {
                "post": {
                    "operationId": "createOrder",
                    "parameters": [
                        {
                            "name": "limit",
                            "in": "query",
                            "schema": {"type": "integer", "minimum": 1, "maximum": 100},
                        },
                        {"name": "X-Trace", "in": "header", "schema": {"type": "string"}},
                    ],
                    "requestBody": {
                        "required": True,
                        "content": {
                            "application/json": {
                                "schema": {
                                    "type": "object",
                                    "required": ["amount"],
                                    "properties": {
                                        "amount": {"type": "integer", "minimum": 0},
                                        "currency": {"type": "string", "enum": ["usd", "eur"]},
                                        "note": {"type": "string", "maxLength": 100},
                                        "code": {"type": "string", "pattern": "^[A-Z]+$"},
                                        "items": {
                                            "type": "array",
                                            "maxItems": 10,
                                            "items": {"type": "string"},
                                        },
                                    },
                                }
                            }
                        },
                    },
                    "responses": {
                        "201": {
                            "description": "created",
                            "content": {
                                "application/json": {
                                    "schema": {
                                        "type": "object",
                                        "required": ["id"],
                                        "properties": {
                                            "id": {"type": "string"},
                                            "status": {"type": "string", "enum": ["open", "paid"]},
                                        },
                                    }
                                }
                            },
                        }
                    },
                },
                "get": {"operationId": "listOrders", "responses": {"200": {"description": "ok"}}},
            }
        },
    }


def _diff(edit: Any) -> SpecDiff:
    old = _doc()
    new = copy.deepcopy(old)
    edit(new)
    return diff_specs(_load(old, "old.json"), _load(new, "new.json"))


def _load(doc: dict[str, Any], name: str) -> Any:
    return load_spec_from_text(json.dumps(doc), name=name)


def _op(doc: dict[str, Any]) -> dict[str, Any]:
    op: dict[str, Any] = doc["paths"]["/orders"]["post"]
    return op


def _body(doc: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = _op(doc)["requestBody"]["content"]["application/json"]["schema"]
    return schema


def _response(doc: dict[str, Any]) -> dict[str, Any]:
    schema: dict[str, Any] = _op(doc)["responses"]["201"]["content"]["application/json"]["schema"]
    return schema


def _only(d: SpecDiff) -> Any:
    assert len(d.changes) == 1, [c.describe() for c in d.changes]
    return d.changes[0]


def test_identical_versions_have_no_changes() -> None:
    d = _diff(lambda doc: None)
    assert d.changes == ()
    assert d.to_dict()["summary"] == {"changes": 0, "breaking": 0, "by_kind": {}}


def test_operation_added_and_removed() -> None:
    def edit(doc: dict[str, Any]) -> None:
        del doc["paths"]["/orders"]["get"]
        doc["paths"]["/refunds"] = {
            "post": {"operationId": "createRefund", "responses": {"200": {"description": "ok"}}}
        }

    d = _diff(edit)
    assert d.added_operations == ("createRefund",)
    assert d.removed_operations == ("listOrders",)
    removed = d.find(ChangeKind.OPERATION_REMOVED, "listOrders")[0]
    assert removed.breaking and removed.old == "GET /orders"
    assert not d.find(ChangeKind.OPERATION_ADDED, "createRefund")[0].breaking
    assert d.touched_operations == ("createRefund",)


def test_operation_matched_by_route_when_its_id_changes() -> None:
    d = _diff(lambda doc: doc["paths"]["/orders"]["get"].update(operationId="getOrders"))
    c = _only(d)
    assert (c.kind, c.old, c.new, c.operation) == (
        ChangeKind.OPERATION_RENAMED,
        "listOrders",
        "getOrders",
        "getOrders",
    )
    assert d.renamed == {"listOrders": "getOrders"}


def test_operation_matched_by_id_when_its_route_changes() -> None:
    def edit(doc: dict[str, Any]) -> None:
        doc["paths"]["/v2/orders"] = {"get": doc["paths"]["/orders"].pop("get")}

    c = _only(_diff(edit))
    assert (c.kind, c.old, c.new, c.breaking) == (
        ChangeKind.OPERATION_MOVED,
        "GET /orders",
        "GET /v2/orders",
        True,
    )


def test_operation_deprecated() -> None:
    c = _only(_diff(lambda doc: _op(doc).update(deprecated=True)))
    assert (c.kind, c.operation, c.breaking) == (ChangeKind.OPERATION_DEPRECATED, "createOrder", False)


def test_parameter_added_optional_and_required() -> None:
    def edit(doc: dict[str, Any]) -> None:
        _op(doc)["parameters"] += [
            {"name": "expand", "in": "query", "schema": {"type": "string"}},
            {"name": "Idempotency-Key", "in": "header", "required": True, "schema": {"type": "string"}},
        ]

    d = _diff(edit)
    optional = d.find(ChangeKind.FIELD_ADDED, "createOrder", "query.expand")[0]
    required = d.find(ChangeKind.FIELD_ADDED, "createOrder", "header.Idempotency-Key")[0]
    assert (optional.breaking, required.breaking) == (False, True)
    assert optional.describe() == "field query.expand added"
    assert optional.tag() == "createOrder: field query.expand added"


def test_header_names_compare_case_insensitively() -> None:
    assert _diff(lambda doc: _op(doc)["parameters"][1].update(name="x-trace")).changes == ()


def test_body_field_removed_is_breaking_and_subtrees_are_reported_once() -> None:
    def edit(doc: dict[str, Any]) -> None:
        del _body(doc)["properties"]["note"]
        _body(doc)["properties"]["shipping"] = {
            "type": "object",
            "properties": {
                "name": {"type": "string"},
                "address": {"type": "object", "properties": {"city": {"type": "string"}}},
            },
        }

    d = _diff(edit)
    assert d.find(ChangeKind.FIELD_REMOVED, "createOrder", "body.note")[0].breaking
    added = d.find(ChangeKind.FIELD_ADDED, "createOrder")
    assert [(c.field, c.detail) for c in added] == [("body.shipping", "3 subfields")]
    assert added[0].describe() == "field body.shipping added (3 subfields)"


def test_response_field_added_is_not_breaking_removed_is() -> None:
    def edit(doc: dict[str, Any]) -> None:
        _response(doc)["properties"]["created"] = {"type": "integer"}
        del _response(doc)["properties"]["status"]

    d = _diff(edit)
    assert not d.find(ChangeKind.FIELD_ADDED, "createOrder", "response.created")[0].breaking
    assert d.find(ChangeKind.FIELD_REMOVED, "createOrder", "response.status")[0].breaking


def test_field_retyped_on_type_and_on_format() -> None:
    def edit(doc: dict[str, Any]) -> None:
        _body(doc)["properties"]["amount"] = {"type": "string", "minimum": 0}
        _response(doc)["properties"]["id"]["format"] = "uuid"

    d = _diff(edit)
    amount = d.find(ChangeKind.FIELD_RETYPED, "createOrder", "body.amount")[0]
    assert (amount.old, amount.new, amount.breaking) == ("integer", "string", True)
    assert d.find(ChangeKind.FIELD_RETYPED, "createOrder", "response.id")[0].new == "string(uuid)"


@pytest.mark.parametrize(
    ("edit_name", "kind", "field", "breaking"),
    [
        ("body_required", ChangeKind.FIELD_REQUIRED, "body.currency", True),
        ("body_optional", ChangeKind.FIELD_OPTIONAL, "body.amount", False),
        ("response_optional", ChangeKind.FIELD_OPTIONAL, "response.id", True),
        ("response_required", ChangeKind.FIELD_REQUIRED, "response.status", False),
        ("param_required", ChangeKind.FIELD_REQUIRED, "query.limit", True),
        ("request_body_optional", ChangeKind.FIELD_OPTIONAL, "body", False),
    ],
)
def test_required_and_optional(edit_name: str, kind: ChangeKind, field: str, breaking: bool) -> None:
    edits = {
        "body_required": lambda doc: _body(doc).update(required=["amount", "currency"]),
        "body_optional": lambda doc: _body(doc).pop("required"),
        "response_optional": lambda doc: _response(doc).pop("required"),
        "response_required": lambda doc: _response(doc).update(required=["id", "status"]),
        "param_required": lambda doc: _op(doc)["parameters"][0].update(required=True),
        "request_body_optional": lambda doc: _op(doc)["requestBody"].update(required=False),
    }
    c = _only(_diff(edits[edit_name]))
    assert (c.kind, c.field, c.breaking) == (kind, field, breaking)


def test_enum_values_added_and_removed_by_direction() -> None:
    def edit(doc: dict[str, Any]) -> None:
        _body(doc)["properties"]["currency"]["enum"] = ["usd", "gbp"]
        _response(doc)["properties"]["status"]["enum"] = ["open", "paid", "void"]

    d = _diff(edit)
    assert [
        (c.new, c.breaking) for c in d.find(ChangeKind.ENUM_VALUE_ADDED, "createOrder", "body.currency")
    ] == [("gbp", False)]
    assert [
        (c.old, c.breaking) for c in d.find(ChangeKind.ENUM_VALUE_REMOVED, "createOrder", "body.currency")
    ] == [("eur", True)]
    status = d.find(ChangeKind.ENUM_VALUE_ADDED, "createOrder", "response.status")
    assert [(c.new, c.breaking) for c in status] == [("void", True)]
    assert status[0].describe() == 'enum value "void" added to response.status'


def test_enum_appearing_is_a_tightening() -> None:
    c = _only(_diff(lambda doc: _response(doc)["properties"]["id"].update(enum=["a", "b"])))
    assert (c.kind, c.detail, c.old, c.new, c.breaking) == (
        ChangeKind.CONSTRAINT_TIGHTENED,
        "enum",
        None,
        ["a", "b"],
        False,
    )


@pytest.mark.parametrize(
    ("target", "key", "value", "kind", "detail"),
    [
        ("limit", "maximum", 50, ChangeKind.CONSTRAINT_TIGHTENED, "maximum"),
        ("limit", "maximum", 500, ChangeKind.CONSTRAINT_LOOSENED, "maximum"),
        ("limit", "minimum", 5, ChangeKind.CONSTRAINT_TIGHTENED, "minimum"),
        ("limit", "minimum", None, ChangeKind.CONSTRAINT_LOOSENED, "minimum"),
        ("limit", "exclusiveMaximum", True, ChangeKind.CONSTRAINT_TIGHTENED, "maximum -> exclusive_maximum"),
        ("note", "maxLength", 50, ChangeKind.CONSTRAINT_TIGHTENED, "max_length"),
        ("note", "minLength", 1, ChangeKind.CONSTRAINT_TIGHTENED, "min_length"),
        ("items", "maxItems", 20, ChangeKind.CONSTRAINT_LOOSENED, "max_items"),
        ("items", "minItems", 1, ChangeKind.CONSTRAINT_TIGHTENED, "min_items"),
        ("note", "pattern", "^[a-z]*$", ChangeKind.CONSTRAINT_TIGHTENED, "pattern"),
        ("code", "pattern", None, ChangeKind.CONSTRAINT_LOOSENED, "pattern"),
        ("code", "pattern", "^[A-Z0-9]+$", ChangeKind.CONSTRAINT_CHANGED, "pattern"),
    ],
)
def test_constraints_on_request_fields(
    target: str, key: str, value: Any, kind: ChangeKind, detail: str
) -> None:
    def edit(doc: dict[str, Any]) -> None:
        schema = (
            _op(doc)["parameters"][0]["schema"] if target == "limit" else _body(doc)["properties"][target]
        )
        if value is None:
            del schema[key]
        else:
            schema[key] = value

    c = _only(_diff(edit))
    assert (c.kind, c.detail) == (kind, detail)
    # on a request field, accepting fewer values breaks callers; accepting more does not
    assert c.breaking == (kind is not ChangeKind.CONSTRAINT_LOOSENED)


def test_constraint_loosened_on_a_response_field_is_breaking() -> None:
    c = _only(_diff(lambda doc: _response(doc)["properties"]["id"].update(maxLength=10)))
    assert (c.kind, c.breaking) == (ChangeKind.CONSTRAINT_TIGHTENED, False)
    d = diff_specs(_load(_with_id_max(10), "a.json"), _load(_with_id_max(20), "b.json"))
    assert (_only(d).kind, _only(d).breaking) == (ChangeKind.CONSTRAINT_LOOSENED, True)


def _with_id_max(n: int) -> dict[str, Any]:
    doc = _doc()
    _response(doc)["properties"]["id"]["maxLength"] = n
    return doc


def test_emptyable_rewrite_is_no_change() -> None:
    """Stripe rewrites `string maxLength 100` as `anyOf [string maxLength 100, enum [""]]`: same values."""

    def edit(doc: dict[str, Any]) -> None:
        _body(doc)["properties"]["note"] = {
            "anyOf": [{"type": "string", "maxLength": 100}, {"type": "string", "enum": [""]}]
        }

    assert _diff(edit).changes == ()


def test_facets_of_unions_and_intersections() -> None:
    assert facets({"anyOf": [{"maxLength": 5}, {"maxLength": 9}]}, {}) == {"max_length": 9}
    assert facets({"anyOf": [{"maxLength": 5}, {"type": "object"}]}, {}) == {}
    assert facets({"anyOf": [{"enum": ["a"]}, {"enum": ["b", "a"]}]}, {}) == {"enum": ("a", "b")}
    assert facets({"allOf": [{"maximum": 5}, {"maximum": 3, "minimum": 1}]}, {}) == {
        "maximum": 3,
        "minimum": 1,
    }
    assert facets({"$ref": "#/$defs/D"}, {"D": {"pattern": "^x$"}}) == {"pattern": "^x$"}


def test_field_deprecated() -> None:
    def edit(doc: dict[str, Any]) -> None:
        _body(doc)["properties"]["note"]["deprecated"] = True
        _op(doc)["parameters"][0]["deprecated"] = True

    d = _diff(edit)
    assert {c.field for c in d.find(ChangeKind.FIELD_DEPRECATED, "createOrder")} == {
        "body.note",
        "query.limit",
    }
    assert not any(c.breaking for c in d.changes)


def test_to_dict_is_json_and_grouped_access_works() -> None:
    def edit(doc: dict[str, Any]) -> None:
        _body(doc)["properties"]["currency"]["enum"].append("gbp")
        del doc["paths"]["/orders"]["get"]

    d = _diff(edit)
    data = json.loads(json.dumps(d.to_dict()))
    assert data["format"] == "crossfield.diff/1"
    assert data["summary"] == {
        "changes": 2,
        "breaking": 1,
        "by_kind": {"enum_value_added": 1, "operation_removed": 1},
    }
    assert data["changes"][0] == {
        "kind": "enum_value_added",
        "operation": "createOrder",
        "field": "body.currency",
        "old": None,
        "new": "gbp",
        "breaking": False,
        "detail": None,
        "description": 'enum value "gbp" added to body.currency',
    }
    assert list(d.by_operation()) == ["createOrder", "listOrders"]
    with pytest.raises(AttributeError):
        d.changes[0].kind = ChangeKind.FIELD_ADDED  # type: ignore[misc]
