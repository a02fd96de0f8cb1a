"""The spec's response schemas, as the generated suite carries them (`crossfield_schemas.json`).

The compiler writes the schemas the tests need into a data file, never into code; at run time every
response is checked against the schema documented for its status. A mismatch is schema drift and is
reported as a structured diff: the JSON pointer, the schema fragment that failed, and the actual value.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import jsonschema

from crossfield.codegen._checks import excerpt

__all__ = ["SCHEMAS_FILE_NAME", "SCHEMAS_FORMAT", "Drift", "SpecBook", "Verdict"]

SCHEMAS_FILE_NAME = "crossfield_schemas.json"
SCHEMAS_FORMAT = "crossfield.schemas/1"
_MAX_DRIFTS = 5


@dataclass(frozen=True, slots=True)
class Drift:
    """One place where a response disagrees with its schema."""

    pointer: str
    expected: Any
    actual: Any
    message: str

    def to_dict(self) -> dict[str, Any]:
        return {
            "pointer": self.pointer,
            "expected": self.expected,
            "actual": self.actual,
            "message": self.message,
        }

    def describe(self) -> str:
        return (
            f"  at {self.pointer or '/'}: {self.message}\n"
            f"    expected (schema): {excerpt(self.expected, 300)}\n"
            f"    actual:            {excerpt(self.actual, 300)}"
        )


@dataclass(frozen=True, slots=True)
class Verdict:
    """What the spec says about one response: documented or not, and any drift from its schema."""

    documented: bool
    status_key: str | None = None
    drifts: tuple[Drift, ...] = ()
    note: str | None = None


@dataclass(slots=True)
class _Operation:
    id: str
    method: str
    path: str
    responses: Mapping[str, Any] | None


@dataclass(slots=True)
class SpecBook:
    """Operations (method + path template) and their documented response schemas."""

    operations: dict[str, _Operation]
    defs: Mapping[str, Any]
    api_title: str = ""
    _by_route: dict[tuple[str, str], _Operation] = field(default_factory=dict)
    _validators: dict[tuple[str, str], Any] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_route = {(op.method.upper(), op.path): op for op in self.operations.values()}

    @classmethod
    def load(cls, path: str | Path) -> SpecBook:
        file = Path(path)
        data = json.loads(file.read_text(encoding="utf-8"))
        return cls.from_data(data, source=str(file))

    @classmethod
    def from_data(cls, data: Mapping[str, Any], *, source: str = "<schemas>") -> SpecBook:
        if data.get("format") != SCHEMAS_FORMAT:
            raise ValueError(f"{source}: not a crossfield schemas file (format {data.get('format')!r})")
        ops = {
            op_id: _Operation(op_id, str(raw["method"]), str(raw["path"]), raw.get("responses"))
            for op_id, raw in data.get("operations", {}).items()
        }
        return cls(
            operations=ops, defs=data.get("$defs", {}), api_title=str(data.get("api", {}).get("title", ""))
        )

    def route(self, operation_id: str) -> tuple[str, str] | None:
        """(method, path template) of an operationId, for identities that log in through the API."""
        op = self.operations.get(operation_id)
        return (op.method.upper(), op.path) if op is not None else None

    def check(
        self, method: str, template: str, status: int, body: Any, *, has_body: bool, is_json: bool
    ) -> Verdict:
        """Check one response against the schema documented for `status` (exact, `2XX`, then `default`)."""
        op = self._by_route.get((method.upper(), template))
        if op is None or op.responses is None:
            return Verdict(documented=True)  # not an operation the suite checks (a followed link, say)
        key = _status_key(op.responses, status)
        if key is None:
            documented = ", ".join(sorted(op.responses)) or "none"
            return Verdict(
                documented=False,
                note=f"{method.upper()} {template} returned {status}, which the spec does not document (documented: {documented})",
            )
        schema = op.responses[key]
        if schema is None or status in (204, 304) or method.upper() == "HEAD":
            return Verdict(documented=True, status_key=key)
        if not has_body:
            drift = Drift("", schema, None, "the spec documents a JSON body, but the response has none")
            return Verdict(documented=True, status_key=key, drifts=(drift,))
        if not is_json:
            drift = Drift("", schema, None, "the spec documents a JSON body, but the response is not JSON")
            return Verdict(documented=True, status_key=key, drifts=(drift,))
        validator = self._validator(op, key, schema)
        errors = sorted(validator.iter_errors(body), key=jsonschema.exceptions.relevance)
        drifts = tuple(_drift(error) for error in errors[:_MAX_DRIFTS])
        return Verdict(documented=True, status_key=key, drifts=drifts)

    def _validator(self, op: _Operation, key: str, schema: Mapping[str, Any]) -> Any:
        cache_key = (op.id, key)
        validator = self._validators.get(cache_key)
        if validator is None:
            root = (
                {**schema, "$defs": {**self.defs, **(schema.get("$defs") or {})}}
                if isinstance(schema, Mapping)
                else schema
            )
            validator = jsonschema.Draft202012Validator(root)
            self._validators[cache_key] = validator
        return validator


def _status_key(responses: Mapping[str, Any], status: int) -> str | None:
    exact = str(status)
    if exact in responses:
        return exact
    for key in responses:
        if key.upper() == f"{exact[0]}XX":
            return key
    return "default" if "default" in responses else None


def _drift(error: Any) -> Drift:
    pointer = "".join("/" + str(p).replace("~", "~0").replace("/", "~1") for p in error.absolute_path)
    fragment = (
        error.schema if isinstance(error.schema, Mapping | bool) else {error.validator: error.validator_value}
    )
    if isinstance(fragment, Mapping):
        fragment = {k: v for k, v in fragment.items() if k != "$defs"}
    return Drift(pointer=pointer, expected=fragment, actual=error.instance, message=str(error.message))
