"""What the heuristic rules know about an API: resources, their lifecycle operations, references between
them, and the body fields that matter for scenarios.

This is a deliberately small, structural reading of the spec model (paths, methods, field names, types)
so the rules can build complete scenarios: to call `POST /a/{a_id}/b` a scenario must first create an
`a`; to send `body.c_id` it must first create a `c`. It never relies on a particular API's names.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from functools import cached_property
from typing import Any

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._constraints import Relation, is_number, is_temporal
from crossfield.judgment.models import SpecEvidence
from crossfield.spec._fields import merged_object, resolve_local
from crossfield.spec._interactions_clauses import CLAUSE_LOCATIONS, clause_fields
from crossfield.spec.interactions import FieldRelation
from crossfield.spec.model import Api, Field, Operation

_PARAM = re.compile(r"^\{([^}]+)\}$")


_CUSTOM_METHOD = re.compile(r"^(\{[^}]+\}):([A-Za-z][\w-]*)$")


def _segments(path: str) -> list[str]:
    """Path segments; a custom method on an item (`/loans/{id}:renew`) reads as an action segment."""
    out: list[str] = []
    for s in path.strip("/").split("/"):
        if not s:
            continue
        m = _CUSTOM_METHOD.match(s)
        out.extend(m.groups() if m else (s,))
    return out


def _canonical(path: str) -> str:
    segs = _segments(path)
    return "/" + "/".join(segs) if segs else "/"


def _is_param(segment: str) -> bool:
    return _PARAM.match(segment) is not None


def _param_name(segment: str) -> str:
    m = _PARAM.match(segment)
    return m.group(1) if m else segment


@dataclass(frozen=True, slots=True)
class Action:
    """`POST /things/{id}/verb`: a state change of one object."""

    verb: str
    op: Operation


@dataclass(slots=True)
class Resource:
    """A collection of objects addressed by the same paths."""

    key: str
    """the collection path, e.g. `/loans` or `/loans/{loan_id}/fines`"""
    name: str
    """singular name of the collection, e.g. `loan`"""
    item_path: str | None = None
    id_param: str | None = None
    create: Operation | None = None
    list_op: Operation | None = None
    get: Operation | None = None
    update: Operation | None = None
    delete: Operation | None = None
    actions: list[Action] = field(default_factory=list)
    parent: Resource | None = None
    singleton: bool = False
    """`/me`, `/profile`: one object per caller, read and replaced without an id"""
    parent_param: str | None = None
    """the path parameter of the collection path that holds the parent's id"""

    @property
    def id_pointer(self) -> str | None:
        """Where the create response carries the new object's id."""
        op = self.create
        if op is None:
            return None
        names = {f.path[len("response.") :]: f for f in op.fields if f.location == "response"}
        for cand in ("id", f"{self.name}_id", f"{self.name}Id", "uuid", "key"):
            if cand in names:
                return "/" + cand
        if self.id_param and self.id_param in names:
            return "/" + self.id_param
        return None

    @property
    def fields(self) -> dict[str, Field]:
        """The object's representation: response fields of get (or create), by top-level-relative path."""
        for op in (self.get, self.create, self.update):
            if op is None:
                continue
            out = {f.path[len("response.") :]: f for f in op.fields if f.location == "response"}
            if out:
                return out
        return {}

    def action(self, verb: str) -> Action | None:
        for a in self.actions:
            if a.verb == verb:
                return a
        return None


@dataclass(frozen=True, slots=True)
class Reference:
    """A request field that carries another resource's id."""

    field: Field
    target: Resource


