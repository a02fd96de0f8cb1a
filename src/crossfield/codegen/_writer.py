"""One hypothesis -> one pytest function, mechanically.

Each step becomes one statement (`api.call`, `api.repeat`, `api.concurrent` or `api.walk`), preceded by
its note as a comment; each capture becomes a variable named after it; each expectation one `expect_*`
line. Bodies are synthesized here, at compile time, and written as literals with captured values as
variable references, so the test shows exactly what it sends. Every piece of text from the hypothesis or
the spec reaches the source only through `_literals` (literals, escaped docstrings, one-line comments)
or `_names` (sanitized identifiers).
"""

from __future__ import annotations

import copy
import textwrap
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from typing import Any

from crossfield.codegen._literals import Call, Code, comment_text, doc_text, py_str, render, render_call
from crossfield.codegen._names import Namer, slug
from crossfield.codegen._redact import is_secret_header, is_secret_query_param
from crossfield.codegen.synth import Synthesizer, apply_overrides, split_path
from crossfield.errors import HypothesisError
from crossfield.judgment.grounding import body_field_path
from crossfield.judgment.models import (
    Body,
    CapturedValue,
    CollectionExpectation,
    ConformsExpectation,
    GroupExpectation,
    Hypothesis,
    LiteralValue,
    Pagination,
    RelationExpectation,
    RelativeTimeValue,
    RequestValue,
    SameResponseExpectation,
    StatusExpectation,
    Step,
    SynthesizedValue,
    UniqueValue,
    Value,
)
from crossfield.spec._fields import resolve_local
from crossfield.spec.model import Api, Operation

__all__ = ["RESERVED_NAMES", "TestWriter"]

# Names the generated module binds, which no variable of a test may shadow.
RESERVED_NAMES = frozenset({"api", "pytest", "float", "Paging", "ApiSession", "annotations"})
_BODY = "    "
_DOC_WIDTH = 96
_PAGING_DEFAULTS = Pagination(style="offset").model_dump()
_UNIQUE_FORMATS = frozenset({"uuid", "email"})


@dataclass(slots=True)
class _Scope:
    """Names and lines of the test function being written."""

    namer: Namer
    lines: list[str] = field(default_factory=list)
    steps: dict[str, str] = field(default_factory=dict)
    captures: dict[str, str] = field(default_factory=dict)
    uniques: dict[str, str] = field(default_factory=dict)
    needed_steps: set[str] = field(default_factory=set)
    walks: set[str] = field(default_factory=set)


