"""Relations between fields of one operation, from three kinds of signal:

- schema keywords: `oneOf`/`anyOf` branches with disjoint `required` sets, `dependentRequired`,
  `dependentSchemas`, `if`/`then`, `not: {required: [a, b]}`;
- names of sibling fields: `min_x`/`max_x`, `start_date`/`end_date`, `amount` + `currency`,
  `quantity` x `unit_price` = `total`, `subtotal` + `tax` = `total`, items[] summing to a total;
- description sentences ("mutually exclusive", "required if", "must be after", ...) that name another
  field of the same operation, in backticks, quotes or plain words. Between the fields one request sends
  side by side (top-level body properties, query parameters) prose is read clause by clause, with the
  direction each phrase gives (`_interactions_clauses`); a sentence that reading understood is not read
  again as a whole for the same kinds. Elsewhere, and for conditions and arithmetic, a sentence relates
  the field it describes to every field it names.

Directions: `dependent_required` lists the trigger first, then the fields it needs (`groups` holds the
two sides); `range` is fields[0] <= fields[1]; `temporal` is fields[0] not after fields[1].
"""

from __future__ import annotations

import dataclasses
import re
from collections.abc import Iterable, Mapping
from functools import lru_cache
from typing import Any

from crossfield.spec._fields import merged_object, resolve_local, schema_type
from crossfield.spec._interactions_clauses import (
    CLAUSE_LOCATIONS,
    ClauseKind,
    clause_fields,
    clause_relations,
)
from crossfield.spec._interactions_facts import FieldRelation, RelationKind
from crossfield.spec._interactions_names import (
    END_WORDS,
    MAX_WORDS,
    MIN_WORDS,
    START_WORDS,
    norm,
    singular,
    tokens,
)
from crossfield.spec._interactions_resources import view
from crossfield.spec._source import escape_token
from crossfield.spec.model import Api, Evidence, Field, Operation

# --- schema keywords -----------------------------------------------------------------------------------

_MAX_SCHEMA_DEPTH = 5


def _required_of(schema: Mapping[str, Any], defs: Mapping[str, Any]) -> set[str]:
    _, req = merged_object(schema, defs)
    return req


def _schema_relations(op: Operation, defs: Mapping[str, Any], add: _Adder) -> None:
    body = op.body_schema
    if body is None:
        return
    _walk_schema(body, defs, "body", _body_pointer(op), add, set(), 0)


def _body_pointer(op: Operation) -> str:
    media = op.body_media_type or "application/json"
    return f"{op.pointer}/requestBody/content/{escape_token(media)}/schema"


def _walk_schema(
    schema: Mapping[str, Any],
    defs: Mapping[str, Any],
    prefix: str,
    pointer: str,
    add: _Adder,
    active: set[str],
    depth: int,
) -> None:
    if depth > _MAX_SCHEMA_DEPTH:
        return
    ref = schema.get("$ref")
    if isinstance(ref, str):
        if ref in active:
            return
        active = active | {ref}
    node = resolve_local(schema, defs)
    t, _ = schema_type(node, defs)
    if t == "array":
        items = node.get("items")
        if isinstance(items, Mapping):
            _walk_schema(items, defs, prefix + "[]", pointer + "/items", add, active, depth)
        return
    _node_relations(node, defs, prefix, pointer, add)
    for i, sub in enumerate(node.get("allOf") or ()):
        if isinstance(sub, Mapping):
            _node_relations(resolve_local(sub, defs), defs, prefix, f"{pointer}/allOf/{i}", add)
    props, _ = merged_object(node, defs)
    for name, sub in props.items():
        if isinstance(sub, Mapping):
            st, _ = schema_type(sub, defs)
            if st in ("object", "array"):
                _walk_schema(
                    sub,
                    defs,
                    f"{prefix}.{name}",
                    f"{pointer}/properties/{escape_token(name)}",
                    add,
                    active,
                    depth + 1,
                )


