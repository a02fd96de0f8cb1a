"""Inter-parameter rules: relations between the fields of one request body.

Each hypothesis sends the violating combination (rejected: 4xx) and then the satisfying one (2xx), with
every other relation of the body satisfied, so a rejection can only come from the relation under test.
"""

from __future__ import annotations

from crossfield.judgment.heuristic._constraints import Relation
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    LiteralValue,
    candidate,
    clip,
)
from crossfield.judgment.models import Category, ConstraintKind, Severity, Value
from crossfield.spec.model import Operation

_KIND = {
    "mutex": ConstraintKind.ZERO_OR_ONE,
    "one_of": ConstraintKind.ONLY_ONE,
    "any_of": ConstraintKind.REQUIRES,
    "requires": ConstraintKind.REQUIRES,
    "range": ConstraintKind.ARITHMETIC_RELATIONAL,
}


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    a = ctx.analysis
    for op in ctx.api.operations:
        if op.body_schema is None or op.method.lower() == "get":
            continue
        for rel in a.relations(op):
            if rel.location != "body" or rel.kind not in _KIND:
                continue
            made = _hypothesis(ctx, op, rel)
            if made is not None:
                out.append(made)
    return out


def _hypothesis(ctx: Context, op: Operation, rel: Relation) -> Candidate | None:
    b = ctx.builder
    sc = b.scenario()
    role = ctx.analysis.op_role.get(op.id)
    partial = role == "update"
    on = None
    if role in ("update", "action"):
        res = ctx.analysis.by_op[op.id]
        if res.create is None:
            return None
        on = sc.ensure(res)
        if on is None:
            return None
    a, b2 = rel.fields[0], rel.fields[1]
    names = " and ".join(f"`{n}`" for n in rel.fields)
    conf = 0.85 if rel.structural else 0.75
    severity = Severity.MEDIUM
    if rel.kind in ("mutex", "one_of"):
        violate = b.invoke(
            sc,
            op,
            on=on,
            include=frozenset({a, b2}),
            break_relation=rel,
            partial=partial,
            expect=[REJECTED],
            name="both_given",
            note=f"violation: {names} together",
        )
        if violate is None or not _sent(violate, {a, b2}):
            return None
        if rel.kind == "one_of" and not partial:
            neither = b.invoke(
                sc,
                op,
                on=on,
                omit=frozenset(rel.fields),
                break_relation=rel,
                expect=[REJECTED],
                name="none_given",
                note=f"violation: none of {names}",
            )
            if neither is None:
                return None
        control = b.invoke(
            sc,
            op,
            on=on,
            include=frozenset({a}),
            omit=frozenset(rel.fields[1:]),
            partial=partial,
            expect=[OK],
            name="only_first",
            note=f"positive control: only `{a}`",
        )
        if control is None:
            return None
        title = (
            f"{op.id}: exactly one of {names} is accepted"
            if rel.kind == "one_of"
            else f"{op.id}: {names} are mutually exclusive"
        )
        rationale = (
            f"The spec allows only one of {names}; an implementation that checks only the 'neither' case "
            "accepts both and silently ignores one of them."
        )
        severity = Severity.MEDIUM if rel.kind == "mutex" else Severity.HIGH
        conf += 0.05 if rel.kind == "one_of" else 0.0
    elif rel.kind == "requires":
        violate = b.invoke(
            sc,
            op,
            on=on,
            include=frozenset({a}),
            omit=frozenset({b2}),
            break_relation=rel,
            partial=partial,
            expect=[REJECTED],
            name="without_partner",
            note=f"violation: `{a}` without `{b2}`",
        )
        if violate is None or not _sent(violate, {a}):
            return None
        control = b.invoke(
            sc,
            op,
            on=on,
            include=frozenset({a, b2}),
            partial=partial,
            expect=[OK],
            name="with_partner",
            note=f"positive control: `{a}` with `{b2}`",
        )
        if control is None:
            return None
        title = f"{op.id}: `{a}` requires `{b2}`"
        rationale = f"`{a}` is only meaningful together with `{b2}`; accepting it alone leaves the object half-defined."
    elif rel.kind == "any_of":
        violate = b.invoke(
            sc,
            op,
            on=on,
            omit=frozenset(rel.fields),
            break_relation=rel,
            partial=partial,
            expect=[REJECTED],
            name="none_given",
            note=f"violation: none of {names}",
        )
        control = b.invoke(
            sc, op, on=on, include=frozenset({a}), partial=partial, expect=[OK], name="one_given"
        )
        if violate is None or control is None or partial:
            return None
        title = f"{op.id}: at least one of {names} is required"
        rationale = (
            f"The spec requires at least one of {names}; without any the request has nothing to act on."
        )
        severity = Severity.LOW
    else:  # range
        fa, fb = op.field(f"body.{a}"), op.field(f"body.{b2}")
        if fa is None or fb is None:
            return None
        low_a, high_a = clip(fa, 10), clip(fa, 20)
        low_b, high_b = clip(fb, 10), clip(fb, 20)
        if None in (low_a, high_a, low_b, high_b) or low_a == high_a or low_b == high_b:
            return None
        bad: dict[str, Value] = {a: LiteralValue(value=high_a), b2: LiteralValue(value=low_b)}
        good: dict[str, Value] = {a: LiteralValue(value=low_a), b2: LiteralValue(value=high_b)}
        violate = b.invoke(
            sc,
            op,
            on=on,
            overrides=bad,
            break_relation=rel,
            partial=partial,
            expect=[REJECTED],
            name="inverted_range",
        )
        control = b.invoke(sc, op, on=on, overrides=good, partial=partial, expect=[OK], name="ordered_range")
        if violate is None or control is None:
            return None
        title = f"{op.id}: `{a}` must not exceed `{b2}`"
        rationale = f"An inverted range ({a} > {b2}) has no valid meaning; accepting it stores an empty or inverted interval."
        conf = 0.6 if not rel.structural else conf
    return candidate(
        op,
        title=title,
        rationale=rationale,
        category=Category.INTER_PARAMETER,
        constraint_kind=_KIND[rel.kind],
        severity=severity,
        confidence=conf,
        fields=[(op, f"body.{n}") for n in rel.fields],
        steps=sc.steps,
        evidence=[rel.evidence],
    )


def _sent(step: object, names: set[str]) -> bool:
    """The violating step really sends every field it claims to (relations can't drop them)."""
    body = getattr(step, "body", None)
    if body is None:
        return False
    keys = {k.split(".", 1)[0] for k in body.overrides}
    return names <= keys
