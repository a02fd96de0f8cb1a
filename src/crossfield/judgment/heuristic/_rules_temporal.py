"""Temporal ordering: an interval's end must come after its start, on create and on partial updates;
and intervals that claim one resource must not overlap when the spec says so.

Dates are fixed and in the future; the violating request moves only the end (an hour before the start)
so every other rule (durations, "not in the past") still holds.
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._constraints import Relation, is_temporal
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    candidate,
    past_op,
    time_at,
)
from crossfield.judgment.models import Category, Severity, Value
from crossfield.spec.model import Field, Operation

_OVERLAP = re.compile(
    r"overlap|double[- ]book|already (?:booked|reserved|taken)|slot|not available|conflict", re.I
)


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    a = ctx.analysis
    for op in ctx.api.operations:
        if op.body_schema is None or op.method.lower() == "get":
            continue
        role = a.op_role.get(op.id)
        for rel in a.relations(op):
            if rel.kind != "temporal" or rel.location != "body":
                continue
            made = _update(ctx, op, rel) if role == "update" else _create(ctx, op, rel)
            if made is not None:
                out.append(made)
            if role == "create":
                overlap = _overlap(ctx, op, rel)
                if overlap is not None:
                    out.append(overlap)
        if role == "create" and not past_op(op):
            made = _not_in_past(ctx, op)
            if made is not None:
                out.append(made)
    return out


_FUTURE = re.compile(
    r"\b(?:in the future|a future (?:date|time|instant)|today or later|(?:on or )?after (?:today|now)"
    r"|later than (?:today|now)|not (?:be |lie )?in the past|cannot be in the past|(?:must|may) not (?:be|lie) in the past"
    r"|no (?:dates? |times? )?in the past)\b",
    re.I,
)


def _future_only(op: Operation) -> list[Field]:
    """Body dates the spec says must not lie in the past: in the field's description, or in a sentence
    of the operation's description that names the field."""
    out: list[Field] = []
    sentences = V.SENTENCE_BREAK.split(op.description or "")
    for f in op.fields:
        if f.location != "body" or f.path.count(".") != 1 or f.read_only or not is_temporal(f):
            continue
        named = [t for t in sentences if re.search(rf"(?<![\w-]){re.escape(f.name)}(?![\w-])", t)]
        if any(_FUTURE.search(t) for t in [f.description or "", *named]):
            out.append(f)
    return out


def _not_in_past(ctx: Context, op: Operation) -> Candidate | None:
    """A date the spec requires to be in the future, sent in the past (with its partner of an interval,
    so the pair stays ordered), is refused; the same request with future dates succeeds."""
    fields = _future_only(op)
    if not fields:
        return None
    f = fields[0]
    partners = [
        (r, op.field(f"body.{n}"))
        for r in ctx.analysis.relations(op)
        if r.kind == "temporal" and r.location == "body" and f.name in r.fields
        for n in r.fields
    ]
    past = {f.name: time_at(f, _role(f.name, partners), past=True)}
    for _, g in partners:
        if g is not None and g.name != f.name:
            past[g.name] = time_at(g, _role(g.name, partners), past=True)
    b = ctx.builder
    sc = b.scenario()
    if (
        b.invoke(
            sc,
            op,
            overrides=past,
            expect=[REJECTED],
            name="in_the_past",
            note=f"violation: `{f.name}` lies in the past",
        )
        is None
        or b.invoke(
            sc,
            op,
            expect=[OK],
            name="in_the_future",
            note="positive control: the same request with future dates",
        )
        is None
    ):
        return None
    return candidate(
        op,
        title=f"{op.id}: `{f.name}` in the past is rejected",
        rationale=f"The spec requires `{f.name}` not to lie in the past; a check that only orders the request's own dates, or compares with a date the client sends, lets back-dated objects through.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.MEDIUM,
        confidence=0.7,
        fields=[(op, f.path), *((op, g.path) for _, g in partners if g is not None and g.name != f.name)],
        steps=sc.steps,
    )


def _role(name: str, partners: list[tuple[Relation, Field | None]]) -> str:
    """`start` or `end` in the interval `name` belongs to (a lone date is a start)."""
    for r, _ in partners:
        if r.fields and r.fields[-1] == name:
            return "end"
    return "start"