class TestWriter:
    """Writes test functions for the hypotheses of one API, sharing one synthesizer (and its caches)."""

    __test__ = False  # not a pytest test class, whatever its name

    def __init__(self, api: Api, synthesizer: Synthesizer | None = None) -> None:
        self.api = api
        self.synth = synthesizer or Synthesizer(api.schema_defs)
        self.uses_paging = False

    def function(self, hyp: Hypothesis, name: str) -> str:
        """The decorated test function for `hyp`, named `name` (already a safe identifier)."""
        scope = _Scope(Namer(RESERVED_NAMES))
        scope.needed_steps = _referenced_steps(hyp.steps)
        for step in hyp.steps:
            self._step(step, scope)
        marks: list[tuple[str, Any]] = [("hypothesis", hyp.id), ("claim", hyp.title)]
        if _exhausts_quota(hyp):
            marks.append(("quota", True))
        decorator = render_call("@pytest.mark.crossfield", (), marks, indent=0)
        doc = _docstring(hyp)
        body = "\n".join(scope.lines) if scope.lines else f"{_BODY}pass"
        return f"{decorator}\ndef {name}(api: ApiSession) -> None:\n{doc}\n{body}\n"

    # ---- steps ------------------------------------------------------------------------------------

    def _step(self, step: Step, scope: _Scope) -> None:
        op = self.api.operation(step.operation)
        if op is None:
            raise HypothesisError([f"step {step.id!r}: unknown operation {step.operation!r}"])
        lines = scope.lines
        if lines:
            lines.append("")
        for text in textwrap.wrap(
            comment_text(step.note), _DOC_WIDTH - 2, break_long_words=False, break_on_hyphens=False
        ):
            lines.append(f"{_BODY}# {text}")
        self._declare_uniques(step, op, scope)
        kwargs: list[tuple[str, Any]] = [("step", step.id)]
        if step.identity != "default":
            kwargs.append(("identity", step.identity))
        kwargs.extend(self._params(step, op, scope))
        body = self._body(step, op, scope)
        if body is not None:
            kwargs.append(body)
        args: list[Any] = [op.method.upper(), op.path]
        if step.paginate is not None:
            self.uses_paging = True
            kwargs.insert(1, ("paging", _paging_call(step.paginate)))
            func = "api.walk"
            scope.walks.add(step.id)
        elif step.repeat > 1:
            func, args = "api.repeat", [step.repeat, *args]
        elif step.concurrent > 1:
            func, args = "api.concurrent", [step.concurrent, *args]
        else:
            func = "api.call"
        statuses = [e for e in step.expect if isinstance(e, StatusExpectation)]
        if statuses:  # the first status claim is checked by the call itself, before schema conformance
            kwargs.append(("expect", _status_kwarg(statuses[0].band, statuses[0].codes)))
        if step.setup and func == "api.call":
            kwargs.append(("setup", True))
        others = [e for e in step.expect if not isinstance(e, StatusExpectation)]
        needed = bool(others or statuses[1:] or step.captures) or step.id in scope.needed_steps
        var = scope.namer.name("step", step.id, fallback="step") if needed else ""
        scope.steps[step.id] = var
        prefix = f"{var} = " if var else ""
        lines.append(_BODY + render_call(func, args, kwargs, indent=4, prefix=prefix))
        for exp in statuses[1:]:
            lines.append(f"{_BODY}{var}.expect_status({_status_args(exp.band, exp.codes)})")
        for capture in step.captures:
            cap_var = scope.namer.name("capture", capture.name)
            scope.captures[capture.name] = cap_var
            method = "capture_header" if capture.source == "header" else "capture"
            lines.append(f"{_BODY}{cap_var} = {var}.{method}({py_str(capture.pointer)})")
        for other in others:
            lines.append(_BODY + self._expectation(other, var, step, op, scope))

    def _declare_uniques(self, step: Step, op: Operation, scope: _Scope) -> None:
        for value, schema in self._values_with_schemas(step, op):
            if value is None:
                continue
            if isinstance(value, UniqueValue) and value.name not in scope.uniques:
                var = scope.namer.name("unique", value.name)
                scope.uniques[value.name] = var
                resolved = resolve_local(schema, self.api.schema_defs) if isinstance(schema, Mapping) else {}
                fmt = resolved.get("format")
                kwargs: list[tuple[str, Any]] = [("format", fmt)] if fmt in _UNIQUE_FORMATS else []
                # A unique value must still be valid for its field: honour pattern and length.
                if isinstance(resolved.get("pattern"), str):
                    kwargs.append(("pattern", resolved["pattern"]))
                if isinstance(resolved.get("maxLength"), int):
                    kwargs.append(("max_length", resolved["maxLength"]))
                scope.lines.append(
                    _BODY + render_call("api.unique", [value.name], kwargs, indent=4, prefix=f"{var} = ")
                )

    def _values_with_schemas(self, step: Step, op: Operation) -> Iterator[tuple[Value | None, Any]]:
        for key, value in step.params.items():
            location, _, name = key.partition(".")
            param = op.parameter(location, name)
            yield value, (param.schema if param is not None else None)
        if step.body is not None:
            for path, override in step.body.overrides.items():
                found = op.field(body_field_path(path))
                yield override, (found.schema if found is not None else None)
        for exp in step.expect:
            if isinstance(exp, RelationExpectation) and exp.against is not None:
                yield exp.against, None
            elif isinstance(exp, CollectionExpectation):
                for item in [exp.value, *exp.ids]:
                    yield item, None

    def _params(self, step: Step, op: Operation, scope: _Scope) -> list[tuple[str, Any]]:
        tables: dict[str, dict[str, Any]] = {"path": {}, "query": {}, "header": {}, "cookie": {}}
        fresh: list[str] = []
        given: dict[tuple[str, str], Value] = {}
        for key, value in step.params.items():
            location, _, name = key.partition(".")
            declared = op.parameter(location, name)
            given[(location, declared.name if declared is not None else name)] = value
        for param in op.parameters:
            chosen = given.pop((param.location, param.name), None)
            if chosen is not None:
                tables[param.location][param.name] = self._expr(chosen, param.schema, scope)
            elif (
                param.required
                and param.location != "path"
                and not _credential_param(param.location, param.name)
            ):
                if param.location == "header" and "idempot" in param.name.lower():
                    if step.concurrent > 1:  # simultaneous *distinct* requests: one key each
                        fresh.append(param.name)
                    else:
                        tables["header"][param.name] = Code(f"api.unique({py_str(slug(param.name))})")
                else:
                    tables[param.location][param.name] = self.synth.value(param.schema)
        for (location, name), leftover in given.items():  # undeclared (grounding normally prevents it)
            if location in tables:
                tables[location][name] = self._expr(leftover, None, scope)
        names = {"path": "path", "query": "query", "header": "headers", "cookie": "cookies"}
        out: list[tuple[str, Any]] = [(names[loc], table) for loc, table in tables.items() if table]
        if fresh:
            out.append(("fresh_headers", fresh))
        return out

    def _body(self, step: Step, op: Operation, scope: _Scope) -> tuple[str, Any] | None:
        body = step.body
        schema = op.body_schema
        if body is None:
            if schema is None or not op.request_body_required:
                return None
            body = Body()
        if body.mode == "none":
            return None
        if body.mode == "literal":
            base: Any = body.value
        elif schema is None:
            base = {}
        else:
            base = self._example(op, schema) if not body.include_optional else None
            if base is None:
                base = self.synth.value(schema, include_optional=body.include_optional)
            else:
                _trim_example_lists(base, body.overrides)
        overrides = {}
        for path, value in body.overrides.items():
            found = op.field(body_field_path(path))
            overrides[path] = self._expr(value, found.schema if found is not None else None, scope)
        value = apply_overrides(base, overrides, body.omit, schema=schema, synthesizer=self.synth)
        media = (op.body_media_type or "application/json").split(";", 1)[0].strip().lower()
        kind = {"application/x-www-form-urlencoded": "form", "multipart/form-data": "multipart"}.get(
            media, "json"
        )
        return kind, value

    def _example(self, op: Operation, schema: Mapping[str, Any]) -> Any:
        """The spec's first request example that is valid for the body schema (a copy), else None: a
        vendor's example carries what schemas leave to prose (a price of at least 100, a country that
        exists), which synthesized values cannot know."""
        for example in op.body_examples:
            if isinstance(example, dict) and self.synth.is_valid_request(example, schema):
                return copy.deepcopy(example)
        return None

    # ---- values and expectations ------------------------------------------------------------------

    def _expr(self, value: Value, schema: Any, scope: _Scope) -> Any:
        if isinstance(value, LiteralValue):
            return value.value
        if isinstance(value, CapturedValue):
            var = scope.captures.get(value.name) or scope.namer.name("capture", value.name)
            if value.plus is None or value.plus == 0:
                return Code(var)
            amount = int(value.plus) if float(value.plus).is_integer() else value.plus
            sign = "+" if amount > 0 else "-"
            return Code(f"{var} {sign} {render(abs(amount))}")
        if isinstance(value, RequestValue):
            step_var = scope.steps.get(value.step) or scope.namer.name("step", value.step, fallback="step")
            return Code(f"{step_var}.sent({py_str(value.path)})")
        if isinstance(value, UniqueValue):
            return Code(scope.uniques.get(value.name) or f"api.unique({py_str(value.name)})")
        if isinstance(value, SynthesizedValue):
            return self.synth.value(schema) if schema is not None else "value"
        if isinstance(value, RelativeTimeValue):
            kwargs: list[tuple[str, Any]] = [("date_only", True)] if value.date_only else []
            if value.at is not None:
                kwargs.append(("at", value.at))
            if value.weekday:
                kwargs.append(("weekday", True))
            if value.lane_days:
                kwargs.append(("lane_days", value.lane_days))
            return Code(render_call("api.now", [value.seconds], kwargs, indent=4))
        raise TypeError(f"unknown value kind {type(value).__name__}")

    def _expectation(self, exp: object, var: str, step: Step, op: Operation, scope: _Scope) -> str:
        if isinstance(exp, ConformsExpectation):
            return f"{var}.expect_conforms()"
        if isinstance(exp, RelationExpectation):
            args: list[Any] = [exp.pointer, exp.op]
            if exp.against is not None and exp.op not in ("unique", "exists", "absent"):
                args.append(self._expr(exp.against, None, scope))
            return render_call(f"{var}.expect_relation", args, indent=4)
        if isinstance(exp, SameResponseExpectation):
            other = scope.steps.get(exp.step) or exp.step
            same_args: list[Any] = [Code(other)]
            if exp.pointers:
                same_args.append(list(exp.pointers))
            return render_call(f"{var}.expect_same_as", same_args, indent=4)
        if isinstance(exp, CollectionExpectation):
            return self._collection(exp, var, step, op, scope)
        if isinstance(exp, GroupExpectation):
            kwargs: list[tuple[str, Any]] = []
            if exp.min_count is not None:
                kwargs.append(("at_least", exp.min_count))
            if exp.max_count is not None:
                kwargs.append(("at_most", exp.max_count))
            return render_call(f"{var}.expect_count", _status_values(exp.band, exp.codes), kwargs, indent=4)
        raise TypeError(f"unknown expectation {type(exp).__name__}")

    def _collection(
        self, exp: CollectionExpectation, var: str, step: Step, op: Operation, scope: _Scope
    ) -> str:
        kwargs: list[tuple[str, Any]] = []
        if step.id not in scope.walks:
            items = exp.items_pointer if exp.items_pointer is not None else self._items_pointer(op)
            if items is not None:
                kwargs.append(("items", items))
        if exp.id_pointer != "/id" and exp.check in ("contains", "not_contains", "each_once"):
            kwargs.append(("id", exp.id_pointer))
        if exp.check in ("contains", "not_contains"):
            value = self._expr(exp.value, None, scope) if exp.value is not None else None
            return render_call(f"{var}.expect_{exp.check}", [value], kwargs, indent=4)
        if exp.check == "each_once":
            ids = [self._expr(v, None, scope) for v in exp.ids]
            return render_call(f"{var}.expect_each_once", [ids] if ids else [], kwargs, indent=4)
        if exp.check == "count_equals_total":
            return f"{var}.expect_count_equals_total()"
        baseline = scope.steps.get(exp.baseline_step or "") or "None"
        return render_call(f"{var}.expect_count_delta", [Code(baseline), exp.delta or 0], kwargs, indent=4)

    def _items_pointer(self, op: Operation) -> str | None:
        """Where a list response keeps its items: the body itself, or its (first) array property."""
        schema = op.success_schema
        if schema is None:
            return None
        resolved = self.synth.resolve(schema)
        if not isinstance(resolved, Mapping):
            return None
        if resolved.get("type") == "array":
            return ""
        props = resolved.get("properties")
        if not isinstance(props, Mapping):
            return None
        arrays = [name for name, sub in props.items() if _is_array(self.synth.resolve(sub))]
        for preferred in ("data", "items", "results"):
            if preferred in arrays:
                return "/" + preferred
        return "/" + arrays[0].replace("~", "~0").replace("/", "~1") if arrays else None


