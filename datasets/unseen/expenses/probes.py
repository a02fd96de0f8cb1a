"""Behavioural probes for the expenses target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Alice and Bob are employees whose manager (approver) is Carol; Dana works in finance.
"""

from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"X-Api-Key": "ek_alice_0b41c9"}
BOB = {"X-Api-Key": "ek_bob_77de20"}
CAROL = {"X-Api-Key": "ek_carol_3f8a55"}
DANA = {"X-Api-Key": "ek_dana_c2e910"}

MARCH = {"period_start": "2026-03-01", "period_end": "2026-03-31"}


def _report(client: TestClient, headers: dict[str, str] = ALICE, **fields: Any) -> dict[str, Any]:
    body = {"title": "Client visit Lyon", **MARCH, **fields}
    resp = client.post("/v3/reports", json=body, headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _expense_body(amount: int = 4280, **fields: Any) -> dict[str, Any]:
    return {
        "amount_cents": amount,
        "category": "meals",
        "incurred_on": "2026-03-12",
        "merchant": "Brasserie Georges",
        **fields,
    }


def _add(
    client: TestClient, report_id: str, amount: int = 4280, headers: dict[str, str] = ALICE, **fields: Any
) -> httpx.Response:
    return client.post(
        f"/v3/reports/{report_id}/expenses", json=_expense_body(amount, **fields), headers=headers
    )


def _get(client: TestClient, report_id: str, headers: dict[str, str] = ALICE) -> dict[str, Any]:
    resp = client.get(f"/v3/reports/{report_id}", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _submitted(
    client: TestClient, amounts: tuple[int, ...] = (4280,), headers: dict[str, str] = ALICE
) -> dict[str, Any]:
    report = _report(client, headers)
    for amount in amounts:
        added = _add(client, report["id"], amount, headers, receipt_url="https://receipts.example.com/r/1")
        assert added.status_code == 201, added.text
    resp = client.post(f"/v3/reports/{report['id']}:submit", headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def _approved(client: TestClient, amounts: tuple[int, ...], approved: int) -> dict[str, Any]:
    report = _submitted(client, amounts)
    resp = client.post(
        f"/v3/reports/{report['id']}:approve", json={"approved_cents": approved}, headers=CAROL
    )
    assert resp.status_code == 200, resp.text
    return resp.json()


def period_checked_only_when_both_dates_sent(client: TestClient) -> None:
    report = _report(client)
    resp = client.patch(f"/v3/reports/{report['id']}", json={"period_end": "2026-02-15"}, headers=ALICE)
    assert resp.status_code == 422, f"period_end patched before period_start: {resp.status_code}"
    resp = client.patch(f"/v3/reports/{report['id']}", json={"period_start": "2026-04-02"}, headers=ALICE)
    assert resp.status_code == 422, f"period_start patched after period_end: {resp.status_code}"
    after = _get(client, report["id"])
    assert (after["period_start"], after["period_end"]) == ("2026-03-01", "2026-03-31")


def expense_added_to_submitted_report(client: TestClient) -> None:
    report = _submitted(client, (4280,))
    resp = _add(client, report["id"], 9900, receipt_url="https://receipts.example.com/r/2")
    assert resp.status_code == 409, f"expense added to a submitted report: {resp.status_code}"
    approved = client.post(
        f"/v3/reports/{report['id']}:approve", json={"approved_cents": 4280}, headers=CAROL
    )
    assert approved.status_code == 200, approved.text
    resp = _add(client, report["id"], 1500)
    assert resp.status_code == 409, f"expense added to an approved report: {resp.status_code}"
    after = _get(client, report["id"])
    assert (after["total_cents"], after["approved_cents"]) == (4280, 4280)
    items = client.get(f"/v3/reports/{report['id']}/expenses", headers=ALICE).json()["items"]
    assert [e["amount_cents"] for e in items] == [4280]


def approver_taken_from_request_body(client: TestClient) -> None:
    report = _report(client, approver_id="usr_alice", status="approved", approved_cents=999_999)
    assert report["approver_id"] == "usr_carol", f"approver_id from the body: {report['approver_id']}"
    assert (report["status"], report["approved_cents"]) == ("draft", None)
    assert _add(client, report["id"], 6000).status_code == 201
    assert client.post(f"/v3/reports/{report['id']}:submit", headers=ALICE).status_code == 200
    resp = client.post(f"/v3/reports/{report['id']}:approve", json={"approved_cents": 6000}, headers=ALICE)
    assert resp.status_code == 403, f"Alice approved her own report: {resp.status_code}"
    assert _get(client, report["id"])["status"] == "submitted"


def expense_deleted_through_own_report(client: TestClient) -> None:
    alice_report = _report(client)
    expense = _add(client, alice_report["id"], 5200).json()
    bob_report = _report(client, BOB)
    resp = client.delete(f"/v3/reports/{bob_report['id']}/expenses/{expense['id']}", headers=BOB)
    assert resp.status_code == 404, f"Bob deleted Alice's expense through his report: {resp.status_code}"
    assert _get(client, alice_report["id"])["total_cents"] == 5200
    items = client.get(f"/v3/reports/{alice_report['id']}/expenses", headers=ALICE).json()["items"]
    assert [e["id"] for e in items] == [expense["id"]]


def payouts_checked_against_approved_not_remaining(client: TestClient) -> None:
    report = _approved(client, (4000, 6000), approved=10_000)
    first = client.post(
        f"/v3/reports/{report['id']}/payouts", json={"amount_cents": 6000, "method": "payroll"}, headers=DANA
    )
    assert first.status_code == 201, first.text
    second = client.post(
        f"/v3/reports/{report['id']}/payouts",
        json={"amount_cents": 6000, "method": "bank_transfer"},
        headers=DANA,
    )
    assert second.status_code == 422, f"payouts of 6000 + 6000 on 10000 approved: {second.status_code}"
    after = _get(client, report["id"], DANA)
    assert (after["paid_cents"], after["status"]) == (6000, "approved")
    listed = client.get(f"/v3/reports/{report['id']}/payouts", headers=ALICE).json()["items"]
    assert sum(p["amount_cents"] for p in listed) <= after["approved_cents"]


def total_ignores_status_filter(client: TestClient) -> None:
    for _ in range(3):
        _report(client)
    submitted = _submitted(client)
    resp = client.get("/v3/reports", params={"status": "submitted", "per_page": 2}, headers=ALICE)
    assert resp.status_code == 200, resp.text
    page = resp.json()
    assert [r["id"] for r in page["items"]] == [submitted["id"]]
    assert page["total"] == 1, f"total for status=submitted: {page['total']}"
    drafts = client.get(
        "/v3/reports", params={"status": "draft", "per_page": 2, "page": 2}, headers=ALICE
    ).json()
    assert (len(drafts["items"]), drafts["total"]) == (1, 3)


def receipt_threshold_exclusive(client: TestClient) -> None:
    report = _report(client)
    resp = _add(client, report["id"], 7500)
    assert resp.status_code == 422, f"7500 cents without a receipt: {resp.status_code}"
    assert _add(client, report["id"], 7499).status_code == 201
    assert _get(client, report["id"])["total_cents"] == 7499


def expense_category_not_validated(client: TestClient) -> None:
    report = _report(client)
    resp = _add(client, report["id"], 3000, category="entertainment")
    assert resp.status_code == 422, f"unknown category accepted: {resp.status_code}"
    assert _get(client, report["id"])["total_cents"] == 0


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v3/reports").status_code == 401
    assert client.get("/v3/reports", headers={"X-Api-Key": "nope"}).status_code == 401
    assert client.post("/v3/reports", content=b"{", headers=ALICE).status_code == 400
    bad_period = {"title": "Backwards", "period_start": "2026-03-10", "period_end": "2026-03-01"}
    assert client.post("/v3/reports", json=bad_period, headers=ALICE).status_code == 422
    too_long = {"title": "Year", "period_start": "2026-01-01", "period_end": "2026-12-31"}
    assert client.post("/v3/reports", json=too_long, headers=ALICE).status_code == 422
    assert client.post("/v3/reports", json={"title": "", **MARCH}, headers=ALICE).status_code == 422
    created = client.post("/v3/reports", json={"title": "Berlin fair", **MARCH}, headers=ALICE)
    assert created.status_code == 201
    report = created.json()
    assert client.get(created.headers["Location"], headers=ALICE).json() == report
    assert client.get(created.headers["Location"], headers=BOB).status_code == 404
    assert client.get(created.headers["Location"], headers=CAROL).status_code == 404  # drafts are private
    rid = report["id"]
    # Editing a draft.
    patched = client.patch(f"/v3/reports/{rid}", json={"title": "Berlin trade fair"}, headers=ALICE)
    assert patched.status_code == 200 and patched.json()["title"] == "Berlin trade fair"
    assert client.patch(f"/v3/reports/{rid}", json={}, headers=ALICE).status_code == 422
    assert client.patch(f"/v3/reports/{rid}", json={"title": "x"}, headers=BOB).status_code == 404
    # Expenses: period, receipts, validation.
    assert client.post(f"/v3/reports/{rid}:submit", headers=ALICE).status_code == 422  # empty
    assert _add(client, rid, incurred_on="2026-04-01").status_code == 422
    assert _add(client, rid, 0).status_code == 422
    assert _add(client, rid, receipt_url="ftp://x").status_code == 422
    assert _add(client, rid, headers=BOB).status_code == 404
    hotel = _add(client, rid, 18_900, category="lodging", receipt_url="https://receipts.example.com/h")
    assert hotel.status_code == 201, hotel.text
    taxi = _add(client, rid, 2350, category="travel", incurred_on="2026-03-31")
    assert taxi.status_code == 201 and taxi.json()["receipt_url"] is None
    assert _get(client, rid)["total_cents"] == 21_250
    narrowed = client.patch(f"/v3/reports/{rid}", json={"period_end": "2026-03-20"}, headers=ALICE)
    assert narrowed.status_code == 422  # the taxi would fall outside
    removed = client.delete(f"/v3/reports/{rid}/expenses/{taxi.json()['id']}", headers=ALICE)
    assert removed.status_code == 204 and removed.content == b""
    assert client.delete(f"/v3/reports/{rid}/expenses/{taxi.json()['id']}", headers=ALICE).status_code == 404
    assert (
        client.patch(f"/v3/reports/{rid}", json={"period_end": "2026-03-20"}, headers=ALICE).status_code
        == 200
    )
    # Submission, rejection, resubmission.
    submitted = client.post(f"/v3/reports/{rid}:submit", headers=ALICE)
    assert submitted.status_code == 200 and submitted.json()["status"] == "submitted"
    assert client.post(f"/v3/reports/{rid}:submit", headers=ALICE).status_code == 409
    assert client.patch(f"/v3/reports/{rid}", json={"title": "late"}, headers=ALICE).status_code == 409
    assert client.delete(f"/v3/reports/{rid}/expenses/{hotel.json()['id']}", headers=ALICE).status_code == 409
    assert _get(client, rid, CAROL)["approver_id"] == "usr_carol"
    assert client.post(f"/v3/reports/{rid}:submit", headers=CAROL).status_code == 403
    assert _add(client, rid, headers=CAROL).status_code == 403
    assert client.post(f"/v3/reports/{rid}:reject", json={"reason": ""}, headers=CAROL).status_code == 422
    assert client.post(f"/v3/reports/{rid}:reject", json={"reason": "no"}, headers=BOB).status_code == 404
    assert client.post(f"/v3/reports/{rid}:reject", content=b"x", headers=CAROL).status_code == 400
    rejected = client.post(f"/v3/reports/{rid}:reject", json={"reason": "Hotel above policy"}, headers=CAROL)
    assert rejected.status_code == 200 and rejected.json()["rejection_reason"] == "Hotel above policy"
    assert (
        client.post(f"/v3/reports/{rid}:reject", json={"reason": "again"}, headers=CAROL).status_code == 409
    )
    assert (
        client.post(f"/v3/reports/{rid}:approve", json={"approved_cents": 1}, headers=CAROL).status_code
        == 409
    )
    assert client.post(f"/v3/reports/{rid}:submit", headers=ALICE).status_code == 200
    # Approval limits and payouts.
    over = client.post(f"/v3/reports/{rid}:approve", json={"approved_cents": 18_901}, headers=CAROL)
    assert over.status_code == 422
    assert (
        client.post(f"/v3/reports/{rid}:approve", json={"approved_cents": 100}, headers=ALICE).status_code
        == 403
    )
    assert (
        client.post(
            f"/v3/reports/{rid}/payouts", json={"amount_cents": 1, "method": "payroll"}, headers=DANA
        ).status_code
        == 404
    )
    approved = client.post(
        f"/v3/reports/{rid}:approve", json={"approved_cents": 15_000, "comment": "Policy cap"}, headers=CAROL
    )
    assert approved.status_code == 200 and approved.json()["approved_cents"] == 15_000
    pay = f"/v3/reports/{rid}/payouts"
    assert client.post(pay, json={"amount_cents": 100, "method": "payroll"}, headers=ALICE).status_code == 403
    assert client.post(pay, json={"amount_cents": 100, "method": "cash"}, headers=DANA).status_code == 422
    assert (
        client.post(pay, json={"amount_cents": 15_001, "method": "payroll"}, headers=DANA).status_code == 422
    )
    full = client.post(pay, json={"amount_cents": 15_000, "method": "bank_transfer"}, headers=DANA)
    assert full.status_code == 201 and full.json()["created_by"] == "usr_dana"
    assert _get(client, rid, DANA)["status"] == "paid"
    assert client.post(pay, json={"amount_cents": 1, "method": "payroll"}, headers=DANA).status_code == 409
    assert client.get(pay, headers=BOB).status_code == 404
    assert client.get(f"/v3/reports/{rid}/expenses", headers=DANA).status_code == 200
    listing = client.get("/v3/reports", headers=DANA).json()
    assert ([r["id"] for r in listing["items"]], listing["total"]) == ([rid], 1)
    assert client.get("/v3/reports", params={"per_page": 51}, headers=ALICE).status_code == 422
    assert client.get("/v3/reports", params={"status": "lost"}, headers=ALICE).status_code == 422


PROBES: dict[str, Callable[[TestClient], None]] = {
    "period-checked-only-when-both-dates-sent": period_checked_only_when_both_dates_sent,
    "expense-added-to-submitted-report": expense_added_to_submitted_report,
    "approver-taken-from-request-body": approver_taken_from_request_body,
    "expense-deleted-through-own-report": expense_deleted_through_own_report,
    "payouts-checked-against-approved-not-remaining": payouts_checked_against_approved_not_remaining,
    "total-ignores-status-filter": total_ignores_status_filter,
    "receipt-threshold-exclusive": receipt_threshold_exclusive,
    "expense-category-not-validated": expense_category_not_validated,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
