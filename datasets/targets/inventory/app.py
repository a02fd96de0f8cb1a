"""Inventory benchmark target: a product catalog with stock levels and customer orders.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import json
import weakref
from datetime import UTC, datetime
from typing import Annotated, Any, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "oversell-under-concurrency",
        "order-total-ignores-quantity",
        "cancel-restores-stock-twice",
        "cursor-repeats-boundary-item",
        "duplicate-lines-bypass-stock",
        "cancel-other-users-order",
        "negative-quantity-accepted",
        "negative-price-accepted",
    }
)

TOKENS = {"alice-token": "usr_alice", "bob-token": "usr_bob"}

# Simulated latency of the warehouse reservation call made while placing an order.
RESERVATION_LATENCY = 0.01

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str, headers: dict[str, str] | None = None):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.headers = headers


class LoopLock:
    """An asyncio.Lock per running event loop (TestClient may use several loops)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class ProductCreate(_Strict):
    sku: str = Field(pattern=r"^[A-Z0-9][A-Z0-9-]{2,31}$")
    name: str = Field(min_length=1, max_length=120)
    price: int = Field(le=1_000_000)
    stock: int = Field(ge=0, le=100_000)


class OrderItemCreate(_Strict):
    product_id: str
    quantity: int = Field(le=1000)