@dataclass
class Analysis:
    """The structural facts the rules share, computed once per API."""

    api: Api
    resources: dict[str, Resource]
    by_op: dict[str, Resource]
    op_role: dict[str, str]
    _relations: dict[str, tuple[Relation, ...]] = field(default_factory=dict)

    @cached_property
    def by_name(self) -> dict[str, list[Resource]]:
        out: dict[str, list[Resource]] = {}
        for r in self.resources.values():
            out.setdefault(r.name, []).append(r)
        return out

    def resource_for_name(self, stem: str) -> Resource | None:
        """The creatable resource a reference stem (`book` of `book_id`) points to."""
        key = V.norm(stem)
        if not key:
            return None
        cands = self.by_name.get(key, [])
        if not cands:
            last = key.split("_")[-1]
            cands = [r for r in self.resources.values() if r.name == last or r.name.endswith("_" + key)]
        cands = [r for r in cands if r.create is not None]
        if not cands:
            return None
        cands.sort(key=lambda r: (r.parent is not None, len(r.key), r.key))
        return cands[0]

    def reference_stem(self, f: Field) -> str | None:
        """`room_id` -> `room`; `roomId` -> `room`; a bare `room` string field -> `room`."""
        name = f.name
        if f.type not in (None, "string", "integer"):
            return None
        for suf in V.ID_SUFFIXES:
            if name.endswith(suf) and len(name) > len(suf):
                return name[: -len(suf)]
        ws = V.words(name)
        if len(ws) >= 2 and ws[-1] in V.ID_WORDS:
            return "_".join(ws[:-1])
        if f.type == "string" and f.format is None and f.enum is None and V.norm(name) in self.by_name:
            return name
        return None

    def references(self, op: Operation, *, location: str = "body") -> list[Reference]:
        """Request fields of `op` that carry the id of a creatable resource."""
        out: list[Reference] = []
        own = self.by_op.get(op.id)
        for f in op.fields:
            if f.location != location or f.read_only:
                continue
            stem = self.reference_stem(f)
            if stem is None:
                continue
            target = self.resource_for_name(stem)
            if target is None or (own is not None and target is own and self.op_role.get(op.id) == "create"):
                continue
            out.append(Reference(f, target))
        return out

    def path_resources(self, op: Operation) -> dict[str, Resource]:
        """Path parameters of `op` mapped to the resource whose id they carry."""
        out: dict[str, Resource] = {}
        segs = _segments(op.path)
        for i, seg in enumerate(segs):
            if not _is_param(seg):
                continue
            prefix = "/" + "/".join(segs[:i])
            res = self.resources.get(prefix)
            if res is not None and (res.create is not None or res.list_op is not None):
                out[_param_name(seg)] = res
                continue
            target = self.resource_for_name(self.reference_stem_of_param(_param_name(seg)) or "")
            if target is not None:
                out[_param_name(seg)] = target
        return out

    @staticmethod
    def reference_stem_of_param(name: str) -> str | None:
        for suf in V.ID_SUFFIXES:
            if name.endswith(suf) and len(name) > len(suf):
                return name[: -len(suf)]
        return name or None

    def catalog_for_name(self, stem: str) -> Resource | None:
        """A listable resource the API does not let clients create (events, seats, plans on sale): its
        objects exist already and are found by listing."""
        key = V.norm(stem)
        for r in self.by_name.get(key, []):
            if r.create is None and r.list_op is not None:
                return r
        return None

    def body_props(self, op: Operation) -> tuple[dict[str, Any], set[str]]:
        """Top-level properties and required names of the request body."""
        schema = op.body_schema
        if schema is None:
            return {}, set()
        props, required = merged_object(schema, self.api.schema_defs)
        return props, required

    def body_schema(self, op: Operation) -> Mapping[str, Any]:
        schema = op.body_schema
        return resolve_local(schema, self.api.schema_defs) if schema is not None else {}

    def top_field(self, op: Operation, name: str) -> Field | None:
        return op.field("body." + name)

    def response_fields(self, op: Operation) -> dict[str, Field]:
        return {f.path[len("response.") :]: f for f in op.fields if f.location == "response"}

    def relations(self, op: Operation) -> tuple[Relation, ...]:
        """The request-field relations of `op`, read from the interaction map (cached: rules ask for them
        repeatedly)."""
        cached = self._relations.get(op.id)
        if cached is None:
            cached = _from_map(op, self._relation_facts.get(op.id, ()))
            self._relations[op.id] = cached
        return cached

    @cached_property
    def _relation_facts(self) -> dict[str, list[FieldRelation]]:
        out: dict[str, list[FieldRelation]] = {}
        for fact in self.api.interactions.field_relations:
            out.setdefault(fact.operation_id, []).append(fact)
        return out

    def me_source(self, param: str) -> tuple[Operation, str] | None:
        """A path parameter naming the caller (`/members/{member_id}/...`) whose value only the caller's
        own profile tells (`GET /members/me` -> `member_id`): that read and the pointer of the id."""
        key = V.norm(param).replace("_", "")
        stem = V.norm(self.reference_stem_of_param(param) or "").replace("_", "")
        for r in self.iter_resources():
            if not r.singleton or r.get is None:
                continue
            fields = self.response_fields(r.get)
            for name, f in fields.items():
                if "." in name or "[" in name or f.type not in (None, "string", "integer"):
                    continue
                if V.norm(name).replace("_", "") == key:
                    return r.get, "/" + name
            segs = _segments(r.key)
            if "id" in fields and len(segs) >= 2 and V.norm(segs[-2]).replace("_", "") == stem:
                return r.get, "/id"
        return None

    def me(self) -> Resource | None:
        """The caller's own profile (`GET /users/me`), whose id names the caller."""
        for r in self.iter_resources():
            if r.singleton and r.get is not None and "id" in r.fields:
                return r
        return None

    @cached_property
    def restricted(self) -> frozenset[str]:
        """Operations reserved for a privileged role (see `role_restricted`)."""
        return role_restricted(self.api)

    def iter_resources(self) -> Iterable[Resource]:
        return (self.resources[k] for k in sorted(self.resources))


