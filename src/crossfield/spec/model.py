"""The normalized, immutable model of an API description.

Every loader (OpenAPI 2.0, 3.0, 3.1, Postman v2.1) produces these objects, so the judges and the code
generator never look at a raw document again. Schemas are kept as self-contained JSON Schema (2020-12
dialect, with `$defs` for anything referenced), which makes them safe to serialize, to hand to
`jsonschema`, and to embed in generated tests, even when the source schema is recursive.
"""

from __future__ import annotations

import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import TYPE_CHECKING, Any, Literal

if TYPE_CHECKING:
    from crossfield.spec.interactions import InteractionMap

JSONValue = Any
"""A value as it appears in a JSON document (dict, list, str, int, float, bool or None)."""

Location = Literal["path", "query", "header", "cookie", "body", "response"]
HTTP_METHODS = ("get", "put", "post", "delete", "options", "head", "patch", "trace")


@dataclass(frozen=True, slots=True)
class Evidence:
    """Where a fact came from: a JSON pointer into the source document and, for facts read from prose,
    the sentence that states it."""

    pointer: str
    text: str | None = None

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (Evidence, (self.pointer, self.text))

    def to_dict(self) -> dict[str, str]:
        d = {"pointer": self.pointer}
        if self.text is not None:
            d["text"] = self.text
        return d


@dataclass(frozen=True, slots=True)
class Field:
    """One parameter or body property, flattened to a dotted path.

    Paths start with the location: `path.charge_id`, `query.limit`, `header.Idempotency-Key`,
    `body.amount`, `body.items[].price`, and for the success response `response.id`,
    `response.data[].id`. Arrays are marked with `[]`.
    """

    path: str
    location: Location
    name: str
    type: str | None = None
    format: str | None = None
    enum: tuple[JSONValue, ...] | None = None
    minimum: float | None = None
    maximum: float | None = None
    exclusive_minimum: float | None = None
    exclusive_maximum: float | None = None
    min_length: int | None = None
    max_length: int | None = None
    min_items: int | None = None
    max_items: int | None = None
    pattern: str | None = None
    required: bool = False
    nullable: bool = False
    read_only: bool = False
    write_only: bool = False
    default: JSONValue = None
    examples: tuple[JSONValue, ...] = ()
    description: str = ""
    pointer: str = ""
    schema: Mapping[str, JSONValue] = field(default_factory=dict, compare=False, hash=False, repr=False)

    def to_dict(self) -> dict[str, JSONValue]:
        d: dict[str, JSONValue] = {"path": self.path, "location": self.location, "name": self.name}
        for key in (
            "type",
            "format",
            "minimum",
            "maximum",
            "exclusive_minimum",
            "exclusive_maximum",
            "min_length",
            "max_length",
            "min_items",
            "max_items",
            "pattern",
            "default",
        ):
            value = getattr(self, key)
            if value is not None:
                d[key] = value
        if self.enum is not None:
            d["enum"] = list(self.enum)
        for flag in ("required", "nullable", "read_only", "write_only"):
            if getattr(self, flag):
                d[flag] = True
        if self.examples:
            d["examples"] = list(self.examples)
        if self.description:
            d["description"] = self.description
        d["pointer"] = self.pointer
        return d

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Pickled as a flat tuple and rebuilt through `new_field`: the spec cache holds tens of thousands.
        values = [getattr(self, name) for name in _FIELD_NAMES]
        values[_POINTER_INDEX] = _pack_pointer(self.path, self.location, self.pointer)
        return (new_field, tuple(values))


_FIELD_NAMES: tuple[str, ...] = Field.__slots__
_POINTER_INDEX = _FIELD_NAMES.index("pointer")
_POINTER_SLOT: Any = Field.__dict__["pointer"]
_PACKED = "\x00"  # starts a packed pointer; a JSON pointer is empty or starts with "/"
_PATH_TOKENS = re.compile(r"\[\]|\.[^.\[]*")
_PATH_START = re.compile(r"[.\[]")


def _path_tokens(path: str) -> list[str] | None:
    """`response.a[].b` -> `[".a", "[]", ".b"]`; None when the path does not split cleanly."""
    first = _PATH_START.search(path)
    if first is None:
        return None
    rest = path[first.start() :]
    tokens: list[str] = _PATH_TOKENS.findall(rest)
    return tokens if "".join(tokens) == rest else None


def _pointer_tail(tokens: list[str]) -> str:
    return "".join(
        "/items" if t == "[]" else "/properties/" + t[1:].replace("~", "~0").replace("/", "~1")
        for t in tokens
    )


