"""Library benchmark target (held out): a catalogue of titles with copies, and member loans.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import json
import math
import weakref
from datetime import UTC, date, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "due-date-not-after-loan-date",
        "renew-returned-loan",
        "loan-limit-off-by-one",
        "last-copy-double-loaned",
        "total-pages-rounds-down",
        "other-members-loans-listed",
        "isbn-pattern-ignored",
    }
)

TOKENS = {"lib-alice-7c1e": "M1001", "lib-bob-2d9a": "M1002"}
MEMBERS = {
    "M1001": {"memberId": "M1001", "displayName": "Alice Liddell", "maxConcurrentLoans": 3},
    "M1002": {"memberId": "M1002", "displayName": "Bob Cratchit", "maxConcurrentLoans": 5},
}

MAX_LOAN_DAYS = 28
RENEWAL_DAYS = 14
MAX_RENEWALS = 2
FINE_PER_DAY = 0.25
FINE_CAP = 10.0
ISBN_RE = r"^97[89][0-9]{10}$"
# Simulated latency of the circulation system recording a check-out.
CHECKOUT_LATENCY = 0.01

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


class NewBook(_Strict):
    isbn: str
    title: str = Field(min_length=1, max_length=200)
    author: str = Field(min_length=1, max_length=120)
    totalCopies: int = Field(ge=1, le=50)


class StrictIsbnBook(NewBook):
    isbn: str = Field(pattern=ISBN_RE)


class NewLoan(_Strict):
    bookId: str
    loanDate: date | None = None
    dueDate: date
    note: str | None = Field(default=None, max_length=500)


class LoanPatch(_Strict):
    note: str = Field(max_length=500)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _today() -> date:
    return datetime.now(UTC).date()


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
        raise ApiError(400, "malformed_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "validation_failed", "The request body must be a JSON object.")
    nulls = sorted(key for key, value in data.items() if value is None and key in model.model_fields)
    if nulls:
        raise ApiError(422, "validation_failed", f"{', '.join(nulls)} must not be null.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(422, "validation_failed", _validation_message(exc.errors())) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="Lending Library API", version="2.3.1", openapi_url=None, docs_url=None, redoc_url=None
    )

    books: dict[str, dict[str, Any]] = {}
    loans: dict[str, dict[str, Any]] = {}
    counters = {"book": 0, "loan": 0}
    circulation_lock = LoopLock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "validation_failed", "message": _validation_message(list(exc.errors()))}, 422
        )

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(request: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "not_found", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        headers = dict(exc.headers or {})
        if exc.status_code == 405:
            allowed = {
                method
                for route in app.routes
                if isinstance(route, APIRoute) and route.path_regex.match(request.url.path)
                for method in route.methods
            }
            headers["Allow"] = ", ".join(sorted(allowed))
        return JSONResponse({"code": code, "message": str(exc.detail)}, exc.status_code, headers=headers)

    async def current_member(x_member_token: Annotated[str | None, Header()] = None) -> str:
        member = TOKENS.get(x_member_token or "")
        if member is None:
            raise ApiError(401, "unauthenticated", "Missing or unknown X-Member-Token.")
        return member

    Caller = Annotated[str, Depends(current_member)]
    PageNo = Annotated[int, Query(ge=1)]
    Size = Annotated[int, Query(ge=1, le=50)]

    def page_of(items: list[dict[str, Any]], page: int, size: int) -> dict[str, Any]:
        total = len(items)
        pages = total // size if "total-pages-rounds-down" in bugs else math.ceil(total / size)
        return {
            "items": items[(page - 1) * size : page * size],
            "page": page,
            "size": size,
            "totalItems": total,
            "totalPages": pages,
        }

    def active_loans(member_id: str) -> int:
        return sum(
            1 for loan in loans.values() if loan["memberId"] == member_id and loan["status"] == "active"
        )

    def own_loan(member_id: str, loan_id: str) -> dict[str, Any]:
        loan = loans.get(loan_id)
        if loan is None or loan["memberId"] != member_id:
            raise ApiError(404, "not_found", f"No loan {loan_id}.")
        return loan

    # ------------------------------------------------------------------ catalogue

    @app.get("/books")
    async def list_books(caller: Caller, page: PageNo = 1, size: Size = 10) -> dict[str, Any]:
        return page_of(list(books.values()), page, size)

    @app.post("/books", status_code=201)
    async def add_book(request: Request, caller: Caller) -> JSONResponse:
        model = NewBook if "isbn-pattern-ignored" in bugs else StrictIsbnBook
        body = await _parse(request, model)
        counters["book"] += 1
        book_id = f"bk-{counters['book']:04d}"
        book = {
            "bookId": book_id,
            "isbn": body.isbn,
            "title": body.title,
            "author": body.author,
            "totalCopies": body.totalCopies,
            "availableCopies": body.totalCopies,
            "addedAt": _iso(datetime.now(UTC)),
        }
        books[book_id] = book
        return JSONResponse(book, 201, headers={"Location": f"/books/{book_id}"})

    @app.get("/books/{bookId}")
    async def get_book(bookId: str, caller: Caller) -> dict[str, Any]:
        book = books.get(bookId)
        if book is None:
            raise ApiError(404, "not_found", f"No title {bookId}.")
        return book

    # ------------------------------------------------------------------ members

    @app.get("/members/me")
    async def get_current_member(caller: Caller) -> dict[str, Any]:
        return {**MEMBERS[caller], "activeLoans": active_loans(caller)}

    @app.post("/members/{memberId}/loans", status_code=201)
    async def borrow_book(memberId: str, request: Request, caller: Caller) -> JSONResponse:
        if memberId != caller:
            raise ApiError(403, "forbidden", "Members can only borrow for themselves.")
        body = await _parse(request, NewLoan)
        today = _today()
        loan_date = body.loanDate or today
        if loan_date > today:
            raise ApiError(422, "loan_date_in_future", "loanDate must not be in the future.")
        if body.dueDate <= loan_date and "due-date-not-after-loan-date" not in bugs:
            raise ApiError(422, "invalid_due_date", "dueDate must be after loanDate.")
        if (body.dueDate - loan_date).days > MAX_LOAN_DAYS:
            raise ApiError(422, "invalid_due_date", f"A loan lasts at most {MAX_LOAN_DAYS} days.")
        book = books.get(body.bookId)
        if book is None:
            raise ApiError(422, "unknown_book", "bookId does not refer to a title in the catalogue.")
        limit = MEMBERS[caller]["maxConcurrentLoans"]
        held = active_loans(caller)
        over_limit = held > limit if "loan-limit-off-by-one" in bugs else held >= limit
        if over_limit:
            raise ApiError(409, "loan_limit_reached", f"You already hold {held} of {limit} allowed loans.")
        lock = NoLock() if "last-copy-double-loaned" in bugs else circulation_lock.get()
        async with lock:
            available = book["availableCopies"]
            if available < 1:
                raise ApiError(409, "no_copy_available", f"All copies of {book['bookId']} are on loan.")
            await asyncio.sleep(CHECKOUT_LATENCY)
            book["availableCopies"] = available - 1
            counters["loan"] += 1
            loan_id = f"ln-{counters['loan']:06d}"
            loan = {
                "loanId": loan_id,
                "memberId": caller,
                "bookId": book["bookId"],
                "status": "active",
                "loanDate": loan_date.isoformat(),
                "dueDate": body.dueDate.isoformat(),
                "returnedOn": None,
                "renewalCount": 0,
                "fineAmount": 0,
                "note": body.note,
                "createdAt": _iso(datetime.now(UTC)),
            }
            loans[loan_id] = loan
        return JSONResponse(loan, 201, headers={"Location": f"/loans/{loan_id}"})

    @app.get("/members/{memberId}/loans")
    async def list_member_loans(
        memberId: str,
        caller: Caller,
        status: Literal["active", "returned"] | None = None,
        page: PageNo = 1,
        size: Size = 10,
    ) -> dict[str, Any]:
        if memberId != caller and "other-members-loans-listed" not in bugs:
            raise ApiError(403, "forbidden", "You can only list your own loans.")
        items = [
            loan
            for loan in loans.values()
            if loan["memberId"] == memberId and (status is None or loan["status"] == status)
        ]
        return page_of(items, page, size)

    # ------------------------------------------------------------------ loans

    @app.post("/loans/{loanId}:renew")
    async def renew_loan(loanId: str, caller: Caller) -> dict[str, Any]:
        loan = own_loan(caller, loanId)
        if loan["status"] != "active" and "renew-returned-loan" not in bugs:
            raise ApiError(409, "loan_closed", "A returned loan cannot be renewed.")
        if loan["renewalCount"] >= MAX_RENEWALS:
            raise ApiError(
                409, "renewal_limit_reached", f"A loan can be renewed at most {MAX_RENEWALS} times."
            )
        due = date.fromisoformat(loan["dueDate"])
        if loan["status"] == "active" and due < _today():
            raise ApiError(409, "loan_overdue", "Overdue loans cannot be renewed; return the copy.")
        loan["dueDate"] = (due + timedelta(days=RENEWAL_DAYS)).isoformat()
        loan["renewalCount"] += 1
        return loan

    @app.post("/loans/{loanId}:return")
    async def return_loan(loanId: str, caller: Caller) -> dict[str, Any]:
        loan = own_loan(caller, loanId)
        async with circulation_lock.get():
            if loan["status"] != "active":
                raise ApiError(409, "loan_closed", "This copy has already been returned.")
            today = _today()
            days_late = max(0, (today - date.fromisoformat(loan["dueDate"])).days)
            loan["status"] = "returned"
            loan["returnedOn"] = today.isoformat()
            loan["fineAmount"] = min(FINE_CAP, round(days_late * FINE_PER_DAY, 2))
            book = books[loan["bookId"]]
            book["availableCopies"] = min(book["totalCopies"], book["availableCopies"] + 1)
        return loan

    @app.get("/loans/{loanId}")
    async def get_loan(loanId: str, caller: Caller) -> dict[str, Any]:
        return own_loan(caller, loanId)

    @app.patch("/loans/{loanId}")
    async def update_loan(loanId: str, request: Request, caller: Caller) -> dict[str, Any]:
        loan = own_loan(caller, loanId)
        body = await _parse(request, LoanPatch)
        loan["note"] = body.note
        return loan

    return app