def _from_map(op: Operation, facts: Iterable[FieldRelation]) -> tuple[Relation, ...]:
    """The map's relations of `op` between fields one request sends side by side (top-level body fields
    the client writes, or query parameters), as the rules' `Relation`s: body before query, each in the
    map's order (schema, prose, names), the first of equal relations kept."""
    facts = list(facts)
    out: list[Relation] = []
    for location in CLAUSE_LOCATIONS:
        scope = {f.path: f for f in clause_fields(op, location).values()}
        if len(scope) < 2:
            continue
        for fact in facts:
            out.extend(_translate(fact, location, scope))
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    unique: list[Relation] = []
    for r in out:
        key = (
            r.kind,
            r.location,
            r.fields if r.kind in ("requires", "range", "temporal") else tuple(sorted(r.fields)),
        )
        if key in seen or len(set(r.fields)) != len(r.fields):
            continue
        seen.add(key)
        unique.append(r)
    return tuple(unique)


def _translate(fact: FieldRelation, location: str, scope: Mapping[str, Field]) -> Iterable[Relation]:
    """`mutually_exclusive` of two fields -> mutex; `one_of`/`any_of` of single-field alternatives -> the
    same; `dependent_required` with one trigger -> `requires` (trigger, needed) for each field needed;
    `range` of two numbers and `temporal` of two dates -> the same. Other kinds are not the rules' concern."""
    if not fact.evidence:
        return
    first = fact.evidence[0]
    evidence = SpecEvidence(pointer=first.pointer, text=first.text)
    structural = fact.source == "schema"
    fields = fact.fields
    kind = fact.relation
    if kind == "dependent_required":
        if len(fact.groups) != 2 or len(fact.groups[0]) != 1:
            return
        trigger = scope.get(fact.groups[0][0])
        if trigger is None:
            return
        for path in fact.groups[1]:
            needed = scope.get(path)
            if needed is not None:
                yield Relation("requires", location, (trigger.name, needed.name), evidence, structural)
        return
    found = [scope.get(p) for p in fields]
    if any(f is None for f in found):
        return
    named = [f for f in found if f is not None]
    names = tuple(f.name for f in named)
    if kind in ("one_of", "any_of"):
        if all(len(g) == 1 for g in fact.groups):
            yield Relation(kind, location, names, evidence, structural)
    elif len(named) != 2:
        return
    elif kind == "mutually_exclusive":
        yield Relation("mutex", location, names, evidence, structural)
    elif kind == "range" and is_number(named[0]) and is_number(named[1]):
        yield Relation("range", location, names, evidence, structural)
    elif kind == "temporal" and is_temporal(named[0]) and is_temporal(named[1]):
        yield Relation("temporal", location, names, evidence, structural)


