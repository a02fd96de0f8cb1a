"""Normalizing OpenAPI 2.0 (Swagger), 3.0 and 3.1 documents into the spec model."""

from __future__ import annotations

from collections.abc import Mapping
from pathlib import Path
from typing import Any, cast

from crossfield.errors import SpecError, UnsupportedVersionError
from crossfield.spec._fields import FieldFactory, flatten
from crossfield.spec._refs import Location, Resolver
from crossfield.spec._schema import SchemaConverter
from crossfield.spec._source import escape_token, line_of
from crossfield.spec.model import (
    HTTP_METHODS,
    Api,
    Field,
    Operation,
    OperationError,
    Parameter,
    Response,
    SecurityScheme,
)

_PARAM_LOCATIONS = ("path", "query", "header", "cookie")
_FORM_MEDIA = "application/x-www-form-urlencoded"


def detect_dialect(doc: Mapping[str, Any], file: str) -> str:
    """ "2.0", "3.0" or "3.1" for an OpenAPI document; raises for other versions."""
    if "swagger" in doc:
        version = str(doc["swagger"])
        if version.startswith("2."):
            return "2.0"
        raise UnsupportedVersionError(
            f"Swagger version {version!r} is not supported",
            file=file,
            line=line_of(Path(file), "/swagger"),
            pointer="/swagger",
            hint="crossfield reads Swagger 2.0 and OpenAPI 3.0/3.1",
        )
    version = str(doc.get("openapi"))
    if version.startswith("3.0"):
        return "3.0"
    if version.startswith("3.1") or version.startswith("3.2"):
        return "3.1"
    raise UnsupportedVersionError(
        f"OpenAPI version {version!r} is not supported",
        file=file,
        line=line_of(Path(file), "/openapi"),
        pointer="/openapi",
        hint="crossfield reads Swagger 2.0 and OpenAPI 3.0/3.1",
    )


def normalize_openapi(
    doc: Mapping[str, Any], resolver: Resolver, *, content_hash: str, source_path: str
) -> Api:
    dialect = detect_dialect(doc, source_path)
    converter = SchemaConverter(resolver, dialect=dialect)
    factory = FieldFactory(converter.defs, converter.sources)
    root = resolver.root_uri
    info = doc.get("info") if isinstance(doc.get("info"), Mapping) else {}
    info = cast(Mapping[str, Any], info)
    operations: list[Operation] = []
    errors: list[OperationError] = []
    seen_ids: set[str] = set()
    paths = doc.get("paths") or {}
    if not isinstance(paths, Mapping):
        paths = {}
    global_security = _security(doc.get("security"))
    first_error: SpecError | None = None
    for raw_path, path_item_raw in paths.items():
        path_pointer = "/paths/" + escape_token(str(raw_path))
        try:
            path_item, path_where = resolver.deref(path_item_raw, Location(root, path_pointer))
        except SpecError as exc:
            errors.append(OperationError(path_pointer, exc.message, exc.line))
            first_error = first_error or exc
            continue
        if not isinstance(path_item, Mapping):
            continue
        shared_params = path_item.get("parameters") or []
        for method in HTTP_METHODS:
            raw_op = path_item.get(method)
            if raw_op is None:
                continue
            pointer = f"{path_where.pointer}/{method}"
            try:
                op = _operation(
                    str(raw_path),
                    method,
                    raw_op,
                    shared_params,
                    resolver,
                    converter,
                    Location(path_where.uri, pointer),
                    dialect,
                    doc,
                    global_security,
                    factory,
                )
            except SpecError as exc:
                errors.append(OperationError(pointer, exc.message, exc.line))
                first_error = first_error or exc
                continue
            except (TypeError, ValueError, AttributeError, KeyError) as exc:
                errors.append(OperationError(pointer, f"malformed operation: {exc}"))
                continue
            if op.id in seen_ids:
                op = _with_id(op, f"{method.upper()} {raw_path}")
            seen_ids.add(op.id)
            operations.append(op)
    if first_error is not None and not operations:
        raise first_error  # nothing could be read: the spec as a whole is unusable
    return Api(
        title=str(info.get("title") or Path(source_path).stem),
        version=str(info.get("version") or ""),
        description=str(info.get("description") or ""),
        source_format=f"openapi-{dialect}" if dialect != "2.0" else "openapi-2.0",
        content_hash=content_hash,
        source_path=source_path,
        servers=_servers(doc, dialect),
        security_schemes=_security_schemes(doc, dialect),
        security=global_security or (),
        operations=tuple(operations),
        errors=tuple(errors),
        schema_defs=converter.defs,
    )


