"""Rentals target (blind): equipment catalogue, reservations, hand-out, returns and damage charges.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import json
import math
from datetime import UTC, date, datetime, timedelta
from decimal import ROUND_HALF_UP, Decimal
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "end-date-change-skips-start-date",
        "own-insurance-without-certificate",
        "waiver-priced-on-daily-rate",
        "on-rent-rental-cancellable",
        "idempotent-replay-rechecks-availability",
        "account-filter-not-restricted",
        "total-pages-rounded-down",
        "po-number-pattern-not-enforced",
    }
)

TITLES = {
    400: "Malformed request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not found",
    405: "Method not allowed",
    409: "Conflict",
    422: "Unprocessable entity",
}
MAX_RENTAL_DAYS = 60
MAX_LEAD_DAYS = 180
MAX_AVAILABILITY_DAYS = 92
WAIVER_RATE = Decimal("0.15")
DELIVERY_FEE = Decimal("65.00")
CENT = Decimal("0.01")
PO_PATTERN = r"^[A-Z0-9-]{1,20}$"

EQUIPMENT: list[dict[str, Any]] = [
    {
        "id": "eq_1001",
        "name": "Mini excavator 1.7 t (Kubota U17)",
        "category": "earthmoving",
        "daily_rate": "189.00",
        "weekly_rate": "945.00",
        "deposit": "500.00",
    },
    {
        "id": "eq_1002",
        "name": "Mini excavator 1.7 t (Kubota U17)",
        "category": "earthmoving",
        "daily_rate": "189.00",
        "weekly_rate": "945.00",
        "deposit": "500.00",
    },
    {
        "id": "eq_1003",
        "name": "Tracked dumper 1 t",
        "category": "earthmoving",
        "daily_rate": "125.00",
        "weekly_rate": "625.00",
        "deposit": "400.00",
    },
    {
        "id": "eq_2001",
        "name": "Scissor lift 8 m",
        "category": "access",
        "daily_rate": "95.00",
        "weekly_rate": "475.00",
        "deposit": "300.00",
    },
    {
        "id": "eq_2002",
        "name": "Telescopic boom lift 16 m",
        "category": "access",
        "daily_rate": "265.00",
        "weekly_rate": "1325.00",
        "deposit": "800.00",
    },
    {
        "id": "eq_3001",
        "name": "Plate compactor 90 kg",
        "category": "compaction",
        "daily_rate": "42.50",
        "weekly_rate": "212.50",
        "deposit": "150.00",
    },
    {
        "id": "eq_4001",
        "name": "Diesel generator 20 kVA",
        "category": "power",
        "daily_rate": "78.00",
        "weekly_rate": "390.00",
        "deposit": "250.00",
    },
]


class Caller(BaseModel):
    user: str
    role: Literal["customer", "staff"]
    account: str | None


TOKENS = {
    "yl_live_np_carla_6a1f": Caller(user="usr_carla", role="customer", account="acc_northpeak"),
    "yl_live_rs_dan_0c93": Caller(user="usr_dan", role="customer", account="acc_riverside"),
    "yl_live_depot_sam_e27b": Caller(user="usr_sam", role="staff", account=None),
}

M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, detail: str, headers: dict[str, str] | None = None):
        super().__init__(detail)
        self.status = status
        self.code = code
        self.detail = detail
        self.headers = headers


def _problem(status: int, code: str, detail: str) -> dict[str, Any]:
    return {
        "type": f"https://docs.yardline.example/errors/{code}",
        "title": TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
        "code": code,
    }


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class Address(_Strict):
    line1: str = Field(min_length=1, max_length=100)
    city: str = Field(min_length=1, max_length=60)
    postal_code: str = Field(min_length=2, max_length=10)


class RentalCreate(_Strict):
    equipment_id: str
    start_date: date
    end_date: date
    fulfillment: Literal["depot_pickup", "site_delivery"]
    delivery_address: Address | None = None
    damage_protection: Literal["waiver", "own_insurance"]
    insurance_certificate: str | None = Field(default=None, pattern=r"^[A-Z0-9-]{6,30}$")
    po_number: str | None = Field(default=None, pattern=PO_PATTERN)
    notes: str | None = Field(default=None, max_length=500)


class RentalCreateAnyPo(RentalCreate):
    po_number: str | None = Field(default=None, max_length=200)


class RentalUpdate(_Strict):
    status: Literal["on_rent", "returned", "cancelled"] | None = None
    end_date: date | None = None
    returned_on: date | None = None
    po_number: str | None = Field(default=None, pattern=PO_PATTERN)
    notes: str | None = Field(default=None, max_length=500)


class DamageChargeCreate(_Strict):
    description: str = Field(min_length=1, max_length=200)
    amount: str = Field(pattern=r"^\d{1,7}\.\d{2}$")


def _today() -> date:
    return datetime.now(UTC).date()


def _timestamp() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _money(value: Decimal) -> str:
    return f"{value.quantize(CENT, rounding=ROUND_HALF_UP)}"


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p not in ("body", "query"))
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _parse(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "validation_failed", "The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", _validation_message(exc.errors())) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="Yardline Equipment Rental API",
        version="3.2.0",
        openapi_url=None,
        docs_url=None,
        redoc_url=None,
    )

    equipment = {e["id"]: {**e, "currency": "EUR"} for e in EQUIPMENT}
    rentals: dict[str, dict[str, Any]] = {}
    idempotency: dict[tuple[str, str], tuple[str, str]] = {}
    counters = {"rental": 0, "damage": 0}

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_problem(exc.status, exc.code, exc.detail), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_problem(422, "validation_failed", _validation_message(list(exc.errors()))), 422)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_problem(exc.status_code, code, str(exc.detail)), exc.status_code)

    async def current_caller(x_auth_token: Annotated[str | None, Header()] = None) -> Caller:
        caller = TOKENS.get(x_auth_token or "")
        if caller is None:
            raise ApiError(401, "unauthorized", "Missing or unknown X-Auth-Token.")
        return caller

    Auth = Annotated[Caller, Depends(current_caller)]

    # ------------------------------------------------------------------ helpers

    def paginate(items: list[dict[str, Any]], page: int, page_size: int) -> dict[str, Any]:
        total = len(items)
        rounding_down = "total-pages-rounded-down" in bugs
        pages = total // page_size if rounding_down else math.ceil(total / page_size)
        start = (page - 1) * page_size
        return {
            "data": items[start : start + page_size],
            "page": page,
            "page_size": page_size,
            "total_items": total,
            "total_pages": pages,
        }

    def blocked_range(rental: dict[str, Any]) -> tuple[date, date] | None:
        start = date.fromisoformat(rental["start_date"])
        end = date.fromisoformat(rental["end_date"])
        if rental["status"] == "reserved":
            return start, end
        if rental["status"] == "on_rent":
            return start, max(end, _today())
        return None

    def blocked(
        equipment_id: str, start: date, end: date, exclude: str | None = None
    ) -> list[tuple[date, date]]:
        found = []
        for rental in rentals.values():
            if rental["equipment_id"] != equipment_id or rental["id"] == exclude:
                continue
            span = blocked_range(rental)
            if span is not None and span[0] <= end and start <= span[1]:
                found.append(span)
        return sorted(found)

    def date_problem(start: date, end: date) -> str | None:
        today = _today()
        if start < today:
            return "start_date cannot be in the past."
        if start > today + timedelta(days=MAX_LEAD_DAYS):
            return "start_date is at most 180 days ahead."
        if end < start:
            return "end_date must be on or after start_date."
        if (end - start).days + 1 > MAX_RENTAL_DAYS:
            return "A rental lasts at most 60 days."
        return None

    def charges_of(rental: dict[str, Any]) -> dict[str, str]:
        eq = equipment[rental["equipment_id"]]
        daily = Decimal(eq["daily_rate"])
        weekly = Decimal(eq["weekly_rate"])
        days = rental["rental_days"]
        rental_charge = (days // 7) * weekly + (days % 7) * daily
        waiver = Decimal("0")
        if rental["damage_protection"] == "waiver":
            base = daily * days if "waiver-priced-on-daily-rate" in bugs else rental_charge
            waiver = (base * WAIVER_RATE).quantize(CENT, rounding=ROUND_HALF_UP)
        delivery = DELIVERY_FEE if rental["fulfillment"] == "site_delivery" else Decimal("0")
        late = Decimal("0")
        if rental["returned_on"] is not None:
            late_days = (
                date.fromisoformat(rental["returned_on"]) - date.fromisoformat(rental["end_date"])
            ).days
            late = daily * max(0, late_days)
        damage = sum((Decimal(c["amount"]) for c in rental["_damage"]), Decimal("0"))
        total = rental_charge + waiver + delivery + late + damage
        return {
            "rental": _money(rental_charge),
            "waiver": _money(waiver),
            "delivery": _money(delivery),
            "late": _money(late),
            "damage": _money(damage),
            "total": _money(total),
        }

    def refresh(rental: dict[str, Any]) -> None:
        start = date.fromisoformat(rental["start_date"])
        end = date.fromisoformat(rental["end_date"])
        rental["rental_days"] = (end - start).days + 1
        rental["charges"] = charges_of(rental)
        if rental["status"] == "returned":
            charged = Decimal(rental["charges"]["late"]) + Decimal(rental["charges"]["damage"])
            rental["deposit_refund"] = _money(max(Decimal("0"), Decimal(rental["deposit"]) - charged))
        rental["updated_at"] = _timestamp()

    def public(rental: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in rental.items() if not k.startswith("_")}

    def visible(caller: Caller, rental_id: str) -> dict[str, Any]:
        rental = rentals.get(rental_id)
        if rental is None or (caller.role == "customer" and rental["account_id"] != caller.account):
            raise ApiError(404, "not_found", f"No rental {rental_id}.")
        return rental

    # ------------------------------------------------------------------ equipment

    @app.get("/v3/equipment")
    async def list_equipment(
        caller: Auth,
        category: Literal["earthmoving", "access", "compaction", "power"] | None = None,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=50)] = 20,
    ) -> dict[str, Any]:
        items = [
            e for e in sorted(equipment.values(), key=lambda e: e["id"]) if category in (None, e["category"])
        ]
        return paginate(items, page, page_size)

    @app.get("/v3/equipment/{equipment_id}")
    async def get_equipment(equipment_id: str, caller: Auth) -> dict[str, Any]:
        eq = equipment.get(equipment_id)
        if eq is None:
            raise ApiError(404, "not_found", f"No equipment {equipment_id}.")
        return eq

    @app.get("/v3/equipment/{equipment_id}/availability")
    async def get_equipment_availability(
        equipment_id: str, caller: Auth, start_date: date, end_date: date
    ) -> dict[str, Any]:
        if equipment_id not in equipment:
            raise ApiError(404, "not_found", f"No equipment {equipment_id}.")
        if end_date < start_date:
            raise ApiError(422, "invalid_dates", "end_date must be on or after start_date.")
        if (end_date - start_date).days + 1 > MAX_AVAILABILITY_DAYS:
            raise ApiError(422, "invalid_dates", "The range is at most 92 days long.")
        spans = blocked(equipment_id, start_date, end_date)
        return {
            "equipment_id": equipment_id,
            "start_date": start_date.isoformat(),
            "end_date": end_date.isoformat(),
            "available": not spans and date_problem(start_date, end_date) is None,
            "blocked": [{"start_date": s.isoformat(), "end_date": e.isoformat()} for s, e in spans],
        }

    # ------------------------------------------------------------------ rentals

    @app.get("/v3/rentals")
    async def list_rentals(
        caller: Auth,
        status: Literal["reserved", "on_rent", "returned", "cancelled"] | None = None,
        account_id: str | None = None,
        page: Annotated[int, Query(ge=1)] = 1,
        page_size: Annotated[int, Query(ge=1, le=50)] = 20,
    ) -> dict[str, Any]:
        account = account_id
        if caller.role == "customer":
            if account_id is not None and account_id != caller.account:
                if "account-filter-not-restricted" not in bugs:
                    raise ApiError(403, "forbidden", "Customers can only list their own account's rentals.")
            else:
                account = caller.account
        items = [
            public(r)
            for r in rentals.values()
            if (account is None or r["account_id"] == account) and (status is None or r["status"] == status)
        ]
        return paginate(items, page, page_size)

    @app.post("/v3/rentals", status_code=201)
    async def create_rental(
        request: Request,
        caller: Auth,
        idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
    ) -> JSONResponse:
        if caller.role != "customer" or caller.account is None:
            raise ApiError(403, "forbidden", "Only customer accounts reserve equipment.")
        account = caller.account
        model = RentalCreateAnyPo if "po-number-pattern-not-enforced" in bugs else RentalCreate
        body, _ = await _parse(request, model)
        fingerprint = json.dumps(body.model_dump(mode="json"), sort_keys=True)

        def replay() -> JSONResponse | None:
            if idempotency_key is None:
                return None
            stored = idempotency.get((account, idempotency_key))
            if stored is None:
                return None
            if stored[0] != fingerprint:
                raise ApiError(
                    409, "idempotency_key_reused", "This Idempotency-Key was used with a different request."
                )
            rental = rentals[stored[1]]
            headers = {"Location": f"/v3/rentals/{rental['id']}", "Idempotent-Replayed": "true"}
            return JSONResponse(public(rental), 201, headers=headers)

        replay_late = "idempotent-replay-rechecks-availability" in bugs
        if not replay_late and (replayed := replay()) is not None:
            return replayed
        eq = equipment.get(body.equipment_id)
        if eq is None:
            raise ApiError(422, "unknown_equipment", f"No equipment {body.equipment_id}.")
        problem = date_problem(body.start_date, body.end_date)
        if problem is not None:
            raise ApiError(422, "invalid_dates", problem)
        if (body.fulfillment == "site_delivery") != (body.delivery_address is not None):
            raise ApiError(
                422,
                "invalid_fulfillment",
                "delivery_address is required for site_delivery and not allowed for depot_pickup.",
            )
        if body.damage_protection == "own_insurance":
            certificate_ok = (
                body.insurance_certificate is not None or "own-insurance-without-certificate" in bugs
            )
        else:
            certificate_ok = body.insurance_certificate is None
        if not certificate_ok:
            raise ApiError(
                422,
                "invalid_damage_protection",
                "insurance_certificate is required with own_insurance and not allowed with waiver.",
            )
        if blocked(eq["id"], body.start_date, body.end_date):
            raise ApiError(409, "equipment_unavailable", f"{eq['id']} is not free on every day of the range.")
        if replay_late and (replayed := replay()) is not None:
            return replayed
        counters["rental"] += 1
        rental_id = f"rnt_{counters['rental']:05d}"
        now = _timestamp()
        rental: dict[str, Any] = {
            "id": rental_id,
            "account_id": account,
            "equipment_id": eq["id"],
            "status": "reserved",
            "start_date": body.start_date.isoformat(),
            "end_date": body.end_date.isoformat(),
            "rental_days": 0,
            "fulfillment": body.fulfillment,
            "delivery_address": body.delivery_address.model_dump() if body.delivery_address else None,
            "damage_protection": body.damage_protection,
            "insurance_certificate": body.insurance_certificate,
            "po_number": body.po_number,
            "notes": body.notes,
            "charges": {},
            "currency": "EUR",
            "deposit": eq["deposit"],
            "deposit_refund": None,
            "picked_up_on": None,
            "returned_on": None,
            "created_at": now,
            "updated_at": now,
            "_damage": [],
        }
        refresh(rental)
        rentals[rental_id] = rental
        if idempotency_key is not None:
            idempotency[(account, idempotency_key)] = (fingerprint, rental_id)
        return JSONResponse(public(rental), 201, headers={"Location": f"/v3/rentals/{rental_id}"})

    @app.get("/v3/rentals/{rental_id}")
    async def get_rental(rental_id: str, caller: Auth) -> dict[str, Any]:
        return public(visible(caller, rental_id))

    @app.patch("/v3/rentals/{rental_id}")
    async def update_rental(rental_id: str, request: Request, caller: Auth) -> dict[str, Any]:
        rental = visible(caller, rental_id)
        body, data = await _parse(request, RentalUpdate)
        sent = {k for k in ("status", "end_date", "returned_on", "po_number", "notes") if k in data}
        if not sent:
            raise ApiError(422, "nothing_to_update", "Send at least one writable field.")
        if any(data[k] is None for k in sent & {"status", "end_date", "returned_on"}):
            raise ApiError(422, "validation_failed", "status, end_date and returned_on cannot be null.")
        if "status" in sent and "end_date" in sent:
            raise ApiError(
                422, "validation_failed", "Change the status and the end_date in separate requests."
            )
        if "returned_on" in sent and body.status != "returned":
            raise ApiError(422, "validation_failed", "returned_on is only accepted with status returned.")
        today = _today()
        current = rental["status"]
        changes: dict[str, Any] = {}
        if body.status is not None:
            target = body.status
            if target in ("on_rent", "returned") and caller.role != "staff":
                raise ApiError(403, "forbidden", "Only depot staff hand out and take back equipment.")
            cancellable = ("reserved", "on_rent") if "on-rent-rental-cancellable" in bugs else ("reserved",)
            allowed = {
                "cancelled": current in cancellable,
                "on_rent": current == "reserved",
                "returned": current == "on_rent",
            }[target]
            if not allowed:
                raise ApiError(409, "invalid_transition", f"A {current} rental cannot become {target}.")
            if target == "on_rent":
                if today < date.fromisoformat(rental["start_date"]):
                    raise ApiError(409, "too_early", "Equipment is handed out from the start_date on.")
                changes["picked_up_on"] = today.isoformat()
            if target == "returned":
                if body.returned_on is None:
                    raise ApiError(422, "validation_failed", "returned_on is required with status returned.")
                if not date.fromisoformat(rental["picked_up_on"]) <= body.returned_on <= today:
                    raise ApiError(
                        422,
                        "invalid_returned_on",
                        "returned_on must be on or after picked_up_on and not in the future.",
                    )
                changes["returned_on"] = body.returned_on.isoformat()
            changes["status"] = target
        if body.end_date is not None:
            if current not in ("reserved", "on_rent"):
                raise ApiError(409, "rental_closed", f"The end_date of a {current} rental cannot change.")
            start = date.fromisoformat(rental["start_date"])
            new_end = body.end_date
            if "end-date-change-skips-start-date" in bugs:
                if new_end < today:
                    raise ApiError(422, "invalid_dates", "end_date cannot be in the past.")
            elif new_end < start:
                raise ApiError(422, "invalid_dates", "end_date must be on or after start_date.")
            if (new_end - start).days + 1 > MAX_RENTAL_DAYS:
                raise ApiError(422, "invalid_dates", "A rental lasts at most 60 days.")
            if current == "on_rent" and new_end < today:
                raise ApiError(
                    422, "invalid_dates", "The end_date of a rental on rent cannot be in the past."
                )
            if blocked(rental["equipment_id"], start, new_end, exclude=rental["id"]):
                raise ApiError(409, "equipment_unavailable", "The equipment is not free on the added days.")
            changes["end_date"] = new_end.isoformat()
        for key in ("po_number", "notes"):
            if key in sent:
                changes[key] = getattr(body, key)
        rental.update(changes)
        refresh(rental)
        return public(rental)

    @app.post("/v3/rentals/{rental_id}/damage-charges", status_code=201)
    async def create_damage_charge(rental_id: str, request: Request, caller: Auth) -> JSONResponse:
        rental = visible(caller, rental_id)
        if caller.role != "staff":
            raise ApiError(403, "forbidden", "Only depot staff record damage.")
        body, _ = await _parse(request, DamageChargeCreate)
        if Decimal(body.amount) < CENT:
            raise ApiError(422, "validation_failed", "amount must be at least 0.01.")
        if rental["status"] != "returned":
            raise ApiError(409, "rental_not_returned", "Damage is recorded once the equipment is returned.")
        counters["damage"] += 1
        charge = {
            "id": f"dmg_{counters['damage']:05d}",
            "rental_id": rental_id,
            "description": body.description,
            "amount": body.amount,
            "created_at": _timestamp(),
        }
        rental["_damage"].append(charge)
        refresh(rental)
        return JSONResponse(charge, 201)

    return app
