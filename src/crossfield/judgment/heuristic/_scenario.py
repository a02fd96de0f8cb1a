"""Shared scenario building: prerequisites, valid bodies, and the small vocabulary of steps every rule uses.

A scenario must fail only for the reason it claims. So every object a risky call needs is created first
through the API (found through path parents and `*_id` references), every body satisfies every relation
of its operation except the one a test breaks on purpose, numbers are chosen inside their bounds and
sharp enough for the claim (a supply of 100, a count of 1, a price of 250), dates are fixed, future and
ordered, and currencies agree across the objects of one scenario. Rules say *what* to break; this module
makes everything around it valid.
"""

from __future__ import annotations

import math
import re
from collections.abc import Callable, Iterator, Mapping, Sequence
from contextlib import contextmanager, nullcontext
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from typing import Any

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Analysis, Resource
from crossfield.judgment.heuristic._constraints import Relation, is_number, is_temporal
from crossfield.judgment.models import (
    Body,
    Capture,
    CapturedValue,
    Category,
    ConstraintKind,
    Expectation,
    FieldRef,
    HypothesisDraft,
    LiteralValue,
    RelativeTimeValue,
    RequestValue,
    Severity,
    SpecEvidence,
    StatusExpectation,
    Step,
    SynthesizedValue,
    UniqueValue,
    Value,
)
from crossfield.spec.model import Api, Field, Operation

__all__ = [
    "OK",
    "REJECTED",
    "Builder",
    "Candidate",
    "CapturedValue",
    "Context",
    "LiteralValue",
    "Obj",
    "Rule",
    "Scenario",
    "candidate",
    "clip",
    "currency_value",
    "fits",
    "mentions_rule",
    "past_only",
    "past_op",
    "role_of",
    "stale_in_past",
    "state_field",
    "time_at",
    "time_value",
]

BASE_TIME = datetime(2097, 3, 2, 9, 0, tzinfo=UTC)
"""Far enough in the future for "must not be in the past", fixed so output is deterministic."""

BASE_PAST = datetime(2021, 3, 2, 9, 0, tzinfo=UTC)
"""For dates the spec says may not be in the future (a back-dated record), and their partners."""

_PAST_ONLY = re.compile(
    r"\b(?:never|not|cannot be|can ?not be|must not be|may not be|no later than)\s+(?:be\s+)?(?:in the future|later than (?:today|now))"
    r"|\bback-?dat",
    re.I,
)


def past_only(f: Field | None) -> bool:
    """A date or time the spec says must not lie in the future (`never in the future`, back-dated)."""
    return f is not None and is_temporal(f) and _PAST_ONLY.search(f.description or "") is not None


_DUE_PROSE = re.compile(
    r"\b(?:overdue|past due|expired|not (?:yet )?due|before (?:its|the) (?:due|expiry))", re.I
)


def stale_in_past(res: Resource, op: Operation) -> bool:
    """`op` refuses objects whose dates lie behind today (`overdue`), and `res` can only be created with
    past dates: a positive control of `op` on a fresh object would fail for a reason of its own."""
    return (
        res.create is not None and past_op(res.create) and _DUE_PROSE.search(op.description or "") is not None
    )


def past_op(op: Operation) -> bool:
    """Whether a body date of `op` must not lie in the future: all its dates then go in the past."""
    return any(f.location == "body" and past_only(f) for f in op.fields)


OK = StatusExpectation(band="2xx")
REJECTED = StatusExpectation(band="4xx")

Knobs = dict[str, dict[str, Value]]
"""Per resource key: body overrides (dotted body paths) to apply whenever that resource is created."""


def clip(f: Field, wanted: float) -> float | int | None:
    """`wanted` moved inside the field's bounds (None when the bounds leave no room)."""
    lo = f.minimum if f.minimum is not None else -math.inf
    hi = f.maximum if f.maximum is not None else math.inf
    integer = f.type == "integer"
    excl_lo = f.exclusive_minimum
    excl_hi = f.exclusive_maximum
    if isinstance(f.schema.get("exclusiveMinimum"), bool) and f.schema.get("exclusiveMinimum"):
        excl_lo = f.minimum
    if isinstance(f.schema.get("exclusiveMaximum"), bool) and f.schema.get("exclusiveMaximum"):
        excl_hi = f.maximum
    step = 1 if integer else 0.5
    if excl_lo is not None:
        lo = max(lo, excl_lo + step)
    if excl_hi is not None:
        hi = min(hi, excl_hi - step)
    value = min(max(wanted, lo), hi)
    if lo > hi or math.isinf(value):
        return None
    if integer:
        value = math.ceil(value) if value == lo else math.floor(value)
        return int(value)
    return value


def fits(f: Field, value: float) -> bool:
    return clip(f, value) == value


def role_of(f: Field) -> str | None:
    """What a number means for scenarios: 'stock', 'capacity', 'count', 'price', 'discount', 'amount'."""
    if not is_number(f):
        return None
    ws = set(V.words(f.name)) | {V.singular(w) for w in V.words(f.name)}
    if ws & {"percent", "percentage", "pct", "ratio", "rate"} and ws & {"off", "discount"}:
        return "percent"
    if ws & V.DISCOUNT_WORDS:
        return "discount"
    if ws & {
        "stock",
        "inventory",
        "available",
        "availability",
        "remaining",
        "onhand",
        "supply",
        "balance",
        "quota",
    }:
        return "stock"
    if ws & {"capacity", "occupancy"} or (ws & {"max", "maximum", "limit"} and ws & V.COUNT_WORDS):
        return "capacity"
    if ws & {"price", "cost", "fare", "fee", "tariff"} or (
        ws & {"unit"} and ws & {"amount", "price", "cost"}
    ):
        return "price"
    if ws & {"amount", "total", "sum", "value"}:
        return "amount"
    if ws & V.COUNT_WORDS:
        return "count"
    return None


