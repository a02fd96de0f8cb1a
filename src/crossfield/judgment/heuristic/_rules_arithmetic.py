"""Arithmetic invariants that span fields and requests, with numbers chosen to make each claim sharp.

* give-backs (refund, reversal, credit note...) of a parent's amount: 600 + 600 of 1000 must fail on the
  second, 400 (exactly the rest) succeeds; a full give-back twice must fail the second time;
* a child amount must not exceed its parent's (capture more than authorized);
* computed totals: quantity x unit price (a price set on the referenced object), also after the quantity
  is changed by an update;
* a non-negative total stays non-negative when a fixed discount exceeds it;
* a requested count must not exceed the referenced object's stock or capacity, also when the same object
  is repeated on several lines.
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Reference, Resource
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    LiteralValue,
    candidate,
    clip,
    fits,
    role_of,
)
from crossfield.judgment.models import (
    Category,
    ConstraintKind,
    Expectation,
    RelationExpectation,
    Severity,
    Value,
)
from crossfield.spec.model import Field, Operation

_LIMIT_PROSE = re.compile(
    r"exceed|remaining|at most|not more than|no more than|up to|must not be (?:more|greater)|cannot be (?:more|greater)|never",
    re.I,
)


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        for made in (
            _give_back(ctx, res),
            _full_give_back_twice(ctx, res),
            _action_amount_cap(ctx, res),
            _computed_total(ctx, res),
            _derived_after_update(ctx, res),
            _discount_cap(ctx, res),
        ):
            out.extend(m for m in made if m is not None)
        out.extend(_over_limit(ctx, res))
    return out


def _amount_field(op: Operation | None) -> Field | None:
    if op is None:
        return None
    for f in op.fields:
        if f.location == "body" and f.path.count(".") == 1 and role_of(f) == "amount" and not f.read_only:
            return f
    return None


def _is_give_back(res: Resource) -> bool:
    return V.norm(res.name) in V.REVERSAL_NOUNS or res.name.replace("_", "") in V.REVERSAL_NOUNS


def _give_back(ctx: Context, res: Resource) -> list[Candidate | None]:
    parent = res.parent
    op = res.create
    child_amount = _amount_field(op)
    parent_amount = _amount_field(parent.create if parent else None)
    if parent is None or op is None or child_amount is None or parent_amount is None or parent.create is None:
        return []
    if not (_is_give_back(res) or _LIMIT_PROSE.search(child_amount.description + " " + op.description)):
        return []
    if not all(fits(parent_amount, 1000) for _ in (0,)) or not all(fits(child_amount, v) for v in (600, 400)):
        return []
    b = ctx.builder
    sc = b.scenario(knobs={parent.key: {parent_amount.name: LiteralValue(value=1000)}})
    par = sc.ensure(parent)
    if par is None:
        return []
    amt = child_amount.name
    s1 = b.invoke(
        sc,
        op,
        on=par,
        overrides={amt: LiteralValue(value=600)},
        expect=[OK],
        name=f"first_{res.name}",
        note="600 of 1000: within the amount",
    )
    s2 = b.invoke(
        sc,
        op,
        on=par,
        overrides={amt: LiteralValue(value=600)},
        expect=[REJECTED],
        name=f"second_{res.name}",
        note="violation: 600 more, but only 400 remain",
    )
    s3 = b.invoke(
        sc,
        op,
        on=par,
        overrides={amt: LiteralValue(value=400)},
        expect=[OK],
        name=f"rest_{res.name}",
        note="positive control: exactly the remaining 400",
    )
    if None in (s1, s2, s3):
        return []
    return [
        candidate(
            op,
            title=f"{op.id}: the sum of {res.name.replace('_', ' ')}s never exceeds the {parent.name.replace('_', ' ')}'s `{parent_amount.name}`",
            rationale=f"Each {res.name} must be checked against what remains, not against the original amount; otherwise several partial ones together exceed it.",
            category=Category.ARITHMETIC_INVARIANT,
            severity=Severity.CRITICAL,
            confidence=0.8 if _LIMIT_PROSE.search(child_amount.description + " " + op.description) else 0.65,
            fields=[
                (op, child_amount.path),
                (op, f"path.{res.parent_param}"),
                (parent.create, parent_amount.path),
            ],
            steps=sc.steps,
        )
    ]


def _full_give_back_twice(ctx: Context, res: Resource) -> list[Candidate | None]:
    parent = res.parent
    op = res.create
    child_amount = _amount_field(op)
    if (
        parent is None
        or op is None
        or child_amount is None
        or not _is_give_back(res)
        or child_amount.required
    ):
        return []
    b = ctx.builder
    sc = b.scenario()
    par = sc.ensure(parent)
    if par is None:
        return []
    omit = frozenset({child_amount.name})
    s1 = b.invoke(
        sc,
        op,
        on=par,
        omit=omit,
        expect=[OK],
        name=f"full_{res.name}",
        note=f"positive control: a full {res.name} (no `{child_amount.name}`)",
    )
    s2 = b.invoke(
        sc,
        op,
        on=par,
        omit=omit,
        expect=[REJECTED],
        name=f"second_full_{res.name}",
        note="violation: nothing is left to give back",
    )
    if s1 is None or s2 is None:
        return []
    return [
        candidate(
            op,
            title=f"{op.id}: a second full {res.name.replace('_', ' ')} of the same {parent.name.replace('_', ' ')} is refused",
            rationale="The default (full) amount path often skips the checks the explicit amount path makes, so the parent is given back twice.",
            category=Category.STATE_TRANSITION,
            severity=Severity.CRITICAL,
            confidence=0.75,
            fields=[(op, f"path.{res.parent_param}"), (op, child_amount.path)],
            steps=sc.steps,
        )
    ]


def _action_amount_cap(ctx: Context, res: Resource) -> list[Candidate | None]:
    """`POST /things/{id}/capture {amount}` must not exceed the thing's own amount."""
    out: list[Candidate | None] = []
    parent_amount = _amount_field(res.create)
    if res.create is None or parent_amount is None or not fits(parent_amount, 1000):
        return out
    for action in res.actions:
        f = _amount_field(action.op)
        if f is None or not fits(f, 1001) or not fits(f, 1000):
            continue
        if not _LIMIT_PROSE.search(f.description + " " + action.op.description):
            continue
        from crossfield.judgment.heuristic._rules_state import _prepare

        b = ctx.builder
        sc = b.scenario(
            knobs={res.key: {parent_amount.name: LiteralValue(value=1000), **_prepare(ctx, res, action.verb)}}
        )
        obj = sc.ensure(res)
        if obj is None:
            continue
        v = b.invoke(
            sc,
            action.op,
            on=obj,
            overrides={f.name: LiteralValue(value=1001)},
            expect=[REJECTED],
            name=f"{action.verb}_too_much",
            note="violation: one more than the amount",
        )
        c = b.invoke(
            sc,
            action.op,
            on=obj,
            overrides={f.name: LiteralValue(value=1000)},
            expect=[OK],
            name=f"{action.verb}_all",
            note="positive control: exactly the amount",
        )
        if v is None or c is None:
            continue
        out.append(
            candidate(
                action.op,
                title=f"{action.op.id}: `{f.name}` cannot exceed the {res.name.replace('_', ' ')}'s `{parent_amount.name}`",
                rationale=f"A {action.verb} larger than the amount it applies to creates money or units from nothing.",
                category=Category.ARITHMETIC_INVARIANT,
                severity=Severity.HIGH,
                confidence=0.7,
                fields=[(action.op, f.path), (res.create, parent_amount.path)],
                steps=sc.steps,
            )
        )
    return out