def _create(ctx: Context, op: Operation, rel: Relation) -> Candidate | None:
    start, end = rel.fields
    fs, fe = op.field(f"body.{start}"), op.field(f"body.{end}")
    if fs is None or fe is None:
        return None
    past = past_op(op)
    b = ctx.builder
    sc = b.scenario()
    bad = {
        start: time_at(fs, "start", past=past),
        end: time_at(fe, "start", shift_minutes=-60 if fe.format != "date" else -24 * 60, past=past),
    }
    good = {
        start: time_at(fs, "start", past=past),
        end: time_at(fe, "end", past=past),
    }
    on = None
    if ctx.analysis.op_role.get(op.id) == "action":
        res = ctx.analysis.by_op[op.id]
        on = sc.ensure(res)
        if on is None:
            return None
    v = b.invoke(
        sc,
        op,
        on=on,
        overrides=bad,
        break_relation=rel,
        expect=[REJECTED],
        name="end_before_start",
        note=f"violation: `{end}` before `{start}`",
    )
    c = b.invoke(
        sc,
        op,
        on=on,
        overrides=good,
        expect=[OK],
        name="end_after_start",
        note=f"positive control: `{end}` after `{start}`",
    )
    if v is None or c is None:
        return None
    return candidate(
        op,
        title=f"{op.id}: `{end}` before `{start}` is rejected",
        rationale=f"An interval whose `{end}` precedes its `{start}` is meaningless; an ordering check that compares with the wrong reference (e.g. now) lets it through.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.MEDIUM,
        confidence=0.8 if rel.evidence.text else 0.7,
        fields=[(op, f"body.{start}"), (op, f"body.{end}")],
        steps=sc.steps,
        evidence=[rel.evidence],
    )


def _update(ctx: Context, op: Operation, rel: Relation) -> Candidate | None:
    """PATCH only the end to before the stored start: the merged object must still be ordered."""
    start, end = rel.fields
    res = ctx.analysis.by_op.get(op.id)
    if res is None or res.create is None:
        return None
    create_rel = next(
        (r for r in ctx.analysis.relations(res.create) if r.kind == "temporal" and r.fields == rel.fields),
        None,
    )
    fe = op.field(f"body.{end}")
    if fe is None:
        return None
    past = past_op(op)
    b = ctx.builder
    sc = b.scenario()
    obj = sc.ensure(res, fresh=True)
    if obj is None:
        return None
    if create_rel is None:
        return None
    bad = {end: time_at(fe, "start", shift_minutes=-60 if fe.format != "date" else -24 * 60, past=past)}
    good = {end: time_at(fe, "end", shift_minutes=30 if fe.format != "date" else 24 * 60, past=past)}
    v = b.invoke(
        sc,
        op,
        on=obj,
        overrides=bad,
        partial=True,
        break_relation=rel,
        expect=[REJECTED],
        name="move_end_before_start",
        note=f"violation: only `{end}` sent, earlier than the stored `{start}`",
    )
    c = b.invoke(
        sc,
        op,
        on=obj,
        overrides=good,
        partial=True,
        expect=[OK],
        name="move_end_later",
        note=f"positive control: only `{end}` sent, still after `{start}`",
    )
    if v is None or c is None:
        return None
    return candidate(
        op,
        title=f"{op.id}: changing only `{end}` to before the stored `{start}` is rejected",
        rationale="Partial updates must validate the merged object; checking the ordering only when both ends are in the request lets an update invert the interval.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.MEDIUM,
        confidence=0.75,
        fields=[(op, f"body.{end}"), (op, f"body.{start}")],
        steps=sc.steps,
        evidence=[rel.evidence],
    )


def _overlap(ctx: Context, op: Operation, rel: Relation) -> Candidate | None:
    """Two intervals on the same referenced object that overlap partially, from either side, are refused."""
    text = " ".join([op.description, *(r.description for r in op.responses if r.status.startswith("4"))])
    if not _OVERLAP.search(text) or "overlap" not in text.lower():
        return None
    refs = [r for r in ctx.analysis.references(op) if r.field.path.count(".") == 1]
    if not refs:
        return None
    start, end = rel.fields
    fs, fe = op.field(f"body.{start}"), op.field(f"body.{end}")
    if fs is None or fe is None or fs.format == "date" or fe.format == "date":
        return None
    past = past_op(op)
    b = ctx.builder
    sc = b.scenario()

    def window(a: int, z: int) -> dict[str, Value]:
        return {
            start: time_at(fs, "start", shift_minutes=a, past=past),
            end: time_at(fe, "start", shift_minutes=z, past=past),
        }

    first = b.invoke(
        sc,
        op,
        overrides=window(0, 60),
        expect=[OK],
        name="first_interval",
        note="an interval [0, 60) on the object",
    )
    before = b.invoke(
        sc,
        op,
        overrides=window(-30, 30),
        expect=[REJECTED],
        name="overlap_from_before",
        note="violation: starts before, ends inside",
    )
    inside = b.invoke(
        sc,
        op,
        overrides=window(30, 90),
        expect=[REJECTED],
        name="overlap_from_inside",
        note="violation: starts inside, ends after",
    )
    free = b.invoke(
        sc,
        op,
        overrides=window(120, 180),
        expect=[OK],
        name="disjoint_interval",
        note="positive control: a disjoint interval",
    )
    if None in (first, before, inside, free):
        return None
    ref = refs[0].field
    return candidate(
        op,
        title=f"{op.id}: intervals that overlap on the same `{ref.name}` are refused",
        rationale="An overlap check that only tests whether the new start falls inside an existing interval misses intervals that start before and end inside it.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.HIGH,
        confidence=0.75,
        fields=[(op, f"body.{start}"), (op, f"body.{end}"), (op, ref.path)],
        steps=sc.steps,
        evidence=[rel.evidence],
    )
