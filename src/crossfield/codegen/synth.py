"""Deterministic synthesis of valid values from JSON Schema.

The code generator embeds request bodies as literal dicts at compile time, so the value it picks must be
valid for the operation's schema (a test that "sends an invalid body" by accident proves nothing) and
stable (the same spec must give byte-identical tests). Hence: no randomness, and the choices a reader
expects come first: `const`, the spec's own examples, its default, the first enum member, then a value
built from the type and its constraints (formats, numeric bounds, lengths, simple patterns, item counts).

Schemas are the spec model's JSON Schema: `$ref`s point at `#/$defs/<Name>` in the api's `schema_defs`.
Recursive schemas are safe: a `$ref` may be expanded at most twice on the current path, after which the
smallest value of the right shape is used.
"""

from __future__ import annotations

import copy
import importlib
import json
import math
import re
from collections.abc import Iterable, Mapping
from typing import Any

import jsonschema

__all__ = ["Synthesizer", "apply_overrides", "split_path", "synthesize"]

JSON = Any
_NUMERIC_LOW = ("minimum", "exclusiveMinimum", "minLength", "minItems", "minProperties", "minContains")
_NUMERIC_HIGH = ("maximum", "exclusiveMaximum", "maxLength", "maxItems", "maxProperties", "maxContains")
_MAX_REF_REPEATS = 2
_NODE_BUDGET = 5_000
_OPTIONAL_DEPTH = 3  # include_optional reaches objects this deep (the body, its objects, theirs)

# One sample per format; `{n}` is replaced by a variant number when distinct values are needed.
_FORMAT_SAMPLES: dict[str, str] = {
    "date-time": "2024-01-0{d}T12:00:00Z",
    "date": "2024-01-0{d}",
    "time": "12:00:0{d}Z",
    "duration": "P{n}D",
    "email": "user{n}@example.com",
    "idn-email": "user{n}@example.com",
    "hostname": "host{n}.example.com",
    "idn-hostname": "host{n}.example.com",
    "ipv4": "192.0.2.{n1}",
    "ipv6": "2001:db8::{n1}",
    "uri": "https://example.com/{n}",
    "url": "https://example.com/{n}",
    "iri": "https://example.com/{n}",
    "uri-reference": "/example/{n}",
    "iri-reference": "/example/{n}",
    "uri-template": "https://example.com/{{id}}/{n}",
    "uuid": "3fa85f64-5717-4562-b3fc-2c963f66afa{d}",
    "json-pointer": "/example/{n}",
    "relative-json-pointer": "0/example",
    "regex": "^example{n}$",
    "byte": "ZXhhbXBsZQ==",
    "binary": "example{n}",
    "password": "Passw0rd!{n}",
    "int32": "{n}",
    "int64": "{n}",
    "decimal": "{n}.5",
    "currency": "usd",
}


def synthesize(
    schema: Mapping[str, JSON] | bool,
    defs: Mapping[str, Mapping[str, JSON]] | None = None,
    *,
    include_optional: bool = False,
    request: bool = True,
) -> JSON:
    """A valid value for `schema` (best effort for schemas no value satisfies), always the same one.

    `include_optional` adds optional object properties too (recursion-safe). `request=True` leaves out
    `readOnly` properties, which a client must not send.
    """
    return Synthesizer(defs, request=request).value(schema, include_optional=include_optional)


