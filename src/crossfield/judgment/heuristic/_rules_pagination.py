"""Pagination: walking every page returns every item exactly once, and the count matches the total.

The scenario creates five objects (sharing their prerequisites), then walks the list with a page size of
2 so that page boundaries fall among them; list filters that name a prerequisite are set to it, which
keeps the walk short on busy servers.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from crossfield.judgment.heuristic import _vocab as V
from crossfield.judgment.heuristic._analysis import Resource
from crossfield.judgment.heuristic._scenario import OK, Candidate, Context, candidate
from crossfield.judgment.models import (
    Capture,
    CapturedValue,
    Category,
    CollectionExpectation,
    Expectation,
    LiteralValue,
    Pagination,
    RelationExpectation,
    Severity,
    Step,
    Value,
)
from crossfield.spec.model import Field, Operation

_ITEMS = 5
_PAGE = 2


@dataclass(frozen=True)
class Walk:
    pagination: Pagination
    fields: list[str]


def detect(a_fields: dict[str, Field], op: Operation, id_pointer: str) -> Walk | None:
    """The pagination style of a list operation, from its parameters and response shape."""
    params = {V.norm(p.name).replace("_", ""): p for p in op.parameters_in("query")}
    by_norm = {V.norm(p.name): p for p in op.parameters_in("query")}
    by_norm.update({k: v for k, v in params.items()})

    def find(vocab: frozenset[str], *, numeric: bool = False) -> str | None:
        for p in op.parameters_in("query"):
            n = "_".join(V.words(p.name))
            if numeric and (
                p.schema.get("type") not in ("integer", "number", None) or p.schema.get("format")
            ):
                continue  # `from` as a date filter is no offset
            if n in vocab or n.replace("_", "") in vocab:
                return p.name
        return None

    size = find(V.SIZE_PARAMS, numeric=True)
    offset = find(V.OFFSET_PARAMS, numeric=True)
    page = find(V.PAGE_PARAMS, numeric=True)
    cursor = find(V.CURSOR_PARAMS)
    tops = {k: f for k, f in a_fields.items() if "." not in k and "[" not in k}
    arrays = [
        k for k, f in tops.items() if f.type == "array" and f"{k}[]{id_pointer.replace('/', '.')}" in a_fields
    ]
    items_pointer: str | None = None
    for cand in V.ITEMS_FIELDS:
        if cand in arrays:
            items_pointer = "/" + cand
            break
    if items_pointer is None and len(arrays) == 1:
        items_pointer = "/" + arrays[0]
    if items_pointer is None and any(k.startswith("[]") for k in a_fields):
        items_pointer = ""
    if items_pointer is None or size is None:
        return None
    total = next((k for k, f in tops.items() if _n(k) in V.TOTAL_FIELDS and f.type == "integer"), None)
    has_more = next((k for k, f in tops.items() if _n(k) in V.HAS_MORE_FIELDS and f.type == "boolean"), None)
    common: dict[str, Any] = {
        "page_size": _PAGE,
        "size_param": f"query.{size}",
        "items_pointer": items_pointer,
        "total_pointer": f"/{total}" if total else None,
        "has_more_pointer": f"/{has_more}" if has_more else None,
        "max_pages": 500,
    }
    if offset is not None:
        return Walk(
            Pagination(style="offset", offset_param=f"query.{offset}", **common),
            [f"query.{offset}", f"query.{size}"],
        )
    if page is not None:
        p = op.parameter("query", page)
        first = 1
        if p is not None:
            mn = p.schema.get("minimum")
            df = p.schema.get("default")
            first = int(mn) if isinstance(mn, int) else int(df) if isinstance(df, int) else 1
        return Walk(
            Pagination(style="page", page_param=f"query.{page}", first_page=first, **common),
            [f"query.{page}", f"query.{size}"],
        )
    if cursor is not None:
        norm = _n(cursor)
        if norm in V.AFTER_ITEM_PARAMS:
            pag = Pagination(
                style="cursor", cursor_param=f"query.{cursor}", cursor_from_last_item=id_pointer, **common
            )
            return Walk(pag, [f"query.{cursor}", f"query.{size}"])
        nxt = next(
            (k for k in tops if (_n(k) in V.NEXT_CURSOR_FIELDS and k != cursor) or _n(k) == norm), None
        )
        if nxt is None:
            return None
        pag = Pagination(style="cursor", cursor_param=f"query.{cursor}", cursor_pointer=f"/{nxt}", **common)
        return Walk(pag, [f"query.{cursor}", f"query.{size}"])
    return None


def _total_pages(fields: dict[str, Field], pagination: Pagination) -> str | None:
    """The response field reporting the number of pages, for a page-numbered walk."""
    if pagination.style != "page" or pagination.page_param is None or pagination.first_page not in (0, 1):
        return None
    for k, f in fields.items():
        if "." not in k and "[" not in k and f.type == "integer" and _n(k) in V.TOTAL_PAGES_FIELDS:
            return k
    return None


def _answers_404(op: Operation) -> bool:
    """A list that may answer 404 for a page past its end cannot be probed there."""
    return any(str(r.status) in ("404", "416") for r in op.responses)


def _n(name: str) -> str:
    return "_".join(V.words(name))


def rules(ctx: Context) -> list[Candidate]:
    out: list[Candidate] = []
    for res in ctx.analysis.iter_resources():
        made = _walk(ctx, res) if res.create is not None else _sibling_walk(ctx, res)
        if made is not None:
            out.append(made)
        filtered = _filtered_walk(ctx, res)
        if filtered is not None:
            out.append(filtered)
    return out


def _filter_param(op: Operation, res: Resource) -> tuple[str, str] | None:
    """An enum filter of the list that names a field of the objects (`?status=` and `status`): (the
    query parameter, the field), when the create's response reports that field."""
    if res.create is None:
        return None
    made = {f.path[len("response.") :] for f in res.create.fields if f.location == "response"}
    for q in op.parameters_in("query"):
        f = op.field(q.field_path)
        if f is None or not f.enum:
            continue
        for name in made:
            if "." not in name and "[" not in name and V.norm(name) == V.norm(q.name):
                return q.name, name
    return None


