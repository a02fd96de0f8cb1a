"""Behavioural probes for the pickpack target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Seed data: bins A-01-01 (SKU-1001, 37 on hand), A-01-02 (SKU-1002, 25), A-02-01 (SKU-1003, 12),
B-01-01 (SKU-2001, 100, 2 allocated), B-01-02 (SKU-2002, 8), C-01-01 (SKU-3001, 6) and D-05-01
(SKU-1001, 10). Orders ord_0001-ord_0005 are open, ord_0006 is allocated to Ben's released pick
list pl_0002, ord_0007 was picked by Ana on pick list pl_0001 (completed).
"""

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

ANA = {"X-Warehouse-Token": "wh_ana_58c1e7"}
BEN = {"X-Warehouse-Token": "wh_ben_a3f0d2"}
SAM = {"X-Warehouse-Token": "wh_sam_e92d41"}

SHIP_TO = {
    "name": "Grace Hopper",
    "line1": "12 Harbour Road",
    "city": "Rotterdam",
    "postalCode": "3011 AA",
    "country": "NL",
}
BOX = {"weightGrams": 1800, "lengthCm": 30, "widthCm": 20, "heightCm": 15}


def _order_body(lines: list[tuple[str, int]], ref: str = "SHOP-100300") -> dict[str, Any]:
    return {"externalRef": ref, "shipTo": SHIP_TO, "lines": [{"sku": s, "quantity": q} for s, q in lines]}


def _create_order(client: TestClient, lines: list[tuple[str, int]], **headers: str) -> dict[str, Any]:
    resp = client.post("/v2/orders", json=_order_body(lines), headers={**SAM, **headers})
    assert resp.status_code == 201, resp.text
    return resp.json()


def _bin(client: TestClient, bin_id: str) -> dict[str, Any]:
    resp = client.get(f"/v2/bins/{bin_id}", headers=ANA)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _labels(client: TestClient, count: int, order_id: str = "ord_0007", **extra: Any) -> httpx.Response:
    body = {"orderId": order_id, "carrier": "ups", "packages": [BOX] * count, **extra}
    return client.post("/v2/labels", json=body, headers=SAM)


def failed_request_consumes_request_id(client: TestClient) -> None:
    headers = {**SAM, "X-Request-ID": "shop-100300-attempt-1"}
    failed = client.post("/v2/orders", json=_order_body([("SKU-9999", 1)]), headers=headers)
    assert failed.status_code == 422, failed.text
    fixed = client.post("/v2/orders", json=_order_body([("SKU-1002", 1)]), headers=headers)
    assert fixed.status_code == 201, (
        f"retry with a corrected body and the same X-Request-ID: {fixed.status_code} {fixed.text}"
    )
    replay = client.post("/v2/orders", json=_order_body([("SKU-1002", 1)]), headers=headers)
    assert replay.status_code == 200 and replay.json() == fixed.json(), replay.text


def descending_last_page_dropped(client: TestClient) -> None:
    everything = client.get("/v2/orders", params={"sort": "-createdAt", "limit": 200}, headers=SAM).json()
    expected = [o["id"] for o in everything["items"]]
    assert expected == [f"ord_{n:04d}" for n in range(7, 0, -1)], expected
    seen: list[str] = []
    offset = 0
    while offset < everything["total"]:
        resp = client.get(
            "/v2/orders", params={"sort": "-createdAt", "limit": 3, "offset": offset}, headers=SAM
        )
        assert resp.status_code == 200, resp.text
        seen.extend(o["id"] for o in resp.json()["items"])
        offset += 3
    assert seen == expected, f"newest-first pages visited {seen}, expected {expected}"


def picker_lists_other_pickers_picklists(client: TestClient) -> None:
    own = client.get("/v2/picklists", headers=ANA).json()
    assert [p["id"] for p in own["items"]] == ["pl_0001"], own
    resp = client.get("/v2/picklists", params={"assigneeId": "usr_ben"}, headers=ANA)
    assert resp.status_code == 403, f"Ana listed Ben's pick lists: {resp.status_code} {resp.text}"


def readonly_adjustment_status_honoured(client: TestClient) -> None:
    body = {"sku": "SKU-2001", "delta": -40, "reason": "damaged", "status": "applied"}
    resp = client.post("/v2/bins/B-01-01/adjustments", json=body, headers=ANA)
    assert resp.status_code == 201, resp.text
    assert resp.json()["status"] == "pending_approval", resp.json()
    assert resp.json()["approvedBy"] is None
    assert _bin(client, "B-01-01")["onHand"] == 100


