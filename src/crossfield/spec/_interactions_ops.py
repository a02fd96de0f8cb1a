"""Per-operation facts: idempotency keys, pagination, rate limits, shared fields, ownership and
privileged (server-controlled) fields."""

from __future__ import annotations

import re
from collections.abc import Iterable

from crossfield.spec._interactions_facts import (
    FieldRef,
    IdempotencyKey,
    Ownership,
    Pagination,
    PrivilegedField,
    RateLimit,
    SharedField,
)
from crossfield.spec._interactions_names import GENERIC_NAMES, OWNER_NAMES, PRIVILEGED_NAMES, norm, tokens
from crossfield.spec._interactions_resources import ResourceIndex, record_fields, view
from crossfield.spec.model import Api, Evidence, Field, Operation

# --- idempotency ---------------------------------------------------------------------------------------

# fmt: off
_IDEMPOTENCY_NAMES = frozenset({
    "idempotencykey", "xidempotencykey", "idempotencytoken", "xidempotencytoken", "idempotencyid",
    "xrequestid", "requestid", "xclientrequestid", "clientrequestid", "clienttoken", "clientrequesttoken",
    "xdedupkey", "dedupkey", "deduplicationid", "xdeduplicationid",
})
# fmt: on
_IDEMPOTENT_PROSE = re.compile(
    r"idempoten|retr(?:y|ied|ies) safely|safely retr|duplicate (?:request|submission)s?", re.I
)


def build_idempotency(api: Api) -> list[IdempotencyKey]:
    out: list[IdempotencyKey] = []
    for op in api.operations:
        for f in view(op).request:
            if f.location not in ("header", "query", "body") or (
                f.location == "body" and f.path.count(".") > 1
            ):
                continue
            n = norm(f.name)
            if n in _IDEMPOTENCY_NAMES or "idempot" in n:
                if f.location != "header" and n in ("requestid", "clienttoken"):
                    pass  # in a body these are often plain data; keep them only when described as such
                else:
                    out.append(IdempotencyKey(op.id, f.path, f.required, "name", (Evidence(f.pointer),)))
                    continue
            if f.description and f.type in (None, "string"):
                m = _IDEMPOTENT_PROSE.search(f.description)
                if m is not None:
                    out.append(
                        IdempotencyKey(
                            op.id,
                            f.path,
                            f.required,
                            "description",
                            (Evidence(f.pointer, _sentence_around(f.description, m.start())),),
                        )
                    )
    return out


def _sentence_around(text: str, pos: int) -> str:
    start = max(text.rfind(". ", 0, pos) + 2, 0) if text.rfind(". ", 0, pos) >= 0 else 0
    end = text.find(". ", pos)
    return " ".join(text[start : end + 1 if end >= 0 else len(text)].split())


# --- pagination ----------------------------------------------------------------------------------------

_OFFSET = frozenset({"offset", "skip", "start", "startindex", "from"})
# fmt: off
_LIMIT = frozenset({
    "limit", "count", "size", "pagesize", "perpage", "maxresults", "top", "first", "take", "maxitems",
    "numresults", "rows", "per", "pagelimit", "resultsperpage", "max",
})
# fmt: on
_PAGE = frozenset({"page", "pagenumber", "pageno", "pageindex", "pagenum", "pagenr"})
# fmt: off
_CURSOR = frozenset({
    "cursor", "after", "before", "startingafter", "endingbefore", "pagetoken", "nexttoken",
    "continuationtoken", "continuation", "marker", "sinceid", "maxid", "startkey", "startafter",
    "nextpagetoken", "pagecursor", "scrollid", "afterid", "beforeid", "startcursor", "nextcursor",
    "exclusivestartkey", "since",
})
# fmt: on
# fmt: off
_ITEMS = (
    "data", "items", "results", "records", "entries", "values", "content", "list", "elements", "nodes",
    "edges", "hits", "rows", "objects", "resources",
)
# fmt: on
# fmt: off
_TOTAL = frozenset({
    "total", "totalcount", "count", "totalresults", "totalitems", "totalsize", "totalelements",
    "totalrecords", "totalentries", "numfound", "totalhits",
})
# fmt: on
# fmt: off
_HAS_MORE = frozenset({
    "hasmore", "hasnext", "hasnextpage", "more", "nextpageexists", "moreresults", "islast", "last",
    "hasmoreitems", "hasmoreresults",
})
# fmt: on
# fmt: off
_NEXT = frozenset({
    "next", "nextpage", "nextcursor", "nextpagetoken", "nextlink", "nexturl", "nexttoken", "cursor",
    "continuationtoken", "odatanextlink", "nextpageurl", "endcursor", "nextpagecursor", "nextmarker",
    "nextoffset", "nextpagelink",
})
# fmt: on


