"""What `crossfield inspect` shows, as data: an API summary, operations grouped by resource, and
one-line descriptions of interaction facts. The CLI only formats these."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossfield.spec.interactions import (
    FACT_KINDS,
    Fact,
    FieldRelation,
    IdempotencyKey,
    InteractionMap,
    Link,
    Ownership,
    Pagination,
    PrivilegedField,
    RateLimit,
    Resource,
    SharedField,
    StateField,
)
from crossfield.spec.model import Api, Operation

INSPECT_FORMAT = "crossfield.inspect/1"


@dataclass(frozen=True, slots=True)
class OperationRole:
    operation: Operation
    resource: str | None
    role: str | None  # create/read/list/update/delete/action:<verb>


@dataclass(frozen=True, slots=True)
class ResourceGroup:
    """One resource and its operations, in spec order. `resource` is None for the operations no resource
    claimed."""

    resource: Resource | None
    operations: tuple[OperationRole, ...]

    @property
    def title(self) -> str:
        if self.resource is None:
            return "(other operations)"
        r = self.resource
        where = r.collection_path or r.item_path or r.key
        return f"{r.name}  {where}"


def operation_roles(imap: InteractionMap) -> dict[str, tuple[str, str]]:
    """operation id -> (resource key, role)."""
    out: dict[str, tuple[str, str]] = {}
    for r in imap.resources:
        for role in ("create", "read", "list", "update", "delete"):
            op_id = getattr(r, role)
            if op_id:
                out.setdefault(op_id, (r.key, role))
        for a in r.actions:
            out.setdefault(a.operation_id, (r.key, f"action:{a.verb}"))
        for op_id in r.operations:
            out.setdefault(op_id, (r.key, ""))
    return out


def group_by_resource(api: Api, imap: InteractionMap) -> list[ResourceGroup]:
    roles = operation_roles(imap)
    by_key = {r.key: r for r in imap.resources}
    groups: dict[str | None, list[OperationRole]] = {}
    for op in api.operations:
        key, role = roles.get(op.id, (None, ""))
        res = by_key.get(key) if key else None
        groups.setdefault(key, []).append(OperationRole(op, res.name if res else None, role or None))
    ordered = sorted(groups.items(), key=lambda kv: (kv[0] is None, kv[0] or ""))
    return [ResourceGroup(by_key.get(k) if k else None, tuple(v)) for k, v in ordered]


def describe(fact: Fact) -> str:
    """One human-readable line for a fact."""
    if isinstance(fact, Link):
        return (
            f"{fact.producer}.{fact.producer_field} -> {fact.consumer}.{fact.consumer_field}"
            f"  [{fact.source}, {fact.confidence:.2f}]"
        )
    if isinstance(fact, Resource):
        roles = [n for n in ("create", "read", "list", "update", "delete") if getattr(fact, n)]
        verbs = [a.verb + ("!" if a.terminal else "") for a in fact.actions]
        parts = [fact.name, fact.collection_path or fact.item_path or fact.key]
        if roles:
            parts.append("/".join(roles))
        if verbs:
            parts.append("actions: " + ", ".join(dict.fromkeys(verbs)))
        if fact.parent:
            parts.append(f"under {fact.parent}")
        return "  ".join(parts)
    if isinstance(fact, StateField):
        values = ", ".join(v + ("*" if v in fact.terminal_values else "") for v in fact.values[:10])
        moved = sorted({t.verb or t.via for t in fact.transitions})
        text = f"{fact.resource}.{fact.name}: {values}"
        if moved:
            text += "  moved by " + ", ".join(moved)
        if fact.client_settable:
            text += "  (client-settable)"
        return text
    if isinstance(fact, FieldRelation):
        return (
            f"{fact.relation}: {fact.operation_id} {', '.join(fact.fields)}  ({fact.source}: {fact.detail})"
        )
    if isinstance(fact, IdempotencyKey):
        return f"{fact.operation_id} {fact.field}" + (" (required)" if fact.required else "")
    if isinstance(fact, Pagination):
        params = ", ".join(fact.params) or "-"
        return f"{fact.operation_id} {fact.style} [{params}] items at '{fact.items_pointer or ''}'"
    if isinstance(fact, SharedField):
        return f"{fact.name} in {fact.operation_count} operations ({fact.in_requests} request, {fact.in_responses} response)"
    if isinstance(fact, Ownership):
        return f"{fact.resource}: " + "; ".join(fact.signals)
    if isinstance(fact, PrivilegedField):
        state = "accepted" if fact.accepted else "response-only"
        return f"{fact.operation_id} {fact.field} ({state}): {'; '.join(fact.reasons)}"
    if isinstance(fact, RateLimit):
        return f"{fact.operation_id or '(whole API)'}: {'; '.join(fact.signals)}"
    return str(fact)


def api_summary(api: Api) -> dict[str, Any]:
    return {
        "title": api.title,
        "version": api.version,
        "format": api.source_format,
        "source": api.source_path,
        "content_hash": api.content_hash,
        "servers": list(api.servers),
        "operations": len(api.operations),
        "fields": sum(len(op.fields) for op in api.operations),
        "errors": len(api.errors),
    }


def inspect_document(api: Api, imap: InteractionMap | None = None) -> dict[str, Any]:
    """The machine-readable form of `crossfield inspect --json`."""
    imap = imap if imap is not None else api.interactions
    roles = operation_roles(imap)
    by_key = {r.key: r.name for r in imap.resources}
    operations = []
    for op in api.operations:
        key, role = roles.get(op.id, (None, ""))
        operations.append(
            {
                "id": op.id,
                "method": op.method,
                "path": op.path,
                "summary": op.summary,
                "tags": list(op.tags),
                "resource": by_key.get(key) if key else None,
                "resource_key": key,
                "role": role or None,
                "deprecated": op.deprecated,
                "fields": len(op.fields),
                "pointer": op.pointer,
            }
        )
    return {
        "format": INSPECT_FORMAT,
        "api": api_summary(api),
        "operations": operations,
        "errors": [{"pointer": e.pointer, "line": e.line, "message": e.message} for e in api.errors],
        "facts": imap.to_dict(),
    }


__all__ = [
    "FACT_KINDS",
    "INSPECT_FORMAT",
    "OperationRole",
    "ResourceGroup",
    "api_summary",
    "describe",
    "group_by_resource",
    "inspect_document",
    "operation_roles",
]