class Synthesizer:
    """Synthesis with caches shared across many schemas of one API (the compiler keeps one per run)."""

    def __init__(self, defs: Mapping[str, Mapping[str, JSON]] | None = None, *, request: bool = True) -> None:
        self.defs: Mapping[str, Mapping[str, JSON]] = defs or {}
        self.request = request
        self._validators: dict[str, Any] = {}
        self._results: dict[tuple[str, bool], JSON] = {}
        self._stack: list[str] = []
        self._budget = _NODE_BUDGET
        self._include_optional = False
        self._object_depth = 0

    # ---- public -----------------------------------------------------------------------------------

    def value(self, schema: Mapping[str, JSON] | bool, *, include_optional: bool = False) -> JSON:
        """A valid value for `schema`. A standalone schema's own root `$defs` join this API's `$defs`."""
        own = schema.get("$defs") if isinstance(schema, Mapping) else None
        if isinstance(own, Mapping) and any(self.defs.get(k) != v for k, v in own.items()):
            self.defs = {**self.defs, **own}
            self._validators.clear()
            self._results.clear()
        key = (_canonical(schema), include_optional)
        if key not in self._results:
            self._stack = []
            self._budget = _NODE_BUDGET
            self._include_optional = include_optional
            self._object_depth = 0
            self._results[key] = self._gen(schema, 0, 0)
        return json.loads(json.dumps(self._results[key]))  # a fresh copy, faster than deepcopy

    def is_valid(self, value: JSON, schema: Mapping[str, JSON] | bool) -> bool:
        """True when `value` validates against `schema` (formats checked too), with this API's `$defs`."""
        try:
            return bool(self._validator(schema).is_valid(value))
        except Exception:  # an invalid, unresolvable or exotic schema: treat the value as unproven
            return False

    def is_valid_request(self, value: JSON, schema: Mapping[str, JSON] | bool) -> bool:
        """`is_valid` for a request: a required property marked `readOnly` (a shared request/response
        schema's `id`) need not be sent."""
        try:
            errors = list(self._validator(schema).iter_errors(value))
        except Exception:  # as in is_valid
            return False
        for error in errors:
            if error.validator != "required" or not isinstance(error.schema, Mapping):
                return False
            props = error.schema.get("properties")
            missing = [
                n
                for n in error.validator_value
                if isinstance(error.instance, dict) and n not in error.instance
            ]
            for name in missing:
                sub = props.get(name) if isinstance(props, Mapping) else None
                if not isinstance(sub, Mapping) or not self._read_only(sub):
                    return False
        return True

    def resolve(self, schema: Mapping[str, JSON] | bool) -> Mapping[str, JSON] | bool:
        """Follow `$ref` chains (with sibling keywords merged in)."""
        seen = 0
        while isinstance(schema, Mapping) and isinstance(schema.get("$ref"), str) and seen < 32:
            target = self._target(str(schema["$ref"]))
            if target is None:
                return schema
            siblings = {k: v for k, v in schema.items() if k != "$ref"}
            schema = {**target, **siblings} if siblings else target
            seen += 1
        return schema

    def subschema(self, schema: Mapping[str, JSON] | bool, token: str) -> Mapping[str, JSON] | bool | None:
        """The schema of child `token` (a property name or an array index) of a value of `schema`."""
        node = self.resolve(schema)
        if not isinstance(node, Mapping):
            return {} if node else None
        if "allOf" in node:
            node = self._flatten_all_of(node)
        if token.isdigit():
            prefix = node.get("prefixItems")
            if isinstance(prefix, list) and int(token) < len(prefix):
                return prefix[int(token)]  # type: ignore[no-any-return]
            items = node.get("items")
            if isinstance(items, Mapping | bool):
                return items
        props = node.get("properties")
        if isinstance(props, Mapping) and token in props:
            return props[token]  # type: ignore[no-any-return]
        for key in ("oneOf", "anyOf"):
            for branch in node.get(key) or ():
                if isinstance(branch, Mapping | bool):
                    found = self.subschema(branch, token)
                    if found is not None:
                        return found
        extra = node.get("additionalProperties")
        if isinstance(extra, Mapping):
            return extra
        return None

    # ---- generation -------------------------------------------------------------------------------

    def _gen(self, schema: Mapping[str, JSON] | bool, depth: int, variant: int) -> JSON:
        self._budget -= 1
        if isinstance(schema, bool):
            return "value" if schema else None
        if not isinstance(schema, Mapping):
            return "value"
        ref = schema.get("$ref")
        if isinstance(ref, str):
            return self._gen_ref(schema, ref, depth, variant)
        if "const" in schema:
            return copy.deepcopy(schema["const"])
        picked = self._from_spec_values(schema, variant)
        if picked is not _NOTHING:
            return picked
        if isinstance(schema.get("allOf"), list):
            return self._gen(self._flatten_all_of(schema), depth, variant)
        for key in ("oneOf", "anyOf"):
            if isinstance(schema.get(key), list):
                return self._gen_choice(schema, key, depth, variant)
        if depth > 24 or self._budget <= 0:
            return self._minimal(schema)
        return self._gen_typed(schema, depth, variant)

    def _gen_ref(self, schema: Mapping[str, JSON], ref: str, depth: int, variant: int) -> JSON:
        target = self._target(ref)
        if target is None:
            return "value"
        siblings = {
            k: v for k, v in schema.items() if k not in ("$ref", "description", "readOnly", "writeOnly")
        }
        merged: Mapping[str, JSON] = self._merge(target, siblings) if siblings else target
        if self._stack.count(ref) >= _MAX_REF_REPEATS:
            return self._minimal(merged)
        self._stack.append(ref)
        try:
            return self._gen(merged, depth + 1, variant)
        finally:
            self._stack.pop()

    def _from_spec_values(self, schema: Mapping[str, JSON], variant: int) -> JSON:
        """The spec's own examples, default and enum members, when they validate."""
        examples = schema.get("examples")
        if isinstance(examples, list) and examples:
            valid = [e for e in examples if self.is_valid(e, schema)]
            if valid and (variant == 0 or len(valid) > 1):
                return copy.deepcopy(valid[variant % len(valid)])
        if variant == 0 and "default" in schema and self.is_valid(schema["default"], schema):
            return copy.deepcopy(schema["default"])
        enum = schema.get("enum")
        if isinstance(enum, list) and enum:
            members = [e for e in enum if e is not None] or list(enum)
            valid = [e for e in members if self.is_valid(e, schema)] or members
            return copy.deepcopy(valid[variant % len(valid)])
        return _NOTHING

    def _gen_choice(self, schema: Mapping[str, JSON], key: str, depth: int, variant: int) -> JSON:
        """oneOf/anyOf: the first branch (non-null ones first) whose value validates the whole schema."""
        base = {k: v for k, v in schema.items() if k != key}
        branches = [b for b in schema[key] if isinstance(b, Mapping | bool)]
        branches.sort(key=lambda b: self._is_null_only(b))
        first: JSON = _NOTHING
        for branch in branches:
            resolved = self.resolve(branch)
            if resolved is False:
                continue
            merged = self._merge(base, resolved) if isinstance(resolved, Mapping) else dict(base)
            candidate = self._gen(merged, depth + 1, variant)
            if first is _NOTHING:
                first = candidate
            if self.is_valid(candidate, schema):
                return candidate
            if key == "oneOf" and not self._include_optional:
                # Valid for several branches: the branch's optional properties usually tell them apart.
                self._include_optional = True
                try:
                    candidate = self._gen(merged, depth + 1, variant)
                finally:
                    self._include_optional = False
                if self.is_valid(candidate, schema):
                    return candidate
        return None if first is _NOTHING else first

    def _gen_typed(self, schema: Mapping[str, JSON], depth: int, variant: int) -> JSON:
        types = _types(schema)
        first: JSON = _NOTHING
        for kind in types:
            value = self._gen_kind(kind, schema, depth, variant)
            if first is _NOTHING:
                first = value
            if len(types) == 1 or self.is_valid(value, schema):
                return value
        return first

    def _gen_kind(self, kind: str, schema: Mapping[str, JSON], depth: int, variant: int) -> JSON:
        if kind == "null":
            return None
        if kind == "boolean":
            return variant % 2 == 0
        if kind in ("integer", "number"):
            return self._number(schema, integer=kind == "integer", variant=variant)
        if kind == "string":
            return self._string(schema, variant)
        if kind == "array":
            return self._array(schema, depth, variant)
        if kind == "object":
            return self._object(schema, depth, variant)
        return "value"

    # ---- scalars ----------------------------------------------------------------------------------

    def _number(self, schema: Mapping[str, JSON], *, integer: bool, variant: int) -> int | float:
        """The lower bound when there is one (50 for `minimum: 50`), else 1, within every bound."""
        low, low_open = _bound(schema, "minimum", "exclusiveMinimum", max)
        high, high_open = _bound(schema, "maximum", "exclusiveMaximum", min)
        if integer:
            if low is not None:
                low, low_open = (math.floor(low) + 1 if low_open else math.ceil(low)), False
            if high is not None:
                high, high_open = (math.ceil(high) - 1 if high_open else math.floor(high)), False

        def fits(value: float) -> bool:
            above = low is None or (value > low if low_open else value >= low)
            below = high is None or (value < high if high_open else value <= high)
            return above and below

        if low is not None:
            start = low + 1 if low_open else low
        elif high is not None:
            start = min(1.0, high - 1 if high_open else high)
        else:
            start = 1.0
        start += variant
        if not fits(start):
            if low is not None and high is not None:
                start = (low + high) / 2 if not integer else math.ceil((low + high) / 2)
            elif high is not None:
                start = high - 1 if high_open else high
        multiple = _num(schema.get("multipleOf"))
        numeric = {k: schema[k] for k in (*_NUMERIC_LOW[:2], *_NUMERIC_HIGH[:2], "multipleOf") if k in schema}
        numeric["type"] = "integer" if integer else "number"
        for candidate in _number_candidates(start, multiple, integer, high):
            if self.is_valid(candidate, numeric):
                return candidate
        return _tidy_number(start, integer)

    def _string(self, schema: Mapping[str, JSON], variant: int) -> str:
        min_len = _int(schema.get("minLength")) or 0
        max_len = _int(schema.get("maxLength"))
        pattern = schema.get("pattern")
        fmt = schema.get("format")
        candidates: list[str] = []
        if isinstance(pattern, str):
            candidates.extend(_pattern_samples(pattern, min_len, max_len, variant))
        if isinstance(fmt, str) and fmt in _FORMAT_SAMPLES:
            candidates.append(_format_sample(fmt, variant))
        base = "string" if variant == 0 else f"string{variant}"
        candidates.append(base)
        for candidate in candidates:
            fitted = _fit_length(candidate, min_len, max_len)
            if self.is_valid(fitted, schema):
                return fitted
        return _fit_length(candidates[0], min_len, max_len)

    # ---- containers -------------------------------------------------------------------------------

    def _array(self, schema: Mapping[str, JSON], depth: int, variant: int) -> list[JSON]:
        min_items = _int(schema.get("minItems")) or 0
        max_items = _int(schema.get("maxItems"))
        prefix = [p for p in schema.get("prefixItems") or () if isinstance(p, Mapping | bool)]
        items = schema.get("items", {})
        can_grow = items is not False and (max_items is None or max_items >= 1)
        count = max(min_items, 1 if can_grow and self._budget > 0 else 0)
        if max_items is not None:
            count = min(count, max(max_items, min_items))
        if items is False:
            count = min(count, len(prefix))
        unique = schema.get("uniqueItems") is True
        out: list[JSON] = []
        for index in range(count):
            sub = (
                prefix[index] if index < len(prefix) else (items if isinstance(items, Mapping | bool) else {})
            )
            value = self._gen(sub, depth + 1, variant + index if unique else variant)
            tries = 0
            while unique and value in out and tries < 8:
                tries += 1
                value = self._gen(sub, depth + 1, variant + index + tries * count)
            out.append(value)
        if len(out) > min_items and isinstance(items, Mapping) and not prefix:
            # An optional item no value of the item schema satisfies (Yelp's `enum: [1, 2]` of strings).
            while len(out) > min_items and not self.is_valid(out[-1], items):
                out.pop()
        contains = schema.get("contains")
        if isinstance(contains, Mapping) and out and not any(self.is_valid(v, contains) for v in out):
            base = items if isinstance(items, Mapping) else {}
            out[0] = self._gen(self._merge(base, contains), depth + 1, variant)
        elif isinstance(contains, Mapping) and not out:
            out.append(self._gen(contains, depth + 1, variant))
        return out

    def _object(self, schema: Mapping[str, JSON], depth: int, variant: int) -> dict[str, JSON]:
        self._object_depth += 1
        try:
            return self._object_inner(schema, depth, variant)
        finally:
            self._object_depth -= 1

    def _object_inner(self, schema: Mapping[str, JSON], depth: int, variant: int) -> dict[str, JSON]:
        props = schema.get("properties")
        props = props if isinstance(props, Mapping) else {}
        required = [r for r in schema.get("required") or () if isinstance(r, str)]
        wanted = set(required)
        if self._include_optional and self._object_depth < _OPTIONAL_DEPTH:
            wanted |= {name for name, sub in props.items() if self._optional_ok(sub)}
        wanted |= self._dependent_required(schema, wanted)
        order = [name for name in props if name in wanted] + [r for r in required if r not in props]
        min_props = _int(schema.get("minProperties")) or 0
        if len(order) < min_props:
            spare = [name for name, sub in props.items() if name not in wanted and self._optional_ok(sub)]
            order.extend(spare[: min_props - len(order)])
        extra_schema = schema.get("additionalProperties", {})
        out: dict[str, JSON] = {}
        for name in order:
            sub = props.get(name, extra_schema if isinstance(extra_schema, Mapping | bool) else {})
            if self.request and self._read_only(sub):
                continue  # a client never sends read-only properties, required or not
            out[name] = self._gen(sub, depth + 1, variant)
        number = 1
        while len(out) < min_props and extra_schema is not False and number < 100:
            key = f"property{number}"
            if key not in out:
                out[key] = self._gen(
                    extra_schema if isinstance(extra_schema, Mapping) else {}, depth + 1, variant
                )
            number += 1
        return out

    def _optional_ok(self, sub: JSON) -> bool:
        """An optional property is synthesized unless it is read-only (requests) or would recurse."""
        if not isinstance(sub, Mapping | bool) or self._budget <= 0:
            return False
        if self.request and self._read_only(sub):
            return False
        ref = sub.get("$ref") if isinstance(sub, Mapping) else None
        return not (isinstance(ref, str) and ref in self._stack)

    def _dependent_required(self, schema: Mapping[str, JSON], present: set[str]) -> set[str]:
        deps = schema.get("dependentRequired")
        if not isinstance(deps, Mapping):
            return set()
        added: set[str] = set()
        changed = True
        while changed:
            changed = False
            for name, needs in deps.items():
                if name in present | added and isinstance(needs, list):
                    for need in needs:
                        if isinstance(need, str) and need not in present | added:
                            added.add(need)
                            changed = True
        return added

    def _read_only(self, sub: JSON) -> bool:
        if isinstance(sub, Mapping) and sub.get("readOnly") is True:
            return True
        resolved = self.resolve(sub) if isinstance(sub, Mapping | bool) else sub
        return isinstance(resolved, Mapping) and resolved.get("readOnly") is True

    # ---- helpers ----------------------------------------------------------------------------------

    def _minimal(self, schema: Mapping[str, JSON] | bool, level: int = 0) -> JSON:
        """The smallest value of the right shape: where recursion or the size budget stops. Required
        properties are still filled in (to a bounded depth: a cycle of required properties never ends)."""
        resolved = self.resolve(schema)
        if not isinstance(resolved, Mapping):
            return None
        if "allOf" in resolved:
            resolved = self._flatten_all_of(resolved)
        if "const" in resolved:
            return copy.deepcopy(resolved["const"])
        enum = resolved.get("enum")
        if isinstance(enum, list) and enum:
            return copy.deepcopy(enum[0])
        types = _types(resolved)
        if "null" in types or self._allows_null(resolved):
            return None
        kind = types[0]
        if kind == "object":
            props = resolved.get("properties")
            props = props if isinstance(props, Mapping) else {}
            out: dict[str, JSON] = {}
            if level < 8:
                for name in resolved.get("required") or ():
                    if isinstance(name, str):
                        sub = props.get(name, {})
                        out[name] = self._minimal(sub, level + 1) if isinstance(sub, Mapping | bool) else None
            return out
        if kind == "array":
            count = _int(resolved.get("minItems")) or 0
            items = resolved.get("items", {})
            if count and level < 8 and isinstance(items, Mapping | bool):
                return [self._minimal(items, level + 1) for _ in range(count)]
            return []
        if kind == "string":
            return self._string(resolved, 0)
        if kind in ("integer", "number"):
            return self._number(resolved, integer=kind == "integer", variant=0)
        if kind == "boolean":
            return True
        return None

    def _allows_null(self, schema: Mapping[str, JSON]) -> bool:
        for key in ("anyOf", "oneOf"):
            for branch in schema.get(key) or ():
                if isinstance(branch, Mapping | bool) and self._is_null_only(branch):
                    return True
        return False

    def _is_null_only(self, schema: Mapping[str, JSON] | bool) -> bool:
        resolved = self.resolve(schema)
        return isinstance(resolved, Mapping) and resolved.get("type") == "null"

    def _flatten_all_of(self, schema: Mapping[str, JSON]) -> dict[str, JSON]:
        """Fold `allOf` (nested ones too, and `$ref` parts) into one schema.

        A part with `additionalProperties: false` admits only its own properties, so the folded schema
        keeps only the properties every closed part admits."""
        base = {k: v for k, v in schema.items() if k != "allOf"}
        allowed = _closed_names(base)
        pending = list(schema.get("allOf") or ())
        rounds = 0
        while pending and rounds < 256:
            rounds += 1
            resolved = self.resolve(pending.pop(0))
            if not isinstance(resolved, Mapping):
                continue
            nested = resolved.get("allOf")
            if isinstance(nested, list):
                pending.extend(nested)
                resolved = {k: v for k, v in resolved.items() if k != "allOf"}
            names = _closed_names(resolved)
            if names is not None:
                allowed = names if allowed is None else allowed & names
            base = self._merge(base, resolved)
        base.pop("allOf", None)
        props = base.get("properties")
        if allowed is not None and isinstance(props, Mapping):
            base["properties"] = {k: v for k, v in props.items() if k in allowed}
        return base

    def _merge(self, a: Mapping[str, JSON], b: Mapping[str, JSON]) -> dict[str, JSON]:
        """Both schemas at once, as far as a generator needs: the conjunction of their constraints."""
        out = dict(a)
        for key, value in b.items():
            if key not in out:
                out[key] = value
                continue
            current = out[key]
            if key == "properties" and isinstance(current, Mapping) and isinstance(value, Mapping):
                merged = dict(current)
                for name, sub in value.items():
                    merged[name] = {"allOf": [merged[name], sub]} if name in merged else sub
                out[key] = merged
            elif key == "required" and isinstance(current, list) and isinstance(value, list):
                out[key] = [*current, *(v for v in value if v not in current)]
            elif key in _NUMERIC_LOW and _num(current) is not None and _num(value) is not None:
                out[key] = max(current, value)
            elif key in _NUMERIC_HIGH and _num(current) is not None and _num(value) is not None:
                out[key] = min(current, value)
            elif key == "type":
                left, right = _as_list(current), _as_list(value)
                both = [t for t in left if t in right or (t == "integer" and "number" in right)]
                both += [t for t in right if t == "integer" and "number" in left and t not in both]
                out[key] = both[0] if len(both) == 1 else (both or left)
            elif key == "enum" and isinstance(current, list) and isinstance(value, list):
                both_enum = [v for v in current if v in value]
                out[key] = both_enum or current
            elif key == "allOf" and isinstance(current, list) and isinstance(value, list):
                out[key] = [*current, *value]
            elif key in ("items", "additionalProperties", "contains"):
                if current is False or value is False:
                    out[key] = False
                elif isinstance(current, Mapping) and isinstance(value, Mapping):
                    out[key] = {"allOf": [current, value]}
            # Two `oneOf`s (or `anyOf`s) cannot be folded into one: the first is kept (best effort).
        return out

    def _target(self, ref: str) -> Mapping[str, JSON] | None:
        for prefix in ("#/$defs/", "#/definitions/", "#/components/schemas/"):
            if ref.startswith(prefix):
                name = ref[len(prefix) :].replace("~1", "/").replace("~0", "~")
                target = self.defs.get(name)
                return target if isinstance(target, Mapping) else None
        return None

    def _validator(self, schema: Mapping[str, JSON] | bool) -> Any:
        key = _canonical(schema)
        validator = self._validators.get(key)
        if validator is None:
            if isinstance(schema, Mapping):
                root: dict[str, JSON] | bool = dict(schema)
                assert isinstance(root, dict)
                own = schema.get("$defs")
                root["$defs"] = {**self.defs, **own} if isinstance(own, Mapping) else dict(self.defs)
                if "definitions" not in root:
                    root["definitions"] = root["$defs"]
            else:
                root = schema
            validator = jsonschema.Draft202012Validator(
                root, format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER
            )
            self._validators[key] = validator
        return validator