def _with_id(op: Operation, new_id: str) -> Operation:
    from dataclasses import replace

    return replace(op, id=new_id)


def _operation(
    path: str,
    method: str,
    raw: Any,
    shared_params: Any,
    resolver: Resolver,
    converter: SchemaConverter,
    where: Location,
    dialect: str,
    doc: Mapping[str, Any],
    global_security: tuple[Mapping[str, tuple[str, ...]], ...] | None,
    factory: FieldFactory,
) -> Operation:
    if not isinstance(raw, Mapping):
        raise SpecError(
            f"operation is a {type(raw).__name__}, not an object", file=where.uri, pointer=where.pointer
        )
    op_id = raw.get("operationId")
    op_id = str(op_id) if op_id else f"{method.upper()} {path}"
    parameters: dict[tuple[str, str], Parameter] = {}
    body: dict[str, Mapping[str, Any]] = {}
    body_required = False
    body_pointer: str | None = None
    form_props: dict[str, Any] = {}
    form_required: list[str] = []
    form_pointers: dict[str, str] = {}
    param_sources = [
        (p, Location(where.uri, where.pointer.rsplit("/", 1)[0] + f"/parameters/{i}"))
        for i, p in enumerate(shared_params if isinstance(shared_params, list) else [])
    ] + [
        (p, Location(where.uri, where.pointer + f"/parameters/{i}"))
        for i, p in enumerate(raw.get("parameters") or [])
    ]
    for raw_param, p_where in param_sources:
        param, p_where = resolver.deref(raw_param, p_where)
        if not isinstance(param, Mapping):
            continue
        location = param.get("in")
        name = str(param.get("name", ""))
        if dialect == "2.0" and location == "body":
            schema = converter.convert(
                param.get("schema") or {}, Location(p_where.uri, p_where.pointer + "/schema")
            )
            for media in _consumes(raw, doc):
                body[media] = schema
            body_required = bool(param.get("required"))
            body_pointer = p_where.pointer + "/schema"
            continue
        if dialect == "2.0" and location == "formData":
            form_props[name] = _swagger2_param_schema(param, converter, p_where)
            form_pointers[name] = p_where.pointer
            if param.get("required"):
                form_required.append(name)
            continue
        if location not in _PARAM_LOCATIONS:
            continue
        if dialect == "2.0":
            schema = _swagger2_param_schema(param, converter, p_where)
        elif "schema" in param:
            schema = converter.convert(param["schema"], Location(p_where.uri, p_where.pointer + "/schema"))
        elif isinstance(param.get("content"), Mapping) and param["content"]:
            media, media_obj = next(iter(param["content"].items()))
            schema = converter.convert(
                (media_obj or {}).get("schema") or {},
                Location(p_where.uri, p_where.pointer + f"/content/{escape_token(media)}/schema"),
            )
        else:
            schema = {}
        if "description" in param and "description" not in schema:
            schema = {**schema, "description": param["description"]}
        parameters[(location, name)] = Parameter(
            name=name,
            location=location,
            required=bool(param.get("required")) or location == "path",
            schema=schema,
            description=str(param.get("description") or ""),
            pointer=p_where.pointer,
            deprecated=bool(param.get("deprecated")),
        )
    if form_props:
        media_types = [m for m in _consumes(raw, doc) if "form" in m] or [_FORM_MEDIA]
        form_schema: dict[str, Any] = {"type": "object", "properties": form_props}
        if form_required:
            form_schema["required"] = form_required
        for media in media_types:
            body[media] = form_schema
        body_pointer = where.pointer + "/parameters"
    body_examples: tuple[Any, ...] = ()
    if dialect != "2.0" and raw.get("requestBody") is not None:
        rb, rb_where = resolver.deref(raw["requestBody"], Location(where.uri, where.pointer + "/requestBody"))
        if isinstance(rb, Mapping):
            body_required = bool(rb.get("required"))
            for media, media_obj in (rb.get("content") or {}).items():
                schema_node = (media_obj or {}).get("schema") if isinstance(media_obj, Mapping) else None
                body[str(media)] = converter.convert(
                    schema_node or {},
                    Location(rb_where.uri, rb_where.pointer + f"/content/{escape_token(str(media))}/schema"),
                )
            chosen = _pick_body_media(body)
            if chosen is not None:
                body_pointer = rb_where.pointer + f"/content/{escape_token(chosen)}/schema"
                media_obj = (rb.get("content") or {}).get(chosen)
                if isinstance(media_obj, Mapping):
                    body_examples = _media_examples(media_obj, resolver, rb_where)
    responses = _responses(raw, resolver, converter, where, dialect, doc)
    security = _security(raw.get("security"))
    op = Operation(
        id=op_id,
        method=method.upper(),
        path=path,
        summary=str(raw.get("summary") or ""),
        description=str(raw.get("description") or ""),
        tags=tuple(str(t) for t in raw.get("tags") or ()),
        parameters=tuple(parameters.values()),
        request_body=body,
        request_body_required=body_required,
        responses=responses,
        security=security if security is not None else global_security,
        deprecated=bool(raw.get("deprecated")),
        pointer=where.pointer,
        body_examples=body_examples,
    )
    return _with_fields(op, factory, body_pointer, dialect, form_pointers)


