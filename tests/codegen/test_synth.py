"""Payload synthesis: every synthesized value validates against its schema, the same schema always gives
the same value, and overrides/omissions edit bodies the way hypotheses mean them."""

from __future__ import annotations

import json
import re
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from crossfield.codegen.synth import Synthesizer, apply_overrides, split_path, synthesize

CORPORA = Path(__file__).resolve().parents[3] / "shared" / "corpora"
FORMATS = [
    "date-time",
    "date",
    "time",
    "email",
    "uuid",
    "uri",
    "ipv4",
    "ipv6",
    "hostname",
    "byte",
    "duration",
]
PATTERNS = [
    r"^[a-z]+$",
    r"^[A-Z]{3}$",
    r"^\d{3}-\d{4}$",
    r"^sk_(test|live)_[a-zA-Z0-9]{24}$",
    r"^[A-Z]{2}\d{2}[A-Z0-9]{1,30}$",
    r"^(\+|00)[1-9][0-9 \-\(\)\.]{7,32}$",
    r"^[^@\s]+@[^@\s]+\.[a-z]{2,}$",
    r"^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-4[0-9a-fA-F]{3}-[89ab][0-9a-fA-F]{3}-[0-9a-fA-F]{12}$",
    r"^#?([a-f0-9]{6}|[a-f0-9]{3})$",
    r"ab+c",
    r"^[^/]+/[^/]+$",
]


