"""Value constraints of a schema seen through composition, for comparing two versions of a field.

`Field` reads constraints off the top of a schema only. That is not enough to compare versions: Stripe
routinely rewrites `{type: string, maxLength: 5000}` as `anyOf: [{type: string, maxLength: 5000},
{enum: [""]}]` (an "emptyable" string), which accepts the same values, yet the top-level view says the
limit vanished. `facets` looks through `$ref`, `allOf` (the tightest bound wins) and `anyOf`/`oneOf` (each
bound from the open branches; enum-only and null branches add values to the enum but no bound).
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from typing import Any

from crossfield.spec._fields import resolve_local

_FACETS = {
    "minimum": "minimum",
    "exclusiveMinimum": "exclusive_minimum",
    "maximum": "maximum",
    "exclusiveMaximum": "exclusive_maximum",
    "minLength": "min_length",
    "maxLength": "max_length",
    "minItems": "min_items",
    "maxItems": "max_items",
    "pattern": "pattern",
}


def facets(schema: Mapping[str, Any], defs: Mapping[str, Any], _depth: int = 0) -> dict[str, Any]:
    """The value constraints a schema puts on its own value (`enum`, bounds, `pattern`), keyed by `Field`
    attribute names (`max_length`, `exclusive_minimum`, ...)."""
    s = resolve_local(schema, defs)
    out: dict[str, Any] = {attr: s[key] for key, attr in _FACETS.items() if _is_facet(key, s.get(key))}
    if isinstance(s.get("enum"), list):
        out["enum"] = tuple(s["enum"])
    if _depth > 8:
        return out
    for sub in s.get("allOf") or ():
        if isinstance(sub, Mapping):
            for attr, value in facets(sub, defs, _depth + 1).items():
                out[attr] = value if attr not in out else _tighter(attr, out[attr], value)
    branches = [b for key in ("anyOf", "oneOf") for b in s.get(key) or () if isinstance(b, Mapping)]
    if branches:
        for attr, value in _union(
            [facets(b, defs, _depth + 1) for b in branches], [_is_null(b, defs) for b in branches]
        ).items():
            out[attr] = value if attr not in out else _tighter(attr, out[attr], value)
    return out


def _union(parts: list[dict[str, Any]], nulls: list[bool]) -> dict[str, Any]:
    open_parts = [p for p, null in zip(parts, nulls, strict=True) if not null and "enum" not in p]
    out: dict[str, Any] = {}
    if not open_parts:  # every branch is an enum (or null): the union is one enum
        values = [v for p in parts for v in p.get("enum", ())]
        if values:
            out["enum"] = tuple({_canon(v): v for v in values}.values())
        return out
    for attr in _FACETS.values():
        values = [p.get(attr) for p in open_parts]
        if any(v is None for v in values):
            continue  # one branch without the bound: the union has none
        if attr != "pattern":
            out[attr] = min(values) if _LOOSER_IS_LOWER[attr] else max(values)
        elif len(set(values)) == 1:
            out[attr] = values[0]
    return out


def _is_facet(key: str, value: Any) -> bool:
    if key == "pattern":
        return isinstance(value, str)
    return isinstance(value, int | float) and not isinstance(value, bool)


def _is_null(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> bool:
    s = resolve_local(schema, defs)
    return s.get("type") == "null" or s.get("enum") == [None]


def _tighter(attr: str, a: Any, b: Any) -> Any:
    if attr == "enum":
        keep = {_canon(v) for v in b}
        return tuple(v for v in a if _canon(v) in keep)
    if attr == "pattern":
        return a  # two patterns at once: keep the first, the diff only needs a stable view
    return max(a, b) if _LOOSER_IS_LOWER[attr] else min(a, b)


_LOOSER_IS_LOWER = {
    "minimum": True,
    "exclusive_minimum": True,
    "min_length": True,
    "min_items": True,
    "maximum": False,
    "exclusive_maximum": False,
    "max_length": False,
    "max_items": False,
}


def _canon(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)
