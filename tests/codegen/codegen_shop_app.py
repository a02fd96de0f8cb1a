"""A tiny shop API with one switchable bug per risk category, for end-to-end codegen tests.

`create_app()` is correct; `create_app(BUGS)` (or any subset) switches seeded defects on. The OpenAPI
document the tests compile against is `create_app().openapi()`, so the spec always matches the correct
app. Identities: alice (`Authorization: Bearer alice-token`), bob (`X-API-Key: bob-key`) and carol (logs
in with POST /login).
"""

import asyncio
import hashlib
import json
from datetime import datetime
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, Header, HTTPException, Query, Request
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field

BUGS = frozenset(
    {
        "coupon-and-gift-card",  # inter_parameter / only_one
        "scheduled-without-date",  # inter_parameter / requires
        "ship-unpaid",  # state_transition
        "replay-duplicates",  # idempotency: a replay creates a second order
        "key-reuse-accepted",  # idempotency: same key, different body accepted
        "total-ignores-quantity",  # arithmetic_invariant: total = sum of prices
        "refund-exceeds-total",  # arithmetic_invariant: refunds beyond the total accepted
        "offset-skips",  # pagination: offset skips one item
        "oversell",  # concurrency: stock check and decrement race
        "orders-readable-by-anyone",  # authorization
        "end-before-start",  # temporal_ordering
        "role-assignable",  # mass_assignment
        "no-rate-limit",  # rate_limiting
        "zero-quantity",  # input_validation
    }
)

TOKENS = {"alice-token": "alice"}
API_KEYS = {"bob-key": "bob"}
USERS = {"carol": "pw"}
RATE_LIMIT = 5


class Error(BaseModel):
    detail: str


class Credentials(BaseModel):
    username: str
    password: str


class Token(BaseModel):
    access_token: str
    token_type: Literal["bearer"] = "bearer"


class ProductCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60, examples=["Lamp"])
    price: int = Field(ge=1, le=1_000_000)
    stock: int = Field(ge=0, le=1000)


class Product(BaseModel):
    id: str
    name: str
    price: int
    stock: int


class ProductList(BaseModel):
    data: list[Product]
    total: int
    limit: int
    offset: int


class Purchase(BaseModel):
    quantity: int = Field(ge=1, le=100)


class PurchaseResult(BaseModel):
    product_id: str
    quantity: int
    remaining: int


class Item(BaseModel):
    price: int = Field(ge=1, le=1_000_000)
    quantity: int = Field(ge=1, le=1000)


class LaxItem(BaseModel):
    price: int
    quantity: int


class OrderCreate(BaseModel):
    items: list[Item] = Field(min_length=1, max_length=20)
    coupon_code: str | None = Field(default=None, description="Cannot be combined with gift_card.")
    gift_card: str | None = Field(default=None, description="Cannot be combined with coupon_code.")
    delivery: Literal["standard", "scheduled"] = "standard"
    delivery_date: str | None = Field(
        default=None,
        description="Required when delivery is 'scheduled'.",
        json_schema_extra={"format": "date"},
    )


class LaxOrderCreate(OrderCreate):
    items: list[LaxItem] = Field(min_length=1)  # type: ignore[assignment]


class Order(BaseModel):
    id: str
    owner: str
    items: list[Item]
    total: int
    refunded: int
    status: Literal["pending", "paid", "shipped"]


class OrderList(BaseModel):
    data: list[Order]
    total: int


class RefundCreate(BaseModel):
    amount: int = Field(ge=1)


class Refund(BaseModel):
    id: str
    order_id: str
    amount: int


class UserCreate(BaseModel):
    name: str = Field(min_length=1, max_length=60)
    email: str = Field(json_schema_extra={"format": "email"})