def label_limit_counts_requests(client: TestClient) -> None:
    first = _labels(client, 5)
    second = _labels(client, 5)
    assert (first.status_code, second.status_code) == (201, 201), (first.text, second.text)
    assert second.headers["X-RateLimit-Remaining"] == "2"
    third = _labels(client, 5)
    assert third.status_code == 429, f"15 labels within a minute: {third.status_code}"
    assert int(third.headers["Retry-After"]) >= 1
    assert _labels(client, 2).status_code == 201  # exactly 12


def short_pick_deducts_full_quantity(client: TestClient) -> None:
    order = _create_order(client, [("SKU-1003", 5)])
    created = client.post(
        "/v2/picklists", json={"orderIds": [order["id"]], "assigneeId": "usr_ana"}, headers=SAM
    )
    assert created.status_code == 201, created.text
    picklist = created.json()
    line = picklist["lines"][0]
    assert (line["binId"], line["quantity"]) == ("A-02-01", 5)
    assert (_bin(client, "A-02-01")["allocated"], _bin(client, "A-02-01")["available"]) == (5, 7)
    resp = client.post(
        f"/v2/picklists/{picklist['id']}/lines/{line['id']}:confirm",
        json={"pickedQuantity": 3, "shortReason": "not_found"},
        headers=ANA,
    )
    assert resp.status_code == 200, resp.text
    confirmed = resp.json()["lines"][0]
    assert (confirmed["status"], confirmed["shortQuantity"]) == ("short", 2)
    after = _bin(client, "A-02-01")
    assert (after["onHand"], after["allocated"], after["available"]) == (9, 0, 9), (
        f"12 on hand, 3 picked of 5: {after}"
    )


def completed_picklist_can_be_cancelled(client: TestClient) -> None:
    resp = client.post("/v2/picklists/pl_0001:cancel", headers=SAM)
    assert resp.status_code == 409, f"cancelling a completed pick list: {resp.status_code} {resp.text}"
    assert client.get("/v2/picklists/pl_0001", headers=SAM).json()["status"] == "completed"
    assert _bin(client, "A-01-01")["onHand"] == 37
    assert client.get("/v2/orders/ord_0007", headers=SAM).json()["status"] == "picked"


