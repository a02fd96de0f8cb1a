"""The interaction map: facts a judge needs to reason across fields and requests, computed from the spec.

`build_interaction_map(api)` reads only the normalized `Api`, and its rules come from names, types,
formats, descriptions and structure that any API has, never from names in a particular API:

- `Link`: which response field of which operation feeds which parameter of another (OpenAPI `links`,
  `Location` headers of creates, path structure, and fields named after a resource);
- `Resource`: collections, items, sub-resources, singletons, their create/read/list/update/delete
  operations and actions (`POST /orders/{id}/cancel`), with one-way actions flagged;
- `StateField`: status/state-like enums per resource, their values (terminal ones flagged) and the
  operations that move them;
- `FieldRelation`: fields of one operation that constrain each other (ranges, time order, amount and
  currency, exclusivity, co-requirement, one-of/any-of, dependencies, conditionals, arithmetic);
- `IdempotencyKey`, `Pagination`, `SharedField`, `Ownership`, `PrivilegedField`, `RateLimit`.

Every fact carries `evidence`: JSON pointers into the source document and, for prose, the sentence.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from functools import cached_property
from typing import Any

from crossfield.spec._interactions_facts import (
    RELATION_KINDS,
    Fact,
    FieldRef,
    FieldRelation,
    IdempotencyKey,
    Link,
    Ownership,
    Pagination,
    PrivilegedField,
    RateLimit,
    Resource,
    ResourceAction,
    SharedField,
    StateField,
    StateTransition,
)
from crossfield.spec._interactions_links import build_links
from crossfield.spec._interactions_ops import (
    build_idempotency,
    build_ownership,
    build_pagination,
    build_rate_limits,
    build_shared_fields,
)
from crossfield.spec._interactions_relations import build_field_relations
from crossfield.spec._interactions_resources import ResourceIndex, build_state_fields, clear_views
from crossfield.spec.model import Api

__all__ = [
    "FACT_KINDS",
    "RELATION_KINDS",
    "Fact",
    "FieldRef",
    "FieldRelation",
    "IdempotencyKey",
    "InteractionMap",
    "Link",
    "Ownership",
    "Pagination",
    "PrivilegedField",
    "RateLimit",
    "Resource",
    "ResourceAction",
    "SharedField",
    "StateField",
    "StateTransition",
    "build_interaction_map",
]

FACT_KINDS = (
    "link",
    "resource",
    "state_field",
    "field_relation",
    "idempotency_key",
    "pagination",
    "shared_field",
    "ownership",
    "privileged_field",
    "rate_limit",
)


@dataclass(frozen=True)
class InteractionMap:
    """All interaction facts of one API. Immutable; `to_dict()` is JSON-ready."""

    api_title: str
    content_hash: str
    links: tuple[Link, ...] = ()
    resources: tuple[Resource, ...] = ()
    state_fields: tuple[StateField, ...] = ()
    field_relations: tuple[FieldRelation, ...] = ()
    idempotency_keys: tuple[IdempotencyKey, ...] = ()
    paginations: tuple[Pagination, ...] = ()
    shared_fields: tuple[SharedField, ...] = ()
    ownership: tuple[Ownership, ...] = ()
    privileged_fields: tuple[PrivilegedField, ...] = ()
    rate_limits: tuple[RateLimit, ...] = ()

    def facts(self) -> Iterator[Fact]:
        yield from self.links
        yield from self.resources
        yield from self.state_fields
        yield from self.field_relations
        yield from self.idempotency_keys
        yield from self.paginations
        yield from self.shared_fields
        yield from self.ownership
        yield from self.privileged_fields
        yield from self.rate_limits

    def by_kind(self, kind: str) -> tuple[Fact, ...]:
        """Facts of one kind (`link`, `resource`, `state_field`, ...)."""
        groups: dict[str, tuple[Fact, ...]] = {
            "link": self.links,
            "resource": self.resources,
            "state_field": self.state_fields,
            "field_relation": self.field_relations,
            "idempotency_key": self.idempotency_keys,
            "pagination": self.paginations,
            "shared_field": self.shared_fields,
            "ownership": self.ownership,
            "privileged_field": self.privileged_fields,
            "rate_limit": self.rate_limits,
        }
        return groups.get(kind, ())

    def counts(self) -> dict[str, int]:
        """Number of facts by kind, every kind present (zero included)."""
        return {kind: len(self.by_kind(kind)) for kind in FACT_KINDS}

    def relation_counts(self) -> dict[str, int]:
        counts: dict[str, int] = dict.fromkeys(RELATION_KINDS, 0)
        for r in self.field_relations:
            counts[r.relation] += 1
        return counts

    def facts_for(self, operation_id: str) -> tuple[Fact, ...]:
        """Every fact that involves the operation (API-wide rate limits included)."""
        return self._by_operation.get(operation_id, ()) + self._api_wide

    def resource(self, name_or_key: str) -> Resource | None:
        for r in self.resources:
            if r.key == name_or_key:
                return r
        for r in self.resources:
            if r.name == name_or_key:
                return r
        return None

    @cached_property
    def _by_operation(self) -> dict[str, tuple[Fact, ...]]:
        index: dict[str, list[Fact]] = {}
        for fact in self.facts():
            for op_id in dict.fromkeys(fact.operation_ids):
                index.setdefault(op_id, []).append(fact)
        return {k: tuple(v) for k, v in index.items()}

    @cached_property
    def _api_wide(self) -> tuple[Fact, ...]:
        return tuple(r for r in self.rate_limits if r.operation_id is None)

    def to_dict(self) -> dict[str, Any]:
        return {
            "api_title": self.api_title,
            "content_hash": self.content_hash,
            "counts": self.counts(),
            "relation_counts": self.relation_counts(),
            **{
                name: [f.to_dict() for f in getattr(self, name)]
                for name in (
                    "resources",
                    "links",
                    "state_fields",
                    "field_relations",
                    "idempotency_keys",
                    "paginations",
                    "shared_fields",
                    "ownership",
                    "privileged_fields",
                    "rate_limits",
                )
            },
        }


def build_interaction_map(api: Api) -> InteractionMap:
    """Compute the interaction facts of `api`. Linear in the number of fields: everything is indexed by name."""
    try:
        return _build(api)
    finally:
        clear_views()  # the per-operation views only live for one build


def _build(api: Api) -> InteractionMap:
    index = ResourceIndex(api)
    owners, privileged = build_ownership(api, index)
    return InteractionMap(
        api_title=api.title,
        content_hash=api.content_hash,
        links=tuple(build_links(index)),
        resources=index.resources,
        state_fields=tuple(build_state_fields(index)),
        field_relations=tuple(build_field_relations(api)),
        idempotency_keys=tuple(build_idempotency(api)),
        paginations=tuple(build_pagination(api)),
        shared_fields=tuple(build_shared_fields(api)),
        ownership=tuple(owners),
        privileged_fields=tuple(privileged),
        rate_limits=tuple(build_rate_limits(api)),
    )
