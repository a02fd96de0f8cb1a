"""State transitions: what an object's lifecycle actions may do after a terminal action.

Two claims, both built from the action verbs on `/things/{id}/<verb>` paths:

* a terminal or once-only action (cancel, void, capture, ...) applied twice: the first succeeds (positive
  control), the second is refused, and the object's state is unchanged by the refusal;
* after a terminal action, every other state-changing action (pause, resume, update, adding children)
  is refused, while the same action on a fresh object (brought into the state it needs: `resume` after
  `pause`) succeeds.
"""

from __future__ import annotations

import re
from typing import Any

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Action, Resource
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    LiteralValue,
    Obj,
    Scenario,
    _article,
    candidate,
    mentions_rule,
    stale_in_past,
    state_field,
    verb_slug,
)
from crossfield.judgment.models import (
    Capture,
    CapturedValue,
    Category,
    Expectation,
    RelationExpectation,
    Severity,
    Value,
)
from crossfield.spec.model import Operation


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = [*_ended_references(ctx), *_status_moves(ctx), *_locked_by_state(ctx)]
    for res in ctx.analysis.iter_resources():
        if res.create is None or not res.actions:
            continue
        for action in res.actions:
            if action.verb in V.FINAL_VERBS or action.verb in V.ONCE_VERBS or action.verb in V.TERMINAL_VERBS:
                made = _twice(ctx, res, action)
                if made is not None:
                    out.append(made)
        for terminal in res.actions:
            if terminal.verb not in V.FINAL_VERBS:
                continue
            for other in res.actions:
                if other is terminal or (
                    other.verb in V.INVERSE_VERBS and terminal.verb in V.INVERSE_VERBS[other.verb]
                ):
                    continue
                made = _after_terminal(ctx, res, terminal, other.op, other.verb)
                if made is not None:
                    out.append(made)
            if (
                res.update is not None
                and res.update.body_schema is not None
                and _update_guarded(res.update, terminal)
            ):
                made = _after_terminal(ctx, res, terminal, res.update, "update")
                if made is not None:
                    out.append(made)
            for child in ctx.analysis.iter_resources():
                if child.parent is res and child.create is not None and child.create.method.lower() == "post":
                    made = _after_terminal(ctx, res, terminal, child.create, f"create {child.name}")
                    if made is not None:
                        out.append(made)
    return out


def _update_guarded(op: Operation, terminal: Action) -> bool:
    """Whether the spec says an update depends on the object's state: a documented conflict, or prose
    naming the terminal action or a finished state. An annotation that stays editable is no finding."""
    if any(r.status == "409" for r in op.responses):
        return True
    text = op.description.lower()
    verbs = {terminal.verb, *(n for n, v in V.ACTION_NOUNS.items() if v == terminal.verb)}
    return any(re.search(rf"\b{re.escape(v)}", text) for v in verbs) or bool(
        re.search(r"\b(final|terminal|closed|no longer|only (?:while|when|if))\b", text)
    )


def _prepare(ctx: Context, res: Resource, verb: str) -> dict[str, Value]:
    """Create-body overrides that make `verb` applicable: `capture: false` before a `capture` action."""
    if res.create is None:
        return {}
    out: dict[str, Value] = {}
    for f in res.create.fields:
        if f.location != "body" or f.path.count(".") != 1 or f.type != "boolean":
            continue
        ws = V.words(f.name)
        if (
            ws
            and V.singular(ws[-1]) == verb
            and (len(ws) == 1 or ws[0] in ("auto", "automatic", "immediate"))
        ):
            out[f.name] = LiteralValue(value=False)
    return out


def _prereq_actions(res: Resource, verb: str) -> list[Action]:
    """Actions that bring a fresh object into the state `verb` needs (`pause` before `resume`)."""
    needs = V.INVERSE_VERBS.get(verb, frozenset())
    return [a for a in res.actions if a.verb in needs][:1]


def _fresh(ctx: Context, sc: Scenario, res: Resource, verb: str) -> Obj | None:
    return ctx.builder.create(
        sc, res, identity=ctx.owner, overrides=_prepare(ctx, res, verb), note=f"a fresh {res.name}"
    )


