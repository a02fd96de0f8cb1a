"""Flattening schemas into `Field`s with dotted paths (`body.items[].price`).

Composition is merged the way a reader understands it: `allOf` contributes all its properties, `oneOf` /
`anyOf` contribute theirs as optional. Recursion stops at a schema already on the current path and at a
depth limit, so recursive and very deep schemas (Stripe's expandable objects) stay bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossfield.spec.model import Field, Location
from crossfield.spec._source import split_pointer

MAX_DEPTH = {"body": 8, "response": 4}
MAX_FIELDS = 1500


def resolve_local(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """Follow `#/$defs/X` references (and chains of them) in a converted schema."""
    seen = 0
    while isinstance(schema.get("$ref"), str) and seen < 32:
        ref = schema["$ref"]
        if not ref.startswith("#/$defs/"):
            return schema
        target = defs.get(split_pointer(ref[1:])[1])
        if target is None:
            return schema
        extra = {k: v for k, v in schema.items() if k != "$ref"}
        schema = {**target, **extra} if extra else target
        seen += 1
    return schema


def merged_object(schema: Mapping[str, Any], defs: Mapping[str, Any], _depth: int = 0) -> tuple[dict[str, Any], set[str]]:
    """Properties and required names of an object schema, with `allOf`/`oneOf`/`anyOf` folded in."""
    schema = resolve_local(schema, defs)
    props: dict[str, Any] = dict(schema.get("properties") or {})
    required = {r for r in schema.get("required") or () if isinstance(r, str)}
    if _depth > 16:
        return props, required
    for sub in schema.get("allOf") or ():
        if isinstance(sub, Mapping):
            p, r = merged_object(sub, defs, _depth + 1)
            for k, v in p.items():
                props.setdefault(k, v)
            required |= r
    for key in ("oneOf", "anyOf"):
        for sub in schema.get(key) or ():
            if isinstance(sub, Mapping):
                p, _ = merged_object(sub, defs, _depth + 1)
                for k, v in p.items():
                    props.setdefault(k, v)
    return props, required


def schema_type(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(main type, nullable). Infers `object`/`array` from structure when `type` is absent."""
    schema = resolve_local(schema, defs)
    t = schema.get("type")
    nullable = False
    if isinstance(t, list):
        nullable = "null" in t
        rest = [x for x in t if x != "null"]
        t = rest[0] if rest else None
    if t is None:
        for key in ("oneOf", "anyOf", "allOf"):
            subs = schema.get(key)
            if isinstance(subs, list):
                kinds = []
                for sub in subs:
                    if isinstance(sub, Mapping):
                        st, sn = schema_type(sub, defs)
                        nullable = nullable or sn
                        if st is not None:
                            kinds.append(st)
                if kinds:
                    t = kinds[0]
                    break
    if t is None:
        if "properties" in schema:
            t = "object"
        elif "items" in schema:
            t = "array"
    return (t if isinstance(t, str) else None), nullable


def make_field(
    path: str,
    location: Location,
    name: str,
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    *,
    required: bool,
    pointer: str,
    description: str = "",
) -> Field:
    resolved = resolve_local(schema, defs)
    t, nullable = schema_type(resolved, defs)
    enum = resolved.get("enum")
    examples = resolved.get("examples")
    if not isinstance(examples, list):
        examples = []
    return Field(
        path=path,
        location=location,
        name=name,
        type=t,
        format=_str(resolved.get("format")),
        enum=tuple(enum) if isinstance(enum, list) else None,
        minimum=_num(resolved.get("minimum")),
        maximum=_num(resolved.get("maximum")),
        exclusive_minimum=_num(resolved.get("exclusiveMinimum")),
        exclusive_maximum=_num(resolved.get("exclusiveMaximum")),
        min_length=_int(resolved.get("minLength")),
        max_length=_int(resolved.get("maxLength")),
        min_items=_int(resolved.get("minItems")),
        max_items=_int(resolved.get("maxItems")),
        pattern=_str(resolved.get("pattern")),
        required=required,
        nullable=nullable or (isinstance(enum, list) and None in enum),
        read_only=bool(resolved.get("readOnly") or schema.get("readOnly")),
        write_only=bool(resolved.get("writeOnly") or schema.get("writeOnly")),
        default=resolved.get("default"),
        examples=tuple(_hashable_examples(examples)),
        description=(description or _str(schema.get("description")) or _str(resolved.get("description")) or "").strip(),
        pointer=pointer,
        schema=schema,
    )


def flatten(
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    *,
    prefix: str,
    location: Location,
    pointer: str,
) -> list[Field]:
    """Every property below `schema`, as fields whose paths start with `prefix`."""
    out: list[Field] = []
    max_depth = MAX_DEPTH.get(location, 6)
    _walk(schema, defs, prefix, location, pointer, out, frozenset(), 0, max_depth)
    return out


def _walk(
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    prefix: str,
    location: Location,
    pointer: str,
    out: list[Field],
    active: frozenset[str],
    depth: int,
    max_depth: int,
) -> None:
    if depth >= max_depth or len(out) >= MAX_FIELDS:
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in active:
            return
        active = active | {ref}
    t, _ = schema_type(schema, defs)
    if t == "array":
        items = resolve_local(schema, defs).get("items")
        if isinstance(items, Mapping):
            _walk(items, defs, prefix + "[]", location, pointer + "/items", out, active, depth, max_depth)
        return
    if t != "object":
        return
    props, required = merged_object(schema, defs)
    for name, sub in props.items():
        if not isinstance(sub, Mapping) or len(out) >= MAX_FIELDS:
            continue
        path = f"{prefix}.{name}"
        sub_pointer = f"{pointer}/properties/{name}"
        out.append(make_field(path, location, name, sub, defs, required=name in required, pointer=sub_pointer))
        sub_ref = sub.get("$ref")
        if isinstance(sub_ref, str) and sub_ref in active:
            continue
        _walk(sub, defs, path, location, sub_pointer, out, active, depth + 1, max_depth)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _num(v: Any) -> float | None:
    return v if isinstance(v, int | float) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None


def _hashable_examples(examples: list[Any]) -> list[Any]:
    return examples[:5]
