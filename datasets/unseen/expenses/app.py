"""Expenses target (unseen): expense reports, line items, approvals and reimbursement payouts.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import json
from datetime import UTC, date, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse, Response
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "period-checked-only-when-both-dates-sent",
        "expense-added-to-submitted-report",
        "approver-taken-from-request-body",
        "expense-deleted-through-own-report",
        "payouts-checked-against-approved-not-remaining",
        "total-ignores-status-filter",
        "receipt-threshold-exclusive",
        "expense-category-not-validated",
    }
)

API_KEYS = {
    "ek_alice_0b41c9": "usr_alice",
    "ek_bob_77de20": "usr_bob",
    "ek_carol_3f8a55": "usr_carol",
    "ek_dana_c2e910": "usr_dana",
}
# The HR directory: who reports to whom, and who works in finance.
MANAGERS = {"usr_alice": "usr_carol", "usr_bob": "usr_carol", "usr_carol": "usr_erin", "usr_dana": "usr_erin"}
FINANCE = frozenset({"usr_dana"})
RECEIPT_THRESHOLD_CENTS = 7500
MAX_PERIOD_DAYS = 92
EDITABLE = ("draft", "rejected")

Category = Literal["travel", "lodging", "meals", "mileage", "supplies", "other"]
ReportStatus = Literal["draft", "submitted", "approved", "rejected", "paid"]
M = TypeVar("M", bound=BaseModel)


class ApiError(Exception):
    def __init__(self, status: int, code: str, message: str):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


Title = Annotated[str, Field(min_length=1, max_length=120)]


class ReportCreate(_Strict):
    title: Title
    period_start: date
    period_end: date


class ReportCreateWithApprover(ReportCreate):
    approver_id: str | None = None


class ReportPatch(_Strict):
    title: Title | None = None
    period_start: date | None = None
    period_end: date | None = None


class ExpenseCreate(_Strict):
    amount_cents: int = Field(ge=1, le=1_000_000)
    category: Category
    incurred_on: date
    merchant: str = Field(min_length=1, max_length=80)
    receipt_url: str | None = Field(default=None, pattern=r"^https://\S+$", max_length=500)


class ExpenseCreateAnyCategory(ExpenseCreate):
    category: str = Field(min_length=1)  # type: ignore[assignment]


class Approval(_Strict):
    approved_cents: int = Field(ge=1)
    comment: str | None = Field(default=None, max_length=500)


class Rejection(_Strict):
    reason: str = Field(min_length=1, max_length=500)


class PayoutCreate(_Strict):
    amount_cents: int = Field(ge=1)
    method: Literal["bank_transfer", "payroll"]


def _now() -> str:
    return datetime.now(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


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
        raise ApiError(422, "validation_failed", "The request body must be a JSON object.")
    try:
        return model.model_validate_json(raw), data
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", _validation_message(exc.errors())) from exc


def _check_period(start: date, end: date) -> None:
    if end < start:
        raise ApiError(422, "invalid_period", "period_end must not be before period_start.")
    if (end - start).days >= MAX_PERIOD_DAYS:
        raise ApiError(422, "invalid_period", f"A report covers at most {MAX_PERIOD_DAYS} days.")


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(title="Expenses API", version="3.2.1", openapi_url=None, docs_url=None, redoc_url=None)

    reports: dict[str, dict[str, Any]] = {}
    expenses: dict[str, dict[str, Any]] = {}
    payouts: dict[str, dict[str, Any]] = {}
    counters = {"report": 0, "expense": 0, "payout": 0}

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "validation_failed", "message": _validation_message(list(exc.errors()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse({"code": code, "message": str(exc.detail)}, exc.status_code)

    async def current_user(x_api_key: Annotated[str | None, Header()] = None) -> str:
        user = API_KEYS.get(x_api_key or "")
        if user is None:
            raise ApiError(401, "unauthorized", "Missing or unknown X-Api-Key.")
        return user

    User = Annotated[str, Depends(current_user)]

    def can_see(user: str, report: dict[str, Any]) -> bool:
        if report["owner_id"] == user:
            return True
        if report["approver_id"] == user and report["status"] != "draft":
            return True
        return user in FINANCE and report["status"] in ("approved", "paid")

    def visible(user: str, report_id: str) -> dict[str, Any]:
        report = reports.get(report_id)
        if report is None or not can_see(user, report):
            raise ApiError(404, "not_found", f"No report {report_id}.")
        return report

    def owned(user: str, report_id: str) -> dict[str, Any]:
        report = visible(user, report_id)
        if report["owner_id"] != user:
            raise ApiError(403, "forbidden", "Only the report's owner can do this.")
        return report

    def require_editable(report: dict[str, Any]) -> None:
        if report["status"] not in EDITABLE:
            raise ApiError(
                409, "report_locked", f"The report is {report['status']}; it can no longer change."
            )

    def report_expenses(report_id: str) -> list[dict[str, Any]]:
        return [e for e in expenses.values() if e["report_id"] == report_id]

    def recompute(report: dict[str, Any]) -> None:
        report["total_cents"] = sum(e["amount_cents"] for e in report_expenses(report["id"]))

    # ------------------------------------------------------------------ reports

    @app.get("/v3/reports")
    async def list_reports(
        user: User,
        status: ReportStatus | None = None,
        page: Annotated[int, Query(ge=1)] = 1,
        per_page: Annotated[int, Query(ge=1, le=50)] = 20,
    ) -> dict[str, Any]:
        seen = [r for r in reports.values() if can_see(user, r)]
        matching = [r for r in seen if status is None or r["status"] == status]
        start = (page - 1) * per_page
        total = len(seen) if "total-ignores-status-filter" in bugs else len(matching)
        return {
            "items": matching[start : start + per_page],
            "page": page,
            "per_page": per_page,
            "total": total,
        }

    @app.post("/v3/reports", status_code=201)
    async def create_report(request: Request, user: User) -> JSONResponse:
        model = ReportCreateWithApprover if "approver-taken-from-request-body" in bugs else ReportCreate
        body, _ = await _parse(request, model)
        _check_period(body.period_start, body.period_end)
        approver = getattr(body, "approver_id", None) or MANAGERS[user]
        counters["report"] += 1
        report_id = f"rep_{counters['report']:04d}"
        report = {
            "id": report_id,
            "owner_id": user,
            "approver_id": approver,
            "title": body.title,
            "period_start": body.period_start.isoformat(),
            "period_end": body.period_end.isoformat(),
            "status": "draft",
            "total_cents": 0,
            "approved_cents": None,
            "paid_cents": 0,
            "rejection_reason": None,
            "submitted_at": None,
            "decided_at": None,
            "created_at": _now(),
        }
        reports[report_id] = report
        return JSONResponse(report, 201, headers={"Location": f"/v3/reports/{report_id}"})

    # Custom methods (`/v3/reports/{id}:verb`) are registered before `/v3/reports/{id}`.

    @app.post("/v3/reports/{report_id}:submit")
    async def submit_report(report_id: str, user: User) -> dict[str, Any]:
        report = owned(user, report_id)
        if report["status"] not in EDITABLE:
            raise ApiError(409, "invalid_state", f"A {report['status']} report cannot be submitted.")
        if not report_expenses(report_id):
            raise ApiError(422, "empty_report", "Add at least one expense before submitting.")
        report["status"] = "submitted"
        report["submitted_at"] = _now()
        report["rejection_reason"] = None
        return report

    def for_approver(user: str, report_id: str) -> dict[str, Any]:
        report = visible(user, report_id)
        if report["approver_id"] != user:
            raise ApiError(403, "forbidden", "Only the report's approver can decide on it.")
        if report["status"] != "submitted":
            raise ApiError(
                409, "invalid_state", f"Only a submitted report can be decided ({report['status']})."
            )
        return report

    @app.post("/v3/reports/{report_id}:approve")
    async def approve_report(report_id: str, request: Request, user: User) -> dict[str, Any]:
        report = for_approver(user, report_id)
        body, _ = await _parse(request, Approval)
        if body.approved_cents > report["total_cents"]:
            raise ApiError(422, "exceeds_total", "approved_cents cannot exceed the report's total_cents.")
        report["status"] = "approved"
        report["approved_cents"] = body.approved_cents
        report["decided_at"] = _now()
        return report

    @app.post("/v3/reports/{report_id}:reject")
    async def reject_report(report_id: str, request: Request, user: User) -> dict[str, Any]:
        report = for_approver(user, report_id)
        body, _ = await _parse(request, Rejection)
        report["status"] = "rejected"
        report["rejection_reason"] = body.reason
        report["decided_at"] = _now()
        return report

    @app.get("/v3/reports/{report_id}")
    async def get_report(report_id: str, user: User) -> dict[str, Any]:
        return visible(user, report_id)

    @app.patch("/v3/reports/{report_id}")
    async def update_report(report_id: str, request: Request, user: User) -> dict[str, Any]:
        report = owned(user, report_id)
        body, data = await _parse(request, ReportPatch)
        sent = {k for k in ("title", "period_start", "period_end") if k in data}
        if not sent:
            raise ApiError(422, "validation_failed", "Send at least one of title, period_start, period_end.")
        if any(data[k] is None for k in sent):
            raise ApiError(422, "validation_failed", "Fields must not be null.")
        require_editable(report)
        start = body.period_start or date.fromisoformat(report["period_start"])
        end = body.period_end or date.fromisoformat(report["period_end"])
        both_sent = {"period_start", "period_end"} <= sent
        if both_sent or (
            sent & {"period_start", "period_end"} and "period-checked-only-when-both-dates-sent" not in bugs
        ):
            _check_period(start, end)
        outside = [
            e["id"]
            for e in report_expenses(report_id)
            if not start.isoformat() <= e["incurred_on"] <= end.isoformat()
        ]
        if outside:
            raise ApiError(
                422, "expenses_outside_period", f"Expenses outside the new period: {', '.join(outside)}."
            )
        if body.title is not None:
            report["title"] = body.title
        report["period_start"] = start.isoformat()
        report["period_end"] = end.isoformat()
        return report

    # ------------------------------------------------------------------ expenses

    @app.get("/v3/reports/{report_id}/expenses")
    async def list_expenses(report_id: str, user: User) -> dict[str, Any]:
        visible(user, report_id)
        return {"items": report_expenses(report_id)}

    @app.post("/v3/reports/{report_id}/expenses", status_code=201)
    async def add_expense(report_id: str, request: Request, user: User) -> JSONResponse:
        report = owned(user, report_id)
        model = ExpenseCreateAnyCategory if "expense-category-not-validated" in bugs else ExpenseCreate
        body, _ = await _parse(request, model)
        if "expense-added-to-submitted-report" not in bugs:
            require_editable(report)
        if not report["period_start"] <= body.incurred_on.isoformat() <= report["period_end"]:
            raise ApiError(422, "outside_period", "incurred_on must lie within the report's period.")
        needs_receipt = (
            body.amount_cents > RECEIPT_THRESHOLD_CENTS
            if "receipt-threshold-exclusive" in bugs
            else body.amount_cents >= RECEIPT_THRESHOLD_CENTS
        )
        if needs_receipt and body.receipt_url is None:
            raise ApiError(422, "receipt_required", "Expenses of 75.00 or more need a receipt_url.")
        counters["expense"] += 1
        expense_id = f"exp_{counters['expense']:05d}"
        expense = {
            "id": expense_id,
            "report_id": report_id,
            "amount_cents": body.amount_cents,
            "category": body.category,
            "incurred_on": body.incurred_on.isoformat(),
            "merchant": body.merchant,
            "receipt_url": body.receipt_url,
            "created_at": _now(),
        }
        expenses[expense_id] = expense
        recompute(report)
        return JSONResponse(
            expense, 201, headers={"Location": f"/v3/reports/{report_id}/expenses/{expense_id}"}
        )

    @app.delete("/v3/reports/{report_id}/expenses/{expense_id}", status_code=204)
    async def delete_expense(report_id: str, expense_id: str, user: User) -> Response:
        report = owned(user, report_id)
        expense = expenses.get(expense_id)
        if expense is None or (
            expense["report_id"] != report_id and "expense-deleted-through-own-report" not in bugs
        ):
            raise ApiError(404, "not_found", f"No expense {expense_id} on report {report_id}.")
        require_editable(report)
        del expenses[expense_id]
        recompute(reports[expense["report_id"]])
        return Response(status_code=204)

    # ------------------------------------------------------------------ payouts

    @app.get("/v3/reports/{report_id}/payouts")
    async def list_payouts(report_id: str, user: User) -> dict[str, Any]:
        visible(user, report_id)
        return {"items": [p for p in payouts.values() if p["report_id"] == report_id]}

    @app.post("/v3/reports/{report_id}/payouts", status_code=201)
    async def create_payout(report_id: str, request: Request, user: User) -> JSONResponse:
        report = visible(user, report_id)
        if user not in FINANCE:
            raise ApiError(403, "forbidden", "Only finance can pay out reports.")
        body, _ = await _parse(request, PayoutCreate)
        if report["status"] != "approved":
            raise ApiError(409, "not_payable", f"Only an approved report can be paid ({report['status']}).")
        if "payouts-checked-against-approved-not-remaining" in bugs:
            limit = report["approved_cents"]
        else:
            limit = report["approved_cents"] - report["paid_cents"]
        if body.amount_cents > limit:
            raise ApiError(422, "exceeds_remaining", f"At most {limit} cents remain to be paid.")
        counters["payout"] += 1
        payout_id = f"pay_{counters['payout']:04d}"
        payout = {
            "id": payout_id,
            "report_id": report_id,
            "amount_cents": body.amount_cents,
            "method": body.method,
            "created_by": user,
            "created_at": _now(),
        }
        payouts[payout_id] = payout
        report["paid_cents"] += body.amount_cents
        if report["paid_cents"] >= report["approved_cents"]:
            report["status"] = "paid"
        return JSONResponse(payout, 201)

    return app
