"""Parentage: an object a request names in its body must belong to the parent the request's path names.

`POST /events/{event}/holds {"seat_ids": [...]}` takes seats, and seats live under events
(`/events/{event}/seats`). A handler that looks the seat up by id alone accepts a seat of another event,
and the hold then blocks, prices or sells the wrong thing. The scenario sends the request once with a
child of the path's own parent (positive control, 2xx) and once with a child of a second parent: refused.
"""

from __future__ import annotations

from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    _ids_stem,
    candidate,
    obj_capture,
)
from crossfield.judgment.models import Category, Severity
from crossfield.spec.model import Field, Operation


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    a = ctx.analysis
    for op in ctx.api.operations:
        if op.method.lower() not in ("post", "put", "patch") or op.body_schema is None:
            continue
        parents = a.path_resources(op)
        for f, child in _named_children(ctx, op):
            param = next((p for p, r in parents.items() if r is child.parent), None)
            if param is None or child.parent is None:
                continue
            made = _foreign_child(ctx, op, f, child, child.parent, param)
            if made is not None:
                out.append(made)
    return out


def _named_children(ctx: Context, op: Operation) -> list[tuple[Field, Resource]]:
    """Top-level body fields naming one object (`seat_id`) or a list of them (`seat_ids`) of a resource
    nested under another."""
    a = ctx.analysis
    out: list[tuple[Field, Resource]] = []
    for f in op.fields:
        if f.location != "body" or f.path.count(".") != 1 or f.read_only:
            continue
        target: Resource | None = None
        if f.type == "array":
            stem = _ids_stem(f.name)
            if stem is not None:
                target = a.resource_for_name(stem) or a.catalog_for_name(stem)
        else:
            stem = a.reference_stem(f)
            if stem is not None:
                target = a.resource_for_name(stem) or a.catalog_for_name(stem)
        if target is not None and target.parent is not None and target.parent_param is not None:
            out.append((f, target))
    return out


def _foreign_child(
    ctx: Context, op: Operation, f: Field, child: Resource, parent: Resource, param: str
) -> Candidate | None:
    b = ctx.builder
    sc = b.scenario()
    key = f"{f.name}.0" if f.type == "array" else f.name
    if (
        b.invoke(
            sc,
            op,
            expect=[OK],
            name="with_own_child",
            note=f"positive control: a {child.name.replace('_', ' ')} of this {parent.name.replace('_', ' ')}",
        )
        is None
    ):
        return None
    other = sc.ensure(parent, identity=ctx.owner, fresh=True)
    if other is None:
        return None
    under = {f"path.{child.parent_param}": obj_capture(other)}
    foreign = (
        b.create(sc, child, identity=ctx.owner, params=under)
        if child.create is not None
        else b.existing(sc, child, identity=ctx.owner, known=under)
    )
    if foreign is None:
        return None
    if (
        b.invoke(
            sc,
            op,
            overrides={key: obj_capture(foreign)},
            expect=[REJECTED],
            name="with_foreign_child",
            note=f"violation if accepted: the {child.name.replace('_', ' ')} belongs to another {parent.name.replace('_', ' ')}",
        )
        is None
    ):
        return None
    noun, parent_noun = child.name.replace("_", " "), parent.name.replace("_", " ")
    return candidate(
        op,
        title=f"{op.id}: a {noun} of another {parent_noun} is refused",
        rationale=(
            f"{noun.capitalize()}s live under {parent_noun}s; a handler that looks the {noun} up by id alone "
            f"accepts one of another {parent_noun} than the `{param}` in the path."
        ),
        category=Category.INTER_PARAMETER,
        severity=Severity.HIGH,
        confidence=0.6,
        fields=[(op, f"path.{param}"), (op, f.path)],
        steps=sc.steps,
    )
