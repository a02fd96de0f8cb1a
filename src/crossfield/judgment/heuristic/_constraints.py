"""Relations between the fields of one request, read from schema structure and from prose.

Two sources, because specs state these rules both ways: JSON Schema structure (`oneOf`/`anyOf` of
`required` lists, `not: {required: [a, b]}`, `dependentRequired`) and sentences in descriptions
("Mutually exclusive with `b`", "Exactly one of `a` and `b` must be given", "`c` is required together
with `a`", "must be after `start`"). The scenario builder uses every relation of an operation to build
bodies that satisfy all of them but the one a test breaks.
"""

from __future__ import annotations

import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Literal

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.models import SpecEvidence
from crossfield.spec._fields import resolve_local
from crossfield.spec.model import Api, Field, Operation

Kind = Literal["mutex", "one_of", "any_of", "requires", "range", "temporal"]


@dataclass(frozen=True, slots=True)
class Relation:
    """`fields` are names of top-level fields in `location` ('body' or 'query').

    mutex: at most one; one_of: exactly one; any_of: at least one; requires: fields[0] needs fields[1];
    range: fields[0] <= fields[1] (numbers); temporal: fields[0] before fields[1] (dates)."""

    kind: Kind
    location: str
    fields: tuple[str, ...]
    evidence: SpecEvidence
    structural: bool = False


_MUTEX = re.compile("|".join(V.MUTEX_PHRASES), re.I)
_MUTEX_GROUP = re.compile(
    r"(?:are|is) (?:mutually )?exclusive|cannot be (?:used|combined|given|sent) together|(?:are )?not allowed together",
    re.I,
)
_EXACT = re.compile(r"exactly one of|one and only one of|only one of", re.I)
_EITHER = re.compile(r"\beither\b", re.I)
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
_SENTENCE = re.compile(r"(?<=[.;!?])\s+|\n+|\s\*\s")
_TICK = re.compile(r"`([^`]{1,80})`")


def _field_names(op: Operation, location: str) -> dict[str, Field]:
    if location == "body":
        return {
            f.name: f
            for f in op.fields
            if f.location == "body" and f.path.count(".") == 1 and not f.read_only
        }
    return {f.name: f for f in op.fields if f.location == location}


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
            if len(name) < 3:
                continue
            for m in re.finditer(rf"(?<![A-Za-z0-9_]){re.escape(name)}(?![A-Za-z0-9_])", clause):
                out.append((m.start(), name))
    out.sort()
    return out


def _clauses(text: str) -> list[str]:
    return [c for c in _SENTENCE.split(text) if c.strip()]


def relations(api: Api, op: Operation) -> tuple[Relation, ...]:
    """Every relation between `op`'s request fields that the spec states."""
    out: list[Relation] = []
    for location in ("body", "query"):
        names = _field_names(op, location)
        if len(names) < 2:
            continue
        texts: list[tuple[str, str, str | None]] = []
        if location == "body":
            out.extend(_structural(api, op, names))
            schema = op.body_schema
            if schema is not None:
                resolved = resolve_local(schema, api.schema_defs)
                desc = resolved.get("description")
                if isinstance(desc, str):
                    texts.append((desc, op.pointer + "/requestBody", None))
        texts.append((f"{op.summary}\n{op.description}", op.pointer, None))
        for name, f in sorted(names.items()):
            if f.description:
                texts.append((f.description, f.pointer or op.pointer, name))
        for text, pointer, owner in texts:
            out.extend(_prose(text, pointer, owner, names, location))
        out.extend(_pairs_by_name(op, names, location))
    seen: set[tuple[str, str, tuple[str, ...]]] = set()
    unique: list[Relation] = []
    for r in out:
        key = (
            r.kind,
            r.location,
            r.fields if r.kind in ("requires", "range", "temporal") else tuple(sorted(r.fields)),
        )
        if key in seen or len(set(r.fields)) != len(r.fields):
            continue
        seen.add(key)
        unique.append(r)
    return tuple(unique)