def _state_capture(sc: Scenario, res: Resource) -> tuple[list[Capture], str | None]:
    name = state_field(res)
    if name is None:
        return [], None
    cap = sc.name(f"{res.name}_{name}")
    return [Capture(name=cap, pointer=f"/{name}")], cap


def _twice(ctx: Context, res: Resource, action: Action) -> Candidate | None:
    op = action.op
    if _prereq_actions(res, action.verb) or (
        action.verb in V.INVERSE_VERBS and action.verb not in V.FINAL_VERBS
    ):
        return None  # needs a prior action first (`resume` after `pause`)
    if stale_in_past(res, op):
        return None
    b = ctx.builder
    sc = b.scenario()
    obj = _fresh(ctx, sc, res, action.verb)
    if obj is None:
        return None
    caps, cap = _state_capture(sc, res)
    first = b.call(
        sc,
        op,
        obj,
        expect=[OK],
        name=f"first_{action.verb}",
        captures=caps,
        note="positive control: the first time succeeds",
    )
    second = b.call(
        sc, op, obj, expect=[REJECTED], name=f"second_{action.verb}", note="violation: the same action again"
    )
    if first is None or second is None:
        return None
    fields: list[tuple[Operation | None, str]] = [(op, f"path.{res.id_param}")]
    if res.get is not None:
        expect: list[Expectation] = [OK]
        if cap is not None:
            name = state_field(res)
            expect.append(RelationExpectation(pointer=f"/{name}", op="eq", against=CapturedValue(name=cap)))
            fields.append((res.get, f"response.{name}"))
        b.call(
            sc,
            res.get,
            obj,
            expect=expect,
            name="read_back",
            note="the refused repeat left the state unchanged",
        )
    if len(fields) < 2:
        fields.append((res.create, "response" + (res.id_pointer or "/id").replace("/", ".")))
    text = op.description + " " + " ".join(r.description for r in op.responses)
    final = action.verb in V.FINAL_VERBS
    conf = 0.6 + (0.2 if mentions_rule(text) else 0.0) + (0.05 if final else 0.0)
    return candidate(
        op,
        title=f"{op.id}: a second {action.verb} of the same {res.name.replace('_', ' ')} is refused",
        rationale=f"`{action.verb}` moves the object out of the state that allows it; repeating it must not apply its effects (refunds, stock, billing) twice.",
        category=Category.STATE_TRANSITION,
        severity=Severity.HIGH if final else Severity.MEDIUM,
        confidence=conf,
        fields=fields,
        steps=sc.steps,
    )


def _locked_by_state(ctx: Context) -> list[Candidate]:
    """An operation whose description names the states it works in ("the report must be `draft` or
    `rejected`") is refused after an action that moves the object to another state (`submit` ->
    `submitted`), while it works on a fresh object. Final actions are `_after_terminal`'s already."""
    out: list[Candidate] = []
    a = ctx.analysis
    for sf in ctx.api.interactions.state_fields:
        if not sf.values:
            continue
        moves = [t for t in sf.transitions if t.via == "action" and t.likely_values]
        for move in moves:
            res = a.by_op.get(move.operation_id)
            action = next((x for x in res.actions if x.op.id == move.operation_id), None) if res else None
            if res is None or action is None or res.create is None or action.verb in V.FINAL_VERBS:
                continue
            if _prereq_actions(res, action.verb):
                continue
            targets: list[tuple[Operation, str]] = [
                (x.op, x.verb) for x in res.actions if x is not action and x.verb not in V.INVERSE_VERBS
            ]
            if res.update is not None and res.update.body_schema is not None:
                targets.append((res.update, "update"))
            targets += [
                (c.create, f"create {c.name}")
                for c in a.iter_resources()
                if c.parent is res and c.create is not None and c.create.method.lower() == "post"
            ]
            for op, verb in targets:
                allowed = allowed_states(op.description, sf.values)
                if not allowed or sf.values[0] not in allowed or set(move.likely_values) & allowed:
                    continue
                made = _after_terminal(ctx, res, action, op, verb, allowed=allowed)
                if made is not None:
                    out.append(made)
    return out