def validator(schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> Any:
    root = {**schema, "$defs": {**(defs or {}), **(schema.get("$defs") or {})}}
    return jsonschema.Draft202012Validator(
        root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
    )


def assert_valid(value: Any, schema: Mapping[str, Any], defs: Mapping[str, Any] | None = None) -> None:
    errors = list(validator(schema, defs).iter_errors(value))
    assert not errors, f"{value!r} is invalid for {json.dumps(schema)[:300]}: {errors[0].message}"


# ---- hand-written schemas ---------------------------------------------------------------------------

DEFS: dict[str, Any] = {
    "Node": {
        "type": "object",
        "required": ["name"],
        "properties": {
            "name": {"type": "string"},
            "children": {"type": "array", "items": {"$ref": "#/$defs/Node"}},
        },
    },
    "Loop": {"type": "object", "required": ["next"], "properties": {"next": {"$ref": "#/$defs/Loop"}}},
    "Money": {
        "type": "object",
        "required": ["amount", "currency"],
        "properties": {
            "amount": {"type": "integer", "minimum": 50, "maximum": 99999999},
            "currency": {"type": "string", "enum": ["usd", "eur"]},
        },
    },
    "Card": {
        "type": "object",
        "required": ["kind", "number"],
        "properties": {"kind": {"const": "card"}, "number": {"type": "string", "pattern": r"^\d{16}$"}},
    },
    "Bank": {
        "type": "object",
        "required": ["kind", "iban"],
        "properties": {
            "kind": {"const": "bank"},
            "iban": {"type": "string", "minLength": 15, "maxLength": 34},
        },
    },
}

CASES: list[tuple[str, dict[str, Any]]] = [
    ("plain string", {"type": "string"}),
    ("bounded string", {"type": "string", "minLength": 12, "maxLength": 12}),
    ("integer bounds", {"type": "integer", "minimum": 50, "maximum": 60}),
    ("exclusive integer", {"type": "integer", "exclusiveMinimum": 0, "exclusiveMaximum": 2}),
    ("exclusive number", {"type": "number", "exclusiveMinimum": 0, "exclusiveMaximum": 0.5}),
    ("multipleOf", {"type": "integer", "minimum": 7, "multipleOf": 5}),
    ("float multipleOf", {"type": "number", "minimum": 0.3, "multipleOf": 0.25}),
    ("cent multipleOf", {"type": "number", "minimum": 1, "maximum": 2, "multipleOf": 0.01}),
    ("negative only", {"type": "integer", "maximum": -3}),
    ("nullable", {"type": ["string", "null"], "minLength": 2}),
    ("null only", {"type": "null"}),
    ("enum with null", {"enum": [None, "a", "b"]}),
    ("const", {"const": {"x": [1, 2]}}),
    ("examples first", {"type": "string", "examples": ["too long for max", "ok"], "maxLength": 5}),
    ("default", {"type": "integer", "default": 7, "minimum": 1}),
    ("invalid default ignored", {"type": "integer", "default": -1, "minimum": 1}),
    ("array minItems", {"type": "array", "items": {"type": "integer"}, "minItems": 3}),
    (
        "unique items",
        {"type": "array", "items": {"type": "integer", "maximum": 10}, "minItems": 4, "uniqueItems": True},
    ),
    (
        "unique enum items",
        {"type": "array", "items": {"enum": ["a", "b", "c"]}, "minItems": 3, "uniqueItems": True},
    ),
    ("empty array only", {"type": "array", "maxItems": 0}),
    (
        "prefixItems",
        {"type": "array", "prefixItems": [{"type": "string"}, {"type": "integer"}], "items": False},
    ),
    ("contains", {"type": "array", "items": {"type": "integer"}, "contains": {"minimum": 5}}),
    ("object required", {"$ref": "#/$defs/Money"}),
    (
        "minProperties",
        {
            "type": "object",
            "properties": {"a": {"type": "string"}, "b": {"type": "string"}},
            "minProperties": 2,
        },
    ),
    ("additional props", {"type": "object", "minProperties": 1, "additionalProperties": {"type": "integer"}}),
    (
        "dependentRequired",
        {
            "type": "object",
            "required": ["card"],
            "properties": {"card": {"type": "string"}, "cvc": {"type": "string", "pattern": r"^\d{3}$"}},
            "dependentRequired": {"card": ["cvc"]},
        },
    ),
    ("recursive", {"$ref": "#/$defs/Node"}),
    ("required cycle", {"anyOf": [{"$ref": "#/$defs/Loop"}, {"type": "null"}]}),
    ("allOf", {"allOf": [{"$ref": "#/$defs/Money"}, {"properties": {"amount": {"minimum": 100}}}]}),
    (
        "allOf nested",
        {
            "allOf": [
                {"allOf": [{"required": ["a"], "properties": {"a": {"type": "integer", "minimum": 3}}}]},
                {"type": "object"},
            ]
        },
    ),
    ("oneOf", {"oneOf": [{"$ref": "#/$defs/Card"}, {"$ref": "#/$defs/Bank"}]}),
    (
        "oneOf that overlaps",
        {
            "oneOf": [
                {"type": "object", "properties": {"a": {"type": "string"}}},
                {
                    "type": "object",
                    "required": ["b"],
                    "properties": {"b": {"type": "integer"}},
                    "additionalProperties": False,
                },
            ]
        },
    ),
    ("anyOf null first", {"anyOf": [{"type": "null"}, {"type": "integer", "minimum": 3}]}),
    ("type list", {"type": ["integer", "string"], "minimum": 3}),
    ("untyped bounds", {"minimum": 4}),
    ("any", {}),
    ("true schema", {"properties": {"x": True}, "required": ["x"]}),
    *[(f"format {fmt}", {"type": "string", "format": fmt}) for fmt in FORMATS],
    *[(f"pattern {pattern}", {"type": "string", "pattern": pattern}) for pattern in PATTERNS],
    (
        "pattern with length",
        {"type": "string", "pattern": "^[0-9a-fA-F]+$", "minLength": 40, "maxLength": 40},
    ),
    ("pattern with minLength", {"type": "string", "pattern": "^[a-z]+$", "minLength": 9}),
]


@pytest.mark.parametrize(("name", "schema"), CASES, ids=[c[0] for c in CASES])
@pytest.mark.parametrize("include_optional", [False, True], ids=["required", "optional"])
def test_hand_written_schemas(name: str, schema: dict[str, Any], include_optional: bool) -> None:
    value = synthesize(schema, DEFS, include_optional=include_optional, request=False)
    assert_valid(value, schema, DEFS)
    assert synthesize(schema, DEFS, include_optional=include_optional, request=False) == value


def test_spec_values_come_first() -> None:
    assert synthesize({"type": "string", "examples": ["tok_visa"]}) == "tok_visa"
    assert synthesize({"type": "string", "default": "usd", "enum": ["eur", "usd"]}) == "usd"
    assert synthesize({"type": "string", "enum": ["eur", "usd"]}) == "eur"
    assert synthesize({"type": "integer", "minimum": 50}) == 50
    assert synthesize({"type": "integer", "minimum": 0}) == 0
    assert synthesize({"type": "integer"}) == 1
    assert synthesize({"type": "string", "format": "uuid"}) == "3fa85f64-5717-4562-b3fc-2c963f66afa1"


def test_required_only_unless_asked_and_read_only_never_sent() -> None:
    schema = {
        "type": "object",
        "required": ["name", "id"],
        "properties": {
            "id": {"type": "string", "readOnly": True},
            "name": {"type": "string"},
            "nickname": {"type": "string"},
            "created": {"type": "string", "format": "date-time", "readOnly": True},
        },
    }
    assert synthesize(schema) == {"name": "string"}
    assert synthesize(schema, include_optional=True) == {"name": "string", "nickname": "string"}
    assert synthesize(schema, request=False) == {"id": "string", "name": "string"}


def test_recursion_is_bounded() -> None:
    value = synthesize({"$ref": "#/$defs/Node"}, DEFS, include_optional=True)
    assert_valid(value, {"$ref": "#/$defs/Node"}, DEFS)
    assert len(json.dumps(value)) < 2000


def test_synthesizer_caches_and_returns_fresh_copies() -> None:
    synth = Synthesizer(DEFS)
    first = synth.value({"$ref": "#/$defs/Money"})
    first["amount"] = 0
    assert synth.value({"$ref": "#/$defs/Money"}) == {"amount": 50, "currency": "usd"}


# ---- property: generated schemas ----------------------------------------------------------------


def _integers() -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        multiple = draw(st.sampled_from([None, 1, 2, 5, 10]))
        witness = draw(st.integers(-1000, 1000)) * (multiple or 1)
        schema: dict[str, Any] = {"type": "integer"}
        if draw(st.booleans()):
            key = draw(st.sampled_from(["minimum", "exclusiveMinimum"]))
            schema[key] = witness - draw(st.integers(0, 20)) - (1 if key == "exclusiveMinimum" else 0)
        if draw(st.booleans()):
            key = draw(st.sampled_from(["maximum", "exclusiveMaximum"]))
            schema[key] = witness + draw(st.integers(0, 20)) + (1 if key == "exclusiveMaximum" else 0)
        if multiple:
            schema["multipleOf"] = multiple
        return schema

    return build()


def _numbers() -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        multiple = draw(st.sampled_from([None, 0.5, 0.25, 2.0]))
        witness = draw(st.integers(-400, 400)) * (multiple or 0.37)
        schema: dict[str, Any] = {"type": "number"}
        if draw(st.booleans()):
            key = draw(st.sampled_from(["minimum", "exclusiveMinimum"]))
            schema[key] = witness - draw(st.floats(0, 30)) - (0.01 if key == "exclusiveMinimum" else 0)
        if draw(st.booleans()):
            key = draw(st.sampled_from(["maximum", "exclusiveMaximum"]))
            schema[key] = witness + draw(st.floats(0, 30)) + (0.01 if key == "exclusiveMaximum" else 0)
        if multiple:
            schema["multipleOf"] = multiple
        return schema

    return build()


def _strings() -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def build(draw: st.DrawFn) -> dict[str, Any]:
        choice = draw(st.sampled_from(["plain", "format", "pattern", "enum"]))
        if choice == "format":
            return {"type": "string", "format": draw(st.sampled_from(FORMATS))}
        if choice == "pattern":
            return {"type": "string", "pattern": draw(st.sampled_from(PATTERNS))}
        if choice == "enum":
            return {
                "enum": draw(
                    st.lists(st.text(max_size=5) | st.integers() | st.none(), min_size=1, max_size=4)
                )
            }
        low = draw(st.integers(0, 30))
        schema: dict[str, Any] = {"type": "string", "minLength": low}
        if draw(st.booleans()):
            schema["maxLength"] = low + draw(st.integers(0, 10))
        return schema

    return build()


LEAVES = st.one_of(
    st.just({"$ref": "#/$defs/Sub"}),
    _integers(),
    _numbers(),
    _strings(),
    st.just({"type": "boolean"}),
    st.just({"type": "null"}),
    st.builds(lambda v: {"const": v}, st.integers() | st.text(max_size=4)),
)
NAMES = st.text("abcdefgh_", min_size=1, max_size=6)


def _extend(children: st.SearchStrategy[dict[str, Any]]) -> st.SearchStrategy[dict[str, Any]]:
    @st.composite
    def obj(draw: st.DrawFn) -> dict[str, Any]:
        props = draw(st.dictionaries(NAMES, children, max_size=4))
        required = [k for k in props if draw(st.booleans())]
        schema: dict[str, Any] = {"type": "object", "properties": props, "required": required}
        if draw(st.booleans()):
            schema["additionalProperties"] = False
        if props and draw(st.booleans()):
            schema["minProperties"] = draw(st.integers(0, len(props)))
        return schema

    @st.composite
    def arr(draw: st.DrawFn) -> dict[str, Any]:
        low = draw(st.integers(0, 3))
        schema: dict[str, Any] = {"type": "array", "items": draw(children), "minItems": low}
        if draw(st.booleans()):
            schema["maxItems"] = low + draw(st.integers(0, 2))
        return schema

    nullable = children.map(lambda c: {"anyOf": [c, {"type": "null"}]})
    typed_null = _strings().map(
        lambda s: {**s, "type": ["string", "null"]} if s.get("type") == "string" else s
    )
    one_of = st.tuples(_integers(), _strings()).map(
        lambda pair: {"oneOf": [pair[0], {**pair[1], "type": "string"} if "enum" not in pair[1] else pair[1]]}
    )

    @st.composite
    def all_of(draw: st.DrawFn) -> dict[str, Any]:
        # Two parts that together describe one object, so a value exists: the first part holds every
        # property (and may be closed), the second some of them and the rest of the required names.
        whole = draw(obj())
        props, required = whole["properties"], whole["required"]
        cut = draw(st.integers(0, len(required)))
        first = {"type": "object", "properties": props, "required": required[:cut]}
        if draw(st.booleans()):
            first["additionalProperties"] = False
        second = {"type": "object", "properties": {k: v for k, v in props.items() if draw(st.booleans())}}
        second["required"] = required[cut:]
        return {"allOf": [first, second]}

    return st.one_of(obj(), arr(), nullable, typed_null, one_of, all_of())


SCHEMAS = st.recursive(LEAVES, _extend, max_leaves=12)
SUB = st.recursive(LEAVES.filter(lambda s: "$ref" not in s), _extend, max_leaves=4)


def _satisfiable(schema: Any, defs: Mapping[str, Any]) -> bool:
    """A generated oneOf of an integer range and an enum that holds integers of that range may have no
    value in exactly one branch; that is not the synthesizer's fault. Any other invalid value is."""
    text = json.dumps([schema, defs])
    return not ('"oneOf"' in text and '"enum"' in text)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(schema=SCHEMAS, sub=SUB, include_optional=st.booleans())
def test_every_synthesized_value_validates(
    schema: dict[str, Any], sub: dict[str, Any], include_optional: bool
) -> None:
    defs = {"Sub": sub}
    value = synthesize(schema, defs, include_optional=include_optional, request=False)
    if not validator(schema, defs).is_valid(value) and not _satisfiable(schema, defs):
        return
    assert_valid(value, schema, defs)
    assert synthesize(schema, defs, include_optional=include_optional, request=False) == value


# ---- real specs -------------------------------------------------------------------------------------


def _unsatisfiable(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    """A schema whose enum has no member of its own type (it happens: Yelp's price items)."""
    if isinstance(schema.get("items"), Mapping) and schema.get("minItems"):
        return _unsatisfiable(schema["items"], defs)
    enum = schema.get("enum")
    if not isinstance(enum, list):
        return False
    rest = {k: v for k, v in schema.items() if k != "enum"}
    check = validator(rest, defs)
    return not any(check.is_valid(member) for member in enum)


def _corpus_files() -> list[Path]:
    files = sorted((CORPORA / "real-specs").glob("*")) if (CORPORA / "real-specs").is_dir() else []
    stripe = CORPORA / "stripe" / "spec3-2023-08-10.yaml"
    return [*files, *([stripe] if stripe.exists() else [])]


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize("path", _corpus_files(), ids=lambda p: p.name)
def test_every_operation_schema_of_the_corpora(path: Path) -> None:
    from crossfield.spec import load_spec

    api = load_spec(path)
    synth = Synthesizer(api.schema_defs, request=False)
    root = jsonschema.Draft202012Validator({"$defs": dict(api.schema_defs)})
    failures = []
    schemas = []
    for op in api.operations:
        if op.body_schema is not None:
            schemas.append((f"{op.id} body", op.body_schema))
        schemas.extend(
            (f"{op.id} {r.status}", r.json_schema) for r in op.responses if r.json_schema is not None
        )
        schemas.extend((f"{op.id} {p.field_path}", p.schema) for p in op.parameters)
    for name, schema in schemas:
        for include_optional in (False, True):
            value = synth.value(schema, include_optional=include_optional)
            check = root.evolve(schema={**schema, "$defs": dict(api.schema_defs)})
            if not check.is_valid(value) and not _unsatisfiable(schema, api.schema_defs):
                failures.append(
                    f"{name} ({include_optional}): {next(check.iter_errors(value)).message[:200]}"
                )
    assert not failures, f"{len(failures)} of {2 * len(schemas)} invalid:\n" + "\n".join(failures[:20])


# ---- overrides ---------------------------------------------------------------------------------------


def test_split_path() -> None:
    assert split_path("items.0.price") == ["items", "0", "price"]
    assert split_path("items[0].price") == ["items", "0", "price"]
    assert split_path("items[].price") == ["items", "0", "price"]
    assert split_path(".amount.") == ["amount"]


def test_overrides_set_nested_paths_and_indices() -> None:
    body = {"amount": 50, "items": [{"price": 1, "quantity": 1}], "meta": {"a": 1}}
    out = apply_overrides(body, {"amount": 1000, "items.0.quantity": 3, "meta.b.c": True, "tags.1": "x"})
    assert out == {
        "amount": 1000,
        "items": [{"price": 1, "quantity": 3}],
        "meta": {"a": 1, "b": {"c": True}},
        "tags": [None, "x"],
    }
    assert body["amount"] == 50, "the input is not modified"


def test_omit_wins_over_overrides_and_removes_list_items() -> None:
    body = {"a": 1, "b": {"c": 2, "d": 3}, "l": [1, 2, 3]}
    out = apply_overrides(body, {"a": 9}, ["a", "b.c", "l.1", "missing.path"])
    assert out == {"b": {"d": 3}, "l": [1, 3]}


def test_missing_parents_are_synthesized_from_the_schema() -> None:
    schema = {
        "type": "object",
        "properties": {
            "bank_account": {
                "type": "object",
                "required": ["holder", "number"],
                "properties": {
                    "holder": {"type": "string"},
                    "number": {"type": "string", "pattern": r"^\d{9}$"},
                },
            },
            "items": {"type": "array", "items": {"$ref": "#/$defs/Money"}},
        },
    }
    out = apply_overrides({}, {"bank_account.holder": "Jane", "items.1.amount": 70}, schema=schema, defs=DEFS)
    assert out["bank_account"] == {"holder": "Jane", "number": "000000000"}
    assert out["items"] == [{"amount": 50, "currency": "usd"}, {"amount": 70, "currency": "usd"}]


def test_whole_body_override() -> None:
    assert apply_overrides({"a": 1}, {"": [1, 2]}) == [1, 2]


def test_patterns_really_match() -> None:
    for pattern in PATTERNS:
        value = synthesize({"type": "string", "pattern": pattern})
        assert re.search(pattern, value), (pattern, value)


def test_a_request_need_not_send_required_read_only_properties() -> None:
    schema = {
        "type": "object",
        "required": ["id", "title"],
        "properties": {"id": {"type": "string", "readOnly": True}, "title": {"type": "string"}},
    }
    synth = Synthesizer()
    assert synth.is_valid_request({"title": "x"}, schema)
    assert not synth.is_valid({"title": "x"}, schema)
    assert not synth.is_valid_request({}, schema), "a writable required property is still required"
    assert not synth.is_valid_request({"title": 3}, schema)
