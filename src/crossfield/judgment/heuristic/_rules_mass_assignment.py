"""Mass assignment: a privileged or read-only field sent by the client must not take effect.

Only fields the request schema itself lists can be sent (grounding forbids inventing fields): read-only
properties of a shared request/response schema, or privileged names (`role`, `owner_id`, `status`,
`balance`...) that the representation marks read-only. The object is created with a value a server
would never choose by itself; reading it back must not show that value.
"""

from __future__ import annotations

import re

from pydantic import JsonValue

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._scenario import OK, Candidate, Context, LiteralValue, candidate, clip
from crossfield.judgment.models import (
    Capture,
    CapturedValue,
    Category,
    Expectation,
    RelationExpectation,
    Severity,
    Value,
)
from crossfield.spec.model import Field, Operation


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        op = res.update if res.singleton else res.create
        if op is None or res.get is None or op.body_schema is None:
            continue
        forged = _forgeable(res, op)
        if res.singleton:
            out.extend(c for f, value in forged if (c := _singleton(ctx, res, op, f, value)) is not None)
        elif forged:
            made = _scenario(ctx, res, forged)
            if made is not None:
                out.append(made)
    return out


def _forgeable(res: Resource, op: Operation) -> list[tuple[Field, JsonValue]]:
    """The server-controlled fields `op`'s body lists, each with a value the server would not choose."""
    out: list[tuple[Field, JsonValue]] = []
    rep = res.fields
    for f in op.fields:
        if f.location != "body" or f.path.count(".") != 1:
            continue
        shown = rep.get(f.name)
        if shown is None or V.norm(f.name) in ("id", "uuid") or f.format in ("date", "date-time"):
            continue
        privileged = f.read_only or (
            shown.read_only and V.norm(f.name) in {V.norm(w) for w in V.PRIVILEGED_WORDS}
        )
        if not privileged:
            continue
        value = _forged(f)
        if value is not None:
            out.append((f, value))
    return out


def _forged(f: Field) -> JsonValue:
    """A value the server would not pick itself."""
    if f.enum:
        vals = [e for e in f.enum if e is not None]
        for v in vals:
            if isinstance(v, str) and (
                V.has_word(v, V.TERMINAL_STATE_WORDS) or v.lower() in ("admin", "owner", "superuser", "root")
            ):
                return v
        return vals[-1] if len(vals) > 1 else None
    if f.type == "boolean":
        return True
    if f.type in ("integer", "number"):
        return clip(f, 987654)
    if f.type == "string" and f.format is None:
        return next((v for v in _FORGED_STRINGS if _allowed(f, v)), None)
    return None


_FORGED_STRINGS = ("forged-by-client", "forged", "FORGED", "1.00", "0.01", "1", "X")
"""Values a server would not pick by itself, the first one the field's pattern and length accept."""


def _allowed(f: Field, value: str) -> bool:
    if f.pattern and re.search(f.pattern, value) is None:
        return False
    return (f.min_length or 0) <= len(value) <= (f.max_length if f.max_length is not None else len(value))