_ONLY_IN = re.compile(r"\b(?:must be|only|can be|while|unless|as long as)\b", re.I)


def allowed_states(text: str, values: tuple[str, ...]) -> frozenset[str]:
    """The state values a sentence of `text` limits an operation to ("the report must be `draft` or
    `rejected`", "only while the loan is active")."""
    found: set[str] = set()
    for sentence in re.split(r"(?<=[.;:])\s+|\n\s*[*-]\s+", text):
        if not _ONLY_IN.search(sentence):
            continue
        for v in values:
            if re.search(rf"(?<![\w-]){re.escape(v)}(?![\w-])", sentence, re.I):
                found.add(v)
    return frozenset(found)


def _after_terminal(
    ctx: Context,
    res: Resource,
    terminal: Action,
    op: Operation,
    verb: str,
    *,
    allowed: frozenset[str] = frozenset(),
) -> Candidate | None:
    """After `terminal`, `op` (another action, an update, a child create) is refused. With `allowed`, the
    states the spec says `op` works in, `terminal` is an action that leaves them rather than a final one."""
    if stale_in_past(res, op):
        return None
    b = ctx.builder
    sc = b.scenario()
    plain_verb = verb.split(" ")[0]
    # positive control: on a fresh object, brought into the state the action needs, the action succeeds
    control = _fresh(ctx, sc, res, plain_verb)
    if control is None:
        return None
    for prep in _prereq_actions(res, plain_verb):
        if (
            b.call(
                sc,
                prep.op,
                control,
                expect=[OK],
                name=f"{prep.verb}_control",
                note=f"bring the control object into the state `{verb}` needs",
            )
            is None
        ):
            return None
    is_child = ctx.analysis.by_op.get(op.id) is not res
    partial = op is res.update
    body_kw: dict[str, Any] = (
        {"partial": True, "include": frozenset(_update_fields(ctx, op))} if partial else {}
    )
    if is_child:
        control_step = b.invoke(
            sc,
            op,
            on=control,
            expect=[OK],
            name=f"{verb_slug(verb, 'action')}_control",
            note=f"positive control: `{verb}` on a live object",
        )
    else:
        control_step = b.invoke(
            sc,
            op,
            on=control,
            expect=[OK],
            name=f"{verb_slug(verb, 'action')}_control",
            note=f"positive control: `{verb}` on a live object",
            **body_kw,
        )
    if control_step is None:
        return None
    target = _fresh(ctx, sc, res, plain_verb)
    if target is None:
        return None
    for prep in _prereq_actions(res, plain_verb):
        if b.call(sc, prep.op, target, expect=[OK], name=f"{prep.verb}_target") is None:
            return None
    caps, cap = _state_capture(sc, res)
    if (
        b.call(
            sc,
            terminal.op,
            target,
            expect=[OK],
            name=f"{terminal.verb}_target",
            captures=caps,
            note=f"bring the object into the final state with `{terminal.verb}`",
        )
        is None
    ):
        return None
    if is_child:
        violation = b.invoke(
            sc,
            op,
            on=target,
            expect=[REJECTED],
            name=f"{verb_slug(verb, 'action')}_after_{terminal.verb}",
            note=f"violation: `{verb}` after `{terminal.verb}`",
        )
    else:
        violation = b.invoke(
            sc,
            op,
            on=target,
            expect=[REJECTED],
            name=f"{verb_slug(verb, 'action')}_after_{terminal.verb}",
            note=f"violation: `{verb}` after `{terminal.verb}`",
            **body_kw,
        )
    if violation is None:
        return None
    id_param = res.id_param or ""
    fields: list[tuple[Operation | None, str]] = [(terminal.op, f"path.{id_param}")]
    path_of_op = next((p.field_path for p in op.parameters_in("path") if p.name == id_param), None) or next(
        (p.field_path for p in op.parameters_in("path")), None
    )
    if path_of_op:
        fields.append((op, path_of_op))
    if res.get is not None:
        expect: list[Expectation] = [OK]
        name = state_field(res)
        if cap is not None and name is not None:
            expect.append(RelationExpectation(pointer=f"/{name}", op="eq", against=CapturedValue(name=cap)))
            fields.append((res.get, f"response.{name}"))
        b.call(
            sc,
            res.get,
            target,
            expect=expect,
            name="read_back",
            note=f"still in the state `{terminal.verb}` left it in",
        )
    text = " ".join(
        [ctx.api.description, op.description, terminal.op.description, *(r.description for r in op.responses)]
    )
    conf = (
        0.55
        + (0.2 if mentions_rule(text) else 0.0)
        + (0.1 if "final" in text.lower() or "terminal" in text.lower() else 0.0)
    )
    if is_child or partial:
        conf -= 0.1
    if allowed:
        conf = 0.7 - (0.1 if is_child or partial else 0.0)
        states = " or ".join(f"`{v}`" for v in sorted(allowed))
        rationale = (
            f"The spec allows `{verb}` only while the {res.name.replace('_', ' ')} is {states}; `{terminal.verb}` "
            f"moves it out of that, and a guard forgotten on this handler lets `{verb}` change a locked object."
        )
    else:
        rationale = f"`{terminal.verb}` is final; a guard that only rejects the states it expects to see lets `{verb}` revive or change a finished object."
    return candidate(
        op,
        title=f"{op.id}: `{verb}` on {_article(res.name)} after `{terminal.verb}` is refused",
        rationale=rationale,
        category=Category.STATE_TRANSITION,
        severity=Severity.HIGH,
        confidence=conf,
        fields=fields,
        steps=sc.steps,
    )