class User(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str
    name: str
    email: str
    role: Literal["member", "admin"]


class PromotionCreate(BaseModel):
    name: str = Field(min_length=1)
    starts_at: datetime
    ends_at: datetime = Field(description="Must be after starts_at.")


class Promotion(BaseModel):
    id: str
    name: str
    starts_at: str
    ends_at: str


class ResetRequest(BaseModel):
    email: str


class ResetAccepted(BaseModel):
    status: Literal["sent"]


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = bugs - BUGS
    if unknown:
        raise ValueError(f"unknown bugs: {sorted(unknown)}")
    app = FastAPI(title="Shop API", version="1.0.0")
    state: dict[str, Any] = {
        "n": 0,
        "products": {},
        "orders": {},
        "refunds": {},
        "idem": {},
        "resets": {},
        "sessions": {},
    }
    lock = asyncio.Lock()
    order_model = LaxOrderCreate if "zero-quantity" in bugs else OrderCreate

    def new_id(prefix: str) -> str:
        state["n"] += 1
        return f"{prefix}_{state['n']:05d}"

    def caller(request: Request) -> str:
        auth = request.headers.get("authorization", "")
        if auth.startswith("Bearer "):
            token = auth.removeprefix("Bearer ")
            who = TOKENS.get(token) or state["sessions"].get(token)
            if who:
                return str(who)
        key = request.headers.get("x-api-key")
        if key in API_KEYS:
            return API_KEYS[key]
        raise HTTPException(401, "missing or invalid credentials")

    Caller = Annotated[str, Depends(caller)]

    @app.exception_handler(HTTPException)
    async def http_error(request: Request, exc: HTTPException) -> JSONResponse:
        return JSONResponse({"detail": str(exc.detail)}, status_code=exc.status_code)

    @app.post("/login", operation_id="login", response_model=Token, responses={401: {"model": Error}})
    async def login(body: Credentials) -> Token:
        if USERS.get(body.username) != body.password:
            raise HTTPException(401, "bad credentials")
        token = f"session-{new_id('t')}"
        state["sessions"][token] = body.username
        return Token(access_token=token)

    # ---- products: pagination, concurrency -----------------------------------------------------

    @app.post(
        "/products",
        operation_id="createProduct",
        tags=["Products"],
        status_code=201,
        response_model=Product,
        responses={401: {"model": Error}},
    )
    async def create_product(body: ProductCreate, who: Caller) -> Product:
        product = Product(id=new_id("prod"), **body.model_dump())
        state["products"][product.id] = product
        return product

    @app.get(
        "/products",
        operation_id="listProducts",
        tags=["Products"],
        response_model=ProductList,
        responses={401: {"model": Error}},
    )
    async def list_products(
        who: Caller,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> ProductList:
        everything = list(state["products"].values())
        start = offset + 1 if "offset-skips" in bugs and offset > 0 else offset
        return ProductList(
            data=everything[start : start + limit], total=len(everything), limit=limit, offset=offset
        )

    @app.get(
        "/products/{product_id}",
        operation_id="getProduct",
        tags=["Products"],
        response_model=Product,
        responses={401: {"model": Error}, 404: {"model": Error}},
    )
    async def get_product(product_id: str, who: Caller) -> Product:
        product = state["products"].get(product_id)
        if product is None:
            raise HTTPException(404, "no such product")
        return product  # type: ignore[no-any-return]

    @app.post(
        "/products/{product_id}/purchase",
        operation_id="purchaseProduct",
        tags=["Products"],
        response_model=PurchaseResult,
        responses={401: {"model": Error}, 404: {"model": Error}, 409: {"model": Error}},
    )
    async def purchase(product_id: str, body: Purchase, who: Caller) -> PurchaseResult:
        product = state["products"].get(product_id)
        if product is None:
            raise HTTPException(404, "no such product")
        if "oversell" in bugs:
            available = product.stock
            await asyncio.sleep(0.05)  # the window in which concurrent purchases all see the same stock
            if available < body.quantity:
                raise HTTPException(409, "out of stock")
            product.stock = available - body.quantity
        else:
            async with lock:
                await asyncio.sleep(0.002)
                if product.stock < body.quantity:
                    raise HTTPException(409, "out of stock")
                product.stock -= body.quantity
        return PurchaseResult(product_id=product_id, quantity=body.quantity, remaining=product.stock)

    # ---- orders -----------------------------------------------------------------------------------

    @app.post(
        "/orders",
        operation_id="createOrder",
        tags=["Orders"],
        status_code=201,
        response_model=Order,
        responses={400: {"model": Error}, 401: {"model": Error}, 409: {"model": Error}},
    )
    async def create_order(
        body: order_model,  # type: ignore[valid-type]
        who: Caller,
        idempotency_key: Annotated[str | None, Header(alias="Idempotency-Key", max_length=100)] = None,
    ) -> Any:
        data = body.model_dump()
        fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()
        if idempotency_key and "replay-duplicates" not in bugs:
            seen = state["idem"].get((who, idempotency_key))
            if seen is not None:
                if seen[0] == fingerprint:
                    return JSONResponse(seen[1], status_code=201)
                if "key-reuse-accepted" not in bugs:
                    raise HTTPException(409, "idempotency key reused with a different request")
        if data["coupon_code"] and data["gift_card"] and "coupon-and-gift-card" not in bugs:
            raise HTTPException(400, "coupon_code and gift_card cannot be combined")
        if (
            data["delivery"] == "scheduled"
            and not data["delivery_date"]
            and "scheduled-without-date" not in bugs
        ):
            raise HTTPException(400, "delivery_date is required for scheduled delivery")
        items = data["items"]
        if "total-ignores-quantity" in bugs:
            total = sum(i["price"] for i in items)
        else:
            total = sum(i["price"] * i["quantity"] for i in items)
        order = Order.model_construct(
            id=new_id("ord"),
            owner=who,
            items=[Item.model_construct(**i) for i in items],
            total=total,
            refunded=0,
            status="pending",
        )
        state["orders"][order.id] = order
        dumped = order.model_dump()
        if idempotency_key:
            state["idem"][(who, idempotency_key)] = (fingerprint, dumped)
        return JSONResponse(dumped, status_code=201)

    @app.get("/orders", operation_id="listOrders", tags=["Orders"], response_model=OrderList)
    async def list_orders(who: Caller) -> OrderList:
        mine = [o for o in state["orders"].values() if o.owner == who]
        return OrderList(data=mine, total=len(mine))

    def owned(order_id: str, who: str) -> Order:
        order = state["orders"].get(order_id)
        if order is None or (order.owner != who and "orders-readable-by-anyone" not in bugs):
            raise HTTPException(404, "no such order")
        return order  # type: ignore[no-any-return]

    @app.get(
        "/orders/{order_id}",
        operation_id="getOrder",
        tags=["Orders"],
        response_model=Order,
        responses={401: {"model": Error}, 404: {"model": Error}},
    )
    async def get_order(order_id: str, who: Caller) -> Order:
        return owned(order_id, who)

    @app.post(
        "/orders/{order_id}/pay",
        operation_id="payOrder",
        tags=["Orders"],
        response_model=Order,
        responses={401: {"model": Error}, 404: {"model": Error}, 409: {"model": Error}},
    )
    async def pay(order_id: str, who: Caller) -> Order:
        order = owned(order_id, who)
        if order.status != "pending":
            raise HTTPException(409, f"cannot pay a {order.status} order")
        order.status = "paid"
        return order

    @app.post(
        "/orders/{order_id}/ship",
        operation_id="shipOrder",
        tags=["Orders"],
        response_model=Order,
        responses={401: {"model": Error}, 404: {"model": Error}, 409: {"model": Error}},
    )
    async def ship(order_id: str, who: Caller) -> Order:
        order = owned(order_id, who)
        allowed = ("paid", "pending") if "ship-unpaid" in bugs else ("paid",)
        if order.status not in allowed:
            raise HTTPException(409, f"cannot ship a {order.status} order")
        order.status = "shipped"
        return order

    @app.post(
        "/orders/{order_id}/refunds",
        operation_id="createRefund",
        tags=["Refunds"],
        status_code=201,
        response_model=Refund,
        responses={401: {"model": Error}, 404: {"model": Error}, 409: {"model": Error}},
    )
    async def refund(order_id: str, body: RefundCreate, who: Caller) -> Refund:
        order = owned(order_id, who)
        if order.refunded + body.amount > order.total and "refund-exceeds-total" not in bugs:
            raise HTTPException(409, f"only {order.total - order.refunded} can still be refunded")
        order.refunded += body.amount
        made = Refund(id=new_id("re"), order_id=order_id, amount=body.amount)
        return made

    # ---- users, promotions, password resets -------------------------------------------------------

    @app.post(
        "/users",
        operation_id="createUser",
        tags=["Users"],
        status_code=201,
        response_model=User,
        responses={401: {"model": Error}},
    )
    async def create_user(request: Request, body: UserCreate, who: Caller) -> User:
        raw = await request.json()
        role = (
            raw.get("role")
            if "role-assignable" in bugs and raw.get("role") in ("member", "admin")
            else "member"
        )
        return User(id=new_id("usr"), name=body.name, email=body.email, role=role)

    @app.post(
        "/promotions",
        operation_id="createPromotion",
        tags=["Promotions"],
        status_code=201,
        response_model=Promotion,
        responses={400: {"model": Error}, 401: {"model": Error}},
    )
    async def create_promotion(body: PromotionCreate, who: Caller) -> Promotion:
        if body.ends_at <= body.starts_at and "end-before-start" not in bugs:
            raise HTTPException(400, "ends_at must be after starts_at")
        return Promotion(
            id=new_id("promo"),
            name=body.name,
            starts_at=body.starts_at.isoformat(),
            ends_at=body.ends_at.isoformat(),
        )

    @app.post(
        "/password-resets",
        operation_id="requestPasswordReset",
        tags=["Users"],
        status_code=202,
        response_model=ResetAccepted,
        responses={401: {"model": Error}, 429: {"model": Error}},
        description=f"At most {RATE_LIMIT} requests per caller per minute; more get 429.",
    )
    async def password_reset(body: ResetRequest, who: Caller) -> ResetAccepted:
        count = state["resets"].get(who, 0) + 1
        state["resets"][who] = count
        if count > RATE_LIMIT and "no-rate-limit" not in bugs:
            raise HTTPException(429, "too many requests")
        return ResetAccepted(status="sent")

    return app
