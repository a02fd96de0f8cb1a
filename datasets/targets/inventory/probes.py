"""Behavioural probes for the inventory target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

import asyncio
from collections.abc import Callable
from itertools import count
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer alice-token"}
BOB = {"Authorization": "Bearer bob-token"}

_sku_numbers = count(1)


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


def _product(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {
        "sku": f"SKU-{next(_sku_numbers):05d}",
        "name": "Espresso cup",
        "price": 450,
        "stock": 10,
        **fields,
    }
    resp = client.post("/products", json=body, headers=ALICE)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _stock(client: TestClient, product_id: str) -> int:
    resp = client.get(f"/products/{product_id}", headers=ALICE)
    assert resp.status_code == 200, resp.text
    return resp.json()["stock"]


def _order(
    client: TestClient, items: list[dict[str, Any]], headers: dict[str, str] = ALICE
) -> httpx.Response:
    return client.post("/orders", json={"items": items}, headers=headers)


def oversell_under_concurrency(client: TestClient) -> None:
    product = _product(client, stock=3)
    line = [{"product_id": product["id"], "quantity": 1}]

    async def place_concurrently() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(ac.post("/orders", json={"items": line}, headers=(ALICE, BOB)[i % 2]) for i in range(8))
            )

    responses = asyncio.run(place_concurrently())
    codes = sorted(r.status_code for r in responses)
    assert codes == [201] * 3 + [409] * 5, f"8 concurrent orders for 3 units: {codes}"
    assert _stock(client, product["id"]) == 0


def order_total_ignores_quantity(client: TestClient) -> None:
    cup = _product(client, price=250)
    saucer = _product(client, price=100)
    resp = _order(
        client, [{"product_id": cup["id"], "quantity": 3}, {"product_id": saucer["id"], "quantity": 2}]
    )
    assert resp.status_code == 201, resp.text
    order = resp.json()
    for line in order["items"]:
        assert line["line_total"] == line["quantity"] * line["unit_price"]
    assert order["total"] == sum(line["line_total"] for line in order["items"]) == 950, (
        f"total {order['total']}"
    )


def cancel_restores_stock_twice(client: TestClient) -> None:
    product = _product(client, stock=5)
    order = _order(client, [{"product_id": product["id"], "quantity": 2}]).json()
    assert _stock(client, product["id"]) == 3
    first = client.post(f"/orders/{order['id']}/cancel", headers=ALICE)
    assert first.status_code == 200 and first.json()["status"] == "canceled"
    assert _stock(client, product["id"]) == 5
    second = client.post(f"/orders/{order['id']}/cancel", headers=ALICE)
    assert second.status_code == 409, f"second cancel returned {second.status_code}"
    assert _stock(client, product["id"]) == 5, "stock restored twice"


def cursor_repeats_boundary_item(client: TestClient) -> None:
    created = [_product(client)["id"] for _ in range(5)]
    seen: list[str] = []
    params: dict[str, Any] = {"limit": 2}
    for _ in range(10):
        resp = client.get("/products", params=params, headers=ALICE)
        assert resp.status_code == 200, resp.text
        page = resp.json()
        seen.extend(p["id"] for p in page["data"])
        if not page["has_more"]:
            break
        params = {"limit": 2, "starting_after": page["data"][-1]["id"]}
    assert len(seen) == len(set(seen)), f"products repeated across pages: {seen}"
    assert seen == created


def duplicate_lines_bypass_stock(client: TestClient) -> None:
    product = _product(client, stock=1)
    resp = _order(
        client, [{"product_id": product["id"], "quantity": 1}, {"product_id": product["id"], "quantity": 1}]
    )
    assert resp.status_code in (409, 422), f"duplicate lines for the last unit accepted: {resp.status_code}"
    assert _stock(client, product["id"]) == 1


def cancel_other_users_order(client: TestClient) -> None:
    product = _product(client, stock=4)
    order = _order(client, [{"product_id": product["id"], "quantity": 4}], headers=ALICE).json()
    resp = client.post(f"/orders/{order['id']}/cancel", headers=BOB)
    assert resp.status_code in (403, 404), f"bob canceled alice's order: {resp.status_code}"
    assert client.get(f"/orders/{order['id']}", headers=ALICE).json()["status"] == "placed"
    assert _stock(client, product["id"]) == 0


def negative_quantity_accepted(client: TestClient) -> None:
    product = _product(client, stock=2)
    for quantity in (-5, 0):
        resp = _order(client, [{"product_id": product["id"], "quantity": quantity}])
        assert resp.status_code in (400, 422), f"quantity {quantity} accepted: {resp.status_code}"
    assert _stock(client, product["id"]) == 2


def negative_price_accepted(client: TestClient) -> None:
    resp = client.post(
        "/products", json={"sku": "NEG-1", "name": "Refund hack", "price": -100, "stock": 1}, headers=ALICE
    )
    assert resp.status_code in (400, 422), f"negative price accepted: {resp.status_code}"
    assert client.get("/products", headers=ALICE).json()["data"] == []


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/products").status_code == 401
    assert client.get("/products", headers={"Authorization": "Basic YWxpY2U6eA=="}).status_code == 401
    product = _product(client, sku="MUG-RED", stock=3)
    dup = client.post(
        "/products", json={"sku": "MUG-RED", "name": "Again", "price": 1, "stock": 1}, headers=BOB
    )
    assert dup.status_code == 409
    assert (
        client.post(
            "/products", json={"sku": "bad sku", "name": "x", "price": 1, "stock": 1}, headers=ALICE
        ).status_code
        == 422
    )
    assert client.post("/products", content=b"nope", headers=ALICE).status_code == 400
    assert client.get("/products/prod_missing", headers=ALICE).status_code == 404
    assert _order(client, [{"product_id": "prod_missing", "quantity": 1}]).status_code == 422
    assert _order(client, []).status_code == 422
    assert _order(client, [{"product_id": product["id"], "quantity": 4}]).status_code == 409
    placed = client.post(
        "/orders",
        json={"items": [{"product_id": product["id"], "quantity": 1}], "note": "gift wrap"},
        headers=BOB,
    )
    assert placed.status_code == 201 and placed.json()["customer_id"] == "usr_bob"
    order = client.get(placed.headers["Location"], headers=BOB).json()
    assert order == placed.json()
    assert client.get(f"/orders/{order['id']}", headers=ALICE).status_code == 404
    second = _order(client, [{"product_id": product["id"], "quantity": 1}], headers=BOB).json()
    first_page = client.get("/orders", params={"limit": 1}, headers=BOB).json()
    assert first_page["has_more"] is True and first_page["data"][0]["id"] == order["id"]
    next_page = client.get("/orders", params={"limit": 1, "starting_after": order["id"]}, headers=BOB).json()
    assert next_page == {"data": [second], "has_more": False}
    assert client.get("/orders", headers=ALICE).json() == {"data": [], "has_more": False}
    assert client.get("/orders", params={"starting_after": "ord_missing"}, headers=BOB).status_code == 422
    assert client.get("/products", params={"limit": 101}, headers=ALICE).status_code == 422
    assert client.post("/orders/ord_missing/cancel", headers=BOB).status_code == 404


PROBES: dict[str, Callable[[TestClient], None]] = {
    "oversell-under-concurrency": oversell_under_concurrency,
    "order-total-ignores-quantity": order_total_ignores_quantity,
    "cancel-restores-stock-twice": cancel_restores_stock_twice,
    "cursor-repeats-boundary-item": cursor_repeats_boundary_item,
    "duplicate-lines-bypass-stock": duplicate_lines_bypass_stock,
    "cancel-other-users-order": cancel_other_users_order,
    "negative-quantity-accepted": negative_quantity_accepted,
    "negative-price-accepted": negative_price_accepted,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