def _items_pointer(op: Operation) -> tuple[str | None, str | None]:
    """(JSON pointer of the item array, its field path) in the success response."""
    schema = op.success_schema
    if schema is None:
        return None, None
    v = view(op)
    arrays = {f.path: f for f in v.shallow_response if f.type == "array"}
    if any(f.path.startswith("response[].") for _, f in v.record) or (
        schema.get("type") == "array" or (isinstance(schema.get("type"), list) and "array" in schema["type"])
    ):
        return "", "response"
    for name in _ITEMS:
        if f"response.{name}" in arrays:
            return f"/{name}", f"response.{name}"
    for path in arrays:  # one level down: {"data": {"items": [...]}}, {"_embedded": {"things": [...]}}
        if path.count(".") == 2 and norm(path.split(".")[2]) in _ITEMS:
            return "/" + "/".join(path.split(".")[1:]), path
    top = [p for p in arrays if p.count(".") == 1]
    if len(top) == 1:
        return "/" + top[0].split(".", 1)[1], top[0]
    return None, None


def build_pagination(api: Api) -> list[Pagination]:
    out: list[Pagination] = []
    for op in api.operations:
        if op.method not in ("GET", "POST"):
            continue
        pointer, _ = _items_pointer(op)
        v = view(op)
        params = [
            f
            for f in v.request
            if f.location == "query"
            or (op.method == "POST" and f.location == "body" and f.path.count(".") == 1)
        ]
        by_kind: dict[str, list[Field]] = {"offset": [], "limit": [], "page": [], "cursor": []}
        for f in params:
            n = norm(f.name)
            for kind, names in (("cursor", _CURSOR), ("page", _PAGE), ("offset", _OFFSET), ("limit", _LIMIT)):
                if kind != "cursor" and (f.type not in ("integer", "number", None) or f.format):
                    continue  # `from` as a date filter is no offset
                if n in names:
                    by_kind[kind].append(f)
                    break
        total = has_more = nxt = None
        for f in v.shallow_response:
            n = norm(f.name)
            if total is None and n in _TOTAL and f.type in ("integer", "number", None):
                total = f.path
            elif has_more is None and n in _HAS_MORE and f.type in ("boolean", None):
                has_more = f.path
            elif nxt is None and n in _NEXT and f.type in ("string", "object", None):
                nxt = f.path
        headers = {h.lower(): h for r in op.success_responses for h in r.headers}
        if total is None and "x-total-count" in headers:
            total = "header." + headers["x-total-count"]
        style: str | None = None
        if by_kind["cursor"]:
            style = "cursor"
        elif by_kind["page"]:
            style = "page"
        elif by_kind["offset"]:
            style = "offset"
        elif nxt is not None and (pointer is not None):
            style = (
                "next_link"
                if nxt
                and ("link" in nxt.lower() or "url" in nxt.lower() or norm(nxt.rsplit(".", 1)[1]) == "next")
                else "cursor"
            )
        elif "link" in headers and pointer is not None:
            style = "link_header"
        elif by_kind["limit"] and pointer is not None and (has_more or total):
            style = "offset"
        if style is None or (pointer is None and not (has_more or nxt)):
            continue
        if style in ("offset", "page", "cursor") and not by_kind[style] and style != "offset":
            continue
        used = [f for k in ("cursor", "page", "offset", "limit") for f in by_kind[k]]
        limit = by_kind["limit"][0].path if by_kind["limit"] else None
        ev = [Evidence(f.pointer) for f in used[:4]]
        if not ev:
            ev = [Evidence(op.pointer)]
        out.append(
            Pagination(
                operation_id=op.id,
                style=style,  # type: ignore[arg-type]
                params=tuple(f.path for f in used),
                limit_param=limit,
                items_pointer=pointer,
                total_field=total,
                has_more_field=has_more,
                next_field=nxt
                if nxt is not None
                else ("header." + headers["link"] if "link" in headers else None),
                evidence=tuple(ev),
            )
        )
    return out


