"""Idempotency keys: a replay returns the original result; a reused key with another payload is refused.

Found through an idempotency header (`Idempotency-Key`, `X-Idempotency-Key`, `X-Request-Dedup`...) on a
POST. Both requests of a replay carry the same key and byte-identical bodies (bodies are synthesized
deterministically and every override repeats), so a correct API must answer with the same object.
"""

from __future__ import annotations

import re
from typing import Any

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    LiteralValue,
    candidate,
    clip,
    role_of,
)
from crossfield.judgment.models import (
    CapturedValue,
    Category,
    Expectation,
    RelationExpectation,
    SameResponseExpectation,
    Severity,
    UniqueValue,
    Value,
)
from crossfield.spec.model import Field, Operation


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for op in ctx.api.operations:
        if op.method.lower() != "post":
            continue
        found = key_of(op)
        if found is None:
            continue
        header, described = found
        res = ctx.analysis.by_op.get(op.id)
        id_pointer = res.id_pointer if res is not None and res.create is op else None
        replay = _replay(ctx, op, header, id_pointer)
        if replay is not None:
            out.append(replay)
        reuse = _reuse(ctx, op, header)
        if reuse is not None:
            out.append(reuse)
        if id_pointer is not None and _SCOPED.search(f"{op.description}\n{described}"):
            scoped = _scoped(ctx, op, header, id_pointer)
            if scoped is not None:
                out.append(scoped)
    return out


def key_of(op: Operation) -> tuple[str, str] | None:
    """Where `op` takes its idempotency key, as a field path (`header.Idempotency-Key`, or a body field
    such as `body.requestId` that its name or description says makes retries safe), and its description."""
    for p in op.parameters_in("header"):
        if V.IDEMPOTENCY_HEADER.search(p.name):
            return p.field_path, p.description
    for f in _body_fields(op):
        if f.type == "string" and (
            V.IDEMPOTENCY_HEADER.search(f.name) or V.RETRY_KEY_PROSE.search(f.description)
        ):
            return f.path, f.description
    return None


def _name(path: str) -> str:
    return path.split(".", 1)[1]


def _keyed(path: str, tag: str, overrides: dict[str, Value] | None = None) -> dict[str, Any]:
    """`invoke` arguments sending the key `tag` where `path` says (a header, or a body field), with
    `overrides`."""
    body = dict(overrides or {})
    if path.startswith("body."):
        body[_name(path)] = UniqueValue(name=tag)
        return {"overrides": body}
    return {"params": {path: UniqueValue(name=tag)}, "overrides": body or None}


_SCOPED = re.compile(
    r"\bscoped\s+(?:to|per|by)\s+(?:the\s+|each\s+)?(?:caller|user|account|customer|client|api\s+key|token|buyer|tenant)"
    r"|\bper\s+(?:caller|user|account|customer|client|api\s+key|tenant)\b"
    r"|\b(?:caller|user|account|tenant)[- ]scoped\b",
    re.I,
)


def _scoped(ctx: Context, op: Operation, header: str, id_pointer: str) -> Candidate | None:
    """Keys are scoped to the caller: another identity sending the same key gets its own result, never
    the first caller's object."""
    b = ctx.builder
    sc = b.scenario()
    first = b.invoke(
        sc,
        op,
        **_keyed(header, "shared_key"),
        expect=[OK],
        name="owner_request",
        capture_id=True,
        note="the owner's request",
    )
    if first is None or not first.captures:
        return None
    theirs = CapturedValue(name=first.captures[0].name)
    other = b.invoke(
        sc,
        op,
        identity=ctx.other,
        **_keyed(header, "shared_key"),
        expect=[OK, RelationExpectation(pointer=id_pointer, op="ne", against=theirs)],
        name="other_same_key",
        note="violation if it returns the owner's object: another caller, the same key",
    )
    if other is None:
        return None
    return candidate(
        op,
        title=f"{op.id}: another identity reusing an `{_name(header)}` gets its own result, not the first caller's",
        rationale=(
            "Keys are documented as scoped to the caller; a store keyed by the key alone hands one caller's "
            "stored response (and object) to whoever sends the same key."
        ),
        category=Category.IDEMPOTENCY,
        severity=Severity.HIGH,
        confidence=0.7,
        fields=[(op, header), (op, "response" + id_pointer.replace("/", ".")), *_whose(ctx, op)],
        steps=sc.steps,
    )


def _replay(ctx: Context, op: Operation, header: str, id_pointer: str | None) -> Candidate | None:
    b = ctx.builder
    sc = b.scenario()
    first = b.invoke(
        sc, op, **_keyed(header, "key_a"), expect=[OK], name="first_request", note="the original request"
    )
    if first is None:
        return None
    expect: list[Expectation] = [
        OK,
        SameResponseExpectation(step=first.id, pointers=[id_pointer] if id_pointer else []),
    ]
    # the very same request again (same key, same body, same parameters): a retry
    sc.add(
        first.model_copy(
            update={
                "id": sc.name("replay_same_key"),
                "expect": expect,
                "note": "a retry: same key, same body",
                "captures": [],
            }
        )
    )
    return candidate(
        op,
        title=f"{op.id}: a retry with the same `{_name(header)}` returns the original result and creates nothing new",
        rationale="Clients retry on timeouts; when the stored idempotency entry is not consulted, every retry creates (and charges) again.",
        category=Category.IDEMPOTENCY,
        severity=Severity.CRITICAL,
        confidence=0.85,
        fields=[
            (op, header),
            (op, "response" + (id_pointer or "").replace("/", ".")),
            *((op, f.path) for f in _body_fields(op)[:1] if not id_pointer),
        ],
        steps=sc.steps,
    )