def _node_relations(
    node: Mapping[str, Any], defs: Mapping[str, Any], prefix: str, pointer: str, add: _Adder
) -> None:
    def p(name: str) -> str:
        return f"{prefix}.{name}"

    always: set[str] | None = None
    for key, relation in (("oneOf", "one_of"), ("anyOf", "any_of")):
        branches = node.get(key)
        if not isinstance(branches, list) or len(branches) < 2:
            continue
        reqs = [_required_of(b, defs) if isinstance(b, Mapping) else set() for b in branches]
        if not all(reqs):
            continue
        if always is None:  # required whatever the branch: not an alternative
            always = _required_of(node, defs)
        common = set.intersection(*reqs) | always
        distinct = [r - common for r in reqs]
        if not all(distinct) or any(a & b for i, a in enumerate(distinct) for b in distinct[i + 1 :]):
            continue
        groups = tuple(tuple(p(n) for n in sorted(d)) for d in distinct)
        rel: RelationKind = relation  # type: ignore[assignment]
        word = "exactly one" if relation == "one_of" else "at least one"
        add.relation(
            rel,
            tuple(f for g in groups for f in g),
            "schema",
            f"{key}: {word} of " + " | ".join("+".join(g) for g in groups),
            groups,
            Evidence(f"{pointer}/{key}"),
        )
    dep_req = node.get("dependentRequired")
    deps = node.get("dependencies")
    for source, mapping in (("dependentRequired", dep_req), ("dependencies", deps)):
        if not isinstance(mapping, Mapping):
            continue
        for trigger, needed in mapping.items():
            if isinstance(needed, list) and needed:
                fields = (p(str(trigger)), *(p(str(n)) for n in needed))
                add.relation(
                    "dependent_required",
                    fields,
                    "schema",
                    f"{source}: {trigger} requires {', '.join(map(str, needed))}",
                    ((fields[0],), fields[1:]),
                    Evidence(f"{pointer}/{source}/{escape_token(str(trigger))}"),
                )
            elif isinstance(needed, Mapping):
                _dependent_schema(
                    str(trigger), needed, defs, p, add, f"{pointer}/{source}/{escape_token(str(trigger))}"
                )
    dep_schemas = node.get("dependentSchemas")
    if isinstance(dep_schemas, Mapping):
        for trigger, sub in dep_schemas.items():
            if isinstance(sub, Mapping):
                _dependent_schema(
                    str(trigger),
                    sub,
                    defs,
                    p,
                    add,
                    f"{pointer}/dependentSchemas/{escape_token(str(trigger))}",
                )
    cond = node.get("if")
    if isinstance(cond, Mapping):
        if_props, if_req = merged_object(cond, defs)
        trigger = sorted(set(if_props) | if_req)
        then_fields: set[str] = set()
        for branch in ("then", "else"):
            sub = node.get(branch)
            if isinstance(sub, Mapping):
                props, req = merged_object(sub, defs)
                then_fields |= req | set(props)
        if trigger and then_fields:
            fields = tuple(p(n) for n in [*trigger, *sorted(then_fields - set(trigger))])
            add.relation(
                "conditional",
                fields,
                "schema",
                f"if {', '.join(trigger)} then {', '.join(sorted(then_fields))}",
                (tuple(p(n) for n in trigger), tuple(p(n) for n in sorted(then_fields - set(trigger)))),
                Evidence(f"{pointer}/if"),
            )
    neg = node.get("not")
    if isinstance(neg, Mapping):
        names = [n for n in resolve_local(neg, defs).get("required") or () if isinstance(n, str)]
        if len(names) >= 2:
            fields = tuple(p(n) for n in names)
            add.relation(
                "mutually_exclusive",
                fields,
                "schema",
                f"not all of {', '.join(names)}",
                tuple((f,) for f in fields),
                Evidence(f"{pointer}/not"),
            )


def _dependent_schema(
    trigger: str, sub: Mapping[str, Any], defs: Mapping[str, Any], p: Any, add: _Adder, pointer: str
) -> None:
    props, req = merged_object(sub, defs)
    dependents = sorted((req | set(props)) - {trigger})
    if dependents:
        fields = (p(trigger), *(p(n) for n in dependents))
        kind: RelationKind = "dependent_required" if req else "conditional"
        add.relation(
            kind,
            fields,
            "schema",
            f"{trigger} brings {', '.join(dependents)}",
            ((fields[0],), fields[1:]),
            Evidence(pointer),
        )


# --- sibling names -------------------------------------------------------------------------------------

_PAIRS: tuple[tuple[str, str], ...] = (
    ("min", "max"),
    ("minimum", "maximum"),
    ("lower", "upper"),
    ("low", "high"),
    ("from", "to"),
    ("start", "end"),
    ("start", "stop"),
    ("start", "finish"),
    ("begin", "end"),
    ("starts", "ends"),
    ("started", "ended"),
    ("starting", "ending"),
    ("since", "until"),
    ("from", "until"),
    ("after", "before"),
    ("gte", "lte"),
    ("gt", "lt"),
    ("gte", "lt"),
    ("gt", "lte"),
    ("earliest", "latest"),
    ("floor", "ceiling"),
    ("checkin", "checkout"),
    ("arrival", "departure"),
    ("arrive", "depart"),
    ("opens", "closes"),
    ("open", "close"),
    ("pickup", "dropoff"),
    ("least", "most"),
)
_LOW: dict[str, list[int]] = {}
_HIGH: dict[str, list[int]] = {}
for _i, (_lo, _hi) in enumerate(_PAIRS):
    _LOW.setdefault(_lo, []).append(_i)
    _HIGH.setdefault(_hi, []).append(_i)
