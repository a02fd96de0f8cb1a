"""Relations between the top-level request fields of one operation, read clause by clause from prose.

A sentence often states more than one relation, in more than one direction: "`currency` is required
together with `amount_off` and not allowed with `percent_off`" says that `amount_off` needs `currency` and
that `currency` excludes `percent_off`, not that the three exclude each other. So each clause (sentences
split at `;` too) is read on its own, the phrase that states the relation splits its field mentions into
a subject (before the phrase; the described field when none is named) and objects (after it), and the
phrase decides the direction:

- "mutually exclusive with", "cannot be used with", ...: subject excludes each object;
- "`a`, `b` are mutually exclusive", "cannot be used together": every pair of the fields named before;
- "exactly one of" (or "only one of", "either ... but not both" in a clause that says they are required):
  exactly one of the fields named after; "only one of ... can be set", "either ... but not both" alone: at
  most one, that is every pair excludes each other; "at least one of", "either": at least one;
- "required with", "required if", "must be given with" (passive): the object needs the subject;
  "requires", "depends on", "only allowed with" (active): the subject needs the object;
- "after", "later than", "greater than" / "before", "earlier than": time order between two date fields,
  `<=` between two numbers (for "greater than").

Only fields one request sends side by side are read: top-level body properties the client may write, and
query parameters. Field mentions are backticked names, or, in a text with no backticks at all, the names
as plain words (three letters at least, not part of a longer word: `line` is not in "multi-line").
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Literal

from crossfield.spec._interactions_names import MUTEX_PHRASES, tokens
from crossfield.spec.model import Evidence, Field, Operation

ClauseKind = Literal["mutex", "one_of", "any_of", "requires", "range", "temporal"]
CLAUSE_LOCATIONS = ("body", "query")


@dataclass(frozen=True, slots=True)
class ClauseRelation:
    """A relation one clause states. `fields` are field names of `location`.

    mutex: not both; one_of: exactly one; any_of: at least one; requires: fields[0] needs fields[1];
    range: fields[0] <= fields[1] (numbers); temporal: fields[0] before fields[1] (dates)."""

    kind: ClauseKind
    location: str
    fields: tuple[str, ...]
    evidence: Evidence


def is_temporal(f: Field) -> bool:
    """A date or date-time: by format, or a format-less string named like one (`due_date`)."""
    if f.format in ("date", "date-time", "datetime"):
        return True
    return (
        f.type == "string"
        and f.format is None
        and bool(set(tokens(f.name)) & {"date", "datetime", "timestamp"})
    )


def is_number(f: Field) -> bool:
    return f.type in ("integer", "number")


def clause_fields(op: Operation, location: str) -> dict[str, Field]:
    """The fields of `location` a clause may relate, by name: query parameters, or the top-level body
    properties the client may write."""
    if location == "body":
        return {
            f.name: f
            for f in op.fields
            if f.location == "body" and f.path.count(".") == 1 and not f.read_only
        }
    return {f.name: f for f in op.fields if f.location == location}


_MUTEX = re.compile("|".join(MUTEX_PHRASES), re.I)
_MUTEX_GROUP = re.compile(
    r"(?:are|is) (?:mutually )?exclusive|cannot be (?:used|combined|given|sent) together|(?:are )?not allowed together",
    re.I,
)
_EXACT = re.compile(r"exactly one of|one and only one of|only one of", re.I)
_STRICT = re.compile(r"exactly|one and only", re.I)
_EITHER = re.compile(r"\beither\b", re.I)
_NOT_BOTH = re.compile(r"not both|but not|exclusive", re.I)
_REQUIRED = re.compile(r"\bmust\b|\brequired\b|\bneeds? to\b|\bha(?:s|ve) to\b|\bmandatory\b", re.I)
_ANY = re.compile(r"at least one of", re.I)
_REQ_PASSIVE = re.compile(
    r"(?:is |are )?required (?:together )?with|(?:is |are )?required (?:if|when|whenever)"
    r"|must (?:also )?be (?:given|sent|set|specified|provided|present|supplied) (?:together )?(?:with|if|when)",
    re.I,
)
_REQ_ACTIVE = re.compile(
    r"\brequires\b|depends on|(?:is )?only (?:allowed|valid|used|accepted) (?:together )?with|\bneeds\b", re.I
)
_AFTER = re.compile(
    r"\b(?:must be |should be |is )?(?:strictly )?(?:after|later than|greater than|on or after|not before)\b",
    re.I,
)
_BEFORE = re.compile(
    r"\b(?:must be |should be |is )?(?:strictly )?(?:before|earlier than|not after|on or before)\b", re.I
)
_ALL_GATES = (
    "one of",
    "either",
    "exclusive",
    "together",
    "not",
    "incompatible",
    "conflicts",
    "excludes",
    "required",
    "must",
    "requires",
    "depends on",
    "only",
    "needs",
    "after",
    "before",
    "later than",
    "greater than",
    "earlier than",
)
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n+|\s\*\s")
_TICK = re.compile(r"`([^`]{1,80})`")


def clause_relations(
    location: str, names: Mapping[str, Field], texts: Iterable[tuple[str, str, str | None]]
) -> list[ClauseRelation]:
    """Every relation between `names` (fields of `location`) that a clause of `texts` states. A text is
    `(text, pointer, owner)`: `owner` is the field it describes (None for an operation's own text)."""
    out: list[ClauseRelation] = []
    for text, pointer, owner in texts:
        out.extend(_prose(text, pointer, owner, names, location))
    return out


def _mentions(clause: str, names: Mapping[str, Field]) -> list[tuple[int, str]]:
    out: list[tuple[int, str]] = []
    ticked = False
    for m in _TICK.finditer(clause):
        ticked = True
        token = m.group(1).strip()
        if token in names:
            out.append((m.start(), token))
    if not ticked:
        for name in names:
            if len(name) < 3 or name not in clause:
                continue
            for m in re.finditer(rf"(?<![\w-]){re.escape(name)}(?![\w-])", clause):
                out.append((m.start(), name))
    out.sort()
    return out


def _prose(
    text: str, pointer: str, owner: str | None, names: Mapping[str, Field], location: str
) -> Iterable[ClauseRelation]:
    low = text.lower()
    if not any(w in low for w in _ALL_GATES):
        return
    for sentence in _SENTENCE.split(text):
        if not sentence.strip():
            continue
        if owner is None and not _mentions(sentence, names):
            continue
        ev = Evidence(pointer, sentence.strip()[:400])
        for part in sentence.split(";"):
            yield from _prose_part(part, owner, names, location, ev)


def _prose_part(
    part: str, owner: str | None, names: Mapping[str, Field], location: str, ev: Evidence
) -> Iterable[ClauseRelation]:
    low = part.lower()  # literal gates: a phrase's regex runs only on a clause holding one of its words
    if not any(w in low for w in _ALL_GATES):
        return
    mentions = _mentions(part, names)
    if not mentions:  # every reading relates a field named in the clause
        return
    exact = _EXACT.search(part) if "one of" in low else None
    either = _EITHER.search(part) if "either" in low else None
    anyof = _ANY.search(part) if "one of" in low else None
    group_at = exact or anyof or either
    if group_at is not None:
        group = tuple(dict.fromkeys(n for p, n in mentions if p >= group_at.end()))
        if len(group) >= 2:
            if exact or (either and _NOT_BOTH.search(part)):
                if (exact and _STRICT.search(exact.group())) or _REQUIRED.search(part):
                    yield ClauseRelation("one_of", location, group, ev)
                else:  # "only one of `a` and `b` can be set", "either `a` or `b`, but not both": at most one
                    for i, a in enumerate(group):
                        for b in group[i + 1 :]:
                            yield ClauseRelation("mutex", location, (a, b), ev)
            else:
                yield ClauseRelation("any_of", location, group, ev)
            return
    grouped = _MUTEX_GROUP.search(part) if "exclusive" in low or "together" in low else None
    if grouped is not None:
        group = tuple(dict.fromkeys(n for p, n in mentions if p < grouped.start()))
        if len(group) >= 2:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    yield ClauseRelation("mutex", location, (a, b), ev)
    for regex, kind, passive, gate in (
        (_MUTEX, "mutex", False, ("exclusive", "not", "incompatible", "conflicts", "excludes")),
        (_REQ_PASSIVE, "requires", True, ("required", "must")),
        (_REQ_ACTIVE, "requires", False, ("requires", "depends on", "only", "needs")),
    ):
        if not any(w in low for w in gate):
            continue
        for m in regex.finditer(part):
            before = [n for p, n in mentions if p < m.start()]
            after = [n for p, n in mentions if p >= m.end()]
            subject = before[0] if before else owner
            if subject is None or not after:
                continue
            obj = after[0]
            if obj == subject:
                continue
            if kind == "mutex":
                for o in dict.fromkeys(after):
                    if o != subject:
                        yield ClauseRelation("mutex", location, (subject, o), ev)
            elif passive:
                yield ClauseRelation("requires", location, (obj, subject), ev)
            else:
                yield ClauseRelation("requires", location, (subject, obj), ev)
    if not any(w in low for w in ("after", "before", "later than", "greater than", "earlier than")):
        return
    for regex, later in ((_AFTER, True), (_BEFORE, False)):
        for m in regex.finditer(part):
            before = [n for p, n in mentions if p < m.start()]
            after = [n for p, n in mentions if p >= m.end()]
            subject = before[-1] if before else owner
            if subject is None or not after or after[0] == subject:
                continue
            a, b = (after[0], subject) if later else (subject, after[0])
            fa, fb = names.get(a), names.get(b)
            if fa is None or fb is None:
                continue
            if is_temporal(fa) and is_temporal(fb):
                yield ClauseRelation("temporal", location, (a, b), ev)
            elif is_number(fa) and is_number(fb) and later:
                yield ClauseRelation("range", location, (a, b), ev)
