"""Behavioural probes for the subscriptions target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

ALICE = {"X-Api-Key": "key_live_alice"}
BOB = {"X-Api-Key": "key_live_bob"}


def _create(
    client: TestClient, path: str, body: dict[str, Any], headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    resp = client.post(path, json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _plan(client: TestClient, **fields: Any) -> dict[str, Any]:
    body = {"name": "Team", "unit_amount": 1200, "currency": "usd", "interval": "month", **fields}
    return _create(client, "/plans", body)


def _subscription(client: TestClient, **fields: Any) -> dict[str, Any]:
    if "plan_id" not in fields:
        fields["plan_id"] = _plan(client)["id"]
    return _create(client, "/subscriptions", {"customer_email": "ops@example.com", **fields})


def _action(client: TestClient, sub_id: str, action: str) -> Any:
    return client.post(f"/subscriptions/{sub_id}/{action}", headers=ALICE)


def resume_canceled_subscription(client: TestClient) -> None:
    sub = _subscription(client)
    assert _action(client, sub["id"], "pause").status_code == 200
    assert _action(client, sub["id"], "cancel").json()["status"] == "canceled"
    resumed = _action(client, sub["id"], "resume")
    assert resumed.status_code == 409, f"canceled subscription resumed: {resumed.status_code}"
    assert client.get(f"/subscriptions/{sub['id']}", headers=ALICE).json()["status"] == "canceled"


def pause_canceled_subscription(client: TestClient) -> None:
    sub = _subscription(client)
    assert _action(client, sub["id"], "cancel").status_code == 200
    paused = _action(client, sub["id"], "pause")
    assert paused.status_code == 409, f"canceled subscription paused: {paused.status_code}"
    assert client.get(f"/subscriptions/{sub['id']}", headers=ALICE).json()["status"] == "canceled"


def trial_end_before_start(client: TestClient) -> None:
    plan = _plan(client)
    for trial_end in ("2099-05-01T00:00:00Z", "2099-06-01T00:00:00Z", "2099-06-01T01:00:00+02:00"):
        resp = client.post(
            "/subscriptions",
            json={
                "customer_email": "ops@example.com",
                "plan_id": plan["id"],
                "start_date": "2099-06-01T00:00:00Z",
                "trial_end": trial_end,
            },
            headers=ALICE,
        )
        assert resp.status_code == 422, (
            f"trial_end {trial_end} not after start_date accepted: {resp.status_code}"
        )
    ok = _subscription(
        client, plan_id=plan["id"], start_date="2099-06-01T00:00:00Z", trial_end="2099-06-15T00:00:00Z"
    )
    assert ok["status"] == "trialing"


def invoice_amount_stale_quantity(client: TestClient) -> None:
    plan = _plan(client, unit_amount=1500)
    sub = _subscription(client, plan_id=plan["id"], quantity=2)
    first = _create(client, f"/subscriptions/{sub['id']}/invoices", {})
    assert first["lines"][0]["amount"] == 3000
    patched = client.patch(f"/subscriptions/{sub['id']}", json={"quantity": 5}, headers=ALICE)
    assert patched.status_code == 200 and patched.json()["quantity"] == 5
    invoice = _create(client, f"/subscriptions/{sub['id']}/invoices", {})
    for line in invoice["lines"]:
        assert line["amount"] == line["quantity"] * line["unit_amount"], f"line amount {line}"
    assert invoice["lines"][0]["quantity"] == 5
    assert invoice["subtotal"] == sum(line["amount"] for line in invoice["lines"]) == 7500
    assert invoice["total"] == invoice["subtotal"] - invoice["discount"]


def coupon_both_discounts_accepted(client: TestClient) -> None:
    resp = client.post(
        "/coupons", json={"percent_off": 20, "amount_off": 500, "currency": "usd"}, headers=ALICE
    )
    assert resp.status_code == 422, f"percent_off and amount_off accepted together: {resp.status_code}"
    assert client.post("/coupons", json={"duration": "once"}, headers=ALICE).status_code == 422


def discount_exceeds_subtotal(client: TestClient) -> None:
    coupon = _create(client, "/coupons", {"amount_off": 5000, "currency": "usd", "duration": "forever"})
    plan = _plan(client, unit_amount=1200)
    sub = _subscription(client, plan_id=plan["id"], coupon_id=coupon["id"])
    invoice = _create(client, f"/subscriptions/{sub['id']}/invoices", {})
    assert invoice["subtotal"] == 1200
    assert invoice["discount"] <= invoice["subtotal"], f"discount {invoice['discount']} above subtotal"
    assert invoice["total"] == invoice["subtotal"] - invoice["discount"]
    assert invoice["total"] >= 0, f"negative total {invoice['total']}"


def percent_off_over_100(client: TestClient) -> None:
    for percent in (100.5, 150, 1000):
        resp = client.post("/coupons", json={"percent_off": percent}, headers=ALICE)
        assert resp.status_code == 422, f"percent_off {percent} accepted: {resp.status_code}"
    assert _create(client, "/coupons", {"percent_off": 100})["percent_off"] == 100


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/plans").status_code == 401
    assert client.get("/plans", headers={"X-Api-Key": "wrong"}).status_code == 401
    trial_plan = _plan(client, name="Pro", unit_amount=9900, interval="year", trial_period_days=14)
    assert client.get(f"/plans/{trial_plan['id']}", headers=ALICE).json() == trial_plan
    assert client.get(f"/plans/{trial_plan['id']}", headers=BOB).status_code == 404
    assert client.get("/plans", headers=ALICE).json()["total"] == 1
    assert client.get("/plans", headers=BOB).json()["total"] == 0
    coupon = _create(client, "/coupons", {"name": "Launch", "percent_off": 25, "duration": "once"})
    assert client.get(f"/coupons/{coupon['id']}", headers=ALICE).json() == coupon
    assert client.get(f"/coupons/{coupon['id']}", headers=BOB).status_code == 404
    assert client.post("/coupons", json={"amount_off": 100}, headers=ALICE).status_code == 422
    eur = _create(client, "/coupons", {"amount_off": 100, "currency": "eur"})
    mismatch = client.post(
        "/subscriptions",
        json={"customer_email": "a@example.com", "plan_id": trial_plan["id"], "coupon_id": eur["id"]},
        headers=ALICE,
    )
    assert mismatch.status_code == 422
    trialing = _subscription(client, plan_id=trial_plan["id"], quantity=3, coupon_id=coupon["id"])
    assert trialing["status"] == "trialing" and trialing["trial_end"] is not None
    assert client.post(f"/subscriptions/{trialing['id']}/invoices", headers=ALICE).status_code == 409
    assert _action(client, trialing["id"], "resume").status_code == 409
    paused = _action(client, trialing["id"], "pause").json()
    assert paused["status"] == "paused" and paused["paused_at"] is not None
    assert _action(client, trialing["id"], "pause").status_code == 409
    resumed = _action(client, trialing["id"], "resume").json()
    assert resumed["status"] == "active" and resumed["paused_at"] is None
    first = _create(client, f"/subscriptions/{trialing['id']}/invoices", {})
    assert (first["subtotal"], first["discount"], first["total"]) == (29700, 7425, 22275)
    second = _create(client, f"/subscriptions/{trialing['id']}/invoices", {})
    assert second["discount"] == 0, "a `once` coupon applies to the first invoice only"
    assert client.get(f"/invoices/{first['id']}", headers=ALICE).json() == first
    assert client.get(f"/invoices/{first['id']}", headers=BOB).status_code == 404
    listed = client.get(
        f"/subscriptions/{trialing['id']}/invoices", params={"limit": 1}, headers=ALICE
    ).json()
    assert listed["total"] == 2 and len(listed["data"]) == 1
    assert client.get("/subscriptions", params={"status": "active"}, headers=ALICE).json()["total"] == 1
    assert client.get("/subscriptions", params={"status": "nope"}, headers=ALICE).status_code == 422
    assert client.get(f"/subscriptions/{trialing['id']}", headers=BOB).status_code == 404
    canceled = _action(client, trialing["id"], "cancel").json()
    assert canceled["status"] == "canceled" and canceled["canceled_at"] is not None
    assert _action(client, trialing["id"], "cancel").status_code == 409
    assert (
        client.patch(f"/subscriptions/{trialing['id']}", json={"quantity": 1}, headers=ALICE).status_code
        == 409
    )
    assert client.post("/subscriptions", json={"plan_id": "plan_x"}, headers=ALICE).status_code == 422
    assert client.post("/plans", content=b"[", headers=ALICE).status_code == 400
    assert (
        client.post(
            "/plans",
            json={"name": "x", "unit_amount": -1, "currency": "usd", "interval": "month"},
            headers=ALICE,
        ).status_code
        == 422
    )


PROBES: dict[str, Callable[[TestClient], None]] = {
    "resume-canceled-subscription": resume_canceled_subscription,
    "pause-canceled-subscription": pause_canceled_subscription,
    "trial-end-before-start": trial_end_before_start,
    "invoice-amount-stale-quantity": invoice_amount_stale_quantity,
    "coupon-both-discounts-accepted": coupon_both_discounts_accepted,
    "discount-exceeds-subtotal": discount_exceeds_subtotal,
    "percent-off-over-100": percent_off_over_100,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