# Beyond the word pairs, any start word against any end word (`start_date`/`due_date`) and any lower-bound
# word against any upper-bound word (`min_price`/`most_price`), each word singular or plural.
_SPAN, _BOUND = len(_PAIRS), len(_PAIRS) + 1
for _pid, _los, _his in ((_SPAN, START_WORDS, END_WORDS), (_BOUND, MIN_WORDS, MAX_WORDS)):
    for _w in _los:
        for _form in {_w, singular(_w)}:
            if _pid not in _LOW.setdefault(_form, []):
                _LOW[_form].append(_pid)
    for _w in _his:
        for _form in {_w, singular(_w)}:
            if _pid not in _HIGH.setdefault(_form, []):
                _HIGH[_form].append(_pid)
# fmt: off
_INHERENTLY_TEMPORAL = {
    "since", "until", "checkin", "checkout", "arrival", "departure", "arrive", "depart", "opens", "closes",
    "earliest", "latest", "starts", "ends", "started", "ended",
}
# fmt: on
# fmt: off
_DATE_WORDS = {
    "date", "time", "at", "on", "day", "datetime", "timestamp", "dt", "ts", "year", "month", "period",
}
# fmt: on
_DATE_FORMATS = {"date", "date-time", "time", "unix-time", "timestamp", "datetime"}
# fmt: off
_AMOUNT_WORDS = {
    "amount", "price", "total", "cost", "fee", "subtotal", "balance", "tax", "discount", "payment", "tip",
    "deposit", "refund", "charge", "paid", "due", "credit", "debit", "value", "fare", "rate",
}
# fmt: on
_QTY_WORDS = {"quantity", "qty", "count", "units", "unitcount", "numberofunits"}
# fmt: off
_UNIT_PRICE = {
    "price", "unitprice", "unitamount", "unitcost", "priceperunit", "rate", "cost", "unitamountdecimal",
}
# fmt: on
# fmt: off
_TOTAL = {
    "total", "totalprice", "totalamount", "linetotal", "amount", "subtotal", "extendedprice", "totalcost",
}
# fmt: on
# fmt: off
_SUM_TOTALS = {
    "total", "totalamount", "totalprice", "linetotal", "totalcost", "grandtotal", "amounttotal",
    "ordertotal", "totalvalue",
}
# fmt: on
# fmt: off
_LINE_ITEMS = {
    "item", "items", "line", "lines", "product", "products", "entry", "entries", "position", "positions",
    "split", "splits", "allocation", "allocations", "part", "parts", "component", "components", "cart",
    "article", "articles", "order", "orders", "lineitems", "units", "goods", "services",
}
# fmt: on
# fmt: off
_ADDENDS = {
    "subtotal", "tax", "taxamount", "shipping", "shippingcost", "shippingamount", "discount",
    "discountamount", "fee", "fees", "tip", "handling", "surcharge",
}
# fmt: on


@lru_cache(maxsize=65536)
def _toks(name: str) -> tuple[str, ...]:
    toks = list(tokens(name))
    merged: list[str] = []
    i = 0
    while i < len(toks):  # check_in -> checkin, check-out -> checkout, drop_off -> dropoff
        if i + 1 < len(toks) and (toks[i], toks[i + 1]) in (
            ("check", "in"),
            ("check", "out"),
            ("drop", "off"),
            ("pick", "up"),
        ):
            merged.append(toks[i] + toks[i + 1])
            i += 2
        else:
            merged.append(toks[i])
            i += 1
    return tuple(merged)


def _is_dateish(f: Field, toks: tuple[str, ...]) -> bool:
    return (f.format or "").lower() in _DATE_FORMATS or bool(_DATE_WORDS.intersection(toks))


def _is_numeric(f: Field) -> bool:
    return f.type in ("integer", "number") or (
        f.type == "string" and (f.format or "") in ("decimal", "number")
    )


def _sibling_relations(op: Operation, add: _Adder) -> None:
    groups: dict[str, list[Field]] = {}
    v = view(op)
    for f in v.request:
        if f.location == "body":
            groups.setdefault(f.path.rsplit(".", 1)[0], []).append(f)
        else:
            groups.setdefault("request-params", []).append(f)
    for _, f in v.record:
        groups.setdefault(f.path.rsplit(".", 1)[0], []).append(f)
    for parent, fields in groups.items():
        if not parent.startswith("response"):
            _pairs(fields, add)
            _amount_currency(fields, add)
        _arithmetic(fields, op, add)


