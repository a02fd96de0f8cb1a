"""A semantic diff of two versions of one API: what changed for a client, not what changed in the text.

Operations are matched by operationId and, failing that, by `METHOD /path` (so a renamed operationId is one
operation that was renamed, not one removed and one added). Fields are compared on the normalized model
(`Field` paths such as `body.items[].price`), so a `$ref` reshuffle or a YAML reformat is no change at all.

Each change says whether it is *breaking*, and that depends on the direction of the data: a request field
that accepts fewer values rejects calls that used to work, while a response field that may hold more values
(a new enum value, a looser maximum) surprises clients that used to cope. The rules:

| change | request field (path/query/header/cookie/body) | response field |
| --- | --- | --- |
| added | breaking when required | never |
| removed | breaking | breaking |
| retyped (type or format) | breaking | breaking |
| made required / optional | required: breaking | optional: breaking |
| enum value added / removed | removed: breaking | added: breaking |
| constraint tightened / loosened | tightened: breaking | loosened: breaking |
| pattern changed (neither) | breaking | breaking |

What the model cannot see, the diff cannot either: response fields deeper than the flattening limit in
`_fields.MAX_DEPTH` (4 levels) are not compared, and descriptions and examples are ignored on purpose.
"""

from __future__ import annotations

import json
from collections.abc import Callable, Iterator, Mapping
from dataclasses import dataclass, field
from enum import StrEnum
from typing import Any

from crossfield.spec._facets import facets
from crossfield.spec._fields import resolve_local
from crossfield.spec.model import Api, Field, JSONValue, Operation

REQUEST_LOCATIONS = frozenset({"path", "query", "header", "cookie", "body"})


class ChangeKind(StrEnum):
    OPERATION_ADDED = "operation_added"
    OPERATION_REMOVED = "operation_removed"
    OPERATION_RENAMED = "operation_renamed"
    """Same `METHOD /path`, new operationId: harmless on the wire, breaks generated SDKs and our own ids."""
    OPERATION_MOVED = "operation_moved"
    """Same operationId, new method or path."""
    OPERATION_DEPRECATED = "operation_deprecated"
    OPERATION_UNDEPRECATED = "operation_undeprecated"
    FIELD_ADDED = "field_added"
    FIELD_REMOVED = "field_removed"
    FIELD_RETYPED = "field_retyped"
    FIELD_REQUIRED = "field_required"
    FIELD_OPTIONAL = "field_optional"
    ENUM_VALUE_ADDED = "enum_value_added"
    ENUM_VALUE_REMOVED = "enum_value_removed"
    CONSTRAINT_TIGHTENED = "constraint_tightened"
    CONSTRAINT_LOOSENED = "constraint_loosened"
    CONSTRAINT_CHANGED = "constraint_changed"
    """A pattern replaced by another: whether it accepts more or fewer strings is undecidable here."""
    FIELD_DEPRECATED = "field_deprecated"
    FIELD_UNDEPRECATED = "field_undeprecated"