# --- rate limits ---------------------------------------------------------------------------------------

_RATE_PROSE = re.compile(
    r"rate[- ]?limit|throttl|too many requests|requests? per (?:second|minute|hour|day)|quota", re.I
)
_RATE_HEADER = re.compile(r"rate-?limit|retry-after|x-ratelimit|quota", re.I)


def build_rate_limits(api: Api) -> list[RateLimit]:
    out: list[RateLimit] = []
    if api.description:
        m = _RATE_PROSE.search(api.description)
        if m is not None:
            out.append(
                RateLimit(
                    None,
                    ("API description mentions rate limits",),
                    (),
                    (Evidence("/info/description", _sentence_around(api.description, m.start())),),
                )
            )
    for op in api.operations:
        signals: list[str] = []
        headers: list[str] = []
        ev: list[Evidence] = []
        for r in op.responses:
            if r.status == "429":
                signals.append("documents a 429 response")
                ev.append(Evidence(r.pointer))
            for h in r.headers:
                if _RATE_HEADER.search(h) and h not in headers:
                    headers.append(h)
                    ev.append(Evidence(f"{r.pointer}/headers/{h}"))
        if headers:
            signals.append("rate-limit response headers: " + ", ".join(headers))
        text = f"{op.summary}\n{op.description}"
        m = _RATE_PROSE.search(text)
        if m is not None:
            signals.append("description mentions rate limits")
            ev.append(Evidence(op.pointer + "/description", _sentence_around(text, m.start())))
        if signals:
            out.append(RateLimit(op.id, tuple(signals), tuple(headers), tuple(ev)))
    return out


# --- shared fields -------------------------------------------------------------------------------------

_MAX_OCCURRENCES = 60
_MAX_SHARED = 400


def build_shared_fields(api: Api) -> list[SharedField]:
    occ: dict[str, list[tuple[Field, str]]] = {}
    for op in api.operations:
        v = view(op)
        for f in [*v.request, *(rf for _, rf in v.record)]:
            if f.location == "body" and f.path.count(".") > 2:
                continue
            n = norm(f.name)
            if not n or n in GENERIC_NAMES or len(n) < 3:
                continue
            occ.setdefault(n, []).append((f, op.id))
    n_ops = len(api.operations)
    ubiquitous = max(4, int(n_ops * 0.5)) if n_ops >= 10 else n_ops + 1
    out: list[SharedField] = []
    for items in occ.values():
        ops = {op_id for _, op_id in items}
        if len(ops) < 2 or len(ops) > ubiquitous:
            continue
        requests = sum(1 for f, _ in items if f.location != "response")
        if requests == 0:
            continue  # only ever returned: nothing a client sends can disagree with it
        refs = tuple(FieldRef(op_id, f.path) for f, op_id in items[:_MAX_OCCURRENCES])
        out.append(
            SharedField(
                name=items[0][0].name,
                occurrences=refs,
                operation_count=len(ops),
                in_requests=requests,
                in_responses=len(items) - requests,
                evidence=tuple(Evidence(f.pointer) for f, _ in items[:3]),
            )
        )
    out.sort(key=lambda s: (-s.operation_count, s.name))
    return out[:_MAX_SHARED]


# --- ownership and privileged fields -------------------------------------------------------------------

# fmt: off
_SCOPE_SEGMENTS = frozenset({
    "users", "user", "accounts", "account", "customers", "members", "tenants", "organizations", "orgs",
    "owners", "profiles", "teams", "workspaces", "projects",
})
# fmt: on
_SELF_SEGMENTS = frozenset({"me", "my", "self", "current", "mine"})


def _secured(api: Api, op: Operation) -> tuple[bool, list[str]]:
    reqs = op.security if op.security is not None else api.security
    names = [name for req in reqs for name in req]
    secured = bool(reqs) and all(len(req) > 0 for req in reqs)
    return secured, names