def _pairs(fields: list[Field], add: _Adder) -> None:
    lows: dict[tuple[int, tuple[str, ...]], Field] = {}
    highs: dict[tuple[int, tuple[str, ...]], Field] = {}
    toks_of: dict[str, tuple[str, ...]] = {}
    for f in fields:
        if f.type in ("object", "array", "boolean"):
            continue
        toks = _toks(f.name)
        toks_of[f.path] = toks
        for i, t in enumerate(toks):
            key = (*toks[:i], "*", *toks[i + 1 :])
            one = singular(t)
            for pid in (*_LOW.get(t, ()), *(_LOW.get(one, ()) if one != t else ())):
                lows.setdefault((pid, key), f)
            for pid in (*_HIGH.get(t, ()), *(_HIGH.get(one, ()) if one != t else ())):
                highs.setdefault((pid, key), f)
    seen: set[tuple[str, str]] = set()
    for k, lo in lows.items():
        hi = highs.get(k)
        if hi is None or hi.path == lo.path or (lo.path, hi.path) in seen:
            continue
        seen.add((lo.path, hi.path))
        lt, ht = toks_of[lo.path], toks_of[hi.path]
        family = _PAIRS[k[0]] if k[0] < _SPAN else ("", "")
        kind: RelationKind
        if _is_dateish(lo, lt) or _is_dateish(hi, ht):
            kind = "temporal"
        elif _is_numeric(lo) and _is_numeric(hi):
            kind = "range"
        elif (
            k[0] < _SPAN
            and family[0] in _INHERENTLY_TEMPORAL
            and lo.type in (None, "string")
            and hi.type in (None, "string")
        ):
            kind = "temporal"
        else:
            continue
        word = "not after" if kind == "temporal" else "<="
        add.relation(
            kind,
            (lo.path, hi.path),
            "name",
            f"{lo.name} {word} {hi.name}",
            (),
            Evidence(lo.pointer),
            Evidence(hi.pointer),
        )


def _amount_currency(fields: list[Field], add: _Adder) -> None:
    currencies = [f for f in fields if "currency" in _toks(f.name) or norm(f.name).endswith("currency")]
    if not currencies:
        return
    amounts = [
        f
        for f in fields
        if _is_numeric(f) and _AMOUNT_WORDS.intersection(_toks(f.name)) and f not in currencies
    ]
    if not amounts:
        return
    if len(currencies) == 1:
        cur = currencies[0]
        add.relation(
            "amount_currency",
            (*(a.path for a in amounts), cur.path),
            "name",
            f"{', '.join(a.name for a in amounts)} in {cur.name}",
            (),
            *(Evidence(f.pointer) for f in (*amounts, cur)),
        )
        return
    for a in amounts:  # several currencies: pair by shared leading words (price_amount <-> price_currency)
        at = _toks(a.name)
        best = max(
            currencies, key=lambda c: sum(1 for x, y in zip(at, _toks(c.name), strict=False) if x == y)
        )
        add.relation(
            "amount_currency",
            (a.path, best.path),
            "name",
            f"{a.name} in {best.name}",
            (),
            Evidence(a.pointer),
            Evidence(best.pointer),
        )


def _arithmetic(fields: list[Field], op: Operation, add: _Adder) -> None:
    by_norm = {norm(f.name): f for f in fields}
    totals = [
        by_norm[n]
        for n in (
            "total",
            "totalamount",
            "totalprice",
            "linetotal",
            "totalcost",
            "amount",
            "extendedprice",
            "subtotal",
        )
        if n in by_norm and _is_numeric(by_norm[n])
    ]
    qty = next((f for n, f in by_norm.items() if n in _QTY_WORDS and _is_numeric(f)), None)
    unit = next((f for n, f in by_norm.items() if n in _UNIT_PRICE and _is_numeric(f)), None)
    if qty and unit and totals:
        total = next((t for t in totals if t is not unit), None)
        if total is not None:
            add.relation(
                "arithmetic",
                (qty.path, unit.path, total.path),
                "name",
                f"{qty.name} * {unit.name} = {total.name}",
                (),
                Evidence(qty.pointer),
                Evidence(unit.pointer),
                Evidence(total.pointer),
            )
    total_f = next((t for t in totals if norm(t.name) in _SUM_TOTALS), None)
    if total_f is not None:
        addends = [f for n, f in by_norm.items() if n in _ADDENDS and _is_numeric(f) and f is not total_f]
        if addends:
            add.relation(
                "arithmetic",
                (*(a.path for a in addends), total_f.path),
                "name",
                f"{total_f.name} = combination of {', '.join(a.name for a in addends)}",
                (),
                *(Evidence(f.pointer) for f in (*addends, total_f)),
            )
        # Arrays of line items next to a total: the total is their sum.
        arrays = [f for f in fields if f.type == "array"]
        children = _children(op) if arrays else {}
        for f in arrays:
            if not _LINE_ITEMS.intersection(tokens(f.name)):
                continue
            inner_names = {norm(p.rsplit(".", 1)[1]): p for p in children.get(f.path + "[]", ())}
            line_total_path = next(
                (
                    inner_names[n]
                    for n in ("total", "linetotal", "subtotal", "amount", "totalprice", "totalamount")
                    if n in inner_names
                ),
                None,
            )
            unit_path = next(
                (
                    inner_names[n]
                    for n in ("unitprice", "price", "unitamount", "unitcost")
                    if n in inner_names
                ),
                None,
            )
            q = next((inner_names[n] for n in inner_names if n in _QTY_WORDS), None)
            parts: tuple[str, ...]
            if line_total_path is not None:
                parts = (line_total_path,)
            elif unit_path is not None:
                parts = (unit_path,) if q is None else (q, unit_path)
            else:
                continue
            price_path = parts[-1]
            op_field = op.field(price_path)
            add.relation(
                "arithmetic",
                (*parts, total_f.path),
                "name",
                f"{total_f.name} = sum over {f.name}[] of "
                + (" * ".join(x.rsplit(".", 1)[1] for x in parts)),
                (),
                Evidence(f.pointer),
                *((Evidence(op_field.pointer),) if op_field else ()),
                Evidence(total_f.pointer),
            )