def _pack_pointer(path: str, location: str, pointer: str) -> str:
    """A body/response field's pointer is the pointer of the schema it sits in plus what the last tokens of
    its path spell out (`.a[].b` -> `/properties/a/items/properties/b`). Only that base and a token count
    are kept, interned so the pickle stores each once; `_LazyPointer` rebuilds the pointer when read.

    Spec caches are dominated by these pointers (Stripe: 63k fields), and they are rarely read.
    """
    if location not in ("body", "response") or not pointer:
        return pointer
    tokens = _path_tokens(path)
    if not tokens:
        return pointer
    for k in range(len(tokens), 0, -1):
        tail = _pointer_tail(tokens[-k:])
        if pointer.endswith(tail):
            return sys.intern(f"{_PACKED}{k}{_PACKED}{pointer[: len(pointer) - len(tail)]}")
    return pointer


def _unpack_pointer(path: str, packed: str) -> str:
    count, _, base = packed[1:].partition(_PACKED)
    tokens = _path_tokens(path) or []
    return base + _pointer_tail(tokens[len(tokens) - int(count) :])


class _LazyPointer:
    """Descriptor over `Field.pointer`: expands a packed pointer (see `_pack_pointer`) on first read."""

    def __get__(self, obj: Any, owner: Any = None) -> Any:
        if obj is None:
            return self
        value = _POINTER_SLOT.__get__(obj, owner)
        if value.startswith(_PACKED):
            value = _unpack_pointer(obj.path, value)
            _POINTER_SLOT.__set__(obj, value)
        return value

    def __set__(self, obj: Any, value: Any) -> None:
        _POINTER_SLOT.__set__(obj, value)

    def __delete__(self, obj: Any) -> None:
        _POINTER_SLOT.__delete__(obj)


Field.pointer = _LazyPointer()  # type: ignore[assignment,misc]
# Same slot layout as `Field` but without the frozen `__setattr__`. `new_field` fills one of these and then
# switches its class, which is about five times faster than the frozen dataclass `__init__`.
_FieldSlots: Any = type("_FieldSlots", (), {"__slots__": _FIELD_NAMES})


def new_field(
    path: str,
    location: Location,
    name: str,
    type: str | None = None,
    format: str | None = None,
    enum: tuple[JSONValue, ...] | None = None,
    minimum: float | None = None,
    maximum: float | None = None,
    exclusive_minimum: float | None = None,
    exclusive_maximum: float | None = None,
    min_length: int | None = None,
    max_length: int | None = None,
    min_items: int | None = None,
    max_items: int | None = None,
    pattern: str | None = None,
    required: bool = False,
    nullable: bool = False,
    read_only: bool = False,
    write_only: bool = False,
    default: JSONValue = None,
    examples: tuple[JSONValue, ...] = (),
    description: str = "",
    pointer: str = "",
    schema: Mapping[str, JSONValue] | None = None,
) -> Field:
    """A `Field`, equal to `Field(...)` with the same arguments, built without the frozen `__init__`."""
    o: Any = _FieldSlots.__new__(_FieldSlots)
    o.path = path
    o.location = location
    o.name = name
    o.type = type
    o.format = format
    o.enum = enum
    o.minimum = minimum
    o.maximum = maximum
    o.exclusive_minimum = exclusive_minimum
    o.exclusive_maximum = exclusive_maximum
    o.min_length = min_length
    o.max_length = max_length
    o.min_items = min_items
    o.max_items = max_items
    o.pattern = pattern
    o.required = required
    o.nullable = nullable
    o.read_only = read_only
    o.write_only = write_only
    o.default = default
    o.examples = examples
    o.description = description
    o.pointer = pointer
    o.schema = {} if schema is None else schema
    o.__class__ = Field
    return o  # type: ignore[no-any-return]


@dataclass(frozen=True, slots=True)
class Parameter:
    """A path, query, header or cookie parameter."""

    name: str
    location: Literal["path", "query", "header", "cookie"]
    required: bool
    schema: Mapping[str, JSONValue]
    description: str = ""
    pointer: str = ""
    deprecated: bool = False

    @property
    def field_path(self) -> str:
        return f"{self.location}.{self.name}"

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (
            Parameter,
            (
                self.name,
                self.location,
                self.required,
                self.schema,
                self.description,
                self.pointer,
                self.deprecated,
            ),
        )


@dataclass(frozen=True, slots=True)
class Response:
    """One documented response: its status key (`200`, `2XX`, `default`), body schemas by media type
    and header names."""

    status: str
    description: str = ""
    content: Mapping[str, Mapping[str, JSONValue]] = field(default_factory=dict)
    headers: tuple[str, ...] = ()
    links: Mapping[str, Mapping[str, JSONValue]] = field(default_factory=dict)
    pointer: str = ""

    @property
    def json_schema(self) -> Mapping[str, JSONValue] | None:
        """The schema of the JSON body, if the response documents one."""
        return _pick_json(self.content)

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        return (
            Response,
            (self.status, self.description, self.content, self.headers, self.links, self.pointer),
        )


