"""Behavioural probes for the bookings target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"X-Api-Key": "bk_alice_5f2a"}
BOB = {"X-Api-Key": "bk_bob_91c7"}
DAY = "2099-03-04"


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


def _room(client: TestClient, capacity: int = 8) -> dict[str, Any]:
    resp = client.post("/rooms", json={"name": "Aurora", "capacity": capacity, "floor": 3}, headers=ALICE)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _book(
    client: TestClient,
    room_id: str,
    start: str,
    end: str,
    guests: int = 4,
    headers: dict[str, str] = ALICE,
) -> httpx.Response:
    body = {
        "room_id": room_id,
        "title": "Design review",
        "starts_at": start if "T" in start else f"{DAY}T{start}:00Z",
        "ends_at": end if "T" in end else f"{DAY}T{end}:00Z",
        "guests": guests,
    }
    return client.post("/bookings", json=body, headers=headers)


def _count(client: TestClient, room_id: str) -> int:
    resp = client.get("/bookings", params={"room_id": room_id, "status": "confirmed"}, headers=ALICE)
    assert resp.status_code == 200, resp.text
    return resp.json()["total"]


def ends_before_starts_accepted(client: TestClient) -> None:
    room = _room(client)
    for start, end in (("11:00", "10:00"), ("10:00", "10:00")):
        resp = _book(client, room["id"], start, end)
        assert resp.status_code == 422, f"booking {start}-{end} accepted: {resp.status_code}"
    assert _count(client, room["id"]) == 0


def reschedule_ends_before_starts(client: TestClient) -> None:
    room = _room(client)
    booking = _book(client, room["id"], "10:00", "11:00").json()
    resp = client.patch(f"/bookings/{booking['id']}", json={"ends_at": f"{DAY}T09:30:00Z"}, headers=ALICE)
    assert resp.status_code == 422, f"ends_at moved before starts_at: {resp.status_code}"
    resp = client.patch(f"/bookings/{booking['id']}", json={"starts_at": f"{DAY}T12:00:00Z"}, headers=ALICE)
    assert resp.status_code == 422, f"starts_at moved after ends_at: {resp.status_code}"
    after = client.get(f"/bookings/{booking['id']}", headers=ALICE).json()
    assert (after["starts_at"], after["ends_at"]) == (f"{DAY}T10:00:00Z", f"{DAY}T11:00:00Z")


def partial_overlap_accepted(client: TestClient) -> None:
    room = _room(client)
    assert _book(client, room["id"], "10:00", "12:00").status_code == 201
    for start, end in (("09:00", "10:30"), ("09:00", "13:00"), ("11:00", "11:30"), ("11:59", "14:00")):
        resp = _book(client, room["id"], start, end, headers=BOB)
        assert resp.status_code == 409, f"{start}-{end} overlaps 10:00-12:00 but got {resp.status_code}"
    assert _book(client, room["id"], "12:00", "13:00").status_code == 201, "back-to-back is not an overlap"
    assert _count(client, room["id"]) == 2


def guests_exceed_capacity(client: TestClient) -> None:
    room = _room(client, capacity=4)
    resp = _book(client, room["id"], "10:00", "11:00", guests=5)
    assert resp.status_code == 422, f"5 guests in a room for 4 accepted: {resp.status_code}"
    booking = _book(client, room["id"], "10:00", "11:00", guests=4).json()
    resp = client.patch(f"/bookings/{booking['id']}", json={"guests": 12}, headers=ALICE)
    assert resp.status_code == 422, f"guests raised above capacity: {resp.status_code}"
    assert client.get(f"/bookings/{booking['id']}", headers=ALICE).json()["guests"] == 4


def bookings_total_counts_page(client: TestClient) -> None:
    room = _room(client)
    for hour in (8, 9, 10, 11, 12):
        assert _book(client, room["id"], f"{hour:02d}:00", f"{hour:02d}:45").status_code == 201
    seen = []
    for page in (1, 2, 3):
        resp = client.get("/bookings", params={"page": page, "per_page": 2}, headers=ALICE)
        assert resp.status_code == 200, resp.text
        body = resp.json()
        assert body["total"] == 5, f"page {page} reports total {body['total']}"
        seen.extend(b["id"] for b in body["data"])
    assert len(seen) == len(set(seen)) == 5


def double_booking_under_concurrency(client: TestClient) -> None:
    room = _room(client)
    body = {
        "room_id": room["id"],
        "title": "All hands",
        "starts_at": f"{DAY}T15:00:00Z",
        "ends_at": f"{DAY}T16:00:00Z",
        "guests": 6,
    }

    async def book_concurrently() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(ac.post("/bookings", json=body, headers=(ALICE, BOB)[i % 2]) for i in range(4))
            )

    codes = sorted(r.status_code for r in asyncio.run(book_concurrently()))
    assert codes == [201, 409, 409, 409], f"4 concurrent bookings of one slot: {codes}"


def zero_guests_accepted(client: TestClient) -> None:
    room = _room(client)
    for guests in (0, -3):
        resp = _book(client, room["id"], "10:00", "11:00", guests=guests)
        assert resp.status_code in (400, 422), f"guests={guests} accepted: {resp.status_code}"
    assert _count(client, room["id"]) == 0


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/rooms").status_code == 401
    assert client.get("/rooms", headers={"X-Api-Key": "bk_mallory"}).status_code == 401
    room = _room(client, capacity=10)
    assert client.get(f"/rooms/{room['id']}", headers=BOB).json() == room
    assert client.get("/rooms/room_9999", headers=BOB).status_code == 404
    assert client.get("/rooms", params={"per_page": 1, "page": 2}, headers=BOB).json()["data"] == []
    assert client.get("/rooms", params={"page": 0}, headers=BOB).status_code == 422
    assert client.post("/rooms", json={"name": "Tiny", "capacity": 0}, headers=ALICE).status_code == 422
    assert client.post("/rooms", content=b"{", headers=ALICE).status_code == 400
    # Offsets are honoured: 10:00+02:00 is 08:00Z.
    created = _book(client, room["id"], f"{DAY}T10:00:00+02:00", f"{DAY}T11:00:00+02:00", headers=BOB)
    assert created.status_code == 201, created.text
    booking = created.json()
    assert booking["starts_at"] == f"{DAY}T08:00:00Z" and booking["organizer_id"] == "usr_bob"
    assert client.get(created.headers["Location"], headers=BOB).json() == booking
    assert client.get(f"/bookings/{booking['id']}", headers=ALICE).status_code == 404
    assert client.patch(f"/bookings/{booking['id']}", json={"title": "x"}, headers=ALICE).status_code == 404
    assert client.post(f"/bookings/{booking['id']}/cancel", headers=ALICE).status_code == 404
    assert _book(client, room["id"], "08:30", "09:30").status_code == 409
    assert _book(client, room["id"], "2001-01-01T10:00:00Z", "2001-01-01T11:00:00Z").status_code == 422
    assert _book(client, room["id"], f"{DAY}T10:00:00", f"{DAY}T11:00:00").status_code == 422
    assert _book(client, room["id"], "00:00", "2099-03-05T01:00:00Z").status_code == 422
    assert _book(client, "room_9999", "10:00", "11:00").status_code == 422
    moved = client.patch(
        f"/bookings/{booking['id']}",
        json={"title": "Retro", "starts_at": f"{DAY}T13:00:00Z", "ends_at": f"{DAY}T14:00:00Z", "guests": 10},
        headers=BOB,
    )
    assert moved.status_code == 200 and moved.json()["title"] == "Retro"
    assert _book(client, room["id"], "08:30", "09:30").status_code == 201, "the old slot is free again"
    clash = client.patch(f"/bookings/{booking['id']}", json={"starts_at": f"{DAY}T09:00:00Z"}, headers=BOB)
    assert clash.status_code == 409
    canceled = client.post(f"/bookings/{booking['id']}/cancel", headers=BOB)
    assert canceled.status_code == 200 and canceled.json()["status"] == "canceled"
    assert client.post(f"/bookings/{booking['id']}/cancel", headers=BOB).status_code == 409
    assert client.patch(f"/bookings/{booking['id']}", json={"guests": 2}, headers=BOB).status_code == 409
    assert _book(client, room["id"], "13:00", "14:00").status_code == 201, "canceling frees the slot"
    listed = client.get("/bookings", params={"status": "canceled"}, headers=BOB).json()
    assert listed["total"] == 1 and listed["data"][0]["canceled_at"] is not None
    assert client.get("/bookings", params={"per_page": 500}, headers=BOB).status_code == 422


PROBES: dict[str, Callable[[TestClient], None]] = {
    "ends-before-starts-accepted": ends_before_starts_accepted,
    "reschedule-ends-before-starts": reschedule_ends_before_starts,
    "partial-overlap-accepted": partial_overlap_accepted,
    "guests-exceed-capacity": guests_exceed_capacity,
    "bookings-total-counts-page": bookings_total_counts_page,
    "double-booking-under-concurrency": double_booking_under_concurrency,
    "zero-guests-accepted": zero_guests_accepted,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