def _children(op: Operation) -> dict[str, list[str]]:
    """Field paths by parent path (`body.items[]` -> [`body.items[].price`, ...])."""
    out: dict[str, list[str]] = {}
    for f in op.fields:
        path = f.path
        if "[]." in path:
            out.setdefault(path.rsplit(".", 1)[0], []).append(path)
    return out


# --- prose ---------------------------------------------------------------------------------------------

# Patterns are matched against the lowercased sentence (case-insensitive regexes are several times slower).
_PROSE_SOURCES: tuple[tuple[RelationKind, str], ...] = (
    (
        "mutually_exclusive",
        r"mutually[ -]exclusive|can ?not be (?:used|specified|provided|set|combined|passed|sent|supplied)"
        r" (?:together|with|alongside|at the same time|in combination)|can'?t be (?:used|combined|specified)"
        r" (?:together|with)|(?:may|must|should) not be (?:used|specified|provided|combined|set|passed|sent)"
        r" (?:together|with|alongside|in combination)|\bonly one of\b|\bnot both\b|incompatible with"
        r"|conflicts? with|exclusive with|but not both|can ?not be (?:set|specified|used|provided) (?:if|when)"
        r"|together with [^.]{0,60}?(?:is|are) not (?:allowed|permitted|supported)|not (?:allowed|permitted) "
        r"(?:together|with|in combination)",
    ),
    (
        "one_of",
        r"exactly one of|one and only one|must (?:specify|provide|include|set|pass|supply) (?:either|exactly one"
        r"|one of)|\beither\b.{1,80}?\bor\b.{1,80}?\b(?:is|are|must be) (?:required|provided|specified|set)",
    ),
    ("any_of", r"at least one of|one or more of|at least one (?:\w+ ){0,3}(?:must|should) be"),
    (
        "co_required",
        r"must be (?:used|provided|specified|set|passed|sent|supplied|given|included) together|required together"
        r"|together with|in conjunction with|must (?:also|both) (?:be )?(?:provid|specif|set|includ|pass|send|"
        r"suppl)|\bboth\b.{1,60}?\bmust be (?:provided|specified|set|present|included)",
    ),
    (
        "dependent_required",
        r"required (?:when|if|only if|unless|for)\b|must be (?:provided|specified|set|present|supplied|included"
        r"|given|passed) (?:when|if|only if|for)\b|mandatory (?:when|if|for)\b|\brequires\b|needed (?:when|if)\b",
    ),
    (
        "conditional",
        r"only (?:valid|used|applicable|allowed|relevant|permitted|supported|honou?red|considered|available|"
        r"accepted|applies|apply) (?:when|if|for|with|to)\b|ignored (?:unless|if|when)\b|has no effect (?:unless|"
        r"if|when)\b|appl(?:y|ies) only (?:when|if|to)\b|depends on|depending on|\bwhen\b.{1,60}?\bis set\b",
    ),
    (
        "temporal",
        r"(?:must|should|has to|needs to|cannot|can ?not|may not) (?:be|occur|fall|start|end) (?:on or )?(?:after|"
        r"before|later than|earlier than|prior to)|\b(?:later|earlier) than\b|\b(?:on|at) or (?:after|before)\b"
        r"|\bprecedes?\b|\bprior to\b|chronologically",
    ),
    (
        "arithmetic",
        r"\bsum of\b|must (?:equal|match|add up)|adds? up to|equal to the (?:sum|total|product|difference)"
        r"|multiplied by|\btimes the\b|\bplus the\b|\bminus the\b|divided by|percentage of",
    ),
    (
        "range",
        r"(?:must|should|cannot|can ?not|may not|can'?t) (?:not )?(?:exceed|be (?:greater|less|more|larger|smaller|"
        r"higher|lower) than)|(?:less|greater|more|fewer|smaller|larger|higher|lower) than or equal to|not exceed"
        r"|no (?:more|greater|less|larger|higher) than|\bat most\b|\bat least\b(?! (?:one|provide|specify|include|the))"
        r"|\bup to\b|(?:less|greater|"
        r"smaller|larger) than",
    ),
)
_PROSE: tuple[tuple[RelationKind, re.Pattern[str]], ...] = tuple(
    (kind, re.compile(rx)) for kind, rx in _PROSE_SOURCES
)
# Cheap literal gates: a kind's regex only runs on a sentence holding one of its words.
_GATES: dict[RelationKind, tuple[str, ...]] = {
    "mutually_exclusive": (
        "exclusive",
        "together",
        "with",
        "only one",
        "not both",
        "incompatible",
        "conflict",
        "combin",
        "not be",
        "cannot be",
        "can't be",
    ),
    "one_of": ("exactly one", "one and only", "either", "one of"),
    "any_of": ("at least one", "one or more"),
    "co_required": ("together", "conjunction", "also", "both"),
    "dependent_required": ("required", "requires", "mandatory", "needed", "must be"),
    "conditional": ("only", "ignored", "no effect", "depend", "when"),
    "temporal": ("after", "before", "later", "earlier", "prior", "precede", "chronolog"),
    "arithmetic": (
        "sum of",
        "equal",
        "match",
        "add",
        "multipl",
        "times the",
        "plus the",
        "minus the",
        "divided",
        "percentage",
    ),
    "range": ("exceed", "than", "at most", "at least", "up to"),
}
_ALL_GATES = tuple(dict.fromkeys(w for words in _GATES.values() for w in words))