_ROLE_DEFAULT = {
    "stock": 100,
    "capacity": 50,
    "count": 1,
    "price": 250,
    "amount": 1000,
    "discount": 100,
    "percent": 10,
}


_FUNDING = 100_000
"""How much a funded object receives: far more than any amount a scenario spends."""


@dataclass
class Obj:
    """An object a scenario created: its resource, the capture holding its id, its path parameters."""

    resource: Resource
    capture: str
    step: str
    identity: str
    path: dict[str, Value]


@dataclass
class Scenario:
    """Steps under construction, with unique step/capture names and reusable prerequisites."""

    builder: Builder
    steps: list[Step] = field(default_factory=list)
    names: set[str] = field(default_factory=set)
    shared: dict[tuple[str, str], Obj] = field(default_factory=dict)
    knobs: Knobs = field(default_factory=dict)
    include_refs: set[str] = field(default_factory=set)
    """reference field names to fill even when optional (a coupon the claim needs)"""
    variant: int = 0
    created: dict[str, int] = field(default_factory=dict)
    funded: set[str] = field(default_factory=set)
    """captures of parents already funded"""
    objects: dict[str, Obj] = field(default_factory=dict)
    """every object created, by the capture holding its id"""
    filled: set[str] = field(default_factory=set)
    """`capture>child key`: objects already given the child an action needs"""

    def name(self, base: str) -> str:
        base = _ident(base)
        candidate, n = base, 2
        while candidate in self.names:
            candidate = f"{base[:44]}_{n}"
            n += 1
        self.names.add(candidate)
        return candidate

    def add(self, step: Step) -> Step:
        self.steps.append(step)
        return step

    @contextmanager
    def another(self, resource: Resource) -> Iterator[None]:
        """While building the body of a further object of `resource`: a variant of its own (its own dates
        and unique values, so two objects of one scenario never clash)."""
        previous = self.variant
        self.variant = max(self.variant, self.created.get(resource.key, 0))
        self.created[resource.key] = self.created.get(resource.key, 0) + 1
        try:
            yield
        finally:
            self.variant = previous

    def ensure(
        self, resource: Resource, *, identity: str = "default", fresh: bool = False, depth: int = 0
    ) -> Obj | None:
        """An object of `resource` owned by `identity`: a shared one if any, else created (with prerequisites)."""
        key = (resource.key, identity)
        if not fresh and key in self.shared:
            return self.shared[key]
        obj = self.builder.create(self, resource, identity=identity, depth=depth)
        if obj is None and resource.create is None:
            obj = self.builder.existing(self, resource, identity=identity, depth=depth)
        if obj is not None and not fresh:
            self.shared.setdefault(key, obj)
        return obj