class _Nothing:
    def __repr__(self) -> str:
        return "<nothing>"


_NOTHING: Any = _Nothing()


# ---- overrides ------------------------------------------------------------------------------------


def split_path(path: str) -> list[str]:
    """`items.0.price` / `items[0].price` -> ['items', '0', 'price']: tokens of a path inside a body."""
    text = re.sub(r"\[(\d*)\]", lambda m: "." + (m.group(1) or "0"), path.strip())
    return [token for token in text.strip(".").split(".") if token != ""]


def apply_overrides(
    body: JSON,
    overrides: Mapping[str, JSON],
    omit: Iterable[str] = (),
    *,
    schema: Mapping[str, JSON] | None = None,
    defs: Mapping[str, Mapping[str, JSON]] | None = None,
    synthesizer: Synthesizer | None = None,
) -> JSON:
    """A copy of `body` with each dotted path in `overrides` set and each path in `omit` removed.

    Paths go through objects by key and through arrays by index (`items.0.quantity`). A missing parent is
    created; with `schema` it is synthesized from the parent's schema, so the rest of it stays valid.
    Overrides are applied before omissions, so omitting a path always wins.
    """
    synth = synthesizer or (Synthesizer(defs) if schema is not None else None)
    out = copy.deepcopy(body)
    for path, value in overrides.items():
        tokens = split_path(path)
        if not tokens:
            out = copy.deepcopy(value)
            continue
        if not isinstance(out, dict | list):
            out = {}
        _set_path(out, tokens, copy.deepcopy(value), schema, synth)
    for path in omit:
        tokens = split_path(path)
        if tokens and isinstance(out, dict | list):
            _delete_path(out, tokens)
    return out


