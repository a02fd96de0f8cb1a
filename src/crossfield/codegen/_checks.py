"""The pure parts of checking a claim: JSON pointers, status bands, relations, and failure messages.

Kept free of HTTP so each rule can be tested on plain values, and so every failure of a generated test
reads the same way: what the hypothesis claimed, what was sent, and what came back.
"""

from __future__ import annotations

import json
import math
from collections.abc import Mapping, Sequence
from typing import Any, get_args

from crossfield.judgment.models import RelationOp

__all__ = [
    "MISSING",
    "CrossfieldFailure",
    "describe_allowed",
    "excerpt",
    "pointer_get",
    "relation_holds",
    "status_allowed",
]

# The operators the contract defines; the runtime must implement exactly these.
RELATION_OPS = frozenset(get_args(RelationOp))
_OP_WORDS = {
    "eq": "==",
    "ne": "!=",
    "lt": "<",
    "le": "<=",
    "gt": ">",
    "ge": ">=",
    "in": "in",
    "not_in": "not in",
    "len_eq": "has length ==",
    "len_ge": "has length >=",
    "len_le": "has length <=",
    "unique": "has no duplicates",
    "exists": "is present",
    "absent": "is absent",
}
EXCERPT_CHARS = 600


class _Missing:
    """The value at a JSON pointer that does not resolve."""

    def __repr__(self) -> str:
        return "<missing>"

    def __bool__(self) -> bool:
        return False


MISSING: Any = _Missing()


class CrossfieldFailure(AssertionError):
    """A generated test's claim did not hold. The message says what was claimed and what happened."""

    def __init__(self, message: str, *, drift: list[dict[str, Any]] | None = None) -> None:
        super().__init__(message)
        self.drift = drift or []


def pointer_get(document: Any, pointer: str) -> Any:
    """The value at RFC 6901 `pointer` in `document`, or `MISSING`. A missing leading `/` is tolerated, and
    a negative array index counts from the end (`/data/-1/id`: the last item's id)."""
    if pointer == "":
        return document
    if not pointer.startswith("/"):
        pointer = "/" + pointer
    node = document
    for raw in pointer[1:].split("/"):
        token = raw.replace("~1", "/").replace("~0", "~")
        if isinstance(node, Mapping):
            if token not in node:
                return MISSING
            node = node[token]
        elif isinstance(node, list):
            negative = token.startswith("-") and token[1:].isdigit() and token != "-0"
            if not (token.isdigit() or negative) or not -len(node) <= int(token) < len(node):
                return MISSING
            node = node[int(token)]
        else:
            return MISSING
    return node


def status_allowed(status: int, allowed: Sequence[int | str]) -> bool:
    """True when `status` is one of the codes, or in one of the bands (`"2xx"`), of `allowed`."""
    for item in allowed:
        if isinstance(item, int) and status == item:
            return True
        if (
            isinstance(item, str)
            and len(item) == 3
            and item[1:].lower() == "xx"
            and str(status)[0] == item[0]
        ):
            return True
        if isinstance(item, str) and item.isdigit() and status == int(item):
            return True
    return False


def describe_allowed(allowed: Sequence[int | str]) -> str:
    return " or ".join(str(a) for a in allowed) if allowed else "any status"


def relation_holds(actual: Any, op: str, against: Any = MISSING) -> tuple[bool, str]:
    """(holds, reason): whether `actual op against`, and if not, why in words."""
    if op not in RELATION_OPS:
        return False, f"unknown relation {op!r}"
    if op == "exists":
        return actual is not MISSING, "it is absent"
    if op == "absent":
        return actual is MISSING, f"it is present: {excerpt(actual, 200)}"
    if actual is MISSING:
        return False, "it is absent from the response"
    if op == "unique":
        if not isinstance(actual, list):
            return False, f"it is not a list: {excerpt(actual, 200)}"
        duplicates = _duplicates(actual)
        return not duplicates, f"these values repeat: {excerpt(duplicates, 300)}"
    if op in ("len_eq", "len_ge", "len_le"):
        if not isinstance(actual, list | str | Mapping):
            return False, f"it has no length: {excerpt(actual, 200)}"
        size = len(actual)
        holds = {"len_eq": size == against, "len_ge": size >= against, "len_le": size <= against}[op]
        return holds, f"its length is {size}"
    if op in ("in", "not_in"):
        if isinstance(against, list):
            found = any(_equal(actual, item) for item in against)
        elif isinstance(actual, list):
            found = any(_equal(item, against) for item in actual)
        elif isinstance(against, str) and isinstance(actual, str):
            found = actual in against
        else:
            return False, f"cannot test membership of {excerpt(actual, 100)} in {excerpt(against, 100)}"
        holds = found if op == "in" else not found
        return holds, f"it is {excerpt(actual, 200)}"
    if op in ("eq", "ne"):
        same = _equal(actual, against)
        return (same if op == "eq" else not same), f"it is {excerpt(actual, 200)}"
    comparable = (_is_number(actual) and _is_number(against)) or (
        isinstance(actual, str) and isinstance(against, str)
    )
    if not comparable:
        return False, f"cannot compare {excerpt(actual, 100)} with {excerpt(against, 100)}"
    holds = {
        "lt": actual < against,
        "le": actual <= against,
        "gt": actual > against,
        "ge": actual >= against,
    }[op]
    return holds, f"it is {excerpt(actual, 200)}"


def describe_relation(pointer: str, op: str, against: Any = MISSING) -> str:
    words = _OP_WORDS.get(op, op)
    if against is MISSING or op in ("unique", "exists", "absent"):
        return f"{pointer or '(body)'} {words}"
    return f"{pointer or '(body)'} {words} {excerpt(against, 200)}"


def excerpt(value: Any, limit: int = EXCERPT_CHARS) -> str:
    """A short, single-line JSON rendering of `value` for a failure message."""
    if value is MISSING:
        return "<missing>"
    if isinstance(value, str):
        text = json.dumps(value, ensure_ascii=False)
    else:
        try:
            text = json.dumps(value, ensure_ascii=False, sort_keys=False, default=repr)
        except (TypeError, ValueError):
            text = repr(value)
    text = " ".join(text.split())
    return text if len(text) <= limit else text[:limit] + f"... ({len(text) - limit} more characters)"


def _is_number(value: Any) -> bool:
    return isinstance(value, int | float) and not isinstance(value, bool)


def _equal(a: Any, b: Any) -> bool:
    if _is_number(a) and _is_number(b):
        if isinstance(a, float) or isinstance(b, float):
            return math.isclose(a, b, rel_tol=1e-9, abs_tol=1e-9)
        return bool(a == b)
    if isinstance(a, bool) or isinstance(b, bool):
        return type(a) is type(b) and a == b
    return bool(a == b)


def _duplicates(values: list[Any]) -> list[Any]:
    seen: list[str] = []
    repeated: list[Any] = []
    for value in values:
        key = json.dumps(value, sort_keys=True, default=repr)
        if key in seen and value not in repeated:
            repeated.append(value)
        seen.append(key)
    return repeated