def _media_examples(media: Mapping[str, Any], resolver: Any, where: Location) -> tuple[Any, ...]:
    """A media type's `example`, then the `value` of each of its `examples` (following `$ref`s)."""
    out: list[Any] = []
    if "example" in media:
        out.append(media["example"])
    named = media.get("examples")
    if isinstance(named, Mapping):
        for key, entry in named.items():
            try:
                found, _ = resolver.deref(entry, Location(where.uri, f"{where.pointer}/examples/{key}"))
            except SpecError:  # an unresolvable example is only a missing hint
                continue
            if isinstance(found, Mapping) and "value" in found:
                out.append(found["value"])
    return tuple(out[:5])


def _with_fields(
    op: Operation,
    factory: FieldFactory,
    body_pointer: str | None,
    dialect: str,
    form_pointers: Mapping[str, str] | None = None,
) -> Operation:
    from dataclasses import replace

    fields: list[Field] = []
    for p in op.parameters:
        fields.append(
            factory.field(
                p.field_path,
                p.location,
                p.name,
                p.schema,
                required=p.required,
                pointer=p.pointer,
                description=p.description,
            )
        )
    body = op.body_schema
    if body is not None:
        if body_pointer is None:
            media = op.body_media_type or "application/json"
            body_pointer = f"{op.pointer}/requestBody/content/{escape_token(media)}/schema"
        flat = flatten(
            body, factory.defs, prefix="body", location="body", pointer=body_pointer, factory=factory
        )
        if form_pointers:  # Swagger 2.0 form fields are parameters: point at each one
            flat = [
                replace(f, pointer=form_pointers[f.name])
                if f.path == f"body.{f.name}" and f.name in form_pointers
                else f
                for f in flat
            ]
        fields.extend(flat)
    for r in op.success_responses:
        for media, schema in r.content.items():
            if _is_json_media(media):
                pointer = (
                    f"{r.pointer}/schema"
                    if dialect == "2.0"
                    else f"{r.pointer}/content/{escape_token(media)}/schema"
                )
                fields.extend(
                    flatten(
                        schema,
                        factory.defs,
                        prefix="response",
                        location="response",
                        pointer=pointer,
                        factory=factory,
                    )
                )
                return replace(op, fields=tuple(fields))
    return replace(op, fields=tuple(fields))


def _pick_body_media(body: Mapping[str, Any]) -> str | None:
    """The media type whose schema `Operation.body_schema` returns."""
    for media in body:
        if _is_json_media(media):
            return media
    for media in ("application/x-www-form-urlencoded", "multipart/form-data"):
        if media in body:
            return media
    return None


def _is_json_media(media: str) -> bool:
    base = media.split(";", 1)[0].strip().lower()
    return base == "application/json" or base.endswith("+json") or base == "*/*"


def _swagger2_param_schema(
    param: Mapping[str, Any], converter: SchemaConverter, where: Location
) -> dict[str, Any]:
    keys = (
        "type",
        "format",
        "items",
        "enum",
        "default",
        "minimum",
        "maximum",
        "exclusiveMinimum",
        "exclusiveMaximum",
        "minLength",
        "maxLength",
        "pattern",
        "minItems",
        "maxItems",
        "uniqueItems",
        "multipleOf",
        "description",
        "x-nullable",
    )
    raw = {k: param[k] for k in keys if k in param}
    if "x-example" in param:
        raw["example"] = param["x-example"]
    return converter.convert(raw, where)


