"""Reading spec files: bytes to a JSON-like tree, with errors that carry a line number.

The fast path parses JSON with `json` and YAML by building the tree straight from libyaml's events
(`_yaml`), with PyYAML's loader as the fallback for what that does not handle. Line numbers for
errors found *after* parsing are recovered on demand by composing the YAML node tree, which only happens
when something is already wrong, so the happy path never pays for it.
"""

from __future__ import annotations

import hashlib
import json
import re
from pathlib import Path
from typing import Any

import yaml

from crossfield.errors import SpecFileNotFoundError, SpecParseError
from crossfield.spec._yaml import Unsupported as UnsupportedYaml
from crossfield.spec._yaml import load as fast_yaml_load

# The C loader is 5-10x faster; fall back when libyaml is missing.
_Loader: type[yaml.SafeLoader] = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


class _NoDatesLoader(_Loader):  # type: ignore[valid-type,misc,unused-ignore]
    """The fallback loader (see `_yaml` for the fast one). YAML 1.1's timestamp tag turns `2024-01-01`
    into a `date`, which is not a JSON value, and its booleans include `yes`/`no`/`on`/`off`: keep both as
    strings, as YAML 1.2 (the version OpenAPI uses) does."""


_NoDatesLoader.yaml_implicit_resolvers = {
    key: [
        (tag, regexp)
        for tag, regexp in resolvers
        if tag not in ("tag:yaml.org,2002:timestamp", "tag:yaml.org,2002:bool")
    ]
    for key, resolvers in _Loader.yaml_implicit_resolvers.items()
}
_NoDatesLoader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)


def read_bytes(path: Path) -> bytes:
    try:
        return path.read_bytes()
    except FileNotFoundError:
        raise SpecFileNotFoundError(
            "file not found",
            file=str(path),
            hint="check the path; relative paths are resolved from the current directory",
        ) from None
    except IsADirectoryError:
        raise SpecFileNotFoundError("is a directory, not a spec file", file=str(path)) from None
    except OSError as exc:
        raise SpecFileNotFoundError(f"cannot read file: {exc.strerror}", file=str(path)) from None


def content_hash(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def parse_document(data: bytes, file: str) -> Any:
    """Parse JSON or YAML. JSON is tried first when the text looks like JSON (it is a YAML subset, but the
    json module is an order of magnitude faster on large files)."""
    try:
        text = data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise SpecParseError(
            f"not a text file (invalid UTF-8 at byte {exc.start})",
            file=file,
            hint="API descriptions are YAML or JSON text",
        ) from None
    stripped = text.lstrip()
    if stripped[:1] in ("{", "["):
        try:
            return json.loads(text)
        except json.JSONDecodeError as exc:
            if file.endswith(".json"):
                raise SpecParseError(f"invalid JSON: {exc.msg}", file=file, line=exc.lineno) from None
    try:
        try:
            return fast_yaml_load(data)
        except UnsupportedYaml:
            return yaml.load(text, Loader=_NoDatesLoader)
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark or exc.context_mark
        line = mark.line + 1 if mark is not None else None
        problem = exc.problem or exc.context or "syntax error"
        raise SpecParseError(f"not valid YAML or JSON: {problem}", file=file, line=line) from None
    except yaml.YAMLError as exc:
        raise SpecParseError(f"not valid YAML or JSON: {exc}", file=file) from None


_composed: dict[tuple[str, int, int], Any] = {}


def _compose(path: Path) -> Any:
    """The YAML node tree of a file (which carries line numbers), cached while the file is unchanged:
    a spec with many broken references composes once, not once per error."""
    st = path.stat()
    key = (str(path), st.st_size, st.st_mtime_ns)
    if key not in _composed:
        if len(_composed) > 8:
            _composed.clear()
        _composed[key] = yaml.compose(path.read_text(encoding="utf-8-sig"), Loader=_Loader)
    return _composed[key]


def line_of(path: Path, pointer: str) -> int | None:
    """The 1-based line of the node at `pointer` in a YAML/JSON file, or None. Slow; for error reports only."""
    try:
        node = _compose(path)
    except Exception:
        return None
    if node is None:
        return None
    for token in split_pointer(pointer):
        if isinstance(node, yaml.MappingNode):
            for key, value in node.value:
                if getattr(key, "value", None) == token:
                    node = value
                    break
            else:
                return int(node.start_mark.line) + 1
        elif isinstance(node, yaml.SequenceNode) and token.isdigit() and int(token) < len(node.value):
            node = node.value[int(token)]
        else:
            return int(node.start_mark.line) + 1
    return int(node.start_mark.line) + 1


def split_pointer(pointer: str) -> list[str]:
    if pointer in ("", "#", "/", "#/"):
        return []
    pointer = pointer.lstrip("#")
    return [p.replace("~1", "/").replace("~0", "~") for p in pointer.lstrip("/").split("/")]


def escape_token(token: str) -> str:
    return token.replace("~", "~0").replace("/", "~1")


def join_pointer(base: str, *tokens: str | int) -> str:
    return base + "".join("/" + escape_token(str(t)) for t in tokens)
