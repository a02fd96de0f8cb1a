"""Rendering untrusted values as Python source that can only ever be data.

Every value that reaches a generated file from a hypothesis or a spec goes through here: JSON values
become literals built from `repr` (which escapes quotes, backslashes and every non-printable character,
including line separators, bidi overrides and NUL), text for docstrings has its backslashes and quotes
escaped, and text for comments loses anything that could end the line. The only source text that is not
a literal is `Code`, which the compiler builds from sanitized identifiers and rendered literals.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

__all__ = ["Call", "Code", "comment_text", "doc_text", "py_str", "render", "render_call"]

WIDTH = 100
_LINE_BREAKS = frozenset("\n\r\t\v\f\x1c\x1d\x1e\x85\u2028\u2029")


@dataclass(frozen=True, slots=True)
class Code:
    """A trusted Python expression (a variable, a runtime call) to embed inside a rendered literal."""

    text: str


@dataclass(frozen=True, slots=True)
class Call:
    """A call to a trusted callable (`Paging`) whose arguments are rendered like any other value."""

    func: str
    kwargs: tuple[tuple[str, Any], ...] = ()


def render(value: Any, *, indent: int = 0, column: int | None = None, width: int = WIDTH) -> str:
    """`value` as a Python expression starting at `column` of a line indented by `indent`: one line when
    it fits in `width`, else one item per line (indented from `indent`), with trailing commas."""
    flat = _flat(value)
    start = indent if column is None else column
    if isinstance(value, Call) and start + len(flat) > width:
        return render_call(value.func, (), value.kwargs, indent=indent, width=width)
    if start + len(flat) <= width or not _is_container(value) or not value:
        return flat
    pad, inner = " " * indent, " " * (indent + 4)
    if isinstance(value, Mapping):
        lines = []
        for key, item in value.items():
            head = f"{_flat(_key(key))}: "
            lines.append(
                f"{inner}{head}{render(item, indent=indent + 4, column=indent + 4 + len(head), width=width)},"
            )
        return "{\n" + "\n".join(lines) + f"\n{pad}}}"
    lines = [f"{inner}{render(v, indent=indent + 4, width=width)}," for v in value]
    return "[\n" + "\n".join(lines) + f"\n{pad}]"


def render_call(
    func: str,
    args: Sequence[Any] = (),
    kwargs: Sequence[tuple[str, Any]] = (),
    *,
    indent: int = 0,
    prefix: str = "",
    width: int = WIDTH,
) -> str:
    """`prefix + func(*args, **kwargs)` as source at `indent`: one line when it fits, else one argument
    per line. `func`, `prefix` and the keyword names must be trusted code; arguments are rendered."""
    parts = [_flat(a) for a in args] + [f"{k}={_flat(v)}" for k, v in kwargs]
    one = f"{prefix}{func}({', '.join(parts)})"
    if indent + len(one) <= width:
        return one
    inner = indent + 4
    lines = [f"{prefix}{func}("]
    lines += [f"{' ' * inner}{render(a, indent=inner, width=width)}," for a in args]
    for key, value in kwargs:
        lines.append(
            f"{' ' * inner}{key}={render(value, indent=inner, column=inner + len(key) + 1, width=width)},"
        )
    lines.append(" " * indent + ")")
    return "\n".join(lines)


def _flat(value: Any) -> str:
    if isinstance(value, Code):
        return value.text
    if isinstance(value, Call):
        return f"{value.func}(" + ", ".join(f"{k}={_flat(v)}" for k, v in value.kwargs) + ")"
    if value is None or isinstance(value, bool):
        return repr(value)
    if isinstance(value, int):
        return repr(int(value))
    if isinstance(value, float):
        if math.isnan(value):
            return 'float("nan")'
        if math.isinf(value):
            return 'float("inf")' if value > 0 else '-float("inf")'
        return repr(float(value))
    if isinstance(value, str):
        return py_str(value)
    if isinstance(value, Mapping):
        return "{" + ", ".join(f"{_flat(_key(k))}: {_flat(v)}" for k, v in value.items()) + "}"
    if isinstance(value, Sequence):
        return "[" + ", ".join(_flat(v) for v in value) + "]"
    raise TypeError(f"cannot render a {type(value).__name__} as a literal")


def py_str(text: str) -> str:
    """`repr(text)`, in double quotes when that needs no extra escaping (the way people write Python)."""
    literal = repr(str(text))
    if literal[0] == "'" and '"' not in text:
        # repr chose single quotes, so `text` has no single quote either: the escapes inside are the same.
        return '"' + literal[1:-1] + '"'
    return literal


def _key(key: Any) -> Any:
    if isinstance(key, str | int | float | bool) or key is None:
        return key
    raise TypeError(f"cannot render a {type(key).__name__} dict key")


def _is_container(value: Any) -> bool:
    return isinstance(value, Mapping) or (isinstance(value, Sequence) and not isinstance(value, str))


def _escape_char(ch: str) -> str:
    code = ord(ch)
    if code < 0x100:
        return f"\\x{code:02x}"
    if code < 0x10000:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def doc_text(text: str) -> str:
    """`text` for a line of a (non-raw, triple-double-quoted) docstring.

    Backslashes and double quotes are escaped, so nothing can end the string early or form an escape
    sequence of its own; line breaks of every kind become spaces; other invisible or non-printable
    characters become visible escapes. The docstring's value reads as the original text, minus line breaks.
    """
    if text.isprintable():  # the common case: no line break and nothing invisible
        escaped = text.replace("\\", "\\\\").replace('"', '\\"')
        return " ".join(part for part in escaped.split(" ") if part)
    out: list[str] = []
    for ch in text:
        if ch == "\\":
            out.append("\\\\")
        elif ch == '"':
            out.append('\\"')
        elif ch in _LINE_BREAKS:
            out.append(" ")
        elif not ch.isprintable():
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return " ".join(part for part in "".join(out).split(" ") if part)


def comment_text(text: str) -> str:
    """`text` for a `#` comment: one line, with invisible and non-printable characters shown as escapes."""
    if text.isprintable():
        return " ".join(part for part in text.split(" ") if part)
    out: list[str] = []
    for ch in text:
        if ch in _LINE_BREAKS:
            out.append(" ")
        elif not ch.isprintable():
            out.append(_escape_char(ch))
        else:
            out.append(ch)
    return " ".join(part for part in "".join(out).split(" ") if part)