class Builder:
    """Builds steps for one API."""

    def __init__(self, analysis: Analysis, identities: tuple[str, str]) -> None:
        self.a = analysis
        self.owner, self.other = identities

    def scenario(self, **kw: Any) -> Scenario:
        return Scenario(builder=self, **kw)

    # ---- creating objects --------------------------------------------------------------------------

    def creatable(self, resource: Resource, depth: int = 0) -> bool:
        """Whether a scenario can create an object of `resource` from nothing."""
        sc = self.scenario()
        return self.create(sc, resource, identity=self.owner, depth=depth) is not None

    def create(
        self,
        sc: Scenario,
        resource: Resource,
        *,
        identity: str,
        depth: int = 0,
        overrides: Mapping[str, Value] | None = None,
        include: frozenset[str] = frozenset(),
        omit: frozenset[str] = frozenset(),
        expect: list[Expectation] | None = None,
        step_name: str | None = None,
        note: str = "",
        extra_captures: list[Capture] | None = None,
        params: Mapping[str, Value] | None = None,
    ) -> Obj | None:
        """Append the steps that create one `resource` object; None when something it needs cannot be made."""
        op = resource.create
        pointer = resource.id_pointer
        if op is None or pointer is None or depth > 6:
            return None
        mark = len(sc.steps)
        given = {k: v for k, v in (params or {}).items() if k.startswith("path.")}
        path = self.path_params(sc, op, identity=identity, depth=depth, known=given)
        if path is None:
            del sc.steps[mark:]
            return None
        knob = self._within_parent(sc, resource, {**path, **(params or {})})
        knob.update(sc.knobs.get(resource.key, {}))
        knob.update(overrides or {})
        with sc.another(resource):
            body = self.body(
                sc, op, identity=identity, overrides=knob, include=include, omit=omit, depth=depth
            )
        if body is False:
            del sc.steps[mark:]
            return None
        self.fund_before(sc, op, path)
        capture = sc.name(f"{resource.name}_id")
        step_id = sc.name(step_name or f"create_{resource.name}")
        parameters = dict(path)
        parameters.update(self.required_params(op, skip=set(parameters), sc=sc))
        parameters.update(params or {})
        sc.add(
            Step(
                id=step_id,
                operation=op.id,
                identity=identity,
                params=parameters,
                body=body if isinstance(body, Body) else None,
                captures=[Capture(name=capture, pointer=pointer), *(extra_captures or [])],
                expect=expect if expect is not None else [OK],
                note=note or f"prerequisite: a {resource.name.replace('_', ' ')}",
                # the object a claim needs, not evidence for it: refused, the claim is not evaluated
                setup=expect is None and not note.startswith(("positive control", "violation")),
            )
        )
        item_path = dict(path)
        if resource.id_param:
            item_path[f"path.{resource.id_param}"] = CapturedValue(name=capture)
        made = Obj(resource, capture, step_id, identity, item_path)
        sc.objects[capture] = made
        return made

    def existing(
        self,
        sc: Scenario,
        resource: Resource,
        *,
        identity: str,
        depth: int = 0,
        known: Mapping[str, Value] | None = None,
    ) -> Obj | None:
        """An object of a resource clients cannot create (a catalog: events on sale, seats of an event):
        list it and keep the first item's id. `known` path parameters name the parent to list under."""
        op = resource.list_op
        if op is None or depth > 6:
            return None
        pointer = _first_item_id(self.a.response_fields(op))
        if pointer is None:
            return None
        mark = len(sc.steps)
        path = self.path_params(sc, op, identity=identity, depth=depth, known=known)
        if path is None:
            del sc.steps[mark:]
            return None
        params: dict[str, Value] = {**path, **self.required_params(op, skip=set(path), sc=sc)}
        filtered = False
        for q in op.parameters_in("query"):  # only objects still free to use (`status=available`)
            f = op.field(q.field_path)
            free = [v for v in (f.enum or ()) if isinstance(v, str) and V.norm(v) in _AVAILABLE] if f else []
            if free and q.field_path not in params:
                params[q.field_path] = LiteralValue(value=free[0])
                filtered = True
        # each object of the scenario gets its own item of the list (two seats, not the same one twice):
        # the next item, or, in a list of available items, the first (the one taken before has left it);
        # items that start at a time (events, sessions) are taken from the end of the list, the latest
        # first when it is sorted soonest first, so that windows closing before the start stay open
        index = 0 if filtered else sc.created.get(f"existing:{resource.key}", 0)
        sc.created[f"existing:{resource.key}"] = index + 1
        dated = any(
            _time_role(f.name) == "start" and f.format == "date-time"
            for k, f in self.a.response_fields(op).items()
            if k.count("[]") == 1 and k.endswith(f"[].{f.name}")
        )
        pointer = pointer.replace("/0/", f"/{-(index + 1) if dated else index}/", 1)
        capture = sc.name(f"{resource.name}_id")
        step_id = sc.name(f"find_{resource.name}")
        sc.add(
            Step(
                id=step_id,
                operation=op.id,
                identity=identity,
                params=params,
                captures=[Capture(name=capture, pointer=pointer)],
                expect=[OK],
                note=f"prerequisite: an existing {resource.name.replace('_', ' ')} (clients cannot create one)",
                setup=True,
            )
        )
        item_path = dict(path)
        if resource.id_param:
            item_path[f"path.{resource.id_param}"] = CapturedValue(name=capture)
        made = Obj(resource, capture, step_id, identity, item_path)
        sc.objects[capture] = made
        return made

    def funding_op(self, res: Resource) -> tuple[Operation, Field] | None:
        """For an object with a server-managed balance (`balance`, `stock`), the child create that adds
        to it (`POST /accounts/{id}/deposits`, a top-up) and its amount field."""
        stock = [f for k, f in res.fields.items() if f.read_only and role_of(f) == "stock" and "." not in k]
        if not stock:
            return None
        for child in self.a.iter_resources():
            op = child.create
            if child.parent is not res or op is None or op.method.lower() != "post":
                continue
            text = {V.singular(w) for w in V.words(f"{child.name} {op.summary} {op.id}")}
            if not text & V.FUNDING_WORDS or self.a.references(op):
                continue
            amounts = [
                f
                for f in op.fields
                if f.location == "body" and f.path.count(".") == 1 and role_of(f) in ("amount", "price")
            ]
            if len(amounts) != 1:
                continue
            return op, amounts[0]
        return None

    def fund_before(self, sc: Scenario, op: Operation, params: Mapping[str, Value]) -> None:
        """Before a child create that spends from its parent (a transfer out of an account), fund the
        parent once, generously, so the spend fails only for the reason the scenario claims."""
        res = self.a.by_op.get(op.id)
        if res is None or res.create is not op or res.parent is None or res.parent_param is None:
            return
        funding = self.funding_op(res.parent)
        if funding is None or funding[0] is op:
            return
        if not any(f.location == "body" and role_of(f) in ("amount", "price") for f in op.fields):
            return
        value = params.get(f"path.{res.parent_param}")
        if not isinstance(value, CapturedValue) or value.name in sc.funded:
            return
        parent = next((o for o in sc.shared.values() if o.capture == value.name), None)
        if parent is None:
            return
        wanted = clip(funding[1], _FUNDING)
        if wanted is not None:
            self.fund(
                sc,
                parent,
                funding,
                wanted,
                note=f"prerequisite: fund the {res.parent.name.replace('_', ' ')}",
            )

    def fund(
        self, sc: Scenario, holder: Obj, funding: tuple[Operation, Field], amount: float, *, note: str
    ) -> bool:
        """Append one funding call (a deposit into `holder`) of `amount`, and mark `holder` as funded so
        that no later step tops it up again. False when no body can be built for the call."""
        fop, field_ = funding
        body = self.body(
            sc, fop, identity=holder.identity, overrides={field_.name: LiteralValue(value=amount)}
        )
        if body is False:
            return False
        sc.funded.add(holder.capture)
        sc.add(
            Step(
                id=sc.name(f"fund_{holder.resource.name}"),
                operation=fop.id,
                identity=holder.identity,
                params={**holder.path, **self.required_params(fop, skip=set(holder.path), sc=sc)},
                body=body if isinstance(body, Body) else None,
                expect=[OK],
                note=note,
                setup=True,
            )
        )
        return True

    def path_params(
        self,
        sc: Scenario,
        op: Operation,
        *,
        identity: str,
        depth: int = 0,
        known: Mapping[str, Value] | None = None,
    ) -> dict[str, Value] | None:
        """Values for every path parameter of `op`, creating the objects they name."""
        out: dict[str, Value] = {}
        known = known or {}
        mapping = self.a.path_resources(op)
        for p in op.parameters_in("path"):
            key = f"path.{p.name}"
            if key in known:
                out[key] = known[key]
                continue
            target = mapping.get(p.name)
            if target is None:
                me = self.a.me_source(p.name)
                if me is None:
                    return None
                out[key] = self.whoami(sc, me, identity=identity)
                continue
            obj = sc.ensure(target, identity=identity, depth=depth + 1)
            if obj is None:
                return None
            out.update(
                {k: v for k, v in obj.path.items() if op.parameter("path", k.split(".", 1)[1]) is not None}
            )
            out[key] = CapturedValue(name=obj.capture)
        return out

    def whoami(self, sc: Scenario, source: tuple[Operation, str], *, identity: str) -> CapturedValue:
        """The caller's own id, read once per identity from its profile (`GET /me`)."""
        op, pointer = source
        key = (f"me:{op.id}{pointer}", identity)
        known = sc.shared.get(key)
        if known is not None:
            return CapturedValue(name=known.capture)
        capture = sc.name(f"{identity}_{pointer.strip('/')}")
        step = sc.name(f"whoami_{identity}")
        sc.add(
            Step(
                id=step,
                operation=op.id,
                identity=identity,
                params=self.required_params(op, skip=set(), sc=sc),
                captures=[Capture(name=capture, pointer=pointer)],
                expect=[OK],
                note="prerequisite: the caller's own id",
                setup=True,
            )
        )
        res = self.a.by_op.get(op.id)
        if res is not None:
            sc.shared[key] = Obj(res, capture, step, identity, {})
        return CapturedValue(name=capture)

    def required_params(self, op: Operation, skip: set[str], sc: Scenario | None = None) -> dict[str, Value]:
        """Required query/header parameters that are not credentials. With `sc`, each call gets its own
        idempotency key: two requests of one scenario are two requests, never a replay of each other."""
        out: dict[str, Value] = {}
        auth = {s.parameter_name.lower() for s in self.a.api.security_schemes if s.parameter_name}
        for p in op.parameters:
            key = p.field_path
            if (
                not p.required
                or p.location == "path"
                or key in skip
                or p.name.lower() in auth | {"authorization"}
            ):
                continue
            if p.location == "header" and V.IDEMPOTENCY_HEADER.search(p.name):
                out[key] = UniqueValue(name=sc.name(p.name) if sc is not None else _ident(p.name))
            else:
                out[key] = SynthesizedValue()
        return out

    # ---- bodies -------------------------------------------------------------------------------------

    def body(
        self,
        sc: Scenario,
        op: Operation,
        *,
        identity: str,
        overrides: Mapping[str, Value] | None = None,
        include: frozenset[str] = frozenset(),
        omit: frozenset[str] = frozenset(),
        break_relation: Relation | None = None,
        depth: int = 0,
        partial: bool = False,
    ) -> Body | bool | None:
        """A valid body for `op` (False if impossible, None if the operation takes none).

        `overrides` win; `include` adds optional fields; `omit` leaves fields out; `break_relation`
        is the one relation allowed to be violated. `partial` (updates) sends only what is asked for."""
        if op.body_schema is None:
            return None
        props, required = self.a.body_props(op)
        overrides = dict(overrides or {})
        forced = {k.split(".", 1)[0] for k in overrides} | set(include)
        selected = set() if partial else {r for r in required if r in props and not _read_only(op, r)}
        # the spec's example is the base the generated test starts from: its references, dates and
        # unique values must be the scenario's own, not the example's
        shown = set() if partial else {k for k in _example_keys(op) if k in props and not _read_only(op, k)}
        selected |= forced | shown
        selected -= omit
        rels = [r for r in self.a.relations(op) if r.location == "body" and r is not break_relation]
        selected = _close(selected, forced, omit, rels)
        if not partial:
            for ref in self.a.references(op):
                top = ref.field.path.split(".")[1].split("[")[0]
                if ref.field.name in sc.include_refs and top not in omit:
                    selected.add(top)
        past = past_op(op)
        if past:  # a back-dated partner left out defaults to today, after the fixed dates: send it
            for r in rels:
                if r.kind == "temporal" and set(r.fields) & selected:
                    for m in r.fields:
                        if m not in omit and past_only(op.field(f"body.{m}")):
                            selected.add(m)
        out: dict[str, Value] = {}
        temporal_roles = _temporal_roles(op, rels, selected)
        for name in sorted(selected):
            f = op.field(f"body.{name}")
            if f is None or name in overrides:
                continue
            value = self.value_for(sc, op, f, identity=identity, depth=depth, temporal_roles=temporal_roles)
            if value is False:
                if name in required or name in forced:
                    return False
                continue
            if (
                isinstance(value, LiteralValue)
                and name in shown
                and name not in forced
                and is_number(f)
                and not isinstance(value.value, bool)
            ):
                continue  # a plain number: the example's own fits its neighbours (children < party size)
            if value is not None and value is not True:
                out[name] = value
            elif name in shown and name not in forced:
                continue  # the example's value stands
            elif name not in required or name in forced:
                out[name] = SynthesizedValue()
        # array-of-object fields carrying references (`lines[].item_id`): fill element 0
        for name in sorted(selected):
            f = op.field(f"body.{name}")
            if f is None or f.type != "array" or name in overrides:
                continue
            for sub in op.fields:
                if not sub.path.startswith(f"body.{name}[]."):
                    continue
                rest = sub.path[len(f"body.{name}[].") :]
                if "." in rest or "[" in rest:
                    continue
                key = f"{name}.0.{rest}"
                if key in overrides:
                    continue
                value = self.value_for(sc, op, sub, identity=identity, depth=depth, temporal_roles={})
                if value is False:
                    if sub.required:
                        return False
                    continue
                if (
                    value is not None
                    and value is not True
                    and (sub.required or isinstance(value, CapturedValue))
                ):
                    out[key] = value
            if name in out and isinstance(out[name], SynthesizedValue):
                del out[name]
        # arrays of ids (`seatIds`, `tag_ids`): the first element names an object the scenario has
        for name in sorted(selected):
            f = op.field(f"body.{name}")
            stem = _ids_stem(name) if f is not None and f.type == "array" else None
            if stem is None or name in overrides or any(k.startswith(f"{name}.") for k in [*out, *overrides]):
                continue
            target = self.a.resource_for_name(stem) or self.a.catalog_for_name(stem)
            if target is None or target.create is op:
                continue
            # each request gets its own: a list of ids names items one request takes (seats, slots)
            found = sc.ensure(target, identity=identity, depth=depth + 1, fresh=True)
            if found is None:
                if name in required:
                    return False
                continue
            out.pop(name, None)
            out[f"{name}.0"] = CapturedValue(name=found.capture)
        out.update(overrides)
        return Body(mode="synthesized", overrides=dict(sorted(out.items())), omit=sorted(omit & set(props)))

    def _children_first(self, sc: Scenario, op: Operation, obj: Obj) -> None:
        """An action the spec says needs a child first ("a report that has at least one expense"): create
        one child of that kind under `obj`, once per object."""
        text = f"{op.summary} {op.description}"
        if not _NEEDS_CHILD.search(text):
            return
        for child in self.a.iter_resources():
            if child.parent is not obj.resource or child.create is None or not child.parent_param:
                continue
            key = f"{obj.capture}>{child.key}"
            if key in sc.filled or not _names_child(text, child.name):
                continue
            sc.filled.add(key)
            self.create(
                sc,
                child,
                identity=obj.identity,
                params={f"path.{child.parent_param}": CapturedValue(name=obj.capture)},
                note=f"prerequisite: the {child.name.replace('_', ' ')} `{op.id}` needs",
            )

    def _within_parent(
        self, sc: Scenario, resource: Resource, params: Mapping[str, Value]
    ) -> dict[str, Value]:
        """Standalone dates of a child of an object with a date window (an expense on a report that covers
        a period) take the first day the parent was created with, which lies inside its window."""
        op = resource.create
        value = params.get(f"path.{resource.parent_param}") if resource.parent_param else None
        holder = sc.objects.get(value.name) if isinstance(value, CapturedValue) else None
        start = self._window_start(sc, resource, holder)
        if op is None or start is None:
            return {}
        return {f.name: start for f in self._standalone_dates(op)}

    def _window_start(self, sc: Scenario, resource: Resource, holder: Obj | None) -> RequestValue | None:
        """The start date `holder` (an object of `resource`'s parent) was created with, if its create
        takes a start/end window."""
        parent = resource.parent
        if holder is None or parent is None or parent.create is None:
            return None
        made = next((st for st in sc.steps if st.id == holder.step), None)
        window = next(
            (r for r in self.a.relations(parent.create) if r.kind == "temporal" and r.location == "body"),
            None,
        )
        if made is None or made.body is None or window is None or window.fields[0] not in made.body.overrides:
            return None
        return RequestValue(step=made.id, path=f"body.{window.fields[0]}")

    def _standalone_dates(self, op: Operation) -> list[Field]:
        """Top-level request dates of `op` that are neither a start nor an end of a pair."""
        paired = {n for r in self.a.relations(op) if r.kind == "temporal" for n in r.fields}
        return [
            f
            for f in op.fields
            if f.location == "body"
            and f.path.count(".") == 1
            and is_temporal(f)
            and not f.read_only
            and f.name not in paired
            and _time_role(f.name) is None
        ]

    def value_for(
        self,
        sc: Scenario,
        op: Operation,
        f: Field,
        *,
        identity: str,
        depth: int,
        temporal_roles: Mapping[str, str],
    ) -> Value | bool | None:
        """The value a valid scenario sends for `f`: a reference to a created object, a sharp number, an
        ordered future date, the scenario's currency; None to let the generator synthesize it; False
        when a reference cannot be satisfied."""
        stem = self.a.reference_stem(f)
        if stem is not None and f.location == "body":
            # a creatable resource, else a catalog clients can only list (equipment, practitioners)
            target = self.a.resource_for_name(stem) or self.a.catalog_for_name(stem)
            if target is not None and target.create is not op:
                # a second object of the kind the path already names (a destination besides the
                # source account) must be another one
                other = target in self.a.path_resources(op).values()
                slot = (target.key, f"{identity}#second")
                obj = sc.shared.get(slot) if other else None
                # a further object of the same kind refers to a fresh object when the referenced one has
                # a lifecycle: the first create may have used it up (a hold turned into an order)
                here = self.a.by_op.get(op.id)
                again = (
                    here is not None
                    and here.create is op
                    and sc.created.get(here.key, 0) > 1
                    and (state_field(target) is not None or self._one_to_one(target, here))
                )
                if obj is None:
                    obj = sc.ensure(target, identity=identity, depth=depth + 1, fresh=other or again)
                    if obj is not None and other:
                        sc.shared[slot] = obj
                if obj is None:
                    return False
                return CapturedValue(name=obj.capture)
        if is_temporal(f):
            role = temporal_roles.get(f.name) or _time_role(f.name)
            if role is None:
                res = self.a.by_op.get(op.id)
                if res is None or res.create is not op or res.parent is None:
                    return None
                return self._window_start(sc, res, sc.shared.get((res.parent.key, identity)))
            return time_at(f, role, sc.variant, past=past_op(op), clock=_example_clock(op, f))
        if f.type == "string" and f.enum is None and f.location == "body" and _unique_field(op, f):
            return UniqueValue(name=_ident(f"{f.name}_{sc.variant}"))
        if V.has_word(f.name, V.CURRENCY_WORDS) and f.type == "string":
            return LiteralValue(value=currency_value(f))
        role = role_of(f)
        if role is not None:
            v = clip(f, _ROLE_DEFAULT[role])
            return LiteralValue(value=v) if v is not None else None
        return None

    def _one_to_one(self, target: Resource, user: Resource) -> bool:
        """Whether `target`'s representation names the single `user` object made from it (a quote's
        `shipment_id`): such an object is used up by the first create that refers to it."""
        for name, f in target.fields.items():
            if "." in name or "[" in name or f.type == "array":
                continue
            stem = self.a.reference_stem(f)
            if stem is not None and stem != name and self.a.resource_for_name(stem) is user:
                return True
        return False

    # ---- calling operations on objects -------------------------------------------------------------

    def invoke(
        self,
        sc: Scenario,
        op: Operation,
        *,
        on: Obj | None = None,
        identity: str | None = None,
        overrides: Mapping[str, Value] | None = None,
        include: frozenset[str] = frozenset(),
        omit: frozenset[str] = frozenset(),
        break_relation: Relation | None = None,
        partial: bool = False,
        expect: list[Expectation] | None = None,
        name: str | None = None,
        note: str = "",
        params: Mapping[str, Value] | None = None,
        concurrent: int = 1,
        capture_id: bool = False,
    ) -> Step | None:
        """Append one call of any operation with a body built for it (prerequisites created as needed).

        For a create operation with `capture_id`, the new object's id is captured (name returned in
        the step's captures)."""
        who = identity or (on.identity if on else self.owner)
        owner_identity = on.identity if on else who
        res = self.a.by_op.get(op.id)
        if on is None and res is not None and res.create is op and op.parameters_in("path"):
            # the parent first, so the body can fit it (a child's dates inside the parent's window)
            path = self.path_params(sc, op, identity=who)
            if path is None:
                return None
            on = Obj(res, "", "", who, path)
        if on is not None and res is not None and res.create is op:  # a child made under `on`
            overrides = {**self._within_parent(sc, res, on.path), **(overrides or {})}
        with sc.another(res) if res is not None and res.create is op else nullcontext():
            body = self.body(
                sc,
                op,
                identity=owner_identity,
                overrides=overrides,
                include=include,
                omit=omit,
                break_relation=break_relation,
                partial=partial,
            )
        if body is False:
            return None
        captures: list[Capture] = []
        if capture_id and res is not None and res.create is op and res.id_pointer:
            captures.append(Capture(name=sc.name(f"{res.name}_id"), pointer=res.id_pointer))
        return self.call(
            sc,
            op,
            on,
            identity=who,
            body=body if body is not None else None,
            expect=expect,
            name=name,
            note=note,
            captures=captures,
            params=params,
            concurrent=concurrent,
        )

    def call(
        self,
        sc: Scenario,
        op: Operation,
        obj: Obj | None,
        *,
        identity: str | None = None,
        body: Body | bool | None = None,
        expect: list[Expectation] | None = None,
        name: str | None = None,
        note: str = "",
        captures: list[Capture] | None = None,
        params: Mapping[str, Value] | None = None,
        concurrent: int = 1,
        repeat: int = 1,
    ) -> Step | None:
        """Append a call of `op` on `obj` (its path parameters filled from `obj`)."""
        if obj is not None and self.a.op_role.get(op.id) == "action":
            self._children_first(sc, op, obj)
        who = identity or (obj.identity if obj else self.owner)
        known: dict[str, Value] = dict(obj.path) if obj else {}
        path = self.path_params(sc, op, identity=obj.identity if obj else who, known=known)
        if path is None:
            return None
        if body is None and op.body_schema is not None:
            made = self.body(sc, op, identity=obj.identity if obj else who)
            if made is False:
                return None
            body = made
        if body is False:
            return None
        parameters = dict(path)
        required = self.required_params(op, skip=set(parameters) | set(params or {}), sc=sc)
        if concurrent > 1:  # distinct simultaneous requests: the generated test gives each its own key
            required = {k: v for k, v in required.items() if not isinstance(v, UniqueValue)}
        parameters.update(required)
        parameters.update(params or {})
        self.fund_before(sc, op, parameters)
        return sc.add(
            Step(
                id=sc.name(name or _ident(op.id)),
                operation=op.id,
                identity=who,
                params=parameters,
                body=body if isinstance(body, Body) else None,
                captures=captures or [],
                expect=expect if expect is not None else [OK],
                note=note,
                concurrent=concurrent,
                repeat=repeat,
            )
        )


