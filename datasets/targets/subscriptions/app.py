"""Subscriptions benchmark target: plans, coupons, subscriptions with a status lifecycle, invoices.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import calendar
import json
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import AwareDatetime, BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "resume-canceled-subscription",
        "pause-canceled-subscription",
        "trial-end-before-start",
        "invoice-amount-stale-quantity",
        "coupon-both-discounts-accepted",
        "discount-exceeds-subtotal",
        "percent-off-over-100",
    }
)

API_KEYS = {"key_live_alice": "acct_alice", "key_live_bob": "acct_bob"}

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class PlanCreate(_Strict):
    name: str = Field(min_length=1, max_length=100)
    unit_amount: int = Field(ge=0, le=10_000_000)
    currency: Literal["usd", "eur"]
    interval: Literal["month", "year"]
    trial_period_days: int = Field(default=0, ge=0, le=365)


class CouponCreate(_Strict):
    name: str | None = Field(default=None, min_length=1, max_length=100)
    percent_off: float | None = Field(default=None, gt=0)
    amount_off: int | None = Field(default=None, ge=1, le=10_000_000)
    currency: Literal["usd", "eur"] | None = None
    duration: Literal["once", "forever"] = "once"


class SubscriptionCreate(_Strict):
    customer_email: str = Field(max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    plan_id: str
    quantity: int = Field(default=1, ge=1, le=1000)
    start_date: AwareDatetime | None = None
    trial_end: AwareDatetime | None = None
    coupon_id: str | None = None


class SubscriptionUpdate(_Strict):
    quantity: int | None = Field(default=None, ge=1, le=1000)
    plan_id: str | None = None


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat(timespec="seconds").replace("+00:00", "Z")


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _add_months(value: datetime, months: int) -> datetime:
    month_index = value.month - 1 + months
    year, month = value.year + month_index // 12, month_index % 12 + 1
    day = min(value.day, calendar.monthrange(year, month)[1])
    return value.replace(year=year, month=month, day=day)


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _parse(request: Request, model: type[M], *, allow_empty: bool = False) -> M:
    raw = await request.body()
    if not raw.strip() and allow_empty:
        raw = b"{}"
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

    app = FastAPI(title="Subscriptions API", version="2.1.0", openapi_url=None, docs_url=None, redoc_url=None)

    plans: dict[str, dict[str, Any]] = {}
    coupons: dict[str, dict[str, Any]] = {}
    subscriptions: dict[str, dict[str, Any]] = {}
    invoices: dict[str, dict[str, Any]] = {}
    # Server-side bookkeeping that is not part of the public representation.
    owners: dict[str, str] = {}
    billing_quantity: dict[str, int] = {}
    invoice_count: dict[str, int] = {}
    counters = {"plan": 0, "coupon": 0, "sub": 0, "invoice": 0}

    def next_id(kind: str, prefix: str) -> str:
        counters[kind] += 1
        return f"{prefix}_{counters[kind]:06d}"

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)

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

    async def account(x_api_key: Annotated[str | None, Header()] = None) -> str:
        acct = API_KEYS.get(x_api_key or "")
        if acct is None:
            raise ApiError(401, "unauthorized", "Missing or invalid X-Api-Key header.")
        return acct

    Account = Annotated[str, Depends(account)]

    def owned(store: dict[str, dict[str, Any]], acct: str, key: str, kind: str) -> dict[str, Any]:
        obj = store.get(key)
        if obj is None or owners.get(key) != acct:
            raise ApiError(404, "not_found", f"No such {kind}: {key}")
        return obj

    def page(items: list[dict[str, Any]], limit: int, offset: int) -> dict[str, Any]:
        return {"data": items[offset : offset + limit], "total": len(items), "limit": limit, "offset": offset}

    Limit = Annotated[int, Query(ge=1, le=100)]
    Offset = Annotated[int, Query(ge=0)]

    # ------------------------------------------------------------------ plans

    @app.post("/plans", status_code=201)
    async def create_plan(request: Request, acct: Account) -> JSONResponse:
        body = await _parse(request, PlanCreate)
        plan_id = next_id("plan", "plan")
        plan = {"id": plan_id, **body.model_dump(), "created_at": _iso(_now())}
        plans[plan_id] = plan
        owners[plan_id] = acct
        return JSONResponse(plan, 201, headers={"Location": f"/plans/{plan_id}"})

    @app.get("/plans")
    async def list_plans(acct: Account, limit: Limit = 10, offset: Offset = 0) -> dict[str, Any]:
        return page([p for k, p in plans.items() if owners[k] == acct], limit, offset)

    @app.get("/plans/{plan_id}")
    async def get_plan(plan_id: str, acct: Account) -> dict[str, Any]:
        return owned(plans, acct, plan_id, "plan")

    # ------------------------------------------------------------------ coupons

    @app.post("/coupons", status_code=201)
    async def create_coupon(request: Request, acct: Account) -> JSONResponse:
        body = await _parse(request, CouponCreate)
        if body.percent_off is not None and body.percent_off > 100 and "percent-off-over-100" not in bugs:
            raise ApiError(422, "validation_error", "percent_off must be at most 100.")
        has_percent, has_amount = body.percent_off is not None, body.amount_off is not None
        if not has_percent and not has_amount:
            raise ApiError(422, "discount_required", "Exactly one of percent_off and amount_off is required.")
        if has_percent and has_amount and "coupon-both-discounts-accepted" not in bugs:
            raise ApiError(422, "conflicting_discounts", "percent_off and amount_off are mutually exclusive.")
        if has_amount and body.currency is None:
            raise ApiError(422, "currency_required", "currency is required with amount_off.")
        if not has_amount and body.currency is not None:
            raise ApiError(422, "unexpected_currency", "currency is only allowed with amount_off.")
        coupon_id = next_id("coupon", "coupon")
        coupon = {"id": coupon_id, **body.model_dump(), "created_at": _iso(_now())}
        coupons[coupon_id] = coupon
        owners[coupon_id] = acct
        return JSONResponse(coupon, 201, headers={"Location": f"/coupons/{coupon_id}"})

    @app.get("/coupons/{coupon_id}")
    async def get_coupon(coupon_id: str, acct: Account) -> dict[str, Any]:
        return owned(coupons, acct, coupon_id, "coupon")

    # ------------------------------------------------------------------ subscriptions

    def referenced(store: dict[str, dict[str, Any]], acct: str, key: str, field: str) -> dict[str, Any]:
        obj = store.get(key)
        if obj is None or owners.get(key) != acct:
            raise ApiError(422, "invalid_reference", f"{field} does not refer to an existing object.")
        return obj

    @app.post("/subscriptions", status_code=201)
    async def create_subscription(request: Request, acct: Account) -> JSONResponse:
        body = await _parse(request, SubscriptionCreate)
        plan = referenced(plans, acct, body.plan_id, "plan_id")
        coupon = None
        if body.coupon_id is not None:
            coupon = referenced(coupons, acct, body.coupon_id, "coupon_id")
            if coupon["currency"] is not None and coupon["currency"] != plan["currency"]:
                raise ApiError(
                    422, "currency_mismatch", "The coupon's currency does not match the plan's currency."
                )
        now = _now()
        start = body.start_date or now
        trial_end = body.trial_end
        if trial_end is not None:
            reference = now if "trial-end-before-start" in bugs else start
            if trial_end <= reference:
                raise ApiError(422, "invalid_trial_end", "trial_end must be after start_date.")
        elif plan["trial_period_days"] > 0:
            trial_end = start + timedelta(days=plan["trial_period_days"])
        sub_id = next_id("sub", "sub")
        sub = {
            "id": sub_id,
            "customer_email": body.customer_email,
            "plan_id": plan["id"],
            "quantity": body.quantity,
            "status": "trialing" if trial_end is not None else "active",
            "start_date": _iso(start),
            "trial_end": _iso(trial_end) if trial_end is not None else None,
            "coupon_id": body.coupon_id,
            "paused_at": None,
            "canceled_at": None,
            "created_at": _iso(now),
        }
        subscriptions[sub_id] = sub
        owners[sub_id] = acct
        billing_quantity[sub_id] = body.quantity
        return JSONResponse(sub, 201, headers={"Location": f"/subscriptions/{sub_id}"})

    @app.get("/subscriptions")
    async def list_subscriptions(
        acct: Account,
        status: Literal["trialing", "active", "paused", "canceled"] | None = None,
        limit: Limit = 10,
        offset: Offset = 0,
    ) -> dict[str, Any]:
        mine = [
            s
            for k, s in subscriptions.items()
            if owners[k] == acct and (status is None or s["status"] == status)
        ]
        return page(mine, limit, offset)

    @app.get("/subscriptions/{subscription_id}")
    async def get_subscription(subscription_id: str, acct: Account) -> dict[str, Any]:
        return owned(subscriptions, acct, subscription_id, "subscription")

    @app.patch("/subscriptions/{subscription_id}")
    async def update_subscription(subscription_id: str, request: Request, acct: Account) -> dict[str, Any]:
        sub = owned(subscriptions, acct, subscription_id, "subscription")
        body = await _parse(request, SubscriptionUpdate)
        if sub["status"] == "canceled":
            raise ApiError(409, "subscription_canceled", "A canceled subscription cannot be modified.")
        if body.plan_id is not None:
            plan = referenced(plans, acct, body.plan_id, "plan_id")
            if plan["currency"] != plans[sub["plan_id"]]["currency"]:
                raise ApiError(
                    422, "currency_mismatch", "The new plan must use the same currency as the current plan."
                )
            sub["plan_id"] = plan["id"]
        if body.quantity is not None:
            sub["quantity"] = body.quantity
            if "invoice-amount-stale-quantity" not in bugs:
                billing_quantity[subscription_id] = body.quantity
        return sub

    @app.post("/subscriptions/{subscription_id}/pause")
    async def pause_subscription(subscription_id: str, acct: Account) -> dict[str, Any]:
        sub = owned(subscriptions, acct, subscription_id, "subscription")
        allowed = (
            ("trialing", "active", "canceled")
            if "pause-canceled-subscription" in bugs
            else ("trialing", "active")
        )
        if sub["status"] not in allowed:
            raise ApiError(409, "invalid_transition", f"A {sub['status']} subscription cannot be paused.")
        sub["status"] = "paused"
        sub["paused_at"] = _iso(_now())
        return sub

    @app.post("/subscriptions/{subscription_id}/resume")
    async def resume_subscription(subscription_id: str, acct: Account) -> dict[str, Any]:
        sub = owned(subscriptions, acct, subscription_id, "subscription")
        if "resume-canceled-subscription" in bugs:
            blocked = sub["status"] in ("trialing", "active")
        else:
            blocked = sub["status"] != "paused"
        if blocked:
            raise ApiError(409, "invalid_transition", f"A {sub['status']} subscription cannot be resumed.")
        sub["status"] = "active"
        sub["paused_at"] = None
        return sub

    @app.post("/subscriptions/{subscription_id}/cancel")
    async def cancel_subscription(subscription_id: str, acct: Account) -> dict[str, Any]:
        sub = owned(subscriptions, acct, subscription_id, "subscription")
        if sub["status"] == "canceled":
            raise ApiError(409, "invalid_transition", "The subscription is already canceled.")
        sub["status"] = "canceled"
        sub["canceled_at"] = _iso(_now())
        return sub

    # ------------------------------------------------------------------ invoices

    @app.post("/subscriptions/{subscription_id}/invoices", status_code=201)
    async def create_invoice(subscription_id: str, acct: Account) -> JSONResponse:
        sub = owned(subscriptions, acct, subscription_id, "subscription")
        if sub["status"] != "active":
            raise ApiError(
                409, "subscription_not_active", "Invoices can only be created for active subscriptions."
            )
        plan = plans[sub["plan_id"]]
        now = _now()
        period_end = _add_months(now, 1 if plan["interval"] == "month" else 12)
        line = {
            "description": f"{plan['name']} × {sub['quantity']}",
            "plan_id": plan["id"],
            "quantity": sub["quantity"],
            "unit_amount": plan["unit_amount"],
            "amount": plan["unit_amount"] * billing_quantity[subscription_id],
            "period_start": _iso(now),
            "period_end": _iso(period_end),
        }
        subtotal = line["amount"]
        discount = 0
        issued = invoice_count.get(subscription_id, 0)
        coupon = coupons.get(sub["coupon_id"]) if sub["coupon_id"] else None
        if coupon is not None and (coupon["duration"] == "forever" or issued == 0):
            if coupon["percent_off"] is not None:
                discount = int(subtotal * coupon["percent_off"] / 100)
            else:
                discount = coupon["amount_off"]
                if "discount-exceeds-subtotal" not in bugs:
                    discount = min(discount, subtotal)
        invoice_count[subscription_id] = issued + 1
        invoice_id = next_id("invoice", "in")
        invoice = {
            "id": invoice_id,
            "subscription_id": subscription_id,
            "currency": plan["currency"],
            "lines": [line],
            "subtotal": subtotal,
            "discount": discount,
            "total": subtotal - discount,
            "status": "open",
            "created_at": _iso(now),
        }
        invoices[invoice_id] = invoice
        owners[invoice_id] = acct
        return JSONResponse(invoice, 201, headers={"Location": f"/invoices/{invoice_id}"})

    @app.get("/subscriptions/{subscription_id}/invoices")
    async def list_invoices(
        subscription_id: str, acct: Account, limit: Limit = 10, offset: Offset = 0
    ) -> dict[str, Any]:
        owned(subscriptions, acct, subscription_id, "subscription")
        return page([i for i in invoices.values() if i["subscription_id"] == subscription_id], limit, offset)

    @app.get("/invoices/{invoice_id}")
    async def get_invoice(invoice_id: str, acct: Account) -> dict[str, Any]:
        return owned(invoices, acct, invoice_id, "invoice")

    return app
