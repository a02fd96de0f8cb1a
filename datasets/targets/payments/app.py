"""Payments benchmark target: charges, captures, refunds and idempotent charge creation.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import hashlib
import json
import weakref
from datetime import UTC, datetime
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from fastapi.routing import APIRoute
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "refund-exceeds-remaining",
        "refund-after-full-refund",
        "idempotent-replay-duplicates",
        "idempotency-key-reuse-accepted",
        "both-payment-sources-accepted",
        "charges-offset-off-by-one",
        "negative-amount-accepted",
    }
)

API_KEYS = {"sk_test_alice": "acct_alice", "sk_test_bob": "acct_bob"}

MIN_AMOUNT = 50
MAX_AMOUNT = 99_999_999


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


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, allow_inf_nan=False, extra="ignore")


class BankAccount(_Strict):
    account_holder_name: str = Field(min_length=1, max_length=100)
    routing_number: str = Field(pattern=r"^[0-9]{9}$")
    account_number: str = Field(pattern=r"^[0-9]{4,17}$")


class ChargeCreate(_Strict):
    amount: int = Field(le=MAX_AMOUNT)
    currency: Literal["usd", "eur", "gbp"]
    capture: bool = True
    card_token: str | None = Field(default=None, pattern=r"^tok_[A-Za-z0-9]{4,40}$")
    bank_account: BankAccount | None = None
    description: str | None = Field(default=None, max_length=500)


class CaptureCreate(_Strict):
    amount: int | None = Field(default=None, ge=1, le=MAX_AMOUNT)


class RefundCreate(_Strict):
    amount: int | None = Field(default=None, ge=1, le=MAX_AMOUNT)
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _validation_message(errors: list[Any]) -> str:
    parts = []
    for err in errors[:5]:
        loc = ".".join(str(p) for p in err.get("loc", ()) if p != "body")
        parts.append(f"{loc or 'request'}: {err.get('msg', 'invalid')}")
    return "; ".join(parts) or "invalid request"


async def _read_json(request: Request, *, allow_empty: bool = False) -> tuple[bytes, dict[str, Any]]:
    raw = await request.body()
    if not raw.strip():
        if allow_empty:
            return b"{}", {}
        raise ApiError(400, "invalid_json", "A JSON request body is required.")
    try:
        data = json.loads(raw)
    except ValueError as exc:
        raise ApiError(400, "invalid_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "validation_error", "The request body must be a JSON object.")
    return raw, data


def _parse(model: type[M], raw: bytes, data: dict[str, Any]) -> M:
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

    app = FastAPI(title="Payments API", version="1.4.0", openapi_url=None, docs_url=None, redoc_url=None)

    charges: dict[str, dict[str, Any]] = {}
    charge_order: list[str] = []
    refunds: dict[str, dict[str, Any]] = {}
    # (account, idempotency key) -> (request fingerprint, stored response body)
    idempotency: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    counters = {"charge": 0, "refund": 0}
    charge_lock = LoopLock()
    refund_lock = LoopLock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status, headers=exc.headers)

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

    async def account(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        acct = API_KEYS.get(token.strip()) if scheme.lower() == "bearer" else None
        if acct is None:
            raise ApiError(
                401,
                "unauthorized",
                "Missing or invalid API key.",
                headers={"WWW-Authenticate": "Bearer"},
            )
        return acct

    Account = Annotated[str, Depends(account)]

    def _get_charge(acct: str, charge_id: str) -> dict[str, Any]:
        charge = charges.get(charge_id)
        if charge is None or charge["account_id"] != acct:
            raise ApiError(404, "not_found", f"No such charge: {charge_id}")
        return charge

    def _public(charge: dict[str, Any]) -> dict[str, Any]:
        return {k: v for k, v in charge.items() if k != "account_id"}

    @app.post("/charges", status_code=201)
    async def create_charge(
        request: Request,
        acct: Account,
        idempotency_key: Annotated[str | None, Header(min_length=1, max_length=255)] = None,
    ) -> JSONResponse:
        raw, data = await _read_json(request)
        body = _parse(ChargeCreate, raw, data)
        fingerprint = hashlib.sha256(json.dumps(data, sort_keys=True).encode()).hexdigest()

        async with charge_lock.get():
            if idempotency_key is not None and "idempotent-replay-duplicates" not in bugs:
                stored = idempotency.get((acct, idempotency_key))
                if stored is not None:
                    stored_fingerprint, stored_body = stored
                    if stored_fingerprint != fingerprint and "idempotency-key-reuse-accepted" not in bugs:
                        raise ApiError(
                            422,
                            "idempotency_key_reused",
                            "This Idempotency-Key was already used with different request parameters.",
                        )
                    return JSONResponse(
                        stored_body,
                        201,
                        headers={"Location": f"/charges/{stored_body['id']}", "Idempotent-Replayed": "true"},
                    )

            if body.amount < MIN_AMOUNT and "negative-amount-accepted" not in bugs:
                raise ApiError(
                    422, "amount_too_small", f"amount must be at least {MIN_AMOUNT} (smallest currency unit)."
                )
            has_card = body.card_token is not None
            has_bank = body.bank_account is not None
            if not has_card and not has_bank:
                raise ApiError(
                    422, "payment_source_required", "Exactly one of card_token and bank_account is required."
                )
            if has_card and has_bank and "both-payment-sources-accepted" not in bugs:
                raise ApiError(
                    422,
                    "multiple_payment_sources",
                    "Exactly one of card_token and bank_account may be given, not both.",
                )
            if body.card_token is not None:
                source = {"type": "card", "last4": body.card_token[-4:]}
            else:
                assert body.bank_account is not None
                source = {"type": "bank_account", "last4": body.bank_account.account_number[-4:]}

            counters["charge"] += 1
            charge_id = f"ch_{counters['charge']:08d}"
            charge = {
                "id": charge_id,
                "account_id": acct,
                "amount": body.amount,
                "amount_captured": body.amount if body.capture else 0,
                "amount_refunded": 0,
                "currency": body.currency,
                "status": "captured" if body.capture else "authorized",
                "source": source,
                "description": body.description,
                "created_at": _now(),
            }
            charges[charge_id] = charge
            charge_order.append(charge_id)
            public = _public(charge)
            if idempotency_key is not None:
                idempotency[(acct, idempotency_key)] = (fingerprint, json.loads(json.dumps(public)))
        return JSONResponse(public, 201, headers={"Location": f"/charges/{charge_id}"})

    @app.get("/charges")
    async def list_charges(
        acct: Account,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        offset: Annotated[int, Query(ge=0)] = 0,
    ) -> dict[str, Any]:
        mine = [charges[cid] for cid in reversed(charge_order) if charges[cid]["account_id"] == acct]
        start = offset
        if "charges-offset-off-by-one" in bugs and offset > 0:
            # Treats offset as "index of the last item already seen".
            start = offset + 1
        page = mine[start : start + limit]
        return {"data": [_public(c) for c in page], "total": len(mine), "limit": limit, "offset": offset}

    @app.get("/charges/{charge_id}")
    async def get_charge(charge_id: str, acct: Account) -> dict[str, Any]:
        return _public(_get_charge(acct, charge_id))

    @app.post("/charges/{charge_id}/capture")
    async def capture_charge(charge_id: str, request: Request, acct: Account) -> dict[str, Any]:
        raw, data = await _read_json(request, allow_empty=True)
        body = _parse(CaptureCreate, raw, data)
        async with refund_lock.get():
            charge = _get_charge(acct, charge_id)
            if charge["status"] != "authorized":
                raise ApiError(409, "charge_already_captured", "Only an authorized charge can be captured.")
            amount = charge["amount"] if body.amount is None else body.amount
            if amount > charge["amount"]:
                raise ApiError(
                    422, "amount_too_large", "amount must not exceed the authorized amount of the charge."
                )
            charge["amount_captured"] = amount
            charge["status"] = "captured"
            return _public(charge)

    @app.post("/charges/{charge_id}/refunds", status_code=201)
    async def create_refund(charge_id: str, request: Request, acct: Account) -> JSONResponse:
        raw, data = await _read_json(request, allow_empty=True)
        body = _parse(RefundCreate, raw, data)
        async with refund_lock.get():
            charge = _get_charge(acct, charge_id)
            if charge["status"] == "authorized":
                raise ApiError(409, "charge_not_captured", "An uncaptured charge cannot be refunded.")
            remaining = charge["amount_captured"] - charge["amount_refunded"]
            if charge["status"] == "refunded" and "refund-after-full-refund" not in bugs:
                raise ApiError(409, "charge_already_refunded", "This charge has already been fully refunded.")
            check_limit = True
            if body.amount is not None:
                amount = body.amount
            elif "refund-after-full-refund" in bugs:
                # An omitted amount means "the full charge", and is trusted without checks.
                amount, check_limit = charge["amount_captured"], False
            else:
                amount = remaining
            limit = charge["amount_captured"] if "refund-exceeds-remaining" in bugs else remaining
            if check_limit and amount > limit:
                raise ApiError(
                    422,
                    "amount_too_large",
                    f"amount must not exceed the charge's remaining refundable amount ({remaining}).",
                )
            counters["refund"] += 1
            refund_id = f"re_{counters['refund']:08d}"
            refund = {
                "id": refund_id,
                "charge_id": charge_id,
                "amount": amount,
                "currency": charge["currency"],
                "reason": body.reason,
                "status": "succeeded",
                "created_at": _now(),
            }
            refunds[refund_id] = refund
            charge["amount_refunded"] += amount
            charge["status"] = (
                "refunded" if charge["amount_refunded"] >= charge["amount_captured"] else "partially_refunded"
            )
        return JSONResponse(refund, 201, headers={"Location": f"/charges/{charge_id}/refunds/{refund_id}"})

    @app.get("/charges/{charge_id}/refunds")
    async def list_refunds(charge_id: str, acct: Account) -> dict[str, Any]:
        _get_charge(acct, charge_id)
        data = [r for r in refunds.values() if r["charge_id"] == charge_id]
        return {"data": data, "total": len(data)}

    @app.get("/charges/{charge_id}/refunds/{refund_id}")
    async def get_refund(charge_id: str, refund_id: str, acct: Account) -> dict[str, Any]:
        _get_charge(acct, charge_id)
        refund = refunds.get(refund_id)
        if refund is None or refund["charge_id"] != charge_id:
            raise ApiError(404, "not_found", f"No such refund: {refund_id}")
        return refund

    return app