_NEEDS_CHILD = re.compile(
    r"\bat least one\b|\b(?:has|have|with|contains?|includes?)\s+(?:an?|one|some)\b"
    r"|\bmust (?:have|contain|include)\b|\bnon-?empty\b|\bnot empty\b|\bempty\b",
    re.I,
)


def _names_child(text: str, name: str) -> bool:
    """Whether `text` names the child kind (`expense`, `expenses`, `line item`)."""
    words = {V.singular(w) for w in V.words(text)}
    return set(V.words(name)) <= words


_AVAILABLE = frozenset({"available", "active", "open", "on_sale", "onsale", "free", "published", "enabled"})


def _first_example(op: Operation) -> dict[str, Any] | None:
    """The spec's first request example, when it is an object."""
    first = op.body_examples[0] if op.body_examples else None
    return first if isinstance(first, dict) else None


def _example_clock(op: Operation, f: Field) -> int | None:
    """The time of day (minutes after midnight, UTC) of the start in the spec's request example, if it
    gives one: a vendor's example books within opening hours."""
    first = _first_example(op)
    if first is None or f.format == "date":
        return None
    # the start's time of day, also for an end: an end is placed an hour after its start
    starts = [v for k, v in first.items() if isinstance(v, str) and _time_role(k) == "start"]
    own = first.get(f.name) if _time_role(f.name) != "end" else None
    value = starts[0] if starts else own if isinstance(own, str) else None
    m = re.search(r"T(\d{2}):(\d{2})", value or "")
    if m is None or not value or not value.endswith(("Z", "+00:00")):
        return None
    return int(m.group(1)) * 60 + int(m.group(2))