def _price_field(res: Resource) -> Field | None:
    if res.create is None:
        return None
    for f in res.create.fields:
        if f.location == "body" and f.path.count(".") == 1 and role_of(f) == "price" and fits(f, 250):
            return f
    return None


def _count_field(op: Operation, prefix: str) -> Field | None:
    for f in op.fields:
        if f.location != "body" or not f.path.startswith(prefix):
            continue
        rest = f.path[len(prefix) :]
        if "." in rest or "[" in rest:
            continue
        if role_of(f) == "count" and fits(f, 3) and fits(f, 1):
            return f
    return None


def _priced_refs(ctx: Context, op: Operation) -> list[tuple[Reference, Field, Field]]:
    """(reference, count field next to it, price field of the referenced object)."""
    out = []
    for ref in ctx.analysis.references(op):
        price = _price_field(ref.target)
        if price is None:
            continue
        prefix = ref.field.path.rsplit(".", 1)[0] + "."
        count = _count_field(op, prefix)
        if count is not None:
            out.append((ref, count, price))
    return out


def _override_path(f: Field) -> str:
    """`body.items[].quantity` -> `items.0.quantity`."""
    return f.path[len("body.") :].replace("[]", ".0")


def _total_pointers(fields: dict[str, Field], array: str | None) -> list[tuple[str, Field]]:
    """Response pointers of computed amounts: a line total in `array`, then a top-level total."""
    out: list[tuple[str, Field]] = []
    tops = {k: f for k, f in fields.items() if "." not in k and "[" not in k}
    has_extra = any(V.has_word(k, V.TAX_WORDS) or V.has_word(k, V.DISCOUNT_WORDS) for k in tops)
    if array:
        for k, f in sorted(fields.items()):
            if k.startswith(array + "[].") and k.count(".") == 1 and role_of(f) == "amount":
                out.append(("/" + k.replace("[].", "/0/"), f))
                break
    for k, f in sorted(tops.items()):
        ws = set(V.words(k))
        if role_of(f) != "amount" or f.type not in ("integer", "number"):
            continue
        if (
            "subtotal" in ws
            or ("total" in ws and not has_extra)
            or (ws == {"amount"} and not has_extra and array is None)
        ):
            out.append(("/" + k, f))
    return out


