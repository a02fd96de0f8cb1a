"""Telehealth target (blind): practitioners, free slots, appointments and patient profiles.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import base64
import binascii
import json
import threading
from datetime import UTC, date, datetime, time, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "overlap-check-misses-contained-appointment",
        "checked-in-appointment-rescheduled",
        "request-id-not-scoped-to-caller",
        "coverage-percent-writable",
        "page-token-skips-tied-start-times",
        "concurrent-bookings-double-book",
        "patient-books-for-another-patient",
        "duration-accepts-any-minutes",
    }
)

STATUS_NAMES = {
    400: "INVALID_ARGUMENT",
    401: "UNAUTHENTICATED",
    403: "PERMISSION_DENIED",
    404: "NOT_FOUND",
    405: "INVALID_ARGUMENT",
    409: "ABORTED",
}
DURATIONS = (15, 30, 45, 60)
MAX_AHEAD = timedelta(days=90)
CHECK_IN_OPENS = timedelta(minutes=60)
LATE_CANCEL_WINDOW = timedelta(hours=24)
ELIGIBILITY_LATENCY = 0.25  # seconds the buggy booking path waits between its check and its write

PRACTITIONERS: list[dict[str, Any]] = [
    {
        "id": "prac_lee",
        "displayName": "Dr. Hannah Lee",
        "specialty": "general_practice",
        "ratePer15MinCents": 4450,
        "currency": "USD",
        "visitTypes": ["consultation", "follow_up", "procedure"],
    },
    {
        "id": "prac_okafor",
        "displayName": "Dr. Samuel Okafor",
        "specialty": "dermatology",
        "ratePer15MinCents": 5200,
        "currency": "USD",
        "visitTypes": ["consultation", "follow_up", "procedure"],
    },
    {
        "id": "prac_ruiz",
        "displayName": "Elena Ruiz, DPT",
        "specialty": "physiotherapy",
        "ratePer15MinCents": 3900,
        "currency": "USD",
        "visitTypes": ["consultation", "follow_up"],
    },
    {
        "id": "prac_weiss",
        "displayName": "Dr. Jonas Weiss",
        "specialty": "mental_health",
        "ratePer15MinCents": 3600,
        "currency": "USD",
        "visitTypes": ["consultation", "follow_up"],
    },
]

PATIENTS: list[dict[str, Any]] = [
    {
        "id": "pat_alice",
        "displayName": "Alice Moreau",
        "email": "alice.moreau@example.com",
        "phone": "+14155550101",
        "insurancePlan": "Blue Horizon Silver PPO",
        "coveragePercent": 85,
    },
    {
        "id": "pat_bob",
        "displayName": "Bob Tanaka",
        "email": "bob.tanaka@example.org",
        "phone": None,
        "insurancePlan": None,
        "coveragePercent": 0,
    },
]


class Caller(BaseModel):
    id: str
    role: Literal["patient", "practitioner", "staff"]


TOKENS = {
    "mh_at_pat_alice_2f9c1e": Caller(id="pat_alice", role="patient"),
    "mh_at_pat_bob_81d0aa": Caller(id="pat_bob", role="patient"),
    "mh_at_prac_lee_c47e02": Caller(id="prac_lee", role="practitioner"),
    "mh_at_staff_mia_5b3e77": Caller(id="stf_mia", role="staff"),
}

M = TypeVar("M", bound=BaseModel)
VisitType = Literal["consultation", "follow_up", "procedure"]


class ApiError(Exception):
    def __init__(self, code: int, reason: str, message: str, status: str | None = None):
        super().__init__(message)
        self.code = code
        self.reason = reason
        self.message = message
        self.status = status or STATUS_NAMES.get(code, "INVALID_ARGUMENT")


def _error_body(code: int, status: str, reason: str, message: str) -> dict[str, Any]:
    return {"error": {"code": code, "status": status, "message": message, "reason": reason}}


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class AppointmentCreate(_Strict):
    practitionerId: str = Field(min_length=1)
    patientId: str | None = None
    visitType: VisitType
    startAt: datetime
    durationMinutes: Literal[15, 30, 45, 60]
    reason: str | None = Field(default=None, max_length=500)
    requestId: str | None = Field(default=None, min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class AppointmentCreateAnyDuration(AppointmentCreate):
    durationMinutes: int = Field(ge=1, le=480)  # type: ignore[assignment]


class RescheduleRequest(_Strict):
    startAt: datetime
    durationMinutes: Literal[15, 30, 45, 60] | None = None


class CancelRequest(_Strict):
    reason: str | None = Field(default=None, max_length=500)


class PatientUpdate(_Strict):
    displayName: str | None = Field(default=None, min_length=1, max_length=80)
    email: str | None = Field(default=None, max_length=254, pattern=r"^[^@\s]+@[^@\s]+\.[^@\s]+$")
    phone: str | None = Field(default=None, pattern=r"^\+[1-9][0-9]{6,14}$")


def _now() -> datetime:
    return datetime.now(UTC)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _parse(request: Request, model: type[M], *, optional: bool = False) -> tuple[M, dict[str, Any]]:
    raw = await request.body()
    if optional and not raw.strip():
        raw = b"{}"
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "MALFORMED_JSON", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "INVALID_FIELD", "The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        raise ApiError(400, "INVALID_FIELD", _validation_message(exc.errors())) from exc


def _shares(price: int, coverage: int) -> tuple[int, int]:
    insurer = (price * coverage + 50) // 100
    return insurer, price - insurer


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="Meridian Telehealth Scheduling API",
        version="2.3.0",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    practitioners = {p["id"]: dict(p) for p in PRACTITIONERS}
    patients = {p["id"]: {**p, "updatedAt": _iso(_now())} for p in PATIENTS}
    appointments: dict[str, dict[str, Any]] = {}
    request_ids: dict[Any, tuple[str, str]] = {}
    counters = {"appointment": 0}
    booking_lock = threading.Lock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        headers = {"WWW-Authenticate": "Bearer"} if exc.code == 401 else None
        return JSONResponse(_error_body(exc.code, exc.status, exc.reason, exc.message), exc.code, headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message = _validation_message(list(exc.errors()))
        return JSONResponse(_error_body(400, "INVALID_ARGUMENT", "INVALID_FIELD", message), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        status = STATUS_NAMES.get(exc.status_code, "INVALID_ARGUMENT")
        body = _error_body(exc.status_code, status, status, str(exc.detail))
        return JSONResponse(body, exc.status_code)

    async def current_caller(authorization: Annotated[str | None, Header()] = None) -> Caller:
        scheme, _, token = (authorization or "").partition(" ")
        caller = TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
        if caller is None:
            raise ApiError(401, "INVALID_TOKEN", "Missing or invalid bearer token.")
        return caller

    Auth = Annotated[Caller, Depends(current_caller)]

    # ------------------------------------------------------------------ helpers

    def render(appt: dict[str, Any]) -> dict[str, Any]:
        return {
            "id": appt["id"],
            "patientId": appt["patientId"],
            "practitionerId": appt["practitionerId"],
            "visitType": appt["visitType"],
            "startAt": _iso(appt["start"]),
            "endAt": _iso(appt["end"]),
            "durationMinutes": appt["durationMinutes"],
            "reason": appt["reason"],
            "status": appt["status"],
            "priceCents": appt["priceCents"],
            "insurerShareCents": appt["insurerShareCents"],
            "patientShareCents": appt["patientShareCents"],
            "currency": "USD",
            "checkedInAt": appt["checkedInAt"],
            "cancellation": appt["cancellation"],
            "createdAt": appt["createdAt"],
            "updatedAt": appt["updatedAt"],
        }

    def can_see(caller: Caller, appt: dict[str, Any]) -> bool:
        if caller.role == "patient":
            return bool(appt["patientId"] == caller.id)
        if caller.role == "practitioner":
            return bool(appt["practitionerId"] == caller.id)
        return True

    def visible(caller: Caller, appointment_id: str) -> dict[str, Any]:
        appt = appointments.get(appointment_id)
        if appt is None or not can_see(caller, appt):
            raise ApiError(404, "APPOINTMENT_NOT_FOUND", f"No appointment {appointment_id}.")
        return appt

    def check_start(start: datetime) -> datetime:
        if start.tzinfo is None:
            raise ApiError(400, "INVALID_START", "startAt needs a time zone offset.")
        try:
            start = start.astimezone(UTC)
        except OverflowError as exc:
            raise ApiError(400, "INVALID_START", "startAt is out of range.") from exc
        if start.second or start.microsecond or start.minute % 15:
            raise ApiError(400, "INVALID_START", "startAt must be on a quarter hour.")
        now = _now()
        if start <= now:
            raise ApiError(400, "INVALID_START", "startAt must be in the future.")
        if start > now + MAX_AHEAD:
            raise ApiError(400, "INVALID_START", "startAt must be at most 90 days ahead.")
        return start

    def overlaps(start: datetime, end: datetime, other: dict[str, Any]) -> bool:
        if "overlap-check-misses-contained-appointment" in bugs:
            return bool(other["start"] <= start < other["end"])
        return bool(start < other["end"] and other["start"] < end)

    def check_free(
        practitioner_id: str, patient_id: str, start: datetime, end: datetime, exclude: str | None = None
    ) -> None:
        for other in appointments.values():
            if other["id"] == exclude or other["status"] == "cancelled":
                continue
            if other["practitionerId"] == practitioner_id and overlaps(start, end, other):
                raise ApiError(
                    409, "SLOT_UNAVAILABLE", "The practitioner has another appointment at that time."
                )
            if other["patientId"] == patient_id and overlaps(start, end, other):
                raise ApiError(409, "PATIENT_CONFLICT", "The patient has another appointment at that time.")

    def price_of(practitioner: dict[str, Any], minutes: int, patient: dict[str, Any]) -> dict[str, int]:
        units = -(-minutes // 15)
        price = practitioner["ratePer15MinCents"] * units
        insurer, own = _shares(price, patient["coveragePercent"])
        return {"priceCents": price, "insurerShareCents": insurer, "patientShareCents": own}

    def check_visit(practitioner: dict[str, Any], visit_type: str, minutes: int) -> None:
        if visit_type not in practitioner["visitTypes"]:
            raise ApiError(
                400, "VISIT_TYPE_NOT_OFFERED", f"{practitioner['displayName']} does not offer {visit_type}."
            )
        if visit_type == "procedure" and minutes < 30:
            raise ApiError(400, "PROCEDURE_TOO_SHORT", "A procedure lasts at least 30 minutes.")

    # ------------------------------------------------------------------ practitioners

    @app.get("/v1/practitioners")
    async def list_practitioners(
        caller: Auth,
        specialty: Literal["general_practice", "dermatology", "physiotherapy", "mental_health"] | None = None,
    ) -> dict[str, Any]:
        items = [p for p in practitioners.values() if specialty is None or p["specialty"] == specialty]
        return {"practitioners": sorted(items, key=lambda p: p["id"])}

    @app.get("/v1/practitioners/{practitionerId}")
    async def get_practitioner(practitionerId: str, caller: Auth) -> dict[str, Any]:
        practitioner = practitioners.get(practitionerId)
        if practitioner is None:
            raise ApiError(404, "PRACTITIONER_NOT_FOUND", f"No practitioner {practitionerId}.")
        return practitioner

    @app.get("/v1/practitioners/{practitionerId}/slots")
    async def list_available_slots(
        practitionerId: str,
        caller: Auth,
        day: Annotated[date, Query(alias="date")],
        duration_minutes: Annotated[int, Query(alias="durationMinutes")] = 30,
    ) -> dict[str, Any]:
        if practitionerId not in practitioners:
            raise ApiError(404, "PRACTITIONER_NOT_FOUND", f"No practitioner {practitionerId}.")
        if duration_minutes not in DURATIONS:
            raise ApiError(400, "INVALID_FIELD", "durationMinutes must be 15, 30, 45 or 60.")
        now = _now()
        taken = [
            a
            for a in appointments.values()
            if a["practitionerId"] == practitionerId and a["status"] != "cancelled"
        ]
        slots = []
        start = datetime.combine(day, time(0, 0), tzinfo=UTC)
        length = timedelta(minutes=duration_minutes)
        bookable = now.date() - timedelta(days=1) <= day <= (now + MAX_AHEAD).date()
        for _ in range(96 if bookable else 0):
            end = start + length
            free = all(not (start < a["end"] and a["start"] < end) for a in taken)
            if now < start <= now + MAX_AHEAD and free:
                slots.append({"startAt": _iso(start), "endAt": _iso(end)})
            start += timedelta(minutes=15)
        return {
            "practitionerId": practitionerId,
            "date": day.isoformat(),
            "durationMinutes": duration_minutes,
            "slots": slots,
        }

    # ------------------------------------------------------------------ patients

    def patient_only(caller: Caller) -> dict[str, Any]:
        if caller.role != "patient":
            raise ApiError(403, "PATIENTS_ONLY", "Only patients have a profile.")
        return patients[caller.id]

    @app.get("/v1/patients/me")
    async def get_my_profile(caller: Auth) -> dict[str, Any]:
        return patient_only(caller)

    @app.patch("/v1/patients/me")
    async def update_my_profile(request: Request, caller: Auth) -> dict[str, Any]:
        patient = patient_only(caller)
        body, data = await _parse(request, PatientUpdate)
        sent = {k for k in ("displayName", "email", "phone") if k in data}
        if not sent:
            raise ApiError(400, "NOTHING_TO_UPDATE", "Send at least one writable field.")
        if any(data[k] is None for k in sent - {"phone"}):
            raise ApiError(400, "INVALID_FIELD", "Only phone may be null.")
        for key in sent:
            patient[key] = getattr(body, key)
        if "coverage-percent-writable" in bugs:
            coverage = data.get("coveragePercent")
            if isinstance(coverage, int) and not isinstance(coverage, bool) and 0 <= coverage <= 100:
                patient["coveragePercent"] = coverage
        patient["updatedAt"] = _iso(_now())
        return patient

    # ------------------------------------------------------------------ appointments

    @app.get("/v1/appointments")
    async def list_appointments(
        caller: Auth,
        status: Literal["booked", "checked_in", "completed", "cancelled"] | None = None,
        practitioner_id: Annotated[str | None, Query(alias="practitionerId")] = None,
        start_from: Annotated[datetime | None, Query(alias="from")] = None,
        page_size: Annotated[int, Query(alias="pageSize", ge=1, le=50)] = 20,
        page_token: Annotated[str | None, Query(alias="pageToken")] = None,
    ) -> dict[str, Any]:
        if start_from is not None:
            if start_from.tzinfo is None:
                raise ApiError(400, "INVALID_FIELD", "from needs a time zone offset.")
            try:
                start_from = start_from.astimezone(UTC)
            except OverflowError as exc:
                raise ApiError(400, "INVALID_FIELD", "from is out of range.") from exc
        filters = [status, practitioner_id, _iso(start_from) if start_from else None]
        matching = [
            a
            for a in appointments.values()
            if can_see(caller, a)
            and (status is None or a["status"] == status)
            and (practitioner_id is None or a["practitionerId"] == practitioner_id)
            and (start_from is None or a["start"] >= start_from)
        ]
        matching.sort(key=lambda a: (a["start"], a["id"]))
        if page_token:
            try:
                token = json.loads(base64.urlsafe_b64decode(page_token.encode() + b"==="))
                after_start = datetime.fromisoformat(token["after"][0])
                if after_start.tzinfo is None:
                    raise ValueError("naive timestamp in page token")
                after_start = after_start.astimezone(UTC)
                after_id = str(token["after"][1])
                same_filters = token["filters"] == filters
            except (ValueError, KeyError, IndexError, TypeError, OverflowError, binascii.Error) as exc:
                raise ApiError(400, "INVALID_PAGE_TOKEN", "The page token is not valid.") from exc
            if not same_filters:
                raise ApiError(400, "INVALID_PAGE_TOKEN", "The page token was issued for other filters.")
            if "page-token-skips-tied-start-times" in bugs:
                matching = [a for a in matching if a["start"] > after_start]
            else:
                matching = [a for a in matching if (a["start"], a["id"]) > (after_start, after_id)]
        page = matching[:page_size]
        next_token = ""
        if len(matching) > page_size:
            last = page[-1]
            payload = {"after": [last["start"].isoformat(), last["id"]], "filters": filters}
            next_token = base64.urlsafe_b64encode(json.dumps(payload).encode()).decode().rstrip("=")
        return {"appointments": [render(a) for a in page], "nextPageToken": next_token}

    @app.post("/v1/appointments", status_code=201)
    async def create_appointment(request: Request, caller: Auth) -> JSONResponse:
        if caller.role == "practitioner":
            raise ApiError(403, "PRACTITIONERS_CANNOT_BOOK", "Practitioners cannot book appointments.")
        model = AppointmentCreateAnyDuration if "duration-accepts-any-minutes" in bugs else AppointmentCreate
        body, _ = await _parse(request, model)
        if caller.role == "patient":
            if body.patientId is not None and body.patientId != caller.id:
                if "patient-books-for-another-patient" not in bugs:
                    raise ApiError(403, "PATIENT_MISMATCH", "Patients can only book for themselves.")
                patient_id = body.patientId
            else:
                patient_id = caller.id
        else:
            if body.patientId is None:
                raise ApiError(400, "PATIENT_REQUIRED", "Care coordinators must send patientId.")
            patient_id = body.patientId
        patient = patients.get(patient_id)
        if patient is None:
            raise ApiError(400, "UNKNOWN_PATIENT", f"No patient {patient_id}.")
        fingerprint = json.dumps(body.model_dump(mode="json"), sort_keys=True)
        retry_key: Any = None
        if body.requestId is not None:
            if "request-id-not-scoped-to-caller" in bugs:
                retry_key = body.requestId
            else:
                retry_key = (caller.id, body.requestId)
            stored = request_ids.get(retry_key)
            if stored is not None:
                if stored[0] != fingerprint:
                    raise ApiError(
                        409,
                        "REQUEST_ID_REUSED",
                        "This requestId was used for a different booking.",
                        status="ALREADY_EXISTS",
                    )
                return JSONResponse(render(appointments[stored[1]]), 200)
        practitioner = practitioners.get(body.practitionerId)
        if practitioner is None:
            raise ApiError(400, "UNKNOWN_PRACTITIONER", f"No practitioner {body.practitionerId}.")
        start = check_start(body.startAt)
        minutes = body.durationMinutes
        check_visit(practitioner, body.visitType, minutes)
        end = start + timedelta(minutes=minutes)

        def insert() -> dict[str, Any]:
            counters["appointment"] += 1
            now = _iso(_now())
            appt = {
                "id": f"apt_{counters['appointment']:06d}",
                "patientId": patient_id,
                "practitionerId": practitioner["id"],
                "visitType": body.visitType,
                "start": start,
                "end": end,
                "durationMinutes": minutes,
                "reason": body.reason,
                "status": "booked",
                **price_of(practitioner, minutes, patient),
                "checkedInAt": None,
                "cancellation": None,
                "createdAt": now,
                "updatedAt": now,
            }
            appointments[appt["id"]] = appt
            if retry_key is not None:
                request_ids[retry_key] = (fingerprint, appt["id"])
            return appt

        if "concurrent-bookings-double-book" in bugs:
            check_free(practitioner["id"], patient_id, start, end)
            await asyncio.sleep(ELIGIBILITY_LATENCY)  # insurer eligibility check
            appt = insert()
        else:
            with booking_lock:
                check_free(practitioner["id"], patient_id, start, end)
                appt = insert()
        return JSONResponse(render(appt), 201)

    @app.post("/v1/appointments/{appointmentId}:reschedule")
    async def reschedule_appointment(appointmentId: str, request: Request, caller: Auth) -> dict[str, Any]:
        appt = visible(caller, appointmentId)
        body, _ = await _parse(request, RescheduleRequest)
        movable = ("booked", "checked_in") if "checked-in-appointment-rescheduled" in bugs else ("booked",)
        if appt["status"] not in movable:
            raise ApiError(
                400,
                "INVALID_STATE",
                f"A {appt['status']} appointment cannot be rescheduled.",
                status="FAILED_PRECONDITION",
            )
        start = check_start(body.startAt)
        minutes = body.durationMinutes or appt["durationMinutes"]
        practitioner = practitioners[appt["practitionerId"]]
        check_visit(practitioner, appt["visitType"], minutes)
        end = start + timedelta(minutes=minutes)
        with booking_lock:
            check_free(appt["practitionerId"], appt["patientId"], start, end, exclude=appt["id"])
            appt.update(
                start=start,
                end=end,
                durationMinutes=minutes,
                updatedAt=_iso(_now()),
                **price_of(practitioner, minutes, patients[appt["patientId"]]),
            )
        return render(appt)

    @app.post("/v1/appointments/{appointmentId}:cancel")
    async def cancel_appointment(appointmentId: str, request: Request, caller: Auth) -> dict[str, Any]:
        appt = visible(caller, appointmentId)
        body, _ = await _parse(request, CancelRequest, optional=True)
        if appt["status"] != "booked":
            raise ApiError(
                400,
                "INVALID_STATE",
                f"A {appt['status']} appointment cannot be cancelled.",
                status="FAILED_PRECONDITION",
            )
        now = _now()
        late = caller.role == "patient" and appt["start"] - now < LATE_CANCEL_WINDOW
        appt["status"] = "cancelled"
        appt["cancellation"] = {
            "cancelledBy": caller.role,
            "reason": body.reason,
            "cancelledAt": _iso(now),
            "lateFeeCents": appt["priceCents"] // 2 if late else 0,
        }
        appt["updatedAt"] = _iso(now)
        return render(appt)

    @app.post("/v1/appointments/{appointmentId}:checkIn")
    async def check_in_appointment(appointmentId: str, caller: Auth) -> dict[str, Any]:
        appt = visible(caller, appointmentId)
        if caller.role != "staff":
            raise ApiError(403, "STAFF_ONLY", "Only care coordinators check patients in.")
        if appt["status"] != "booked":
            raise ApiError(
                400,
                "INVALID_STATE",
                f"A {appt['status']} appointment cannot be checked in.",
                status="FAILED_PRECONDITION",
            )
        now = _now()
        if not appt["start"] - CHECK_IN_OPENS <= now < appt["end"]:
            raise ApiError(
                400,
                "OUTSIDE_CHECK_IN_WINDOW",
                "Check-in opens 60 minutes before the start and closes at the end.",
                status="FAILED_PRECONDITION",
            )
        appt.update(status="checked_in", checkedInAt=_iso(now), updatedAt=_iso(now))
        return render(appt)

    @app.post("/v1/appointments/{appointmentId}:complete")
    async def complete_appointment(appointmentId: str, caller: Auth) -> dict[str, Any]:
        appt = visible(caller, appointmentId)
        if caller.role != "practitioner":
            raise ApiError(403, "PRACTITIONER_ONLY", "Only the practitioner completes a visit.")
        if appt["status"] != "checked_in":
            raise ApiError(
                400,
                "INVALID_STATE",
                f"A {appt['status']} appointment cannot be completed.",
                status="FAILED_PRECONDITION",
            )
        appt.update(status="completed", updatedAt=_iso(_now()))
        return render(appt)

    @app.get("/v1/appointments/{appointmentId}")
    async def get_appointment(appointmentId: str, caller: Auth) -> dict[str, Any]:
        return render(visible(caller, appointmentId))

    return app
