"""Bookings benchmark target: meeting rooms with a capacity, and time-slot bookings.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import json
import weakref
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
        "ends-before-starts-accepted",
        "reschedule-ends-before-starts",
        "partial-overlap-accepted",
        "guests-exceed-capacity",
        "bookings-total-counts-page",
        "double-booking-under-concurrency",
        "zero-guests-accepted",
    }
)

API_KEYS = {"bk_alice_5f2a": "usr_alice", "bk_bob_91c7": "usr_bob"}

MAX_DURATION = timedelta(hours=24)
# Simulated latency of pushing a new booking to the room's calendar.
CALENDAR_SYNC_LATENCY = 0.01

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


class NoLock:
    async def __aenter__(self) -> None:
        return None

    async def __aexit__(self, *exc: object) -> None:
        return None


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class RoomCreate(_Strict):
    name: str = Field(min_length=1, max_length=80)
    capacity: int = Field(ge=1, le=500)
    floor: int | None = Field(default=None, ge=-5, le=200)


class BookingCreate(_Strict):
    room_id: str
    title: str = Field(min_length=1, max_length=120)
    starts_at: AwareDatetime
    ends_at: AwareDatetime
    guests: int = Field(le=500)


class BookingUpdate(_Strict):
    title: str | None = Field(default=None, min_length=1, max_length=120)
    starts_at: AwareDatetime | None = None
    ends_at: AwareDatetime | None = None
    guests: int | None = Field(default=None, le=500)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


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

    app = FastAPI(title="Room Bookings API", version="1.2.0", openapi_url=None, docs_url=None, redoc_url=None)

    rooms: dict[str, dict[str, Any]] = {}
    bookings: dict[str, dict[str, Any]] = {}
    counters = {"room": 0, "booking": 0}
    calendar_lock = LoopLock()

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

    async def current_user(x_api_key: Annotated[str | None, Header()] = None) -> str:
        user = API_KEYS.get(x_api_key or "")
        if user is None:
            raise ApiError(401, "unauthorized", "Missing or invalid X-Api-Key header.")
        return user

    User = Annotated[str, Depends(current_user)]
    Page = Annotated[int, Query(ge=1, le=10_000)]
    PerPage = Annotated[int, Query(ge=1, le=100)]

    def paginate(items: list[dict[str, Any]], page: int, per_page: int) -> dict[str, Any]:
        data = items[(page - 1) * per_page : page * per_page]
        total = len(data) if "bookings-total-counts-page" in bugs else len(items)
        return {"data": data, "total": total, "page": page, "per_page": per_page}

    # ------------------------------------------------------------------ rooms

    @app.post("/rooms", status_code=201)
    async def create_room(request: Request, user: User) -> JSONResponse:
        body = await _parse(request, RoomCreate)
        counters["room"] += 1
        room_id = f"room_{counters['room']:04d}"
        room = {"id": room_id, **body.model_dump(), "created_at": _iso(datetime.now(UTC))}
        rooms[room_id] = room
        return JSONResponse(room, 201, headers={"Location": f"/rooms/{room_id}"})

    @app.get("/rooms")
    async def list_rooms(user: User, page: Page = 1, per_page: PerPage = 20) -> dict[str, Any]:
        items = list(rooms.values())
        data = items[(page - 1) * per_page : page * per_page]
        return {"data": data, "total": len(items), "page": page, "per_page": per_page}

    @app.get("/rooms/{room_id}")
    async def get_room(room_id: str, user: User) -> dict[str, Any]:
        room = rooms.get(room_id)
        if room is None:
            raise ApiError(404, "not_found", f"No such room: {room_id}")
        return room

    # ------------------------------------------------------------------ bookings

    def check_slot(
        room: dict[str, Any], starts_at: datetime, ends_at: datetime, guests: int, *, ordering: bool = True
    ) -> None:
        if ordering and ends_at <= starts_at:
            raise ApiError(422, "invalid_time_range", "ends_at must be after starts_at.")
        if ends_at - starts_at > MAX_DURATION:
            raise ApiError(422, "invalid_time_range", "A booking may last at most 24 hours.")
        if starts_at < datetime.now(UTC):
            raise ApiError(422, "starts_in_past", "starts_at must not be in the past.")
        if guests < 1 and "zero-guests-accepted" not in bugs:
            raise ApiError(422, "validation_error", "guests must be at least 1.")
        if guests > room["capacity"] and "guests-exceed-capacity" not in bugs:
            raise ApiError(422, "over_capacity", f"{room['name']} holds at most {room['capacity']} people.")

    def check_overlap(
        room_id: str, starts_at: datetime, ends_at: datetime, exclude: str | None = None
    ) -> None:
        for other in bookings.values():
            if other["room_id"] != room_id or other["status"] != "confirmed" or other["id"] == exclude:
                continue
            other_start, other_end = _parse_iso(other["starts_at"]), _parse_iso(other["ends_at"])
            if "partial-overlap-accepted" in bugs:
                clash = other_start <= starts_at < other_end
            else:
                clash = starts_at < other_end and other_start < ends_at
            if clash:
                raise ApiError(
                    409, "slot_taken", f"The room is already booked by {other['id']} at that time."
                )

    def own_booking(user: str, booking_id: str) -> dict[str, Any]:
        booking = bookings.get(booking_id)
        if booking is None or booking["organizer_id"] != user:
            raise ApiError(404, "not_found", f"No such booking: {booking_id}")
        return booking

    @app.post("/bookings", status_code=201)
    async def create_booking(request: Request, user: User) -> JSONResponse:
        body = await _parse(request, BookingCreate)
        room = rooms.get(body.room_id)
        if room is None:
            raise ApiError(422, "unknown_room", "room_id does not refer to an existing room.")
        check_slot(
            room,
            body.starts_at,
            body.ends_at,
            body.guests,
            ordering="ends-before-starts-accepted" not in bugs,
        )
        lock = NoLock() if "double-booking-under-concurrency" in bugs else calendar_lock.get()
        async with lock:
            check_overlap(room["id"], body.starts_at, body.ends_at)
            await asyncio.sleep(CALENDAR_SYNC_LATENCY)
            counters["booking"] += 1
            booking_id = f"bkg_{counters['booking']:06d}"
            booking = {
                "id": booking_id,
                "room_id": room["id"],
                "organizer_id": user,
                "title": body.title,
                "starts_at": _iso(body.starts_at),
                "ends_at": _iso(body.ends_at),
                "guests": body.guests,
                "status": "confirmed",
                "created_at": _iso(datetime.now(UTC)),
                "canceled_at": None,
            }
            bookings[booking_id] = booking
        return JSONResponse(booking, 201, headers={"Location": f"/bookings/{booking_id}"})

    @app.get("/bookings")
    async def list_bookings(
        user: User,
        room_id: str | None = None,
        status: Literal["confirmed", "canceled"] | None = None,
        page: Page = 1,
        per_page: PerPage = 20,
    ) -> dict[str, Any]:
        mine = [
            b
            for b in bookings.values()
            if b["organizer_id"] == user
            and (room_id is None or b["room_id"] == room_id)
            and (status is None or b["status"] == status)
        ]
        mine.sort(key=lambda b: (_parse_iso(b["starts_at"]), b["id"]))
        return paginate(mine, page, per_page)

    @app.get("/bookings/{booking_id}")
    async def get_booking(booking_id: str, user: User) -> dict[str, Any]:
        return own_booking(user, booking_id)

    @app.patch("/bookings/{booking_id}")
    async def update_booking(booking_id: str, request: Request, user: User) -> dict[str, Any]:
        booking = own_booking(user, booking_id)
        body = await _parse(request, BookingUpdate)
        if booking["status"] == "canceled":
            raise ApiError(409, "booking_canceled", "A canceled booking cannot be changed.")
        starts_at = body.starts_at or _parse_iso(booking["starts_at"])
        ends_at = body.ends_at or _parse_iso(booking["ends_at"])
        guests = booking["guests"] if body.guests is None else body.guests
        if "reschedule-ends-before-starts" in bugs:
            # Ordering is only checked when the request carries both ends of the range.
            ordering = body.starts_at is not None and body.ends_at is not None
        else:
            ordering = True
        check_slot(rooms[booking["room_id"]], starts_at, ends_at, guests, ordering=ordering)
        async with calendar_lock.get():
            check_overlap(booking["room_id"], starts_at, ends_at, exclude=booking_id)
            if body.title is not None:
                booking["title"] = body.title
            booking["starts_at"], booking["ends_at"] = _iso(starts_at), _iso(ends_at)
            booking["guests"] = guests
        return booking

    @app.post("/bookings/{booking_id}/cancel")
    async def cancel_booking(booking_id: str, user: User) -> dict[str, Any]:
        booking = own_booking(user, booking_id)
        if booking["status"] == "canceled":
            raise ApiError(409, "booking_canceled", "The booking is already canceled.")
        booking["status"] = "canceled"
        booking["canceled_at"] = _iso(datetime.now(UTC))
        return booking

    return app
