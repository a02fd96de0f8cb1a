"""Authorization and ownership: another identity must not read or change an object it does not own.

An object is treated as owned when its representation has an owner field (`owner_id`, `created_by`,
`organizer_id`...) or the API's prose says objects belong to their creator, and the spec does not
describe it as shared. The object is created as the main identity; the second identity's call is
refused; then the owner reads it (positive control, state unchanged) and, for a change, performs the
same call successfully, which proves the refusal was about the identity.
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    LiteralValue,
    _article,
    candidate,
    obj_capture,
    stale_in_past,
    state_field,
    verb_slug,
)
from crossfield.judgment.models import (
    Capture,
    CapturedValue,
    Category,
    CollectionExpectation,
    Expectation,
    RelationExpectation,
    Severity,
    UniqueValue,
    Value,
)
from crossfield.spec.model import Operation


def owned(ctx: Context, res: Resource) -> bool:
    fields = res.fields
    has_owner_field = any(
        V.norm(k).replace("_", "") in {o.replace("_", "") for o in V.OWNER_FIELDS} and "." not in k
        for k in fields
    )
    api_text = ctx.api.description
    tag_text = " ".join(op.description for op in (res.create, res.get) if op is not None)
    if has_owner_field and not V.SHARED_PROSE.search(tag_text):
        return True
    if _api_prose_owns(ctx, res, api_text) and not V.SHARED_PROSE.search(api_text):
        return True
    return bool(V.OWNERSHIP_PROSE.search(tag_text))


def _api_prose_owns(ctx: Context, res: Resource, text: str) -> bool:
    """API-level prose about ownership applies to `res` when its paragraph names `res`, or names no
    resource at all ("objects belong to their creator"); a paragraph about another kind of object
    ("loans are personal") says nothing about a shared catalogue."""
    names = {r.name for r in ctx.analysis.iter_resources() if not r.singleton}
    for para in re.split(r"\n\s*\n", text):
        if not V.OWNERSHIP_PROSE.search(para):
            continue
        mentioned = {n for n in names if _mentions(para, n)}
        if not mentioned or res.name in mentioned:
            return True
    return False


def _mentions(text: str, name: str) -> bool:
    phrase = r"[\s_-]?".join(re.escape(w) for w in V.words(name))
    return re.search(rf"\b{phrase}(?:s|es)?\b", text, re.I) is not None


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    if not (ctx.api.security_schemes or ctx.api.security):
        return out
    for res in ctx.analysis.iter_resources():
        for op in (res.create, res.list_op):
            nested = _under_other(ctx, res, op) if op is not None else None
            if nested is not None:
                out.append(nested)
        if res.create is None or res.get is None or res.id_param is None or not owned(ctx, res):
            continue
        made = _read(ctx, res)
        if made is not None:
            out.append(made)
        leak = _filtered_list(ctx, res)
        if leak is not None:
            out.append(leak)
        changes: list[tuple[Operation, str]] = [(a.op, a.verb) for a in res.actions]
        if res.update is not None:
            changes.append((res.update, "update"))
        if res.delete is not None:
            changes.append((res.delete, "delete"))
        for op, verb in changes:
            made = _change(ctx, res, op, verb)
            if made is not None:
                out.append(made)
    for res in ctx.analysis.iter_resources():
        for op, verb in _item_ops(res):
            made = _through_own_parent(ctx, res, op, verb)
            if made is not None:
                out.append(made)
    return out


def _item_ops(res: Resource) -> list[tuple[Operation, str]]:
    """The operations on one object of `res`, strongest first: delete, update, actions, read."""
    out: list[tuple[Operation, str]] = []
    if res.delete is not None:
        out.append((res.delete, "delete"))
    if res.update is not None:
        out.append((res.update, "update"))
    out.extend((a.op, a.verb) for a in res.actions)
    if res.get is not None:
        out.append((res.get, "read"))
    return out


def _through_own_parent(ctx: Context, res: Resource, op: Operation, verb: str) -> Candidate | None:
    """`DELETE /reports/{mine}/expenses/{yours}`: a nested handler that checks the caller owns the parent
    in the path must also check the child belongs to that parent. Another identity names its own parent
    and the owner's child: refused. Then the owner reads the child (unchanged, still there) and performs
    the same call through the right parent (positive control: the call itself is valid)."""
    parent, param = res.parent, res.parent_param
    if (
        parent is None
        or param is None
        or parent.create is None
        or res.create is None
        or res.id_param is None
        or op.parameter("path", param) is None
        or op.parameter("path", res.id_param) is None
        or not (owned(ctx, parent) or owned(ctx, res))
        or stale_in_past(res, op)
    ):
        return None
    if V.INVERSE_VERBS.get(verb) and any(a.verb in V.INVERSE_VERBS[verb] for a in res.actions):
        return None  # needs a prior action first
    b = ctx.builder
    sc = b.scenario()
    child = sc.ensure(res, identity=ctx.owner, fresh=True)
    if child is None:
        return None
    foreign = sc.ensure(parent, identity=ctx.other, fresh=True)
    if foreign is None:
        return None
    from crossfield.judgment.heuristic._scenario import Obj

    crossed = Obj(
        res, child.capture, child.step, ctx.other, {**child.path, f"path.{param}": obj_capture(foreign)}
    )
    changing = op is not res.get
    partial = op is res.update
    from crossfield.judgment.heuristic._rules_state import _update_fields

    include = frozenset(_update_fields(ctx, op)) if partial else frozenset()
    if partial and not include:
        return None
    if (
        b.invoke(
            sc,
            op,
            on=crossed,
            identity=ctx.other,
            partial=partial,
            include=include,
            expect=[REJECTED],
            name=f"{verb_slug(verb)}_through_own_{parent.name}",
            note=f"violation: another identity names its own {parent.name.replace('_', ' ')} and the owner's {res.name.replace('_', ' ')}",
        )
        is None
    ):
        return None
    if res.get is not None and changing:
        b.call(
            sc,
            res.get,
            child,
            expect=[OK],
            name="owner_still_has_it",
            note="the owner's object is still there",
        )
    if (
        b.invoke(
            sc,
            op,
            on=child,
            partial=partial,
            include=include,
            expect=[OK],
            name=f"{verb_slug(verb)}_as_owner",
            note=f"positive control: the owner can `{verb}` it through its own {parent.name.replace('_', ' ')}",
        )
        is None
    ):
        return None
    noun, parent_noun = res.name.replace("_", " "), parent.name.replace("_", " ")
    return candidate(
        op,
        title=f"{op.id}: another identity cannot {verb} {_article(res.name)} through its own {parent_noun}",
        rationale=(
            f"Nested handlers often check that the caller owns the {parent_noun} in the path and then look the "
            f"{noun} up by its id alone, so any caller reaches any {noun} through a {parent_noun} of its own."
        ),
        category=Category.AUTHORIZATION,
        severity=Severity.CRITICAL if changing else Severity.HIGH,
        confidence=0.7,
        fields=[(op, f"path.{param}"), (op, f"path.{res.id_param}")],
        steps=sc.steps,
    )


def _read(ctx: Context, res: Resource) -> Candidate | None:
    assert res.get is not None and res.create is not None
    b = ctx.builder
    sc = b.scenario()
    obj = sc.ensure(res, fresh=True)
    if obj is None:
        return None
    if (
        b.call(
            sc,
            res.get,
            obj,
            identity=ctx.other,
            expect=[REJECTED],
            name="read_as_other",
            note="violation: another identity reads it",
        )
        is None
    ):
        return None
    b.call(
        sc, res.get, obj, expect=[OK], name="read_as_owner", note="positive control: the owner can read it"
    )
    return candidate(
        res.get,
        title=f"{res.get.id}: another identity cannot read {_article(res.name)} it does not own",
        rationale="Object-level authorization is easy to forget on one handler; ids are guessable or leak, so any user could read others' objects.",
        category=Category.AUTHORIZATION,
        severity=Severity.HIGH,
        confidence=0.7,
        fields=[
            (res.get, f"path.{res.id_param}"),
            (res.create, "response" + (res.id_pointer or "/id").replace("/", ".")),
        ],
        steps=sc.steps,
    )


def _change(ctx: Context, res: Resource, op: Operation, verb: str) -> Candidate | None:
    assert res.get is not None and res.create is not None
    if V.INVERSE_VERBS.get(verb) and any(a.verb in V.INVERSE_VERBS[verb] for a in res.actions):
        return None  # needs a prior action; covered by the other verbs
    if stale_in_past(res, op):
        return None
    from crossfield.judgment.heuristic._rules_state import _prepare

    b = ctx.builder
    sc = b.scenario(knobs={res.key: _prepare(ctx, res, verb)})
    obj = sc.ensure(res, fresh=True)
    if obj is None:
        return None
    partial = op is res.update
    from crossfield.judgment.heuristic._rules_state import _update_fields

    include = frozenset(_update_fields(ctx, op)) if partial else frozenset()
    if partial and not include:
        return None
    st = state_field(res)
    caps: list[Capture] = []
    if st is not None:
        cap = sc.name(f"{res.name}_{st}")
        caps = [Capture(name=cap, pointer=f"/{st}")]
        sc.steps[-1] = sc.steps[-1].model_copy(update={"captures": [*sc.steps[-1].captures, *caps]})
    v = b.invoke(
        sc,
        op,
        on=obj,
        identity=ctx.other,
        partial=partial,
        include=include,
        expect=[REJECTED],
        name=f"{verb_slug(verb)}_as_other",
        note=f"violation: another identity tries `{verb}`",
    )
    if v is None:
        return None
    expect: list[Expectation] = [OK]
    if caps and st is not None:
        expect.append(
            RelationExpectation(pointer=f"/{st}", op="eq", against=CapturedValue(name=caps[0].name))
        )
    b.call(
        sc,
        res.get,
        obj,
        expect=expect,
        name="owner_reads",
        note="positive control: the owner still sees it unchanged",
    )
    if (
        b.invoke(
            sc,
            op,
            on=obj,
            partial=partial,
            include=include,
            expect=[OK],
            name=f"{verb_slug(verb)}_as_owner",
            note=f"positive control: the owner can `{verb}` it",
        )
        is None
    ):
        return None
    id_field = next((p.field_path for p in op.parameters_in("path") if p.name == res.id_param), None)
    if id_field is None:
        return None
    return candidate(
        op,
        title=f"{op.id}: another identity cannot {verb} {_article(res.name)} it does not own",
        rationale="State-changing handlers often look objects up by id without the owner check the read handler has.",
        category=Category.AUTHORIZATION,
        severity=Severity.CRITICAL
        if verb in ("delete", "update") or verb in V.TERMINAL_VERBS
        else Severity.HIGH,
        confidence=0.75,
        fields=[(op, id_field), (res.create, "response" + (res.id_pointer or "/id").replace("/", "."))],
        steps=sc.steps,
    )


def _under_other(ctx: Context, res: Resource, op: Operation) -> Candidate | None:
    """Creating or listing under another identity's parent (`/members/{alice}/loans` called by bob) is
    refused; the parent's owner can (positive control). Only when the parent is the caller (its id
    comes from the caller's own profile) or an owned object, and the operation documents a refusal."""
    a, b = ctx.analysis, ctx.builder
    param = res.parent_param
    if param is None or op.parameter("path", param) is None:
        return None
    is_caller = a.me_source(param) is not None and res.parent is None
    parent_owned = res.parent is not None and res.parent.create is not None and owned(ctx, res.parent)
    if not (is_caller or parent_owned):
        return None
    documented = any(r.status in ("403", "404") for r in op.responses)
    prose = " ".join([op.description, *(r.description for r in op.responses if r.status in ("403", "404"))])
    if not documented or not (
        V.OWNERSHIP_PROSE.search(prose) or V.OWNERSHIP_PROSE.search(ctx.api.description)
    ):
        return None
    if stale_in_past(res, op):
        return None
    sc = b.scenario()
    path = b.path_params(sc, op, identity=ctx.owner)
    if path is None:
        return None
    from crossfield.judgment.heuristic._scenario import Obj

    anchor = Obj(res, "", "", ctx.owner, dict(path))
    creating = op is res.create
    verb = "create" if creating else "list"
    if (
        b.invoke(
            sc,
            op,
            on=anchor,
            identity=ctx.other,
            expect=[REJECTED],
            name=f"{verb}_as_other",
            note=f"violation: another identity tries to {verb} under the owner's `{param}`",
        )
        is None
    ):
        return None
    if (
        b.invoke(
            sc,
            op,
            on=anchor,
            identity=ctx.owner,
            expect=[OK],
            name=f"{verb}_as_owner",
            note=f"positive control: the owner can {verb} under its own `{param}`",
        )
        is None
    ):
        return None
    title_noun = res.name.replace("_", " ")
    fields: list[tuple[Operation | None, str]] = [(op, f"path.{param}")]
    if creating:
        fields += [(op, f.path) for f in op.fields if f.location == "body" and f.required][:1]
    if res.create is not None:
        fields.append((res.create, "response" + (res.id_pointer or "/id").replace("/", ".")))
    return candidate(
        op,
        title=f"{op.id}: another identity cannot {verb} {title_noun}s under someone else's `{param}`",
        rationale="Nested routes often trust the parent id in the path; without an owner check any caller acts on or reads another's collection.",
        category=Category.AUTHORIZATION,
        severity=Severity.CRITICAL if creating else Severity.HIGH,
        confidence=0.75,
        fields=fields,
        steps=sc.steps,
    )


