"""Thresholds: a field the spec requires only from some value of another on ("expenses of 7500 cents or
more need a `receipt_url`", "transfers over 10,000 require a `reference`").

Boundaries are where such rules break (`>` written for `>=`), so the scenario sends the amount exactly at
the first value that needs the field, without it: refused; and the last value that does not need it,
without it: accepted (positive control: the field is really optional below the threshold).
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._constraints import is_number
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    LiteralValue,
    candidate,
    role_of,
)
from crossfield.judgment.models import Category, ConstraintKind, Severity, SpecEvidence
from crossfield.spec.model import Field, Operation

_NEEDS = re.compile(
    r"\b(?:needs?|requires?|must (?:have|include|provide|carry|come with)|(?:is|are) required|mandatory)\b",
    re.I,
)
_NUMBER = r"(\d[\d,]*(?:\.\d+)?)"
_INCLUSIVE = re.compile(
    rf"(?:\bat least|\bfrom|>=|≥)\s*{_NUMBER}|{_NUMBER}\s*(?:\w+\s*)?(?:\([^)]*\)\s*)?(?:or (?:more|above|greater|higher|over)|and (?:above|over|up))",
    re.I,
)
_EXCLUSIVE = re.compile(
    rf"(?:\bmore than|\bgreater than|\babove|\bover|\bexceeding|\bhigher than|>)\s*{_NUMBER}(?!\s*(?:\w+\s*)?or (?:less|below))",
    re.I,
)


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for op in ctx.api.operations:
        if op.method.lower() not in ("post", "put", "patch") or op.body_schema is None:
            continue
        for sentence in V.SENTENCE_BREAK.split(op.description or ""):
            found = _threshold(op, sentence)
            if found is not None:
                made = _boundary(ctx, op, *found, sentence)
                if made is not None:
                    out.append(made)
                    break
    return out


def _top_fields(op: Operation) -> dict[str, Field]:
    return {
        f.name: f for f in op.fields if f.location == "body" and f.path.count(".") == 1 and not f.read_only
    }


def _named(sentence: str, name: str) -> bool:
    return re.search(rf"(?<![\w-]){re.escape(name)}(?![\w-])", sentence) is not None


def _threshold(op: Operation, sentence: str) -> tuple[Field, Field, float, bool] | None:
    """(the number, the field it brings, the threshold, inclusive) read from one sentence."""
    if not _NEEDS.search(sentence):
        return None
    fields = _top_fields(op)
    needed = [f for n, f in fields.items() if _named(sentence, n) and not f.required and not is_number(f)]
    numbers = [f for n, f in fields.items() if is_number(f) and _named(sentence, n)]
    if not numbers:  # "expenses of 7500 cents or more": the operation's one amount
        amounts = [f for f in fields.values() if role_of(f) in ("amount", "price")]
        numbers = amounts if len(amounts) == 1 else []
    if len(needed) != 1 or len(numbers) != 1:
        return None
    inclusive = True
    m = _INCLUSIVE.search(sentence)
    if m is None:
        m, inclusive = _EXCLUSIVE.search(sentence), False
    if m is None:
        return None
    raw = next(g for g in m.groups() if g is not None)
    value = float(raw.replace(",", ""))
    return numbers[0], needed[0], value, inclusive


def _boundary(
    ctx: Context,
    op: Operation,
    amount: Field,
    needed: Field,
    threshold: float,
    inclusive: bool,
    sentence: str,
) -> Candidate | None:
    first_needing: float | int
    last_free: float | int
    if amount.type == "integer":
        first_needing = round(threshold) if inclusive else round(threshold) + 1
        last_free = first_needing - 1
    else:
        first_needing = threshold if inclusive else round(threshold + 0.01, 2)
        last_free = round(first_needing - 0.01, 2)
    if not (_fits(amount, first_needing) and _fits(amount, last_free)):
        return None
    b = ctx.builder
    sc = b.scenario()
    on = None
    res = ctx.analysis.by_op.get(op.id)
    if res is not None and ctx.analysis.op_role.get(op.id) == "action":
        on = sc.ensure(res)
        if on is None:
            return None
    omit = frozenset({needed.name})
    if (
        b.invoke(
            sc,
            op,
            on=on,
            overrides={amount.name: LiteralValue(value=last_free)},
            omit=omit,
            expect=[OK],
            name="just_below_without",
            note=f"positive control: `{amount.name}` {last_free} does not need `{needed.name}`",
        )
        is None
        or b.invoke(
            sc,
            op,
            on=on,
            overrides={amount.name: LiteralValue(value=first_needing)},
            omit=omit,
            expect=[REJECTED],
            name="at_threshold_without",
            note=f"violation if accepted: `{amount.name}` {first_needing} needs `{needed.name}`",
        )
        is None
    ):
        return None
    return candidate(
        op,
        title=f"{op.id}: `{amount.name}` of {first_needing} without `{needed.name}` is rejected",
        rationale=(
            f"The spec requires `{needed.name}` from a `{amount.name}` of {first_needing} on; a comparison written "
            "with the wrong operator (`>` for `>=`) lets the boundary value through."
        ),
        category=Category.INTER_PARAMETER,
        constraint_kind=ConstraintKind.REQUIRES,
        severity=Severity.MEDIUM,
        confidence=0.7,
        fields=[(op, amount.path), (op, needed.path)],
        steps=sc.steps,
        evidence=[SpecEvidence(pointer=op.pointer, text=sentence.strip()[:300])],
    )


def _fits(f: Field, value: float) -> bool:
    if f.minimum is not None and value < f.minimum:
        return False
    if f.maximum is not None and value > f.maximum:
        return False
    if f.exclusive_minimum is not None and value <= f.exclusive_minimum:
        return False
    return not (f.exclusive_maximum is not None and value >= f.exclusive_maximum)
