"""Behavioural probes for the wallet target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer wlt_alice_4f7b"}
BOB = {"Authorization": "Bearer wlt_bob_93ce"}

_keys = itertools.count(1)


def _key() -> str:
    return f"probe-{next(_keys):05d}"


def _async_client(client: TestClient) -> httpx.AsyncClient:
    """An AsyncClient on the same app that feeds responses to the TestClient's response hooks."""
    hooks = list(client.event_hooks["response"])

    async def forward(response: httpx.Response) -> None:
        await response.aread()
        for hook in hooks:
            hook(response)

    return httpx.AsyncClient(
        transport=httpx.ASGITransport(app=client.app),
        base_url="http://testserver",
        event_hooks={"request": [], "response": [forward]},
    )


def _account(
    client: TestClient, currency: str = "EUR", funds: int = 0, headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    resp = client.post("/v2/accounts", json={"currency": currency, "nickname": "Main"}, headers=headers)
    assert resp.status_code == 201, resp.text
    account = resp.json()
    if funds:
        dep = client.post(
            f"/v2/accounts/{account['id']}/deposits",
            json={"amount": funds, "currency": currency},
            headers=headers,
        )
        assert dep.status_code == 201, dep.text
    return account


def _balance(client: TestClient, account_id: str, headers: dict[str, str] = ALICE) -> int:
    resp = client.get(f"/v2/accounts/{account_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["balance"]


def _transfer(
    client: TestClient,
    source: str,
    destination: str,
    amount: int,
    currency: str = "EUR",
    headers: dict[str, str] = ALICE,
    key: str | None = None,
) -> httpx.Response:
    body = {"destination_account_id": destination, "amount": amount, "currency": currency}
    return client.post(
        f"/v2/accounts/{source}/transfers",
        json=body,
        headers={**headers, "Idempotency-Key": key or _key()},
    )


def transfer_currency_not_matched_to_source(client: TestClient) -> None:
    eur = _account(client, "EUR", funds=10_000)
    usd = _account(client, "USD", headers=BOB)
    resp = _transfer(client, eur["id"], usd["id"], 5000, currency="USD")
    assert resp.status_code == 422, f"USD transfer from an EUR account: {resp.status_code}"
    assert _balance(client, eur["id"]) == 10_000
    assert _balance(client, usd["id"], BOB) == 0


def idempotent_retry_transfers_again(client: TestClient) -> None:
    src = _account(client, funds=1000)
    dst = _account(client, headers=BOB)
    first = _transfer(client, src["id"], dst["id"], 300, key="retry-1")
    assert first.status_code == 201, first.text
    retry = _transfer(client, src["id"], dst["id"], 300, key="retry-1")
    assert retry.status_code == 201, retry.text
    assert retry.json()["id"] == first.json()["id"], "the retry created a second transfer"
    assert retry.headers.get("Idempotent-Replayed") == "true"
    assert _balance(client, src["id"]) == 700
    reused = _transfer(client, src["id"], dst["id"], 50, key="retry-1")
    assert reused.status_code == 409, f"key reused with another body: {reused.status_code}"
    assert _balance(client, src["id"]) == 700


def transfer_reversed_twice(client: TestClient) -> None:
    src = _account(client, funds=1000)
    dst = _account(client, funds=500, headers=BOB)
    transfer = _transfer(client, src["id"], dst["id"], 300).json()
    first = client.post(f"/v2/transfers/{transfer['id']}/reversal", headers=ALICE)
    assert first.status_code == 200 and first.json()["status"] == "reversed", first.text
    second = client.post(f"/v2/transfers/{transfer['id']}/reversal", headers=ALICE)
    assert second.status_code == 409, f"second reversal: {second.status_code}"
    assert (_balance(client, src["id"]), _balance(client, dst["id"], BOB)) == (1000, 500)


def concurrent_transfers_overdraw(client: TestClient) -> None:
    src = _account(client, funds=100)
    destinations = [_account(client, headers=BOB)["id"], _account(client)["id"]]

    async def send_concurrently() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(
                    ac.post(
                        f"/v2/accounts/{src['id']}/transfers",
                        json={"destination_account_id": dst, "amount": 60, "currency": "EUR"},
                        headers={**ALICE, "Idempotency-Key": _key()},
                    )
                    for dst in destinations
                )
            )

    codes = sorted(r.status_code for r in asyncio.run(send_concurrently()))
    assert codes == [201, 422], f"two concurrent transfers of 60 from a balance of 100: {codes}"
    received = _balance(client, destinations[0], BOB) + _balance(client, destinations[1])
    assert (_balance(client, src["id"]), received) == (40, 60)


def foreign_account_debited(client: TestClient) -> None:
    alice = _account(client, funds=1000)
    bob = _account(client, headers=BOB)
    resp = _transfer(client, alice["id"], bob["id"], 400, headers=BOB)
    assert resp.status_code == 404, f"Bob sent money from Alice's account: {resp.status_code}"
    assert _balance(client, alice["id"]) == 1000


def cursor_repeats_boundary_entry(client: TestClient) -> None:
    account = _account(client)
    for amount in (10, 20, 30, 40, 50):
        resp = client.post(
            f"/v2/accounts/{account['id']}/deposits",
            json={"amount": amount, "currency": "EUR"},
            headers=ALICE,
        )
        assert resp.status_code == 201
    seen: list[str] = []
    params: dict[str, Any] = {"page_size": 2}
    for _ in range(10):
        page = client.get(f"/v2/accounts/{account['id']}/transactions", params=params, headers=ALICE).json()
        seen.extend(entry["id"] for entry in page["data"])
        if page["next_page_token"] is None:
            break
        params = {"page_size": 2, "page_token": page["next_page_token"]}
    assert len(seen) == len(set(seen)) == 5, f"entries visited while following the cursor: {seen}"


def transfer_amount_minimum_ignored(client: TestClient) -> None:
    src = _account(client, funds=1000)
    dst = _account(client, funds=1000, headers=BOB)
    for amount in (0, -500):
        resp = _transfer(client, src["id"], dst["id"], amount)
        assert resp.status_code == 422, f"amount {amount} accepted: {resp.status_code}"
    assert (_balance(client, src["id"]), _balance(client, dst["id"], BOB)) == (1000, 1000)


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v2/accounts").status_code == 401
    assert client.get("/v2/accounts", headers={"Authorization": "Basic abc"}).status_code == 401
    assert client.post("/v2/accounts", content=b"{", headers=ALICE).status_code == 400
    assert client.post("/v2/accounts", json={"currency": "JPY"}, headers=ALICE).status_code == 422
    created = client.post("/v2/accounts", json={"currency": "GBP"}, headers=ALICE)
    assert created.status_code == 201 and created.json()["nickname"] is None
    gbp = created.json()
    assert client.get(created.headers["Location"], headers=ALICE).json() == gbp
    assert client.get(f"/v2/accounts/{gbp['id']}", headers=BOB).status_code == 404
    assert client.get("/v2/accounts", headers=ALICE).json() == {"data": [gbp]}
    renamed = client.patch(
        f"/v2/accounts/{gbp['id']}",
        json={"nickname": "Pounds", "balance": 10**6, "status": "closed"},
        headers=ALICE,
    )
    assert renamed.status_code == 200
    assert (renamed.json()["nickname"], renamed.json()["balance"], renamed.json()["status"]) == (
        "Pounds",
        0,
        "active",
    )
    assert client.patch(f"/v2/accounts/{gbp['id']}", json={"nickname": ""}, headers=ALICE).status_code == 422
    assert client.patch(f"/v2/accounts/{gbp['id']}", json={"nickname": "x"}, headers=BOB).status_code == 404
    deposit = client.post(
        f"/v2/accounts/{gbp['id']}/deposits", json={"amount": 900, "currency": "EUR"}, headers=ALICE
    )
    assert deposit.status_code == 422
    deposit = client.post(
        f"/v2/accounts/{gbp['id']}/deposits", json={"amount": 900, "currency": "GBP"}, headers=ALICE
    )
    assert deposit.status_code == 201 and deposit.json()["balance_after"] == 900
    assert (
        client.post(
            f"/v2/accounts/{gbp['id']}/deposits", json={"amount": 1, "currency": "GBP"}, headers=BOB
        ).status_code
        == 404
    )
    # Transfers: validation, funds, visibility.
    bob_gbp = _account(client, "GBP", headers=BOB)
    missing_key = client.post(
        f"/v2/accounts/{gbp['id']}/transfers",
        json={"destination_account_id": bob_gbp["id"], "amount": 1, "currency": "GBP"},
        headers=ALICE,
    )
    assert missing_key.status_code == 422
    assert _transfer(client, gbp["id"], bob_gbp["id"], 901, "GBP").status_code == 422
    assert _transfer(client, gbp["id"], gbp["id"], 1, "GBP").status_code == 422
    assert _transfer(client, gbp["id"], "acc_9999", 1, "GBP").status_code == 422
    sent = _transfer(client, gbp["id"], bob_gbp["id"], 900, "GBP")
    assert sent.status_code == 201, sent.text
    transfer = sent.json()
    assert transfer["source_account_id"] == gbp["id"] and transfer["memo"] is None
    assert client.get(sent.headers["Location"], headers=BOB).json() == transfer
    assert client.get("/v2/transfers/tr_999999", headers=ALICE).status_code == 404
    assert client.post(f"/v2/transfers/{transfer['id']}/reversal", headers=BOB).status_code == 403
    # Closing: only empty accounts, only once; closed accounts cannot receive.
    assert client.delete(f"/v2/accounts/{bob_gbp['id']}", headers=BOB).status_code == 409
    assert client.delete(f"/v2/accounts/{bob_gbp['id']}", headers=ALICE).status_code == 404
    closed = client.delete(f"/v2/accounts/{gbp['id']}", headers=ALICE)
    assert closed.status_code == 200 and closed.json()["status"] == "closed"
    assert client.delete(f"/v2/accounts/{gbp['id']}", headers=ALICE).status_code == 409
    assert _transfer(client, bob_gbp["id"], gbp["id"], 5, "GBP", headers=BOB).status_code == 409
    assert client.post(f"/v2/transfers/{transfer['id']}/reversal", headers=ALICE).status_code == 409
    # A recipient who spent the money cannot be reversed against.
    eur = _account(client, funds=100)
    bob_eur = _account(client, headers=BOB)
    spent = _transfer(client, eur["id"], bob_eur["id"], 100).json()
    assert _transfer(client, bob_eur["id"], eur["id"], 30, headers=BOB).status_code == 201
    assert client.post(f"/v2/transfers/{spent['id']}/reversal", headers=ALICE).status_code == 409
    ledger = client.get(f"/v2/accounts/{bob_eur['id']}/transactions", headers=BOB).json()
    assert [e["kind"] for e in ledger["data"]] == ["transfer_in", "transfer_out"]
    assert [e["amount"] for e in ledger["data"]] == [100, -30] and ledger["next_page_token"] is None
    assert client.get(f"/v2/accounts/{bob_eur['id']}/transactions", headers=ALICE).status_code == 404
    bad_token = client.get(
        f"/v2/accounts/{bob_eur['id']}/transactions", params={"page_token": "zz"}, headers=BOB
    )
    assert bad_token.status_code == 422
    too_big = client.get(f"/v2/accounts/{bob_eur['id']}/transactions", params={"page_size": 101}, headers=BOB)
    assert too_big.status_code == 422


PROBES: dict[str, Callable[[TestClient], None]] = {
    "transfer-currency-not-matched-to-source": transfer_currency_not_matched_to_source,
    "idempotent-retry-transfers-again": idempotent_retry_transfers_again,
    "transfer-reversed-twice": transfer_reversed_twice,
    "concurrent-transfers-overdraw": concurrent_transfers_overdraw,
    "foreign-account-debited": foreign_account_debited,
    "cursor-repeats-boundary-entry": cursor_repeats_boundary_entry,
    "transfer-amount-minimum-ignored": transfer_amount_minimum_ignored,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