def _example_keys(op: Operation) -> list[str]:
    """Top-level properties of the spec's first request example."""
    return [str(k) for k in _first_example(op) or {}]


def _first_item_id(fields: Mapping[str, Field]) -> str | None:
    """The pointer of the first listed item's id: `/data/0/id`, or `/0/id` for a bare array."""
    for name, f in fields.items():
        if (
            f.name not in ("id", "uuid")
            or name.count("[]") != 1
            or not name.endswith("[].id" if f.name == "id" else "[].uuid")
        ):
            continue
        head = name[: -len(f"[].{f.name}")]
        if "." in head or "[" in head:
            continue
        return (f"/{head}" if head else "") + f"/0/{f.name}"
    return None


_IDS_SUFFIX = re.compile(r"(?:_ids|Ids|IDs|_uuids|Uuids)$")


def _ids_stem(name: str) -> str | None:
    """`seatIds` -> `seat`, `tag_ids` -> `tag`."""
    m = _IDS_SUFFIX.search(name)
    return name[: m.start()] if m and m.start() > 0 else None


def _read_only(op: Operation, name: str) -> bool:
    f = op.field(f"body.{name}")
    return f is not None and f.read_only


def _unique_field(op: Operation, f: Field) -> bool:
    """A string the server keeps unique (`sku`, a described-unique code): every object needs its own."""
    if f.format not in (None, "email", "idn-email", "uuid"):
        return False
    if V.norm(f.name) in V.UNIQUE_NAMES or V.UNIQUE_PROSE.search(f.description):
        return True
    if V.IDEMPOTENCY_HEADER.search(f.name) or V.RETRY_KEY_PROSE.search(f.description or ""):
        return True  # a request id in the body: one per request, like an idempotency header
    return (
        re.search(rf"`?{re.escape(f.name)}`?[^.]{{0,60}}\bunique\b", op.description or "", re.I) is not None
    )


