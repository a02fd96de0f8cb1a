"""Behavioural probes for the library target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

import asyncio
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"X-Member-Token": "lib-alice-7c1e"}
BOB = {"X-Member-Token": "lib-bob-2d9a"}
ALICE_ID = "M1001"
BOB_ID = "M1002"


def _day(offset: int = 0) -> str:
    return (datetime.now(UTC).date() + timedelta(days=offset)).isoformat()


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


def _book(client: TestClient, copies: int = 5, isbn: str = "9780141439518") -> dict[str, Any]:
    body = {"isbn": isbn, "title": "Pride and Prejudice", "author": "Jane Austen", "totalCopies": copies}
    resp = client.post("/books", json=body, headers=ALICE)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _borrow(
    client: TestClient,
    book_id: str,
    due: int = 14,
    loan: int | None = None,
    member: str = ALICE_ID,
    headers: dict[str, str] = ALICE,
) -> httpx.Response:
    body: dict[str, Any] = {"bookId": book_id, "dueDate": _day(due)}
    if loan is not None:
        body["loanDate"] = _day(loan)
    return client.post(f"/members/{member}/loans", json=body, headers=headers)


def _loans(client: TestClient, member: str = ALICE_ID, headers: dict[str, str] = ALICE, **params: Any) -> Any:
    resp = client.get(f"/members/{member}/loans", params=params, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()


def due_date_not_after_loan_date(client: TestClient) -> None:
    book = _book(client)
    for loan, due in ((-10, -20), (-5, -5), (0, 0), (0, -1)):
        resp = _borrow(client, book["bookId"], due=due, loan=loan)
        assert resp.status_code == 422, (
            f"loanDate {_day(loan)} dueDate {_day(due)} accepted: {resp.status_code}"
        )
    assert _loans(client)["totalItems"] == 0
    assert client.get(f"/books/{book['bookId']}", headers=ALICE).json()["availableCopies"] == 5


def renew_returned_loan(client: TestClient) -> None:
    book = _book(client)
    loan = _borrow(client, book["bookId"]).json()
    returned = client.post(f"/loans/{loan['loanId']}:return", headers=ALICE)
    assert returned.status_code == 200, returned.text
    resp = client.post(f"/loans/{loan['loanId']}:renew", headers=ALICE)
    assert resp.status_code == 409, f"returned loan renewed: {resp.status_code}"
    after = client.get(f"/loans/{loan['loanId']}", headers=ALICE).json()
    assert (after["dueDate"], after["renewalCount"]) == (loan["dueDate"], 0)


def loan_limit_off_by_one(client: TestClient) -> None:
    me = client.get("/members/me", headers=ALICE).json()
    limit = me["maxConcurrentLoans"]
    book = _book(client, copies=10)
    for _ in range(limit):
        assert _borrow(client, book["bookId"]).status_code == 201
    resp = _borrow(client, book["bookId"])
    assert resp.status_code == 409, f"loan {limit + 1} with an allowance of {limit}: {resp.status_code}"
    assert client.get("/members/me", headers=ALICE).json()["activeLoans"] == limit


def last_copy_double_loaned(client: TestClient) -> None:
    book = _book(client, copies=1)
    body = {"bookId": book["bookId"], "dueDate": _day(7)}

    async def borrow_concurrently() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(
                    ac.post(f"/members/{member}/loans", json=body, headers=headers)
                    for member, headers in (
                        (ALICE_ID, ALICE),
                        (BOB_ID, BOB),
                        (ALICE_ID, ALICE),
                        (BOB_ID, BOB),
                    )
                )
            )

    codes = sorted(r.status_code for r in asyncio.run(borrow_concurrently()))
    assert codes == [201, 409, 409, 409], f"4 concurrent borrows of the last copy: {codes}"
    assert client.get(f"/books/{book['bookId']}", headers=ALICE).json()["availableCopies"] == 0


def total_pages_rounds_down(client: TestClient) -> None:
    book = _book(client, copies=10)
    for _ in range(5):
        assert _borrow(client, book["bookId"], headers=BOB, member=BOB_ID).status_code == 201
    first = _loans(client, BOB_ID, BOB, page=1, size=2)
    assert first["totalItems"] == 5
    assert first["totalPages"] == 3, f"5 loans in pages of 2 reported as {first['totalPages']} pages"
    seen = []
    for page in range(1, first["totalPages"] + 1):
        seen.extend(loan["loanId"] for loan in _loans(client, BOB_ID, BOB, page=page, size=2)["items"])
    assert len(seen) == len(set(seen)) == 5, seen
    assert _loans(client, BOB_ID, BOB, page=1, size=5)["totalPages"] == 1


def other_members_loans_listed(client: TestClient) -> None:
    book = _book(client)
    assert _borrow(client, book["bookId"]).status_code == 201
    resp = client.get(f"/members/{ALICE_ID}/loans", headers=BOB)
    assert resp.status_code == 403, f"Bob listed Alice's loans: {resp.status_code}"


def isbn_pattern_ignored(client: TestClient) -> None:
    for isbn in ("12-34", "", "9770000000000", "97801414395189"):
        body = {"isbn": isbn, "title": "Emma", "author": "Jane Austen", "totalCopies": 1}
        resp = client.post("/books", json=body, headers=ALICE)
        assert resp.status_code == 422, f"isbn {isbn!r} accepted: {resp.status_code}"
    assert client.get("/books", headers=ALICE).json()["totalItems"] == 0


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/books").status_code == 401
    assert client.get("/books", headers={"X-Member-Token": "nope"}).status_code == 401
    assert client.get("/members/me", headers=BOB).json() == {
        "memberId": BOB_ID,
        "displayName": "Bob Cratchit",
        "maxConcurrentLoans": 5,
        "activeLoans": 0,
    }
    book = _book(client, copies=2, isbn="9791032305690")
    assert client.get(f"/books/{book['bookId']}", headers=BOB).json() == book
    assert client.get("/books/bk-9999", headers=BOB).status_code == 404
    assert client.get("/books", params={"size": 51}, headers=BOB).status_code == 422
    assert client.get("/books", params={"page": 2, "size": 1}, headers=BOB).json()["items"] == []
    assert client.post("/books", content=b"{", headers=ALICE).status_code == 400
    bad = {"isbn": "9780141439518", "title": "X", "author": "Y", "totalCopies": 0}
    assert client.post("/books", json=bad, headers=ALICE).status_code == 422
    # Borrowing rules.
    assert _borrow(client, book["bookId"], member=BOB_ID).status_code == 403
    assert _borrow(client, book["bookId"], due=40).status_code == 422
    assert _borrow(client, book["bookId"], loan=1, due=5).status_code == 422
    assert _borrow(client, "bk-9999").status_code == 422
    assert client.get(f"/members/{BOB_ID}/loans", headers=ALICE).status_code == 403
    created = _borrow(client, book["bookId"], due=28)
    assert created.status_code == 201, created.text
    loan = created.json()
    assert loan["loanDate"] == _day() and loan["status"] == "active" and loan["note"] is None
    assert client.get(created.headers["Location"], headers=ALICE).json() == loan
    assert client.get(f"/loans/{loan['loanId']}", headers=BOB).status_code == 404
    assert client.post(f"/loans/{loan['loanId']}:return", headers=BOB).status_code == 404
    assert client.post(f"/loans/{loan['loanId']}:renew", headers=BOB).status_code == 404
    assert client.patch(f"/loans/{loan['loanId']}", json={"note": "x"}, headers=BOB).status_code == 404
    noted = client.patch(
        f"/loans/{loan['loanId']}", json={"note": "for book club", "fineAmount": 0.5}, headers=ALICE
    )
    assert noted.status_code == 200 and noted.json()["note"] == "for book club"
    assert noted.json()["fineAmount"] == 0
    assert client.patch(f"/loans/{loan['loanId']}", json={}, headers=ALICE).status_code == 422
    # Renewals: +14 days each, at most twice.
    for count in (1, 2):
        renewed = client.post(f"/loans/{loan['loanId']}:renew", headers=ALICE)
        assert renewed.status_code == 200 and renewed.json()["renewalCount"] == count
        assert renewed.json()["dueDate"] == _day(28 + 14 * count)
    assert client.post(f"/loans/{loan['loanId']}:renew", headers=ALICE).status_code == 409
    # A back-dated, overdue loan cannot be renewed and is fined on return.
    late = _borrow(client, book["bookId"], loan=-20, due=-6)
    assert late.status_code == 201, late.text
    assert client.get(f"/books/{book['bookId']}", headers=ALICE).json()["availableCopies"] == 0
    assert _borrow(client, book["bookId"], headers=BOB, member=BOB_ID).status_code == 409
    assert client.post(f"/loans/{late.json()['loanId']}:renew", headers=ALICE).status_code == 409
    returned = client.post(f"/loans/{late.json()['loanId']}:return", headers=ALICE)
    assert returned.status_code == 200, returned.text
    assert returned.json()["fineAmount"] == 1.5 and returned.json()["returnedOn"] == _day()
    assert client.post(f"/loans/{late.json()['loanId']}:return", headers=ALICE).status_code == 409
    assert client.get(f"/books/{book['bookId']}", headers=ALICE).json()["availableCopies"] == 1
    listed = _loans(client, status="returned")
    assert listed["totalItems"] == 1 and listed["items"][0]["status"] == "returned"
    assert _loans(client, status="active")["totalItems"] == 1


PROBES: dict[str, Callable[[TestClient], None]] = {
    "due-date-not-after-loan-date": due_date_not_after_loan_date,
    "renew-returned-loan": renew_returned_loan,
    "loan-limit-off-by-one": loan_limit_off_by_one,
    "last-copy-double-loaned": last_copy_double_loaned,
    "total-pages-rounds-down": total_pages_rounds_down,
    "other-members-loans-listed": other_members_loans_listed,
    "isbn-pattern-ignored": isbn_pattern_ignored,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
