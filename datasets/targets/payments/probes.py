"""Behavioural probes for the payments target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

from collections.abc import Callable
from typing import Any

from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer sk_test_alice"}
BOB = {"Authorization": "Bearer sk_test_bob"}
BANK = {"account_holder_name": "Jane Doe", "routing_number": "110000000", "account_number": "000123456789"}


def _charge(client: TestClient, headers: dict[str, str] = ALICE, **fields: Any) -> dict[str, Any]:
    body = {"amount": 1000, "currency": "usd", "card_token": "tok_visa4242", **fields}
    body = {k: v for k, v in body.items() if v is not None}
    resp = client.post("/charges", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _total(client: TestClient, headers: dict[str, str] = ALICE) -> int:
    resp = client.get("/charges", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["total"]


def refund_exceeds_remaining(client: TestClient) -> None:
    charge = _charge(client, amount=1000)
    first = client.post(f"/charges/{charge['id']}/refunds", json={"amount": 600}, headers=ALICE)
    assert first.status_code == 201, first.text
    second = client.post(f"/charges/{charge['id']}/refunds", json={"amount": 600}, headers=ALICE)
    assert second.status_code == 422, f"refund above remaining amount accepted: {second.status_code}"
    after = client.get(f"/charges/{charge['id']}", headers=ALICE).json()
    assert after["amount_refunded"] == 600
    assert after["amount_refunded"] <= after["amount_captured"]
    assert after["status"] == "partially_refunded"


def refund_after_full_refund(client: TestClient) -> None:
    charge = _charge(client, amount=1000)
    first = client.post(f"/charges/{charge['id']}/refunds", headers=ALICE)
    assert first.status_code == 201, first.text
    assert first.json()["amount"] == 1000
    assert client.get(f"/charges/{charge['id']}", headers=ALICE).json()["status"] == "refunded"
    second = client.post(f"/charges/{charge['id']}/refunds", json={}, headers=ALICE)
    assert second.status_code == 409, f"second full refund accepted: {second.status_code}"
    after = client.get(f"/charges/{charge['id']}", headers=ALICE).json()
    assert after["amount_refunded"] == 1000
    listed = client.get(f"/charges/{charge['id']}/refunds", headers=ALICE).json()
    assert listed["total"] == 1


def idempotent_replay_duplicates(client: TestClient) -> None:
    body = {"amount": 2000, "currency": "eur", "card_token": "tok_mastercard5454"}
    headers = {**ALICE, "Idempotency-Key": "order-7781-attempt"}
    first = client.post("/charges", json=body, headers=headers)
    assert first.status_code == 201, first.text
    replay = client.post("/charges", json=body, headers=headers)
    assert replay.status_code == 201, replay.text
    assert replay.json()["id"] == first.json()["id"], "replay created a second charge"
    assert replay.json() == first.json()
    assert _total(client) == 1


def idempotency_key_reuse_accepted(client: TestClient) -> None:
    headers = {**ALICE, "Idempotency-Key": "7d0c6c2e-5f0b-4c41-9a51-1f3f0b6b8f10"}
    first = client.post(
        "/charges", json={"amount": 1000, "currency": "usd", "card_token": "tok_visa4242"}, headers=headers
    )
    assert first.status_code == 201, first.text
    reused = client.post(
        "/charges", json={"amount": 2500, "currency": "usd", "card_token": "tok_visa4242"}, headers=headers
    )
    assert reused.status_code in (409, 422), (
        f"key reused with a different body accepted: {reused.status_code}"
    )
    assert _total(client) == 1
    # The same key stays usable for the original body.
    replay = client.post(
        "/charges", json={"amount": 1000, "currency": "usd", "card_token": "tok_visa4242"}, headers=headers
    )
    assert replay.status_code == 201 and replay.json()["id"] == first.json()["id"]


def both_payment_sources_accepted(client: TestClient) -> None:
    body = {"amount": 1500, "currency": "usd", "card_token": "tok_visa4242", "bank_account": BANK}
    resp = client.post("/charges", json=body, headers=ALICE)
    assert resp.status_code in (400, 422), f"both sources accepted: {resp.status_code}"
    neither = client.post("/charges", json={"amount": 1500, "currency": "usd"}, headers=ALICE)
    assert neither.status_code in (400, 422)
    assert _total(client) == 0


def charges_offset_off_by_one(client: TestClient) -> None:
    created = {_charge(client, amount=100 + i)["id"] for i in range(5)}
    seen: list[str] = []
    for offset in (0, 2, 4):
        page = client.get("/charges", params={"limit": 2, "offset": offset}, headers=ALICE)
        assert page.status_code == 200, page.text
        assert page.json()["total"] == 5
        seen.extend(c["id"] for c in page.json()["data"])
    assert len(seen) == len(set(seen)), "an item appears on two pages"
    assert set(seen) == created, f"pages skipped {sorted(created - set(seen))}"


def negative_amount_accepted(client: TestClient) -> None:
    for amount in (-500, 0, 49):
        resp = client.post(
            "/charges",
            json={"amount": amount, "currency": "usd", "card_token": "tok_visa4242"},
            headers=ALICE,
        )
        assert resp.status_code in (400, 422), f"amount {amount} accepted: {resp.status_code}"
    assert _total(client) == 0


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/charges").status_code == 401
    assert client.get("/charges", headers={"Authorization": "Bearer nope"}).status_code == 401
    bank = _charge(client, amount=15000, currency="eur", card_token=None, bank_account=BANK, capture=False)
    assert bank["status"] == "authorized" and bank["amount_captured"] == 0
    assert bank["source"] == {"type": "bank_account", "last4": "6789"}
    early = client.post(f"/charges/{bank['id']}/refunds", json={"amount": 100}, headers=ALICE)
    assert early.status_code == 409
    too_much = client.post(f"/charges/{bank['id']}/capture", json={"amount": 20000}, headers=ALICE)
    assert too_much.status_code == 422
    captured = client.post(f"/charges/{bank['id']}/capture", json={"amount": 12000}, headers=ALICE)
    assert captured.status_code == 200 and captured.json()["amount_captured"] == 12000
    assert client.post(f"/charges/{bank['id']}/capture", headers=ALICE).status_code == 409
    refund = client.post(
        f"/charges/{bank['id']}/refunds", json={"reason": "requested_by_customer"}, headers=ALICE
    )
    assert refund.status_code == 201 and refund.json()["amount"] == 12000
    assert client.get(refund.headers["Location"], headers=ALICE).json() == refund.json()
    assert client.get(f"/charges/{bank['id']}", headers=BOB).status_code == 404
    assert client.post(f"/charges/{bank['id']}/refunds", headers=BOB).status_code == 404
    assert client.get(f"/charges/{bank['id']}/refunds/re_missing", headers=ALICE).status_code == 404
    assert client.get("/charges", headers=BOB).json()["total"] == 0
    assert client.get("/charges", params={"limit": 0}, headers=ALICE).status_code == 422
    assert client.post("/charges", content=b"{not json", headers=ALICE).status_code == 400
    bad = client.post(
        "/charges", json={"amount": "1000", "currency": "usd", "card_token": "tok_visa4242"}, headers=ALICE
    )
    assert bad.status_code == 422


PROBES: dict[str, Callable[[TestClient], None]] = {
    "refund-exceeds-remaining": refund_exceeds_remaining,
    "refund-after-full-refund": refund_after_full_refund,
    "idempotent-replay-duplicates": idempotent_replay_duplicates,
    "idempotency-key-reuse-accepted": idempotency_key_reuse_accepted,
    "both-payment-sources-accepted": both_payment_sources_accepted,
    "charges-offset-off-by-one": charges_offset_off_by_one,
    "negative-amount-accepted": negative_amount_accepted,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