def _gated(low: str) -> bool:
    return any(w in low for w in _ALL_GATES)


_SENTENCE = re.compile(r"(?<=[.!?])\s+(?=[A-Z`'\"(\[*])|\n\s*\n|\n\s*[-*] ")
_QUOTED = re.compile(r"[`'\"]([A-Za-z_$@][\w.\[\]$@-]*)[`'\"]")
_WORD = re.compile(r"\b[A-Za-z_][A-Za-z0-9_]*(?:-[A-Za-z0-9]+)*\b")
# fmt: off
_STOP = frozenset({
    "a", "an", "the", "and", "or", "not", "but", "if", "when", "then", "else", "of", "to", "in", "on", "at",
    "by", "for", "with", "from", "as", "is", "are", "be", "been", "being", "was", "were", "this", "that",
    "these", "those", "it", "its", "it's", "must", "may", "can", "should", "will", "would", "could", "only",
    "one", "two", "both", "either", "neither", "each", "every", "any", "all", "some", "no", "none", "set",
    "value", "values", "field", "fields", "parameter", "parameters", "param", "request", "response",
    "object", "objects", "true", "false", "null", "id", "type", "name", "data", "key", "list", "item",
    "items",
})
# fmt: on
_prose_cache: dict[str, list[tuple[RelationKind, str, tuple[tuple[str, bool], ...]]]] = {}


def _prose_matches(text: str) -> list[tuple[RelationKind, str, tuple[tuple[str, bool], ...]]]:
    """(kind, sentence, identifiers mentioned) for each sentence of `text` that states a relation."""
    cached = _prose_cache.get(text)
    if cached is not None:
        return cached
    out: list[tuple[RelationKind, str, tuple[tuple[str, bool], ...]]] = []
    if _gated(text.lower()):
        for sentence in _SENTENCE.split(text):
            sentence = sentence.strip()
            low = sentence.lower()
            if not sentence or len(sentence) > 600 or not _gated(low):
                continue
            for kind, rx in _PROSE:
                if any(w in low for w in _GATES[kind]) and rx.search(low):
                    idents: dict[str, bool] = {}
                    for q in _QUOTED.findall(sentence):
                        idents[q.rstrip(".").replace("[]", "").split(".")[-1]] = True
                    for w in _WORD.findall(sentence):
                        if w.lower() not in _STOP and w not in idents:
                            idents[w] = _identifier_like(w)
                    out.append((kind, " ".join(sentence.split()), tuple(idents.items())))
                    break
    if len(_prose_cache) > 50_000:
        _prose_cache.clear()
    _prose_cache[text] = out
    return out


def _identifier_like(word: str) -> bool:
    """`start_date`, `startDate`, `x-request-id`: spelled like a field, not like an English word."""
    return "_" in word or "-" in word or any(c.isupper() for c in word[1:])


_STRONG_ONLY: frozenset[str] = frozenset({"range", "temporal", "arithmetic"})


