"""Deadlines relative to now: lead times ("book at least 2 hours in advance") and cut-offs ("cancel up to
24 hours before the start"). Fixed dates cannot test them; the scenarios send instants relative to when
the test runs (`RelativeTimeValue`, rounded up to a whole hour by the runtime).

* A cut-off on an action or update of an object whose start the client sets: an object starting well
  after the cut-off accepts the action (positive control); one starting inside it refuses it.
* A lead time on a create: a start inside the lead time is refused; one well beyond it is accepted.

Only when the spec states the number and its unit in the operation's own description.
"""

from __future__ import annotations

import re

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._constraints import is_temporal
from crossfield.judgment.heuristic._scenario import (
    OK,
    REJECTED,
    Candidate,
    Context,
    _article,
    _time_role,
    candidate,
    stale_in_past,
    verb_slug,
)
from crossfield.judgment.models import Category, RelativeTimeValue, Severity, Value
from crossfield.spec.model import Field, Operation

_UNIT = r"(hours?|hrs?|h|days?|d|minutes?|mins?)"
_CUTOFF = re.compile(
    rf"\b(?:up to|until|no later than|at least|at the latest|more than|not later than)\s+(\d+)\s*{_UNIT}\s+"
    r"(?:before|ahead of|prior to)\b"
    rf"|\b(?:within|less than|fewer than|inside)\s+(?:the\s+)?(?:last\s+)?(\d+)\s*{_UNIT}\s+(?:of|before|prior to)\b",
    re.I,
)
_LEAD = re.compile(
    rf"\b(?:at least|no less than|not less than|a minimum of)\s+(\d+)\s*{_UNIT}\s+"
    r"(?:in advance|ahead|from now|after now|later than now|before (?:it|the \w+) (?:starts?|begins?))",
    re.I,
)
_HORIZON = re.compile(
    rf"\b(?:at most|up to|no more than|not more than|within(?: the next)?)\s+(\d+)\s*{_UNIT}\s+"
    r"(?:ahead|in advance|in the future|from now|out)\b",
    re.I,
)
_SECONDS = {"h": 3600, "hr": 3600, "hour": 3600, "d": 86400, "day": 86400, "min": 60, "minute": 60}


def _seconds(number: str, unit: str) -> int:
    key = unit.lower().rstrip("s") or "h"
    return int(number) * _SECONDS.get(key, 3600)


_CHARGED = re.compile(r"\b(?:fee|fees|charged?|penalty|refund\w*|percent|half|forfeit\w*)\b|%", re.I)


def _found(pattern: re.Pattern[str], text: str) -> int | None:
    """The duration a sentence of `text` states; none from a sentence about what a late action costs
    ("cancellations less than 24 hours before the start are charged half"): that action is allowed."""
    m = next(
        (
            found
            for s in V.SENTENCE_BREAK.split(text or "")
            if (found := pattern.search(s)) and not _CHARGED.search(s)
        ),
        None,
    )
    if m is None:
        return None
    groups = [g for g in m.groups() if g is not None]
    return _seconds(groups[0], groups[1]) if len(groups) >= 2 else None


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        if res.create is None:
            continue
        start = _date_field(res.create, "start")
        if start is None:
            continue
        lead = _found(_LEAD, res.create.description)
        if lead is not None:
            made = _lead_time(ctx, res, start, lead)
            if made is not None:
                out.append(made)
        horizon = _found(_HORIZON, res.create.description)
        if horizon is not None:
            made = _horizon(ctx, res, start, horizon)
            if made is not None:
                out.append(made)
        ops: list[tuple[Operation, str]] = [(a.op, a.verb) for a in res.actions]
        if res.delete is not None:
            ops.append((res.delete, "delete"))
        for op, verb in ops:
            cutoff = _found(_CUTOFF, op.description)
            if cutoff is not None:
                made = _cut_off(ctx, res, start, op, verb, cutoff, lead or 0)
                if made is not None:
                    out.append(made)
    return out


def _date_field(op: Operation, role: str) -> Field | None:
    """The top-level body date the client sets as the object's `start` (`starts_at`, `start_date`) or
    `end`."""
    for f in op.fields:
        if (
            f.location == "body"
            and f.path.count(".") == 1
            and not f.read_only
            and is_temporal(f)
            and _time_role(f.name) == role
        ):
            return f
    return None


def _at(op: Operation, start: Field, seconds: int) -> dict[str, Value]:
    """Overrides that start the object `seconds` from now (an end, if any, an hour or a day later)."""
    date_only = start.format == "date"
    out: dict[str, Value] = {start.name: RelativeTimeValue(seconds=seconds, date_only=date_only)}
    end = _date_field(op, "end")
    if end is not None:
        later = 86400 if end.format == "date" else 3600
        out[end.name] = RelativeTimeValue(seconds=seconds + later, date_only=end.format == "date")
    return out


