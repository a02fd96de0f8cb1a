"""PickPack target (blind2): warehouse bins, stock adjustments, orders, pick lists and labels.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import json
import math
import time
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError, model_validator
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "failed-request-consumes-request-id",
        "descending-last-page-dropped",
        "picker-lists-other-pickers-picklists",
        "readonly-adjustment-status-honoured",
        "label-limit-counts-requests",
        "short-pick-deducts-full-quantity",
        "completed-picklist-can-be-cancelled",
        "package-weight-minimum-not-enforced",
    }
)


@dataclass(frozen=True)
class Principal:
    id: str
    role: Literal["picker", "supervisor"]


TOKENS = {
    "wh_ana_58c1e7": Principal("usr_ana", "picker"),
    "wh_ben_a3f0d2": Principal("usr_ben", "picker"),
    "wh_sam_e92d41": Principal("usr_sam", "supervisor"),
}
PICKERS = {"usr_ana", "usr_ben"}

LABEL_LIMIT = 12
LABEL_WINDOW = 60.0
APPROVAL_THRESHOLD = 10
CARRIER_BASE = {"postnl": 690, "ups": 895, "dhl": 1050}
PER_KG_CENTS = 95

PROBLEM_TITLES = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    409: "Conflict",
    422: "Unprocessable Entity",
    429: "Too Many Requests",
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
        "type": f"https://docs.pickpack.example/problems/{code}",
        "title": PROBLEM_TITLES.get(status, "Error"),
        "status": status,
        "detail": detail,
    }


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


Sku = Annotated[str, Field(pattern=r"^SKU-\d{4}$")]


class AdjustmentCreate(_Strict):
    sku: Sku
    delta: int = Field(ge=-10000, le=10000)
    reason: Literal["cycle_count", "damaged", "found", "returned"]
    note: str | None = Field(default=None, max_length=500)

    @model_validator(mode="after")
    def _non_zero(self) -> "AdjustmentCreate":
        if self.delta == 0:
            raise ValueError("delta must not be 0")
        return self


class Address(_Strict):
    name: str = Field(min_length=1, max_length=100)
    line1: str = Field(min_length=1, max_length=200)
    city: str = Field(min_length=1, max_length=100)
    postalCode: str = Field(min_length=1, max_length=20)
    country: str = Field(pattern=r"^[A-Z]{2}$")


class OrderLine(_Strict):
    sku: Sku
    quantity: int = Field(ge=1, le=999)


class OrderCreate(_Strict):
    externalRef: str = Field(min_length=1, max_length=64)
    priority: Literal["standard", "express"] = "standard"
    shipTo: Address
    lines: list[OrderLine] = Field(min_length=1, max_length=50)


class PicklistCreate(_Strict):
    orderIds: list[Annotated[str, Field(min_length=1, max_length=64)]] = Field(min_length=1, max_length=20)
    assigneeId: str = Field(min_length=1, max_length=64)


class PickConfirmation(_Strict):
    pickedQuantity: int = Field(ge=0, le=1_000_000)
    shortReason: Literal["not_found", "damaged", "wrong_item"] | None = None


Dimension = Annotated[int, Field(ge=1, le=300)]


class Package(_Strict):
    weightGrams: int = Field(ge=1, le=70000)
    lengthCm: Dimension
    widthCm: Dimension
    heightCm: Dimension


class LoosePackage(Package):
    weightGrams: int = Field(le=70000)


class LabelRequest(_Strict):
    orderId: str = Field(min_length=1, max_length=64)
    carrier: Literal["postnl", "ups", "dhl"]
    service: Literal["standard", "express"] = "standard"
    packages: list[Package] = Field(min_length=1, max_length=10)


class LooseLabelRequest(LabelRequest):
    packages: list[LoosePackage] = Field(min_length=1, max_length=10)  # type: ignore[assignment]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _validation_detail(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _parse(request: Request, model: type[M]) -> M:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "malformed-json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "validation-error", "The request body must be a JSON object.")
    try:
        return model.model_validate(data)
    except ValidationError as exc:
        raise ApiError(400, "validation-error", _validation_detail(exc.errors())) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="PickPack Warehouse API", version="2.7.0", openapi_url=None, docs_url=None, redoc_url=None
    )

    bins: dict[str, dict[str, Any]] = {}
    adjustments: dict[str, dict[str, Any]] = {}
    orders: dict[str, dict[str, Any]] = {}
    picklists: dict[str, dict[str, Any]] = {}
    lines_seq = {"n": 0}
    counters = {"adjustment": 0, "order": 0, "picklist": 0, "labels": 0, "tracking": 0}
    request_ids: dict[tuple[str, str, str], tuple[str, int, dict[str, Any]]] = {}
    label_log: dict[Any, deque[tuple[float, int]]] = {}

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(_problem(exc.status, exc.code, exc.detail), exc.status, headers=exc.headers)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(_problem(400, "validation-error", _validation_detail(list(exc.errors()))), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not-found", 405: "method-not-allowed"}.get(exc.status_code, "http-error")
        return JSONResponse(_problem(exc.status_code, code, str(exc.detail)), exc.status_code)

    async def current_principal(x_warehouse_token: Annotated[str | None, Header()] = None) -> Principal:
        principal = TOKENS.get(x_warehouse_token or "")
        if principal is None:
            raise ApiError(401, "unauthorized", "Missing or unknown X-Warehouse-Token.")
        return principal

    Caller = Annotated[Principal, Depends(current_principal)]

    # ------------------------------------------------------------------ seed

    now = datetime.now(UTC)
    for bin_id, sku, description, on_hand in [
        ("A-01-01", "SKU-1001", "Ceramic mug, white", 40),
        ("A-01-02", "SKU-1002", "Ceramic mug, black", 25),
        ("A-02-01", "SKU-1003", "Espresso cup set", 12),
        ("B-01-01", "SKU-2001", "Linen tea towel", 100),
        ("B-01-02", "SKU-2002", "Oven mitt", 8),
        ("C-01-01", "SKU-3001", "Chef's knife 20 cm", 6),
        ("D-05-01", "SKU-1001", "Ceramic mug, white (overflow)", 10),
    ]:
        bins[bin_id] = {
            "id": bin_id,
            "zone": bin_id[0],
            "sku": sku,
            "description": description,
            "onHand": on_hand,
            "allocated": 0,
        }
    addresses = [
        ("Grace Hopper", "12 Harbour Road", "Rotterdam", "3011 AA", "NL"),
        ("Alan Turing", "4 Wilmslow Road", "Manchester", "M14 5TQ", "GB"),
        ("Emmy Noether", "Bunsenstraße 3", "Göttingen", "37073", "DE"),
        ("Katherine Johnson", "88 Rue Oberkampf", "Paris", "75011", "FR"),
        ("Ada Yonath", "Keizersgracht 20", "Amsterdam", "1015 CR", "NL"),
        ("Hedy Lamarr", "Praterstraße 9", "Wien", "1020", "AT"),
        ("Rosalind Franklin", "Via Roma 1", "Torino", "10121", "IT"),
    ]
    order_lines = [
        [("SKU-1001", 2), ("SKU-2001", 1)],
        [("SKU-1002", 1)],
        [("SKU-2002", 2)],
        [("SKU-1003", 1), ("SKU-2001", 3)],
        [("SKU-3001", 1)],
        [("SKU-2001", 2)],
        [("SKU-1001", 3)],
    ]
    for n, (address, lines) in enumerate(zip(addresses, order_lines, strict=True), 1):
        oid = f"ord_{n:04d}"
        counters["order"] = n
        orders[oid] = {
            "id": oid,
            "externalRef": f"SHOP-{100200 + n}",
            "priority": "express" if n == 1 else "standard",
            "status": "open",
            "shipTo": dict(zip(("name", "line1", "city", "postalCode", "country"), address, strict=True)),
            "lines": [{"sku": sku, "quantity": qty} for sku, qty in lines],
            "createdAt": _iso(now - timedelta(hours=8 - n)),
        }

    def new_line(order_id: str, sku: str, bin_id: str, quantity: int) -> dict[str, Any]:
        lines_seq["n"] += 1
        return {
            "id": f"pln_{lines_seq['n']:04d}",
            "orderId": order_id,
            "sku": sku,
            "binId": bin_id,
            "quantity": quantity,
            "pickedQuantity": None,
            "shortQuantity": None,
            "shortReason": None,
            "status": "pending",
        }

    # pl_0001: Ana picked ord_0007 (3 mugs from A-01-01) and handed it to packing.
    done = new_line("ord_0007", "SKU-1001", "A-01-01", 3)
    done.update({"pickedQuantity": 3, "shortQuantity": 0, "status": "picked"})
    bins["A-01-01"]["onHand"] -= 3
    orders["ord_0007"]["status"] = "picked"
    picklists["pl_0001"] = {
        "id": "pl_0001",
        "status": "completed",
        "assigneeId": "usr_ana",
        "orderIds": ["ord_0007"],
        "lines": [done],
        "createdAt": _iso(now - timedelta(minutes=50)),
        "completedAt": _iso(now - timedelta(minutes=30)),
        "cancelledAt": None,
    }
    # pl_0002: Ben is picking ord_0006.
    picklists["pl_0002"] = {
        "id": "pl_0002",
        "status": "released",
        "assigneeId": "usr_ben",
        "orderIds": ["ord_0006"],
        "lines": [new_line("ord_0006", "SKU-2001", "B-01-01", 2)],
        "createdAt": _iso(now - timedelta(minutes=20)),
        "completedAt": None,
        "cancelledAt": None,
    }
    bins["B-01-01"]["allocated"] += 2
    orders["ord_0006"]["status"] = "allocated"
    counters["picklist"] = 2

    # ------------------------------------------------------------------ helpers

    def public_bin(b: dict[str, Any]) -> dict[str, Any]:
        return {**b, "available": b["onHand"] - b["allocated"]}

    def page(items: list[Any], offset: int, limit: int) -> dict[str, Any]:
        return {
            "items": items[offset : offset + limit],
            "offset": offset,
            "limit": limit,
            "total": len(items),
        }

    def find(kind: dict[str, dict[str, Any]], key: str, label: str) -> dict[str, Any]:
        obj = kind.get(key)
        if obj is None:
            raise ApiError(404, "not-found", f"No {label} {key}.")
        return obj

    def require_supervisor(caller: Principal) -> None:
        if caller.role != "supervisor":
            raise ApiError(403, "forbidden", "Only supervisors can do this.")

    def find_picklist(caller: Principal, picklist_id: str) -> dict[str, Any]:
        picklist = picklists.get(picklist_id)
        if picklist is None or (caller.role == "picker" and picklist["assigneeId"] != caller.id):
            raise ApiError(404, "not-found", f"No pick list {picklist_id}.")
        return picklist

    async def idempotent(
        request: Request, caller: Principal, request_id: str | None, handler: Any
    ) -> JSONResponse:
        """Run ``handler`` (returning status and body) under the X-Request-ID rules."""
        raw = await request.body()
        try:
            fingerprint = json.dumps(json.loads(raw), sort_keys=True)
        except (ValueError, RecursionError):
            fingerprint = raw.decode("utf-8", "replace")
        scope = None if request_id is None else (caller.id, request.url.path, request_id)
        if scope is not None and scope in request_ids:
            stored_fingerprint, stored_status, stored_body = request_ids[scope]
            if stored_fingerprint != fingerprint:
                raise ApiError(
                    409, "request-id-reused", "This X-Request-ID was used for a different request."
                )
            if stored_status >= 400:
                return JSONResponse(stored_body, stored_status)
            return JSONResponse(stored_body, 200, headers={"X-Replayed": "true"})
        try:
            status, body, headers = await handler()
        except ApiError as exc:
            if scope is not None and "failed-request-consumes-request-id" in bugs:
                request_ids[scope] = (fingerprint, exc.status, _problem(exc.status, exc.code, exc.detail))
            raise
        if scope is not None:
            request_ids[scope] = (fingerprint, status, body)
        return JSONResponse(body, status, headers=headers)

    # ------------------------------------------------------------------ inventory

    @app.get("/v2/bins")
    async def listBins(
        caller: Caller,
        zone: Annotated[str | None, Query(pattern=r"^[A-D]$")] = None,
        sku: Annotated[str | None, Query(pattern=r"^SKU-\d{4}$")] = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        found = [
            public_bin(b)
            for b in sorted(bins.values(), key=lambda b: b["id"])
            if (zone is None or b["zone"] == zone) and (sku is None or b["sku"] == sku)
        ]
        return page(found, offset, limit)

    @app.get("/v2/bins/{binId}")
    async def getBin(binId: str, caller: Caller) -> dict[str, Any]:
        return public_bin(find(bins, binId, "bin"))

    def apply(adjustment: dict[str, Any]) -> None:
        b = bins[adjustment["binId"]]
        if b["onHand"] + adjustment["delta"] < b["allocated"]:
            raise ApiError(
                409,
                "insufficient-stock",
                f"Bin {b['id']} holds {b['onHand']} with {b['allocated']} allocated; "
                f"cannot apply {adjustment['delta']}.",
            )
        b["onHand"] += adjustment["delta"]

    @app.post("/v2/bins/{binId}/adjustments", status_code=201)
    async def createAdjustment(binId: str, request: Request, caller: Caller) -> JSONResponse:
        b = find(bins, binId, "bin")
        body = await _parse(request, AdjustmentCreate)
        if body.sku != b["sku"]:
            raise ApiError(422, "sku-mismatch", f"Bin {binId} holds {b['sku']}, not {body.sku}.")
        needs_approval = caller.role == "picker" and abs(body.delta) > APPROVAL_THRESHOLD
        if needs_approval and "readonly-adjustment-status-honoured" in bugs:
            raw = json.loads(await request.body())
            needs_approval = raw.get("status") != "applied"
        counters["adjustment"] += 1
        stamp = _iso(datetime.now(UTC))
        adjustment = {
            "id": f"adj_{counters['adjustment']:04d}",
            "binId": binId,
            "sku": body.sku,
            "delta": body.delta,
            "reason": body.reason,
            "note": body.note,
            "status": "pending_approval" if needs_approval else "applied",
            "requestedBy": caller.id,
            "approvedBy": None,
            "createdAt": stamp,
            "decidedAt": None if needs_approval else stamp,
        }
        if not needs_approval:
            apply(adjustment)
        adjustments[adjustment["id"]] = adjustment
        return JSONResponse(adjustment, 201)

    @app.post("/v2/adjustments/{adjustmentId}:approve")
    async def approveAdjustment(adjustmentId: str, caller: Caller) -> dict[str, Any]:
        require_supervisor(caller)
        adjustment = find(adjustments, adjustmentId, "adjustment")
        if adjustment["status"] != "pending_approval":
            raise ApiError(
                409, "adjustment-not-pending", f"Adjustment {adjustmentId} is {adjustment['status']}."
            )
        apply(adjustment)
        adjustment.update(
            {"status": "applied", "approvedBy": caller.id, "decidedAt": _iso(datetime.now(UTC))}
        )
        return adjustment

    @app.get("/v2/adjustments/{adjustmentId}")
    async def getAdjustment(adjustmentId: str, caller: Caller) -> dict[str, Any]:
        return find(adjustments, adjustmentId, "adjustment")

    # ------------------------------------------------------------------ orders

    @app.get("/v2/orders")
    async def listOrders(
        caller: Caller,
        status: Literal["open", "allocated", "picked", "shipped"] | None = None,
        sort: Literal["createdAt", "-createdAt"] = "createdAt",
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        found = sorted(
            (o for o in orders.values() if status is None or o["status"] == status),
            key=lambda o: (o["createdAt"], o["id"]),
        )
        if sort == "-createdAt" and "descending-last-page-dropped" in bugs:
            total = len(found)
            items = found[total - offset - limit : total - offset][::-1]
            return {"items": items, "offset": offset, "limit": limit, "total": total}
        if sort == "-createdAt":
            found.reverse()
        return page(found, offset, limit)

    @app.post("/v2/orders", status_code=201)
    async def createOrder(
        request: Request,
        caller: Caller,
        x_request_id: Annotated[str | None, Header(min_length=8, max_length=64)] = None,
    ) -> JSONResponse:
        require_supervisor(caller)

        async def handler() -> tuple[int, dict[str, Any], dict[str, str] | None]:
            body = await _parse(request, OrderCreate)
            stocked = {b["sku"] for b in bins.values()}
            seen: set[str] = set()
            for line in body.lines:
                if line.sku not in stocked:
                    raise ApiError(422, "unknown-sku", f"{line.sku} is not stocked in this warehouse.")
                if line.sku in seen:
                    raise ApiError(422, "duplicate-sku", f"{line.sku} appears on more than one line.")
                seen.add(line.sku)
            counters["order"] += 1
            oid = f"ord_{counters['order']:04d}"
            order = {
                "id": oid,
                "externalRef": body.externalRef,
                "priority": body.priority,
                "status": "open",
                "shipTo": body.shipTo.model_dump(),
                "lines": [line.model_dump() for line in body.lines],
                "createdAt": _iso(datetime.now(UTC)),
            }
            orders[oid] = order
            return 201, dict(order), None

        return await idempotent(request, caller, x_request_id, handler)

    @app.get("/v2/orders/{orderId}")
    async def getOrder(orderId: str, caller: Caller) -> dict[str, Any]:
        return find(orders, orderId, "order")

    # ------------------------------------------------------------------ picking

    @app.get("/v2/picklists")
    async def listPicklists(
        caller: Caller,
        assigneeId: str | None = None,
        status: Literal["released", "completed", "cancelled"] | None = None,
        offset: Annotated[int, Query(ge=0)] = 0,
        limit: Annotated[int, Query(ge=1, le=200)] = 50,
    ) -> dict[str, Any]:
        if caller.role == "picker":
            if assigneeId is None:
                assigneeId = caller.id
            elif assigneeId != caller.id and "picker-lists-other-pickers-picklists" not in bugs:
                raise ApiError(403, "forbidden", "Pickers can only list their own pick lists.")
        found = [
            p
            for p in sorted(picklists.values(), key=lambda p: p["id"])
            if (assigneeId is None or p["assigneeId"] == assigneeId)
            and (status is None or p["status"] == status)
        ]
        return page(found, offset, limit)

    @app.post("/v2/picklists", status_code=201)
    async def createPicklist(request: Request, caller: Caller) -> JSONResponse:
        require_supervisor(caller)
        body = await _parse(request, PicklistCreate)
        if len(set(body.orderIds)) != len(body.orderIds):
            raise ApiError(400, "validation-error", "orderIds: items must be unique")
        if body.assigneeId not in PICKERS:
            raise ApiError(422, "unknown-assignee", f"{body.assigneeId} is not a picker.")
        for oid in body.orderIds:
            if oid not in orders:
                raise ApiError(422, "unknown-order", f"No order {oid}.")
            if orders[oid]["status"] != "open":
                raise ApiError(409, "order-not-open", f"Order {oid} is {orders[oid]['status']}.")
        plan: list[tuple[str, str, str, int]] = []
        reserved: dict[str, int] = {}
        for oid in body.orderIds:
            for line in orders[oid]["lines"]:
                needed = line["quantity"]
                for b in sorted(bins.values(), key=lambda b: b["id"]):
                    if needed == 0:
                        break
                    if b["sku"] != line["sku"]:
                        continue
                    free = b["onHand"] - b["allocated"] - reserved.get(b["id"], 0)
                    take = min(free, needed)
                    if take > 0:
                        plan.append((oid, line["sku"], b["id"], take))
                        reserved[b["id"]] = reserved.get(b["id"], 0) + take
                        needed -= take
                if needed:
                    raise ApiError(
                        409, "insufficient-stock", f"Not enough {line['sku']} available for order {oid}."
                    )
        lines = []
        for oid, sku, bin_id, qty in plan:
            bins[bin_id]["allocated"] += qty
            lines.append(new_line(oid, sku, bin_id, qty))
        for oid in body.orderIds:
            orders[oid]["status"] = "allocated"
        counters["picklist"] += 1
        pid = f"pl_{counters['picklist']:04d}"
        picklist = {
            "id": pid,
            "status": "released",
            "assigneeId": body.assigneeId,
            "orderIds": list(body.orderIds),
            "lines": lines,
            "createdAt": _iso(datetime.now(UTC)),
            "completedAt": None,
            "cancelledAt": None,
        }
        picklists[pid] = picklist
        return JSONResponse(picklist, 201)

    @app.post("/v2/picklists/{picklistId}:complete")
    async def completePicklist(picklistId: str, caller: Caller) -> dict[str, Any]:
        picklist = find_picklist(caller, picklistId)
        if picklist["status"] != "released":
            raise ApiError(409, "picklist-not-released", f"Pick list {picklistId} is {picklist['status']}.")
        pending = [line["id"] for line in picklist["lines"] if line["status"] == "pending"]
        if pending:
            raise ApiError(409, "lines-pending", f"Lines not confirmed yet: {', '.join(pending)}.")
        picklist["status"] = "completed"
        picklist["completedAt"] = _iso(datetime.now(UTC))
        for oid in picklist["orderIds"]:
            orders[oid]["status"] = "picked"
        return picklist

    @app.post("/v2/picklists/{picklistId}:cancel")
    async def cancelPicklist(picklistId: str, caller: Caller) -> dict[str, Any]:
        require_supervisor(caller)
        picklist = find_picklist(caller, picklistId)
        cancellable = (
            ("released", "completed") if "completed-picklist-can-be-cancelled" in bugs else ("released",)
        )
        if picklist["status"] not in cancellable:
            raise ApiError(
                409, "picklist-not-cancellable", f"Pick list {picklistId} is {picklist['status']}."
            )
        for line in picklist["lines"]:
            b = bins[line["binId"]]
            if line["status"] == "pending":
                b["allocated"] -= line["quantity"]
            else:
                b["onHand"] += line["pickedQuantity"]
        for oid in picklist["orderIds"]:
            orders[oid]["status"] = "open"
        picklist["status"] = "cancelled"
        picklist["cancelledAt"] = _iso(datetime.now(UTC))
        return picklist

    @app.post("/v2/picklists/{picklistId}/lines/{lineId}:confirm")
    async def confirmPickLine(
        picklistId: str, lineId: str, request: Request, caller: Caller
    ) -> dict[str, Any]:
        picklist = find_picklist(caller, picklistId)
        line = next((ln for ln in picklist["lines"] if ln["id"] == lineId), None)
        if line is None:
            raise ApiError(404, "not-found", f"No line {lineId} on pick list {picklistId}.")
        if picklist["assigneeId"] != caller.id:
            raise ApiError(403, "not-assignee", "Only the assignee can confirm pick lines.")
        body = await _parse(request, PickConfirmation)
        if picklist["status"] != "released":
            raise ApiError(409, "picklist-not-released", f"Pick list {picklistId} is {picklist['status']}.")
        if line["status"] != "pending":
            raise ApiError(409, "line-already-confirmed", f"Line {lineId} is already {line['status']}.")
        if body.pickedQuantity > line["quantity"]:
            raise ApiError(422, "over-pick", f"Line {lineId} asks for {line['quantity']} units.")
        short = body.pickedQuantity < line["quantity"]
        if short and body.shortReason is None:
            raise ApiError(422, "short-reason-required", "A short pick needs a shortReason.")
        if not short and body.shortReason is not None:
            raise ApiError(422, "short-reason-not-allowed", "shortReason is only for short picks.")
        b = bins[line["binId"]]
        b["allocated"] -= line["quantity"]
        taken = line["quantity"] if "short-pick-deducts-full-quantity" in bugs else body.pickedQuantity
        b["onHand"] = max(b["allocated"], b["onHand"] - taken)
        line.update(
            {
                "pickedQuantity": body.pickedQuantity,
                "shortQuantity": line["quantity"] - body.pickedQuantity,
                "shortReason": body.shortReason,
                "status": "short" if short else "picked",
            }
        )
        return picklist

    @app.get("/v2/picklists/{picklistId}")
    async def getPicklist(picklistId: str, caller: Caller) -> dict[str, Any]:
        return find_picklist(caller, picklistId)

    # ------------------------------------------------------------------ shipping

    @app.post("/v2/labels", status_code=201)
    async def purchaseLabels(
        request: Request,
        caller: Caller,
        x_request_id: Annotated[str | None, Header(min_length=8, max_length=64)] = None,
    ) -> JSONResponse:
        async def handler() -> tuple[int, dict[str, Any], dict[str, str] | None]:
            model = LooseLabelRequest if "package-weight-minimum-not-enforced" in bugs else LabelRequest
            body = await _parse(request, model)
            order = orders.get(body.orderId)
            if order is None:
                raise ApiError(422, "unknown-order", f"No order {body.orderId}.")
            if body.carrier == "postnl" and body.service == "express":
                raise ApiError(422, "service-not-offered", "postnl only offers the standard service.")
            if order["status"] not in ("picked", "shipped"):
                raise ApiError(409, "order-not-picked", f"Order {order['id']} is {order['status']}.")
            log = label_log.setdefault(caller.id, deque())
            clock = time.monotonic()
            while log and log[0][0] <= clock - LABEL_WINDOW:
                log.popleft()
            cost = 1 if "label-limit-counts-requests" in bugs else len(body.packages)
            used = sum(n for _, n in log)
            if used + cost > LABEL_LIMIT:
                retry = max(1, math.ceil(log[0][0] + LABEL_WINDOW - clock)) if log else 1
                raise ApiError(
                    429,
                    "label-rate-limit",
                    f"At most {LABEL_LIMIT} labels per minute; {LABEL_LIMIT - used} left.",
                    headers={"Retry-After": str(retry)},
                )
            log.append((clock, cost))
            base = CARRIER_BASE[body.carrier] * (2 if body.service == "express" else 1)
            labels = []
            for package in body.packages:
                volumetric = math.ceil(package.lengthCm * package.widthCm * package.heightCm / 5)
                billable = max(package.weightGrams, volumetric)
                counters["tracking"] += 1
                labels.append(
                    {
                        "trackingNumber": f"{body.carrier.upper()}{740000000 + counters['tracking']}",
                        "weightGrams": package.weightGrams,
                        "billableWeightGrams": billable,
                        "chargeCents": base + PER_KG_CENTS * math.ceil(billable / 1000),
                    }
                )
            counters["labels"] += 1
            order["status"] = "shipped"
            batch = {
                "id": f"lbl_{counters['labels']:04d}",
                "orderId": order["id"],
                "carrier": body.carrier,
                "service": body.service,
                "labels": labels,
                "totalChargeCents": sum(label["chargeCents"] for label in labels),
                "currency": "EUR",
                "createdAt": _iso(datetime.now(UTC)),
            }
            remaining = LABEL_LIMIT - used - cost
            return 201, batch, {"X-RateLimit-Remaining": str(remaining)}

        return await idempotent(request, caller, x_request_id, handler)

    return app
