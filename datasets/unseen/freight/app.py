"""Freight target (unseen): rate quotes, shipments, customs declarations and carrier tracking.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import json
import math
import time
from collections import deque
from datetime import UTC, date, datetime, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "quote-lane-not-compared",
        "quote-rate-limit-keyed-by-lane",
        "shipment-price-taken-from-body",
        "declaration-value-ignores-quantity",
        "cancelled-shipment-can-be-booked",
        "foreign-declaration-overwritten",
        "tracking-order-checked-per-event-type",
        "hs-code-format-not-validated",
    }
)


class Caller(BaseModel):
    user: str
    role: Literal["shipper", "carrier"]
    org: str  # shipper account or carrier id


TOKENS = {
    "frt_acme_alice_91c2": Caller(user="usr_alice", role="shipper", org="acc_acme"),
    "frt_globex_bob_4d7a": Caller(user="usr_bob", role="shipper", org="acc_globex"),
    "frt_northwind_kai_e05b": Caller(user="usr_kai", role="carrier", org="car_northwind"),
}
CARRIER_ID = "car_northwind"
QUOTES_PER_MINUTE = 5
QUOTE_TTL = timedelta(minutes=30)
RATE_PER_KG = {"road": Decimal("0.80"), "air": Decimal("4.50"), "ocean": Decimal("0.35")}
INTERNATIONAL_FACTOR = Decimal("2.5")
MINIMUM_PRICE = Decimal("25.00")
CLOCK_SKEW = timedelta(minutes=5)

Mode = Literal["road", "air", "ocean"]
Country = Annotated[str, Field(pattern=r"^[A-Z]{2}$")]
Amount = Annotated[str, Field(pattern=r"^\d{1,9}\.\d{2}$")]
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


class QuoteCreate(_Strict):
    origin_country: Country
    destination_country: Country
    mode: Mode
    weight_kg: float = Field(ge=0.1, le=20000)


class Address(_Strict):
    country: Country
    postal_code: str = Field(min_length=2, max_length=12)
    city: str = Field(min_length=1, max_length=60)


class ShipmentCreate(_Strict):
    quote_id: str
    origin: Address
    destination: Address
    mode: Mode
    weight_kg: float = Field(ge=0.1, le=20000)
    pickup_date: date
    delivery_by: date
    declared_value: Amount
    reference: str | None = Field(default=None, max_length=35)


class ShipmentCreateWithPrice(ShipmentCreate):
    price: Amount | None = None


class ShipmentPatch(_Strict):
    status: Literal["booked", "cancelled"] | None = None
    reference: str | None = Field(default=None, max_length=35)
    pickup_date: date | None = None
    delivery_by: date | None = None


class DeclarationItem(_Strict):
    description: str = Field(min_length=1, max_length=120)
    hs_code: str = Field(pattern=r"^[0-9]{6}([0-9]{2}){0,2}$")
    quantity: int = Field(ge=1, le=100_000)
    unit_value: Amount
    origin_country: Country


class DeclarationItemAnyHsCode(DeclarationItem):
    hs_code: str = Field(min_length=1, max_length=20)


class Declaration(_Strict):
    incoterm: Literal["EXW", "FCA", "DAP", "DDP"]
    items: list[DeclarationItem] = Field(min_length=1, max_length=50)


class DeclarationAnyHsCode(Declaration):
    items: list[DeclarationItemAnyHsCode] = Field(min_length=1, max_length=50)  # type: ignore[assignment]


class TrackingEventCreate(_Strict):
    type: Literal["picked_up", "departed", "arrived", "out_for_delivery", "delivered", "exception"]
    occurred_at: datetime
    location: str = Field(min_length=1, max_length=80)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _today() -> date:
    return datetime.now(UTC).date()


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
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        raise ApiError(422, "validation_error", _validation_message(exc.errors())) from exc


def _quote_price(origin: str, destination: str, mode: str, weight_kg: float) -> Decimal:
    price = RATE_PER_KG[mode] * Decimal(str(weight_kg))
    if origin != destination:
        price *= INTERNATIONAL_FACTOR
    return max(MINIMUM_PRICE, price.quantize(Decimal("0.01")))


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(title="Freight API", version="1.14.2", openapi_url=None, docs_url=None, redoc_url=None)

    quotes: dict[str, dict[str, Any]] = {}
    shipments: dict[str, dict[str, Any]] = {}
    declarations: dict[str, dict[str, Any]] = {}
    events: dict[str, list[dict[str, Any]]] = {}
    idempotency: dict[tuple[str, str], tuple[str, str]] = {}
    quote_log: dict[Any, deque[float]] = {}
    counters = {"quote": 0, "shipment": 0, "event": 0}

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "validation_error", "message": _validation_message(list(exc.errors()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"code": code, "message": str(exc.detail)}, exc.status_code)

    async def current_caller(x_api_token: Annotated[str | None, Header()] = None) -> Caller:
        caller = TOKENS.get(x_api_token or "")
        if caller is None:
            raise ApiError(401, "unauthorized", "Missing or unknown X-Api-Token.")
        return caller

    Auth = Annotated[Caller, Depends(current_caller)]

    def shipper_only(caller: Caller) -> None:
        if caller.role != "shipper":
            raise ApiError(403, "forbidden", "Only shipper accounts can do this.")

    def can_see(caller: Caller, shipment: dict[str, Any]) -> bool:
        if caller.role == "shipper":
            return shipment["account_id"] == caller.org
        return shipment["carrier_id"] == caller.org

    def visible(caller: Caller, shipment_id: str) -> dict[str, Any]:
        shipment = shipments.get(shipment_id)
        if shipment is None or not can_see(caller, shipment):
            raise ApiError(404, "not_found", f"No shipment {shipment_id}.")
        return shipment

    def owned(caller: Caller, shipment_id: str) -> dict[str, Any]:
        shipment = visible(caller, shipment_id)
        shipper_only(caller)
        return shipment

    def check_dates(pickup: date, delivery: date) -> None:
        if pickup < _today():
            raise ApiError(422, "invalid_dates", "pickup_date cannot be in the past.")
        if delivery <= pickup:
            raise ApiError(422, "invalid_dates", "delivery_by must be after pickup_date.")

    def public_shipment(shipment: dict[str, Any]) -> dict[str, Any]:
        return {**shipment, "has_customs_declaration": shipment["id"] in declarations}

    # ------------------------------------------------------------------ quotes

    @app.post("/api/v1/quotes", status_code=201)
    async def create_quote(request: Request, caller: Auth) -> JSONResponse:
        shipper_only(caller)
        body, _ = await _parse(request, QuoteCreate)
        if "quote-rate-limit-keyed-by-lane" in bugs:
            bucket: Any = (caller.org, caller.user, body.origin_country, body.destination_country)
        else:
            bucket = (caller.org, caller.user)
        log = quote_log.setdefault(bucket, deque())
        now = time.monotonic()
        while log and now - log[0] >= 60:
            log.popleft()
        if len(log) >= QUOTES_PER_MINUTE:
            retry = max(1, math.ceil(60 - (now - log[0])))
            raise ApiError(
                429,
                "rate_limited",
                f"At most {QUOTES_PER_MINUTE} quotes per minute.",
                {"Retry-After": str(retry)},
            )
        log.append(now)
        counters["quote"] += 1
        quote_id = f"qt_{counters['quote']:05d}"
        created = datetime.now(UTC)
        quote = {
            "id": quote_id,
            "account_id": caller.org,
            "origin_country": body.origin_country,
            "destination_country": body.destination_country,
            "mode": body.mode,
            "weight_kg": body.weight_kg,
            "price": _money(
                _quote_price(body.origin_country, body.destination_country, body.mode, body.weight_kg)
            ),
            "currency": "USD",
            "expires_at": _iso(created + QUOTE_TTL),
            "shipment_id": None,
            "created_at": _iso(created),
        }
        quotes[quote_id] = quote
        return JSONResponse(
            quote,
            201,
            headers={
                "Location": f"/api/v1/quotes/{quote_id}",
                "X-RateLimit-Remaining": str(QUOTES_PER_MINUTE - len(log)),
            },
        )

    @app.get("/api/v1/quotes/{quote_id}")
    async def get_quote(quote_id: str, caller: Auth) -> dict[str, Any]:
        quote = quotes.get(quote_id)
        if quote is None or quote["account_id"] != caller.org:
            raise ApiError(404, "not_found", f"No quote {quote_id}.")
        return quote

    # ------------------------------------------------------------------ shipments

    @app.get("/api/v1/shipments")
    async def list_shipments(
        caller: Auth,
        status: Literal["draft", "booked", "in_transit", "delivered", "cancelled"] | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=100)] = 25,
    ) -> dict[str, Any]:
        matching = [
            s for s in shipments.values() if can_see(caller, s) and (status is None or s["status"] == status)
        ]
        page = [public_shipment(s) for s in matching[offset : offset + limit]]
        return {"items": page, "offset": offset, "limit": limit, "total": len(matching)}

    @app.post("/api/v1/shipments", status_code=201)
    async def create_shipment(
        request: Request,
        caller: Auth,
        idempotency_key: Annotated[str, Header(min_length=1, max_length=255)],
    ) -> JSONResponse:
        shipper_only(caller)
        model = ShipmentCreateWithPrice if "shipment-price-taken-from-body" in bugs else ShipmentCreate
        body, _ = await _parse(request, model)
        fingerprint = json.dumps(body.model_dump(mode="json"), sort_keys=True)
        stored = idempotency.get((caller.org, idempotency_key))
        if stored is not None:
            if stored[0] != fingerprint:
                raise ApiError(
                    422, "idempotency_key_mismatch", "This Idempotency-Key was used with a different body."
                )
            original = shipments[stored[1]]
            return JSONResponse(
                public_shipment(original),
                200,
                headers={"Location": f"/api/v1/shipments/{original['id']}", "Idempotent-Replayed": "true"},
            )
        quote = quotes.get(body.quote_id)
        if quote is None or quote["account_id"] != caller.org:
            raise ApiError(422, "invalid_quote", f"No quote {body.quote_id}.")
        if datetime.fromisoformat(quote["expires_at"].replace("Z", "+00:00")) <= datetime.now(UTC):
            raise ApiError(422, "quote_expired", "The quote has expired; request a new one.")
        if quote["shipment_id"] is not None:
            raise ApiError(409, "quote_used", f"The quote was used for {quote['shipment_id']}.")
        lane_ok = "quote-lane-not-compared" in bugs or (
            body.origin.country == quote["origin_country"]
            and body.destination.country == quote["destination_country"]
        )
        if not lane_ok or body.mode != quote["mode"] or body.weight_kg > quote["weight_kg"]:
            raise ApiError(
                422, "quote_mismatch", "The shipment does not match the quote's lane, mode or weight."
            )
        check_dates(body.pickup_date, body.delivery_by)
        price = getattr(body, "price", None) or quote["price"]
        counters["shipment"] += 1
        shipment_id = f"shp_{counters['shipment']:05d}"
        now = _iso(datetime.now(UTC))
        shipment = {
            "id": shipment_id,
            "account_id": caller.org,
            "quote_id": quote["id"],
            "origin": body.origin.model_dump(),
            "destination": body.destination.model_dump(),
            "mode": body.mode,
            "weight_kg": body.weight_kg,
            "pickup_date": body.pickup_date.isoformat(),
            "delivery_by": body.delivery_by.isoformat(),
            "declared_value": body.declared_value,
            "currency": "USD",
            "price": price,
            "reference": body.reference,
            "status": "draft",
            "customs_required": body.origin.country != body.destination.country,
            "carrier_id": None,
            "created_at": now,
            "delivered_at": None,
        }
        shipments[shipment_id] = shipment
        quote["shipment_id"] = shipment_id
        idempotency[(caller.org, idempotency_key)] = (fingerprint, shipment_id)
        return JSONResponse(
            public_shipment(shipment), 201, headers={"Location": f"/api/v1/shipments/{shipment_id}"}
        )

    @app.get("/api/v1/shipments/{shipment_id}")
    async def get_shipment(shipment_id: str, caller: Auth) -> dict[str, Any]:
        return public_shipment(visible(caller, shipment_id))

    @app.patch("/api/v1/shipments/{shipment_id}")
    async def update_shipment(shipment_id: str, request: Request, caller: Auth) -> dict[str, Any]:
        shipment = owned(caller, shipment_id)
        body, data = await _parse(request, ShipmentPatch)
        sent = {k for k in ("status", "reference", "pickup_date", "delivery_by") if k in data}
        if not sent:
            raise ApiError(422, "validation_error", "Send at least one field.")
        if any(data[k] is None for k in sent - {"reference"}):
            raise ApiError(422, "validation_error", "Only reference may be null.")
        if sent & {"pickup_date", "delivery_by"}:
            if shipment["status"] != "draft":
                raise ApiError(409, "shipment_locked", "Dates can only change while the shipment is a draft.")
            check_dates(
                body.pickup_date or date.fromisoformat(shipment["pickup_date"]),
                body.delivery_by or date.fromisoformat(shipment["delivery_by"]),
            )
        if body.status is not None and body.status != shipment["status"]:
            current = shipment["status"]
            if body.status == "booked":
                allowed = current == "draft" or (
                    current == "cancelled" and "cancelled-shipment-can-be-booked" in bugs
                )
            else:
                allowed = current in ("draft", "booked")
            if not allowed:
                raise ApiError(
                    409, "invalid_transition", f"A {current} shipment cannot become {body.status}."
                )
            if body.status == "booked" and shipment["customs_required"] and shipment_id not in declarations:
                raise ApiError(
                    422, "customs_declaration_required", "International shipments need a customs declaration."
                )
        elif body.status is not None:
            raise ApiError(409, "invalid_transition", f"The shipment is already {body.status}.")
        if body.status == "booked":
            shipment["carrier_id"] = CARRIER_ID
        if body.status is not None:
            shipment["status"] = body.status
        if "reference" in sent:
            shipment["reference"] = body.reference
        if body.pickup_date is not None:
            shipment["pickup_date"] = body.pickup_date.isoformat()
        if body.delivery_by is not None:
            shipment["delivery_by"] = body.delivery_by.isoformat()
        return public_shipment(shipment)

    # ------------------------------------------------------------------ customs

    @app.get("/api/v1/shipments/{shipment_id}/customs-declaration")
    async def get_customs_declaration(shipment_id: str, caller: Auth) -> dict[str, Any]:
        visible(caller, shipment_id)
        declaration = declarations.get(shipment_id)
        if declaration is None:
            raise ApiError(404, "not_found", f"Shipment {shipment_id} has no customs declaration.")
        return declaration

    @app.put("/api/v1/shipments/{shipment_id}/customs-declaration")
    async def put_customs_declaration(shipment_id: str, request: Request, caller: Auth) -> JSONResponse:
        if "foreign-declaration-overwritten" in bugs:
            shipment = shipments.get(shipment_id)
            if shipment is None:
                raise ApiError(404, "not_found", f"No shipment {shipment_id}.")
            shipper_only(caller)
        else:
            shipment = owned(caller, shipment_id)
        model = DeclarationAnyHsCode if "hs-code-format-not-validated" in bugs else Declaration
        body, _ = await _parse(request, model)
        if not shipment["customs_required"]:
            raise ApiError(422, "not_international", "Domestic shipments need no customs declaration.")
        if shipment["status"] not in ("draft", "booked"):
            raise ApiError(409, "declaration_locked", f"The shipment is {shipment['status']}.")
        if "declaration-value-ignores-quantity" in bugs:
            total = sum((Decimal(i.unit_value) for i in body.items), Decimal("0"))
        else:
            total = sum((Decimal(i.unit_value) * i.quantity for i in body.items), Decimal("0"))
        if total != Decimal(shipment["declared_value"]):
            raise ApiError(
                422,
                "value_mismatch",
                f"The items add up to {_money(total)}, the shipment declares {shipment['declared_value']}.",
            )
        created = shipment_id not in declarations
        declaration = {
            "shipment_id": shipment_id,
            "incoterm": body.incoterm,
            "items": [i.model_dump() for i in body.items],
            "total_value": _money(total),
            "updated_at": _iso(datetime.now(UTC)),
        }
        declarations[shipment_id] = declaration
        return JSONResponse(declaration, 201 if created else 200)

    # ------------------------------------------------------------------ tracking

    @app.get("/api/v1/shipments/{shipment_id}/tracking-events")
    async def list_tracking_events(shipment_id: str, caller: Auth) -> dict[str, Any]:
        visible(caller, shipment_id)
        return {"items": events.get(shipment_id, [])}

    @app.post("/api/v1/shipments/{shipment_id}/tracking-events", status_code=201)
    async def add_tracking_event(shipment_id: str, request: Request, caller: Auth) -> JSONResponse:
        shipment = visible(caller, shipment_id)
        if caller.role != "carrier":
            raise ApiError(403, "forbidden", "Only the assigned carrier records tracking events.")
        body, _ = await _parse(request, TrackingEventCreate)
        if body.occurred_at.tzinfo is None:
            raise ApiError(422, "validation_error", "occurred_at needs a time zone offset.")
        if shipment["status"] not in ("booked", "in_transit"):
            raise ApiError(409, "not_trackable", f"The shipment is {shipment['status']}.")
        history = events.setdefault(shipment_id, [])
        occurred = body.occurred_at.astimezone(UTC)
        if occurred > datetime.now(UTC) + CLOCK_SKEW:
            raise ApiError(422, "occurred_in_future", "occurred_at is in the future.")
        if (body.type == "picked_up") != (not history):
            raise ApiError(422, "invalid_sequence", "picked_up is the first event, and only the first.")
        compared = history
        if "tracking-order-checked-per-event-type" in bugs:
            compared = [e for e in history if e["type"] == body.type]
        if compared and occurred < max(
            datetime.fromisoformat(e["occurred_at"].replace("Z", "+00:00")) for e in compared
        ):
            raise ApiError(422, "out_of_order", "occurred_at is earlier than the latest tracking event.")
        counters["event"] += 1
        event = {
            "id": f"trk_{counters['event']:06d}",
            "shipment_id": shipment_id,
            "type": body.type,
            "occurred_at": _iso(occurred),
            "location": body.location,
            "recorded_by": caller.org,
        }
        history.append(event)
        if body.type == "picked_up":
            shipment["status"] = "in_transit"
        elif body.type == "delivered":
            shipment["status"] = "delivered"
            shipment["delivered_at"] = event["occurred_at"]
        return JSONResponse(event, 201)

    return app