def _scenario(ctx: Context, res: Resource, forged: list[tuple[Field, JsonValue]]) -> Candidate | None:
    """One create sending every server-controlled field at once; reading it back shows none taken."""
    assert res.create is not None and res.get is not None
    b = ctx.builder
    sc = b.scenario()
    sent: dict[str, Value] = {}
    me = ctx.analysis.me()
    for f, value in forged:
        sent[f.name] = LiteralValue(value=value)
        if (
            me is not None
            and me.get is not None
            and V.norm(f.name).replace("_", "") in {o.replace("_", "") for o in V.OWNER_FIELDS}
        ):
            # an owner field set to a real other user: a server honouring it hands the object over
            cap = sc.name("other_user_id")
            who = b.call(
                sc,
                me.get,
                None,
                identity=ctx.other,
                captures=[Capture(name=cap, pointer="/id")],
                name="who_is_other",
                note="the other identity's user id",
            )
            if who is None:
                return None
            sent[f.name] = CapturedValue(name=cap)
    names = ", ".join(f"`{n}`" for n in sent)
    # A flag or a state the server may well choose itself (an international shipment does need customs)
    # is compared with an object created without it: the forged value must not make a difference.
    kinds = {f.name: f for f, _ in forged}
    compared = [
        n
        for n, v in sent.items()
        if isinstance(v, LiteralValue) and (kinds[n].enum or kinds[n].type == "boolean")
    ]
    controls: dict[str, CapturedValue] = {}
    if compared:
        plain = b.create(sc, res, identity=ctx.owner, note="a control object, created without them")
        if plain is None:
            return None
        caps = [Capture(name=sc.name(f"plain_{n}"), pointer=f"/{n}") for n in compared]
        if (
            b.call(sc, res.get, plain, captures=caps, name="read_control", note="what the server chooses")
            is None
        ):
            return None
        controls = {n: CapturedValue(name=c.name) for n, c in zip(compared, caps, strict=True)}
    obj = b.create(sc, res, identity=ctx.owner, overrides=sent, note=f"create while sending {names}")
    if obj is None:
        return None
    expect: list[Expectation] = [OK]
    expect += [
        RelationExpectation(pointer=f"/{n}", op="eq", against=controls[n])
        if n in controls
        else RelationExpectation(pointer=f"/{n}", op="ne", against=v)
        for n, v in sent.items()
    ]
    if (
        b.call(
            sc,
            res.get,
            obj,
            expect=expect,
            name="read_back",
            note="positive control: the creator can read it; the server-controlled value was not taken from the client",
        )
        is None
    ):
        return None
    first = forged[0][0].name
    if len(sent) == 1:
        title = f"{res.create.id}: a client-sent `{first}` does not take effect"
    else:
        shown = ", ".join(f"`{n}`" for n in list(sent)[:3]) + (
            f" and {len(sent) - 3} more" if len(sent) > 3 else ""
        )
        title = f"{res.create.id}: client-sent server-controlled fields ({shown}) do not take effect"
    fields: list[tuple[Operation | None, str]] = []
    for f, _ in forged:
        fields += [(res.create, f.path), (res.get, f"response.{f.name}")]
    return candidate(
        res.create,
        title=title,
        rationale=f"{names} are controlled by the server; binding the whole request body to the object lets clients set them.",
        category=Category.MASS_ASSIGNMENT,
        severity=Severity.HIGH,
        confidence=0.6,
        fields=fields,
        steps=sc.steps,
    )


def _singleton(ctx: Context, res: Resource, op: Operation, f: Field, value: JsonValue) -> Candidate | None:
    """`PUT /me {role: admin}`: the caller's own privileged field must not change."""
    assert res.get is not None
    b = ctx.builder
    sc = b.scenario()
    sent = LiteralValue(value=value)
    if (
        b.invoke(
            sc,
            op,
            identity=ctx.other,
            overrides={f.name: sent},
            expect=[OK],
            name="update_with_forged",
            note=f"update while sending `{f.name}`",
        )
        is None
    ):
        return None
    expect: list[Expectation] = [OK, RelationExpectation(pointer=f"/{f.name}", op="ne", against=sent)]
    if (
        b.call(
            sc,
            res.get,
            None,
            identity=ctx.other,
            expect=expect,
            name="read_back",
            note="the value was not taken from the client",
        )
        is None
    ):
        return None
    return candidate(
        op,
        title=f"{op.id}: a client-sent `{f.name}` does not change the caller's own `{f.name}`",
        rationale=f"`{f.name}` is assigned by the server; honouring it in a self-service update is a privilege escalation.",
        category=Category.MASS_ASSIGNMENT,
        severity=Severity.CRITICAL,
        confidence=0.7,
        fields=[(op, f.path), (res.get, f"response.{f.name}")],
        steps=sc.steps,
    )