def _structural(api: Api, op: Operation, names: Mapping[str, Field]) -> Iterable[Relation]:
    schema = op.body_schema
    if schema is None:
        return
    resolved = resolve_local(schema, api.schema_defs)
    pointer = op.pointer + "/requestBody"
    for key, kind in (("oneOf", "one_of"), ("anyOf", "any_of")):
        subs = resolved.get(key)
        if not isinstance(subs, list) or len(subs) < 2:
            continue
        singles: list[str] = []
        for sub in subs:
            sub = resolve_local(sub, api.schema_defs) if isinstance(sub, Mapping) else {}
            req = [r for r in sub.get("required") or () if isinstance(r, str)]
            own = [r for r in req if r not in (resolved.get("required") or ())]
            if len(own) == 1 and own[0] in names:
                singles.append(own[0])
        if len(singles) >= 2 and len(singles) == len(subs):
            yield Relation(kind, "body", tuple(singles), SpecEvidence(pointer=pointer + "/" + key), True)  # type: ignore[arg-type]
    not_ = resolved.get("not")
    if isinstance(not_, Mapping):
        req = [r for r in not_.get("required") or () if isinstance(r, str) and r in names]
        if len(req) == 2:
            yield Relation("mutex", "body", (req[0], req[1]), SpecEvidence(pointer=pointer + "/not"), True)
    for key in ("dependentRequired", "dependencies"):
        deps = resolved.get(key)
        if isinstance(deps, Mapping):
            for a, bs in deps.items():
                if a in names and isinstance(bs, list):
                    for b in bs:
                        if isinstance(b, str) and b in names:
                            yield Relation(
                                "requires", "body", (a, b), SpecEvidence(pointer=f"{pointer}/{key}"), True
                            )


def _prose(
    text: str, pointer: str, owner: str | None, names: Mapping[str, Field], location: str
) -> Iterable[Relation]:
    for sentence in _clauses(text):
        mentions = _mentions(sentence, names)
        if not mentions and owner is None:
            continue
        ev = SpecEvidence(pointer=pointer, text=sentence.strip()[:400])
        for part in re.split(r";", sentence):
            yield from _prose_part(part, owner, names, location, ev)


def _prose_part(
    part: str, owner: str | None, names: Mapping[str, Field], location: str, ev: SpecEvidence
) -> Iterable[Relation]:
    mentions = _mentions(part, names)
    exact = _EXACT.search(part)
    either = _EITHER.search(part)
    anyof = _ANY.search(part)
    group_at = exact or anyof or either
    if group_at is not None:
        group = tuple(dict.fromkeys(n for p, n in mentions if p >= group_at.end()))
        if len(group) >= 2:
            if exact or (either and re.search(r"not both|but not|exclusive", part, re.I)):
                yield Relation("one_of", location, group, ev)
            else:
                yield Relation("any_of", location, group, ev)
            return
    grouped = _MUTEX_GROUP.search(part)
    if grouped is not None:
        group = tuple(dict.fromkeys(n for p, n in mentions if p < grouped.start()))
        if len(group) >= 2:
            for i, a in enumerate(group):
                for b in group[i + 1 :]:
                    yield Relation("mutex", location, (a, b), ev)
    for regex, kind, passive in (
        (_MUTEX, "mutex", False),
        (_REQ_PASSIVE, "requires", True),
        (_REQ_ACTIVE, "requires", False),
    ):
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
                        yield Relation("mutex", location, (subject, o), ev)
            elif passive:
                yield Relation("requires", location, (obj, subject), ev)
            else:
                yield Relation("requires", location, (subject, obj), ev)
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
                yield Relation("temporal", location, (a, b), ev)
            elif is_number(fa) and is_number(fb) and later:
                yield Relation("range", location, (a, b), ev)


def is_temporal(f: Field) -> bool:
    if f.format in ("date", "date-time", "datetime"):
        return True
    return (
        f.type == "string"
        and f.format is None
        and bool(set(V.words(f.name)) & {"date", "datetime", "timestamp"})
    )


def is_number(f: Field) -> bool:
    return f.type in ("integer", "number")


def _pairs_by_name(op: Operation, names: Mapping[str, Field], location: str) -> Iterable[Relation]:
    """`starts_at`/`ends_at`, `valid_from`/`valid_until`, `min_price`/`max_price`: one word swapped."""
    items = sorted(names.items())
    for a, fa in items:
        wa = [V.singular(w) for w in V.words(a)]
        for b, fb in items:
            if a == b:
                continue
            wb = [V.singular(w) for w in V.words(b)]
            if len(wa) != len(wb):
                continue
            diff = [i for i in range(len(wa)) if wa[i] != wb[i]]
            if len(diff) != 1:
                continue
            x, y = wa[diff[0]], wb[diff[0]]
            ev = SpecEvidence(pointer=fb.pointer or op.pointer)
            if is_temporal(fa) and is_temporal(fb) and x in _START and y in _END:
                yield Relation("temporal", location, (a, b), ev)
            elif is_number(fa) and is_number(fb) and x in _MIN and y in _MAX:
                yield Relation("range", location, (a, b), ev)


_START = frozenset(V.singular(w) for w in V.START_WORDS)
_END = frozenset(V.singular(w) for w in V.END_WORDS)
_MIN = frozenset(V.singular(w) for w in V.MIN_WORDS)
_MAX = frozenset(V.singular(w) for w in V.MAX_WORDS)


def schema_of(api: Api, f: Field) -> Mapping[str, Any]:
    return resolve_local(f.schema, api.schema_defs)