def _computed_total(ctx: Context, res: Resource) -> list[Candidate | None]:
    op = res.create
    if op is None:
        return []
    out: list[Candidate | None] = []
    for ref, count, price in _priced_refs(ctx, op)[:1]:
        array = ref.field.path[len("body.") :].split("[]")[0] if "[]" in ref.field.path else None
        pointers = _total_pointers(ctx.analysis.response_fields(op), array)
        if not pointers:
            continue
        b = ctx.builder
        sc = b.scenario(knobs={ref.target.key: {price.name: LiteralValue(value=250)}})
        expect: list[Expectation] = [OK]
        expect += [
            RelationExpectation(pointer=p, op="eq", against=LiteralValue(value=750)) for p, _ in pointers
        ]
        step = b.invoke(
            sc,
            op,
            overrides={_override_path(count): LiteralValue(value=3)},
            expect=expect,
            name=f"create_{res.name}",
            note="3 units at 250 each: 750",
        )
        if step is None:
            continue
        out.append(
            candidate(
                op,
                title=f"{op.id}: computed amounts equal `{count.name}` x the {ref.target.name.replace('_', ' ')}'s `{price.name}`",
                rationale="Totals computed from quantities and unit prices are easy to get wrong (summing unit prices, using a stale quantity); the client is billed the wrong amount.",
                category=Category.ARITHMETIC_INVARIANT,
                severity=Severity.HIGH,
                confidence=0.7,
                fields=[
                    (op, count.path),
                    (op, ref.field.path),
                    *((op, "response" + p.replace("/0/", "[].").replace("/", ".")) for p, _ in pointers),
                ],
                steps=sc.steps,
            )
        )
    return out