def _set_path(
    root: dict[str, JSON] | list[JSON],
    tokens: list[str],
    value: JSON,
    schema: Mapping[str, JSON] | bool | None,
    synth: Synthesizer | None,
) -> None:
    node: JSON = root
    node_schema = schema
    for index, token in enumerate(tokens):
        last = index == len(tokens) - 1
        child_schema = (
            synth.subschema(node_schema, token) if synth is not None and node_schema is not None else None
        )
        if isinstance(node, list) and token.isdigit():
            position = int(token)
            while len(node) <= position:
                node.append(_filler(child_schema, synth))
            if last:
                node[position] = value
                return
            if not isinstance(node[position], dict | list):
                node[position] = _container_for(tokens[index + 1], child_schema, synth)
            node = node[position]
        elif isinstance(node, dict):
            if last:
                node[token] = value
                return
            if not isinstance(node.get(token), dict | list):
                node[token] = _container_for(tokens[index + 1], child_schema, synth)
            node = node[token]
        else:
            return
        node_schema = child_schema


def _container_for(
    next_token: str, schema: Mapping[str, JSON] | bool | None, synth: Synthesizer | None
) -> JSON:
    if synth is not None and schema is not None:
        made = synth.value(schema)
        if isinstance(made, dict | list):
            return made
    return [] if next_token.isdigit() else {}