def _close(selected: set[str], forced: set[str], omit: frozenset[str], rels: list[Relation]) -> set[str]:
    """Add what relations demand (a member of an exactly-one group, a required partner), drop what
    they forbid (the unforced side of a mutually exclusive pair)."""
    sel = set(selected)
    # partners that a forced field needs stay, even when they exclude another forced field
    needed = {r.fields[1] for r in rels if r.kind == "requires" and r.fields[0] in forced}
    for _ in range(4):
        before = set(sel)
        for r in rels:
            members = [m for m in r.fields]
            if r.kind in ("one_of", "any_of") and not (sel & set(members)):
                for m in members:
                    if m not in omit:
                        sel.add(m)
                        break
            elif r.kind == "requires" and r.fields[0] in sel and r.fields[1] not in omit:
                sel.add(r.fields[1])
        for r in rels:
            if r.kind in ("mutex", "one_of"):
                present = [m for m in r.fields if m in sel]
                if len(present) > 1:
                    keep = [m for m in present if m in forced] or present[:1]
                    for m in present:
                        if m not in keep[:1] and m not in forced and m not in needed:
                            sel.discard(m)
        if sel == before:
            break
    return sel


def _temporal_roles(op: Operation, rels: list[Relation], selected: set[str]) -> dict[str, str]:
    roles: dict[str, str] = {}
    for r in rels:
        if r.kind == "temporal":
            roles.setdefault(r.fields[0], "start")
            roles[r.fields[1]] = "end"
    return roles