def _filtered_walk(ctx: Context, res: Resource) -> Candidate | None:
    """Walking a filtered list (`?status=draft`): every object made in the state filtered on is listed
    once, and the reported total counts the filtered items, not all of them."""
    op = res.list_op
    if op is None or res.create is None or res.id_pointer is None or res.parent is not None:
        return None
    walk = detect(ctx.analysis.response_fields(op), op, res.id_pointer)
    found = _filter_param(op, res)
    if walk is None or found is None or walk.pagination.total_pointer is None:
        return None
    param, field_name = found
    b = ctx.builder
    sc = b.scenario()
    ids: list[Value] = []
    value = sc.name(f"{field_name}_made")
    for i in range(_ITEMS):
        sc.variant = i
        extra = [Capture(name=value, pointer=f"/{field_name}")] if i == 0 else None
        obj = b.create(sc, res, identity=ctx.owner, note=f"item {i + 1} of {_ITEMS}", extra_captures=extra)
        if obj is None:
            return None
        ids.append(CapturedValue(name=obj.capture))
    # one more object, moved out of that state by an action: the filter must leave it out of the walk
    # and the total (without it, a total that ignores the filter would still add up)
    restricted = ctx.analysis.restricted
    sc.variant = _ITEMS
    moved = b.create(sc, res, identity=ctx.owner, note="an object the filter must leave out")
    action = next((a for a in res.actions if a.op.id not in restricted), None)
    if moved is None or action is None:
        return None
    if (
        b.call(
            sc,
            action.op,
            moved,
            name=f"move_out_by_{action.verb}",
            note=f"`{action.verb}` changes its `{field_name}`",
        )
        is None
    ):
        return None
    sc.variant = 0
    params: dict[str, Value] = {f"query.{param}": CapturedValue(name=value)}
    params.update(b.required_params(op, skip=set(params) | {walk.pagination.size_param or ""}, sc=sc))
    sc.add(
        Step(
            id=sc.name("walk_filtered_pages"),
            operation=op.id,
            params=params,
            paginate=walk.pagination,
            expect=[
                OK,
                CollectionExpectation(check="each_once", ids=ids, id_pointer=res.id_pointer),
                CollectionExpectation(
                    check="not_contains", value=CapturedValue(name=moved.capture), id_pointer=res.id_pointer
                ),
                CollectionExpectation(check="count_equals_total"),
            ],
            note=f"walk every page filtered by `{param}`, the value the new objects have",
        )
    )
    total = "response" + walk.pagination.total_pointer.replace("/", ".")
    return candidate(
        op,
        title=f"{op.id}: filtered by `{param}`, the pages list every match once and the total counts only matches",
        rationale=(
            "A total computed before the filter (or a filter applied after paging) reports more items than "
            "the walk returns, so clients stop early or page past the end."
        ),
        category=Category.PAGINATION,
        severity=Severity.MEDIUM,
        confidence=0.6,
        fields=[(op, f"query.{param}"), (op, total), *((op, f) for f in walk.fields)],
        steps=sc.steps,
    )