@dataclass(frozen=True, slots=True)
class Change:
    """One difference. `operation` is the id in the new version (the old one for removed operations);
    `field` is a model field path (`body.amount`; `body` for the request body as a whole) or None for
    operation-level changes; `detail` names the constraint or carries a note ("3 subfields")."""

    kind: ChangeKind
    operation: str
    field: str | None = None
    old: JSONValue = None
    new: JSONValue = None
    breaking: bool = False
    detail: str | None = None

    def describe(self) -> str:
        """One line a person (or a hypothesis' `change` tag) can read: `field body.y added`."""
        k, f = self.kind, self.field
        if k is ChangeKind.OPERATION_ADDED:
            return f"added operation {self.operation}"
        if k is ChangeKind.OPERATION_REMOVED:
            return f"removed operation {self.operation}"
        if k is ChangeKind.OPERATION_RENAMED:
            return f"operation {self.old} renamed to {self.new}"
        if k is ChangeKind.OPERATION_MOVED:
            return f"operation {self.operation} moved from {self.old} to {self.new}"
        if k is ChangeKind.OPERATION_DEPRECATED:
            return f"operation {self.operation} deprecated"
        if k is ChangeKind.OPERATION_UNDEPRECATED:
            return f"operation {self.operation} no longer deprecated"
        if k is ChangeKind.FIELD_ADDED:
            extra = f" ({self.detail})" if self.detail else ""
            return f"field {f} added{extra}"
        if k is ChangeKind.FIELD_REMOVED:
            extra = f" ({self.detail})" if self.detail else ""
            return f"field {f} removed{extra}"
        if k is ChangeKind.FIELD_RETYPED:
            return f"field {f} retyped {self.old} -> {self.new}"
        if k is ChangeKind.FIELD_REQUIRED:
            return f"field {f} made required"
        if k is ChangeKind.FIELD_OPTIONAL:
            return f"field {f} made optional"
        if k is ChangeKind.ENUM_VALUE_ADDED:
            return f"enum value {json.dumps(self.new)} added to {f}"
        if k is ChangeKind.ENUM_VALUE_REMOVED:
            return f"enum value {json.dumps(self.old)} removed from {f}"
        if k in (
            ChangeKind.CONSTRAINT_TIGHTENED,
            ChangeKind.CONSTRAINT_LOOSENED,
            ChangeKind.CONSTRAINT_CHANGED,
        ):
            verb = k.value.removeprefix("constraint_")
            return f"field {f} {self.detail} {verb} {_short(self.old)} -> {_short(self.new)}"
        if k is ChangeKind.FIELD_DEPRECATED:
            return f"field {f} deprecated"
        return f"field {f} no longer deprecated"

    def tag(self) -> str:
        """`describe()` naming the operation too (`createOrder: field body.y added`): the `change` a
        hypothesis of a changed-operations run carries, which must make sense away from the diff."""
        return self.describe() if self.field is None else f"{self.operation}: {self.describe()}"

    def to_dict(self) -> dict[str, JSONValue]:
        d: dict[str, JSONValue] = {"kind": self.kind.value, "operation": self.operation, "field": self.field}
        d.update(old=self.old, new=self.new, breaking=self.breaking, detail=self.detail)
        d["description"] = self.describe()
        return d


