"""Consistency with related objects: a value a request sends that the spec says must match an object the
request involves (a deposit's currency and its account's, a transfer's currency and its source account's).

The check that is easy to forget is the one against the object in the path, when the request also names
another object that does match. So the scenario first makes the request with every object in one
currency (the positive control, 2xx), then creates, for each object the body references, a fresh one in a
second currency, and sends that second currency against the path object still in the first: only the path
object disagrees, and the request must be refused.
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._scenario import (
    REJECTED,
    Candidate,
    CapturedValue,
    Context,
    LiteralValue,
    candidate,
    currency_value,
    evidence_for,
)
from crossfield.judgment.models import Category, ConstraintKind, Severity, SpecEvidence, Value
from crossfield.spec.model import Field, Operation

_MATCH = re.compile(
    r"\b(?:must|should|has to|needs? to)\s+(?:be|match|equal|use|have)\b.*?"
    r"\b(?:same|match(?:es|ing)?|equal|of\b|the\s+\w+(?:'s|’s))",
    re.I | re.S,
)


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        op = res.create
        if op is None or res.parent is None or not res.parent_param:
            continue
        for f in op.fields:
            if f.location != "body" or f.path.count(".") != 1 or f.type != "string":
                continue
            if not V.has_word(f.name, V.CURRENCY_WORDS) or f.name not in _parent_fields(res.parent):
                continue
            sentence = _rule_sentence(op, f, res.parent)
            if sentence is None:
                continue
            made = _hypothesis(ctx, res, op, f, sentence)
            if made is not None:
                out.append(made)
    return out


def _parent_fields(parent: Resource) -> set[str]:
    """Top-level fields of the parent that its create accepts (so the scenario sets them)."""
    if parent.create is None:
        return set()
    return {f.name for f in parent.create.fields if f.location == "body" and f.path.count(".") == 1}


def _rule_sentence(op: Operation, f: Field, parent: Resource) -> str | None:
    """The sentence stating that `f` must match the parent object's value, if the spec has one."""
    names = {parent.name, parent.name + "s", *V.words(parent.name)}
    for text in (f.description, op.description, op.summary):
        for sentence in V.SENTENCE_BREAK.split(text or ""):
            low = sentence.lower()
            if f.name.lower() not in low or not _MATCH.search(sentence):
                continue
            words = set(V.words(low)) | {V.singular(w) for w in V.words(low)}
            if words & names or words & {"source", "parent"}:
                return sentence.strip()
    return None


def _other_value(f: Field, first: str) -> str | None:
    """A second valid value, different from `first`."""
    enum = [e for e in (f.enum or ()) if isinstance(e, str) and e != first]
    if f.enum:
        return sorted(enum)[0] if enum else None
    for cand in ("EUR", "GBP", "USD", "JPY"):
        value = cand.lower() if first.islower() else cand
        if value == first:
            continue
        if f.pattern:
            try:
                if re.search(f.pattern, value) is None:
                    continue
            except re.error:
                return None
        return value
    return None


def _hypothesis(ctx: Context, res: Resource, op: Operation, f: Field, sentence: str) -> Candidate | None:
    assert res.parent is not None and res.parent_param is not None
    first = currency_value(f)
    second = _other_value(f, first)
    if second is None:
        return None
    b = ctx.builder
    sc = b.scenario()
    control = b.create(
        sc,
        res,
        identity=ctx.owner,
        step_name=f"{res.name}_in_the_same_{f.name}",
        note=f"control: every object in {first!r}",
    )
    source = sc.shared.get((res.parent.key, ctx.owner))
    if control is None or source is None:
        return None
    overrides: dict[str, Value] = {f.name: LiteralValue(value=second)}
    referenced: list[str] = []
    for ref in ctx.analysis.references(op):
        target = ref.target
        if target.create is None or f.name not in _parent_fields(target):
            continue
        other = b.create(
            sc,
            target,
            identity=ctx.owner,
            overrides={f.name: LiteralValue(value=second)},
            step_name=f"{target.name}_in_{second}",
            note=f"a {target.name.replace('_', ' ')} in {second!r}, so only the {res.parent.name} disagrees",
        )
        if other is None:
            return None
        overrides[ref.field.name] = CapturedValue(name=other.capture)
        referenced.append(ref.field.name)
    step = sc.name(f"{res.name}_in_another_{f.name}")
    made = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides=overrides,
        params={f"path.{res.parent_param}": CapturedValue(name=source.capture)},
        expect=[REJECTED],
        step_name=step,
        note=f"{second!r} against the {res.parent.name.replace('_', ' ')} in {first!r}",
    )
    if made is None:
        return None
    # refused: no id to keep (the builder gives this request its own idempotency key, not the control's)
    sc.steps[-1] = sc.steps[-1].model_copy(update={"captures": []})
    parent_name = res.parent.name.replace("_", " ")
    also = f" although {', '.join(f'`{n}`' for n in referenced)} matches it" if referenced else ""
    return candidate(
        op,
        title=f"{op.id}: a `{f.name}` other than the {parent_name}'s is refused{also}",
        rationale=(
            f"The spec ties `{f.name}` to the {parent_name}'s; a check that compares it with only one of "
            f"the objects involved lets a request in {second!r} through against a {parent_name} in "
            f"{first!r}: an unpriced conversion, or a ledger in two currencies."
        ),
        category=Category.INTER_PARAMETER,
        constraint_kind=ConstraintKind.ARITHMETIC_RELATIONAL,
        severity=Severity.HIGH,
        confidence=0.7,
        fields=[(op, f.path), (op, f"path.{res.parent_param}"), *((op, f"body.{n}") for n in referenced)],
        steps=sc.steps,
        evidence=[*evidence_for(op, f), SpecEvidence(pointer=op.pointer or "/", text=sentence[:400])],
    )