def _derived_after_update(ctx: Context, res: Resource) -> list[Candidate | None]:
    """An object with a quantity and a priced reference; its children's amounts use the *current* quantity."""
    op = res.create
    if op is None:
        return []
    priced = [(r, c, p) for r, c, p in _priced_refs(ctx, op) if "[]" not in r.field.path]
    if not priced:
        return []
    ref, count, price = priced[0]
    out: list[Candidate | None] = []
    for child in ctx.analysis.iter_resources():
        if child.parent is not res or child.create is None:
            continue
        fields = ctx.analysis.response_fields(child.create)
        arrays = sorted({k.split("[]")[0] for k in fields if "[]." in k})
        pointers: list[tuple[str, Field]] = []
        for arr in arrays:
            pointers = [p for p in _total_pointers(fields, arr) if "/0/" in p[0]]
            if pointers:
                break
        pointers += [p for p in _total_pointers(fields, None) if "subtotal" in p[0]]
        if not pointers:
            continue
        upd = res.update
        can_update = upd is not None and upd.field(f"body.{count.name}") is not None and fits(count, 2)
        b = ctx.builder
        sc = b.scenario(knobs={ref.target.key: {price.name: LiteralValue(value=250)}})
        obj = b.create(
            sc, res, identity=ctx.owner, overrides={count.name: LiteralValue(value=2 if can_update else 3)}
        )
        if obj is None:
            continue
        if (
            can_update
            and upd is not None
            and (
                b.invoke(
                    sc,
                    upd,
                    on=obj,
                    partial=True,
                    overrides={count.name: LiteralValue(value=3)},
                    expect=[OK],
                    name=f"change_{count.name}",
                    note=f"change `{count.name}` from 2 to 3",
                )
                is None
            )
        ):
            continue
        expect: list[Expectation] = [OK]
        expect += [
            RelationExpectation(pointer=p, op="eq", against=LiteralValue(value=750)) for p, _ in pointers
        ]
        if (
            b.invoke(
                sc,
                child.create,
                on=obj,
                expect=expect,
                name=f"create_{child.name}",
                note="3 units at 250 each: 750",
            )
            is None
        ):
            continue
        title = (
            f"{child.create.id}: amounts use the {res.name.replace('_', ' ')}'s current `{count.name}` after an update"
            if can_update
            else f"{child.create.id}: amounts equal `{count.name}` x `{price.name}`"
        )
        fields_used: list[tuple[Operation | None, str]] = [(op, count.path), (ref.target.create, price.path)]
        if can_update and upd is not None:
            fields_used.insert(0, (upd, f"body.{count.name}"))
        fields_used += [
            (child.create, "response" + p.replace("/0/", "[].").replace("/", ".")) for p, _ in pointers
        ]
        out.append(
            candidate(
                child.create,
                title=title,
                rationale="Amounts derived from another object's quantity and a referenced price go stale when a snapshot is taken at creation and not refreshed on update.",
                category=Category.ARITHMETIC_INVARIANT,
                severity=Severity.HIGH,
                confidence=0.7 if can_update else 0.6,
                fields=fields_used,
                steps=sc.steps,
            )
        )
        break
    return out


def _discount_cap(ctx: Context, res: Resource) -> list[Candidate | None]:
    """A child's non-negative total when the parent references a fixed discount larger than the amount."""
    op = res.create
    if op is None:
        return []
    disc_ref = None
    disc_field = None
    for ref in ctx.analysis.references(op):
        target = ref.target
        if target.create is None:
            continue
        for f in target.create.fields:
            if f.location == "body" and f.path.count(".") == 1 and role_of(f) == "discount" and fits(f, 5000):
                disc_ref, disc_field = ref, f
                break
        if disc_ref:
            break
    priced = [(r, c, p) for r, c, p in _priced_refs(ctx, op) if "[]" not in r.field.path]
    if disc_ref is None or disc_field is None or not priced:
        return []
    ref, count, price = priced[0]
    if not fits(price, 100):
        return []
    out: list[Candidate | None] = []
    for child in ctx.analysis.iter_resources():
        if child.parent is not res or child.create is None:
            continue
        fields = ctx.analysis.response_fields(child.create)
        total = next(
            (
                (k, f)
                for k, f in sorted(fields.items())
                if "." not in k
                and "[" not in k
                and "total" in V.words(k)
                and ((f.minimum is not None and f.minimum >= 0) or "negative" in f.description.lower())
            ),
            None,
        )
        if total is None:
            continue
        b = ctx.builder
        knobs: dict[str, dict[str, Value]] = {
            ref.target.key: {price.name: LiteralValue(value=100)},
            disc_ref.target.key: {disc_field.name: LiteralValue(value=clip(disc_field, 5000))},
        }
        sc = b.scenario(knobs=knobs, include_refs={disc_ref.field.name})
        obj = b.create(
            sc,
            res,
            identity=ctx.owner,
            overrides={count.name: LiteralValue(value=1)} if fits(count, 1) else None,
        )
        if obj is None:
            continue
        expect: list[Expectation] = [
            OK,
            RelationExpectation(pointer=f"/{total[0]}", op="ge", against=LiteralValue(value=0)),
        ]
        if (
            b.invoke(
                sc,
                child.create,
                on=obj,
                expect=expect,
                name=f"create_{child.name}",
                note="a 5000 discount on a 100 amount",
            )
            is None
        ):
            continue
        out.append(
            candidate(
                child.create,
                title=f"{child.create.id}: `{total[0]}` stays non-negative when `{disc_field.name}` exceeds the amount",
                rationale="A fixed discount must be capped at the amount it applies to; uncapped, the total turns negative and the seller owes the customer.",
                category=Category.ARITHMETIC_INVARIANT,
                severity=Severity.HIGH,
                confidence=0.7,
                fields=[
                    (disc_ref.target.create, disc_field.path),
                    (op, disc_ref.field.path),
                    (child.create, f"response.{total[0]}"),
                ],
                steps=sc.steps,
            )
        )
        break
    return out