class OrderCreate(_Strict):
    items: list[OrderItemCreate] = Field(min_length=1, max_length=50)
    note: str | None = Field(default=None, max_length=500)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _parse(request: Request, model: type[M]) -> M:
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
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(422, "validation_error", _validation_message(exc.errors())) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(title="Inventory API", version="3.0.2", openapi_url=None, docs_url=None, redoc_url=None)

    products: dict[str, dict[str, Any]] = {}
    orders: dict[str, dict[str, Any]] = {}
    order_owner: dict[str, str] = {}
    counters = {"product": 0, "order": 0}
    stock_lock = LoopLock()

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

    async def current_user(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        user = TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(
                401, "unauthorized", "Missing or invalid bearer token.", {"WWW-Authenticate": "Bearer"}
            )
        return user

    User = Annotated[str, Depends(current_user)]
    Limit = Annotated[int, Query(ge=1, le=100)]

    def cursor_page(
        items: list[dict[str, Any]], limit: int, starting_after: str | None, *, inclusive: bool = False
    ) -> dict[str, Any]:
        start = 0
        if starting_after is not None:
            ids = [item["id"] for item in items]
            if starting_after not in ids:
                raise ApiError(
                    422, "invalid_cursor", "starting_after does not refer to an object in this list."
                )
            start = ids.index(starting_after) + (0 if inclusive else 1)
        data = items[start : start + limit]
        return {"data": data, "has_more": start + limit < len(items)}

    # ------------------------------------------------------------------ products

    @app.post("/products", status_code=201)
    async def create_product(request: Request, user: User) -> JSONResponse:
        body = await _parse(request, ProductCreate)
        if body.price < 0 and "negative-price-accepted" not in bugs:
            raise ApiError(422, "validation_error", "price must be at least 0.")
        if any(p["sku"] == body.sku for p in products.values()):
            raise ApiError(409, "duplicate_sku", f"A product with sku {body.sku} already exists.")
        counters["product"] += 1
        product_id = f"prod_{counters['product']:06d}"
        now = _now()
        product = {"id": product_id, **body.model_dump(), "created_at": now, "updated_at": now}
        products[product_id] = product
        return JSONResponse(product, 201, headers={"Location": f"/products/{product_id}"})

    @app.get("/products")
    async def list_products(
        user: User, limit: Limit = 20, starting_after: Annotated[str | None, Query(min_length=1)] = None
    ) -> dict[str, Any]:
        inclusive = "cursor-repeats-boundary-item" in bugs
        return cursor_page(list(products.values()), limit, starting_after, inclusive=inclusive)

    @app.get("/products/{product_id}")
    async def get_product(product_id: str, user: User) -> dict[str, Any]:
        product = products.get(product_id)
        if product is None:
            raise ApiError(404, "not_found", f"No such product: {product_id}")
        return product

    # ------------------------------------------------------------------ orders

    def own_order(user: str, order_id: str, *, check_owner: bool = True) -> dict[str, Any]:
        order = orders.get(order_id)
        if order is None or (check_owner and order_owner[order_id] != user):
            raise ApiError(404, "not_found", f"No such order: {order_id}")
        return order

    @app.post("/orders", status_code=201)
    async def create_order(request: Request, user: User) -> JSONResponse:
        body = await _parse(request, OrderCreate)
        seen: set[str] = set()
        for index, item in enumerate(body.items):
            if item.quantity < 1 and "negative-quantity-accepted" not in bugs:
                raise ApiError(422, "validation_error", f"items.{index}.quantity must be at least 1.")
            if item.product_id not in products:
                raise ApiError(422, "unknown_product", f"items.{index}.product_id: no such product.")
            if item.product_id in seen and "duplicate-lines-bypass-stock" not in bugs:
                raise ApiError(
                    422, "duplicate_product", f"items.{index}: each product may appear only once per order."
                )
            seen.add(item.product_id)

        lock = NoLock() if "oversell-under-concurrency" in bugs else stock_lock.get()
        async with lock:
            # Read: check availability of every line.
            wanted: dict[str, int] = {}
            for item in body.items:
                if "duplicate-lines-bypass-stock" in bugs:
                    wanted[item.product_id] = item.quantity  # each line checked on its own
                else:
                    wanted[item.product_id] = wanted.get(item.product_id, 0) + item.quantity
            for product_id, quantity in wanted.items():
                if quantity > products[product_id]["stock"]:
                    raise ApiError(
                        409,
                        "insufficient_stock",
                        f"Only {products[product_id]['stock']} units of {product_id} left.",
                    )
            await asyncio.sleep(RESERVATION_LATENCY)  # reserve with the warehouse
            # Write: decrement stock.
            now = _now()
            for item in body.items:
                product = products[item.product_id]
                product["stock"] -= item.quantity
                product["updated_at"] = now

        lines = [
            {
                "product_id": item.product_id,
                "sku": products[item.product_id]["sku"],
                "quantity": item.quantity,
                "unit_price": products[item.product_id]["price"],
                "line_total": item.quantity * products[item.product_id]["price"],
            }
            for item in body.items
        ]
        if "order-total-ignores-quantity" in bugs:
            total = sum(line["unit_price"] for line in lines)
        else:
            total = sum(line["line_total"] for line in lines)
        counters["order"] += 1
        order_id = f"ord_{counters['order']:06d}"
        order = {
            "id": order_id,
            "customer_id": user,
            "status": "placed",
            "items": lines,
            "total": total,
            "note": body.note,
            "created_at": now,
            "canceled_at": None,
        }
        orders[order_id] = order
        order_owner[order_id] = user
        return JSONResponse(order, 201, headers={"Location": f"/orders/{order_id}"})

    @app.get("/orders")
    async def list_orders(
        user: User, limit: Limit = 20, starting_after: Annotated[str | None, Query(min_length=1)] = None
    ) -> dict[str, Any]:
        mine = [o for o in orders.values() if order_owner[o["id"]] == user]
        return cursor_page(mine, limit, starting_after)

    @app.get("/orders/{order_id}")
    async def get_order(order_id: str, user: User) -> dict[str, Any]:
        return own_order(user, order_id)

    @app.post("/orders/{order_id}/cancel")
    async def cancel_order(order_id: str, user: User) -> dict[str, Any]:
        order = own_order(user, order_id, check_owner="cancel-other-users-order" not in bugs)
        async with stock_lock.get():
            if order["status"] == "canceled" and "cancel-restores-stock-twice" not in bugs:
                raise ApiError(409, "order_canceled", "The order is already canceled.")
            now = _now()
            for line in order["items"]:
                product = products[line["product_id"]]
                product["stock"] += line["quantity"]
                product["updated_at"] = now
            order["status"] = "canceled"
            order["canceled_at"] = now
        return order

    return app
