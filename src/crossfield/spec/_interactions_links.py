"""Producer/consumer links between operations: which response field of which operation feeds which
parameter of another.

Four sources, strongest first: OpenAPI `links` on responses; `Location` headers of creates (read back
through the item path); path structure (`{x}` after a collection segment is an id of that collection's
resource, produced by its create); and fields named after a resource (`customer`, `customer_id`,
`customerIds`, `default_source`), with a type check against the producer's id field.
"""

from __future__ import annotations

from collections.abc import Callable

from crossfield.spec._interactions_facts import Link, Resource
from crossfield.spec._interactions_names import (
    GENERIC_NAMES,
    ID_SUFFIXES,
    norm,
    singular,
    singular_name,
    tokens,
)
from crossfield.spec._interactions_resources import (
    CUSTOM_METHOD,
    ResourceIndex,
    blank_path,
    is_param,
    param_name,
    view,
)
from crossfield.spec._source import escape_token, split_pointer
from crossfield.spec.model import Api, Evidence, Field, Operation


def _id_field(op: Operation, resource: Resource) -> str | None:
    """The response field of `op` that carries the new record's id."""
    v = view(op)
    paths = {f.path: f for f in v.shallow_response}
    paths.update((f.path, f) for _, f in v.record)
    cands = ["response.id"]
    if resource.id_parameter:
        cands.append("response." + resource.id_parameter.split(".", 1)[1])
    for stem in {resource.name, singular_name(resource.name)}:
        cands += [f"response.{stem}_id", f"response.{_camel(stem)}Id", f"response.{stem}.id"]
    cands += ["response.uuid", "response.data.id", "response.result.id", "response.item.id", "response.key"]
    for c in cands:
        if c in paths:
            return c
    for p, f in paths.items():
        if p.count(".") == 1 and f.format == "uuid":
            return p
    return None


def _list_id_field(op: Operation) -> str | None:
    for name, f in view(op).record:
        if name == "id" and "[]" in f.path:
            return f.path
    return None


def _camel(name: str) -> str:
    toks = tokens(name)
    return toks[0] + "".join(t.title() for t in toks[1:]) if toks else name


def _producer(index: ResourceIndex, resource: Resource) -> tuple[str, str, float] | None:
    api = index.api
    if resource.create:
        op = api.operation(resource.create)
        if op is not None:
            idf = _id_field(op, resource)
            if idf:
                return op.id, idf, 0.9
            if any(h.lower() == "location" for r in op.success_responses for h in r.headers):
                return op.id, "header.Location", 0.8
            if not (view(op).shallow_response or view(op).record):
                return op.id, "response.id", 0.5  # no documented response body: the id is implied
    if resource.list:
        op = api.operation(resource.list)
        if op is not None:
            idf = _list_id_field(op)
            if idf:
                return op.id, idf, 0.6
    return None


_TYPE_OK = {None, "string", "integer", "number", "array"}


def build_links(index: ResourceIndex) -> list[Link]:
    api = index.api
    links: dict[tuple[str, str, str, str], Link] = {}

    def add(link: Link) -> None:
        k = (link.producer, link.producer_field, link.consumer, link.consumer_field)
        old = links.get(k)
        if old is None or link.confidence > old.confidence:
            links[k] = link

    producers: dict[str, tuple[str, str, float] | None] = {}

    def producer_of(res: Resource) -> tuple[str, str, float] | None:
        if res.key not in producers:
            producers[res.key] = _producer(index, res)
        return producers[res.key]

    for op in api.operations:
        _openapi_links(api, op, add)
        # Location headers: the created record is read back through the item path.
        res = index.resource_of(op.id)
        info = index.info.get(op.id)
        if res is not None and info is not None and info.role == "create":
            for r in op.success_responses:
                if any(h.lower() == "location" for h in r.headers) and res.id_parameter:
                    for target in (res.read, res.update, res.delete):
                        if target and target != op.id:
                            add(
                                Link(
                                    op.id,
                                    "header.Location",
                                    target,
                                    res.id_parameter,
                                    "location_header",
                                    0.9,
                                    res.name,
                                    (Evidence(f"{r.pointer}/headers/Location"),),
                                )
                            )
        # Path parameters: `{x}` after a collection segment is an id of that collection's resource.
        segs = [s for s in op.path.split("/") if s]
        for i, seg in enumerate(segs):
            m = CUSTOM_METHOD.match(seg)
            seg_core = m.group(1) if m else seg
            if not is_param(seg_core) or i == 0:
                continue
            owner = index.by_key.get(blank_path(segs[:i]))
            if owner is None:
                continue
            prod = producer_of(owner)
            pname = param_name(seg_core)
            if prod is None or prod[0] == op.id:
                continue
            param = op.parameter("path", pname)
            if param is not None and not _compatible(api, prod, _param_type(param.schema)):
                continue
            add(
                Link(
                    prod[0],
                    prod[1],
                    op.id,
                    f"path.{pname}",
                    "path_structure",
                    prod[2],
                    owner.name,
                    (Evidence(param.pointer if param else op.pointer),),
                )
            )
        # Fields named after a resource: `customer`, `customer_id`, `customerIds`, `default_source`.
        for f in view(op).request:
            if f.location not in ("query", "body", "header") or f.type not in _TYPE_OK:
                continue
            if f.location == "body" and f.path.count(".") > 2:
                continue
            hit = _reference(index, f)
            if hit is None:
                continue
            ref_res, conf = hit
            prod = producer_of(ref_res)
            if prod is None or prod[0] == op.id:
                continue
            if not _compatible(api, prod, f.type):
                continue
            add(
                Link(
                    prod[0],
                    prod[1],
                    op.id,
                    f.path,
                    "name_match",
                    round(min(conf, prod[2]), 2),
                    ref_res.name,
                    (Evidence(f.pointer),),
                )
            )
    return list(links.values())