def _filler(schema: Mapping[str, JSON] | bool | None, synth: Synthesizer | None) -> JSON:
    if synth is not None and schema is not None:
        return synth.value(schema)
    return None


def _delete_path(root: dict[str, JSON] | list[JSON], tokens: list[str]) -> None:
    node: JSON = root
    for token in tokens[:-1]:
        if isinstance(node, dict) and token in node:
            node = node[token]
        elif isinstance(node, list) and token.isdigit() and int(token) < len(node):
            node = node[int(token)]
        else:
            return
    last = tokens[-1]
    if isinstance(node, dict):
        node.pop(last, None)
    elif isinstance(node, list) and last.isdigit() and int(last) < len(node):
        del node[int(last)]


# ---- small pure helpers ---------------------------------------------------------------------------


def _canonical(schema: JSON) -> str:
    return json.dumps(schema, sort_keys=True, separators=(",", ":"), default=repr)


def _closed_names(schema: Mapping[str, JSON]) -> set[str] | None:
    """The property names a closed object schema admits (None when it admits any)."""
    if schema.get("additionalProperties") is not False or schema.get("patternProperties"):
        return None
    props = schema.get("properties")
    return set(props) if isinstance(props, Mapping) else set()


def _types(schema: Mapping[str, JSON]) -> list[str]:
    declared = schema.get("type")
    if isinstance(declared, str):
        return [declared]
    if isinstance(declared, list) and declared:
        names = [t for t in declared if isinstance(t, str)]
        return [t for t in names if t != "null"] + [t for t in names if t == "null"]
    if any(
        k in schema
        for k in ("properties", "required", "additionalProperties", "minProperties", "dependentRequired")
    ):
        return ["object"]
    if any(k in schema for k in ("items", "prefixItems", "minItems", "maxItems", "contains", "uniqueItems")):
        return ["array"]
    if any(k in schema for k in ("minLength", "maxLength", "pattern", "format")):
        return ["string"]
    if any(k in schema for k in ("minimum", "maximum", "exclusiveMinimum", "exclusiveMaximum", "multipleOf")):
        return ["number"]
    return ["string"]


