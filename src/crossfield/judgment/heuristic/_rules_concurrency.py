"""Concurrency: simultaneous requests competing for a limited supply must not over-commit it.

* consumers of a stock (a referenced object's `stock`/`available`/`balance`...): 8 concurrent requests
  of 1 unit against a stock of 3 -> at most 3 succeed, and the stock read back is never negative;
* claims on a time slot of one object where the spec forbids overlaps: 8 identical concurrent requests
  -> at most 1 succeeds.
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._rules_arithmetic import _count_field, _limit_field, _override_path
from crossfield.judgment.heuristic._scenario import (
    OK,
    Candidate,
    Context,
    LiteralValue,
    candidate,
    fits,
    role_of,
    time_at,
)
from crossfield.judgment.models import (
    CapturedValue,
    Category,
    Expectation,
    GroupExpectation,
    RelationExpectation,
    Severity,
)
from crossfield.spec.model import Field, Operation

_N = 8
_SUPPLY = 1
_QUALIFIERS = frozenset(
    {
        "available",
        "availability",
        "remaining",
        "left",
        "free",
        "current",
        "on",
        "hand",
        "onhand",
        "in",
        "count",
    }
)
"""Words that say *how much is left* of a supply rather than *what* the supply is."""
_OVERLAP = re.compile(r"overlap|double[- ]book|at the same time|concurren|simultaneous", re.I)


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        op = res.create
        if op is None or op.method.lower() != "post":
            continue
        for ref in ctx.analysis.references(op):
            limit = _limit_field(ref.target)
            if limit is None or role_of(limit) != "stock":
                continue
            prefix = ref.field.path.rsplit(".", 1)[0] + "."
            count = _count_field(op, prefix)
            b = ctx.builder
            sc = b.scenario(knobs={ref.target.key: {limit.name: LiteralValue(value=3)}})
            target = sc.ensure(ref.target)
            if target is None:
                continue
            overrides = {_override_path(count): LiteralValue(value=1)} if count is not None else {}
            step = b.invoke(
                sc,
                op,
                overrides=overrides,
                concurrent=_N,
                expect=[GroupExpectation(band="2xx", max_count=3)],
                name="concurrent_requests",
                note=f"{_N} simultaneous requests of 1 against a `{limit.name}` of 3",
            )
            if step is None:
                continue
            fields = [(op, ref.field.path), (ref.target.create, limit.path)]
            if count is not None:
                fields.insert(0, (op, count.path))
            if ref.target.get is not None:
                expect: list[Expectation] = [OK]
                resp = ctx.analysis.response_fields(ref.target.get).get(limit.name)
                if resp is not None:
                    expect.append(
                        RelationExpectation(pointer=f"/{limit.name}", op="ge", against=LiteralValue(value=0))
                    )
                b.call(
                    sc,
                    ref.target.get,
                    target,
                    expect=expect,
                    name="read_back",
                    note=f"`{limit.name}` never negative",
                )
            made = candidate(
                op,
                title=f"{op.id}: concurrent requests never take more than the {ref.target.name.replace('_', ' ')}'s `{limit.name}`",
                rationale="A read-check-write of the supply without a lock lets simultaneous requests all pass the check and oversell.",
                category=Category.CONCURRENCY,
                severity=Severity.CRITICAL,
                confidence=0.75 if _OVERLAP.search(op.description) else 0.65,
                fields=fields,
                steps=sc.steps,
            )
            if made is not None:
                out.append(made)
            break
        counted = _counter(ctx, op)
        if counted is not None:
            out.append(counted)
        spent = _spend(ctx, res)
        if spent is not None:
            out.append(spent)
        slot = _slot(ctx, op)
        if slot is not None:
            out.append(slot)
    return out


def _counter_field(res: Resource) -> Field | None:
    """A server-managed supply the object reports: a read-only integer, `minimum: 0`, named like a stock."""
    if res.get is None:
        return None
    for f in res.get.fields:
        if (
            f.location == "response"
            and f.path.count(".") == 1
            and f.read_only
            and f.type == "integer"
            and f.minimum == 0
            and role_of(f) == "stock"
        ):
            return f
    return None


def _initial_field(res: Resource, counter: Field) -> Field | None:
    """The create field that sets the supply's starting amount: an integer named after the same thing
    (`totalCopies` for `availableCopies`, `seats` for `seats_remaining`)."""
    if res.create is None:
        return None
    noun = {V.singular(w) for w in V.words(counter.name)} - _QUALIFIERS
    if not noun:
        return None
    for f in res.create.fields:
        if (
            f.location == "body"
            and f.path.count(".") == 1
            and not f.read_only
            and f.type == "integer"
            and f.name != counter.name
            and noun <= {V.singular(w) for w in V.words(f.name)}
            and fits(f, _SUPPLY)
        ):
            return f
    return None


def _counter(ctx: Context, op: Operation) -> Candidate | None:
    """Creating a child takes one unit of a read-only counter on the object it references; the parent's
    create sets the starting amount, so the scenario knows the supply exactly."""
    for ref in ctx.analysis.references(op):
        parent = ref.target
        limit = _limit_field(parent)
        if limit is not None and role_of(limit) == "stock":
            continue  # the writable-stock rule above covers it
        counter = _counter_field(parent)
        if counter is None or parent.get is None or parent.create is None:
            continue
        initial = _initial_field(parent, counter)
        if initial is None:
            continue
        prefix = ref.field.path.rsplit(".", 1)[0] + "."
        count = _count_field(op, prefix)
        b = ctx.builder
        sc = b.scenario(knobs={parent.key: {initial.name: LiteralValue(value=_SUPPLY)}})
        target = sc.ensure(parent)
        if target is None:
            continue
        overrides = {_override_path(count): LiteralValue(value=1)} if count is not None else {}
        step = b.invoke(
            sc,
            op,
            overrides=overrides,
            concurrent=_N,
            expect=[GroupExpectation(band="2xx", max_count=_SUPPLY)],
            name="concurrent_requests",
            note=f"{_N} simultaneous requests against a `{counter.name}` of {_SUPPLY}",
        )
        if step is None:
            continue
        b.call(
            sc,
            parent.get,
            target,
            expect=[
                OK,
                RelationExpectation(pointer=f"/{counter.name}", op="ge", against=LiteralValue(value=0)),
            ],
            name="read_back",
            note=f"`{counter.name}` never negative",
        )
        fields = [(op, ref.field.path), (parent.create, initial.path), (parent.get, counter.path)]
        if count is not None:
            fields.insert(0, (op, count.path))
        return candidate(
            op,
            title=f"{op.id}: concurrent requests never take more than the {parent.name.replace('_', ' ')}'s `{counter.name}`",
            rationale="A check of the remaining supply and its decrement that are not atomic let simultaneous requests all pass the check and drive the counter below zero.",
            category=Category.CONCURRENCY,
            severity=Severity.CRITICAL,
            confidence=0.7 if _OVERLAP.search(op.description) else 0.6,
            fields=fields,
            steps=sc.steps,
        )
    return None


def _slot(ctx: Context, op: object) -> Candidate | None:
    from crossfield.spec.model import Operation

    assert isinstance(op, Operation)
    text = op.description + " " + " ".join(r.description for r in op.responses)
    if "overlap" not in text.lower():
        return None
    rel = next((r for r in ctx.analysis.relations(op) if r.kind == "temporal" and r.location == "body"), None)
    refs = [r for r in ctx.analysis.references(op) if r.field.path.count(".") == 1]
    if rel is None or not refs:
        return None
    start, end = rel.fields
    fs, fe = op.field(f"body.{start}"), op.field(f"body.{end}")
    if fs is None or fe is None:
        return None
    b = ctx.builder
    sc = b.scenario()
    overrides = {
        start: time_at(fs, "start"),
        end: time_at(fe, "end"),
    }
    step = b.invoke(
        sc,
        op,
        overrides=overrides,
        concurrent=_N,
        expect=[GroupExpectation(band="2xx", max_count=1)],
        name="concurrent_same_slot",
        note=f"{_N} simultaneous requests for the same interval",
    )
    if step is None:
        return None
    return candidate(
        op,
        title=f"{op.id}: simultaneous requests for the same interval of one `{refs[0].field.name}` yield at most one success",
        rationale="An overlap check outside a lock lets concurrent requests for the same interval all pass it: a double booking.",
        category=Category.CONCURRENCY,
        severity=Severity.CRITICAL,
        confidence=0.75 if _OVERLAP.search(text) else 0.6,
        fields=[(op, refs[0].field.path), (op, f"body.{start}"), (op, f"body.{end}")],
        steps=sc.steps,
    )


_BALANCE = 100
_SPEND = 60
_SPENDERS = 4


def _spend(ctx: Context, res: Resource) -> Candidate | None:
    """A child create that spends from its parent's balance (a transfer out of an account), the balance
    filled by a funding create (a deposit): fund it with 100, send four spends of 60 at once. At most one
    may succeed, and the balance read back is never negative."""
    op, parent = res.create, res.parent
    if op is None or parent is None or parent.get is None or not res.parent_param:
        return None
    b = ctx.builder
    funding = b.funding_op(parent)
    if funding is None or funding[0] is op:
        return None
    amounts = [
        f
        for f in op.fields
        if f.location == "body" and f.path.count(".") == 1 and role_of(f) in ("amount", "price")
    ]
    balance = next(
        (
            f
            for k, f in parent.fields.items()
            if "." not in k and "[" not in k and f.read_only and role_of(f) == "stock"
        ),
        None,
    )
    if len(amounts) != 1 or balance is None:
        return None
    amount = amounts[0]
    if not (fits(amount, _SPEND) and fits(funding[1], _BALANCE)):
        return None
    sc = b.scenario()
    holder = sc.ensure(parent)
    if holder is None:
        return None
    # funded here, exactly: the builder must not top it up generously later
    if not b.fund(sc, holder, funding, _BALANCE, note=f"a `{balance.name}` of exactly {_BALANCE}"):
        return None
    step = b.invoke(
        sc,
        op,
        overrides={amount.name: LiteralValue(value=_SPEND)},
        params={f"path.{res.parent_param}": CapturedValue(name=holder.capture)},
        concurrent=_SPENDERS,
        expect=[GroupExpectation(band="2xx", max_count=_BALANCE // _SPEND)],
        name="concurrent_spends",
        note=f"{_SPENDERS} simultaneous requests of {_SPEND} each against {_BALANCE}",
    )
    if step is None:
        return None
    b.call(
        sc,
        parent.get,
        holder,
        expect=[OK, RelationExpectation(pointer=f"/{balance.name}", op="ge", against=LiteralValue(value=0))],
        name="read_back",
        note=f"`{balance.name}` never negative",
    )
    return candidate(
        op,
        title=f"{op.id}: simultaneous requests never spend more than the {parent.name.replace('_', ' ')}'s `{balance.name}`",
        rationale=(
            "A balance check and the debit that are not atomic per object let simultaneous requests all "
            "pass the check: together they overdraw the balance (a lost update)."
        ),
        category=Category.CONCURRENCY,
        severity=Severity.CRITICAL,
        confidence=0.65 if _OVERLAP.search(op.description) else 0.55,
        fields=[(op, amount.path), (op, f"path.{res.parent_param}"), (parent.get, balance.path)],
        steps=sc.steps,
    )