def _consumes(raw: Mapping[str, Any], doc: Mapping[str, Any]) -> list[str]:
    consumes = raw.get("consumes") or doc.get("consumes") or ["application/json"]
    return [str(c) for c in consumes]


def _responses(
    raw: Mapping[str, Any],
    resolver: Resolver,
    converter: SchemaConverter,
    where: Location,
    dialect: str,
    doc: Mapping[str, Any],
) -> tuple[Response, ...]:
    out: list[Response] = []
    responses = raw.get("responses") or {}
    if not isinstance(responses, Mapping):
        return ()
    for status, resp_raw in responses.items():
        r_where = Location(where.uri, where.pointer + "/responses/" + escape_token(str(status)))
        resp, r_where = resolver.deref(resp_raw, r_where)
        if not isinstance(resp, Mapping):
            continue
        content: dict[str, Mapping[str, Any]] = {}
        if dialect == "2.0":
            if "schema" in resp:
                schema = converter.convert(resp["schema"], Location(r_where.uri, r_where.pointer + "/schema"))
                produces = raw.get("produces") or doc.get("produces") or ["application/json"]
                for media in produces:
                    content[str(media)] = schema
        else:
            for media, media_obj in (resp.get("content") or {}).items():
                schema_node = (media_obj or {}).get("schema") if isinstance(media_obj, Mapping) else None
                if schema_node is None:
                    continue
                content[str(media)] = converter.convert(
                    schema_node,
                    Location(r_where.uri, r_where.pointer + f"/content/{escape_token(str(media))}/schema"),
                )
        links = resp.get("links") if isinstance(resp.get("links"), Mapping) else {}
        resolved_links: dict[str, Mapping[str, Any]] = {}
        for name, link in (links or {}).items():
            link_node, _ = resolver.deref(
                link, Location(r_where.uri, r_where.pointer + f"/links/{escape_token(str(name))}")
            )
            if isinstance(link_node, Mapping):
                resolved_links[str(name)] = dict(link_node)
        out.append(
            Response(
                status=str(status),
                description=str(resp.get("description") or ""),
                content=content,
                headers=tuple(str(h) for h in (resp.get("headers") or {})),
                links=resolved_links,
                pointer=r_where.pointer,
            )
        )
    return tuple(out)


def _security(raw: Any) -> tuple[Mapping[str, tuple[str, ...]], ...] | None:
    if not isinstance(raw, list):
        return None
    out: list[Mapping[str, tuple[str, ...]]] = []
    for req in raw:
        if isinstance(req, Mapping):
            out.append({str(k): tuple(str(s) for s in (v or ())) for k, v in req.items()})
    return tuple(out)


def _servers(doc: Mapping[str, Any], dialect: str) -> tuple[str, ...]:
    if dialect == "2.0":
        host = doc.get("host")
        if not host:
            return ()
        schemes = doc.get("schemes") or ["https"]
        base = doc.get("basePath") or ""
        return tuple(f"{s}://{host}{base}" for s in schemes)
    servers = doc.get("servers") or []
    return tuple(str(s.get("url")) for s in servers if isinstance(s, Mapping) and s.get("url"))


def _security_schemes(doc: Mapping[str, Any], dialect: str) -> tuple[SecurityScheme, ...]:
    if dialect == "2.0":
        raw = doc.get("securityDefinitions") or {}
    else:
        raw = (doc.get("components") or {}).get("securitySchemes") or {}
    out: list[SecurityScheme] = []
    for name, s in raw.items() if isinstance(raw, Mapping) else ():
        if not isinstance(s, Mapping):
            continue
        kind = str(s.get("type") or "")
        scheme = s.get("scheme")
        if kind == "basic":  # Swagger 2.0
            kind, scheme = "http", "basic"
        out.append(
            SecurityScheme(
                name=str(name),
                type=kind,
                location=s.get("in"),
                parameter_name=s.get("name"),
                scheme=str(scheme).lower() if scheme else None,
                description=str(s.get("description") or ""),
            )
        )
    return tuple(out)