def _prose_relations(
    op: Operation, add: _Adder, claimed: Mapping[str, list[str]], scope: Mapping[str, Mapping[str, Field]]
) -> None:
    """The sentence-level reading: a sentence that states a relation relates the field it describes to
    every field it names. Between fields the clause reader covers (`_clause_prose_relations`), a sentence it
    read is left to it for the kinds it reads, as its reading is the precise one."""
    request = view(op).request
    if not request:
        return
    by_name: dict[str, list[Field]] = {}
    for f in request:
        by_name.setdefault(f.name, []).append(f)
        if norm(f.name) != f.name:
            by_name.setdefault(norm(f.name), []).append(f)
    in_scope = {f.path for names in scope.values() for f in names.values()}

    def resolve(ident: str, strong: bool, near: Field | None) -> Field | None:
        if near is None and not strong:  # an operation's prose mentions plain words all the time
            return None
        cands = by_name.get(ident) or (by_name.get(norm(ident)) if strong else None)
        if not cands:
            return None
        parent = near.path.rsplit(".", 1)[0] if near is not None else None
        siblings = (
            [c for c in cands if c.path.rsplit(".", 1)[0] == parent]
            if parent
            else [c for c in cands if c.path.count(".") == 1]
        )
        if siblings:
            return siblings[0]
        if not strong:  # a plain English word only names a field next to the one it describes
            return None
        return min(cands, key=lambda c: c.path.count("."))

    sources: list[tuple[Field | None, str, str]] = [
        (f, f.description, f.pointer or op.pointer) for f in request if f.description
    ]
    if op.description or op.summary:
        sources.append(
            (
                None,
                op.description or op.summary,
                op.pointer + ("/description" if op.description else "/summary"),
            )
        )
    for near, desc, pointer in sources:
        for kind, sentence, idents in _prose_matches(desc):
            mentioned: list[str] = []
            any_strong = False
            for ident, strong in idents:
                hit = resolve(ident, strong, near)
                if hit is not None and (near is None or hit.path != near.path) and hit.path not in mentioned:
                    mentioned.append(hit.path)
                    any_strong = any_strong or strong
            if not mentioned or (near is None and len(mentioned) < 2):
                continue
            if kind in _STRONG_ONLY and not any_strong:
                continue
            fields = tuple(([near.path] if near is not None else []) + mentioned)
            if (
                kind in _CLAUSE_READ
                and _one_location(fields)
                and all(f in in_scope for f in fields)
                and _claimed(claimed.get(pointer, ()), sentence)
            ):
                continue
            groups: tuple[tuple[str, ...], ...] = ()
            if kind == "conditional" and near is not None:
                groups = ((near.path,), tuple(mentioned))
            elif kind == "dependent_required" and near is not None and "unless" not in sentence.lower():
                if _DEPENDENT_PASSIVE.search(sentence.lower()):  # "required if `b`": `b` brings this field
                    fields = (*mentioned, near.path)
                    groups = (tuple(mentioned), (near.path,))
                else:  # "requires `b`"
                    groups = ((near.path,), tuple(mentioned))
            add.relation(
                kind,
                fields,
                "description",
                _detail(kind),
                groups,
                Evidence(pointer, sentence),
                undirected=kind in ("range", "temporal") or (kind == "dependent_required" and not groups),
            )


# "required if/when/for", "must be given when", "mandatory if", "needed when": the field described is the one
# required, the field named brings the requirement. ("requires `b`" reads the other way.)
_DEPENDENT_PASSIVE = re.compile(
    r"required (?:when|if|only if|for)\b|must be (?:provided|specified|set|present|supplied|included|given|passed)"
    r" (?:when|if|only if|for)\b|mandatory (?:when|if|for)\b|needed (?:when|if)\b"
)
# The kinds the clause reader reads, in the map's names.
_CLAUSE_READ: frozenset[RelationKind] = frozenset(
    {"mutually_exclusive", "one_of", "any_of", "co_required", "dependent_required", "range", "temporal"}
)


def _one_location(paths: Iterable[str]) -> bool:
    return len({p.split(".", 1)[0] for p in paths}) == 1


def _claimed(clauses: Iterable[str], sentence: str) -> bool:
    """Whether the clause reader stated a relation from a clause of `sentence` (or of a text it is part of)."""
    return any(c in sentence or sentence in c for c in clauses)


# --- clauses -------------------------------------------------------------------------------------------

_FROM_CLAUSE: dict[ClauseKind, RelationKind] = {
    "mutex": "mutually_exclusive",
    "one_of": "one_of",
    "any_of": "any_of",
    "requires": "dependent_required",
    "range": "range",
    "temporal": "temporal",
}


