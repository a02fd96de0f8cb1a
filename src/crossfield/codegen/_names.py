"""Identifiers for generated code, derived from untrusted text.

Titles, step ids, capture names and tags come from a judge (possibly an LLM reading a hostile spec), so an
identifier derived from them is reduced to `[a-z0-9_]` after Unicode compatibility folding: homoglyphs
and invisible characters disappear instead of becoming look-alike names. The result is never a Python
keyword (hard or soft) nor a name the generated module already uses.
"""

from __future__ import annotations

import keyword
import re
import unicodedata

__all__ = ["Namer", "identifier", "slug"]

_NOT_IDENT = re.compile(r"[^a-z0-9]+")


def slug(text: str, *, max_length: int = 60, fallback: str = "x") -> str:
    """Lower-case ASCII words joined by `_`: `"Refund > remaining!"` -> `refund_remaining`."""
    folded = unicodedata.normalize("NFKD", text).encode("ascii", "ignore").decode("ascii").lower()
    out = _NOT_IDENT.sub("_", folded).strip("_")
    if len(out) > max_length:
        cut = out[: max_length + 1]
        out = cut[: cut.rfind("_")] if "_" in cut[1:] else out[:max_length]  # end on a whole word
        out = out.rstrip("_")
    return out or fallback


def identifier(text: str, *, reserved: frozenset[str] = frozenset(), fallback: str = "value") -> str:
    """A safe Python identifier from `text`: slugged, never starting with a digit, never a keyword."""
    name = slug(text, fallback=fallback)
    if name[0].isdigit():
        name = f"{fallback}_{name}"
    if keyword.iskeyword(name) or keyword.issoftkeyword(name) or name in reserved:
        name += "_"
    return name


class Namer:
    """Hands out distinct identifiers within one scope, remembering what each key was given."""

    def __init__(self, reserved: frozenset[str] = frozenset()) -> None:
        self._reserved = reserved
        self._taken: set[str] = set(reserved)
        self._given: dict[tuple[str, str], str] = {}

    def name(self, namespace: str, key: str, *, fallback: str = "value") -> str:
        """The identifier for `key` in `namespace`: the same key always gets the same name."""
        found = self._given.get((namespace, key))
        if found is not None:
            return found
        base = identifier(key, reserved=self._reserved, fallback=fallback)
        candidate, number = base, 2
        while candidate in self._taken:
            candidate, number = f"{base}_{number}", number + 1
        self._taken.add(candidate)
        self._given[(namespace, key)] = candidate
        return candidate

    def known(self, namespace: str, key: str) -> str | None:
        return self._given.get((namespace, key))