def _whose(ctx: Context, op: Operation) -> list[tuple[Operation, str]]:
    """The field that says whose request it is (its first reference, else its first required field):
    part of the scoped-key claim, and what keeps it apart from the plain replay claim on the same key."""
    refs = ctx.analysis.references(op)
    if refs:
        return [(op, refs[0].field.path)]
    return [(op, f.path) for f in _body_fields(op) if f.required][:1]


def _body_fields(op: Operation) -> list[Field]:
    return [f for f in op.fields if f.location == "body" and f.path.count(".") == 1 and not f.read_only]


def _changeable(op: Operation, related: frozenset[str] = frozenset()) -> tuple[Field, Value, Value] | None:
    """A body field and two different valid values for it; not an enum of `related` (a choice other fields
    depend on, "a certificate is required with `own_insurance`": changing it alone could make the
    request invalid for that reason)."""
    text = op.description or ""

    def conditions(f: Field) -> bool:
        """An enum whose values the description names: other fields likely depend on the choice."""
        return any(
            isinstance(v, str) and re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", text)
            for v in f.enum or ()
        )

    fields = sorted(
        (f for f in _body_fields(op) if not (f.enum and (f.path in related or conditions(f)))),
        key=lambda f: (not f.required, role_of(f) not in ("amount", "price", "count"), f.name),
    )
    for f in fields:
        if f.enum and f.type in ("integer", "number"):
            vals = [e for e in f.enum if e is not None]
            if len(vals) >= 2:
                return f, LiteralValue(value=vals[0]), LiteralValue(value=vals[1])
            continue
        if f.type in ("integer", "number"):
            base = clip(f, 1000 if role_of(f) in ("amount", "price") else 2)
            if base is None:
                continue
            other = clip(f, base + 1)
            if other is None or other == base:
                other = clip(f, base - 1)
            if other is not None and other != base:
                return f, LiteralValue(value=base), LiteralValue(value=other)
        if (
            f.enum
            and len([e for e in f.enum if e is not None]) >= 2
            and not V.has_word(f.name, V.CURRENCY_WORDS)
        ):
            vals = [e for e in f.enum if e is not None]
            return f, LiteralValue(value=vals[0]), LiteralValue(value=vals[1])
    for f in fields:  # else free text: a note, a description
        if (
            f.type == "string"
            and not (f.enum or f.format or f.pattern)
            and (f.max_length is None or f.max_length >= 12)
            and (f.min_length or 0) <= 12
            and not f.name.endswith(V.ID_SUFFIXES)
            and not (set(V.words(f.name)) & V.ID_WORDS)
            and not V.IDEMPOTENCY_HEADER.search(f.name)
            and not re.search(rf"(?<![\w-]){re.escape(f.name)}(?![\w-])", text)  # a rule names it
        ):
            return f, LiteralValue(value="first note"), LiteralValue(value="second note")
    return None


def _reuse(ctx: Context, op: Operation, header: str) -> Candidate | None:
    related = frozenset(
        p for fact in ctx.api.interactions.field_relations if fact.operation_id == op.id for p in fact.fields
    )
    change = _changeable(op, related)
    if change is None:
        return None
    f, one, two = change
    b = ctx.builder
    sc = b.scenario()
    first = b.invoke(sc, op, **_keyed(header, "key_a", {f.name: one}), expect=[OK], name="first_request")
    reuse = b.invoke(
        sc,
        op,
        **_keyed(header, "key_a", {f.name: two}),
        expect=[REJECTED],
        name="same_key_other_body",
        note=f"violation: same key, different `{f.name}`",
    )
    # objects the first request referenced may be used up by it (a quote turned into a shipment): the
    # control refers to fresh ones, so that only the key decides its outcome
    fresh: dict[str, Value] = {f.name: two}
    for ref in ctx.analysis.references(op):
        if ref.field.path.count(".") != 1 or ref.field.name == f.name:
            continue
        again = sc.ensure(ref.target, identity=ctx.owner, fresh=True)
        if again is None:
            return None
        fresh[ref.field.name] = CapturedValue(name=again.capture)
    control = b.invoke(
        sc,
        op,
        **_keyed(header, "key_b", fresh),
        expect=[OK],
        name="fresh_key_other_body",
        note="positive control: the changed request with a fresh key succeeds",
    )
    if None in (first, reuse, control):
        return None
    return candidate(
        op,
        title=f"{op.id}: reusing `{_name(header)}` with a different body is refused",
        rationale="If the request fingerprint is not compared on replay, a changed request silently gets the original response and the change is lost.",
        category=Category.IDEMPOTENCY,
        severity=Severity.HIGH,
        confidence=0.7,
        fields=[(op, header), (op, f.path)],
        steps=sc.steps,
    )