def package_weight_minimum_not_enforced(client: TestClient) -> None:
    resp = client.post(
        "/v2/labels",
        json={"orderId": "ord_0007", "carrier": "dhl", "packages": [{**BOX, "weightGrams": 0}]},
        headers=SAM,
    )
    assert resp.status_code == 400, f"package of 0 g: {resp.status_code} {resp.text}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v2/bins").status_code == 401
    assert client.get("/v2/bins", headers={"X-Warehouse-Token": "wh_nobody"}).status_code == 401
    bins = client.get("/v2/bins", headers=BEN).json()
    assert bins["total"] == 7 and [b["id"] for b in bins["items"]][:2] == ["A-01-01", "A-01-02"]
    mugs = client.get("/v2/bins", params={"sku": "SKU-1001"}, headers=BEN).json()
    assert [b["id"] for b in mugs["items"]] == ["A-01-01", "D-05-01"]
    zone_b = client.get("/v2/bins", params={"zone": "B", "offset": 1, "limit": 1}, headers=BEN).json()
    assert (zone_b["total"], [b["id"] for b in zone_b["items"]]) == (2, ["B-01-02"])
    for bad in ({"zone": "Z"}, {"sku": "1001"}, {"limit": 0}, {"limit": 201}, {"offset": -1}):
        assert client.get("/v2/bins", params=bad, headers=BEN).status_code == 400, bad
    assert client.get("/v2/bins/Z-99-99", headers=BEN).status_code == 404
    assert _bin(client, "B-01-01")["available"] == 98
    # Adjustments.
    small = client.post(
        "/v2/bins/B-01-02/adjustments", json={"sku": "SKU-2002", "delta": 2, "reason": "found"}, headers=ANA
    )
    assert small.status_code == 201 and small.json()["status"] == "applied"
    assert _bin(client, "B-01-02")["onHand"] == 10
    big = client.post(
        "/v2/bins/B-01-02/adjustments",
        json={"sku": "SKU-2002", "delta": 12, "reason": "returned", "note": "Return pallet 7"},
        headers=BEN,
    )
    assert big.status_code == 201 and big.json()["status"] == "pending_approval"
    assert _bin(client, "B-01-02")["onHand"] == 10
    approve = f"/v2/adjustments/{big.json()['id']}:approve"
    assert client.post(approve, headers=BEN).status_code == 403
    approved = client.post(approve, headers=SAM)
    assert approved.status_code == 200 and approved.json()["approvedBy"] == "usr_sam"
    assert _bin(client, "B-01-02")["onHand"] == 22
    assert client.post(approve, headers=SAM).status_code == 409
    assert client.post("/v2/adjustments/adj_9999:approve", headers=SAM).status_code == 404
    assert client.get(f"/v2/adjustments/{big.json()['id']}", headers=ANA).json() == approved.json()
    assert client.get("/v2/adjustments/adj_9999", headers=ANA).status_code == 404
    sam_big = client.post(
        "/v2/bins/C-01-01/adjustments",
        json={"sku": "SKU-3001", "delta": 20, "reason": "cycle_count"},
        headers=SAM,
    )
    assert sam_big.json()["status"] == "applied" and _bin(client, "C-01-01")["onHand"] == 26
    for bad_body in (
        {"sku": "SKU-2002", "delta": 0, "reason": "found"},
        {"sku": "SKU-2002", "delta": 5},
        {"sku": "SKU-2002", "delta": 20000, "reason": "found"},
        {"sku": "SKU-2002", "delta": "5", "reason": "found"},
    ):
        assert client.post("/v2/bins/B-01-02/adjustments", json=bad_body, headers=ANA).status_code == 400
    assert client.post("/v2/bins/B-01-02/adjustments", content=b"{", headers=ANA).status_code == 400
    mismatch = {"sku": "SKU-2001", "delta": 1, "reason": "found"}
    assert client.post("/v2/bins/B-01-02/adjustments", json=mismatch, headers=ANA).status_code == 422
    assert client.post("/v2/bins/Z-1/adjustments", json=mismatch, headers=ANA).status_code == 404
    too_much = {"sku": "SKU-2001", "delta": -99, "reason": "damaged"}
    assert client.post("/v2/bins/B-01-01/adjustments", json=too_much, headers=SAM).status_code == 409
    # Orders.
    assert client.post("/v2/orders", json=_order_body([("SKU-1001", 1)]), headers=ANA).status_code == 403
    dup = _order_body([("SKU-1001", 1), ("SKU-1001", 2)])
    assert client.post("/v2/orders", json=dup, headers=SAM).status_code == 422
    bad_country = _order_body([("SKU-1001", 1)])
    bad_country["shipTo"] = {**SHIP_TO, "country": "Netherlands"}
    assert client.post("/v2/orders", json=bad_country, headers=SAM).status_code == 400
    assert client.post("/v2/orders", json={**_order_body([]), "lines": []}, headers=SAM).status_code == 400
    keyed = {**SAM, "X-Request-ID": "shop-100301-once"}
    first = client.post("/v2/orders", json=_order_body([("SKU-1001", 45)], "SHOP-100301"), headers=keyed)
    assert first.status_code == 201, first.text
    again = client.post("/v2/orders", json=_order_body([("SKU-1001", 45)], "SHOP-100301"), headers=keyed)
    assert again.status_code == 200 and again.headers["X-Replayed"] == "true" and again.json() == first.json()
    other = client.post("/v2/orders", json=_order_body([("SKU-1001", 4)], "SHOP-100301"), headers=keyed)
    assert other.status_code == 409
    assert (
        client.post(
            "/v2/orders", json=_order_body([("SKU-1001", 1)]), headers={**SAM, "X-Request-ID": "x"}
        ).status_code
        == 400
    )
    big_order = first.json()
    assert client.get(f"/v2/orders/{big_order['id']}", headers=BEN).json() == big_order
    assert client.get("/v2/orders/ord_9999", headers=BEN).status_code == 404
    open_orders = client.get(
        "/v2/orders", params={"status": "open", "limit": 2, "offset": 1}, headers=BEN
    ).json()
    assert open_orders["total"] == 6 and [o["id"] for o in open_orders["items"]] == ["ord_0002", "ord_0003"]
    assert client.get("/v2/orders", params={"sort": "id"}, headers=BEN).status_code == 400
    # Pick lists: creation rules and a split allocation.
    new_pl = {"orderIds": [big_order["id"], "ord_0002"], "assigneeId": "usr_ana"}
    assert client.post("/v2/picklists", json=new_pl, headers=ANA).status_code == 403
    assert (
        client.post("/v2/picklists", json={**new_pl, "assigneeId": "usr_sam"}, headers=SAM).status_code == 422
    )
    assert (
        client.post("/v2/picklists", json={**new_pl, "orderIds": ["ord_9999"]}, headers=SAM).status_code
        == 422
    )
    assert (
        client.post("/v2/picklists", json={**new_pl, "orderIds": ["ord_0006"]}, headers=SAM).status_code
        == 409
    )
    assert (
        client.post(
            "/v2/picklists", json={**new_pl, "orderIds": ["ord_0002", "ord_0002"]}, headers=SAM
        ).status_code
        == 400
    )
    assert client.post("/v2/picklists", json={**new_pl, "orderIds": []}, headers=SAM).status_code == 400
    knives = _create_order(client, [("SKU-3001", 30)])
    short_stock = client.post("/v2/picklists", json={**new_pl, "orderIds": [knives["id"]]}, headers=SAM)
    assert short_stock.status_code == 409 and _bin(client, "C-01-01")["allocated"] == 0
    created = client.post("/v2/picklists", json=new_pl, headers=SAM)
    assert created.status_code == 201, created.text
    pl = created.json()
    assert [(ln["binId"], ln["quantity"]) for ln in pl["lines"]] == [
        ("A-01-01", 37),
        ("D-05-01", 8),
        ("A-01-02", 1),
    ]
    assert client.get(f"/v2/orders/{big_order['id']}", headers=ANA).json()["status"] == "allocated"
    assert client.get(f"/v2/picklists/{pl['id']}", headers=BEN).status_code == 404
    assert client.get(f"/v2/picklists/{pl['id']}", headers=ANA).json() == pl
    assert client.get("/v2/picklists/pl_9999", headers=SAM).status_code == 404
    listed = client.get("/v2/picklists", params={"status": "released"}, headers=SAM).json()
    assert [p["id"] for p in listed["items"]] == ["pl_0002", pl["id"]]
    assert client.get("/v2/picklists", params={"assigneeId": "usr_ben"}, headers=SAM).json()["total"] == 1
    assert client.get("/v2/picklists", params={"assigneeId": "usr_ana"}, headers=ANA).json()["total"] == 2
    # Confirming lines.
    first_line, second_line, third_line = (
        f"/v2/picklists/{pl['id']}/lines/{ln['id']}:confirm" for ln in pl["lines"]
    )
    assert client.post(first_line, json={"pickedQuantity": 37}, headers=BEN).status_code == 404
    assert client.post(first_line, json={"pickedQuantity": 37}, headers=SAM).status_code == 403
    assert (
        client.post(
            f"/v2/picklists/{pl['id']}/lines/pln_9999:confirm", json={"pickedQuantity": 1}, headers=ANA
        ).status_code
        == 404
    )
    assert client.post(first_line, json={"pickedQuantity": 38}, headers=ANA).status_code == 422
    assert client.post(first_line, json={"pickedQuantity": 30}, headers=ANA).status_code == 422
    assert (
        client.post(
            first_line, json={"pickedQuantity": 37, "shortReason": "damaged"}, headers=ANA
        ).status_code
        == 422
    )
    assert client.post(first_line, json={"pickedQuantity": -1}, headers=ANA).status_code == 400
    assert client.post(first_line, json={"pickedQuantity": 37}, headers=ANA).status_code == 200
    assert client.post(first_line, json={"pickedQuantity": 37}, headers=ANA).status_code == 409
    assert (_bin(client, "A-01-01")["onHand"], _bin(client, "A-01-01")["allocated"]) == (0, 0)
    assert client.post(f"/v2/picklists/{pl['id']}:complete", headers=ANA).status_code == 409
    assert client.post(second_line, json={"pickedQuantity": 8}, headers=ANA).status_code == 200
    assert (
        client.post(
            third_line, json={"pickedQuantity": 0, "shortReason": "wrong_item"}, headers=ANA
        ).status_code
        == 200
    )
    assert client.post(f"/v2/picklists/{pl['id']}:complete", headers=BEN).status_code == 404
    completed = client.post(f"/v2/picklists/{pl['id']}:complete", headers=ANA)
    assert completed.status_code == 200 and completed.json()["completedAt"] is not None
    assert client.get("/v2/orders/ord_0002", headers=ANA).json()["status"] == "picked"
    assert client.post(f"/v2/picklists/{pl['id']}:complete", headers=SAM).status_code == 409
    assert client.post(third_line, json={"pickedQuantity": 1}, headers=ANA).status_code == 409
    # Cancelling Ben's released pick list puts the picked goods back.
    ben_line = "/v2/picklists/pl_0002/lines/pln_0002:confirm"
    assert client.post(ben_line, json={"pickedQuantity": 2}, headers=BEN).status_code == 200
    assert (_bin(client, "B-01-01")["onHand"], _bin(client, "B-01-01")["allocated"]) == (98, 0)
    assert client.post("/v2/picklists/pl_0002:cancel", headers=BEN).status_code == 403
    assert client.post("/v2/picklists/pl_9999:cancel", headers=SAM).status_code == 404
    cancelled = client.post("/v2/picklists/pl_0002:cancel", headers=SAM)
    assert cancelled.status_code == 200 and cancelled.json()["cancelledAt"] is not None
    assert _bin(client, "B-01-01")["onHand"] == 100
    assert client.get("/v2/orders/ord_0006", headers=SAM).json()["status"] == "open"
    assert client.post("/v2/picklists/pl_0002:cancel", headers=SAM).status_code == 409
    assert client.post("/v2/picklists/pl_0002:complete", headers=SAM).status_code == 409
    assert client.post(ben_line, json={"pickedQuantity": 2}, headers=BEN).status_code == 409
    # Labels (9 of the 12 per minute).
    labels = _labels(client, 2, service="express", packages=[BOX, {**BOX, "weightGrams": 12500}])
    assert labels.status_code == 201, labels.text
    batch = labels.json()
    assert [lb["billableWeightGrams"] for lb in batch["labels"]] == [1800, 12500]
    assert [lb["chargeCents"] for lb in batch["labels"]] == [1790 + 190, 1790 + 1235]
    assert batch["totalChargeCents"] == 1980 + 3025
    bulky = {"weightGrams": 500, "lengthCm": 60, "widthCm": 40, "heightCm": 40}
    keyed = {**SAM, "X-Request-ID": "label-ord-0002-a"}
    body = {"orderId": "ord_0002", "carrier": "postnl", "packages": [bulky]}
    bought = client.post("/v2/labels", json=body, headers=keyed)
    assert bought.status_code == 201
    assert (bought.json()["labels"][0]["billableWeightGrams"], bought.json()["totalChargeCents"]) == (
        19200,
        690 + 95 * 20,
    )
    assert client.get("/v2/orders/ord_0002", headers=ANA).json()["status"] == "shipped"
    replay = client.post("/v2/labels", json=body, headers=keyed)
    assert replay.status_code == 200 and replay.json() == bought.json()
    assert client.post("/v2/labels", json={**body, "service": "express"}, headers=SAM).status_code == 422
    assert client.post("/v2/labels", json={**body, "orderId": "ord_0001"}, headers=SAM).status_code == 409
    assert client.post("/v2/labels", json={**body, "orderId": "ord_9999"}, headers=SAM).status_code == 422
    assert client.post("/v2/labels", json={**body, "packages": []}, headers=SAM).status_code == 400
    assert (
        client.post(
            "/v2/labels", json={**body, "packages": [{**bulky, "weightGrams": 70001}]}, headers=SAM
        ).status_code
        == 400
    )
    assert client.post("/v2/labels", json={**body, "carrier": "fedex"}, headers=SAM).status_code == 400
    assert _labels(client, 6, order_id=big_order["id"]).status_code == 201
    assert _labels(client, 4, order_id=big_order["id"]).status_code == 429
    assert _labels(client, 3, order_id=big_order["id"]).status_code == 201


PROBES: dict[str, Callable[[TestClient], None]] = {
    "failed-request-consumes-request-id": failed_request_consumes_request_id,
    "descending-last-page-dropped": descending_last_page_dropped,
    "picker-lists-other-pickers-picklists": picker_lists_other_pickers_picklists,
    "readonly-adjustment-status-honoured": readonly_adjustment_status_honoured,
    "label-limit-counts-requests": label_limit_counts_requests,
    "short-pick-deducts-full-quantity": short_pick_deducts_full_quantity,
    "completed-picklist-can-be-cancelled": completed_picklist_can_be_cancelled,
    "package-weight-minimum-not-enforced": package_weight_minimum_not_enforced,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
