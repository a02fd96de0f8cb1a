"""The fact types of the interaction map. Each is immutable, carries its evidence, and serializes to JSON."""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, ClassVar, Literal

from crossfield.spec.model import Evidence

RelationKind = Literal[
    "range",
    "temporal",
    "amount_currency",
    "mutually_exclusive",
    "co_required",
    "one_of",
    "any_of",
    "dependent_required",
    "conditional",
    "arithmetic",
]
RELATION_KINDS: tuple[RelationKind, ...] = (
    "range",
    "temporal",
    "amount_currency",
    "mutually_exclusive",
    "co_required",
    "one_of",
    "any_of",
    "dependent_required",
    "conditional",
    "arithmetic",
)
LinkSource = Literal["openapi_link", "location_header", "path_structure", "name_match"]
ResourceRole = Literal["create", "read", "list", "update", "delete", "action"]


def _jsonable(value: Any) -> Any:
    if isinstance(value, Evidence):
        return value.to_dict()
    if dataclasses.is_dataclass(value) and not isinstance(value, type):
        to_dict = getattr(value, "to_dict", None)
        if callable(to_dict):
            return to_dict()
    if isinstance(value, tuple | list):
        return [_jsonable(v) for v in value]
    if isinstance(value, Mapping):
        return {str(k): _jsonable(v) for k, v in value.items()}
    return value


class _Fact:
    """Shared behaviour: `kind`, `operation_ids` (for `InteractionMap.facts_for`) and `to_dict`."""

    __slots__ = ()
    kind: ClassVar[str] = ""

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return ()

    def __reduce__(self) -> tuple[Any, tuple[Any, ...]]:
        # Positional rebuild: faster to unpickle than the slots dataclass default (`__setstate__`).
        return (type(self), tuple(getattr(self, f.name) for f in dataclasses.fields(self)))  # type: ignore[arg-type]

    def to_dict(self) -> dict[str, Any]:
        out: dict[str, Any] = {"kind": self.kind} if self.kind else {}
        for f in dataclasses.fields(self):  # type: ignore[arg-type]
            value = getattr(self, f.name)
            if value is None or value == () or value == "":
                continue
            out[f.name] = _jsonable(value)
        return out


@dataclass(frozen=True, slots=True)
class FieldRef(_Fact):
    """One field of one operation."""

    operation_id: str
    path: str

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class Link(_Fact):
    """A value produced by one operation that another operation consumes: `response.id` of
    `createCharge` feeds `path.charge` of `getCharge`."""

    kind: ClassVar[str] = "link"
    producer: str
    producer_field: str
    consumer: str
    consumer_field: str
    source: LinkSource
    confidence: float
    resource: str | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.producer, self.consumer)


@dataclass(frozen=True, slots=True)
class ResourceAction(_Fact):
    """An action on a resource (`POST /orders/{id}/cancel`): its verb and whether it looks one-way."""

    verb: str
    operation_id: str
    method: str
    path: str
    terminal: bool = False
    item_level: bool = True

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class Resource(_Fact):
    """A resource and its lifecycle operations. `key` is the collection path with parameters blanked
    (`/v1/customers/{}/sources`), unique per resource; `parent` is the parent resource's key."""

    kind: ClassVar[str] = "resource"
    name: str
    key: str
    collection_path: str | None = None
    item_path: str | None = None
    id_parameter: str | None = None
    create: str | None = None
    read: str | None = None
    list: str | None = None
    update: str | None = None
    delete: str | None = None
    actions: tuple[ResourceAction, ...] = ()
    parent: str | None = None
    singleton: bool = False
    operations: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return self.operations


@dataclass(frozen=True, slots=True)
class StateTransition(_Fact):
    """An operation that moves a state field: an action, or a create/update that accepts the field."""

    operation_id: str
    via: Literal["action", "update", "create", "delete"]
    verb: str | None = None
    likely_values: tuple[str, ...] = ()
    terminal: bool = False
    field: str | None = None

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class StateField(_Fact):
    """A status/state-like enum of a resource, the values it takes, and what moves it."""

    kind: ClassVar[str] = "state_field"
    resource: str | None
    name: str
    values: tuple[str, ...]
    terminal_values: tuple[str, ...] = ()
    occurrences: tuple[FieldRef, ...] = ()
    transitions: tuple[StateTransition, ...] = ()
    client_settable: bool = False
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return tuple(
            dict.fromkeys(
                [o.operation_id for o in self.occurrences] + [t.operation_id for t in self.transitions]
            )
        )


@dataclass(frozen=True, slots=True)
class FieldRelation(_Fact):
    """Fields of one operation that constrain each other. `groups` holds the alternatives of `one_of` /
    `any_of` / `mutually_exclusive` (one group each), and the trigger then the dependents for
    `dependent_required` / `conditional`."""

    kind: ClassVar[str] = "field_relation"
    relation: RelationKind
    operation_id: str
    fields: tuple[str, ...]
    source: Literal["schema", "description", "name"]
    detail: str = ""
    groups: tuple[tuple[str, ...], ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class IdempotencyKey(_Fact):
    kind: ClassVar[str] = "idempotency_key"
    operation_id: str
    field: str
    required: bool = False
    source: Literal["name", "description"] = "name"
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class Pagination(_Fact):
    """A paginated list operation. `items_pointer` is a JSON pointer into the response body (`/data`,
    `` for a bare array); the `*_field` values are response field paths."""

    kind: ClassVar[str] = "pagination"
    operation_id: str
    style: Literal["offset", "page", "cursor", "next_link", "link_header"]
    params: tuple[str, ...] = ()
    limit_param: str | None = None
    items_pointer: str | None = None
    total_field: str | None = None
    has_more_field: str | None = None
    next_field: str | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class SharedField(_Fact):
    """A field name (normalized: `customer_id` = `customerId`) used by several operations."""

    kind: ClassVar[str] = "shared_field"
    name: str
    occurrences: tuple[FieldRef, ...]
    operation_count: int
    in_requests: int = 0
    in_responses: int = 0
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return tuple(dict.fromkeys(o.operation_id for o in self.occurrences))


@dataclass(frozen=True, slots=True)
class Ownership(_Fact):
    """Signs that a resource's records belong to a user, so one user reading or changing another's is a risk."""

    kind: ClassVar[str] = "ownership"
    resource: str | None
    operations: tuple[str, ...]
    signals: tuple[str, ...]
    owner_fields: tuple[FieldRef, ...] = ()
    scope_parameter: str | None = None
    secured: bool = False
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return self.operations


@dataclass(frozen=True, slots=True)
class PrivilegedField(_Fact):
    """A field a client might set on create/update although the server should own it (mass assignment).
    `accepted` says whether the request schema documents it; when it does not, the field is known from
    responses only."""

    kind: ClassVar[str] = "privileged_field"
    operation_id: str
    field: str
    reasons: tuple[str, ...]
    accepted: bool = True
    resource: str | None = None
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,)


@dataclass(frozen=True, slots=True)
class RateLimit(_Fact):
    """An operation (or, with `operation_id=None`, the whole API) documented as rate limited."""

    kind: ClassVar[str] = "rate_limit"
    operation_id: str | None
    signals: tuple[str, ...]
    headers: tuple[str, ...] = ()
    evidence: tuple[Evidence, ...] = ()

    @property
    def operation_ids(self) -> tuple[str, ...]:
        return (self.operation_id,) if self.operation_id else ()


Fact = (
    Link
    | Resource
    | StateField
    | FieldRelation
    | IdempotencyKey
    | Pagination
    | SharedField
    | Ownership
    | PrivilegedField
    | RateLimit
)