def _is_array(schema: Any) -> bool:
    return isinstance(schema, Mapping) and (schema.get("type") == "array" or "items" in schema)


def _credential_param(location: str, name: str) -> bool:
    """Parameters the identity supplies (Authorization, API keys): never synthesized over it."""
    if location in ("header", "cookie"):
        return is_secret_header(name)
    return location == "query" and is_secret_query_param(name)


def _referenced_steps(steps: list[Step]) -> set[str]:
    """Steps whose response a later step refers to (their request, response or item count)."""
    found: set[str] = set()
    for step in steps:
        values: list[Value] = list(step.params.values())
        if step.body is not None:
            values.extend(step.body.overrides.values())
        for exp in step.expect:
            if isinstance(exp, RelationExpectation) and exp.against is not None:
                values.append(exp.against)
            elif isinstance(exp, SameResponseExpectation):
                found.add(exp.step)
            elif isinstance(exp, CollectionExpectation):
                if exp.baseline_step:
                    found.add(exp.baseline_step)
                values.extend(v for v in [exp.value, *exp.ids] if v is not None)
        found.update(v.step for v in values if isinstance(v, RequestValue))
    return found


def _status_values(band: str | None, codes: list[int]) -> list[Any]:
    return [*([band] if band else []), *codes]


def _status_kwarg(band: str | None, codes: list[int]) -> Any:
    values = _status_values(band, codes)
    return values[0] if len(values) == 1 else values