@dataclass(frozen=True, slots=True)
class Operation:
    """One HTTP operation. `id` is the operationId, or `METHOD /path` when the spec gives none."""

    id: str
    method: str
    path: str
    summary: str = ""
    description: str = ""
    tags: tuple[str, ...] = ()
    parameters: tuple[Parameter, ...] = ()
    request_body: Mapping[str, Mapping[str, JSONValue]] = field(default_factory=dict)
    request_body_required: bool = False
    responses: tuple[Response, ...] = ()
    security: tuple[Mapping[str, tuple[str, ...]], ...] | None = None
    deprecated: bool = False
    fields: tuple[Field, ...] = ()
    pointer: str = ""
    body_examples: tuple[JSONValue, ...] = ()
    """The spec's examples of the request body (media `example`, then `examples` values): a vendor's
    picture of a valid request, which synthesized bodies start from."""

    @property
    def body_schema(self) -> Mapping[str, JSONValue] | None:
        """The JSON (or form) request body schema, if any."""
        return _pick_json(self.request_body) or _pick_form(self.request_body)

    @property
    def body_media_type(self) -> str | None:
        for media in self.request_body:
            if _is_json(media):
                return media
        for media in self.request_body:
            if media in ("application/x-www-form-urlencoded", "multipart/form-data"):
                return media
        return next(iter(self.request_body), None)

    def parameters_in(self, location: str) -> tuple[Parameter, ...]:
        return tuple(p for p in self.parameters if p.location == location)

    def parameter(self, location: str, name: str) -> Parameter | None:
        for p in self.parameters:
            if p.location == location and (
                p.name == name or (location == "header" and p.name.lower() == name.lower())
            ):
                return p
        return None

    def field(self, path: str) -> Field | None:
        for f in self.fields:
            if f.path == path:
                return f
        if path.startswith("header."):
            low = path.lower()
            for f in self.fields:
                if f.path.lower() == low:
                    return f
        return None

    def response(self, status: int | str) -> Response | None:
        """The documented response for a status code, falling back to `2XX`-style ranges and `default`."""
        key = str(status)
        for r in self.responses:
            if r.status == key:
                return r
        if key.isdigit():
            for r in self.responses:
                if r.status.upper() == f"{key[0]}XX":
                    return r
        for r in self.responses:
            if r.status == "default":
                return r
        return None

    @property
    def success_responses(self) -> tuple[Response, ...]:
        return tuple(r for r in self.responses if r.status.startswith("2"))

    @property
    def success_schema(self) -> Mapping[str, JSONValue] | None:
        for r in self.success_responses:
            schema = r.json_schema
            if schema is not None:
                return schema
        return None


@dataclass(frozen=True, slots=True)
class SecurityScheme:
    name: str
    type: str
    location: str | None = None  # for apiKey: header/query/cookie
    parameter_name: str | None = None  # for apiKey: the header/query name
    scheme: str | None = None  # for http: bearer/basic
    description: str = ""


@dataclass(frozen=True, slots=True)
class OperationError:
    """An operation that could not be normalized; reported beside the ones that could."""

    pointer: str
    message: str
    line: int | None = None


@dataclass(frozen=True)
class Api:
    """A whole API description, normalized."""

    title: str
    version: str
    source_format: str  # "openapi-2.0", "openapi-3.0", "openapi-3.1", "postman-2.1"
    content_hash: str
    source_path: str = ""
    description: str = ""
    servers: tuple[str, ...] = ()
    security_schemes: tuple[SecurityScheme, ...] = ()
    security: tuple[Mapping[str, tuple[str, ...]], ...] = ()
    operations: tuple[Operation, ...] = ()
    errors: tuple[OperationError, ...] = ()
    schema_defs: Mapping[str, Mapping[str, JSONValue]] = field(
        default_factory=dict, compare=False, repr=False
    )
    """Every schema the operations reference, by name; `$ref`s in operation schemas are `#/$defs/<name>`."""

    def standalone_schema(self, schema: Mapping[str, JSONValue]) -> dict[str, JSONValue]:
        """A copy of `schema` that carries the `$defs` it needs: ready for `jsonschema` or a generated file."""
        from crossfield.spec._schema import standalone

        return standalone(schema, self.schema_defs)

    def operation(self, operation_id: str) -> Operation | None:
        return self._by_id.get(operation_id)

    @cached_property
    def _by_id(self) -> dict[str, Operation]:
        return {op.id: op for op in self.operations}

    def field(self, operation_id: str, path: str) -> Field | None:
        op = self.operation(operation_id)
        return op.field(path) if op is not None else None

    @cached_property
    def interactions(self) -> InteractionMap:
        """The interaction map (links, resources, state fields, field relations, ...), built on first use
        and kept in the load cache with the API."""
        from crossfield.spec.interactions import build_interaction_map

        return build_interaction_map(self)


def _is_json(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base == "*/*"


def _pick_json(content: Mapping[str, Mapping[str, JSONValue]]) -> Mapping[str, JSONValue] | None:
    for media, schema in content.items():
        if _is_json(media):
            return schema
    return None


def _pick_form(content: Mapping[str, Mapping[str, JSONValue]]) -> Mapping[str, JSONValue] | None:
    for media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if media in content:
            return content[media]
    return None