def build_ownership(api: Api, index: ResourceIndex) -> tuple[list[Ownership], list[PrivilegedField]]:
    owners: list[Ownership] = []
    privileged: list[PrivilegedField] = []
    for res in index.resources:
        item_ops = [op_id for op_id in res.operations if (info := index.info.get(op_id)) and info.item_level]
        signals: list[str] = []
        ev: list[Evidence] = []
        ops = [api.operation(o) for o in res.operations]
        live_ops = [o for o in ops if o is not None]
        secured_ops = [o for o in live_ops if _secured(api, o)[0]]
        scheme_names = sorted({n for o in secured_ops for n in _secured(api, o)[1]})
        secured = bool(item_ops) and all(_secured(api, o)[0] for o in live_ops if o.id in item_ops)
        if secured:
            signals.append("item operations require authentication (" + ", ".join(scheme_names) + ")")
        owner_fields: list[FieldRef] = []
        for o in live_ops:
            for name, f in record_fields(o):
                if (
                    norm(name) in OWNER_NAMES
                    and len(owner_fields) < 6
                    and all(r.path != f.path for r in owner_fields)
                ):
                    owner_fields.append(FieldRef(o.id, f.path))
                    ev.append(Evidence(f.pointer))
        if owner_fields:
            ro = any(f.read_only for o in live_ops for n, f in record_fields(o) if norm(n) in OWNER_NAMES)
            signals.append(
                "records carry an owner field"
                + (" (readOnly)" if ro else "")
                + ": "
                + ", ".join(dict.fromkeys(r.path for r in owner_fields))
            )
        scope: str | None = None
        segs = [s for s in (res.collection_path or res.item_path or "").split("/") if s]
        for i, s in enumerate(segs):
            if s.lower() in _SELF_SEGMENTS:
                signals.append(f"path is scoped to the caller (/{s})")
                scope = "/" + s
                break
            if (
                s.lower() in _SCOPE_SEGMENTS
                and i + 1 < len(segs)
                and "{" in segs[i + 1]
                and i + 1 < len(segs) - 1
            ):
                scope = "path." + segs[i + 1].strip("{}")
                signals.append(f"path is scoped by {scope} (/{s}/{segs[i + 1]}/...)")
                break
        if (item_ops and (secured or owner_fields)) or scope:
            ev.insert(0, Evidence(live_ops[0].pointer if live_ops else ""))
            owners.append(
                Ownership(
                    res.name,
                    tuple(res.operations),
                    tuple(signals),
                    tuple(owner_fields),
                    scope,
                    secured,
                    tuple(ev[:6]),
                )
            )
        privileged.extend(_privileged(api, index, res.name, res.create, res.update, res.read, live_ops))
    return owners, privileged


def _privileged(
    api: Api,
    index: ResourceIndex,
    res_name: str,
    create: str | None,
    update: str | None,
    read: str | None,
    ops: Iterable[Operation],
) -> list[PrivilegedField]:
    out: list[PrivilegedField] = []
    writers = [api.operation(o) for o in (create, update) if o]
    record: dict[str, Field] = {}
    for o in ([api.operation(read)] if read else []) + list(writers) + list(ops):
        if o is None:
            continue
        for name, f in record_fields(o):
            record.setdefault(name, f)
    for op in writers:
        if op is None or op.body_schema is None:
            continue
        body = {f.name: f for f in view(op).request if f.location == "body" and f.path.count(".") == 1}
        for name, f in body.items():
            reasons: list[str] = []
            if f.read_only:
                reasons.append("readOnly in the schema, yet part of the request body")
            n = norm(name)
            if n in PRIVILEGED_NAMES or (tokens(name) and tokens(name)[0] == "is" and n in PRIVILEGED_NAMES):
                reasons.append("name suggests a value the server should control")
            rf = record.get(name)
            if rf is not None and rf.read_only and not f.read_only:
                reasons.append("readOnly in the response schema")
            if reasons:
                out.append(
                    PrivilegedField(op.id, f.path, tuple(reasons), True, res_name, (Evidence(f.pointer),))
                )
        for name, rf in record.items():
            if name in body:
                continue
            n = norm(name)
            reasons = []
            if rf.read_only:
                reasons.append("readOnly in the response, not in the request schema")
            if n in PRIVILEGED_NAMES and n not in ("id", "createdat", "updatedat"):
                reasons.append("response-only field whose name suggests a server-controlled value")
            if reasons:
                out.append(
                    PrivilegedField(
                        op.id, f"body.{name}", tuple(reasons), False, res_name, (Evidence(rf.pointer),)
                    )
                )
    return out