def _status_args(band: str | None, codes: list[int]) -> str:
    return ", ".join(render(v) for v in _status_values(band, codes))


def _paging_call(pag: Pagination) -> Call:
    data = pag.model_dump()
    kwargs: list[tuple[str, Any]] = [("style", pag.style), ("page_size", pag.page_size)]
    for key, value in data.items():
        if key not in ("style", "page_size") and value != _PAGING_DEFAULTS.get(key):
            kwargs.append((key, value))
    return Call("Paging", tuple(kwargs))


def _docstring(hyp: Hypothesis) -> str:
    """The claim, why it is risky, and where it came from, escaped for a docstring."""
    pad = _BODY

    def wrap(text: str, indent: str = "") -> list[str]:
        return textwrap.wrap(
            text,
            _DOC_WIDTH - len(pad),
            initial_indent=indent,
            subsequent_indent=indent + ("  " if indent else ""),
            break_long_words=False,
            break_on_hyphens=False,
        ) or [indent.rstrip()]

    lines = wrap(doc_text(hyp.title))
    lines.append("")
    lines += wrap("Why: " + doc_text(hyp.rationale))
    lines.append("")
    kind = f" ({hyp.constraint_kind.value})" if hyp.constraint_kind is not None else ""
    lines.append(
        f"Category: {hyp.category.value}{kind}; severity {hyp.severity.value}; confidence {hyp.confidence:.2f}"
    )
    lines.append("Fields:")
    for ref in hyp.fields:
        lines += wrap(f"- {doc_text(ref.operation)} {doc_text(ref.path)}", "  ")
    if hyp.evidence:
        lines.append("Evidence:")
        for ev in hyp.evidence:
            text = f"- {doc_text(ev.pointer)}" + (f": {doc_text(ev.text)}" if ev.text else "")
            lines += wrap(text, "  ")
    if hyp.requirement_ids:
        lines += wrap("Requirements: " + ", ".join(doc_text(r) for r in hyp.requirement_ids))
    if hyp.change:
        lines += wrap("Spec change: " + doc_text(hyp.change))
    prov = hyp.provenance
    origin = [f"judge {doc_text(prov.judge)}"]
    if prov.model:
        origin.append(f"model {doc_text(prov.model)}")
    if prov.prompt_id:
        prompt = doc_text(prov.prompt_id) + (
            f" ({doc_text(prov.prompt_hash[:12])})" if prov.prompt_hash else ""
        )
        origin.append(f"prompt {prompt}")
    lines += wrap(f"Hypothesis {doc_text(hyp.id)}: " + ", ".join(origin))
    body = "\n".join(f"{pad}{line}" if line else "" for line in lines)
    return f'{pad}"""{body.lstrip()}\n{pad}"""'


def _exhausts_quota(hyp: Hypothesis) -> bool:
    """Whether a step of `hyp` is a burst that expects 429s: it uses up the caller's rate limit."""
    for step in hyp.steps:
        if step.repeat <= 1 and step.concurrent <= 1:
            continue
        for e in step.expect:
            if isinstance(e, StatusExpectation | GroupExpectation) and 429 in e.codes:
                return True
    return False


def _trim_example_lists(base: dict[str, Any], overrides: Mapping[str, Any]) -> None:
    """A list of the example that a hypothesis fills by index (`seatIds.0`, `lines.0.sku`) keeps only the
    elements the hypothesis sets: the example's other elements name objects of the vendor's example
    (seats someone else holds, products that do not exist), not of the scenario."""
    used: dict[str, int] = {}
    for path in overrides:
        parts = split_path(path)  # `seatIds.0` and `seatIds[0]` alike, as apply_overrides reads them
        if len(parts) >= 2 and parts[1].isdigit():
            used[parts[0]] = max(used.get(parts[0], 0), int(parts[1]) + 1)
    for name, keep in used.items():
        value = base.get(name)
        if isinstance(value, list):
            del value[keep:]