@dataclass(frozen=True, slots=True)
class SpecDiff:
    """Every change from `old` to `new`, in a stable order (by operation, then as found)."""

    old_title: str
    old_version: str
    new_title: str
    new_version: str
    old_hash: str
    new_hash: str
    changes: tuple[Change, ...] = ()
    operations_old: int = 0
    operations_new: int = 0
    renamed: Mapping[str, str] = field(default_factory=dict)
    """old operation id -> new id, for operations matched by `METHOD /path` under a new id."""

    @property
    def breaking(self) -> tuple[Change, ...]:
        return tuple(c for c in self.changes if c.breaking)

    @property
    def added_operations(self) -> tuple[str, ...]:
        return tuple(c.operation for c in self.changes if c.kind is ChangeKind.OPERATION_ADDED)

    @property
    def removed_operations(self) -> tuple[str, ...]:
        return tuple(c.operation for c in self.changes if c.kind is ChangeKind.OPERATION_REMOVED)

    @property
    def touched_operations(self) -> tuple[str, ...]:
        """Ids (in the new version) of operations that exist in the new version and changed in any way."""
        removed = set(self.removed_operations)
        return tuple(dict.fromkeys(c.operation for c in self.changes if c.operation not in removed))

    def by_operation(self) -> dict[str, list[Change]]:
        grouped: dict[str, list[Change]] = {}
        for c in self.changes:
            grouped.setdefault(c.operation, []).append(c)
        return grouped

    def find(self, kind: ChangeKind | str, operation: str, field: str | None = None) -> list[Change]:
        """The changes of one kind on one operation (and field): what tests and callers look things up by."""
        kind = ChangeKind(kind)
        return [
            c
            for c in self.changes
            if c.kind is kind and c.operation == operation and (field is None or c.field == field)
        ]

    def counts(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for c in self.changes:
            out[c.kind.value] = out.get(c.kind.value, 0) + 1
        return dict(sorted(out.items()))

    def to_dict(self) -> dict[str, JSONValue]:
        return {
            "format": "crossfield.diff/1",
            "old": {
                "title": self.old_title,
                "version": self.old_version,
                "hash": self.old_hash,
                "operations": self.operations_old,
            },
            "new": {
                "title": self.new_title,
                "version": self.new_version,
                "hash": self.new_hash,
                "operations": self.operations_new,
            },
            "summary": {
                "changes": len(self.changes),
                "breaking": len(self.breaking),
                "by_kind": self.counts(),
            },
            "changes": [c.to_dict() for c in self.changes],
        }


def diff_specs(old: Api, new: Api) -> SpecDiff:
    """The semantic diff from `old` to `new` (two versions of one API)."""
    pairs, removed, added, renamed = _match_operations(old, new)
    changes: list[Change] = []
    for op in removed:
        changes.append(
            Change(ChangeKind.OPERATION_REMOVED, op.id, old=f"{op.method} {op.path}", breaking=True)
        )
    for op in added:
        changes.append(Change(ChangeKind.OPERATION_ADDED, op.id, new=f"{op.method} {op.path}"))
    for old_op, new_op in pairs:
        changes.extend(_operation_changes(old_op, new_op, old, new))
    order = {op.id: i for i, op in enumerate(new.operations)}
    order.update({op.id: len(order) + i for i, op in enumerate(removed)})
    # a stable sort: changes keep the order they were found in within one operation
    changes.sort(key=lambda c: order.get(c.operation, len(order)))
    return SpecDiff(
        old_title=old.title,
        old_version=old.version,
        new_title=new.title,
        new_version=new.version,
        old_hash=old.content_hash,
        new_hash=new.content_hash,
        changes=tuple(changes),
        operations_old=len(old.operations),
        operations_new=len(new.operations),
        renamed=renamed,
    )


def _match_operations(
    old: Api, new: Api
) -> tuple[list[tuple[Operation, Operation]], list[Operation], list[Operation], dict[str, str]]:
    new_by_id = {op.id: op for op in new.operations}
    pairs: list[tuple[Operation, Operation]] = []
    unmatched_old: list[Operation] = []
    matched_new: set[str] = set()
    for op in old.operations:
        other = new_by_id.get(op.id)
        if other is not None:
            pairs.append((op, other))
            matched_new.add(other.id)
        else:
            unmatched_old.append(op)
    new_by_route = {(op.method, op.path): op for op in new.operations if op.id not in matched_new}
    removed: list[Operation] = []
    renamed: dict[str, str] = {}
    for op in unmatched_old:
        other = new_by_route.pop((op.method, op.path), None)
        if other is None:
            removed.append(op)
        else:
            pairs.append((op, other))
            matched_new.add(other.id)
            renamed[op.id] = other.id
    added = [op for op in new.operations if op.id not in matched_new]
    return pairs, removed, added, renamed


def _operation_changes(old_op: Operation, new_op: Operation, old: Api, new: Api) -> Iterator[Change]:
    oid = new_op.id
    if old_op.id != new_op.id:
        yield Change(ChangeKind.OPERATION_RENAMED, oid, old=old_op.id, new=new_op.id)
    if (old_op.method, old_op.path) != (new_op.method, new_op.path):
        old_route, new_route = f"{old_op.method} {old_op.path}", f"{new_op.method} {new_op.path}"
        yield Change(ChangeKind.OPERATION_MOVED, oid, old=old_route, new=new_route, breaking=True)
    if old_op.deprecated != new_op.deprecated:
        kind = ChangeKind.OPERATION_DEPRECATED if new_op.deprecated else ChangeKind.OPERATION_UNDEPRECATED
        yield Change(kind, oid, old=old_op.deprecated, new=new_op.deprecated)
    has_old_body, has_new_body = old_op.body_schema is not None, new_op.body_schema is not None
    if has_old_body and has_new_body and old_op.request_body_required != new_op.request_body_required:
        kind = ChangeKind.FIELD_REQUIRED if new_op.request_body_required else ChangeKind.FIELD_OPTIONAL
        yield Change(
            kind,
            oid,
            "body",
            old=old_op.request_body_required,
            new=new_op.request_body_required,
            breaking=new_op.request_body_required,
        )
    old_fields, new_fields = _fields_by_key(old_op), _fields_by_key(new_op)
    old_params = {_key(p.field_path): p for p in old_op.parameters}
    new_params = {_key(p.field_path): p for p in new_op.parameters}
    added = [k for k in new_fields if k not in old_fields]
    removed = [k for k in old_fields if k not in new_fields]
    yield from _presence_changes(oid, added, new_fields, ChangeKind.FIELD_ADDED)
    yield from _presence_changes(oid, removed, old_fields, ChangeKind.FIELD_REMOVED)
    for key, nf in new_fields.items():
        of = old_fields.get(key)
        if of is None:
            continue
        yield from _field_changes(oid, of, nf, old, new)
        was = _deprecated(of, old_params.get(key), old)
        now = _deprecated(nf, new_params.get(key), new)
        if was != now:
            kind = ChangeKind.FIELD_DEPRECATED if now else ChangeKind.FIELD_UNDEPRECATED
            yield Change(kind, oid, nf.path, old=was, new=now)


def _key(path: str) -> str:
    """Header names are case-insensitive; every other path is compared as written."""
    return path.lower() if path.startswith("header.") else path


def _fields_by_key(op: Operation) -> dict[str, Field]:
    return {_key(f.path): f for f in op.fields}


def _parent(path: str) -> str | None:
    """`body.items[].price` -> `body.items`; None for a top-level field such as `body.amount`."""
    head, _, _ = path.rpartition(".")
    head = head.removesuffix("[]")
    return head if "." in head else None


def _is_request(f: Field) -> bool:
    return f.location in REQUEST_LOCATIONS


def _presence_changes(
    oid: str, keys: list[str], fields: Mapping[str, Field], kind: ChangeKind
) -> Iterator[Change]:
    """Added or removed fields, reporting a subtree once at its root (`body.shipping added (4 subfields)`):
    a new object brings its properties with it, and listing each would bury the change that matters."""
    chosen = set(keys)
    roots: dict[str, int] = {}
    for key in keys:
        ancestor = _parent(key)
        top = None
        while ancestor is not None:
            if _key(ancestor) in chosen:
                top = _key(ancestor)
            ancestor = _parent(ancestor)
        if top is not None:
            roots[top] = roots.get(top, 0) + 1
        else:
            roots.setdefault(key, 0)
    for key, sub in roots.items():
        f = fields[key]
        detail = f"{sub} subfield{'s' if sub != 1 else ''}" if sub else None
        if kind is ChangeKind.FIELD_ADDED:
            breaking = _is_request(f) and f.required and not f.read_only
            yield Change(kind, oid, f.path, new=_type_label(f), breaking=breaking, detail=detail)
        else:
            yield Change(kind, oid, f.path, old=_type_label(f), breaking=True, detail=detail)


def _field_changes(oid: str, of: Field, nf: Field, old: Api, new: Api) -> Iterator[Change]:
    request = _is_request(nf)
    path = nf.path
    if (of.type, of.format) != (nf.type, nf.format):
        yield Change(
            ChangeKind.FIELD_RETYPED, oid, path, old=_type_label(of), new=_type_label(nf), breaking=True
        )
    if of.required != nf.required:
        kind = ChangeKind.FIELD_REQUIRED if nf.required else ChangeKind.FIELD_OPTIONAL
        yield Change(kind, oid, path, old=of.required, new=nf.required, breaking=nf.required == request)
    fo, fn = facets(of.schema, old.schema_defs), facets(nf.schema, new.schema_defs)
    yield from _enum_changes(oid, path, fo.get("enum"), fn.get("enum"), request)
    for inclusive, exclusive, upper in _RANGE_BOUNDS:
        ba, bb = _bound(fo, inclusive, exclusive, upper), _bound(fn, inclusive, exclusive, upper)
        if ba == bb:
            continue
        tightened = ba is None or (bb is not None and _bound_tighter(bb, ba, upper))
        names = [exclusive if b[1] else inclusive for b in (ba, bb) if b is not None]
        detail = names[0] if len(set(names)) == 1 else " -> ".join(names)
        kind = ChangeKind.CONSTRAINT_TIGHTENED if tightened else ChangeKind.CONSTRAINT_LOOSENED
        yield Change(
            kind, oid, path, old=ba and ba[0], new=bb and bb[0], breaking=tightened == request, detail=detail
        )
    for name, tighter in _SIZE_BOUNDS:
        a, b = fo.get(name), fn.get(name)
        if a == b:
            continue
        tightened = a is None or (b is not None and tighter(b, a))
        kind = ChangeKind.CONSTRAINT_TIGHTENED if tightened else ChangeKind.CONSTRAINT_LOOSENED
        yield Change(kind, oid, path, old=a, new=b, breaking=tightened == request, detail=name)
    a, b = fo.get("pattern"), fn.get("pattern")
    if a != b:
        if a is None or b is None:
            tightened = a is None
            kind = ChangeKind.CONSTRAINT_TIGHTENED if tightened else ChangeKind.CONSTRAINT_LOOSENED
            yield Change(kind, oid, path, old=a, new=b, breaking=tightened == request, detail="pattern")
        else:
            yield Change(
                ChangeKind.CONSTRAINT_CHANGED, oid, path, old=a, new=b, breaking=True, detail="pattern"
            )


def _enum_changes(
    oid: str, path: str, old: tuple[JSONValue, ...] | None, new: tuple[JSONValue, ...] | None, request: bool
) -> Iterator[Change]:
    if old is None and new is None:
        return
    if old is None or new is None:
        # a whole enum appearing is a tightening (only these values now); disappearing, a loosening
        tightened = old is None
        kind = ChangeKind.CONSTRAINT_TIGHTENED if tightened else ChangeKind.CONSTRAINT_LOOSENED
        yield Change(
            kind,
            oid,
            path,
            old=_enum_list(old),
            new=_enum_list(new),
            breaking=tightened == request,
            detail="enum",
        )
        return
    old_values = {_canon(v): v for v in old}
    new_values = {_canon(v): v for v in new}
    for key, value in new_values.items():
        if key not in old_values:
            yield Change(ChangeKind.ENUM_VALUE_ADDED, oid, path, new=value, breaking=not request)
    for key, value in old_values.items():
        if key not in new_values:
            yield Change(ChangeKind.ENUM_VALUE_REMOVED, oid, path, old=value, breaking=request)


def _lower(a: float, b: float) -> bool:
    return a < b


def _higher(a: float, b: float) -> bool:
    return a > b


_SIZE_BOUNDS: tuple[tuple[str, Callable[[Any, Any], bool]], ...] = (
    # (attribute, "is the new value tighter than the old one")
    ("min_length", _higher),
    ("max_length", _lower),
    ("min_items", _higher),
    ("max_items", _lower),
)

_RANGE_BOUNDS = (("minimum", "exclusive_minimum", False), ("maximum", "exclusive_maximum", True))
"""A numeric bound is one constraint in two spellings: OpenAPI 3.0's `maximum: 100, exclusiveMaximum: true`
becomes `exclusiveMaximum: 100` in 2020-12, which is a tightening of `maximum`, not one bound gone and another
come."""


def _bound(f: Mapping[str, Any], inclusive: str, exclusive: str, upper: bool) -> tuple[float, bool] | None:
    """The effective bound as (value, is_exclusive), the tighter one when both spellings are present."""
    candidates = [(f[inclusive], False)] if inclusive in f else []
    if exclusive in f:
        candidates.append((f[exclusive], True))
    if not candidates:
        return None
    best = candidates[0]
    for other in candidates[1:]:
        if _bound_tighter(other, best, upper):
            best = other
    return best


def _bound_tighter(a: tuple[float, bool], b: tuple[float, bool], upper: bool) -> bool:
    if a[0] != b[0]:
        return a[0] < b[0] if upper else a[0] > b[0]
    return a[1] and not b[1]


def _deprecated(f: Field, param: Any, api: Api) -> bool:
    if param is not None and getattr(param, "deprecated", False):
        return True
    if f.schema.get("deprecated"):
        return True
    return bool(resolve_local(f.schema, api.schema_defs).get("deprecated"))


def _type_label(f: Field) -> str | None:
    if f.type is None:
        return f.format
    return f"{f.type}({f.format})" if f.format else f.type


def _canon(value: JSONValue) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _enum_list(values: tuple[JSONValue, ...] | None) -> list[JSONValue] | None:
    return list(values) if values is not None else None


def _short(value: JSONValue) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 60 else text[:57] + "..."