def _as_list(value: JSON) -> list[str]:
    if isinstance(value, str):
        return [value]
    if isinstance(value, list):
        return [v for v in value if isinstance(v, str)]
    return []


def _num(value: JSON) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def _int(value: JSON) -> int | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return int(value)


def _bound(schema: Mapping[str, JSON], closed: str, open_: str, pick: Any) -> tuple[float | None, bool]:
    """The tighter of an inclusive and an exclusive bound (`pick` is max for lower bounds, min for upper
    ones): (value, is_exclusive)."""
    inclusive, exclusive = _num(schema.get(closed)), _num(schema.get(open_))
    if exclusive is None:
        return inclusive, False
    if inclusive is None or pick(inclusive, exclusive) == exclusive:
        return exclusive, True
    return inclusive, False


def _tidy_number(value: float, integer: bool) -> int | float:
    if integer or (math.isfinite(value) and float(value).is_integer() and abs(value) < 2**53):
        return int(value)
    return value


def _number_candidates(
    start: float, multiple: float | None, integer: bool, high: float | None
) -> list[int | float]:
    if not multiple or multiple <= 0:
        return [_tidy_number(start, integer)]
    out: list[int | float] = []
    k = math.ceil(start / multiple - 1e-9)
    for step in range(64):
        value = (k + step) * multiple
        if isinstance(multiple, float) and not float(multiple).is_integer():
            value = float(repr(round(value, 12)))
        if integer:
            if abs(value - round(value)) > 1e-9:
                continue
            value = round(value)
        if high is not None and value > high and out:
            break
        out.append(_tidy_number(value, integer))
    k_down = math.floor(start / multiple + 1e-9)
    for step in range(1, 16):
        value = (k_down - step) * multiple
        out.append(_tidy_number(round(value) if integer else value, integer))
    return out