def _siblings(ctx: Context, res: Resource) -> list[Resource]:
    """Creatable resources under the same parent, simplest first: a read-only list under a parent
    (`/accounts/{id}/transactions`) is usually filled by what is created beside it (`.../deposits`)."""
    if res.parent is None or not res.parent_param:
        return []
    found = [
        r
        for r in ctx.analysis.iter_resources()
        if r is not res
        and r.parent is res.parent
        and r.parent_param == res.parent_param
        and r.create is not None
        and r.id_pointer is not None
    ]

    def cost(r: Resource) -> tuple[int, int, str]:
        assert r.create is not None
        _, required = ctx.analysis.body_props(r.create)
        return (len(ctx.analysis.references(r.create)), len(required), r.key)

    return sorted(found, key=cost)


def _sibling_walk(ctx: Context, res: Resource) -> Candidate | None:
    """A list that has no create of its own, filled through a sibling: walking it in small pages must list
    every entry once, as many as one large page lists."""
    op = res.list_op
    if op is None or res.parent is None:
        return None
    fields = ctx.analysis.response_fields(op)
    walk = detect(fields, op, "/id")
    if walk is None or walk.pagination.size_param is None:
        return None
    b = ctx.builder
    for sibling in _siblings(ctx, res)[:1]:
        sc = b.scenario()
        for i in range(_ITEMS):
            sc.variant = i
            if b.create(sc, sibling, identity=ctx.owner, note=f"{sibling.name} {i + 1} of {_ITEMS}") is None:
                return None
        sc.variant = 0
        parent = sc.shared.get((res.parent.key, ctx.owner))
        if parent is None:
            return None
        known: dict[str, Value] = {f"path.{res.parent_param}": CapturedValue(name=parent.capture)}
        path = b.path_params(sc, op, identity=ctx.owner, known=known)
        if path is None:
            return None
        params: dict[str, Value] = dict(path)
        params.update(b.required_params(op, skip=set(params) | {walk.pagination.size_param}, sc=sc))
        size = op.parameter("query", walk.pagination.size_param.split(".", 1)[1])
        largest = size.schema.get("maximum") if size is not None else None
        one_page = (
            min(int(largest), 100)
            if isinstance(largest, int | float) and largest >= 2 * _ITEMS
            else 2 * _ITEMS
        )
        whole = dict(params)
        whole[walk.pagination.size_param] = LiteralValue(value=one_page)
        baseline = sc.name("list_in_one_page")
        sc.add(
            Step(
                id=baseline,
                operation=op.id,
                params=whole,
                expect=[OK],
                note=f"every {res.name.replace('_', ' ')} of this {res.parent.name} in one page",
            )
        )
        expect: list[Expectation] = [
            OK,
            CollectionExpectation(check="each_once", id_pointer="/id"),
            CollectionExpectation(
                check="count_delta",
                baseline_step=baseline,
                delta=0,
                items_pointer=walk.pagination.items_pointer,
            ),
        ]
        sc.add(
            Step(
                id=sc.name("walk_all_pages"),
                operation=op.id,
                params=params,
                paginate=walk.pagination,
                expect=expect,
                note="walk every page with a small page size",
            )
        )
        assert sibling.create is not None
        return candidate(
            op,
            title=f"{op.id}: walking all pages lists every {res.name.replace('_', ' ')} once, "
            f"as many as one page holds",
            rationale=(
                f"The entries are made by `{sibling.create.id}`, so a page walk is rarely exercised on them; "
                "an inclusive cursor or an offset off by one repeats or skips an entry at every page boundary."
            ),
            category=Category.PAGINATION,
            severity=Severity.MEDIUM,
            confidence=0.6,
            fields=[(op, f) for f in walk.fields],
            steps=sc.steps,
        )
    return None