def _filtered_list(ctx: Context, res: Resource) -> Candidate | None:
    """A list filter must not widen the list to other owners' objects: the owner's filtered list has the
    object (positive control), another identity's list with the same filter does not."""
    op, create = res.list_op, res.create
    if op is None or create is None or res.id_pointer is None:
        return None
    from crossfield.judgment.heuristic._rules_pagination import detect

    walk = detect(ctx.analysis.response_fields(op), op, res.id_pointer)
    paging = set(walk.fields) if walk else set()
    items = walk.pagination.items_pointer if walk else "/data"
    for p in op.parameters_in("query"):
        declared = op.field(p.field_path)
        if (
            p.field_path in paging
            or p.name.endswith(("_id", "Id"))
            or p.schema.get("type") not in ("string", None)
            or (declared is not None and (declared.enum or declared.format or declared.pattern))
        ):
            continue  # a filter the probe value would not be valid for
        body = next(
            (
                f
                for f in create.fields
                if f.location == "body" and f.path.count(".") == 1 and V.norm(f.name) == V.norm(p.name)
            ),
            None,
        )
        if body is None or body.type not in ("string", "array") or body.enum:
            continue
        value: Value = UniqueValue(name="".join(V.words(p.name)) or "filter")
        sent: Value = value
        if body.type == "array":
            value = LiteralValue(value="cfprobe1")
            sent = LiteralValue(value=["cfprobe1"])
        b = ctx.builder
        sc = b.scenario()
        obj = b.create(
            sc, res, identity=ctx.owner, overrides={body.name: sent}, note=f"an object with `{body.name}` set"
        )
        if obj is None:
            return None
        cap = CapturedValue(name=obj.capture)
        params = {f"query.{p.name}": value}
        b.call(
            sc,
            op,
            None,
            identity=ctx.other,
            params=params,
            name="other_lists_filtered",
            expect=[
                OK,
                CollectionExpectation(
                    check="not_contains", value=cap, items_pointer=items, id_pointer=res.id_pointer
                ),
            ],
            note="violation if present: another identity's filtered list shows it",
        )
        b.call(
            sc,
            op,
            None,
            identity=ctx.owner,
            params=params,
            name="owner_lists_filtered",
            expect=[
                OK,
                CollectionExpectation(
                    check="contains", value=cap, items_pointer=items, id_pointer=res.id_pointer
                ),
            ],
            note="positive control: the owner's filtered list shows it",
        )
        return candidate(
            op,
            title=f"{op.id}: filtering by `{p.name}` never returns other identities' {res.name.replace('_', ' ')}s",
            rationale="A filter predicate that replaces the owner predicate instead of adding to it leaks every owner's objects.",
            category=Category.AUTHORIZATION,
            severity=Severity.HIGH,
            confidence=0.65,
            fields=[(op, p.field_path), (create, body.path)],
            steps=sc.steps,
        )
    return None
