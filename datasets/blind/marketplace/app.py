"""Marketplace target (blind): listings, offers, orders paid into escrow, shipping and refunds.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import json
import math
import threading
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "concurrent-refunds-overdraw-escrow",
        "withdrawn-offers-not-counted",
        "listing-fee-rate-writable",
        "shipped-at-before-order-created",
        "platform-fee-on-list-price",
        "non-seller-can-accept-offer",
        "offer-accepted-after-listing-sold",
        "offer-expiry-hours-unbounded",
    }
)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    429: "rate_limit_error",
}
FEE_BASIS_POINTS = 500
OFFERS_PER_WINDOW = 3
OFFER_WINDOW = timedelta(hours=24)
CLOCK_SKEW = timedelta(minutes=2)
REFUND_LATENCY = 0.25  # seconds the buggy refund path waits on the card network between read and write

Currency = Literal["EUR", "GBP", "USD"]
Carrier = Literal["dhl", "ups", "dpd", "royal_mail", "colissimo", "postnord", "other"]
RefundReason = Literal["item_not_received", "item_not_as_described", "cancelled_by_seller", "other"]
M = TypeVar("M", bound=BaseModel)


class Caller(BaseModel):
    id: str
    role: Literal["user", "support"]


TOKENS = {
    "rm_test_alice_5d0e1c": Caller(id="usr_alice", role="user"),
    "rm_test_bob_93a7f4": Caller(id="usr_bob", role="user"),
    "rm_test_carol_1b62d9": Caller(id="usr_carol", role="user"),
    "rm_test_support_sol_7e40aa": Caller(id="usr_sol", role="support"),
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers


def _error(status: int, code: str, message: str, param: str | None = None) -> dict[str, Any]:
    kind = ERROR_TYPES.get(status, "invalid_request_error")
    return {"error": {"type": kind, "code": code, "message": message, "param": param}}


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Money(_Strict):
    amount: int = Field(ge=0)
    currency: Currency


class Address(_Strict):
    name: str = Field(min_length=1, max_length=80)
    line1: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1, max_length=60)
    postalCode: str = Field(min_length=2, max_length=10)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class ListingCreate(_Strict):
    title: str = Field(min_length=1, max_length=80)
    description: str = Field(default="", max_length=2000)
    price: Money
    shipping: Money
    acceptsOffers: bool = True
    minimumOfferAmount: int | None = Field(default=None, ge=1)


class ListingUpdate(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=80)
    description: str | None = Field(default=None, max_length=2000)
    price: Money | None = None
    shipping: Money | None = None
    acceptsOffers: bool | None = None
    minimumOfferAmount: int | None = Field(default=None, ge=1)


class OfferCreate(_Strict):
    amount: Money
    message: str | None = Field(default=None, max_length=500)
    expiresInHours: int = Field(default=48, ge=1, le=72)
    shippingAddress: Address


class OfferCreateUnbounded(OfferCreate):
    expiresInHours: int = Field(default=48, ge=1)


class OrderCreate(_Strict):
    listingId: str = Field(min_length=1)
    shippingAddress: Address


class ShipmentIn(_Strict):
    carrier: Carrier
    trackingNumber: str = Field(pattern=r"^[A-Za-z0-9]{6,40}$")
    shippedAt: datetime


class RefundCreate(_Strict):
    amount: Money
    reason: RefundReason
    note: str | None = Field(default=None, max_length=500)


def _now() -> datetime:
    return datetime.now(UTC).replace(microsecond=0)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _validation(errors: list[Any]) -> tuple[str, str | None]:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query", "header"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    first = errors[0] if errors else {}
    param = ".".join(str(p) for p in first.get("loc", ()) if p not in ("body", "query", "header")) or None
    return "; ".join(parts) or "invalid request", param


async def _parse(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "invalid_body", "The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        message, param = _validation(exc.errors())
        raise ApiError(400, "parameter_invalid", message, param) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="Relay Market API", version="2025-03-01", openapi_url=None, docs_url=None, redoc_url=None
    )

    listings: dict[str, dict[str, Any]] = {}
    offers: dict[str, dict[str, Any]] = {}
    orders: dict[str, dict[str, Any]] = {}
    idempotency: dict[tuple[str, str], tuple[str, str]] = {}
    counters = {"listing": 0, "offer": 0, "order": 0, "refund": 0}
    lock = threading.Lock()

    def next_id(kind: str, prefix: str) -> str:
        counters[kind] += 1
        return f"{prefix}_{counters[kind]:06d}"

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        body = _error(exc.status, exc.code, exc.message, exc.param)
        return JSONResponse(body, exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _validation(list(exc.errors()))
        return JSONResponse(_error(400, "parameter_invalid", message, param), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "resource_missing", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_error(exc.status_code, code, str(exc.detail)), exc.status_code)

    async def current_caller(x_api_key: Annotated[str | None, Header()] = None) -> Caller:
        caller = TOKENS.get(x_api_key or "")
        if caller is None:
            raise ApiError(401, "invalid_api_key", "Missing or unknown X-Api-Key.")
        return caller

    Auth = Annotated[Caller, Depends(current_caller)]

    # ------------------------------------------------------------------ helpers

    def page(
        items: list[dict[str, Any]], limit: int, starting_after: str | None, known: bool
    ) -> dict[str, Any]:
        if starting_after is not None:
            if not known:
                raise ApiError(
                    400, "invalid_cursor", f"Unknown startingAfter {starting_after}.", "startingAfter"
                )
            items = [i for i in items if i["id"] > starting_after]
        return {"data": items[:limit], "hasMore": len(items) > limit}

    def sweep() -> None:
        now = _now()
        for offer in offers.values():
            if offer["status"] == "pending" and now >= offer["_expires"]:
                offer["status"] = "expired"

    def public(record: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in record.items() if not k.startswith("_")}

    def check_listing_rules(listing: dict[str, Any]) -> None:
        price = listing["price"]
        if price["amount"] < 100:
            raise ApiError(400, "price_too_low", "price.amount is at least 100.", "price.amount")
        if listing["shipping"]["currency"] != price["currency"]:
            raise ApiError(
                400, "currency_mismatch", "shipping must use the currency of price.", "shipping.currency"
            )
        minimum = listing["minimumOfferAmount"]
        if minimum is not None and not listing["acceptsOffers"]:
            raise ApiError(
                400,
                "parameter_invalid",
                "minimumOfferAmount is only allowed when acceptsOffers is true.",
                "minimumOfferAmount",
            )
        if minimum is not None and minimum >= price["amount"]:
            raise ApiError(
                400,
                "parameter_invalid",
                "minimumOfferAmount must be below price.amount.",
                "minimumOfferAmount",
            )

    def get_listing_or_404(listing_id: str) -> dict[str, Any]:
        listing = listings.get(listing_id)
        if listing is None:
            raise ApiError(404, "resource_missing", f"No listing {listing_id}.")
        return listing

    def offer_visible(caller: Caller, offer: dict[str, Any]) -> bool:
        return caller.role == "support" or caller.id in (offer["buyerId"], offer["sellerId"])

    def visible_offer(caller: Caller, offer_id: str) -> dict[str, Any]:
        offer = offers.get(offer_id)
        if offer is None or not offer_visible(caller, offer):
            raise ApiError(404, "resource_missing", f"No offer {offer_id}.")
        return offer

    def visible_order(caller: Caller, order_id: str) -> dict[str, Any]:
        order = orders.get(order_id)
        if order is None or not (
            caller.role == "support" or caller.id in (order["buyerId"], order["sellerId"])
        ):
            raise ApiError(404, "resource_missing", f"No order {order_id}.")
        return order

    def require_pending(offer: dict[str, Any]) -> None:
        if offer["status"] == "expired":
            raise ApiError(409, "offer_expired", "The offer has expired.")
        if offer["status"] != "pending":
            raise ApiError(409, "offer_not_pending", f"The offer is {offer['status']}.")

    def sell(
        listing: dict[str, Any],
        buyer_id: str,
        item_amount: int,
        address: dict[str, Any],
        offer_id: str | None,
    ) -> dict[str, Any]:
        currency = listing["price"]["currency"]
        shipping = listing["shipping"]["amount"]
        total = item_amount + shipping
        fee_base = listing["price"]["amount"] if "platform-fee-on-list-price" in bugs else item_amount
        fee = (fee_base * listing["platformFeeBasisPoints"] + 5000) // 10000
        created = _now()
        order = {
            "id": next_id("order", "ord"),
            "listingId": listing["id"],
            "offerId": offer_id,
            "buyerId": buyer_id,
            "sellerId": listing["sellerId"],
            "status": "paid",
            "itemPrice": {"amount": item_amount, "currency": currency},
            "shipping": {"amount": shipping, "currency": currency},
            "total": {"amount": total, "currency": currency},
            "platformFee": {"amount": fee, "currency": currency},
            "escrow": {"heldAmount": total, "releasedAmount": 0, "refundedAmount": 0},
            "shippingAddress": address,
            "shipment": None,
            "refunds": [],
            "createdAt": _iso(created),
            "completedAt": None,
            "_created": created,
        }
        orders[order["id"]] = order
        listing["status"] = "sold"
        listing["updatedAt"] = _iso(created)
        if "offer-accepted-after-listing-sold" not in bugs:
            for other in offers.values():
                if (
                    other["listingId"] == listing["id"]
                    and other["status"] == "pending"
                    and other["id"] != offer_id
                ):
                    other["status"] = "declined"
        return order

    # ------------------------------------------------------------------ listings

    @app.get("/v2/listings")
    async def list_listings(
        caller: Auth,
        seller_id: Annotated[str | None, Query(alias="sellerId")] = None,
        status: Literal["active", "sold"] | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        starting_after: Annotated[str | None, Query(alias="startingAfter")] = None,
    ) -> dict[str, Any]:
        items = [
            public(listing)
            for listing in sorted(listings.values(), key=lambda x: x["id"])
            if seller_id in (None, listing["sellerId"]) and status in (None, listing["status"])
        ]
        return page(items, limit, starting_after, starting_after in listings)

    @app.post("/v2/listings", status_code=201)
    async def create_listing(request: Request, caller: Auth) -> JSONResponse:
        body, data = await _parse(request, ListingCreate)
        fee = FEE_BASIS_POINTS
        if "listing-fee-rate-writable" in bugs:
            sent = data.get("platformFeeBasisPoints")
            if isinstance(sent, int) and not isinstance(sent, bool) and 0 <= sent <= 10000:
                fee = sent
        now = _iso(_now())
        listing = {
            "id": "",
            "sellerId": caller.id,
            "title": body.title,
            "description": body.description,
            "price": body.price.model_dump(),
            "shipping": body.shipping.model_dump(),
            "acceptsOffers": body.acceptsOffers,
            "minimumOfferAmount": body.minimumOfferAmount,
            "platformFeeBasisPoints": fee,
            "status": "active",
            "createdAt": now,
            "updatedAt": now,
        }
        check_listing_rules(listing)
        listing["id"] = next_id("listing", "lst")
        listings[listing["id"]] = listing
        return JSONResponse(public(listing), 201)

    @app.get("/v2/listings/{listingId}")
    async def get_listing(listingId: str, caller: Auth) -> dict[str, Any]:
        return public(get_listing_or_404(listingId))

    @app.patch("/v2/listings/{listingId}")
    async def update_listing(listingId: str, request: Request, caller: Auth) -> dict[str, Any]:
        listing = get_listing_or_404(listingId)
        if listing["sellerId"] != caller.id:
            raise ApiError(403, "not_seller", "Only the seller can edit a listing.")
        body, data = await _parse(request, ListingUpdate)
        fields = ("title", "description", "price", "shipping", "acceptsOffers", "minimumOfferAmount")
        sent = [k for k in fields if k in data]
        if not sent:
            raise ApiError(400, "parameter_missing", "Send at least one writable field.")
        for key in sent:
            if data[key] is None and key != "minimumOfferAmount":
                raise ApiError(400, "parameter_invalid", f"{key} cannot be null.", key)
        if listing["status"] != "active":
            raise ApiError(409, "listing_not_editable", f"The listing is {listing['status']}.")
        merged = dict(listing)
        for key in sent:
            value = getattr(body, key)
            merged[key] = value.model_dump() if isinstance(value, Money) else value
        check_listing_rules(merged)
        merged["updatedAt"] = _iso(_now())
        listing.update(merged)
        return public(listing)

    # ------------------------------------------------------------------ offers

    @app.post("/v2/listings/{listingId}/offers", status_code=201)
    async def create_offer(listingId: str, request: Request, caller: Auth) -> JSONResponse:
        listing = get_listing_or_404(listingId)
        if listing["sellerId"] == caller.id:
            raise ApiError(403, "own_listing", "You cannot make an offer on your own listing.")
        model = OfferCreateUnbounded if "offer-expiry-hours-unbounded" in bugs else OfferCreate
        body, _ = await _parse(request, model)
        with lock:
            sweep()
            if listing["status"] != "active":
                raise ApiError(409, "listing_not_available", f"The listing is {listing['status']}.")
            if not listing["acceptsOffers"]:
                raise ApiError(
                    409, "offers_not_accepted", "The seller does not accept offers on this listing."
                )
            price = listing["price"]
            if body.amount.currency != price["currency"]:
                raise ApiError(
                    400,
                    "currency_mismatch",
                    f"Offers on this listing are in {price['currency']}.",
                    "amount.currency",
                )
            minimum = listing["minimumOfferAmount"]
            if minimum is not None and body.amount.amount < minimum:
                raise ApiError(
                    400, "offer_too_low", "The offer is below the seller's minimum.", "amount.amount"
                )
            if body.amount.amount >= price["amount"]:
                raise ApiError(
                    400,
                    "offer_not_below_price",
                    "Offers must be below the price; buy the item instead.",
                    "amount.amount",
                )
            mine = [o for o in offers.values() if o["listingId"] == listingId and o["buyerId"] == caller.id]
            if any(o["status"] == "pending" for o in mine):
                raise ApiError(
                    409, "offer_already_pending", "You already have a pending offer on this listing."
                )
            now = _now()
            recent = [o for o in mine if now - o["_created"] < OFFER_WINDOW]
            if "withdrawn-offers-not-counted" in bugs:
                recent = [o for o in recent if o["status"] != "withdrawn"]
            if len(recent) >= OFFERS_PER_WINDOW:
                oldest = min(o["_created"] for o in recent)
                retry = max(1, math.ceil((oldest + OFFER_WINDOW - now).total_seconds()))
                raise ApiError(
                    429,
                    "offer_limit_reached",
                    f"At most {OFFERS_PER_WINDOW} offers per listing within 24 hours.",
                    headers={"Retry-After": str(retry)},
                )
            expires = now + timedelta(hours=body.expiresInHours)
            offer = {
                "id": next_id("offer", "ofr"),
                "listingId": listingId,
                "buyerId": caller.id,
                "sellerId": listing["sellerId"],
                "amount": body.amount.model_dump(),
                "message": body.message,
                "shippingAddress": body.shippingAddress.model_dump(),
                "status": "pending",
                "expiresAt": _iso(expires),
                "orderId": None,
                "createdAt": _iso(now),
                "_created": now,
                "_expires": expires,
            }
            offers[offer["id"]] = offer
        return JSONResponse(public(offer), 201)

    @app.get("/v2/offers")
    async def list_offers(
        caller: Auth,
        role: Literal["buyer", "seller"] = "buyer",
        status: Literal["pending", "accepted", "declined", "withdrawn", "expired"] | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 20,
        starting_after: Annotated[str | None, Query(alias="startingAfter")] = None,
    ) -> dict[str, Any]:
        sweep()
        key = "buyerId" if role == "buyer" else "sellerId"
        mine = [
            o
            for o in sorted(offers.values(), key=lambda x: x["id"])
            if caller.role == "support" or o[key] == caller.id
        ]
        known = any(o["id"] == starting_after for o in mine)
        items = [public(o) for o in mine if status in (None, o["status"])]
        return page(items, limit, starting_after, known)

    @app.get("/v2/offers/{offerId}")
    async def get_offer(offerId: str, caller: Auth) -> dict[str, Any]:
        sweep()
        return public(visible_offer(caller, offerId))

    @app.post("/v2/offers/{offerId}/accept", status_code=201)
    async def accept_offer(offerId: str, caller: Auth) -> JSONResponse:
        with lock:
            sweep()
            if "non-seller-can-accept-offer" in bugs:
                offer = offers.get(offerId)
                if offer is None:
                    raise ApiError(404, "resource_missing", f"No offer {offerId}.")
                if caller.id == offer["buyerId"] or caller.role == "support":
                    raise ApiError(403, "not_seller", "Only the seller can accept an offer.")
            else:
                offer = visible_offer(caller, offerId)
                if caller.id != offer["sellerId"]:
                    raise ApiError(403, "not_seller", "Only the seller can accept an offer.")
            require_pending(offer)
            listing = listings[offer["listingId"]]
            if listing["status"] != "active" and "offer-accepted-after-listing-sold" not in bugs:
                raise ApiError(409, "listing_not_available", f"The listing is {listing['status']}.")
            order = sell(
                listing, offer["buyerId"], offer["amount"]["amount"], offer["shippingAddress"], offer["id"]
            )
            offer["status"] = "accepted"
            offer["orderId"] = order["id"]
        return JSONResponse(public(order), 201, headers={"Location": f"/v2/orders/{order['id']}"})

    @app.post("/v2/offers/{offerId}/decline")
    async def decline_offer(offerId: str, caller: Auth) -> dict[str, Any]:
        with lock:
            sweep()
            offer = visible_offer(caller, offerId)
            if caller.id != offer["sellerId"]:
                raise ApiError(403, "not_seller", "Only the seller can decline an offer.")
            require_pending(offer)
            offer["status"] = "declined"
        return public(offer)

    @app.post("/v2/offers/{offerId}/withdraw")
    async def withdraw_offer(offerId: str, caller: Auth) -> dict[str, Any]:
        with lock:
            sweep()
            offer = visible_offer(caller, offerId)
            if caller.id != offer["buyerId"]:
                raise ApiError(403, "not_buyer", "Only the buyer can withdraw an offer.")
            require_pending(offer)
            offer["status"] = "withdrawn"
        return public(offer)

    # ------------------------------------------------------------------ orders

    @app.post("/v2/orders", status_code=201)
    async def create_order(
        request: Request,
        caller: Auth,
        x_idempotency_key: Annotated[str, Header(min_length=8, max_length=64)],
    ) -> JSONResponse:
        body, _ = await _parse(request, OrderCreate)
        fingerprint = json.dumps(body.model_dump(mode="json"), sort_keys=True)
        with lock:
            stored = idempotency.get((caller.id, x_idempotency_key))
            if stored is not None:
                if stored[0] != fingerprint:
                    raise ApiError(
                        409,
                        "idempotency_key_reused",
                        "This X-Idempotency-Key was used with a different request.",
                    )
                original = orders[stored[1]]
                headers = {"Location": f"/v2/orders/{original['id']}", "Idempotent-Replayed": "true"}
                return JSONResponse(public(original), 201, headers=headers)
            listing = listings.get(body.listingId)
            if listing is None:
                raise ApiError(400, "resource_missing", f"No listing {body.listingId}.", "listingId")
            if listing["sellerId"] == caller.id:
                raise ApiError(403, "own_listing", "You cannot buy your own listing.")
            if listing["status"] != "active":
                raise ApiError(409, "listing_not_available", f"The listing is {listing['status']}.")
            order = sell(
                listing, caller.id, listing["price"]["amount"], body.shippingAddress.model_dump(), None
            )
            idempotency[(caller.id, x_idempotency_key)] = (fingerprint, order["id"])
        return JSONResponse(public(order), 201, headers={"Location": f"/v2/orders/{order['id']}"})

    @app.get("/v2/orders/{orderId}")
    async def get_order(orderId: str, caller: Auth) -> dict[str, Any]:
        return public(visible_order(caller, orderId))

    @app.post("/v2/orders/{orderId}/ship")
    async def ship_order(orderId: str, request: Request, caller: Auth) -> dict[str, Any]:
        order = visible_order(caller, orderId)
        if caller.id != order["sellerId"]:
            raise ApiError(403, "not_seller", "Only the seller ships an order.")
        body, _ = await _parse(request, ShipmentIn)
        if body.shippedAt.tzinfo is None:
            raise ApiError(400, "parameter_invalid", "shippedAt needs a time zone offset.", "shippedAt")
        try:
            shipped = body.shippedAt.astimezone(UTC)
        except OverflowError as exc:
            raise ApiError(400, "parameter_invalid", "shippedAt is out of range.", "shippedAt") from exc
        if order["status"] != "paid":
            raise ApiError(409, "order_not_paid", f"The order is {order['status']}.")
        if shipped > datetime.now(UTC) + CLOCK_SKEW:
            raise ApiError(400, "invalid_shipped_at", "shippedAt cannot be in the future.", "shippedAt")
        if shipped < order["_created"] and "shipped-at-before-order-created" not in bugs:
            raise ApiError(
                400, "invalid_shipped_at", "shippedAt cannot be before the order was created.", "shippedAt"
            )
        order["shipment"] = {
            "carrier": body.carrier,
            "trackingNumber": body.trackingNumber,
            "shippedAt": _iso(shipped),
        }
        order["status"] = "shipped"
        return public(order)

    @app.post("/v2/orders/{orderId}/confirm-receipt")
    async def confirm_receipt(orderId: str, caller: Auth) -> dict[str, Any]:
        with lock:
            order = visible_order(caller, orderId)
            if caller.id != order["buyerId"]:
                raise ApiError(403, "not_buyer", "Only the buyer confirms receipt.")
            if order["status"] != "shipped":
                raise ApiError(409, "order_not_shipped", f"The order is {order['status']}.")
            escrow = order["escrow"]
            escrow["releasedAmount"] += escrow["heldAmount"]
            escrow["heldAmount"] = 0
            order["status"] = "completed"
            order["completedAt"] = _iso(_now())
        return public(order)

    @app.post("/v2/orders/{orderId}/refunds", status_code=201)
    async def create_refund(orderId: str, request: Request, caller: Auth) -> JSONResponse:
        order = visible_order(caller, orderId)
        if caller.role != "support" and caller.id != order["sellerId"]:
            raise ApiError(403, "not_allowed", "Only the seller or Relay support can refund.")
        body, _ = await _parse(request, RefundCreate)

        def check(held: int) -> None:
            if order["status"] == "completed":
                raise ApiError(409, "escrow_released", "The escrow was released to the seller.")
            if order["status"] == "refunded":
                raise ApiError(409, "order_refunded", "The order was refunded in full.")
            if body.amount.currency != order["total"]["currency"]:
                raise ApiError(
                    400, "currency_mismatch", "Refunds use the order's currency.", "amount.currency"
                )
            if body.amount.amount < 1:
                raise ApiError(400, "parameter_invalid", "amount.amount is at least 1.", "amount.amount")
            if body.amount.amount > held:
                raise ApiError(
                    400, "amount_exceeds_escrow", f"Only {held} is held in escrow.", "amount.amount"
                )

        def record(held: int, refunded: int) -> dict[str, Any]:
            refund = {
                "id": next_id("refund", "rfd"),
                "orderId": order["id"],
                "amount": body.amount.model_dump(),
                "reason": body.reason,
                "note": body.note,
                "createdBy": caller.id,
                "createdAt": _iso(_now()),
            }
            escrow = order["escrow"]
            escrow["heldAmount"] = held - body.amount.amount
            escrow["refundedAmount"] = refunded + body.amount.amount
            order["refunds"].append(refund)
            if escrow["heldAmount"] == 0:
                order["status"] = "refunded"
            return refund

        if "concurrent-refunds-overdraw-escrow" in bugs:
            held, refunded = order["escrow"]["heldAmount"], order["escrow"]["refundedAmount"]
            check(held)
            await asyncio.sleep(REFUND_LATENCY)  # refund call to the card network
            refund = record(held, refunded)
        else:
            with lock:
                check(order["escrow"]["heldAmount"])
                refund = record(order["escrow"]["heldAmount"], order["escrow"]["refundedAmount"])
        return JSONResponse(refund, 201)

    return app