def _lead_time(ctx: Context, res: Resource, start: Field, lead: int) -> Candidate | None:
    assert res.create is not None
    step = 86400 if start.format == "date" else 3600
    if lead < 2 * step:
        return None  # the runtime's rounding could carry a start across the boundary
    b = ctx.builder
    sc = b.scenario()
    early = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides=_at(res.create, start, lead - step),
        expect=[REJECTED],
        step_name=f"{res.name}_too_soon",
        note=f"violation if accepted: `{start.name}` less than the lead time from now",
    )
    if early is None:
        return None
    sc.steps[-1] = sc.steps[-1].model_copy(update={"captures": []})
    control = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides=_at(res.create, start, lead + 7 * 86400),
        step_name=f"{res.name}_in_time",
        note="positive control: the same request a week beyond the lead time",
    )
    if control is None:
        return None
    return candidate(
        res.create,
        title=f"{res.create.id}: `{start.name}` sooner than the documented lead time is rejected",
        rationale="Lead times are checked against the clock; a check against the wrong instant (the client's date, the day instead of the hour) lets late bookings through.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.MEDIUM,
        confidence=0.7,
        fields=[(res.create, start.path), _echo(res, start)],
        steps=sc.steps,
    )


def _horizon(ctx: Context, res: Resource, start: Field, horizon: int) -> Candidate | None:
    """Bookings only up to a horizon ("at most 90 days ahead"): a start two days beyond it is refused; the
    scenario's usual start, a week ahead, is accepted (positive control)."""
    assert res.create is not None
    if horizon < 14 * 86400:
        return None  # the usual start, a week ahead, would not be inside it with room to spare
    b = ctx.builder
    sc = b.scenario()
    beyond = horizon + 2 * 86400
    date_only = start.format == "date"
    far: dict[str, Value] = {
        start.name: RelativeTimeValue(seconds=beyond, date_only=date_only, at=None if date_only else "10:00")
    }
    end = _date_field(res.create, "end")
    if end is not None:
        far[end.name] = RelativeTimeValue(
            seconds=beyond + 86400 if end.format == "date" else beyond,
            date_only=end.format == "date",
            at=None if end.format == "date" else "11:00",
        )
    too_far = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides=far,
        expect=[REJECTED],
        step_name=f"{res.name}_too_far_ahead",
        note=f"violation if accepted: `{start.name}` beyond the booking horizon",
    )
    if too_far is None:
        return None
    sc.steps[-1] = sc.steps[-1].model_copy(update={"captures": []})
    control = b.create(
        sc,
        res,
        identity=ctx.owner,
        step_name=f"{res.name}_within_horizon",
        note="positive control: the same request a week ahead",
    )
    if control is None:
        return None
    return candidate(
        res.create,
        title=f"{res.create.id}: `{start.name}` beyond the documented booking horizon is rejected",
        rationale="A horizon is checked against the clock; a check on the wrong field, or one that is missing on one path, accepts bookings far in the future.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.LOW,
        confidence=0.6,
        fields=[(res.create, start.path), _echo(res, start)],
        steps=sc.steps,
    )


def _cut_off(
    ctx: Context, res: Resource, start: Field, op: Operation, verb: str, cutoff: int, lead: int
) -> Candidate | None:
    assert res.create is not None
    step = 86400 if start.format == "date" else 3600
    inside = cutoff - 2 * step
    if inside < max(lead + step, step) or stale_in_past(res, op):
        return None
    b = ctx.builder
    sc = b.scenario()
    control = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides=_at(res.create, start, cutoff + 7 * 86400),
        note="starts well after the cut-off",
    )
    if (
        control is None
        or b.call(
            sc,
            op,
            control,
            expect=[OK],
            name=f"{verb_slug(verb)}_in_time",
            note=f"positive control: `{verb}` long before the start",
        )
        is None
    ):
        return None
    late = b.create(
        sc,
        res,
        identity=ctx.owner,
        overrides=_at(res.create, start, inside),
        note="starts inside the cut-off",
    )
    if (
        late is None
        or b.call(
            sc,
            op,
            late,
            expect=[REJECTED],
            name=f"{verb_slug(verb)}_too_late",
            note=f"violation if accepted: `{verb}` after the cut-off",
        )
        is None
    ):
        return None
    id_param = next((p.field_path for p in op.parameters_in("path") if p.name == res.id_param), None)
    return candidate(
        op,
        title=f"{op.id}: `{verb}` of {_article(res.name)} starting within the cut-off is refused",
        rationale=f"The spec allows `{verb}` only up to a time before `{start.name}`; the check is easy to make against the wrong instant or to forget on one path.",
        category=Category.TEMPORAL_ORDERING,
        severity=Severity.HIGH,
        confidence=0.7,
        fields=[(res.create, start.path), (op, id_param or "")],
        steps=sc.steps,
    )


def _echo(res: Resource, start: Field) -> tuple[Operation | None, str]:
    """The start as the representation shows it: the claim is about the stored start against the clock."""
    op = res.get or res.create
    return op, f"response.{start.name}"
