"""Behavioural probes for the rentals target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Carla rents for Northpeak Builders and Dan for Riverside Landscaping; Sam works at the depot.
"""

import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

CARLA = {"X-Auth-Token": "yl_live_np_carla_6a1f"}
DAN = {"X-Auth-Token": "yl_live_rs_dan_0c93"}
SAM = {"X-Auth-Token": "yl_live_depot_sam_e27b"}
SITE = {"line1": "14 Harbour Road", "city": "Leith", "postal_code": "EH6 6LX"}

_keys = itertools.count(1)


def _day(offset: int) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


def _body(**overrides: Any) -> dict[str, Any]:
    body = {
        "equipment_id": "eq_1001",
        "start_date": _day(10),
        "end_date": _day(12),
        "fulfillment": "depot_pickup",
        "damage_protection": "waiver",
        "po_number": "NP-20431",
    }
    body.update(overrides)
    return body


def _reserve(
    client: TestClient, headers: dict[str, str] = CARLA, key: str | None = None, **overrides: Any
) -> httpx.Response:
    extra = {"Idempotency-Key": key} if key else {}
    return client.post("/v3/rentals", json=_body(**overrides), headers={**headers, **extra})


def _rental(client: TestClient, headers: dict[str, str] = CARLA, **overrides: Any) -> dict[str, Any]:
    resp = _reserve(client, headers, **overrides)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _patch(
    client: TestClient, rental_id: str, body: dict[str, Any], headers: dict[str, str] = CARLA
) -> httpx.Response:
    return client.patch(f"/v3/rentals/{rental_id}", json=body, headers=headers)


def end_date_change_skips_start_date(client: TestClient) -> None:
    rental = _rental(client, start_date=_day(10), end_date=_day(12))
    resp = _patch(client, rental["id"], {"end_date": _day(5)})
    assert resp.status_code == 422, f"end_date moved five days before start_date: {resp.status_code}"
    after = client.get(f"/v3/rentals/{rental['id']}", headers=CARLA).json()
    assert (after["end_date"], after["rental_days"]) == (_day(12), 3), after


def own_insurance_without_certificate(client: TestClient) -> None:
    resp = _reserve(client, damage_protection="own_insurance")
    assert resp.status_code == 422, f"own_insurance without insurance_certificate: {resp.status_code}"
    insured = _reserve(client, damage_protection="own_insurance", insurance_certificate="AXA-CAR-558201")
    assert insured.status_code == 201, insured.text
    assert insured.json()["charges"]["waiver"] == "0.00"


def waiver_priced_on_daily_rate(client: TestClient) -> None:
    rental = _rental(client, start_date=_day(20), end_date=_day(27))  # 8 days: one week + one day
    charges = rental["charges"]
    assert (rental["rental_days"], charges["rental"]) == (8, "1134.00"), rental
    assert charges["waiver"] == "170.10", f"15 % waiver on a 1134.00 rental: {charges['waiver']}"
    assert charges["total"] == "1304.10", charges


def on_rent_rental_cancellable(client: TestClient) -> None:
    rental = _rental(client, equipment_id="eq_2001", start_date=_day(0), end_date=_day(2))
    out = _patch(client, rental["id"], {"status": "on_rent"}, SAM)
    assert out.status_code == 200 and out.json()["picked_up_on"] == _day(0), out.text
    resp = _patch(client, rental["id"], {"status": "cancelled"})
    assert resp.status_code == 409, f"rental cancelled while the lift is on site: {resp.status_code}"
    assert client.get(f"/v3/rentals/{rental['id']}", headers=SAM).json()["status"] == "on_rent"


def idempotent_replay_rechecks_availability(client: TestClient) -> None:
    first = _reserve(client, key="np-po-20431")
    assert first.status_code == 201, first.text
    retry = _reserve(client, key="np-po-20431")
    assert retry.status_code == 201, f"retry with the same Idempotency-Key: {retry.status_code}"
    assert retry.json() == first.json() and retry.headers["Idempotent-Replayed"] == "true"
    assert client.get("/v3/rentals", headers=CARLA).json()["total_items"] == 1


