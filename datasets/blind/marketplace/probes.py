"""Behavioural probes for the marketplace target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Alice sells a camera; Bob and Carol are buyers; Sol is a Relay support agent.
"""

import itertools
import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"X-Api-Key": "rm_test_alice_5d0e1c"}
BOB = {"X-Api-Key": "rm_test_bob_93a7f4"}
CAROL = {"X-Api-Key": "rm_test_carol_1b62d9"}
SOL = {"X-Api-Key": "rm_test_support_sol_7e40aa"}

BOB_ADDRESS = {
    "name": "Bob Lindqvist",
    "line1": "Sveavägen 44",
    "city": "Stockholm",
    "postalCode": "111 34",
    "country": "SE",
}
CAROL_ADDRESS = {
    "name": "Carol Ndiaye",
    "line1": "3 rue des Abbesses",
    "city": "Paris",
    "postalCode": "75018",
    "country": "FR",
}

_keys = itertools.count(1)


def _eur(amount: int) -> dict[str, Any]:
    return {"amount": amount, "currency": "EUR"}


def _at(hours_from_now: float) -> str:
    moment = datetime.now(UTC) + timedelta(hours=hours_from_now)
    return moment.replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _listing(client: TestClient, headers: dict[str, str] = ALICE, **overrides: Any) -> dict[str, Any]:
    body = {
        "title": "Fujifilm X100V, silver, boxed",
        "description": "Two years old, original box and strap.",
        "price": _eur(95000),
        "shipping": _eur(1200),
        "acceptsOffers": True,
        "minimumOfferAmount": 80000,
        **overrides,
    }
    resp = client.post("/v2/listings", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _offer(
    client: TestClient, listing_id: str, amount: int, headers: dict[str, str] = BOB, **extra: Any
) -> httpx.Response:
    address = CAROL_ADDRESS if headers is CAROL else BOB_ADDRESS
    body = {"amount": _eur(amount), "message": "Would you take this?", "shippingAddress": address, **extra}
    return client.post(f"/v2/listings/{listing_id}/offers", json=body, headers=headers)


def _made(client: TestClient, listing_id: str, amount: int, headers: dict[str, str] = BOB) -> dict[str, Any]:
    resp = _offer(client, listing_id, amount, headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _act(client: TestClient, offer_id: str, verb: str, headers: dict[str, str]) -> httpx.Response:
    return client.post(f"/v2/offers/{offer_id}/{verb}", headers=headers)


def _buy(
    client: TestClient, listing_id: str, headers: dict[str, str] = CAROL, key: str | None = None
) -> httpx.Response:
    address = BOB_ADDRESS if headers is BOB else CAROL_ADDRESS
    body = {"listingId": listing_id, "shippingAddress": address}
    return client.post(
        "/v2/orders",
        json=body,
        headers={**headers, "X-Idempotency-Key": key or f"order-key-{next(_keys):04d}"},
    )


def _order(client: TestClient, listing_id: str, headers: dict[str, str] = CAROL) -> dict[str, Any]:
    resp = _buy(client, listing_id, headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _refund(
    client: TestClient, order_id: str, amount: int, headers: dict[str, str] = ALICE
) -> httpx.Response:
    body = {"amount": _eur(amount), "reason": "item_not_as_described", "note": None}
    return client.post(f"/v2/orders/{order_id}/refunds", json=body, headers=headers)


def _ship(
    client: TestClient, order_id: str, shipped_at: str, headers: dict[str, str] = ALICE
) -> httpx.Response:
    body = {"carrier": "dhl", "trackingNumber": "JD014600006281230000", "shippedAt": shipped_at}
    return client.post(f"/v2/orders/{order_id}/ship", json=body, headers=headers)


def concurrent_refunds_overdraw_escrow(client: TestClient) -> None:
    listing = _listing(client, price=_eur(9000), shipping=_eur(1000), minimumOfferAmount=None)
    order = _order(client, listing["id"])
    assert order["total"] == _eur(10000)
    barrier = threading.Barrier(2)

    def refund(headers: dict[str, str]) -> httpx.Response:
        barrier.wait(timeout=10)
        return _refund(client, order["id"], 6000, headers)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(refund, [ALICE, SOL]))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 400], f"two simultaneous refunds of 60.00 on a 100.00 order: {codes}"
    after = client.get(f"/v2/orders/{order['id']}", headers=CAROL).json()
    refunded = sum(r["amount"]["amount"] for r in after["refunds"])
    assert (refunded, after["escrow"]["refundedAmount"], after["escrow"]["heldAmount"]) == (6000, 6000, 4000)


def withdrawn_offers_not_counted(client: TestClient) -> None:
    listing = _listing(client)
    for amount in (81000, 82000, 83000):
        offer = _made(client, listing["id"], amount)
        assert _act(client, offer["id"], "withdraw", BOB).status_code == 200
    fourth = _offer(client, listing["id"], 84000)
    assert fourth.status_code == 429, (
        f"fourth offer within 24 hours after three withdrawals: {fourth.status_code}"
    )
    assert int(fourth.headers["Retry-After"]) >= 1
    assert _offer(client, listing["id"], 84000, CAROL).status_code == 201


def listing_fee_rate_writable(client: TestClient) -> None:
    listing = _listing(client, platformFeeBasisPoints=0, status="sold", sellerId="usr_bob")
    assert listing["platformFeeBasisPoints"] == 500, f"fee rate {listing['platformFeeBasisPoints']}"
    assert (listing["status"], listing["sellerId"]) == ("active", "usr_alice")
    order = _order(client, listing["id"])
    assert order["platformFee"] == _eur(4750), order["platformFee"]


def shipped_at_before_order_created(client: TestClient) -> None:
    listing = _listing(client)
    order = _order(client, listing["id"])
    resp = _ship(client, order["id"], _at(-3))
    assert resp.status_code == 400, f"shipped three hours before the order existed: {resp.status_code}"
    assert client.get(f"/v2/orders/{order['id']}", headers=CAROL).json()["status"] == "paid"
    shipped = _ship(client, order["id"], _at(0))
    assert shipped.status_code == 200, shipped.text


def platform_fee_on_list_price(client: TestClient) -> None:
    listing = _listing(client)
    offer = _made(client, listing["id"], 85000)
    resp = _act(client, offer["id"], "accept", ALICE)
    assert resp.status_code == 201, resp.text
    order = resp.json()
    assert (order["itemPrice"], order["total"]) == (_eur(85000), _eur(86200)), order
    assert order["platformFee"] == _eur(4250), f"5 % of an 850.00 offer: {order['platformFee']}"


def non_seller_can_accept_offer(client: TestClient) -> None:
    listing = _listing(client)
    offer = _made(client, listing["id"], 85000)
    resp = _act(client, offer["id"], "accept", CAROL)
    assert resp.status_code == 404, f"Carol accepted Bob's offer on Alice's listing: {resp.status_code}"
    assert client.get(f"/v2/offers/{offer['id']}", headers=BOB).json()["status"] == "pending"
    assert client.get(f"/v2/listings/{listing['id']}", headers=BOB).json()["status"] == "active"


def offer_accepted_after_listing_sold(client: TestClient) -> None:
    listing = _listing(client)
    bobs = _made(client, listing["id"], 85000, BOB)
    carols = _made(client, listing["id"], 82000, CAROL)
    assert _act(client, bobs["id"], "accept", ALICE).status_code == 201
    second = _act(client, carols["id"], "accept", ALICE)
    assert second.status_code == 409, f"second offer accepted on a sold listing: {second.status_code}"
    assert client.get(f"/v2/offers/{carols['id']}", headers=CAROL).json()["status"] == "declined"


def offer_expiry_hours_unbounded(client: TestClient) -> None:
    listing = _listing(client)
    resp = _offer(client, listing["id"], 85000, expiresInHours=500)
    assert resp.status_code == 400, f"expiresInHours 500 accepted: {resp.status_code}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v2/listings").status_code == 401
    assert client.get("/v2/listings", headers={"X-Api-Key": "sk_nope"}).status_code == 401
    # Listing rules.
    base = {"title": "Lens", "price": _eur(30000), "shipping": _eur(900)}
    assert client.post("/v2/listings", json={**base, "price": _eur(99)}, headers=ALICE).status_code == 400
    mismatch = client.post(
        "/v2/listings", json={**base, "shipping": {"amount": 900, "currency": "GBP"}}, headers=ALICE
    )
    assert mismatch.status_code == 400 and mismatch.json()["error"]["code"] == "currency_mismatch"
    no_offers = {**base, "acceptsOffers": False, "minimumOfferAmount": 100}
    assert client.post("/v2/listings", json=no_offers, headers=ALICE).status_code == 400
    assert (
        client.post("/v2/listings", json={**base, "minimumOfferAmount": 30000}, headers=ALICE).status_code
        == 400
    )
    assert client.post("/v2/listings", json={**base, "title": ""}, headers=ALICE).status_code == 400
    assert (
        client.post(
            "/v2/listings", json={**base, "price": {"amount": 300.5, "currency": "EUR"}}, headers=ALICE
        ).status_code
        == 400
    )
    assert client.post("/v2/listings", content=b"{", headers=ALICE).status_code == 400
    lens = client.post("/v2/listings", json=base, headers=ALICE)
    assert lens.status_code == 201, lens.text
    lens = lens.json()
    assert (lens["description"], lens["acceptsOffers"], lens["minimumOfferAmount"]) == ("", True, None)
    fixed = _listing(
        client,
        CAROL,
        title="Bike",
        price=_eur(40000),
        shipping=_eur(0),
        acceptsOffers=False,
        minimumOfferAmount=None,
    )
    camera = _listing(client)
    assert client.get(f"/v2/listings/{camera['id']}", headers=SOL).json() == camera
    assert client.get("/v2/listings/lst_999999", headers=SOL).status_code == 404
    # Editing.
    url = f"/v2/listings/{camera['id']}"
    assert client.patch(url, json={"title": "X100V"}, headers=BOB).status_code == 403
    assert client.patch(url, json={}, headers=ALICE).status_code == 400
    assert client.patch(url, json={"status": "sold"}, headers=ALICE).status_code == 400
    assert client.patch(url, json={"title": None}, headers=ALICE).status_code == 400
    assert client.patch(url, json={"price": _eur(79000)}, headers=ALICE).status_code == 400  # below minimum
    assert client.patch(url, json={"acceptsOffers": False}, headers=ALICE).status_code == 400
    assert client.patch(url, content=b"[", headers=ALICE).status_code == 400
    assert client.patch("/v2/listings/lst_999999", json={"title": "x"}, headers=ALICE).status_code == 404
    edited = client.patch(url, json={"price": _eur(92000), "minimumOfferAmount": None}, headers=ALICE)
    assert edited.status_code == 200 and edited.json()["minimumOfferAmount"] is None, edited.text
    assert client.patch(url, json={"minimumOfferAmount": 70000}, headers=ALICE).status_code == 200
    # Listing pages.
    first = client.get("/v2/listings", params={"limit": 2}, headers=BOB).json()
    assert [x["id"] for x in first["data"]] == [lens["id"], fixed["id"]] and first["hasMore"] is True
    rest = client.get("/v2/listings", params={"limit": 2, "startingAfter": fixed["id"]}, headers=BOB).json()
    assert ([x["id"] for x in rest["data"]], rest["hasMore"]) == ([camera["id"]], False)
    carols = client.get("/v2/listings", params={"sellerId": "usr_carol"}, headers=BOB).json()
    assert [x["id"] for x in carols["data"]] == [fixed["id"]]
    assert client.get("/v2/listings", params={"startingAfter": "lst_nope"}, headers=BOB).status_code == 400
    assert client.get("/v2/listings", params={"limit": 101}, headers=BOB).status_code == 400
    # Offer rules.
    cid = camera["id"]
    assert _offer(client, "lst_999999", 85000).status_code == 404
    assert _offer(client, cid, 85000, ALICE).status_code == 403
    assert _offer(client, fixed["id"], 30000).status_code == 409  # no offers on the bike
    gbp = {"amount": {"amount": 85000, "currency": "GBP"}, "shippingAddress": BOB_ADDRESS}
    assert client.post(f"/v2/listings/{cid}/offers", json=gbp, headers=BOB).status_code == 400
    assert _offer(client, cid, 60000).status_code == 400  # below minimum
    assert _offer(client, cid, 92000).status_code == 400  # not below the price
    assert _offer(client, cid, 85000, expiresInHours=0).status_code == 400
    assert (
        client.post(f"/v2/listings/{cid}/offers", json={"amount": _eur(85000)}, headers=BOB).status_code
        == 400
    )
    pending = _made(client, cid, 80000)
    assert pending["status"] == "pending" and pending["orderId"] is None
    assert _offer(client, cid, 81000).status_code == 409  # one pending offer per buyer
    oid = pending["id"]
    assert client.get(f"/v2/offers/{oid}", headers=ALICE).json() == pending
    assert client.get(f"/v2/offers/{oid}", headers=SOL).status_code == 200
    assert client.get(f"/v2/offers/{oid}", headers=CAROL).status_code == 404
    assert _act(client, oid, "accept", BOB).status_code == 403
    assert _act(client, oid, "accept", SOL).status_code == 403
    assert _act(client, oid, "decline", BOB).status_code == 403
    assert _act(client, oid, "withdraw", ALICE).status_code == 403
    assert _act(client, oid, "withdraw", CAROL).status_code == 404
    assert _act(client, "ofr_999999", "accept", ALICE).status_code == 404
    declined = _act(client, oid, "decline", ALICE)
    assert declined.status_code == 200 and declined.json()["status"] == "declined"
    assert _act(client, oid, "decline", ALICE).status_code == 409
    assert _act(client, oid, "withdraw", BOB).status_code == 409
    assert _act(client, oid, "accept", ALICE).status_code == 409
    # Declined offers count towards the limit too.
    second = _made(client, cid, 81000)
    assert _act(client, second["id"], "decline", ALICE).status_code == 200
    third = _made(client, cid, 82000)
    limited = _offer(client, cid, 83000)  # third is still pending
    assert limited.status_code == 409
    assert _act(client, third["id"], "withdraw", BOB).status_code == 200
    limited = _offer(client, cid, 83000)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) > 86000
    # Offer listings.
    carol_offer = _made(client, cid, 84000, CAROL)
    mine = client.get("/v2/offers", headers=BOB).json()
    assert [o["id"] for o in mine["data"]] == [oid, second["id"], third["id"]] and mine["hasMore"] is False
    selling = client.get("/v2/offers", params={"role": "seller", "status": "pending"}, headers=ALICE).json()
    assert [o["id"] for o in selling["data"]] == [carol_offer["id"]]
    paged = client.get("/v2/offers", params={"limit": 1, "startingAfter": oid}, headers=SOL).json()
    assert ([o["id"] for o in paged["data"]], paged["hasMore"]) == ([second["id"]], True)
    assert (
        client.get("/v2/offers", params={"startingAfter": carol_offer["id"]}, headers=BOB).status_code == 400
    )
    assert client.get("/v2/offers", params={"role": "owner"}, headers=BOB).status_code == 400
    # Buying at the listed price declines the pending offers.
    assert (
        client.post(
            "/v2/orders", json={"listingId": cid, "shippingAddress": BOB_ADDRESS}, headers=BOB
        ).status_code
        == 400
    )
    assert _buy(client, cid, BOB, key="short").status_code == 400
    assert _buy(client, "lst_999999", BOB).status_code == 400
    assert _buy(client, cid, ALICE).status_code == 403
    bought = _buy(client, cid, BOB, key="bob-order-0001")
    assert bought.status_code == 201, bought.text
    order = bought.json()
    assert bought.headers["Location"] == f"/v2/orders/{order['id']}"
    assert (order["itemPrice"], order["shipping"], order["total"], order["platformFee"]) == (
        _eur(92000),
        _eur(1200),
        _eur(93200),
        _eur(4600),
    )
    assert order["escrow"] == {"heldAmount": 93200, "releasedAmount": 0, "refundedAmount": 0}
    replay = _buy(client, cid, BOB, key="bob-order-0001")
    assert (
        replay.status_code == 201
        and replay.json() == order
        and replay.headers["Idempotent-Replayed"] == "true"
    )
    other = client.post(
        "/v2/orders",
        json={"listingId": cid, "shippingAddress": CAROL_ADDRESS},
        headers={**BOB, "X-Idempotency-Key": "bob-order-0001"},
    )
    assert other.status_code == 409
    assert _buy(client, cid, CAROL).status_code == 409  # sold
    assert client.get(f"/v2/offers/{carol_offer['id']}", headers=CAROL).json()["status"] == "declined"
    assert client.get(url, headers=CAROL).json()["status"] == "sold"
    assert client.patch(url, json={"title": "X100V"}, headers=ALICE).status_code == 409
    assert _offer(client, cid, 85000, CAROL).status_code == 409
    sold = client.get("/v2/listings", params={"status": "sold"}, headers=CAROL).json()
    assert [x["id"] for x in sold["data"]] == [cid]
    # Orders: visibility, shipping, refunds and release.
    rid = order["id"]
    assert client.get(f"/v2/orders/{rid}", headers=ALICE).json() == order
    assert client.get(f"/v2/orders/{rid}", headers=SOL).status_code == 200
    assert client.get(f"/v2/orders/{rid}", headers=CAROL).status_code == 404
    assert client.get("/v2/orders/ord_999999", headers=BOB).status_code == 404
    assert _refund(client, rid, 1000, BOB).status_code == 403
    assert _refund(client, rid, 1000, CAROL).status_code == 404
    assert _refund(client, rid, 0).status_code == 400
    assert _refund(client, rid, 93201).status_code == 400
    gbp_refund = {"amount": {"amount": 100, "currency": "GBP"}, "reason": "other"}
    assert client.post(f"/v2/orders/{rid}/refunds", json=gbp_refund, headers=SOL).status_code == 400
    assert client.post(f"/v2/orders/{rid}/refunds", content=b"{", headers=SOL).status_code == 400
    partial = _refund(client, rid, 2500)
    assert partial.status_code == 201 and partial.json()["createdBy"] == "usr_alice", partial.text
    assert client.post(f"/v2/orders/{rid}/confirm-receipt", headers=BOB).status_code == 409  # not shipped
    assert _ship(client, rid, _at(0), BOB).status_code == 403
    assert _ship(client, rid, _at(2)).status_code == 400  # in the future
    assert _ship(client, rid, "2025-03-04T16:20:00").status_code == 400  # no offset
    bad_tracking = {"carrier": "dhl", "trackingNumber": "JD-01", "shippedAt": _at(0)}
    assert client.post(f"/v2/orders/{rid}/ship", json=bad_tracking, headers=ALICE).status_code == 400
    shipped = _ship(client, rid, _at(0))
    assert shipped.status_code == 200 and shipped.json()["shipment"]["carrier"] == "dhl"
    assert _ship(client, rid, _at(0)).status_code == 409
    assert client.post(f"/v2/orders/{rid}/confirm-receipt", headers=ALICE).status_code == 403
    done = client.post(f"/v2/orders/{rid}/confirm-receipt", headers=BOB)
    assert done.status_code == 200, done.text
    done_order = done.json()
    assert done_order["status"] == "completed" and done_order["completedAt"] is not None
    assert done_order["escrow"] == {"heldAmount": 0, "releasedAmount": 90700, "refundedAmount": 2500}
    assert client.post(f"/v2/orders/{rid}/confirm-receipt", headers=BOB).status_code == 409
    assert _refund(client, rid, 100, SOL).status_code == 409  # escrow released
    # A full refund closes the order.
    bike = _order(client, fixed["id"], BOB)
    assert bike["platformFee"] == _eur(2000) and bike["total"] == _eur(40000)
    full = _refund(client, bike["id"], 40000, SOL)
    assert full.status_code == 201
    closed = client.get(f"/v2/orders/{bike['id']}", headers=BOB).json()
    assert closed["status"] == "refunded" and closed["escrow"]["refundedAmount"] == 40000
    assert _refund(client, bike["id"], 1, CAROL).status_code == 409
    assert _ship(client, bike["id"], _at(0), CAROL).status_code == 409


PROBES: dict[str, Callable[[TestClient], None]] = {
    "concurrent-refunds-overdraw-escrow": concurrent_refunds_overdraw_escrow,
    "withdrawn-offers-not-counted": withdrawn_offers_not_counted,
    "listing-fee-rate-writable": listing_fee_rate_writable,
    "shipped-at-before-order-created": shipped_at_before_order_created,
    "platform-fee-on-list-price": platform_fee_on_list_price,
    "non-seller-can-accept-offer": non_seller_can_accept_offer,
    "offer-accepted-after-listing-sold": offer_accepted_after_listing_sold,
    "offer-expiry-hours-unbounded": offer_expiry_hours_unbounded,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