def _fit_length(text: str, min_len: int, max_len: int | None) -> str:
    if len(text) < min_len:
        text += "x" * (min_len - len(text))
    if max_len is not None and len(text) > max_len:
        text = text[:max_len]
    return text


def _format_sample(fmt: str, variant: int) -> str:
    template = _FORMAT_SAMPLES[fmt]
    return (
        template.replace("{d}", str(1 + variant % 9))
        .replace("{n1}", str(1 + variant % 250))
        .replace("{n}", str(variant))
        .replace("{{id}}", "{id}")
    )


# ---- patterns -------------------------------------------------------------------------------------

_sre: Any = importlib.import_module("re._parser")
_MAXREPEAT: Any = importlib.import_module("re._constants").MAXREPEAT
_PREFERRED = "a0A_-x1bB .@"
_CATEGORY_CHARS = {
    "CATEGORY_DIGIT": "0",
    "CATEGORY_NOT_DIGIT": "a",
    "CATEGORY_WORD": "a",
    "CATEGORY_NOT_WORD": "-",
    "CATEGORY_SPACE": " ",
    "CATEGORY_NOT_SPACE": "a",
}


def _pattern_samples(pattern: str, min_len: int, max_len: int | None, variant: int) -> list[str]:
    """Strings matching `pattern` (searched, as JSON Schema does), shortest first; [] when unsupported."""
    try:
        compiled = re.compile(pattern)
        parsed = _sre.parse(pattern)
    except (re.error, RecursionError, ValueError, OverflowError):
        return []
    out: list[str] = []
    # Repeats grow with `extra`; step through it until the sample is long enough for minLength.
    extras = [*range(0, min(max(min_len, 3), 256) + 2), 384, 512]
    for extra in extras:
        try:
            text = "".join(_emit(list(parsed), extra + variant))
        except _Unsupported:
            return []
        if max_len is not None and len(text) > max_len and len(text) > min_len:
            break
        for candidate in (text, text + "x" * max(0, min_len - len(text))):
            ok_len = min_len <= len(candidate) and (max_len is None or len(candidate) <= max_len)
            if ok_len and compiled.search(candidate) and candidate not in out:
                out.append(candidate)
        if out:
            return out
    return out


