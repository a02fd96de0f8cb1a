"""Grounding: checking a hypothesis against the spec model.

A hypothesis that names an operation or a field the spec does not have, claims a value is valid when its
own schema says otherwise, or uses a captured value no earlier step provides, cannot compile into an
honest test. Each problem is phrased so it can be sent back to an LLM as a correction.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from typing import Any

import referencing.exceptions

from crossfield.errors import HypothesisError
from crossfield.judgment.models import (
    Body,
    CapturedValue,
    CollectionExpectation,
    GroupExpectation,
    HypothesisDraft,
    LiteralValue,
    RelationExpectation,
    RelativeTimeValue,
    RequestValue,
    SameResponseExpectation,
    StatusExpectation,
    Step,
    Value,
)
from crossfield.spec._fields import resolve_local
from crossfield.spec.model import Api, Operation

_PARAM_PREFIXES = ("path.", "query.", "header.", "cookie.")
_INDEX = re.compile(r"\.(\d+)(?=\.|$)")


def body_field_path(dotted: str) -> str:
    """`items.0.price` (a path inside a body) -> `body.items[].price` (a spec-model field path)."""
    return "body." + _INDEX.sub("[]", dotted.strip("."))


def _array_items(op: Operation, field_path: str, api: Api) -> Mapping[str, Any] | None:
    """The item schema when `field_path` names an element of an array of plain values
    (`body.seatIds[]`, which has no field of its own)."""
    if not field_path.endswith("[]"):
        return None
    array = op.field(field_path[:-2])
    if array is None or array.type != "array":
        return None
    items = resolve_local(array.schema, api.schema_defs).get("items")
    return items if isinstance(items, Mapping) else None


def expects_success(step: Step) -> bool:
    """True when the step claims its request is valid: it expects 2xx and never 4xx."""
    bands = [e for e in step.expect if isinstance(e, StatusExpectation)]
    if not bands:
        return False
    return all(e.band == "2xx" or (e.codes and all(200 <= c < 300 for c in e.codes)) for e in bands)


def grounding_problems(draft: HypothesisDraft, api: Api) -> list[str]:
    """Every way `draft` disagrees with `api`; empty when it is grounded."""
    problems: list[str] = []
    known_ops = ", ".join(sorted(op.id for op in api.operations)[:40])
    for ref in draft.fields:
        op = api.operation(ref.operation)
        if op is None:
            problems.append(
                f"fields: unknown operation {ref.operation!r}; known operations include: {known_ops}"
            )
        elif op.field(ref.path) is None:
            problems.append(
                f"fields: operation {ref.operation!r} has no field {ref.path!r}; its fields include: "
                + _field_list(op)
            )
    captured: set[str] = set()
    step_ids: list[str] = []
    for index, step in enumerate(draft.steps):
        where = f"steps[{index}] ({step.id})"
        op = api.operation(step.operation)
        if op is None:
            problems.append(
                f"{where}: unknown operation {step.operation!r}; known operations include: {known_ops}"
            )
            step_ids.append(step.id)
            for cap in step.captures:
                captured.add(cap.name)
            continue
        problems.extend(_check_params(step, op, api, where, captured, step_ids))
        if step.body is not None:
            problems.extend(_check_body(step.body, op, api, where, captured, step_ids, step))
        problems.extend(_check_pagination(step, op, where))
        own_captures = captured | {c.name for c in step.captures}
        for e_index, exp in enumerate(step.expect):
            e_where = f"{where}.expect[{e_index}]"
            problems.extend(_check_expectation(exp, step, e_where, own_captures, [*step_ids, step.id]))
        step_ids.append(step.id)
        captured = own_captures
    return problems


def ground(draft: HypothesisDraft, api: Api) -> None:
    """Raise `HypothesisError` listing every problem, or return when `draft` is grounded."""
    problems = grounding_problems(draft, api)
    if problems:
        raise HypothesisError(problems)


def _field_list(op: Operation) -> str:
    names = [f.path for f in op.fields if f.location != "response"][:30]
    return ", ".join(names) if names else "(none)"


def _check_value(value: Value, where: str, captured: set[str], earlier_steps: list[str]) -> list[str]:
    if isinstance(value, CapturedValue) and value.name not in captured:
        available = ", ".join(sorted(captured)) or "none so far"
        return [
            f"{where}: captured value {value.name!r} is not captured by an earlier step (available: {available})"
        ]
    if isinstance(value, RequestValue) and value.step not in earlier_steps:
        return [
            f"{where}: refers to the request of step {value.step!r}, which does not run before this point"
        ]
    return []


def _check_params(
    step: Step, op: Operation, api: Api, where: str, captured: set[str], earlier: list[str]
) -> list[str]:
    problems: list[str] = []
    success = expects_success(step)
    for key, value in step.params.items():
        if not key.startswith(_PARAM_PREFIXES):
            problems.append(
                f"{where}: parameter key {key!r} must start with path., query., header. or cookie. (body fields go in 'body')"
            )
            continue
        location, _, name = key.partition(".")
        param = op.parameter(location, name)
        if param is None:
            declared = ", ".join(p.field_path for p in op.parameters) or "none"
            problems.append(
                f"{where}: operation {op.id!r} has no {location} parameter {name!r} (declared: {declared})"
            )
            continue
        problems.extend(_check_value(value, f"{where}.params[{key!r}]", captured, earlier))
        problems.extend(_check_time(value, param.schema, api, f"{where}.params[{key!r}]"))
        if success and isinstance(value, LiteralValue):
            problems.extend(_check_literal(value.value, param.schema, api, f"{where}.params[{key!r}]"))
    for param in op.parameters_in("path"):
        if param.field_path not in step.params:
            problems.append(
                f"{where}: operation {op.id!r} needs path parameter {param.field_path!r}; give it a value "
                "(usually a captured id from an earlier step)"
            )
    return problems


def _check_body(
    body: Body, op: Operation, api: Api, where: str, captured: set[str], earlier: list[str], step: Step
) -> list[str]:
    if body.mode == "none":
        return []
    problems: list[str] = []
    schema = op.body_schema
    if schema is None:
        return [f"{where}: operation {op.id!r} takes no request body; remove 'body' or set mode 'none'"]
    success = expects_success(step)
    if body.mode == "literal" and success:
        problems.extend(_check_literal(body.value, schema, api, f"{where}.body.value"))
    for path, value in body.overrides.items():
        field_path = body_field_path(path)
        field = op.field(field_path)
        schema_of_value = field.schema if field is not None else _array_items(op, field_path, api)
        if schema_of_value is None:
            problems.append(
                f"{where}.body.overrides[{path!r}]: operation {op.id!r} has no body field {field_path!r}; "
                f"its fields include: {_field_list(op)}"
            )
            continue
        problems.extend(_check_value(value, f"{where}.body.overrides[{path!r}]", captured, earlier))
        problems.extend(_check_time(value, schema_of_value, api, f"{where}.body.overrides[{path!r}]"))
        if success and isinstance(value, LiteralValue):
            problems.extend(
                _check_literal(value.value, schema_of_value, api, f"{where}.body.overrides[{path!r}]")
            )
    for path in body.omit:
        if op.field(body_field_path(path)) is None:
            problems.append(
                f"{where}.body.omit: operation {op.id!r} has no body field {body_field_path(path)!r}"
            )
    return problems


def _check_time(value: Value, schema: Mapping[str, Any], api: Api, where: str) -> list[str]:
    """A relative time goes only where a date or date-time string does."""
    if not isinstance(value, RelativeTimeValue):
        return []
    resolved = resolve_local(schema, api.schema_defs)
    kind, fmt = resolved.get("type"), resolved.get("format")
    if kind not in (None, "string") and not (isinstance(kind, list) and "string" in kind):
        return [f"{where}: a relative_time value needs a string field (this one is {kind})"]
    if fmt == "date" and not value.date_only:
        return [f"{where}: the field is a date; set date_only to true"]
    if fmt not in (None, "date", "date-time"):
        return [f"{where}: a relative_time value needs a date or date-time field (format is {fmt})"]
    return []


def _check_literal(value: Any, schema: Mapping[str, Any], api: Api, where: str) -> list[str]:
    import jsonschema  # imported here: it costs ~0.3 s and only literal checks need it

    full = api.standalone_schema(schema)
    try:
        validator = jsonschema.Draft202012Validator(full)
        error = jsonschema.exceptions.best_match(validator.iter_errors(value))
    except (jsonschema.exceptions.SchemaError, referencing.exceptions.Unresolvable, KeyError):
        return []
    if error is None:
        return []
    return [
        f"{where}: value {value!r} is invalid for its own schema ({error.message}) although the step expects "
        "success; use a valid value, or expect 4xx if the point is that it must be rejected"
    ]


def _check_pagination(step: Step, op: Operation, where: str) -> list[str]:
    pag = step.paginate
    if pag is None:
        return []
    problems = []
    for attr in ("size_param", "offset_param", "page_param", "cursor_param"):
        path = getattr(pag, attr)
        if path is not None and op.field(path) is None:
            problems.append(f"{where}.paginate.{attr}: operation {op.id!r} has no parameter {path!r}")
    needed = {
        "offset": "offset_param",
        "page": "page_param",
        "cursor": "cursor_param",
        "link": "next_pointer",
    }
    attr = needed[pag.style]
    if getattr(pag, attr) is None:
        problems.append(f"{where}.paginate: style {pag.style!r} needs {attr}")
    return problems


def _check_expectation(
    exp: object, step: Step, where: str, captured: set[str], steps_so_far: list[str]
) -> list[str]:
    problems: list[str] = []
    earlier = steps_so_far[:-1]
    if isinstance(exp, RelationExpectation):
        if exp.against is None and exp.op not in ("unique", "exists", "absent"):
            problems.append(f"{where}: relation {exp.op!r} needs 'against'")
        if exp.against is not None:
            problems.extend(_check_value(exp.against, where, captured, steps_so_far))
    elif isinstance(exp, SameResponseExpectation):
        if exp.step not in earlier:
            problems.append(
                f"{where}: same_response refers to step {exp.step!r}, which does not run before this one"
            )
    elif isinstance(exp, CollectionExpectation):
        if exp.check in ("contains", "not_contains") and exp.value is None:
            problems.append(f"{where}: collection check {exp.check!r} needs 'value' (usually a captured id)")
        if exp.check == "count_delta" and (exp.baseline_step not in earlier or exp.delta is None):
            problems.append(f"{where}: count_delta needs 'baseline_step' (an earlier list step) and 'delta'")
        if exp.check == "count_equals_total" and (
            step.paginate is None or step.paginate.total_pointer is None
        ):
            problems.append(f"{where}: count_equals_total needs a page walk with 'total_pointer'")
        for value in [exp.value, *exp.ids]:
            if value is not None:
                problems.extend(_check_value(value, where, captured, steps_so_far))
    elif isinstance(exp, GroupExpectation) and not step.is_group:
        problems.append(f"{where}: a group expectation needs a step with repeat > 1 or concurrent > 1")
    return problems


def dedupe(drafts: Iterable[HypothesisDraft]) -> list[HypothesisDraft]:
    """Merge duplicates (same category and field set), keeping the highest-scoring one."""
    best: dict[tuple[str, frozenset[tuple[str, str]]], HypothesisDraft] = {}
    order: list[tuple[str, frozenset[tuple[str, str]]]] = []
    for d in drafts:
        key = d.field_key
        if key not in best:
            order.append(key)
            best[key] = d
        elif d.score > best[key].score:
            best[key] = d
    return [best[k] for k in order]