def _status_moves(ctx: Context) -> list[Candidate]:
    """Lifecycles driven by writing the state field (`PATCH {"status": "cancelled"}`) rather than by
    action paths: once the object is in a terminal state, writing a live state must be refused."""
    out: list[Candidate] = []
    for sf in ctx.api.interactions.state_fields:
        if not sf.terminal_values or not sf.values:
            continue
        for move in sf.transitions:
            res = ctx.analysis.by_op.get(move.operation_id)
            if move.via != "update" or not move.field or res is None or res.update is None:
                continue
            if res.update.id != move.operation_id or res.create is None or res.get is None:
                continue
            made = _revived_by_write(ctx, res, res.update, move.field, sf.values, sf.terminal_values)
            if made is not None:
                out.append(made)
    return out


def _revived_by_write(
    ctx: Context, res: Resource, op: Operation, path: str, values: tuple[str, ...], terminal: tuple[str, ...]
) -> Candidate | None:
    name = path.split(".", 1)[1] if path.startswith("body.") else ""
    f = op.field(path)
    if not name or "." in name or "[" in name or f is None or not f.enum:
        return None
    settable = [str(v) for v in f.enum]
    initial = values[0]
    ends = sorted(
        (v for v in settable if v in terminal),
        key=lambda v: (not V.has_word(v, V.TERMINAL_STATE_WORDS), settable.index(v)),
    )
    live = [v for v in settable if v not in terminal and v != initial]
    if not ends or not live or stale_in_past(res, op):
        return None
    end, revive = ends[0], live[0]
    b = ctx.builder
    sc = b.scenario()

    def write(obj: Obj, value: str, expect: list[Expectation], step: str, note: str) -> bool:
        made = b.invoke(
            sc,
            op,
            on=obj,
            partial=True,
            overrides={name: LiteralValue(value=value)},
            expect=expect,
            name=step,
            note=note,
        )
        return made is not None

    control = _fresh(ctx, sc, res, "update")
    if control is None or not write(
        control,
        revive,
        [OK],
        f"{revive}_control",
        f"positive control: a new {res.name} can become `{revive}`",
    ):
        return None
    target = _fresh(ctx, sc, res, "update")
    if target is None or not write(target, end, [OK], f"set_{end}", f"bring it into the final state `{end}`"):
        return None
    if not write(
        target,
        revive,
        [REJECTED],
        f"{revive}_after_{end}",
        f"violation: `{end}` is final, `{revive}` revives it",
    ):
        return None
    assert res.get is not None
    b.call(
        sc,
        res.get,
        target,
        expect=[OK, RelationExpectation(pointer=f"/{name}", op="eq", against=LiteralValue(value=end))],
        name="read_back",
        note=f"still `{end}`",
    )
    text = " ".join([ctx.api.description, op.description, *(r.description for r in op.responses)])
    conf = 0.6 + (0.15 if re.search(r"\b(final|terminal|stays?|no longer)\b", text, re.I) else 0.0)
    return candidate(
        op,
        title=f"{op.id}: {_article(res.name)} set to `{end}` cannot be set back to `{revive}`",
        rationale=(
            f"`{end}` is a final state; a transition check that lists the moves it forbids instead of the ones "
            f"it allows lets a write of `{name}` revive a finished {res.name.replace('_', ' ')}."
        ),
        category=Category.STATE_TRANSITION,
        severity=Severity.HIGH,
        confidence=conf,
        fields=[(op, path), (res.get, f"response.{name}")],
        steps=sc.steps,
    )