def analyze(api: Api) -> Analysis:
    """The rules' view of resources, read from the interaction map, so the judge and the map never disagree
    on what a resource is. Resources are keyed by their collection path (`/accounts/{account_id}/transfers`),
    which is what a path prefix of an operation looks up."""
    resources: dict[str, Resource] = {}
    op_role: dict[str, str] = {}
    by_op: dict[str, Resource] = {}
    by_fact_key: dict[str, Resource] = {}
    facts = api.interactions.resources

    def op(op_id: str | None) -> Operation | None:
        return api.operation(op_id) if op_id else None

    for fact in facts:
        path = fact.collection_path or fact.item_path
        if path is None:
            continue
        key = _canonical(path)
        if key in resources:
            continue
        segs = _segments(key)
        statics = [s for s in segs if not _is_param(s)]
        r = Resource(
            key=key,
            name=V.norm(statics[-1]) if statics else V.norm(fact.name),
            item_path=_canonical(fact.item_path) if fact.item_path and fact.collection_path else None,
            id_param=fact.id_parameter.split(".", 1)[1] if fact.id_parameter else None,
            create=op(fact.create),
            list_op=op(fact.list),
            get=op(fact.read),
            update=op(fact.update),
            delete=op(fact.delete),
            # The rules read a singleton as the caller's own object (`/me`, `/profile`), so only those count.
            singleton=fact.singleton and bool(segs) and segs[-1].lower() in _SINGLETONS,
            parent_param=_param_name(segs[-2]) if len(segs) >= 2 and _is_param(segs[-2]) else None,
        )
        for action in fact.actions:
            found = op(action.operation_id)
            if action.item_level and found is not None:
                r.actions.append(Action(action.verb, found))
                op_role[found.id] = "action"
        for role, found in (
            ("create", r.create),
            ("list", r.list_op),
            ("get", r.get),
            ("update", r.update),
            ("delete", r.delete),
        ):
            if found is not None:
                op_role[found.id] = role
        for op_id in fact.operations:
            by_op.setdefault(op_id, r)
        resources[key] = r
        by_fact_key[fact.key] = r
    for fact in facts:
        child = by_fact_key.get(fact.key)
        if child is not None and fact.parent is not None:
            child.parent = by_fact_key.get(fact.parent)
    return Analysis(api=api, resources=resources, by_op=by_op, op_role=op_role)


_SINGLETONS = frozenset(
    {
        "me",
        "self",
        "current",
        "profile",
        "whoami",
        "myself",
        "current_user",
        "currentuser",
        "my_profile",
        "myprofile",
        "account",
        "my_account",
        "myaccount",
    }
)


_ROLES = (
    r"admins?|administrators?|staff|managers?|supervisors?|approvers?|reviewers?|moderators?|operators?"
    r"|superusers?|root|finance|accounting|accountants?|auditors?|support|back[- ]office|internal"
    r"|coordinators?|agents?|clinicians?|dispatchers?|carriers?|couriers?|instructors?|teachers?"
    r"|librarians?|cashiers?|tellers?|underwriters?|inspectors?|technicians?|employees?|personnel|crew"
    r"|practitioners?|physicians?|doctors?|nurses?"
)
_ROLE_ONLY = re.compile(
    rf"\bonly\s+(?:an?\s+|the\s+)?(?:[\w`'’]+\s+){{0,2}}`?(?:{_ROLES})(?:_id)?`?\b(?!\s+(?:of|for)\b)"
    rf"|\b(?:{_ROLES})\s+only\b"
    rf"|\b(?:{_ROLES})\s+of\s+(?:the\s+|this\s+|that\s+)?[\w-]+\s+only\b"
    rf"|\brequires?\s+(?:an?\s+|the\s+)?`?(?:{_ROLES})`?\s+(?:role|scope|permissions?|privileges?|rights|access)\b"
    rf"|\bmust\s+be\s+(?:an?\s+|the\s+)`?(?:{_ROLES})`?\b",
    re.I,
)


def role_restricted(api: Api) -> frozenset[str]:
    """Operations the spec reserves for a privileged role ("Finance only", "Only the report's approver
    can approve", "requires the admin role"). The judge's identities are ordinary callers, so a scenario
    that needs such a call to succeed cannot be built without knowing who holds the role."""
    return frozenset(
        op.id for op in api.operations if _ROLE_ONLY.search(f"{op.summary}\n{op.description}") is not None
    )
