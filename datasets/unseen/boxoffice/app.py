"""Boxoffice target (unseen): event ticketing with seat holds, orders, promo codes and cancellations.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import base64
import binascii
import json
import weakref
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "concurrent-holds-double-book-seat",
        "hold-accepts-seat-of-other-event",
        "released-hold-still-purchasable",
        "promo-discount-applied-per-ticket",
        "idempotency-keys-shared-across-buyers",
        "late-cancellation-accepted",
        "order-cursor-is-an-offset",
        "empty-hold-accepted",
    }
)

TOKENS = {"bx_alice_7d1e0c": "usr_alice", "bx_bob_52a9f3": "usr_bob"}
HOLD_TTL = timedelta(minutes=10)
CANCELLATION_CUTOFF = timedelta(hours=48)
# Simulated latency of the seat-map service between the availability check and the write.
SEAT_MAP_LATENCY = 0.01
PROMO_CODES = {"WELCOME10": Decimal("10.00"), "VIP25": Decimal("25.00")}

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


SeatId = Annotated[str, Field(min_length=1, max_length=32)]


class HoldCreate(_Strict):
    seatIds: list[SeatId] = Field(min_length=1)


class HoldCreateUnboundedBelow(HoldCreate):
    seatIds: list[SeatId]


class OrderCreate(_Strict):
    holdId: str = Field(min_length=1)
    buyerEmail: str = Field(pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$", max_length=254)
    promoCode: str | None = Field(default=None, pattern=r"^[A-Z0-9]{4,16}$")


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


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
        raise ApiError(400, "malformedJson", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "invalidRequest", "The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        raise ApiError(422, "invalidRequest", _validation_message(exc.errors())) from exc


def _encode_cursor(kind: str, value: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{value}".encode()).decode().rstrip("=")


def _decode_cursor(kind: str, cursor: str) -> int:
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != kind or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalidCursor", "cursor is not a value issued by this API.") from exc


def _seed(now: datetime) -> tuple[dict[str, dict[str, Any]], dict[str, dict[str, Any]]]:
    start = now.replace(minute=0, second=0, microsecond=0)
    catalogue = [
        ("evt_1001", "Nocturne Quartet", "Salle Cortot", start + timedelta(days=30), 6, "80.00", "45.50"),
        ("evt_1002", "Harbour Lights Festival", "Pier 9", start + timedelta(days=21), 4, "65.00", "39.00"),
        ("evt_1003", "Midnight Comedy Club", "The Vault", start + timedelta(hours=36), 6, "30.00", "22.00"),
    ]
    events: dict[str, dict[str, Any]] = {}
    seats: dict[str, dict[str, Any]] = {}
    number = 0
    for event_id, name, venue, starts_at, max_tickets, price_a, price_b in catalogue:
        events[event_id] = {
            "id": event_id,
            "name": name,
            "venue": venue,
            "startsAt": _iso(starts_at),
            "currency": "EUR",
            "maxTicketsPerOrder": max_tickets,
        }
        for section, price in (("A", price_a), ("B", price_b)):
            for seat_number in range(1, 9):
                number += 1
                seat_id = f"st_{number:04d}"
                seats[seat_id] = {
                    "id": seat_id,
                    "eventId": event_id,
                    "section": section,
                    "row": 1 + (seat_number - 1) // 4,
                    "number": seat_number,
                    "price": price,
                    "status": "available",
                }
    return events, seats


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(title="Boxoffice API", version="1.8.0", openapi_url=None, docs_url=None, redoc_url=None)

    events, seats = _seed(datetime.now(UTC))
    holds: dict[str, dict[str, Any]] = {}
    orders: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}  # hold or order id -> user
    idempotency: dict[Any, tuple[str, dict[str, Any]]] = {}
    counters = {"hold": 0, "order": 0, "ticket": 0}
    seat_lock = LoopLock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "invalidRequest", "message": _validation_message(list(exc.errors()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "notFound", 405: "methodNotAllowed"}.get(exc.status_code, "httpError")
        return JSONResponse({"code": code, "message": str(exc.detail)}, exc.status_code)

    async def current_user(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        user = TOKENS.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(
                401, "unauthenticated", "Missing or invalid bearer token.", {"WWW-Authenticate": "Bearer"}
            )
        return user

    User = Annotated[str, Depends(current_user)]

    def sweep() -> None:
        """Expire holds whose time is up and give their seats back."""
        now = datetime.now(UTC)
        for hold in holds.values():
            if hold["status"] == "active" and _parse_iso(hold["expiresAt"]) <= now:
                hold["status"] = "expired"
                for seat_id in hold["seatIds"]:
                    if seats[seat_id]["status"] == "held":
                        seats[seat_id]["status"] = "available"

    def find_event(event_id: str) -> dict[str, Any]:
        event = events.get(event_id)
        if event is None:
            raise ApiError(404, "notFound", f"No event {event_id}.")
        return event

    def own(kind: dict[str, dict[str, Any]], user: str, object_id: str, label: str) -> dict[str, Any]:
        obj = kind.get(object_id)
        if obj is None or owners.get(object_id) != user:
            raise ApiError(404, "notFound", f"No {label} {object_id}.")
        return obj

    # ------------------------------------------------------------------ catalogue

    @app.get("/v1/events")
    async def listEvents(user: User) -> dict[str, Any]:
        return {"data": sorted(events.values(), key=lambda e: e["startsAt"])}

    @app.get("/v1/events/{eventId}")
    async def getEvent(eventId: str, user: User) -> dict[str, Any]:
        return find_event(eventId)

    @app.get("/v1/events/{eventId}/seats")
    async def listSeats(
        eventId: str,
        user: User,
        section: Annotated[str | None, Query(pattern=r"^[A-Z]$")] = None,
        status: Literal["available", "held", "sold"] | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 50,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        find_event(eventId)
        sweep()
        after = 0 if cursor is None else _decode_cursor("seat", cursor)
        matching = [
            s
            for s in seats.values()
            if s["eventId"] == eventId
            and (section is None or s["section"] == section)
            and (status is None or s["status"] == status)
            and int(s["id"][3:]) > after
        ]
        page = matching[:limit]
        next_cursor = _encode_cursor("seat", int(page[-1]["id"][3:])) if len(matching) > limit else None
        return {"data": page, "nextCursor": next_cursor}

    # ------------------------------------------------------------------ holds

    @app.post("/v1/events/{eventId}/holds", status_code=201)
    async def createHold(eventId: str, request: Request, user: User) -> JSONResponse:
        event = find_event(eventId)
        model = HoldCreateUnboundedBelow if "empty-hold-accepted" in bugs else HoldCreate
        body, _ = await _parse(request, model)
        if len(set(body.seatIds)) != len(body.seatIds):
            raise ApiError(422, "duplicateSeat", "seatIds must not repeat a seat.")
        if len(body.seatIds) > event["maxTicketsPerOrder"]:
            raise ApiError(
                422, "tooManySeats", f"At most {event['maxTicketsPerOrder']} seats per hold for this event."
            )
        if _parse_iso(event["startsAt"]) <= datetime.now(UTC):
            raise ApiError(409, "salesClosed", "The event has started.")
        for seat_id in body.seatIds:
            seat = seats.get(seat_id)
            if seat is None or (
                seat["eventId"] != eventId and "hold-accepts-seat-of-other-event" not in bugs
            ):
                raise ApiError(422, "unknownSeat", f"Seat {seat_id} does not belong to event {eventId}.")
        lock = NoLock() if "concurrent-holds-double-book-seat" in bugs else seat_lock.get()
        async with lock:
            sweep()
            taken = [s for s in body.seatIds if seats[s]["status"] != "available"]
            if taken:
                raise ApiError(409, "seatUnavailable", f"Seats not available: {', '.join(taken)}.")
            await asyncio.sleep(SEAT_MAP_LATENCY)
            for seat_id in body.seatIds:
                seats[seat_id]["status"] = "held"
            counters["hold"] += 1
            hold_id = f"hld_{counters['hold']:05d}"
            now = datetime.now(UTC)
            hold = {
                "id": hold_id,
                "eventId": eventId,
                "seatIds": list(body.seatIds),
                "status": "active",
                "expiresAt": _iso(now + HOLD_TTL),
                "createdAt": _iso(now),
            }
            holds[hold_id] = hold
            owners[hold_id] = user
        return JSONResponse(hold, 201, headers={"Location": f"/v1/holds/{hold_id}"})

    @app.get("/v1/holds/{holdId}")
    async def getHold(holdId: str, user: User) -> dict[str, Any]:
        sweep()
        return own(holds, user, holdId, "hold")

    @app.delete("/v1/holds/{holdId}")
    async def releaseHold(holdId: str, user: User) -> dict[str, Any]:
        sweep()
        hold = own(holds, user, holdId, "hold")
        async with seat_lock.get():
            if hold["status"] != "active":
                raise ApiError(409, "holdNotActive", f"The hold is {hold['status']}.")
            hold["status"] = "released"
            for seat_id in hold["seatIds"]:
                seats[seat_id]["status"] = "available"
        return hold

    # ------------------------------------------------------------------ orders

    @app.post("/v1/orders", status_code=201)
    async def createOrder(
        request: Request,
        user: User,
        x_idempotency_key: Annotated[str, Header(min_length=8, max_length=64)],
    ) -> JSONResponse:
        body, _ = await _parse(request, OrderCreate)
        fingerprint = json.dumps(body.model_dump(), sort_keys=True)
        store_key: Any = (
            x_idempotency_key
            if "idempotency-keys-shared-across-buyers" in bugs
            else (user, x_idempotency_key)
        )
        async with seat_lock.get():
            stored = idempotency.get(store_key)
            if stored is not None:
                if stored[0] != fingerprint:
                    raise ApiError(
                        409, "idempotencyKeyReused", "This X-Idempotency-Key was used for another request."
                    )
                original = stored[1]
                return JSONResponse(
                    original,
                    201,
                    headers={"Location": f"/v1/orders/{original['id']}", "X-Idempotent-Replay": "true"},
                )
            sweep()
            hold = own(holds, user, body.holdId, "hold")
            if hold["status"] != "active" and not (
                hold["status"] == "released" and "released-hold-still-purchasable" in bugs
            ):
                raise ApiError(409, "holdNotActive", f"The hold is {hold['status']}.")
            event = events[hold["eventId"]]
            if _parse_iso(event["startsAt"]) <= datetime.now(UTC):
                raise ApiError(409, "salesClosed", "The event has started.")
            discount_per_order = Decimal("0")
            if body.promoCode is not None:
                if body.promoCode not in PROMO_CODES:
                    raise ApiError(422, "unknownPromoCode", f"Unknown promo code {body.promoCode}.")
                discount_per_order = PROMO_CODES[body.promoCode]
            tickets = []
            for seat_id in hold["seatIds"]:
                seat = seats[seat_id]
                seat["status"] = "sold"
                counters["ticket"] += 1
                tickets.append(
                    {
                        "id": f"tkt_{counters['ticket']:06d}",
                        "seatId": seat_id,
                        "section": seat["section"],
                        "row": seat["row"],
                        "number": seat["number"],
                        "price": seat["price"],
                    }
                )
            subtotal = sum((Decimal(t["price"]) for t in tickets), Decimal("0"))
            if "promo-discount-applied-per-ticket" in bugs:
                discount = discount_per_order * len(tickets)
            else:
                discount = discount_per_order
            discount = min(discount, subtotal)
            hold["status"] = "purchased"
            counters["order"] += 1
            order_id = f"ord_{counters['order']:06d}"
            order = {
                "id": order_id,
                "eventId": event["id"],
                "holdId": hold["id"],
                "buyerEmail": body.buyerEmail,
                "promoCode": body.promoCode,
                "tickets": tickets,
                "subtotal": _money(subtotal),
                "discount": _money(discount),
                "total": _money(subtotal - discount),
                "currency": event["currency"],
                "status": "confirmed",
                "refundAmount": None,
                "createdAt": _iso(datetime.now(UTC)),
                "cancelledAt": None,
                "_seq": counters["order"],
            }
            orders[order_id] = order
            owners[order_id] = user
            idempotency[store_key] = (fingerprint, public(order))
        return JSONResponse(public(order), 201, headers={"Location": f"/v1/orders/{order_id}"})

    def public(order: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in order.items() if not k.startswith("_")}

    @app.get("/v1/orders")
    async def listOrders(
        user: User,
        limit: Annotated[int, Query(ge=1, le=50)] = 20,
        cursor: str | None = None,
    ) -> dict[str, Any]:
        mine = sorted(
            (o for o in orders.values() if owners[o["id"]] == user), key=lambda o: o["_seq"], reverse=True
        )
        if "order-cursor-is-an-offset" in bugs:
            offset = 0 if cursor is None else _decode_cursor("ord", cursor)
            page = mine[offset : offset + limit]
            more = offset + limit < len(mine)
            next_cursor = _encode_cursor("ord", offset + limit) if more else None
        else:
            before = None if cursor is None else _decode_cursor("ord", cursor)
            remaining = [o for o in mine if before is None or o["_seq"] < before]
            page = remaining[:limit]
            more = len(remaining) > limit
            next_cursor = _encode_cursor("ord", page[-1]["_seq"]) if more else None
        return {"data": [public(o) for o in page], "nextCursor": next_cursor}

    @app.get("/v1/orders/{orderId}")
    async def getOrder(orderId: str, user: User) -> dict[str, Any]:
        return public(own(orders, user, orderId, "order"))

    @app.post("/v1/orders/{orderId}/cancel")
    async def cancelOrder(orderId: str, user: User) -> dict[str, Any]:
        order = own(orders, user, orderId, "order")
        async with seat_lock.get():
            if order["status"] != "confirmed":
                raise ApiError(409, "orderNotCancellable", "The order is already cancelled.")
            starts_at = _parse_iso(events[order["eventId"]]["startsAt"])
            cutoff = starts_at if "late-cancellation-accepted" in bugs else starts_at - CANCELLATION_CUTOFF
            now = datetime.now(UTC)
            if now >= cutoff:
                raise ApiError(
                    409,
                    "cancellationWindowClosed",
                    "Orders can only be cancelled until 48 hours before the event starts.",
                )
            for ticket in order["tickets"]:
                seats[ticket["seatId"]]["status"] = "available"
            order["status"] = "cancelled"
            order["refundAmount"] = order["total"]
            order["cancelledAt"] = _iso(now)
        return public(order)

    return app
