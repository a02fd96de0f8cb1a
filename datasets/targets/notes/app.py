"""Notes benchmark target: multi-user documents with ownership, sharing and a create rate limit.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import json
import math
import time
from collections import deque
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "read-other-users-document",
        "tag-filter-leaks-other-users-documents",
        "read-share-allows-edit",
        "owner-id-mass-assignment",
        "role-mass-assignment",
        "create-rate-limit-not-enforced",
        "title-max-length-ignored",
        "too-many-tags-accepted",
    }
)

TOKENS = {"alice-token": "usr_alice", "bob-token": "usr_bob", "carol-token": "usr_carol"}
SEED_USERS = (
    ("usr_alice", "Alice Liddell", "alice@example.com", "member"),
    ("usr_bob", "Bob Marley", "bob@example.com", "member"),
    ("usr_carol", "Carol Danvers", "carol@example.com", "admin"),
)

CREATE_LIMIT = 20
CREATE_WINDOW_SECONDS = 60.0
TITLE_MAX = 200
TAGS_MAX = 10

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


Tag = Annotated[str, Field(min_length=1, max_length=30, pattern=r"^[a-z0-9][a-z0-9-]*$")]


class DocumentCreate(_Strict):
    title: str = Field(min_length=1)
    body: str = Field(default="", max_length=20_000)
    tags: list[Tag] = Field(default_factory=list)


class DocumentUpdate(_Strict):
    title: str | None = Field(default=None, min_length=1)
    body: str | None = Field(default=None, max_length=20_000)
    tags: list[Tag] | None = None


class UserReplace(_Strict):
    name: str = Field(min_length=1, max_length=80)
    email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")


class ShareCreate(_Strict):
    user_id: str
    permission: Literal["read", "edit"] = "read"


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _parse(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "The request body must be a JSON object.")
    # Optional request fields may be omitted, but none of them is nullable.
    nulls = sorted(key for key, value in data.items() if value is None and key in model.model_fields)
    if nulls:
        raise ApiError(422, "validation_error", f"{', '.join(nulls)} must not be null.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        raise ApiError(422, "validation_error", _validation_message(exc.errors())) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(title="Notes API", version="0.9.0", openapi_url=None, docs_url=None, redoc_url=None)

    started = _now()
    users = {
        uid: {"id": uid, "name": name, "email": email, "role": role, "created_at": started}
        for uid, name, email, role in SEED_USERS
    }
    documents: dict[str, dict[str, Any]] = {}
    shares: dict[str, dict[str, dict[str, Any]]] = {}  # document id -> user id -> share
    recent_creates: dict[str, deque[float]] = {}
    counters = {"doc": 0}

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "validation_error", "message": _validation_message(list(exc.errors()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            # One route per method: list the methods of every route matching the path.
            allowed = {
                method
                for route in app.routes
                if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
                for method in route.methods
            }
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse({"code": code, "message": str(exc.detail)}, exc.status_code, headers=headers)

    async def current_user(authorization: Annotated[str | None, Header()] = None) -> dict[str, Any]:
        scheme, _, token = (authorization or "").partition(" ")
        user_id = TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
        if user_id is None:
            raise ApiError(
                401, "unauthorized", "Missing or invalid bearer token.", {"WWW-Authenticate": "Bearer"}
            )
        return users[user_id]

    CurrentUser = Annotated[dict[str, Any], Depends(current_user)]

    def validate_content(title: str | None, tags: list[str] | None) -> None:
        if title is not None and len(title) > TITLE_MAX and "title-max-length-ignored" not in bugs:
            raise ApiError(422, "validation_error", f"title must be at most {TITLE_MAX} characters.")
        if tags is not None:
            if len(tags) > TAGS_MAX and "too-many-tags-accepted" not in bugs:
                raise ApiError(422, "validation_error", f"A document can have at most {TAGS_MAX} tags.")
            if len(set(tags)) != len(tags):
                raise ApiError(422, "validation_error", "tags must be unique.")

    def access(user: dict[str, Any], document_id: str) -> str:
        """The caller's access level to a document: owner, edit, read; 404 when it has none."""
        document = documents.get(document_id)
        if document is not None:
            if document["owner_id"] == user["id"]:
                return "owner"
            share = shares[document_id].get(user["id"])
            if share is not None:
                return share["permission"]
            if user["role"] == "admin" or "read-other-users-document" in bugs:
                return "read"
        raise ApiError(404, "not_found", f"No such document: {document_id}")

    def require_owner(level: str) -> None:
        if level != "owner":
            raise ApiError(403, "forbidden", "Only the owner of the document can do this.")

    # ------------------------------------------------------------------ users

    @app.get("/users/me")
    async def get_current_user(user: CurrentUser) -> dict[str, Any]:
        return user

    @app.put("/users/me")
    async def replace_current_user(request: Request, user: CurrentUser) -> dict[str, Any]:
        body, data = await _parse(request, UserReplace)
        user["name"] = body.name
        user["email"] = body.email
        if "role-mass-assignment" in bugs and data.get("role") in ("member", "admin"):
            user["role"] = data["role"]
        return user

    # ------------------------------------------------------------------ documents

    @app.post("/documents", status_code=201)
    async def create_document(request: Request, user: CurrentUser) -> JSONResponse:
        now = time.monotonic()
        window = recent_creates.setdefault(user["id"], deque())
        while window and now - window[0] >= CREATE_WINDOW_SECONDS:
            window.popleft()
        if len(window) >= CREATE_LIMIT and "create-rate-limit-not-enforced" not in bugs:
            retry_after = max(1, math.ceil(CREATE_WINDOW_SECONDS - (now - window[0])))
            raise ApiError(
                429,
                "rate_limited",
                f"At most {CREATE_LIMIT} documents can be created per minute.",
                headers={"Retry-After": str(retry_after)},
            )
        body, data = await _parse(request, DocumentCreate)
        validate_content(body.title, body.tags)
        owner_id = user["id"]
        requested_owner = data.get("owner_id")
        if (
            "owner-id-mass-assignment" in bugs
            and isinstance(requested_owner, str)
            and requested_owner in users
        ):
            owner_id = requested_owner
        window.append(now)
        counters["doc"] += 1
        document_id = f"doc_{counters['doc']:06d}"
        stamp = _now()
        document = {
            "id": document_id,
            "owner_id": owner_id,
            "title": body.title,
            "body": body.body,
            "tags": body.tags,
            "created_at": stamp,
            "updated_at": stamp,
        }
        documents[document_id] = document
        shares[document_id] = {}
        headers = {
            "Location": f"/documents/{document_id}",
            "X-RateLimit-Limit": str(CREATE_LIMIT),
            "X-RateLimit-Remaining": str(max(0, CREATE_LIMIT - len(window))),
        }
        return JSONResponse(document, 201, headers=headers)

    @app.get("/documents")
    async def list_documents(
        user: CurrentUser,
        tag: Annotated[str | None, Query(min_length=1, max_length=30)] = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        if tag is not None and "tag-filter-leaks-other-users-documents" in bugs:
            # The tag filter replaces, rather than narrows, the owner filter.
            mine = [d for d in documents.values() if tag in d["tags"]]
        else:
            mine = [
                d
                for d in documents.values()
                if d["owner_id"] == user["id"] and (tag is None or tag in d["tags"])
            ]
        return {"data": mine[offset : offset + limit], "total": len(mine), "limit": limit, "offset": offset}

    @app.get("/documents/{document_id}")
    async def get_document(document_id: str, user: CurrentUser) -> dict[str, Any]:
        access(user, document_id)
        return documents[document_id]

    @app.patch("/documents/{document_id}")
    async def update_document(document_id: str, request: Request, user: CurrentUser) -> dict[str, Any]:
        level = access(user, document_id)
        if level == "read" and "read-share-allows-edit" in bugs and user["id"] in shares[document_id]:
            level = "edit"  # any share is treated as a grant to edit
        if level not in ("owner", "edit"):
            raise ApiError(403, "forbidden", "You have read-only access to this document.")
        body, _ = await _parse(request, DocumentUpdate)
        validate_content(body.title, body.tags)
        document = documents[document_id]
        for field in ("title", "body", "tags"):
            value = getattr(body, field)
            if value is not None:
                document[field] = value
        document["updated_at"] = _now()
        return document

    @app.delete("/documents/{document_id}", status_code=204)
    async def delete_document(document_id: str, user: CurrentUser) -> Response:
        require_owner(access(user, document_id))
        del documents[document_id]
        del shares[document_id]
        return Response(status_code=204)

    # ------------------------------------------------------------------ shares

    @app.get("/documents/{document_id}/shares")
    async def list_shares(document_id: str, user: CurrentUser) -> dict[str, Any]:
        access(user, document_id)
        data = list(shares[document_id].values())
        return {"data": data, "total": len(data)}

    @app.post("/documents/{document_id}/shares")
    async def share_document(document_id: str, request: Request, user: CurrentUser) -> JSONResponse:
        require_owner(access(user, document_id))
        body, _ = await _parse(request, ShareCreate)
        if body.user_id not in users:
            raise ApiError(422, "unknown_user", "user_id does not refer to an existing user.")
        if body.user_id == user["id"]:
            raise ApiError(422, "share_with_self", "You cannot share a document with yourself.")
        existing = shares[document_id].get(body.user_id)
        share = {"user_id": body.user_id, "permission": body.permission, "created_at": _now()}
        if existing is not None:
            share["created_at"] = existing["created_at"]
        shares[document_id][body.user_id] = share
        location = f"/documents/{document_id}/shares/{body.user_id}"
        return JSONResponse(share, 200 if existing else 201, headers={"Location": location})

    @app.delete("/documents/{document_id}/shares/{user_id}", status_code=204)
    async def revoke_share(document_id: str, user_id: str, user: CurrentUser) -> Response:
        require_owner(access(user, document_id))
        if user_id not in shares[document_id]:
            raise ApiError(404, "not_found", f"The document is not shared with {user_id}.")
        del shares[document_id][user_id]
        return Response(status_code=204)

    return app
