"""Normalizing Postman Collection v2.1 files: requests become operations, example bodies become schemas.

Postman has no schemas, so request and response bodies are inferred from the examples the collection
carries (`{{var}}` placeholders count as strings). Path segments written `:id` or `{{id}}` become
`{id}` path parameters.
"""

from __future__ import annotations

import json
import re
from collections.abc import Iterator, Mapping
from typing import Any

from crossfield.spec._fields import FieldFactory, flatten
from crossfield.spec.model import Api, Field, Operation, OperationError, Parameter, Response

_VAR = re.compile(r"^\{\{\s*([^}]+?)\s*\}\}$")
_UUID = re.compile(r"^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$", re.I)
_DATETIME = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")
_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_EMAIL = re.compile(r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


def is_postman(doc: Any) -> bool:
    if not isinstance(doc, Mapping):
        return False
    info = doc.get("info")
    return isinstance(info, Mapping) and "getpostman.com" in str(info.get("schema", "")) and "item" in doc


def normalize_postman(doc: Mapping[str, Any], *, content_hash: str, source_path: str) -> Api:
    info = doc["info"]
    operations: list[Operation] = []
    errors: list[OperationError] = []
    seen: set[str] = set()
    for item, pointer in _requests(doc.get("item") or [], "/item"):
        try:
            op = _operation(item, pointer)
        except (TypeError, ValueError, AttributeError, KeyError) as exc:
            errors.append(OperationError(pointer, f"malformed request: {exc}"))
            continue
        if op.id in seen:
            continue  # the same endpoint saved twice: keep the first
        seen.add(op.id)
        operations.append(op)
    variables = {v.get("key"): v.get("value") for v in doc.get("variable") or [] if isinstance(v, Mapping)}
    base = variables.get("baseUrl") or variables.get("base_url")
    return Api(
        title=str(info.get("name") or "Postman collection"),
        version=str(info.get("version") or ""),
        description=_text(info.get("description")),
        source_format="postman-2.1",
        content_hash=content_hash,
        source_path=source_path,
        servers=(str(base),) if base else (),
        operations=tuple(operations),
        errors=tuple(errors),
    )


def _requests(items: list[Any], pointer: str) -> Iterator[tuple[Mapping[str, Any], str]]:
    for i, item in enumerate(items):
        if not isinstance(item, Mapping):
            continue
        here = f"{pointer}/{i}"
        if "item" in item:
            yield from _requests(item.get("item") or [], here + "/item")
        elif "request" in item:
            yield item, here


def _operation(item: Mapping[str, Any], pointer: str) -> Operation:
    request = item["request"]
    if isinstance(request, str):
        request = {"method": "GET", "url": request}
    method = str(request.get("method") or "GET").upper()
    url = request.get("url") or ""
    segments, query = _url_parts(url)
    path_params: list[str] = []
    norm: list[str] = []
    for seg in segments:
        m = _VAR.match(seg)
        if seg.startswith(":"):
            name = seg[1:]
        elif m:
            name = m.group(1)
        else:
            norm.append(seg)
            continue
        path_params.append(name)
        norm.append("{" + name + "}")
    path = "/" + "/".join(norm)
    params: list[Parameter] = [
        Parameter(
            name=n,
            location="path",
            required=True,
            schema={"type": "string"},
            pointer=f"{pointer}/request/url",
        )
        for n in path_params
    ]
    for q in query:
        value = q.get("value")
        params.append(
            Parameter(
                name=str(q.get("key")),
                location="query",
                required=not q.get("disabled", False),
                schema=infer_schema(_coerce(value)),
                description=_text(q.get("description")),
                pointer=f"{pointer}/request/url/query",
            )
        )
    for h in request.get("header") or []:
        if not isinstance(h, Mapping) or str(h.get("key", "")).lower() in (
            "content-type",
            "accept",
            "authorization",
        ):
            continue
        params.append(
            Parameter(
                name=str(h.get("key")),
                location="header",
                required=not h.get("disabled", False),
                schema={"type": "string"},
                description=_text(h.get("description")),
                pointer=f"{pointer}/request/header",
            )
        )
    body: dict[str, Mapping[str, Any]] = {}
    raw_body = request.get("body")
    if isinstance(raw_body, Mapping):
        mode = raw_body.get("mode")
        if mode == "raw":
            example = _parse_json(raw_body.get("raw"))
            if example is not None:
                body["application/json"] = infer_schema(example)
        elif mode in ("urlencoded", "formdata"):
            example = {
                str(p.get("key")): _coerce(p.get("value"))
                for p in raw_body.get(mode) or []
                if isinstance(p, Mapping)
            }
            media = "application/x-www-form-urlencoded" if mode == "urlencoded" else "multipart/form-data"
            body[media] = infer_schema(example)
    responses: list[Response] = []
    for j, resp in enumerate(item.get("response") or []):
        if not isinstance(resp, Mapping):
            continue
        code = str(resp.get("code") or "200")
        example = _parse_json(resp.get("body"))
        content = {"application/json": infer_schema(example)} if example is not None else {}
        if any(r.status == code for r in responses):
            continue
        responses.append(
            Response(
                status=code,
                description=str(resp.get("name") or ""),
                content=content,
                pointer=f"{pointer}/response/{j}",
            )
        )
    op = Operation(
        id=f"{method} {path}",
        method=method,
        path=path,
        summary=str(item.get("name") or ""),
        description=_text(request.get("description")),
        parameters=tuple(params),
        request_body=body,
        request_body_required=bool(body),
        responses=tuple(responses),
        pointer=pointer,
    )
    factory = FieldFactory({})
    fields: list[Field] = [
        factory.field(
            p.field_path,
            p.location,
            p.name,
            p.schema,
            required=p.required,
            pointer=p.pointer,
            description=p.description,
        )
        for p in params
    ]
    if op.body_schema is not None:
        fields.extend(
            flatten(
                op.body_schema,
                {},
                prefix="body",
                location="body",
                pointer=f"{pointer}/request/body",
                factory=factory,
            )
        )
    if op.success_schema is not None:
        fields.extend(
            flatten(
                op.success_schema,
                {},
                prefix="response",
                location="response",
                pointer=f"{pointer}/response",
                factory=factory,
            )
        )
    from dataclasses import replace

    return replace(op, fields=tuple(fields))


def _url_parts(url: Any) -> tuple[list[str], list[Mapping[str, Any]]]:
    if isinstance(url, Mapping):
        path = url.get("path") or []
        if isinstance(path, str):
            path = path.split("/")
        segments = [str(s if not isinstance(s, Mapping) else s.get("value", "")) for s in path]
        query = [q for q in url.get("query") or [] if isinstance(q, Mapping)]
        if not segments and url.get("raw"):
            return _url_parts(str(url["raw"]))
        return [s for s in segments if s], query
    raw = str(url)
    raw = re.sub(r"^\{\{[^}]+\}\}", "", raw)  # {{baseUrl}}/users
    raw = re.sub(r"^[a-z]+://[^/]+", "", raw)
    path, _, qs = raw.partition("?")
    query = []
    for part in qs.split("&") if qs else []:
        k, _, v = part.partition("=")
        query.append({"key": k, "value": v})
    return [s for s in path.split("/") if s], query


def infer_schema(example: Any) -> dict[str, Any]:
    """A JSON Schema that the example satisfies: types, required keys, common string formats."""
    if isinstance(example, bool):
        return {"type": "boolean", "examples": [example]}
    if isinstance(example, int):
        return {"type": "integer", "examples": [example]}
    if isinstance(example, float):
        return {"type": "number", "examples": [example]}
    if isinstance(example, str):
        schema: dict[str, Any] = {"type": "string"}
        if _VAR.match(example):
            return schema
        for fmt, rx in (("uuid", _UUID), ("date-time", _DATETIME), ("date", _DATE), ("email", _EMAIL)):
            if rx.match(example):
                schema["format"] = fmt
                break
        schema["examples"] = [example]
        return schema
    if isinstance(example, list):
        return {"type": "array", "items": infer_schema(example[0]) if example else {}}
    if isinstance(example, Mapping):
        return {
            "type": "object",
            "properties": {str(k): infer_schema(v) for k, v in example.items()},
            "required": [str(k) for k in example],
        }
    return {}


def _coerce(value: Any) -> Any:
    if not isinstance(value, str):
        return value
    if re.fullmatch(r"-?\d+", value):
        return int(value)
    if re.fullmatch(r"-?\d+\.\d+", value):
        return float(value)
    if value in ("true", "false"):
        return value == "true"
    return value


def _parse_json(raw: Any) -> Any:
    if not isinstance(raw, str) or not raw.strip():
        return None
    # Postman bodies often hold {{var}} placeholders outside of strings: make them strings first.
    text = re.sub(r'(?<!")\{\{([^}]+)\}\}(?!")', r'"{{\1}}"', raw)
    try:
        return json.loads(text)
    except json.JSONDecodeError:
        return None


def _text(v: Any) -> str:
    if isinstance(v, Mapping):
        return str(v.get("content") or "")
    return str(v or "")