def account_filter_not_restricted(client: TestClient) -> None:
    _rental(client, CARLA)
    resp = client.get("/v3/rentals", params={"account_id": "acc_northpeak"}, headers=DAN)
    assert resp.status_code == 403, f"Dan listed Northpeak's rentals: {resp.status_code}"
    assert client.get("/v3/rentals", headers=DAN).json()["total_items"] == 0


def total_pages_rounded_down(client: TestClient) -> None:
    first = client.get("/v3/equipment", params={"page_size": 2}, headers=DAN).json()
    assert first["total_items"] == 7
    assert first["total_pages"] == 4, f"7 items at 2 per page: total_pages {first['total_pages']}"
    last = client.get("/v3/equipment", params={"page_size": 2, "page": 4}, headers=DAN).json()
    assert [e["id"] for e in last["data"]] == ["eq_4001"]


def po_number_pattern_not_enforced(client: TestClient) -> None:
    resp = _reserve(client, po_number="po 20431/b")
    assert resp.status_code == 422, f"po_number 'po 20431/b' accepted: {resp.status_code}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v3/equipment").status_code == 401
    assert client.get("/v3/equipment", headers={"X-Auth-Token": "nope"}).status_code == 401
    # Catalogue.
    access = client.get("/v3/equipment", params={"category": "access"}, headers=SAM).json()
    assert [e["id"] for e in access["data"]] == ["eq_2001", "eq_2002"] and access["total_pages"] == 1
    beyond = client.get("/v3/equipment", params={"page": 9}, headers=SAM).json()
    assert (beyond["data"], beyond["total_items"], beyond["total_pages"]) == ([], 7, 1)
    empty = client.get("/v3/rentals", headers=SAM).json()
    assert (empty["total_items"], empty["total_pages"]) == (0, 0)
    assert client.get("/v3/equipment", params={"page_size": 51}, headers=SAM).status_code == 422
    assert client.get("/v3/equipment", params={"page": 0}, headers=SAM).status_code == 422
    assert client.get("/v3/equipment/eq_3001", headers=CARLA).json()["daily_rate"] == "42.50"
    assert client.get("/v3/equipment/eq_9999", headers=CARLA).status_code == 404
    # Reservation rules.
    assert _reserve(client, SAM).status_code == 403
    assert client.post("/v3/rentals", content=b"{", headers=CARLA).status_code == 400
    assert client.post("/v3/rentals", json={"equipment_id": "eq_1001"}, headers=CARLA).status_code == 422
    assert _reserve(client, equipment_id="eq_9999").status_code == 422
    assert _reserve(client, start_date=_day(-1)).status_code == 422
    assert _reserve(client, end_date=_day(9)).status_code == 422
    assert _reserve(client, end_date=_day(70)).status_code == 422  # 61 days
    assert _reserve(client, start_date=_day(181), end_date=_day(182)).status_code == 422
    assert _reserve(client, fulfillment="site_delivery").status_code == 422
    assert _reserve(client, delivery_address=SITE).status_code == 422
    assert _reserve(client, insurance_certificate="AXA-CAR-558201").status_code == 422
    assert _reserve(client, notes="x" * 501).status_code == 422
    assert _reserve(client, fulfillment="courier").status_code == 422
    delivered = _reserve(
        client, fulfillment="site_delivery", delivery_address=SITE, end_date=_day(16), key="np-1"
    )
    assert delivered.status_code == 201, delivered.text
    rental = delivered.json()
    rid = rental["id"]
    assert delivered.headers["Location"] == f"/v3/rentals/{rid}"
    assert "Idempotent-Replayed" not in delivered.headers
    assert rental["rental_days"] == 7 and rental["charges"] == {
        "rental": "945.00",
        "waiver": "141.75",
        "delivery": "65.00",
        "late": "0.00",
        "damage": "0.00",
        "total": "1151.75",
    }
    assert (rental["status"], rental["deposit"], rental["deposit_refund"]) == ("reserved", "500.00", None)
    assert _reserve(client, key="np-1").status_code == 409  # same key, other body
    clash = _reserve(client, DAN, start_date=_day(16), end_date=_day(18))
    assert clash.status_code == 409 and clash.json()["code"] == "equipment_unavailable"
    assert _reserve(client, DAN, key="np-1", start_date=_day(17), end_date=_day(18)).status_code == 201
    other = _rental(client, DAN, equipment_id="eq_1002", start_date=_day(17), end_date=_day(18))
    # Availability.
    avail = client.get(
        "/v3/equipment/eq_1001/availability",
        params={"start_date": _day(8), "end_date": _day(20)},
        headers=DAN,
    ).json()
    assert avail["available"] is False
    assert avail["blocked"] == [
        {"start_date": _day(10), "end_date": _day(16)},
        {"start_date": _day(17), "end_date": _day(18)},
    ]
    free = client.get(
        "/v3/equipment/eq_1001/availability",
        params={"start_date": _day(19), "end_date": _day(25)},
        headers=DAN,
    ).json()
    assert (free["available"], free["blocked"]) == (True, [])
    past = client.get(
        "/v3/equipment/eq_3001/availability",
        params={"start_date": _day(-3), "end_date": _day(-1)},
        headers=DAN,
    ).json()
    assert (past["available"], past["blocked"]) == (False, [])
    availability = "/v3/equipment/eq_1001/availability"
    bad_range = {"start_date": _day(5), "end_date": _day(4)}
    assert client.get(availability, params=bad_range, headers=DAN).status_code == 422
    too_long = {"start_date": _day(1), "end_date": _day(100)}
    assert client.get(availability, params=too_long, headers=DAN).status_code == 422
    assert client.get(availability, params={"start_date": _day(1)}, headers=DAN).status_code == 422
    missing = "/v3/equipment/eq_0/availability"
    assert (
        client.get(missing, params={"start_date": _day(1), "end_date": _day(2)}, headers=DAN).status_code
        == 404
    )
    # Visibility and listing.
    assert client.get(f"/v3/rentals/{rid}", headers=CARLA).json() == rental
    assert client.get(f"/v3/rentals/{rid}", headers=SAM).status_code == 200
    assert client.get(f"/v3/rentals/{rid}", headers=DAN).status_code == 404
    assert _patch(client, rid, {"notes": "Gate code 4411"}, DAN).status_code == 404
    own = client.get("/v3/rentals", params={"account_id": "acc_northpeak"}, headers=CARLA).json()
    assert [r["id"] for r in own["data"]] == [rid]
    riverside = client.get("/v3/rentals", params={"account_id": "acc_riverside"}, headers=SAM).json()
    assert riverside["total_items"] == 2 and other["id"] in [r["id"] for r in riverside["data"]]
    everything = client.get("/v3/rentals", params={"page_size": 2, "page": 2}, headers=SAM).json()
    assert (everything["total_items"], everything["total_pages"], len(everything["data"])) == (3, 2, 1)
    assert client.get("/v3/rentals", params={"status": "late"}, headers=SAM).status_code == 422
    # Changing a reservation.
    assert _patch(client, rid, {}).status_code == 422
    assert _patch(client, rid, {"coupon": "FREE"}).status_code == 422
    assert _patch(client, rid, {"status": None}).status_code == 422
    assert _patch(client, rid, {"status": "cancelled", "end_date": _day(12)}).status_code == 422
    assert _patch(client, rid, {"returned_on": _day(0)}, SAM).status_code == 422
    assert _patch(client, rid, {"po_number": "np 1"}).status_code == 422
    assert client.patch(f"/v3/rentals/{rid}", content=b"[", headers=CARLA).status_code == 400
    assert _patch(client, rid, {"status": "on_rent"}).status_code == 403
    assert _patch(client, rid, {"status": "on_rent"}, SAM).status_code == 409  # before start_date
    assert _patch(client, rid, {"status": "returned", "returned_on": _day(0)}, SAM).status_code == 409
    assert _patch(client, rid, {"end_date": _day(17)}).status_code == 409  # Dan's rental starts then
    assert _patch(client, rid, {"end_date": _day(70)}).status_code == 422
    shorter = _patch(client, rid, {"end_date": _day(11), "po_number": None, "notes": "Gate code 4411"})
    assert shorter.status_code == 200, shorter.text
    changed = shorter.json()
    assert (changed["rental_days"], changed["charges"]["rental"], changed["charges"]["total"]) == (
        2,
        "378.00",
        "499.70",
    )
    assert (changed["po_number"], changed["notes"]) == (None, "Gate code 4411")
    cancelled = _patch(client, rid, {"status": "cancelled"})
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled"
    assert _patch(client, rid, {"status": "cancelled"}).status_code == 409
    assert _patch(client, rid, {"end_date": _day(12)}).status_code == 409
    # Hand-out, return and damage.
    out = _rental(client, equipment_id="eq_3001", start_date=_day(0), end_date=_day(3))
    oid = out["id"]
    damage = {"description": "Cracked base plate", "amount": "120.00"}
    charges_url = f"/v3/rentals/{oid}/damage-charges"
    assert client.post(charges_url, json=damage, headers=SAM).status_code == 409  # not returned yet
    assert _patch(client, oid, {"status": "on_rent"}, SAM).status_code == 200
    assert _patch(client, oid, {"status": "on_rent"}, SAM).status_code == 409
    assert _patch(client, oid, {"end_date": _day(-1)}).status_code == 422
    extended = _patch(client, oid, {"end_date": _day(8)})
    assert extended.status_code == 200 and extended.json()["charges"]["rental"] == "297.50"  # week + 2 days
    assert _patch(client, oid, {"status": "returned"}, SAM).status_code == 422  # returned_on missing
    tomorrow = {"status": "returned", "returned_on": _day(1)}
    assert _patch(client, oid, tomorrow, SAM).status_code == 422
    assert _patch(client, oid, {"status": "returned", "returned_on": _day(0)}).status_code == 403
    returned = _patch(client, oid, {"status": "returned", "returned_on": _day(0)}, SAM)
    assert returned.status_code == 200, returned.text
    assert (returned.json()["returned_on"], returned.json()["deposit_refund"]) == (_day(0), "150.00")
    assert _patch(client, oid, {"end_date": _day(9)}).status_code == 409
    assert _patch(client, oid, {"status": "on_rent"}, SAM).status_code == 409
    assert client.post(charges_url, json=damage, headers=CARLA).status_code == 403
    assert client.post(charges_url, json=damage, headers=DAN).status_code == 404
    assert client.post(charges_url, json={**damage, "amount": "0.00"}, headers=SAM).status_code == 422
    assert client.post(charges_url, json={**damage, "amount": "120"}, headers=SAM).status_code == 422
    assert client.post(charges_url, content=b"{", headers=SAM).status_code == 400
    charged = client.post(charges_url, json=damage, headers=SAM)
    assert charged.status_code == 201 and charged.json()["amount"] == "120.00", charged.text
    assert client.post(charges_url, json={**damage, "amount": "45.00"}, headers=SAM).status_code == 201
    settled = client.get(f"/v3/rentals/{oid}", headers=CARLA).json()
    assert (settled["charges"]["damage"], settled["deposit_refund"]) == ("165.00", "0.00")
    assert settled["charges"]["total"] == "507.13"  # 297.50 + 44.63 waiver (half up) + 165.00
    assert _patch(client, oid, {"po_number": "NP-20499"}).json()["po_number"] == "NP-20499"
    # The compactor is free again once returned.
    assert (
        _reserve(client, DAN, equipment_id="eq_3001", start_date=_day(0), end_date=_day(1)).status_code == 201
    )


PROBES: dict[str, Callable[[TestClient], None]] = {
    "end-date-change-skips-start-date": end_date_change_skips_start_date,
    "own-insurance-without-certificate": own_insurance_without_certificate,
    "waiver-priced-on-daily-rate": waiver_priced_on_daily_rate,
    "on-rent-rental-cancellable": on_rent_rental_cancellable,
    "idempotent-replay-rechecks-availability": idempotent_replay_rechecks_availability,
    "account-filter-not-restricted": account_filter_not_restricted,
    "total-pages-rounded-down": total_pages_rounded_down,
    "po-number-pattern-not-enforced": po_number_pattern_not_enforced,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