def _limit_field(res: Resource) -> Field | None:
    if res.create is None:
        return None
    for f in res.create.fields:
        if (
            f.location == "body"
            and f.path.count(".") == 1
            and role_of(f) in ("stock", "capacity")
            and fits(f, 5)
            and fits(f, 1)
        ):
            return f
    return None


def _over_limit(ctx: Context, res: Resource) -> list[Candidate]:
    """A count larger than the referenced object's stock/capacity is refused; exactly the limit succeeds."""
    op = res.create
    if op is None:
        return []
    out: list[Candidate] = []
    for ref in ctx.analysis.references(op):
        limit = _limit_field(ref.target)
        if limit is None:
            continue
        prefix = ref.field.path.rsplit(".", 1)[0] + "."
        count = _count_field(op, prefix)
        if count is None or not fits(count, 6) or not fits(count, 5):
            continue
        b = ctx.builder
        sc = b.scenario(knobs={ref.target.key: {limit.name: LiteralValue(value=5)}})
        cpath = _override_path(count)
        v = b.invoke(
            sc,
            op,
            overrides={cpath: LiteralValue(value=6)},
            expect=[REJECTED],
            name="over_limit",
            note=f"violation: 6 against a `{limit.name}` of 5",
        )
        c = b.invoke(
            sc,
            op,
            overrides={cpath: LiteralValue(value=5)},
            expect=[OK],
            name="at_limit",
            note="positive control: exactly the limit",
        )
        if v is None or c is None:
            continue
        made = candidate(
            op,
            title=f"{op.id}: `{count.name}` above the {ref.target.name.replace('_', ' ')}'s `{limit.name}` is refused",
            rationale=f"`{count.name}` is bounded by another object's `{limit.name}`, which the request schema cannot express; a missing check over-commits it.",
            category=Category.ARITHMETIC_INVARIANT,
            severity=Severity.HIGH,
            confidence=0.7,
            fields=[(op, count.path), (op, ref.field.path), (ref.target.create, limit.path)],
            steps=sc.steps,
        )
        if made is not None:
            out.append(made)
        if "[]" in ref.field.path and role_of(limit) == "stock":
            dup = _duplicate_lines(ctx, op, ref, count, limit)
            if dup is not None:
                out.append(dup)
    return out


def _duplicate_lines(
    ctx: Context, op: Operation, ref: Reference, count: Field, limit: Field
) -> Candidate | None:
    """The same object on two lines must not pass a per-line check against the whole stock."""
    b = ctx.builder
    sc = b.scenario(knobs={ref.target.key: {limit.name: LiteralValue(value=1)}})
    target = sc.ensure(ref.target)
    if target is None:
        return None
    from crossfield.judgment.models import CapturedValue

    rp, cp = _override_path(ref.field), _override_path(count)
    rp2, cp2 = rp.replace(".0.", ".1.", 1), cp.replace(".0.", ".1.", 1)
    cap = CapturedValue(name=target.capture)
    v = b.invoke(
        sc,
        op,
        overrides={rp: cap, cp: LiteralValue(value=1), rp2: cap, cp2: LiteralValue(value=1)},
        expect=[REJECTED],
        name="same_object_twice",
        note=f"violation: two lines of 1 against a `{limit.name}` of 1",
    )
    c = b.invoke(
        sc,
        op,
        overrides={rp: cap, cp: LiteralValue(value=1)},
        expect=[OK],
        name="one_line",
        note="positive control: one line of 1",
    )
    if v is None or c is None:
        return None
    return candidate(
        op,
        title=f"{op.id}: repeating a {ref.target.name.replace('_', ' ')} on several lines cannot exceed its `{limit.name}`",
        rationale="When each line is checked against the full stock on its own, splitting a request over duplicate lines oversells.",
        category=Category.INTER_PARAMETER,
        constraint_kind=ConstraintKind.ARITHMETIC_RELATIONAL,
        severity=Severity.HIGH,
        confidence=0.65,
        fields=[(op, ref.field.path), (op, count.path)],
        steps=sc.steps,
    )
