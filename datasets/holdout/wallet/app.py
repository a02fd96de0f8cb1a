"""Wallet benchmark target (held out): multi-currency accounts, deposits, transfers, reversals.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import base64
import binascii
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
        "transfer-currency-not-matched-to-source",
        "idempotent-retry-transfers-again",
        "transfer-reversed-twice",
        "concurrent-transfers-overdraw",
        "foreign-account-debited",
        "cursor-repeats-boundary-entry",
        "transfer-amount-minimum-ignored",
    }
)

TOKENS = {"wlt_alice_4f7b": "usr_alice", "wlt_bob_93ce": "usr_bob"}
MAX_AMOUNT = 1_000_000
# Simulated latency of the ledger write.
LEDGER_LATENCY = 0.01

Currency = Literal["EUR", "USD", "GBP"]
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


class AccountCreate(_Strict):
    currency: Currency
    nickname: str | None = Field(default=None, min_length=1, max_length=40)


class AccountUpdate(_Strict):
    nickname: str = Field(min_length=1, max_length=40)


class DepositCreate(_Strict):
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    currency: Currency


class TransferCreate(_Strict):
    destination_account_id: str
    amount: int = Field(ge=1, le=MAX_AMOUNT)
    currency: Currency
    memo: str | None = Field(default=None, max_length=140)


class TransferCreateUnboundedBelow(TransferCreate):
    amount: int = Field(le=MAX_AMOUNT)


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).isoformat().replace("+00:00", "Z")


def _now() -> str:
    return _iso(datetime.now(UTC))


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
        raise ApiError(400, "bad_request", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(422, "invalid_request", "The request body must be a JSON object.")
    nulls = sorted(key for key, value in data.items() if value is None and key in model.model_fields)
    if nulls:
        raise ApiError(422, "invalid_request", f"{', '.join(nulls)} must not be null.")
    try:
        return model.model_validate_json(raw)
    except ValidationError as exc:
        raise ApiError(422, "invalid_request", _validation_message(exc.errors())) from exc


def _encode_token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"off:{offset}".encode()).decode().rstrip("=")


def _decode_token(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
        prefix, _, number = text.partition(":")
        if prefix != "off" or not number.isdigit():
            raise ValueError(text)
        return int(number)
    except (ValueError, binascii.Error, UnicodeDecodeError) as exc:
        raise ApiError(422, "invalid_page_token", "page_token is not a token issued by this API.") from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(title="Wallet API", version="2.0.4", openapi_url=None, docs_url=None, redoc_url=None)

    accounts: dict[str, dict[str, Any]] = {}
    transfers: dict[str, dict[str, Any]] = {}
    ledger: list[dict[str, Any]] = []
    idempotency: dict[tuple[str, str], tuple[str, dict[str, Any]]] = {}
    counters = {"account": 0, "transfer": 0, "txn": 0}
    ledger_lock = LoopLock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse({"code": exc.code, "message": exc.message}, exc.status)

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        return JSONResponse(
            {"code": "invalid_request", "message": _validation_message(list(exc.errors()))}, 422
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

    async def current_user(authorization: Annotated[str | None, Header()] = None) -> str:
        scheme, _, token = (authorization or "").partition(" ")
        user = TOKENS.get(token) if scheme.lower() == "bearer" else None
        if user is None:
            raise ApiError(401, "unauthorized", "Missing or invalid bearer token.")
        return user

    User = Annotated[str, Depends(current_user)]

    def own_account(user: str, account_id: str) -> dict[str, Any]:
        account = accounts.get(account_id)
        if account is None or account["owner_id"] != user:
            raise ApiError(404, "not_found", f"No account {account_id}.")
        return account

    def require_active(account: dict[str, Any]) -> None:
        if account["status"] != "active":
            raise ApiError(409, "account_closed", f"Account {account['id']} is closed.")

    def post_entry(
        account: dict[str, Any], kind: str, amount: int, transfer_id: str | None
    ) -> dict[str, Any]:
        account["balance"] += amount
        counters["txn"] += 1
        entry = {
            "id": f"txn_{counters['txn']:06d}",
            "account_id": account["id"],
            "kind": kind,
            "amount": amount,
            "balance_after": account["balance"],
            "transfer_id": transfer_id,
            "created_at": _now(),
        }
        ledger.append(entry)
        return entry

    # ------------------------------------------------------------------ accounts

    @app.get("/v2/accounts")
    async def list_accounts(user: User) -> dict[str, Any]:
        return {"data": [a for a in accounts.values() if a["owner_id"] == user]}

    @app.post("/v2/accounts", status_code=201)
    async def open_account(request: Request, user: User) -> JSONResponse:
        body = await _parse(request, AccountCreate)
        counters["account"] += 1
        account_id = f"acc_{counters['account']:04d}"
        account = {
            "id": account_id,
            "owner_id": user,
            "currency": body.currency,
            "nickname": body.nickname,
            "balance": 0,
            "status": "active",
            "created_at": _now(),
        }
        accounts[account_id] = account
        return JSONResponse(account, 201, headers={"Location": f"/v2/accounts/{account_id}"})

    @app.get("/v2/accounts/{account_id}")
    async def get_account(account_id: str, user: User) -> dict[str, Any]:
        return own_account(user, account_id)

    @app.patch("/v2/accounts/{account_id}")
    async def update_account(account_id: str, request: Request, user: User) -> dict[str, Any]:
        account = own_account(user, account_id)
        body = await _parse(request, AccountUpdate)
        account["nickname"] = body.nickname
        return account

    @app.delete("/v2/accounts/{account_id}")
    async def close_account(account_id: str, user: User) -> dict[str, Any]:
        account = own_account(user, account_id)
        async with ledger_lock.get():
            require_active(account)
            if account["balance"] != 0:
                raise ApiError(409, "balance_not_zero", "Only an empty account can be closed.")
            account["status"] = "closed"
        return account

    @app.post("/v2/accounts/{account_id}/deposits", status_code=201)
    async def create_deposit(account_id: str, request: Request, user: User) -> JSONResponse:
        account = own_account(user, account_id)
        body = await _parse(request, DepositCreate)
        if body.currency != account["currency"]:
            raise ApiError(422, "currency_mismatch", f"Account {account_id} holds {account['currency']}.")
        async with ledger_lock.get():
            require_active(account)
            entry = post_entry(account, "deposit", body.amount, None)
        return JSONResponse(entry, 201)

    @app.get("/v2/accounts/{account_id}/transactions")
    async def list_transactions(
        account_id: str,
        user: User,
        page_size: Annotated[int, Query(ge=1, le=100)] = 25,
        page_token: str | None = None,
    ) -> dict[str, Any]:
        own_account(user, account_id)
        entries = [e for e in ledger if e["account_id"] == account_id]
        offset = 0 if page_token is None else _decode_token(page_token)
        page = entries[offset : offset + page_size]
        end = offset + len(page)
        next_token = None
        if end < len(entries):
            next_token = _encode_token(end - 1 if "cursor-repeats-boundary-entry" in bugs else end)
        return {"data": page, "next_page_token": next_token}

    # ------------------------------------------------------------------ transfers

    @app.post("/v2/accounts/{account_id}/transfers", status_code=201)
    async def create_transfer(
        account_id: str,
        request: Request,
        user: User,
        idempotency_key: Annotated[str, Header(min_length=1, max_length=64)],
    ) -> JSONResponse:
        source = accounts.get(account_id)
        if source is None or (source["owner_id"] != user and "foreign-account-debited" not in bugs):
            raise ApiError(404, "not_found", f"No account {account_id}.")
        model = TransferCreateUnboundedBelow if "transfer-amount-minimum-ignored" in bugs else TransferCreate
        body = await _parse(request, model)
        fingerprint = json.dumps([account_id, body.model_dump()], sort_keys=True)
        lock = NoLock() if "concurrent-transfers-overdraw" in bugs else ledger_lock.get()
        async with lock:
            if "idempotent-retry-transfers-again" not in bugs:
                stored = idempotency.get((user, idempotency_key))
                if stored is not None:
                    if stored[0] != fingerprint:
                        raise ApiError(
                            409,
                            "idempotency_key_reused",
                            "This Idempotency-Key was used for another request.",
                        )
                    original = stored[1]
                    return JSONResponse(
                        original,
                        201,
                        headers={
                            "Location": f"/v2/transfers/{original['id']}",
                            "Idempotent-Replayed": "true",
                        },
                    )
            require_active(source)
            destination = accounts.get(body.destination_account_id)
            if destination is None or destination["id"] == source["id"]:
                raise ApiError(422, "invalid_destination", "destination_account_id must be another account.")
            require_active(destination)
            if body.currency != destination["currency"] or (
                body.currency != source["currency"] and "transfer-currency-not-matched-to-source" not in bugs
            ):
                raise ApiError(
                    422,
                    "currency_mismatch",
                    "currency must match both the source and the destination account.",
                )
            balance = source["balance"]
            if body.amount > balance:
                raise ApiError(422, "insufficient_funds", f"The balance of {account_id} is {balance}.")
            await asyncio.sleep(LEDGER_LATENCY)
            counters["transfer"] += 1
            transfer_id = f"tr_{counters['transfer']:06d}"
            source["balance"] = balance
            post_entry(source, "transfer_out", -body.amount, transfer_id)
            post_entry(destination, "transfer_in", body.amount, transfer_id)
            transfer = {
                "id": transfer_id,
                "source_account_id": source["id"],
                "destination_account_id": destination["id"],
                "amount": body.amount,
                "currency": body.currency,
                "memo": body.memo,
                "status": "completed",
                "created_at": _now(),
                "reversed_at": None,
            }
            transfers[transfer_id] = transfer
            idempotency[(user, idempotency_key)] = (fingerprint, dict(transfer))
        return JSONResponse(transfer, 201, headers={"Location": f"/v2/transfers/{transfer_id}"})

    def visible_transfer(user: str, transfer_id: str) -> dict[str, Any]:
        transfer = transfers.get(transfer_id)
        if transfer is not None:
            owners = {
                accounts[transfer["source_account_id"]]["owner_id"],
                accounts[transfer["destination_account_id"]]["owner_id"],
            }
            if user in owners:
                return transfer
        raise ApiError(404, "not_found", f"No transfer {transfer_id}.")

    @app.get("/v2/transfers/{transfer_id}")
    async def get_transfer(transfer_id: str, user: User) -> dict[str, Any]:
        return visible_transfer(user, transfer_id)

    @app.post("/v2/transfers/{transfer_id}/reversal")
    async def reverse_transfer(transfer_id: str, user: User) -> dict[str, Any]:
        transfer = visible_transfer(user, transfer_id)
        source = accounts[transfer["source_account_id"]]
        destination = accounts[transfer["destination_account_id"]]
        if source["owner_id"] != user:
            raise ApiError(403, "forbidden", "Only the sender can reverse a transfer.")
        async with ledger_lock.get():
            if transfer["status"] == "reversed" and "transfer-reversed-twice" not in bugs:
                raise ApiError(409, "already_reversed", "The transfer has already been reversed.")
            require_active(source)
            require_active(destination)
            if destination["balance"] < transfer["amount"]:
                raise ApiError(409, "insufficient_funds", "The recipient no longer holds the amount.")
            post_entry(destination, "reversal_out", -transfer["amount"], transfer_id)
            post_entry(source, "reversal_in", transfer["amount"], transfer_id)
            transfer["status"] = "reversed"
            transfer["reversed_at"] = _now()
        return transfer

    return app
