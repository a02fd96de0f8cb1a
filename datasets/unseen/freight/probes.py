"""Behavioural probes for the freight target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Alice ships for Acme and Bob for Globex; Kai records tracking events for the carrier.
"""

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"X-Api-Token": "frt_acme_alice_91c2"}
BOB = {"X-Api-Token": "frt_globex_bob_4d7a"}
KAI = {"X-Api-Token": "frt_northwind_kai_e05b"}

CITIES = {
    "DE": ("10115", "Berlin"),
    "FR": ("69002", "Lyon"),
    "US": ("07114", "Newark"),
    "NL": ("3011", "Rotterdam"),
}
TSHIRTS = {
    "description": "Cotton T-shirts",
    "hs_code": "610910",
    "quantity": 200,
    "unit_value": "12.00",
    "origin_country": "PT",
}

_keys = itertools.count(1)


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def _at(hours_ago: float) -> str:
    return (datetime.now(UTC) - timedelta(hours=hours_ago)).replace(microsecond=0).isoformat()


def _quote(
    client: TestClient,
    origin: str = "DE",
    destination: str = "DE",
    mode: str = "road",
    weight: float = 120,
    headers: dict[str, str] = ALICE,
) -> dict[str, Any]:
    body = {"origin_country": origin, "destination_country": destination, "mode": mode, "weight_kg": weight}
    resp = client.post("/api/v1/quotes", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _address(country: str) -> dict[str, str]:
    postal_code, city = CITIES[country]
    return {"country": country, "postal_code": postal_code, "city": city}


def _shipment_body(quote: dict[str, Any], **overrides: Any) -> dict[str, Any]:
    body = {
        "quote_id": quote["id"],
        "origin": _address(quote["origin_country"]),
        "destination": _address(quote["destination_country"]),
        "mode": quote["mode"],
        "weight_kg": quote["weight_kg"],
        "pickup_date": _day(1),
        "delivery_by": _day(5),
        "declared_value": "2400.00",
        "reference": "PO-88213",
    }
    body.update(overrides)
    return body


def _create(
    client: TestClient, body: dict[str, Any], headers: dict[str, str] = ALICE, key: str | None = None
) -> httpx.Response:
    return client.post(
        "/api/v1/shipments", json=body, headers={**headers, "Idempotency-Key": key or f"key-{next(_keys)}"}
    )


def _shipment(
    client: TestClient, origin: str = "DE", destination: str = "DE", headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    quote = _quote(client, origin, destination, headers=headers)
    resp = _create(client, _shipment_body(quote), headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _declare(
    client: TestClient, shipment_id: str, items: list[dict[str, Any]], headers: dict[str, str] = ALICE
) -> httpx.Response:
    return client.put(
        f"/api/v1/shipments/{shipment_id}/customs-declaration",
        json={"incoterm": "DAP", "items": items},
        headers=headers,
    )


def _patch(
    client: TestClient, shipment_id: str, body: dict[str, Any], headers: dict[str, str] = ALICE
) -> httpx.Response:
    return client.patch(f"/api/v1/shipments/{shipment_id}", json=body, headers=headers)


def _track(client: TestClient, shipment_id: str, kind: str, hours_ago: float) -> httpx.Response:
    return client.post(
        f"/api/v1/shipments/{shipment_id}/tracking-events",
        json={"type": kind, "occurred_at": _at(hours_ago), "location": "Hub"},
        headers=KAI,
    )


def quote_lane_not_compared(client: TestClient) -> None:
    domestic = _quote(client, "DE", "DE")
    assert domestic["price"] == "96.00"
    body = _shipment_body(domestic, destination=_address("US"))
    resp = _create(client, body)
    assert resp.status_code == 422, f"DE→US shipment on a DE→DE quote: {resp.status_code}"
    assert client.get(f"/api/v1/quotes/{domestic['id']}", headers=ALICE).json()["shipment_id"] is None


def quote_rate_limit_keyed_by_lane(client: TestClient) -> None:
    remaining = []
    for destination in ("FR", "NL", "PL", "AT", "IT"):
        body = {"origin_country": "DE", "destination_country": destination, "mode": "road", "weight_kg": 50}
        resp = client.post("/api/v1/quotes", json=body, headers=ALICE)
        assert resp.status_code == 201, resp.text
        remaining.append(int(resp.headers["X-RateLimit-Remaining"]))
    sixth = {"origin_country": "DE", "destination_country": "ES", "mode": "road", "weight_kg": 50}
    resp = client.post("/api/v1/quotes", json=sixth, headers=ALICE)
    assert resp.status_code == 429, f"sixth quote within a minute, on a new lane: {resp.status_code}"
    assert int(resp.headers["Retry-After"]) >= 1
    assert remaining == [4, 3, 2, 1, 0], f"X-RateLimit-Remaining over five lanes: {remaining}"
    assert client.post("/api/v1/quotes", json=sixth, headers=BOB).status_code == 201


def shipment_price_taken_from_body(client: TestClient) -> None:
    quote = _quote(client)
    resp = _create(client, _shipment_body(quote, price="1.00", status="delivered", carrier_id="car_x"))
    assert resp.status_code == 201, resp.text
    shipment = resp.json()
    assert shipment["price"] == quote["price"] == "96.00", f"price {shipment['price']}"
    assert (shipment["status"], shipment["carrier_id"]) == ("draft", None)


def declaration_value_ignores_quantity(client: TestClient) -> None:
    shipment = _shipment(client, "DE", "FR")
    inflated = _declare(client, shipment["id"], [{**TSHIRTS, "unit_value": "2400.00"}])
    assert inflated.status_code == 422, f"200 × 2400.00 declared against 2400.00: {inflated.status_code}"
    correct = _declare(client, shipment["id"], [TSHIRTS])
    assert correct.status_code == 201, f"200 × 12.00 declared against 2400.00: {correct.status_code}"
    assert correct.json()["total_value"] == "2400.00"


def cancelled_shipment_can_be_booked(client: TestClient) -> None:
    shipment = _shipment(client)
    cancelled = _patch(client, shipment["id"], {"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    rebooked = _patch(client, shipment["id"], {"status": "booked"})
    assert rebooked.status_code == 409, f"cancelled shipment booked: {rebooked.status_code}"
    after = client.get(f"/api/v1/shipments/{shipment['id']}", headers=ALICE).json()
    assert (after["status"], after["carrier_id"]) == ("cancelled", None)


def foreign_declaration_overwritten(client: TestClient) -> None:
    shipment = _shipment(client, "DE", "FR")
    assert _declare(client, shipment["id"], [TSHIRTS]).status_code == 201
    forged = {**TSHIRTS, "description": "Samples, no commercial value", "hs_code": "490110"}
    resp = _declare(client, shipment["id"], [forged], headers=BOB)
    assert resp.status_code == 404, f"Bob replaced Alice's declaration: {resp.status_code}"
    declaration = client.get(f"/api/v1/shipments/{shipment['id']}/customs-declaration", headers=ALICE).json()
    assert declaration["items"] == [TSHIRTS]


def tracking_order_checked_per_event_type(client: TestClient) -> None:
    shipment = _shipment(client)
    assert _patch(client, shipment["id"], {"status": "booked"}).status_code == 200
    assert _track(client, shipment["id"], "picked_up", hours_ago=1).status_code == 201
    resp = _track(client, shipment["id"], "delivered", hours_ago=3)
    assert resp.status_code == 422, f"delivered two hours before pickup: {resp.status_code}"
    after = client.get(f"/api/v1/shipments/{shipment['id']}", headers=ALICE).json()
    assert (after["status"], after["delivered_at"]) == ("in_transit", None)


def hs_code_format_not_validated(client: TestClient) -> None:
    shipment = _shipment(client, "DE", "FR")
    resp = _declare(client, shipment["id"], [{**TSHIRTS, "hs_code": "shirts"}])
    assert resp.status_code == 422, f"hs_code 'shirts' accepted: {resp.status_code}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/api/v1/shipments").status_code == 401
    assert client.get("/api/v1/shipments", headers={"X-Api-Token": "nope"}).status_code == 401
    # Quotes.
    lane = {"origin_country": "DE", "destination_country": "DE", "mode": "road", "weight_kg": 120}
    assert client.post("/api/v1/quotes", json=lane, headers=KAI).status_code == 403
    assert client.post("/api/v1/quotes", content=b"{", headers=ALICE).status_code == 400
    assert client.post("/api/v1/quotes", json={**lane, "weight_kg": 0}, headers=ALICE).status_code == 422
    assert client.post("/api/v1/quotes", json={**lane, "mode": "rail"}, headers=ALICE).status_code == 422
    created = client.post("/api/v1/quotes", json=lane, headers=ALICE)  # quote 1 of 5
    assert created.status_code == 201
    domestic = created.json()
    assert client.get(created.headers["Location"], headers=ALICE).json() == domestic
    assert client.get(created.headers["Location"], headers=BOB).status_code == 404
    light = _quote(client, "DE", "DE", weight=10)  # quote 2 of 5
    assert light["price"] == "25.00"
    air = _quote(client, "DE", "US", mode="air", weight=100)  # quote 3 of 5
    assert air["price"] == "1125.00"
    # Shipments: validation, replay, key reuse, quote reuse.
    body = _shipment_body(domestic)
    assert _create(client, body, headers=KAI).status_code == 403
    assert _create(client, {**body, "quote_id": "qt_99999"}).status_code == 422
    assert _create(client, {**body, "weight_kg": 121}).status_code == 422
    assert _create(client, {**body, "mode": "air"}).status_code == 422
    assert _create(client, {**body, "pickup_date": _day(-1)}).status_code == 422
    assert _create(client, {**body, "delivery_by": _day(1)}).status_code == 422
    assert client.post("/api/v1/shipments", json=body, headers=ALICE).status_code == 422  # no key
    assert _create(client, body, headers=BOB).status_code == 422  # not Bob's quote
    first = _create(client, body, key="po-88213")
    assert first.status_code == 201, first.text
    shipment = first.json()
    assert shipment["customs_required"] is False and shipment["has_customs_declaration"] is False
    replay = _create(client, body, key="po-88213")
    assert replay.status_code == 200 and replay.json() == shipment
    assert replay.headers["Idempotent-Replayed"] == "true"
    assert _create(client, {**body, "reference": "PO-2"}, key="po-88213").status_code == 422
    assert _create(client, body).status_code == 409  # quote already used
    assert client.get(first.headers["Location"], headers=ALICE).json() == shipment
    assert client.get(first.headers["Location"], headers=BOB).status_code == 404
    assert client.get(first.headers["Location"], headers=KAI).status_code == 404  # not booked yet
    sid = shipment["id"]
    # Editing and booking a domestic shipment.
    assert _patch(client, sid, {}).status_code == 422
    assert _patch(client, sid, {"reference": None}, headers=BOB).status_code == 404
    assert _patch(client, sid, {"delivery_by": _day(1)}).status_code == 422
    moved = _patch(client, sid, {"delivery_by": _day(7), "reference": None})
    assert moved.status_code == 200 and moved.json()["reference"] is None
    assert _declare(client, sid, [TSHIRTS]).status_code == 422  # domestic
    booked = _patch(client, sid, {"status": "booked"})
    assert booked.status_code == 200 and booked.json()["carrier_id"] == "car_northwind"
    assert _patch(client, sid, {"status": "booked"}).status_code == 409
    assert _patch(client, sid, {"pickup_date": _day(2)}).status_code == 409
    assert _patch(client, sid, {"status": "cancelled"}, headers=KAI).status_code == 403
    # Tracking.
    events = f"/api/v1/shipments/{sid}/tracking-events"
    assert (
        client.post(
            events, json={"type": "picked_up", "occurred_at": _at(2), "location": "x"}, headers=ALICE
        ).status_code
        == 403
    )
    assert _track(client, sid, "departed", 2).status_code == 422  # pickup first
    assert _track(client, sid, "picked_up", -1).status_code == 422  # an hour from now
    naive = {"type": "picked_up", "occurred_at": "2026-01-01T08:00:00", "location": "x"}
    assert client.post(events, json=naive, headers=KAI).status_code == 422
    assert _track(client, sid, "picked_up", 5).status_code == 201
    assert _track(client, sid, "picked_up", 4).status_code == 422
    assert _track(client, sid, "departed", 4).status_code == 201
    delivered = _track(client, sid, "delivered", 1)
    assert delivered.status_code == 201 and delivered.json()["recorded_by"] == "car_northwind"
    assert _track(client, sid, "exception", 0.5).status_code == 409
    history = client.get(events, headers=ALICE).json()["items"]
    assert [e["type"] for e in history] == ["picked_up", "departed", "delivered"]
    assert client.get(events, headers=KAI).json()["items"] == history
    assert client.get(events, headers=BOB).status_code == 404
    final = client.get(f"/api/v1/shipments/{sid}", headers=KAI).json()
    assert (final["status"], final["delivered_at"]) == ("delivered", history[-1]["occurred_at"])
    assert _patch(client, sid, {"status": "cancelled"}).status_code == 409
    # An international shipment: customs before booking, locked once in transit.
    intl = _create(client, _shipment_body(air, destination=_address("US"), weight_kg=80)).json()
    iid = intl["id"]
    customs = f"/api/v1/shipments/{iid}/customs-declaration"
    assert intl["customs_required"] is True
    assert client.get(customs, headers=ALICE).status_code == 404
    assert _patch(client, iid, {"status": "booked"}).status_code == 422
    assert client.put(customs, content=b"[", headers=ALICE).status_code == 400
    assert _declare(client, iid, []).status_code == 422
    assert _declare(client, iid, [{**TSHIRTS, "quantity": 199}]).status_code == 422
    assert _declare(client, iid, [TSHIRTS]).status_code == 201
    split = [{**TSHIRTS, "quantity": 100}, {**TSHIRTS, "quantity": 50, "unit_value": "24.00"}]
    replaced = _declare(client, iid, split)
    assert replaced.status_code == 200 and replaced.json()["items"] == split
    booked = _patch(client, iid, {"status": "booked"})
    assert booked.status_code == 200 and booked.json()["has_customs_declaration"] is True
    assert _declare(client, iid, [TSHIRTS], headers=KAI).status_code == 403
    assert client.get(customs, headers=KAI).json()["items"] == split
    assert _track(client, iid, "picked_up", 1).status_code == 201
    assert _declare(client, iid, [TSHIRTS]).status_code == 409
    # Listing.
    page = client.get("/api/v1/shipments", params={"limit": 1, "offset": 1}, headers=ALICE).json()
    assert ([s["id"] for s in page["items"]], page["total"], page["offset"]) == ([iid], 2, 1)
    transit = client.get("/api/v1/shipments", params={"status": "in_transit"}, headers=KAI).json()
    assert ([s["id"] for s in transit["items"]], transit["total"]) == ([iid], 1)
    assert client.get("/api/v1/shipments", headers=BOB).json()["total"] == 0
    assert client.get("/api/v1/shipments", params={"limit": 0}, headers=ALICE).status_code == 422
    # Rate limit: two more quotes are allowed, the sixth is not.
    _quote(client, "FR", "FR")
    _quote(client, "NL", "NL")
    limited = client.post("/api/v1/quotes", json=lane, headers=ALICE)
    assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1


PROBES: dict[str, Callable[[TestClient], None]] = {
    "quote-lane-not-compared": quote_lane_not_compared,
    "quote-rate-limit-keyed-by-lane": quote_rate_limit_keyed_by_lane,
    "shipment-price-taken-from-body": shipment_price_taken_from_body,
    "declaration-value-ignores-quantity": declaration_value_ignores_quantity,
    "cancelled-shipment-can-be-booked": cancelled_shipment_can_be_booked,
    "foreign-declaration-overwritten": foreign_declaration_overwritten,
    "tracking-order-checked-per-event-type": tracking_order_checked_per_event_type,
    "hs-code-format-not-validated": hs_code_format_not_validated,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
