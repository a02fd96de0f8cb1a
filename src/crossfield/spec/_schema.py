"""Turning OpenAPI schema objects into self-contained JSON Schema (2020-12).

OpenAPI 2.0/3.0 schemas are a dialect (`nullable`, boolean `exclusiveMinimum`, `example`, `x-nullable`);
3.1 schemas are JSON Schema already. Every `$ref` becomes `#/$defs/<Name>`, and each referenced schema is
converted once into a shared `defs` table, which is what makes recursive schemas safe: the cycle lives in
the table, never in nested Python objects. Conversion is lazy: only schemas an operation reaches are
converted, so a 4 MB spec with thousands of components costs what its operations use.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any

from crossfield.spec._refs import Location, Resolver
from crossfield.spec._source import escape_token, split_pointer

_SUBSCHEMA_KEYS = ("items", "additionalProperties", "not", "contains", "propertyNames", "if", "then", "else")
_SUBSCHEMA_LISTS = ("allOf", "anyOf", "oneOf", "prefixItems")
_SUBSCHEMA_MAPS = ("properties", "patternProperties", "dependentSchemas", "$defs", "definitions")
_DROP = frozenset(
    {"discriminator", "xml", "externalDocs", "example", "x-nullable", "nullable", "$schema", "$id"}
)
_NAME_CLEAN = re.compile(r"[^A-Za-z0-9_.-]+")


class SchemaConverter:
    """Converts schemas of one API into JSON Schema with a shared `$defs` table."""

    def __init__(self, resolver: Resolver, *, dialect: str) -> None:
        self.resolver = resolver
        self.dialect = dialect  # "2.0", "3.0" or "3.1"
        self.defs: dict[str, dict[str, Any]] = {}
        self.sources: dict[str, str] = {}
        """Where each def came from, as a JSON pointer, for defs taken from the root document."""
        self._names: dict[Location, str] = {}

    def convert(self, node: Any, where: Location) -> dict[str, Any]:
        if isinstance(node, bool):
            return {} if node else {"not": {}}
        if not isinstance(node, Mapping):
            return {}
        ref = node.get("$ref")
        if isinstance(ref, str):
            name = self._def_for(ref, where)
            out: dict[str, Any] = {"$ref": f"#/$defs/{escape_token(name)}"}
            if self.dialect == "3.1":  # 3.1 allows siblings of $ref
                for key in ("description", "readOnly", "writeOnly"):
                    if key in node:
                        out[key] = node[key]
            return out
        return self._convert_object(node, where)

    def _convert_object(self, node: Mapping[str, Any], where: Location) -> dict[str, Any]:
        out: dict[str, Any] = {}
        legacy = self.dialect != "3.1"
        for key, value in node.items():
            if key in _DROP or (isinstance(key, str) and key.startswith("x-")):
                continue
            if key in _SUBSCHEMA_KEYS:
                if isinstance(value, list) and key == "items":  # draft-4 tuple form
                    out["prefixItems"] = [self.convert(v, _child(where, key, i)) for i, v in enumerate(value)]
                elif isinstance(value, bool) and key == "additionalProperties":
                    out[key] = value
                else:
                    out[key] = self.convert(value, _child(where, key))
            elif key in _SUBSCHEMA_LISTS and isinstance(value, list):
                out[key] = [self.convert(v, _child(where, key, i)) for i, v in enumerate(value)]
            elif key in _SUBSCHEMA_MAPS and isinstance(value, Mapping):
                target = "$defs" if key == "definitions" else key
                out[target] = {str(k): self.convert(v, _child(where, key, str(k))) for k, v in value.items()}
            elif key == "type" and value == "file":  # Swagger 2.0 file upload
                out["type"] = "string"
                out["format"] = "binary"
            else:
                out[key] = value
        if legacy:
            if out.get("exclusiveMinimum") is True and "minimum" in out:
                out["exclusiveMinimum"] = out.pop("minimum")
            elif isinstance(out.get("exclusiveMinimum"), bool):
                out.pop("exclusiveMinimum")
            if out.get("exclusiveMaximum") is True and "maximum" in out:
                out["exclusiveMaximum"] = out.pop("maximum")
            elif isinstance(out.get("exclusiveMaximum"), bool):
                out.pop("exclusiveMaximum")
            if "example" in node and "examples" not in out:
                out["examples"] = [node["example"]]
            if node.get("nullable") is True or node.get("x-nullable") is True:
                _make_nullable(out)
        elif "example" in node and "examples" not in out:
            out["examples"] = [node["example"]]
        return out

    def _def_for(self, ref: str, where: Location) -> str:
        target = self.resolver.target(ref, Location(where.uri, where.pointer + "/$ref"))
        name = self._names.get(target)
        if name is not None:
            return name
        name = self._unique_name(target)
        self._names[target] = name
        if target.uri == self.resolver.root_uri:
            self.sources[name] = target.pointer
        self.defs[name] = {}  # placeholder: a cycle back to this schema finds the name and stops
        node = self.resolver.node_at(target, Location(where.uri, where.pointer + "/$ref"))
        self.defs[name] = self.convert(node, target)
        return name

    def _unique_name(self, target: Location) -> str:
        tokens = split_pointer(target.pointer)
        base = (
            _NAME_CLEAN.sub("_", tokens[-1])
            if tokens
            else _NAME_CLEAN.sub("_", target.uri.rsplit("/", 1)[-1])
        )
        base = base or "schema"
        name, n = base, 2
        while name in self.defs:
            name, n = f"{base}_{n}", n + 1
        return name


def _child(where: Location, *tokens: str | int) -> Location:
    return Location(where.uri, where.pointer + "".join("/" + escape_token(str(t)) for t in tokens))


def _make_nullable(schema: dict[str, Any]) -> None:
    t = schema.get("type")
    if isinstance(t, str):
        schema["type"] = [t, "null"]
    elif isinstance(t, list):
        if "null" not in t:
            schema["type"] = [*t, "null"]
    elif "$ref" in schema or "allOf" in schema or "oneOf" in schema or "anyOf" in schema:
        inner = dict(schema)
        schema.clear()
        schema["anyOf"] = [inner, {"type": "null"}]
    if "enum" in schema and None not in schema["enum"]:
        schema["enum"] = [*schema["enum"], None]


def standalone(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> dict[str, Any]:
    """A copy of `schema` carrying only the `$defs` it reaches, ready for `jsonschema` or a generated file."""
    needed: dict[str, Any] = {}
    stack: list[Any] = [schema]
    while stack:
        node = stack.pop()
        if isinstance(node, Mapping):
            ref = node.get("$ref")
            if isinstance(ref, str) and ref.startswith("#/$defs/"):
                name = split_pointer(ref[1:])[1]
                if name not in needed and name in defs:
                    needed[name] = defs[name]
                    stack.append(defs[name])
            stack.extend(v for v in node.values() if isinstance(v, Mapping | list))
        elif isinstance(node, list):
            stack.extend(v for v in node if isinstance(v, Mapping | list))
    out = dict(schema)
    if needed:
        out["$defs"] = dict(sorted(needed.items()))
    return out
