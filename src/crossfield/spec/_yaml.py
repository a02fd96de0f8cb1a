"""A fast YAML to JSON-tree loader on top of libyaml's event stream.

PyYAML's C loader still builds a node graph and constructs Python objects from it in Python, which
costs four times the parse itself on a large spec (Stripe's 4 MB file: ~0.35 s of events, ~1.9 s for
`yaml.load`). Building dicts and lists straight from the events skips the node graph. Scalars are
resolved with the YAML 1.2 core schema (numbers as JSON writes them), which is what OpenAPI documents are written in: only
`true`/`false` are booleans (a parameter named `on` or an enum value `no` stays a string), timestamps stay
strings, and mapping keys are always strings as written (`200:` is the key "200", as in JSON).

Anything this loader does not handle (custom tags, complex keys, a missing libyaml) raises
`Unsupported`, and the caller falls back to PyYAML's own loader, which also produces the error messages
with line numbers for malformed input.
"""

from __future__ import annotations

import math
import re
from typing import Any

from yaml import events

try:  # the C parser's events are `yaml.events` classes
    from yaml import _yaml as _cyaml

    _CParser: Any = getattr(_cyaml, "CParser", None)
except ImportError:  # pragma: no cover - depends on the PyYAML build
    _CParser = None


class Unsupported(Exception):
    """The document uses something this loader leaves to PyYAML."""


_INT = re.compile(r"[-+]?(?:0|[1-9][0-9]*)")  # `0123` (an id, a zip code) stays a string
_OCT = re.compile(r"0o[0-7]+")
_HEX = re.compile(r"0x[0-9a-fA-F]+")
_FLOAT = re.compile(r"[-+]?(?:\.[0-9]+|(?:0|[1-9][0-9]*)(?:\.[0-9]*)?)(?:[eE][-+]?[0-9]+)?")
_SPECIAL: dict[str, Any] = {
    "": None,
    "~": None,
    "null": None,
    "Null": None,
    "NULL": None,
    "true": True,
    "True": True,
    "TRUE": True,
    "false": False,
    "False": False,
    "FALSE": False,
    ".inf": math.inf,
    ".Inf": math.inf,
    ".INF": math.inf,
    "+.inf": math.inf,
    "+.Inf": math.inf,
    "+.INF": math.inf,
    "-.inf": -math.inf,
    "-.Inf": -math.inf,
    "-.INF": -math.inf,
    ".nan": math.nan,
    ".NaN": math.nan,
    ".NAN": math.nan,
}
# A plain scalar can only be something other than a string if it starts with one of these.
_MAYBE_NOT_STR = frozenset("0123456789-+.~ntfNTF")

_STR_TAG = "tag:yaml.org,2002:str"
_TAG_CONVERT: dict[str, Any] = {
    "tag:yaml.org,2002:str": str,
    "tag:yaml.org,2002:int": lambda v: int(v.replace("_", ""), 0),
    "tag:yaml.org,2002:float": float,
    "tag:yaml.org,2002:bool": lambda v: _SPECIAL.get(v, bool(v)),
    "tag:yaml.org,2002:null": lambda v: None,
}


def _plain(value: str) -> Any:
    """The value of a plain (unquoted) scalar under the YAML 1.2 core schema."""
    if not value or value[0] not in _MAYBE_NOT_STR:
        return value
    if value in _SPECIAL:
        return _SPECIAL[value]
    if _INT.fullmatch(value):
        return int(value)
    if _FLOAT.fullmatch(value):
        return float(value)
    if _OCT.fullmatch(value):
        return int(value[2:], 8)
    if _HEX.fullmatch(value):
        return int(value[2:], 16)
    return value


def load(data: bytes | str) -> Any:
    """Parse one YAML document into dicts, lists and scalars. Raises `yaml.YAMLError` for malformed
    input and `Unsupported` for valid YAML that needs PyYAML's full constructor."""
    if _CParser is None:
        raise Unsupported("libyaml is not available")
    parser = _CParser(data)
    try:
        return _build(parser)
    finally:
        parser.dispose()


def _build(parser: Any) -> Any:
    get = parser.get_event
    scalar_event = events.ScalarEvent
    alias_event = events.AliasEvent
    map_start = events.MappingStartEvent
    seq_start = events.SequenceStartEvent
    map_end = events.MappingEndEvent
    seq_end = events.SequenceEndEvent
    doc_end = events.DocumentEndEvent
    stream_end = events.StreamEndEvent
    plain_cache: dict[str, Any] = {}
    anchors: dict[str, Any] = {}
    # The stack holds (container, pending key or _NO_KEY, merges) for each open collection.
    stack: list[list[Any]] = []
    root: Any = None
    documents = 0
    no_key = _NO_KEY

    while True:
        event = get()
        cls = type(event)
        if cls is scalar_event:
            tag = event.tag
            if tag is None or tag == "!":
                if event.implicit[0]:
                    raw = event.value
                    value = plain_cache.get(raw, no_key)
                    if value is no_key:
                        value = plain_cache[raw] = _plain(raw)
                else:
                    value = event.value
            else:
                convert = _TAG_CONVERT.get(tag)
                if convert is None:
                    raise Unsupported(f"tag {tag}")
                try:
                    value = convert(event.value)
                except ValueError as exc:
                    raise Unsupported(f"bad {tag} value") from exc
            if event.anchor is not None:
                anchors[event.anchor] = value
            is_container = False
        elif cls is map_start or cls is seq_start:
            if event.tag is not None and event.tag not in (
                "!",
                "tag:yaml.org,2002:map",
                "tag:yaml.org,2002:seq",
            ):
                raise Unsupported(f"tag {event.tag}")
            value = {} if cls is map_start else []
            if event.anchor is not None:
                anchors[event.anchor] = value
            is_container = True
        elif cls is alias_event:
            try:
                value = anchors[event.anchor]
            except KeyError:
                raise Unsupported(f"unknown alias {event.anchor}") from None
            is_container = False
        elif cls is map_end or cls is seq_end:
            frame = stack.pop()
            if frame[2]:
                _merge(frame[0], frame[2])
            if not stack:
                root = frame[0]
            continue
        elif cls is doc_end:
            documents += 1
            if documents > 1:
                raise Unsupported("more than one document")
            continue
        elif cls is stream_end:
            return root
        else:  # stream/document start
            continue

        if stack:
            frame = stack[-1]
            container = frame[0]
            if type(container) is list:
                container.append(value)
            elif frame[1] is no_key:  # a key
                if is_container or (cls is alias_event and type(value) in (dict, list)):
                    raise Unsupported("complex mapping key")
                if cls is scalar_event and type(value) is not str:
                    value = event.value
                frame[1] = value
                if is_container:  # pragma: no cover - rejected above
                    stack.append([value, no_key, None])
                continue
            else:
                key = frame[1]
                frame[1] = no_key
                if key == "<<" and (cls is alias_event or is_container):
                    if frame[2] is None:
                        frame[2] = []
                    frame[2].append(value)
                else:
                    container[key] = value
        elif not is_container:
            root = value
        if is_container:
            stack.append([value, no_key, None])


class _NoKey:
    pass


_NO_KEY: Any = _NoKey()


def _merge(target: dict[str, Any], merges: list[Any]) -> None:
    """YAML merge keys (`<<: *base` or `<<: [*a, *b]`): keys already in the mapping win."""
    for source in merges:
        sources = source if isinstance(source, list) else [source]
        for item in sources:
            if not isinstance(item, dict):
                raise Unsupported("merge of a non-mapping")
            for k, v in item.items():
                target.setdefault(k, v)