def _param_type(schema: object) -> str | None:
    if isinstance(schema, dict):
        t = schema.get("type")
        if isinstance(t, str):
            return t
    return None


def _compatible(api: Api, prod: tuple[str, str, float], consumer_type: str | None) -> bool:
    if consumer_type in (None, "string", "array"):
        return True
    f = api.field(prod[0], prod[1])
    if f is None or f.type is None:
        return True
    if consumer_type in ("integer", "number"):
        return f.type in ("integer", "number")
    return consumer_type == f.type


def _reference(index: ResourceIndex, f: Field) -> tuple[Resource, float] | None:
    toks = tokens(f.name)
    if not toks:
        return None
    has_suffix = toks[-1] in ID_SUFFIXES and len(toks) > 1
    stem = toks[:-1] if has_suffix else toks
    if not has_suffix and (norm(f.name) in GENERIC_NAMES or f.type not in (None, "string", "integer")):
        return None
    for k in range(len(stem)):
        cand = stem[k:]
        for variant in ("".join(cand), "".join((*cand[:-1], singular(cand[-1])))):
            res = index.by_name(variant)
            if res is not None:
                conf = (0.8 if has_suffix else 0.65) - 0.1 * k
                return res, conf
    return None


def _openapi_links(api: Api, op: Operation, add: Callable[[Link], None]) -> None:
    for resp in op.responses:
        for name, link in resp.links.items():
            target = _link_target(api, link)
            if target is None:
                continue
            ptr = f"{resp.pointer}/links/{escape_token(name)}"
            params = link.get("parameters")
            for pname, expr in params.items() if isinstance(params, dict) else ():
                producer_field = _expression_field(expr)
                if producer_field is None:
                    continue
                consumer_field = _consumer_param(target, str(pname))
                add(
                    Link(
                        op.id,
                        producer_field,
                        target.id,
                        consumer_field,
                        "openapi_link",
                        1.0,
                        None,
                        (Evidence(f"{ptr}/parameters/{escape_token(str(pname))}", f"{pname}: {expr}"),),
                    )
                )
            body = link.get("requestBody")
            if body is not None:
                producer_field = _expression_field(body)
                if producer_field is not None:
                    add(
                        Link(
                            op.id,
                            producer_field,
                            target.id,
                            "body",
                            "openapi_link",
                            1.0,
                            None,
                            (Evidence(f"{ptr}/requestBody", str(body)),),
                        )
                    )


def _link_target(api: Api, link: dict[str, object] | object) -> Operation | None:
    if not isinstance(link, dict):
        return None
    op_id = link.get("operationId")
    if isinstance(op_id, str):
        return api.operation(op_id)
    ref = link.get("operationRef")
    if isinstance(ref, str) and "#/paths/" in ref:
        toks = split_pointer(ref.split("#", 1)[1])
        if len(toks) >= 3:
            path, method = toks[1], toks[2].upper()
            for o in api.operations:
                if o.path == path and o.method == method:
                    return o
    return None


def _expression_field(expr: object) -> str | None:
    """`$response.body#/data/0/id` -> `response.data[].id`; `$response.header.Location` -> `header.Location`."""
    if not isinstance(expr, str):
        return None
    e = expr.strip()
    if e.startswith("{") and e.endswith("}"):
        e = e[1:-1]
    for prefix, loc in (("$response.body", "response"), ("$request.body", "body")):
        if e.startswith(prefix):
            ptr = e[len(prefix) :].lstrip("#")
            out = loc
            for tok in [t for t in ptr.split("/") if t]:
                out += "[]" if tok.isdigit() else "." + tok.replace("~1", "/").replace("~0", "~")
            return out
    for prefix, loc in (
        ("$response.header.", "header."),
        ("$request.path.", "path."),
        ("$request.query.", "query."),
        ("$request.header.", "header."),
    ):
        if e.startswith(prefix):
            return loc + e[len(prefix) :]
    return None


def _consumer_param(target: Operation, pname: str) -> str:
    if "." in pname:
        loc, _, name = pname.partition(".")
        if loc in ("path", "query", "header", "cookie"):
            return f"{loc}.{name}"
    for p in target.parameters:
        if p.name == pname:
            return p.field_path
    return f"path.{pname}"
