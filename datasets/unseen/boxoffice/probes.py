"""Behavioural probes for the boxoffice target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Seed data: evt_1001 (in 30 days, max 6 per order) has seats st_0001-st_0008 (section A, 80.00)
and st_0009-st_0016 (section B, 45.50); evt_1002 has st_0017-st_0032; evt_1003 starts in
36 hours and has st_0033-st_0048.
"""

import asyncio
import itertools
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer bx_alice_7d1e0c"}
BOB = {"Authorization": "Bearer bx_bob_52a9f3"}

_keys = itertools.count(1)


def _key() -> str:
    return f"checkout-{next(_keys):06d}"


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


def _hold(
    client: TestClient, seat_ids: list[str], event_id: str = "evt_1001", headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    resp = client.post(f"/v1/events/{event_id}/holds", json={"seatIds": seat_ids}, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _order(
    client: TestClient,
    hold_id: str,
    headers: dict[str, str] = ALICE,
    key: str | None = None,
    promo: str | None = None,
    email: str = "ada@example.org",
) -> httpx.Response:
    body: dict[str, Any] = {"holdId": hold_id, "buyerEmail": email}
    if promo is not None:
        body["promoCode"] = promo
    return client.post("/v1/orders", json=body, headers={**headers, "X-Idempotency-Key": key or _key()})


def _buy(
    client: TestClient, seat_ids: list[str], event_id: str = "evt_1001", headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    hold = _hold(client, seat_ids, event_id, headers)
    resp = _order(client, hold["id"], headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _seat_status(client: TestClient, event_id: str, seat_id: str) -> str:
    page = client.get(f"/v1/events/{event_id}/seats", params={"limit": 100}, headers=ALICE).json()
    return next(s["status"] for s in page["data"] if s["id"] == seat_id)


def concurrent_holds_double_book_seat(client: TestClient) -> None:
    async def hold_concurrently() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(
                    ac.post("/v1/events/evt_1001/holds", json={"seatIds": ["st_0004"]}, headers=who)
                    for who in (ALICE, BOB)
                )
            )

    codes = sorted(r.status_code for r in asyncio.run(hold_concurrently()))
    assert codes == [201, 409], f"two simultaneous holds on one seat: {codes}"


def hold_accepts_seat_of_other_event(client: TestClient) -> None:
    resp = client.post("/v1/events/evt_1001/holds", json={"seatIds": ["st_0009", "st_0020"]}, headers=ALICE)
    assert resp.status_code == 422, f"evt_1002's seat st_0020 held on evt_1001: {resp.status_code}"
    assert _seat_status(client, "evt_1002", "st_0020") == "available"
    assert _seat_status(client, "evt_1001", "st_0009") == "available"


def released_hold_still_purchasable(client: TestClient) -> None:
    alice_hold = _hold(client, ["st_0002", "st_0003"])
    released = client.delete(f"/v1/holds/{alice_hold['id']}", headers=ALICE)
    assert released.status_code == 200 and released.json()["status"] == "released", released.text
    bob_hold = _hold(client, ["st_0003"], headers=BOB)
    resp = _order(client, alice_hold["id"])
    assert resp.status_code == 409, f"order from a released hold: {resp.status_code}"
    assert _seat_status(client, "evt_1001", "st_0003") == "held"
    bob_order = _order(client, bob_hold["id"], headers=BOB)
    assert bob_order.status_code == 201, bob_order.text


def promo_discount_applied_per_ticket(client: TestClient) -> None:
    hold = _hold(client, ["st_0009", "st_0010", "st_0011"])
    resp = _order(client, hold["id"], promo="WELCOME10")
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert [t["price"] for t in order["tickets"]] == ["45.50"] * 3
    assert (order["subtotal"], order["discount"], order["total"]) == ("136.50", "10.00", "126.50"), order


def idempotency_keys_shared_across_buyers(client: TestClient) -> None:
    alice_hold = _hold(client, ["st_0001"])
    alice = _order(client, alice_hold["id"], key="cart-000042")
    assert alice.status_code == 201, alice.text
    bob_hold = _hold(client, ["st_0002"], headers=BOB)
    bob = _order(client, bob_hold["id"], headers=BOB, key="cart-000042", email="bob@example.org")
    assert bob.status_code == 201, f"Bob's checkout with a key Alice used: {bob.status_code} {bob.text}"
    assert bob.json()["id"] != alice.json()["id"]
    assert [t["seatId"] for t in bob.json()["tickets"]] == ["st_0002"]
    assert "X-Idempotent-Replay" not in bob.headers


def late_cancellation_accepted(client: TestClient) -> None:
    order = _buy(client, ["st_0041", "st_0042"], event_id="evt_1003")
    resp = client.post(f"/v1/orders/{order['id']}/cancel", headers=ALICE)
    assert resp.status_code == 409, f"cancelled 36 hours before the event: {resp.status_code}"
    after = client.get(f"/v1/orders/{order['id']}", headers=ALICE).json()
    assert (after["status"], after["refundAmount"]) == ("confirmed", None)
    assert _seat_status(client, "evt_1003", "st_0041") == "sold"


def order_cursor_is_an_offset(client: TestClient) -> None:
    placed = [_buy(client, [f"st_{n:04d}"])["id"] for n in range(1, 6)]
    first = client.get("/v1/orders", params={"limit": 2}, headers=ALICE)
    assert first.status_code == 200, first.text
    page = first.json()
    seen = [o["id"] for o in page["data"]]
    _buy(client, ["st_0006"])  # a new order arrives while paging
    for _ in range(10):
        if page["nextCursor"] is None:
            break
        page = client.get(
            "/v1/orders", params={"limit": 2, "cursor": page["nextCursor"]}, headers=ALICE
        ).json()
        seen.extend(o["id"] for o in page["data"])
    assert seen == placed[::-1], f"orders visited while following the cursor: {seen} (placed {placed})"


def empty_hold_accepted(client: TestClient) -> None:
    resp = client.post("/v1/events/evt_1001/holds", json={"seatIds": []}, headers=ALICE)
    assert resp.status_code == 422, f"hold without seats: {resp.status_code}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v1/events").status_code == 401
    assert client.get("/v1/events", headers={"Authorization": "Token bx_alice_7d1e0c"}).status_code == 401
    events = client.get("/v1/events", headers=BOB).json()["data"]
    assert [e["id"] for e in events] == ["evt_1003", "evt_1002", "evt_1001"]
    assert client.get("/v1/events/evt_1002", headers=ALICE).json() == events[1]
    assert client.get("/v1/events/evt_9999", headers=ALICE).status_code == 404
    # Seat map: filters and cursor walk.
    walked: list[str] = []
    params: dict[str, Any] = {"limit": 5, "section": "B"}
    for _ in range(5):
        page = client.get("/v1/events/evt_1002/seats", params=params, headers=ALICE).json()
        walked.extend(s["id"] for s in page["data"])
        if page["nextCursor"] is None:
            break
        params = {**params, "cursor": page["nextCursor"]}
    assert walked == [f"st_{n:04d}" for n in range(25, 33)]
    assert client.get("/v1/events/evt_1002/seats", params={"cursor": "???"}, headers=ALICE).status_code == 422
    assert client.get("/v1/events/evt_1002/seats", params={"limit": 0}, headers=ALICE).status_code == 422
    assert client.get("/v1/events/evt_9999/seats", headers=ALICE).status_code == 404
    # Holds: validation and privacy.
    assert client.post("/v1/events/evt_1001/holds", content=b"[", headers=ALICE).status_code == 400
    too_many = [f"st_{n:04d}" for n in range(17, 22)]  # evt_1002 allows 4
    assert (
        client.post("/v1/events/evt_1002/holds", json={"seatIds": too_many}, headers=ALICE).status_code == 422
    )
    dup = client.post("/v1/events/evt_1001/holds", json={"seatIds": ["st_0001", "st_0001"]}, headers=ALICE)
    assert dup.status_code == 422
    assert (
        client.post("/v1/events/evt_9999/holds", json={"seatIds": ["st_0001"]}, headers=ALICE).status_code
        == 404
    )
    hold = client.post("/v1/events/evt_1001/holds", json={"seatIds": ["st_0007", "st_0008"]}, headers=ALICE)
    assert hold.status_code == 201
    assert client.get(hold.headers["Location"], headers=ALICE).json() == hold.json()
    assert client.get(hold.headers["Location"], headers=BOB).status_code == 404
    assert client.delete(hold.headers["Location"], headers=BOB).status_code == 404
    taken = client.post("/v1/events/evt_1001/holds", json={"seatIds": ["st_0008"]}, headers=BOB)
    assert taken.status_code == 409
    assert _seat_status(client, "evt_1001", "st_0008") == "held"
    # Orders: replay, key reuse, foreign and used holds, unknown promo codes.
    hold_id = hold.json()["id"]
    assert (
        client.post("/v1/orders", json={"holdId": hold_id, "buyerEmail": "a@b.co"}, headers=ALICE).status_code
        == 422
    )
    assert _order(client, hold_id, headers=BOB).status_code == 404
    assert _order(client, hold_id, promo="NOPE2026").status_code == 422
    created = _order(client, hold_id, key="smoke-key-1", promo="VIP25")
    assert created.status_code == 201, created.text
    order = created.json()
    assert (order["subtotal"], order["discount"], order["total"]) == ("160.00", "25.00", "135.00")
    replay = _order(client, hold_id, key="smoke-key-1", promo="VIP25")
    assert replay.status_code == 201 and replay.json() == order
    assert replay.headers["X-Idempotent-Replay"] == "true"
    assert _order(client, hold_id, key="smoke-key-1").status_code == 409
    assert _order(client, hold_id).status_code == 409  # the hold is purchased
    assert client.get(f"/v1/holds/{hold_id}", headers=ALICE).json()["status"] == "purchased"
    assert client.delete(f"/v1/holds/{hold_id}", headers=ALICE).status_code == 409
    assert client.get(created.headers["Location"], headers=ALICE).json() == order
    assert client.get(created.headers["Location"], headers=BOB).status_code == 404
    assert client.get("/v1/orders", headers=BOB).json() == {"data": [], "nextCursor": None}
    assert client.get("/v1/orders", params={"cursor": "b3JkOng"}, headers=ALICE).status_code == 422
    # The discount never exceeds the subtotal.
    cheap = _buy(client, ["st_0047"], event_id="evt_1003")
    assert cheap["subtotal"] == "22.00"
    capped = _order(client, _hold(client, ["st_0048"], "evt_1003")["id"], promo="VIP25").json()
    assert (capped["discount"], capped["total"]) == ("22.00", "0.00")
    # Cancellation well before the event.
    assert client.post(f"/v1/orders/{order['id']}/cancel", headers=BOB).status_code == 404
    cancelled = client.post(f"/v1/orders/{order['id']}/cancel", headers=ALICE)
    assert cancelled.status_code == 200
    assert (cancelled.json()["status"], cancelled.json()["refundAmount"]) == ("cancelled", "135.00")
    assert client.post(f"/v1/orders/{order['id']}/cancel", headers=ALICE).status_code == 409
    assert _seat_status(client, "evt_1001", "st_0007") == "available"
    listed = client.get("/v1/orders", headers=ALICE).json()
    assert [o["id"] for o in listed["data"]] == [capped["id"], cheap["id"], order["id"]]
    missing_key = client.post(
        "/v1/orders", json={"holdId": "hld_00001", "buyerEmail": "a@b.co"}, headers=ALICE
    )
    assert missing_key.status_code == 422


PROBES: dict[str, Callable[[TestClient], None]] = {
    "concurrent-holds-double-book-seat": concurrent_holds_double_book_seat,
    "hold-accepts-seat-of-other-event": hold_accepts_seat_of_other_event,
    "released-hold-still-purchasable": released_hold_still_purchasable,
    "promo-discount-applied-per-ticket": promo_discount_applied_per_ticket,
    "idempotency-keys-shared-across-buyers": idempotency_keys_shared_across_buyers,
    "late-cancellation-accepted": late_cancellation_accepted,
    "order-cursor-is-an-offset": order_cursor_is_an_offset,
    "empty-hold-accepted": empty_hold_accepted,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
