"""Flattening schemas into `Field`s with dotted paths (`body.items[].price`).

Composition is merged the way a reader understands it: `allOf` contributes all its properties, `oneOf` /
`anyOf` contribute theirs as optional. Recursion stops at a schema already on the current path and at a
depth limit, so recursive and very deep schemas (Stripe's expandable objects) stay bounded.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from crossfield.spec._source import escape_token, split_pointer
from crossfield.spec.model import Field, Location, new_field

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


def merged_object(
    schema: Mapping[str, Any], defs: Mapping[str, Any], _depth: int = 0
) -> tuple[dict[str, Any], set[str]]:
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


def property_origins(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, tuple[str | None, str]]:
    """Where each property `merged_object` finds is written, as `(ref, rel)`: the `$ref` of the definition
    it sits in (None: the schema itself) and the pointer from there to the object holding its `properties`
    (`""`, `/allOf/1`, ...). Lets a field's pointer lead to the text a reader can find."""
    out: dict[str, tuple[str | None, str]] = {}
    _collect_origins(schema, defs, None, "", out, 0)
    return out


def _collect_origins(
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    anchor: str | None,
    rel: str,
    out: dict[str, tuple[str | None, str]],
    depth: int,
) -> None:
    for _ in range(32):  # follow a chain of references, as `resolve_local` does
        ref = schema.get("$ref")
        if not isinstance(ref, str) or not ref.startswith("#/$defs/"):
            break
        target = defs.get(split_pointer(ref[1:])[1])
        if not isinstance(target, Mapping):
            break
        schema, anchor, rel = target, ref, ""
    props = schema.get("properties")
    if isinstance(props, Mapping):
        for name in props:
            out.setdefault(name, (anchor, rel))
    if depth > 16:
        return
    for key in ("allOf", "oneOf", "anyOf"):
        subs = schema.get(key)
        if isinstance(subs, list):
            for i, sub in enumerate(subs):
                if isinstance(sub, Mapping):
                    _collect_origins(sub, defs, anchor, f"{rel}/{key}/{i}", out, depth + 1)


