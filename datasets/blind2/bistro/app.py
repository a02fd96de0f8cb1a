"""Bistro target (blind2): restaurant table reservations, deposits and front-of-house actions.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import json
import math
import re
import weakref
from dataclasses import dataclass
from datetime import UTC, date, datetime, time, timedelta
from decimal import Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "concurrent-same-key-books-twice",
        "idempotency-replay-ignores-body",
        "bar-accepts-children",
        "deposit-not-recomputed-on-party-change",
        "cancelled-reservation-can-be-seated",
        "refund-window-ignores-days",
        "status-filter-applied-after-paging",
        "party-size-maximum-not-enforced",
    }
)


@dataclass(frozen=True)
class Principal:
    id: str
    role: Literal["guest", "staff"]
    restaurant_id: str | None = None


API_KEYS = {
    "bk_live_alice_7Hq2": Principal("gst_alice", "guest"),
    "bk_live_bob_9Xw4": Principal("gst_bob", "guest"),
    "bk_staff_host_3Mz8": Principal("stf_host", "staff", "rst_001"),
}

SEATING = timedelta(minutes=120)
MIN_LEAD = timedelta(hours=1)
MAX_AHEAD = timedelta(days=60)
CHANGE_CUTOFF = timedelta(hours=2)
FREE_CANCELLATION = timedelta(hours=24)
SEAT_EARLY = timedelta(minutes=60)
NO_SHOW_GRACE = timedelta(minutes=15)
# Simulated latency of the payment provider while the deposit is pre-authorised.
PREAUTH_LATENCY = 0.25
STARTS_AT_RE = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}(\.\d+)?(Z|[+-]\d{2}:\d{2})$")

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


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


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


AreaName = Literal["indoor", "terrace", "bar"]
OccasionName = Literal["birthday", "anniversary", "business", "other"]
Phone = Annotated[str, Field(pattern=r"^\+[1-9]\d{6,14}$")]


class ReservationCreate(_Strict):
    restaurantId: str = Field(min_length=1, max_length=64)
    startsAt: str = Field(max_length=40)
    partySize: int = Field(ge=1, le=12)
    childrenCount: int = Field(default=0, ge=0, le=12)
    area: AreaName = "indoor"
    guestName: str = Field(min_length=1, max_length=80)
    guestPhone: Phone | None = None
    occasion: OccasionName | None = None
    specialRequests: str | None = Field(default=None, max_length=500)


class ReservationCreateNoMax(ReservationCreate):
    partySize: int = Field(ge=1)


class ReservationUpdate(_Strict):
    startsAt: str | None = Field(default=None, max_length=40)
    partySize: int | None = Field(default=None, ge=1, le=12)
    childrenCount: int | None = Field(default=None, ge=0, le=12)
    area: AreaName | None = None
    guestPhone: Phone | None = None
    occasion: OccasionName | None = None
    specialRequests: str | None = Field(default=None, max_length=500)


class ReservationUpdateNoMax(ReservationUpdate):
    partySize: int | None = Field(default=None, ge=1)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _money(value: Decimal) -> str:
    return f"{value.quantize(Decimal('0.01'))}"


def _floor_quarter(value: datetime) -> datetime:
    return value.replace(minute=value.minute - value.minute % 15, second=0, microsecond=0)


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
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformedJson", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "invalidRequest", "The request body must be a JSON object.")
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        raise ApiError(422, "invalidRequest", _validation_message(exc.errors())) from exc


def _restaurants() -> dict[str, dict[str, Any]]:
    return {
        "rst_001": {
            "id": "rst_001",
            "name": "Chez Marguerite",
            "cuisine": "French bistro",
            "address": "14 Rue des Martyrs, 75009 Paris",
            "currency": "EUR",
            "firstSeating": "12:00",
            "lastSeating": "21:30",
            "seatingDurationMinutes": 120,
            "areas": [
                {"area": "indoor", "covers": 24, "childrenAllowed": True},
                {"area": "terrace", "covers": 12, "childrenAllowed": True},
                {"area": "bar", "covers": 6, "childrenAllowed": False},
            ],
            "depositPolicy": {"minPartySize": 6, "amountPerGuest": "15.00"},
        },
        "rst_002": {
            "id": "rst_002",
            "name": "Osteria Nove",
            "cuisine": "Italian",
            "address": "9 Lamb's Conduit Street, London WC1N 3LE",
            "currency": "GBP",
            "firstSeating": "17:00",
            "lastSeating": "21:00",
            "seatingDurationMinutes": 120,
            "areas": [
                {"area": "indoor", "covers": 30, "childrenAllowed": True},
                {"area": "bar", "covers": 8, "childrenAllowed": False},
            ],
            "depositPolicy": {"minPartySize": 8, "amountPerGuest": "20.00"},
        },
    }


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="Bistro Reservations API", version="2.4.1", openapi_url=None, docs_url=None, redoc_url=None
    )

    restaurants = _restaurants()
    reservations: dict[str, dict[str, Any]] = {}
    owners: dict[str, str] = {}
    idempotency: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    counters = {"reservation": 0}
    book_lock = LoopLock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "invalidRequest", "message": _validation_message(list(exc.errors()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "notFound", 405: "methodNotAllowed"}.get(exc.status_code, "httpError")
        return JSONResponse({"code": code, "message": str(exc.detail)}, exc.status_code)

    async def current_principal(x_api_key: Annotated[str | None, Header()] = None) -> Principal:
        principal = API_KEYS.get(x_api_key or "")
        if principal is None:
            raise ApiError(401, "unauthorized", "Missing or unknown X-Api-Key.")
        return principal

    Caller = Annotated[Principal, Depends(current_principal)]

    # ------------------------------------------------------------------ helpers

    def find_restaurant(restaurant_id: str) -> dict[str, Any]:
        restaurant = restaurants.get(restaurant_id)
        if restaurant is None:
            raise ApiError(404, "notFound", f"No restaurant {restaurant_id}.")
        return restaurant

    def visible(caller: Principal, reservation: dict[str, Any]) -> bool:
        if caller.role == "staff":
            return reservation["restaurantId"] == caller.restaurant_id
        return owners.get(reservation["id"]) == caller.id

    def find_reservation(caller: Principal, reservation_id: str) -> dict[str, Any]:
        reservation = reservations.get(reservation_id)
        if reservation is None or not visible(caller, reservation):
            raise ApiError(404, "notFound", f"No reservation {reservation_id}.")
        return reservation

    def area_of(restaurant: dict[str, Any], area: str) -> dict[str, Any]:
        for entry in restaurant["areas"]:
            if entry["area"] == area and entry["covers"] > 0:
                return entry
        raise ApiError(422, "areaUnavailable", f"{restaurant['name']} has no {area} seating.")

    def occupied(restaurant_id: str, area: str, start: datetime, exclude: str | None = None) -> int:
        end = start + SEATING
        total = 0
        for r in reservations.values():
            if (
                r["id"] != exclude
                and r["restaurantId"] == restaurant_id
                and r["area"] == area
                and r["status"] in ("booked", "seated")
                and _parse_iso(r["startsAt"]) < end
                and start < _parse_iso(r["endsAt"])
            ):
                total += r["partySize"]
        return total

    def parse_starts_at(raw: str, restaurant: dict[str, Any]) -> datetime:
        if not STARTS_AT_RE.fullmatch(raw):
            raise ApiError(422, "invalidStartsAt", "startsAt must be an RFC 3339 date-time with an offset.")
        try:
            value = _parse_iso(raw).astimezone(UTC)
        except (ValueError, OverflowError) as exc:
            raise ApiError(422, "invalidStartsAt", "startsAt is not a valid date-time.") from exc
        now = datetime.now(UTC)
        if value < now + MIN_LEAD:
            raise ApiError(422, "invalidStartsAt", "startsAt must be at least 1 hour from now.")
        if value > now + MAX_AHEAD:
            raise ApiError(422, "invalidStartsAt", "startsAt must be at most 60 days from now.")
        if value.second or value.microsecond or value.minute % 15:
            raise ApiError(422, "invalidStartsAt", "startsAt must fall on a 15-minute boundary.")
        first = time.fromisoformat(restaurant["firstSeating"])
        last = time.fromisoformat(restaurant["lastSeating"])
        if not first <= value.time().replace(tzinfo=None) <= last:
            raise ApiError(
                422,
                "invalidStartsAt",
                f"{restaurant['name']} seats guests between {restaurant['firstSeating']} and "
                f"{restaurant['lastSeating']} UTC.",
            )
        return value

    def check_party(restaurant: dict[str, Any], party: int, children: int, area: str) -> None:
        if children >= party:
            raise ApiError(422, "childrenExceedParty", "A party needs at least one adult.")
        seating = area_of(restaurant, area)
        if children and not seating["childrenAllowed"] and "bar-accepts-children" not in bugs:
            raise ApiError(422, "childrenNotAllowed", f"The {area} does not accept parties with children.")

    def check_capacity(
        restaurant: dict[str, Any], area: str, start: datetime, party: int, exclude: str | None = None
    ) -> None:
        covers = area_of(restaurant, area)["covers"]
        if occupied(restaurant["id"], area, start, exclude) + party > covers:
            raise ApiError(409, "noAvailability", f"No {area} table for {party} at {_iso(start)}.")

    def deposit_for(restaurant: dict[str, Any], party: int) -> tuple[str, str]:
        policy = restaurant["depositPolicy"]
        if party >= policy["minPartySize"]:
            return _money(Decimal(policy["amountPerGuest"]) * party), "held"
        return "0.00", "none"

    # ------------------------------------------------------------------ seed

    def seed() -> None:
        now = datetime.now(UTC)
        base = _floor_quarter(now)
        entries = [
            ("gst_alice", base + timedelta(minutes=30), 2, "terrace", "Ada Lovelace"),
            ("gst_bob", base - timedelta(minutes=60), 6, "indoor", "Bob Marley"),
            ("gst_alice", base + timedelta(hours=3), 6, "indoor", "Ada Lovelace"),
        ]
        for owner, start, party, area, name in entries:
            counters["reservation"] += 1
            rid = f"res_{counters['reservation']:06d}"
            amount, status = deposit_for(restaurants["rst_001"], party)
            created = _iso(now - timedelta(days=3))
            reservations[rid] = {
                "id": rid,
                "restaurantId": "rst_001",
                "status": "booked",
                "startsAt": _iso(start),
                "endsAt": _iso(start + SEATING),
                "partySize": party,
                "childrenCount": 0,
                "area": area,
                "guestName": name,
                "guestPhone": None,
                "occasion": None,
                "specialRequests": None,
                "depositAmount": amount,
                "depositStatus": status,
                "refundAmount": None,
                "createdAt": created,
                "updatedAt": created,
                "seatedAt": None,
                "cancelledAt": None,
            }
            owners[rid] = owner

    seed()

    # ------------------------------------------------------------------ restaurants

    @app.get("/v1/restaurants")
    async def listRestaurants(caller: Caller) -> dict[str, Any]:
        return {"items": list(restaurants.values())}

    @app.get("/v1/restaurants/{restaurantId}")
    async def getRestaurant(restaurantId: str, caller: Caller) -> dict[str, Any]:
        return find_restaurant(restaurantId)

    @app.get("/v1/restaurants/{restaurantId}/availability")
    async def getAvailability(
        restaurantId: str,
        caller: Caller,
        date_: Annotated[date, Query(alias="date")],
        partySize: Annotated[int, Query(ge=1, le=12)],
        area: AreaName | None = None,
    ) -> dict[str, Any]:
        restaurant = find_restaurant(restaurantId)
        now = datetime.now(UTC)
        if not now.date() <= date_ <= (now + MAX_AHEAD).date():
            raise ApiError(422, "dateOutOfRange", "date must be between today and 60 days from today.")
        first = time.fromisoformat(restaurant["firstSeating"])
        last = time.fromisoformat(restaurant["lastSeating"])
        slot = datetime.combine(date_, first, tzinfo=UTC)
        end = datetime.combine(date_, last, tzinfo=UTC)
        areas = [a for a in restaurant["areas"] if a["covers"] > 0 and (area is None or a["area"] == area)]
        slots = []
        while slot <= end:
            if now + MIN_LEAD <= slot <= now + MAX_AHEAD:
                for seating in areas:
                    remaining = max(0, seating["covers"] - occupied(restaurantId, seating["area"], slot))
                    slots.append(
                        {
                            "startsAt": _iso(slot),
                            "area": seating["area"],
                            "remainingCovers": remaining,
                            "available": remaining >= partySize,
                        }
                    )
            slot += timedelta(minutes=15)
        return {
            "restaurantId": restaurantId,
            "date": date_.isoformat(),
            "partySize": partySize,
            "slots": slots,
        }

    # ------------------------------------------------------------------ reservations

    @app.get("/v1/reservations")
    async def listReservations(
        caller: Caller,
        status: Literal["booked", "seated", "cancelled", "noShow"] | None = None,
        date_: Annotated[date | None, Query(alias="date")] = None,
        page: Annotated[int, Query(ge=1)] = 1,
        pageSize: Annotated[int, Query(ge=1, le=50)] = 20,
    ) -> dict[str, Any]:
        mine = sorted(
            (r for r in reservations.values() if visible(caller, r)),
            key=lambda r: (r["startsAt"], r["id"]),
        )
        if date_ is not None:
            mine = [r for r in mine if _parse_iso(r["startsAt"]).date() == date_]
        matching = [r for r in mine if status is None or r["status"] == status]
        start = (page - 1) * pageSize
        if "status-filter-applied-after-paging" in bugs:
            items = [r for r in mine[start : start + pageSize] if status is None or r["status"] == status]
        else:
            items = matching[start : start + pageSize]
        total = len(matching)
        return {
            "items": items,
            "page": page,
            "pageSize": pageSize,
            "totalItems": total,
            "totalPages": math.ceil(total / pageSize),
        }

    def book(caller: Principal, body: ReservationCreate) -> dict[str, Any]:
        restaurant = restaurants.get(body.restaurantId)
        if restaurant is None:
            raise ApiError(422, "unknownRestaurant", f"No restaurant {body.restaurantId}.")
        if caller.role == "staff" and caller.restaurant_id != restaurant["id"]:
            raise ApiError(403, "forbidden", "Staff keys can only book tables at their own restaurant.")
        check_party(restaurant, body.partySize, body.childrenCount, body.area)
        start = parse_starts_at(body.startsAt, restaurant)
        check_capacity(restaurant, body.area, start, body.partySize)
        amount, deposit_status = deposit_for(restaurant, body.partySize)
        counters["reservation"] += 1
        rid = f"res_{counters['reservation']:06d}"
        now = _iso(datetime.now(UTC))
        reservation = {
            "id": rid,
            "restaurantId": restaurant["id"],
            "status": "booked",
            "startsAt": _iso(start),
            "endsAt": _iso(start + SEATING),
            "partySize": body.partySize,
            "childrenCount": body.childrenCount,
            "area": body.area,
            "guestName": body.guestName,
            "guestPhone": body.guestPhone,
            "occasion": body.occasion,
            "specialRequests": body.specialRequests,
            "depositAmount": amount,
            "depositStatus": deposit_status,
            "refundAmount": None,
            "createdAt": now,
            "updatedAt": now,
            "seatedAt": None,
            "cancelledAt": None,
        }
        reservations[rid] = reservation
        owners[rid] = caller.id
        return reservation

    def replay(stored: tuple[str, dict[str, Any]] | None, fingerprint: str) -> JSONResponse | None:
        if stored is None:
            return None
        if stored[0] != fingerprint and "idempotency-replay-ignores-body" not in bugs:
            raise ApiError(
                409, "idempotencyKeyReused", "This Idempotency-Key was used with a different request body."
            )
        original = stored[1]
        return JSONResponse(
            original,
            201,
            headers={"Location": f"/v1/reservations/{original['id']}", "Idempotent-Replayed": "true"},
        )

    @app.post("/v1/reservations", status_code=201)
    async def createReservation(
        request: Request,
        caller: Caller,
        idempotency_key: Annotated[str | None, Header(min_length=8, max_length=64)] = None,
    ) -> JSONResponse:
        model = ReservationCreateNoMax if "party-size-maximum-not-enforced" in bugs else ReservationCreate
        body, _ = await _parse(request, model)
        fingerprint = json.dumps(body.model_dump(), sort_keys=True)
        scope = None if idempotency_key is None else (caller.id, idempotency_key)
        if "concurrent-same-key-books-twice" in bugs:
            if scope is not None:
                answer = replay(idempotency.get(scope), fingerprint)
                if answer is not None:
                    return answer
            await asyncio.sleep(PREAUTH_LATENCY)
            async with book_lock.get():
                reservation = book(caller, body)
                if scope is not None:
                    idempotency[scope] = (fingerprint, dict(reservation))
        else:
            async with book_lock.get():
                if scope is not None:
                    answer = replay(idempotency.get(scope), fingerprint)
                    if answer is not None:
                        return answer
                reservation = book(caller, body)
                if scope is not None:
                    idempotency[scope] = (fingerprint, dict(reservation))
        return JSONResponse(reservation, 201, headers={"Location": f"/v1/reservations/{reservation['id']}"})

    @app.get("/v1/reservations/{reservationId}")
    async def getReservation(reservationId: str, caller: Caller) -> dict[str, Any]:
        return find_reservation(caller, reservationId)

    @app.patch("/v1/reservations/{reservationId}")
    async def updateReservation(reservationId: str, request: Request, caller: Caller) -> dict[str, Any]:
        reservation = find_reservation(caller, reservationId)
        model = ReservationUpdateNoMax if "party-size-maximum-not-enforced" in bugs else ReservationUpdate
        body, data = await _parse(request, model)
        known = set(ReservationUpdate.model_fields)
        if not known & set(data):
            raise ApiError(422, "invalidRequest", "Send at least one field to change.")
        for field in ("startsAt", "partySize", "childrenCount", "area"):
            if field in data and data[field] is None:
                raise ApiError(422, "invalidRequest", f"{field}: may not be null.")
        async with book_lock.get():
            if reservation["status"] != "booked":
                raise ApiError(
                    409, "reservationNotModifiable", f"The reservation is {reservation['status']}."
                )
            now = datetime.now(UTC)
            if now >= _parse_iso(reservation["startsAt"]) - CHANGE_CUTOFF:
                raise ApiError(
                    409, "changeWindowClosed", "Reservations can be changed until 2 hours before startsAt."
                )
            restaurant = restaurants[reservation["restaurantId"]]
            party = body.partySize if body.partySize is not None else reservation["partySize"]
            children = body.childrenCount if body.childrenCount is not None else reservation["childrenCount"]
            area = body.area if body.area is not None else reservation["area"]
            check_party(restaurant, party, children, area)
            if body.startsAt is not None:
                start = parse_starts_at(body.startsAt, restaurant)
            else:
                start = _parse_iso(reservation["startsAt"])
            check_capacity(restaurant, area, start, party, exclude=reservation["id"])
            if party != reservation["partySize"] and "deposit-not-recomputed-on-party-change" not in bugs:
                amount, deposit_status = deposit_for(restaurant, party)
                reservation["depositAmount"] = amount
                reservation["depositStatus"] = deposit_status
            reservation.update(
                {
                    "partySize": party,
                    "childrenCount": children,
                    "area": area,
                    "startsAt": _iso(start),
                    "endsAt": _iso(start + SEATING),
                    "updatedAt": _iso(now),
                }
            )
            for field in ("guestPhone", "occasion", "specialRequests"):
                if field in data:
                    reservation[field] = getattr(body, field)
        return reservation

    @app.post("/v1/reservations/{reservationId}/cancel")
    async def cancelReservation(reservationId: str, caller: Caller) -> dict[str, Any]:
        reservation = find_reservation(caller, reservationId)
        async with book_lock.get():
            if reservation["status"] != "booked":
                raise ApiError(
                    409, "reservationNotCancellable", f"The reservation is {reservation['status']}."
                )
            now = datetime.now(UTC)
            ahead = _parse_iso(reservation["startsAt"]) - now
            if "refund-window-ignores-days" in bugs:
                free = ahead.seconds >= FREE_CANCELLATION.total_seconds()
            else:
                free = ahead >= FREE_CANCELLATION
            if reservation["depositStatus"] == "held":
                if free:
                    reservation["depositStatus"] = "refunded"
                    reservation["refundAmount"] = reservation["depositAmount"]
                else:
                    reservation["depositStatus"] = "forfeited"
                    reservation["refundAmount"] = "0.00"
            else:
                reservation["refundAmount"] = "0.00"
            reservation["status"] = "cancelled"
            reservation["cancelledAt"] = reservation["updatedAt"] = _iso(now)
        return reservation

    def staff_reservation(caller: Principal, reservation_id: str) -> dict[str, Any]:
        if caller.role != "staff":
            raise ApiError(403, "forbidden", "Only staff keys can do this.")
        return find_reservation(caller, reservation_id)

    @app.post("/v1/reservations/{reservationId}/seat")
    async def seatReservation(reservationId: str, caller: Caller) -> dict[str, Any]:
        reservation = staff_reservation(caller, reservationId)
        async with book_lock.get():
            allowed = (
                ("booked", "cancelled") if "cancelled-reservation-can-be-seated" in bugs else ("booked",)
            )
            if reservation["status"] not in allowed:
                raise ApiError(409, "invalidStatus", f"The reservation is {reservation['status']}.")
            now = datetime.now(UTC)
            if now < _parse_iso(reservation["startsAt"]) - SEAT_EARLY:
                raise ApiError(
                    409, "tooEarlyToSeat", "Parties can be seated from 60 minutes before startsAt."
                )
            reservation["status"] = "seated"
            reservation["seatedAt"] = reservation["updatedAt"] = _iso(now)
        return reservation

    @app.post("/v1/reservations/{reservationId}/no-show")
    async def markNoShow(reservationId: str, caller: Caller) -> dict[str, Any]:
        reservation = staff_reservation(caller, reservationId)
        async with book_lock.get():
            if reservation["status"] != "booked":
                raise ApiError(409, "invalidStatus", f"The reservation is {reservation['status']}.")
            now = datetime.now(UTC)
            if now < _parse_iso(reservation["startsAt"]) + NO_SHOW_GRACE:
                raise ApiError(
                    409, "tooEarlyForNoShow", "A no-show can be recorded 15 minutes after startsAt."
                )
            reservation["status"] = "noShow"
            if reservation["depositStatus"] == "held":
                reservation["depositStatus"] = "forfeited"
            reservation["updatedAt"] = _iso(now)
        return reservation

    return app