class _Unsupported(Exception):
    pass


def _emit(tokens: list[Any], extra: int) -> list[str]:
    out: list[str] = []
    for op, arg in tokens:
        name = str(op)
        if name == "LITERAL":
            out.append(chr(arg))
        elif name == "NOT_LITERAL":
            out.append("a" if chr(arg) != "a" else "b")
        elif name == "ANY":
            out.append("a")
        elif name == "IN":
            out.append(_pick_in(arg))
        elif name == "BRANCH":
            out.extend(_emit(list(arg[1][0]), extra))
        elif name == "SUBPATTERN":
            out.extend(_emit(list(arg[-1]), extra))
        elif name in ("MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"):
            low, high, sub = arg
            count = low + extra if high == _MAXREPEAT else min(high, low + extra)
            count = min(count, 1000)
            for _ in range(count):
                out.extend(_emit(list(sub), extra))
        elif name in ("AT", "ASSERT", "ASSERT_NOT"):
            continue
        elif name == "ATOMIC_GROUP":
            out.extend(_emit(list(arg), extra))
        else:
            raise _Unsupported(name)
    return out


def _pick_in(items: list[Any]) -> str:
    negate = any(str(op) == "NEGATE" for op, _ in items)
    members = [(str(op), arg) for op, arg in items if str(op) != "NEGATE"]

    def matches(ch: str) -> bool:
        code = ord(ch)
        for name, arg in members:
            if name == "LITERAL" and arg == code:
                return True
            if name == "RANGE" and arg[0] <= code <= arg[1]:
                return True
            if name == "CATEGORY" and re.fullmatch(_category_regex(str(arg)), ch):
                return True
        return False

    if negate:
        for ch in _PREFERRED + "bcdefghijklmnopqrstuvwyz23456789":
            if not matches(ch):
                return ch
        raise _Unsupported("negated class")
    for ch in _PREFERRED:
        if matches(ch):
            return ch
    name, arg = members[0]
    if name == "LITERAL":
        return chr(arg)
    if name == "RANGE":
        return chr(arg[0])
    if name == "CATEGORY":
        return _CATEGORY_CHARS.get(str(arg), "a")
    raise _Unsupported(name)


def _category_regex(category: str) -> str:
    return {
        "CATEGORY_DIGIT": r"\d",
        "CATEGORY_NOT_DIGIT": r"\D",
        "CATEGORY_WORD": r"\w",
        "CATEGORY_NOT_WORD": r"\W",
        "CATEGORY_SPACE": r"\s",
        "CATEGORY_NOT_SPACE": r"\S",
    }.get(category, r"(?!)")