def schema_type(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> tuple[str | None, bool]:
    """(main type, nullable). Infers `object`/`array` from structure when `type` is absent."""
    schema = resolve_local(schema, defs)
    t = schema.get("type")
    nullable = False
    if isinstance(t, list):
        nullable = "null" in t
        rest = [x for x in t if x != "null"]
        t = rest[0] if rest else None
    elif t == "null":
        return None, True
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


_NUMERIC = (int, float)

_CONSTRAINTS = (
    "enum",
    "format",
    "pattern",
    "minimum",
    "maximum",
    "exclusiveMinimum",
    "exclusiveMaximum",
    "minLength",
    "maxLength",
    "minItems",
    "maxItems",
    "default",
    "examples",
)


def _with_wrapped(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> Mapping[str, Any]:
    """`{"allOf": [{"$ref": "#/.../Money"}], "readOnly": true}` is how OpenAPI 3.0 adds a keyword to a
    referenced schema: the field is a `Money`, so its pattern, enum and bounds apply. Constraints the
    schema states itself win; those of the `allOf` members fill the rest."""
    subs = schema.get("allOf")
    if not isinstance(subs, list) or "properties" in schema:
        return schema
    merged: dict[str, Any] | None = None
    for sub in subs:
        if not isinstance(sub, Mapping):
            continue
        member = _with_wrapped(resolve_local(sub, defs), defs)
        for key in _CONSTRAINTS:
            if key in member and key not in schema and (merged is None or key not in merged):
                if merged is None:
                    merged = dict(schema)
                merged[key] = member[key]
    return merged if merged is not None else schema


class FieldFactory:
    """Builds `Field`s for one API, remembering what each schema object contributes.

    Specs reuse schemas heavily (Stripe's 454 operations flatten to ~63k fields over a few thousand
    distinct schema objects), so the per-schema work (resolving `$ref`s, folding `allOf`, reading bounds)
    is done once per schema object. Entries keep a reference to their schema so an `id()` is never reused
    while the factory lives.
    """

    def __init__(self, defs: Mapping[str, Any], sources: Mapping[str, str] | None = None) -> None:
        self.defs = defs
        self.sources = sources if sources is not None else {}
        self._info: dict[int, tuple[Mapping[str, Any], _Info]] = {}
        self._fields: dict[tuple[Any, ...], Field] = {}

    def def_pointer(self, ref: str) -> str | None:
        """Where the schema behind a `#/$defs/<name>` reference is written in the source document."""
        if not ref.startswith("#/$defs/"):
            return None
        return self.sources.get(split_pointer(ref[1:])[1])

    def info(self, schema: Mapping[str, Any]) -> _Info:
        hit = self._info.get(id(schema))
        if hit is not None and hit[0] is schema:
            return hit[1]
        info = _Info(schema, self.defs)
        self._info[id(schema)] = (schema, info)
        return info

    def field(
        self,
        path: str,
        location: Location,
        name: str,
        schema: Mapping[str, Any],
        *,
        required: bool,
        pointer: str,
        description: str = "",
        info: _Info | None = None,
    ) -> Field:
        # Fields below a shared schema come out identical in every operation that reaches them (same path,
        # same definition site): they are built once and shared, which keeps a large spec's model, and its
        # cache, a fraction of the size.
        key = (path, location, pointer, required, description, id(schema))
        hit = self._fields.get(key)
        if hit is not None and hit.schema is schema:
            return hit
        i = info if info is not None else self.info(schema)
        made = new_field(
            path,
            location,
            name,
            i.type,
            i.format,
            i.enum,
            i.minimum,
            i.maximum,
            i.exclusive_minimum,
            i.exclusive_maximum,
            i.min_length,
            i.max_length,
            i.min_items,
            i.max_items,
            i.pattern,
            required,
            i.nullable,
            i.read_only,
            i.write_only,
            i.default,
            i.examples,
            description.strip() if description else i.description,
            pointer,
            schema,
        )
        self._fields[key] = made
        return made


class _Info:
    """What one schema object contributes to a field and to the walk below it."""

    __slots__ = (
        "default",
        "description",
        "enum",
        "examples",
        "exclusive_maximum",
        "exclusive_minimum",
        "format",
        "items",
        "max_items",
        "max_length",
        "maximum",
        "min_items",
        "min_length",
        "minimum",
        "nullable",
        "origins",
        "pattern",
        "props",
        "read_only",
        "ref",
        "required",
        "type",
        "write_only",
    )

    def __init__(self, schema: Mapping[str, Any], defs: Mapping[str, Any]) -> None:
        resolved = _with_wrapped(resolve_local(schema, defs), defs)
        t, nullable = schema_type(resolved, defs)
        enum = resolved.get("enum")
        examples = resolved.get("examples")
        self.type = t
        self.format = _str(resolved.get("format"))
        self.enum = tuple(enum) if isinstance(enum, list) else None
        self.minimum = _num(resolved.get("minimum"))
        self.maximum = _num(resolved.get("maximum"))
        self.exclusive_minimum = _num(resolved.get("exclusiveMinimum"))
        self.exclusive_maximum = _num(resolved.get("exclusiveMaximum"))
        self.min_length = _int(resolved.get("minLength"))
        self.max_length = _int(resolved.get("maxLength"))
        self.min_items = _int(resolved.get("minItems"))
        self.max_items = _int(resolved.get("maxItems"))
        self.pattern = _str(resolved.get("pattern"))
        self.nullable = nullable or (isinstance(enum, list) and None in enum)
        self.read_only = bool(resolved.get("readOnly") or schema.get("readOnly"))
        self.write_only = bool(resolved.get("writeOnly") or schema.get("writeOnly"))
        self.default = resolved.get("default")
        self.examples = tuple(examples[:5]) if isinstance(examples, list) else ()
        self.description = (
            _str(schema.get("description")) or _str(resolved.get("description")) or ""
        ).strip()
        ref = schema.get("$ref")
        self.ref = ref if isinstance(ref, str) else None
        self.items: Mapping[str, Any] | None = None
        self.props: tuple[tuple[str, Mapping[str, Any]], ...] = ()
        self.origins: tuple[tuple[str | None, str], ...] = ()
        self.required: frozenset[str] = frozenset()
        if t == "array":
            items = resolved.get("items")
            self.items = items if isinstance(items, Mapping) else None
        elif t == "object":
            props, required = merged_object(resolved, defs)
            origins = property_origins(schema, defs)
            self.props = tuple((k, v) for k, v in props.items() if isinstance(v, Mapping))
            self.origins = tuple(origins.get(k, (None, "")) for k, _ in self.props)
            self.required = frozenset(required)


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
    factory: FieldFactory | None = None,
) -> Field:
    factory = factory or FieldFactory(defs)
    return factory.field(
        path, location, name, schema, required=required, pointer=pointer, description=description
    )


def flatten(
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    *,
    prefix: str,
    location: Location,
    pointer: str,
    factory: FieldFactory | None = None,
) -> list[Field]:
    """Every property below `schema`, as fields whose paths start with `prefix`."""
    out: list[Field] = []
    max_depth = MAX_DEPTH.get(location, 6)
    _walk(factory or FieldFactory(defs), schema, prefix, location, pointer, out, frozenset(), 0, max_depth)
    return out


def _walk(
    factory: FieldFactory,
    schema: Mapping[str, Any],
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
    info = factory.info(schema)
    if info.ref is not None:
        if info.ref in active:
            return
        active = active | {info.ref}
        # Below a reference, pointers lead to where the schema is written, which is a pointer a reader can
        # follow in the document (the path through the `$ref` is not one).
        pointer = factory.def_pointer(info.ref) or pointer
    if info.items is not None:
        _walk(factory, info.items, prefix + "[]", location, pointer + "/items", out, active, depth, max_depth)
        return
    required = info.required
    for (name, sub), (anchor, rel) in zip(info.props, info.origins, strict=True):
        if len(out) >= MAX_FIELDS:
            return
        path = f"{prefix}.{name}"
        base = (factory.def_pointer(anchor) if anchor is not None else pointer) or pointer
        sub_pointer = f"{base}{rel}/properties/{escape_token(name) if '/' in name or '~' in name else name}"
        sub_info = factory.info(sub)
        out.append(
            factory.field(
                path, location, name, sub, required=name in required, pointer=sub_pointer, info=sub_info
            )
        )
        if sub_info.ref is not None and sub_info.ref in active:
            continue
        if sub_info.items is not None or sub_info.props:
            _walk(factory, sub, path, location, sub_pointer, out, active, depth + 1, max_depth)


def _str(v: Any) -> str | None:
    return v if isinstance(v, str) else None


def _num(v: Any) -> float | None:
    return v if isinstance(v, _NUMERIC) and not isinstance(v, bool) else None


def _int(v: Any) -> int | None:
    return v if isinstance(v, int) and not isinstance(v, bool) else None