def _update_fields(ctx: Context, op: Operation) -> list[str]:
    """One simple, non-reference field to change in a partial update."""
    props, _ = ctx.analysis.body_props(op)
    for name in sorted(props):
        f = op.field(f"body.{name}")
        if f is None or f.read_only or ctx.analysis.reference_stem(f) is not None:
            continue
        if f.type in ("string", "integer", "number", "boolean") and not V.has_word(name, V.CURRENCY_WORDS):
            return [name]
    return []


def _ended_references(ctx: Context) -> list[Candidate]:
    """A create that references another object (an order naming a hold) must refuse one that was ended
    (a released hold, a closed account): the reference is checked for existence, rarely for state.
    Two objects: a live one is accepted (positive control), an ended one is refused."""
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        op = res.create
        if op is None or op.method.lower() != "post":
            continue
        for ref in ctx.analysis.references(op):
            target = ref.target
            if ref.field.path.count(".") != 1 or target.create is None or target is res:
                continue
            end = target.delete or next(
                (a.op for a in target.actions if a.verb in V.FINAL_VERBS or a.verb in V.TERMINAL_VERBS), None
            )
            if end is None:
                continue
            made = _ended_reference(ctx, res, op, ref.field.name, target, end)
            if made is not None:
                out.append(made)
    return out


def _ended_reference(
    ctx: Context, res: Resource, op: Operation, field_name: str, target: Resource, end: Operation
) -> Candidate | None:
    b = ctx.builder
    sc = b.scenario()
    live = sc.ensure(target, identity=ctx.owner, fresh=True)
    if live is None:
        return None
    control = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides={field_name: CapturedValue(name=live.capture)},
        step_name=f"{res.name}_from_a_live_{target.name}",
        note=f"positive control: a live {target.name.replace('_', ' ')} is accepted",
    )
    ended = sc.ensure(target, identity=ctx.owner, fresh=True)
    if control is None or ended is None:
        return None
    if (
        b.call(
            sc, end, ended, name=f"end_{target.name}", note=f"end the second {target.name.replace('_', ' ')}"
        )
        is None
    ):
        return None
    refused = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides={field_name: CapturedValue(name=ended.capture)},
        expect=[REJECTED],
        step_name=f"{res.name}_from_an_ended_{target.name}",
        note=f"violation if accepted: the {target.name.replace('_', ' ')} was ended by `{end.id}`",
    )
    if refused is None:
        return None
    sc.steps[-1] = sc.steps[-1].model_copy(update={"captures": []})  # refused: no id to keep
    target_name = target.name.replace("_", " ")
    return candidate(
        op,
        title=f"{op.id}: {_article(target.name)} ended by `{end.id}` cannot be used in a new {res.name.replace('_', ' ')}",
        rationale=(
            f"The create checks that the referenced {target_name} exists, not that it is still live: "
            f"after `{end.id}` it can still be turned into a {res.name.replace('_', ' ')}."
        ),
        category=Category.STATE_TRANSITION,
        severity=Severity.HIGH,
        confidence=0.65 if mentions_rule(op.description) else 0.55,
        fields=[(op, f"body.{field_name}"), (end, f"path.{target.id_param}" if target.id_param else "")],
        steps=sc.steps,
    )