def _clause_prose_relations(
    op: Operation, defs: Mapping[str, Any], add: _Adder, scope: Mapping[str, Mapping[str, Field]]
) -> dict[str, list[str]]:
    """The clause-level reading of prose between the fields one request sends side by side (`scope`: by
    location, see `_interactions_clauses`). Returns the clauses that stated a relation, whitespace-normalized,
    by the pointer of the text they are in."""
    claimed: dict[str, list[str]] = {}
    for location, names in scope.items():
        if len(names) < 2:
            continue
        texts: list[tuple[str, str, str | None]] = []
        if location == "body" and op.body_schema is not None:
            desc = resolve_local(op.body_schema, defs).get("description")
            if isinstance(desc, str):
                texts.append((desc, _body_pointer(op), None))
        if op.summary:
            texts.append((op.summary, op.pointer + "/summary", None))
        if op.description:
            texts.append((op.description, op.pointer + "/description", None))
        for name, f in sorted(names.items()):
            if f.description:
                texts.append((f.description, f.pointer or op.pointer, name))
        for rel in clause_relations(location, names, texts):
            paths = tuple(names[n].path for n in rel.fields)
            kind = _FROM_CLAUSE[rel.kind]
            if rel.kind in ("one_of", "any_of", "mutex"):
                groups: tuple[tuple[str, ...], ...] = tuple((p,) for p in paths)
            elif rel.kind == "requires":
                groups = (paths[:1], paths[1:])
            else:
                groups = ()
            add.relation(
                kind, paths, "description", _clause_detail(rel.kind, rel.fields), groups, rel.evidence
            )
            if rel.evidence.text:
                claimed.setdefault(rel.evidence.pointer, []).append(" ".join(rel.evidence.text.split()))
    return claimed


def _clause_detail(kind: ClauseKind, names: tuple[str, ...]) -> str:
    if kind == "mutex":
        return f"{names[0]} and {names[1]} not together"
    if kind == "one_of":
        return "exactly one of " + ", ".join(names)
    if kind == "any_of":
        return "at least one of " + ", ".join(names)
    if kind == "requires":
        return f"{names[0]} requires {names[1]}"
    if kind == "range":
        return f"{names[0]} <= {names[1]}"
    return f"{names[0]} before {names[1]}"


def _detail(kind: RelationKind) -> str:
    return {
        "mutually_exclusive": "described as not to be used together",
        "one_of": "described as exactly one of",
        "any_of": "described as at least one of",
        "co_required": "described as used together",
        "dependent_required": "described as required depending on another field",
        "conditional": "described as applying only under a condition on another field",
        "temporal": "described as ordered in time",
        "arithmetic": "described as computed from other fields",
        "range": "described as bounded by another field",
    }.get(kind, kind)


# --- assembly ------------------------------------------------------------------------------------------


_DIRECTED: frozenset[RelationKind] = frozenset({"dependent_required", "range", "temporal"})


class _Adder:
    """Collects an operation's relations. The same relation from another signal adds its evidence to the
    first. Relations with a direction (`a` requires `b`, `a` before `b`) are the same only in the same
    order; one read without a direction (`undirected`) joins any relation of its kind over the same fields."""

    def __init__(self, op: Operation) -> None:
        self.op = op
        self.out: dict[tuple[str, tuple[str, ...]], FieldRelation] = {}
        self.by_set: dict[tuple[str, tuple[str, ...]], tuple[str, tuple[str, ...]]] = {}

    def relation(
        self,
        kind: RelationKind,
        fields: tuple[str, ...],
        source: str,
        detail: str,
        groups: tuple[tuple[str, ...], ...],
        *evidence: Evidence,
        undirected: bool = False,
    ) -> None:
        if len(set(fields)) < 2:
            return
        as_set: tuple[str, tuple[str, ...]] = (kind, tuple(sorted(fields)))
        key: tuple[str, tuple[str, ...]] = (kind, fields) if kind in _DIRECTED else as_set
        if undirected:
            key = self.by_set.get(as_set, key)
        old = self.out.get(key)
        if old is not None:  # the same relation from another signal: keep the first, add the evidence
            extra = tuple(e for e in evidence if e not in old.evidence)
            if extra:
                self.out[key] = dataclasses.replace(old, evidence=old.evidence + extra)
            return
        self.by_set.setdefault(as_set, key)
        self.out[key] = FieldRelation(kind, self.op.id, fields, source, detail, groups, tuple(evidence))  # type: ignore[arg-type]


def build_field_relations(api: Api) -> list[FieldRelation]:
    """Schema keywords first, then prose read clause by clause, sibling names, and prose read sentence by
    sentence: the first signal of a relation gives its fields' order and its first evidence."""
    out: list[FieldRelation] = []
    for op in api.operations:
        add = _Adder(op)
        scope = {location: clause_fields(op, location) for location in CLAUSE_LOCATIONS}
        _schema_relations(op, api.schema_defs, add)
        claimed = _clause_prose_relations(op, api.schema_defs, add, scope)
        _sibling_relations(op, add)
        _prose_relations(op, add, claimed, scope)
        out.extend(add.out.values())
    return out


def iter_kinds(relations: Iterable[FieldRelation]) -> dict[str, int]:
    counts: dict[str, int] = {}
    for r in relations:
        counts[r.relation] = counts.get(r.relation, 0) + 1
    return counts