def _walk(ctx: Context, res: Resource) -> Candidate | None:
    op = res.list_op
    if op is None or res.create is None or res.id_pointer is None:
        return None
    fields = ctx.analysis.response_fields(op)
    walk = detect(fields, op, res.id_pointer)
    if walk is None:
        return None
    b = ctx.builder
    sc = b.scenario()
    ids: list[Value] = []
    for i in range(_ITEMS):
        sc.variant = i
        obj = b.create(sc, res, identity=ctx.owner, note=f"item {i + 1} of {_ITEMS}")
        if obj is None:
            return None
        ids.append(CapturedValue(name=obj.capture))
    sc.variant = 0
    params: dict[str, Value] = {}
    for p in op.parameters_in("query"):
        stem = ctx.analysis.reference_stem_of_param(p.name) if p.name.endswith(("_id", "Id")) else None
        target = ctx.analysis.resource_for_name(stem) if stem else None
        shared = sc.shared.get((target.key, ctx.owner)) if target is not None else None
        if shared is not None:
            params[f"query.{p.name}"] = CapturedValue(name=shared.capture)
    first_obj_path = {}
    if res.parent is not None and res.parent_param:
        parent = sc.shared.get((res.parent.key, ctx.owner))
        if parent is None:
            return None
        first_obj_path[f"path.{res.parent_param}"] = CapturedValue(name=parent.capture)
    path = b.path_params(sc, op, identity=ctx.owner, known=first_obj_path)
    if path is None:
        return None
    params.update(path)
    params.update(b.required_params(op, skip=set(params) | {walk.pagination.size_param or ""}, sc=sc))
    expect: list[Expectation] = [
        OK,
        CollectionExpectation(check="each_once", ids=ids, id_pointer=res.id_pointer),
    ]
    if walk.pagination.total_pointer:
        expect.append(CollectionExpectation(check="count_equals_total"))
    pages = _total_pages(fields, walk.pagination)
    captures: list[Capture] = []
    if pages is not None and first_obj_path:
        # the list is scoped to a parent this scenario created: it holds exactly the items made here
        expect.append(
            RelationExpectation(pointer=f"/{pages}", op="eq", against=LiteralValue(value=-(-_ITEMS // _PAGE)))
        )
    elif pages is not None and not _answers_404(op):
        captures.append(Capture(name=sc.name("total_pages"), pointer=f"/{pages}"))
    sc.add(
        Step(
            id=sc.name("walk_all_pages"),
            operation=op.id,
            params=params,
            paginate=walk.pagination,
            captures=captures,
            expect=expect,
            note="walk every page with a small page size",
        )
    )
    if captures and walk.pagination.page_param and walk.pagination.size_param:
        beyond = dict(params)
        beyond[walk.pagination.size_param] = LiteralValue(value=_PAGE)
        beyond[walk.pagination.page_param] = CapturedValue(
            name=captures[0].name, plus=walk.pagination.first_page or None
        )
        sc.add(
            Step(
                id=sc.name("page_after_last"),
                operation=op.id,
                params=beyond,
                expect=[
                    OK,
                    RelationExpectation(
                        pointer=walk.pagination.items_pointer, op="len_eq", against=LiteralValue(value=0)
                    ),
                ],
                note=f"the page after the reported `{pages}` is empty: no item lies beyond the last page",
            )
        )
    extra = (
        [(op, "response" + (walk.pagination.total_pointer or "").replace("/", "."))]
        if walk.pagination.total_pointer
        else []
    )
    if pages is not None:
        extra.append((op, f"response.{pages}"))
    return candidate(
        op,
        title=f"{op.id}: walking all pages returns every {res.name.replace('_', ' ')} exactly once"
        + (" and as many as the total" if walk.pagination.total_pointer else "")
        + (f", within the reported `{pages}`" if pages is not None else ""),
        rationale="Off-by-one errors at page boundaries (inclusive cursors, offset+1, totals that count the page) skip or repeat items silently.",
        category=Category.PAGINATION,
        severity=Severity.MEDIUM,
        confidence=0.8,
        fields=[*((op, f) for f in walk.fields), *extra],
        steps=sc.steps,
    )