def _time_role(name: str) -> str | None:
    ws = {V.singular(w) for w in V.words(name)}
    if ws & {V.singular(w) for w in V.END_WORDS}:
        return "end"
    if ws & {V.singular(w) for w in V.START_WORDS}:
        return "start"
    return None


def time_value(f: Field, role: str, variant: int = 0, shift_minutes: int = 0, *, past: bool = False) -> str:
    """A fixed future instant: a start at 10:00 of day `variant`, an end an hour later (`past`: the same
    in a fixed past, for back-dated records)."""
    origin = BASE_PAST if past else BASE_TIME
    base = origin + timedelta(days=2 * variant, hours=1)
    at = base + (timedelta(hours=1) if role == "end" else timedelta()) + timedelta(minutes=shift_minutes)
    if f.format == "date":
        day = origin + timedelta(days=2 * variant + (1 if role == "end" else 0) + shift_minutes // (24 * 60))
        return day.date().isoformat()
    return at.strftime("%Y-%m-%dT%H:%M:%SZ")


_DAY_S = 86_400
_LEAD_DAYS = 7
"""Scenario dates lie a week ahead: past every lead time the judge has met, inside every booking horizon
(APIs that take bookings up to 30, 90 or 180 days ahead), never in the past."""


def time_at(
    f: Field,
    role: str,
    variant: int = 0,
    shift_minutes: int = 0,
    *,
    past: bool = False,
    clock: int | None = None,
) -> Value:
    """The value a scenario sends for a date: a week (in weekdays) from when the test runs, a start at
    09:00, 11:00 ... 17:00 UTC by `variant`, an end an hour later, shifted by `shift_minutes`; date fields
    two days apart per variant. Each test of a run takes its own days (`lane_days`), so tests that book
    the same room or practitioner do not collide. `past`: a fixed date in the past, for back-dated
    records."""
    if past:
        return LiteralValue(value=time_value(f, role, variant, shift_minutes, past=True))
    if f.format == "date":
        days = _LEAD_DAYS + 2 * variant + (1 if role == "end" else 0) + shift_minutes // (24 * 60)
        return RelativeTimeValue(seconds=days * _DAY_S, date_only=True, lane_days=6)
    if clock is not None:  # the example's time of day (opening hours), variants an hour around it
        start = clock + (((variant + 1) // 2) * (1 if variant % 2 else -1) * 60 if variant < 5 else 0)
    else:
        start = 9 * 60 + 120 * (variant % 5)
    minutes = start + (60 if role == "end" else 0) + shift_minutes
    days = _LEAD_DAYS + variant // 5 + minutes // (24 * 60)
    minutes %= 24 * 60
    return RelativeTimeValue(
        seconds=days * _DAY_S, at=f"{minutes // 60:02d}:{minutes % 60:02d}", weekday=True, lane_days=1
    )


def currency_value(f: Field) -> str:
    """One currency for the whole scenario, so objects that must share a currency do."""
    enum = [e for e in (f.enum or ()) if isinstance(e, str)]
    for pref in ("usd", "USD", "eur", "EUR"):
        if pref in enum:
            return pref
    if enum:
        return sorted(enum)[0]
    if f.pattern and "a-z" in f.pattern and "A-Z" not in f.pattern:
        return "usd"
    return "USD"


def verb_slug(text: str, fallback: str = "call") -> str:
    """A verb as part of a step name (`check in` -> `check_in`), at most 24 characters."""
    return "_".join(V.words(text))[:24] or fallback


def _article(noun: str) -> str:
    """'an order', 'a loan': titles read as sentences."""
    text = noun.replace("_", " ")
    return ("an " if text[:1].lower() in "aeiou" else "a ") + text


def _ident(text: str) -> str:
    out = "_".join(V.words(text)) or "step"
    if not out[0].isalpha():
        out = "s_" + out
    return out[:40]


def evidence_for(op: Operation, *fields: Field | None) -> list[SpecEvidence]:
    """Evidence pointers for a claim: the operation and the fields involved."""
    out = [SpecEvidence(pointer=op.pointer or f"/paths/{op.path}", text=None)]
    for f in fields:
        if f is not None and f.pointer:
            out.append(SpecEvidence(pointer=f.pointer))
    return out


def obj_capture(obj: Obj) -> CapturedValue:
    return CapturedValue(name=obj.capture)


@dataclass(frozen=True)
class Candidate:
    """A draft and the operation whose risk it is about (the unit of the per-operation cap)."""

    operation: str
    draft: HypothesisDraft


@dataclass
class Context:
    """What every rule receives."""

    analysis: Analysis
    builder: Builder

    @property
    def api(self) -> Api:
        return self.analysis.api

    @property
    def owner(self) -> str:
        return self.builder.owner

    @property
    def other(self) -> str:
        return self.builder.other


Rule = Callable[[Context], list[Candidate]]


def candidate(
    op: Operation,
    *,
    title: str,
    rationale: str,
    category: Category,
    severity: Severity,
    confidence: float,
    fields: Sequence[tuple[Operation | None, str]],
    steps: list[Step],
    evidence: list[SpecEvidence] | None = None,
    constraint_kind: ConstraintKind | None = None,
) -> Candidate | None:
    """A candidate, or None when the draft would not be valid (too few distinct fields, etc.)."""
    refs: list[FieldRef] = []
    seen: set[tuple[str, str]] = set()
    for fop, path in fields:
        if fop is None or fop.field(path) is None or (fop.id, path) in seen:
            continue
        seen.add((fop.id, path))
        refs.append(FieldRef(operation=fop.id, path=path))
    single = category in (Category.RATE_LIMITING, Category.INPUT_VALIDATION)
    if not refs or (len(refs) < 2 and not single):
        return None
    try:
        draft = HypothesisDraft(
            title=title[:160],
            rationale=rationale[:800],
            category=category,
            constraint_kind=constraint_kind,
            severity=severity,
            confidence=round(min(max(confidence, 0.0), 1.0), 3),
            fields=refs,
            evidence=evidence or [SpecEvidence(pointer=op.pointer or "/")],
            steps=steps,
        )
    except ValueError:
        return None
    return Candidate(op.id, draft)


def state_field(resource: Resource) -> str | None:
    """The response field that holds an object's lifecycle state (`status`, `state`) if it is an enum."""
    fields = resource.fields
    for name in ("status", "state", "lifecycle_state", "phase"):
        f = fields.get(name)
        if f is not None and (f.enum or f.type == "string"):
            return name
    return None


def mentions_rule(text: str) -> bool:
    """Prose that states a rule rather than describing data."""
    return bool(_RULE_WORDS.search(text))


_RULE_WORDS = re.compile(
    r"\b(only|must|cannot|can ?not|never|not allowed|rejected|already|twice|final|terminal|no longer|409|422|conflict)\b",
    re.I,
)
