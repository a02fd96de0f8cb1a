"""Behavioural probes for the bistro target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Seed data (all at rst_001, times relative to now rounded down to the quarter hour):
res_000001 Alice, terrace, 2 guests, starts in 30 minutes; res_000002 Bob, indoor, 6 guests,
started 60 minutes ago; res_000003 Alice, indoor, 6 guests (deposit 90.00), starts in 3 hours.
"""

import asyncio
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"X-Api-Key": "bk_live_alice_7Hq2"}
BOB = {"X-Api-Key": "bk_live_bob_9Xw4"}
HOST = {"X-Api-Key": "bk_staff_host_3Mz8"}

_keys = itertools.count(1)


def _key() -> str:
    return f"booking-{next(_keys):06d}"


def _at(days: int, hhmm: str = "19:00") -> str:
    day = (datetime.now(UTC) + timedelta(days=days)).date()
    return f"{day.isoformat()}T{hhmm}:00Z"


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


def _body(**overrides: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "restaurantId": "rst_001",
        "startsAt": _at(1),
        "partySize": 2,
        "guestName": "Ada Lovelace",
    }
    body.update(overrides)
    return body


def _book(client: TestClient, headers: dict[str, str] = ALICE, **overrides: Any) -> dict[str, Any]:
    resp = client.post("/v1/reservations", json=_body(**overrides), headers=headers)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _all(client: TestClient, headers: dict[str, str], **params: Any) -> list[dict[str, Any]]:
    resp = client.get("/v1/reservations", params={"pageSize": 50, **params}, headers=headers)
    assert resp.status_code == 200, resp.text
    return resp.json()["items"]


def concurrent_same_key_books_twice(client: TestClient) -> None:
    body = _body(startsAt=_at(2, "20:15"), partySize=3)

    async def book_twice() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(
                    ac.post("/v1/reservations", json=body, headers={**ALICE, "Idempotency-Key": "retry-0001"})
                    for _ in range(2)
                )
            )

    responses = asyncio.run(book_twice())
    booked = {r.json()["id"] for r in responses if r.status_code == 201}
    assert all(r.status_code in (201, 409) for r in responses), [r.status_code for r in responses]
    day = body["startsAt"][:10]
    listed = [r["id"] for r in _all(client, ALICE, date=day)]
    assert len(listed) == 1, f"one Idempotency-Key booked {len(listed)} tables: {listed}"
    assert booked == set(listed), (booked, listed)


def idempotency_replay_ignores_body(client: TestClient) -> None:
    headers = {**ALICE, "Idempotency-Key": "table-for-two-1"}
    first = client.post("/v1/reservations", json=_body(startsAt=_at(4)), headers=headers)
    assert first.status_code == 201, first.text
    changed = _body(startsAt=_at(4, "20:30"), partySize=4, area="terrace")
    second = client.post("/v1/reservations", json=changed, headers=headers)
    assert second.status_code == 409, (
        f"same key, different booking answered {second.status_code}: {second.text}"
    )
    listed = _all(client, ALICE, date=_at(4)[:10])
    assert [(r["startsAt"], r["partySize"]) for r in listed] == [(_at(4), 2)], listed


def bar_accepts_children(client: TestClient) -> None:
    resp = client.post(
        "/v1/reservations",
        json=_body(area="bar", partySize=3, childrenCount=1, startsAt=_at(2, "18:00")),
        headers=ALICE,
    )
    assert resp.status_code == 422, f"bar booking with a child: {resp.status_code} {resp.text}"
    assert _all(client, ALICE, date=_at(2)[:10]) == []


def deposit_not_recomputed_on_party_change(client: TestClient) -> None:
    booked = _book(client, partySize=6, startsAt=_at(5))
    assert (booked["depositAmount"], booked["depositStatus"]) == ("90.00", "held"), booked
    grown = client.patch(f"/v1/reservations/{booked['id']}", json={"partySize": 8}, headers=ALICE)
    assert grown.status_code == 200, grown.text
    assert grown.json()["partySize"] == 8
    assert (grown.json()["depositAmount"], grown.json()["depositStatus"]) == ("120.00", "held"), grown.json()
    shrunk = client.patch(f"/v1/reservations/{booked['id']}", json={"partySize": 4}, headers=ALICE)
    assert shrunk.status_code == 200, shrunk.text
    assert (shrunk.json()["depositAmount"], shrunk.json()["depositStatus"]) == ("0.00", "none"), shrunk.json()


def cancelled_reservation_can_be_seated(client: TestClient) -> None:
    cancelled = client.post("/v1/reservations/res_000001/cancel", headers=ALICE)
    assert cancelled.status_code == 200 and cancelled.json()["status"] == "cancelled", cancelled.text
    seated = client.post("/v1/reservations/res_000001/seat", headers=HOST)
    assert seated.status_code == 409, f"seating a cancelled reservation: {seated.status_code}"
    after = client.get("/v1/reservations/res_000001", headers=ALICE).json()
    assert (after["status"], after["seatedAt"]) == ("cancelled", None), after


def refund_window_ignores_days(client: TestClient) -> None:
    booked = _book(client, partySize=7, startsAt=_at(3, "13:00"))
    assert booked["depositAmount"] == "105.00", booked
    resp = client.post(f"/v1/reservations/{booked['id']}/cancel", headers=ALICE)
    assert resp.status_code == 200, resp.text
    cancelled = resp.json()
    assert (cancelled["depositStatus"], cancelled["refundAmount"]) == ("refunded", "105.00"), (
        f"cancelled 2+ days ahead: {cancelled['depositStatus']} {cancelled['refundAmount']}"
    )


def status_filter_applied_after_paging(client: TestClient) -> None:
    made = [_book(client, startsAt=_at(day, "12:30"))["id"] for day in range(2, 7)]
    for rid in (made[1], made[3]):
        assert client.post(f"/v1/reservations/{rid}/cancel", headers=ALICE).status_code == 200
    expected = [r["id"] for r in _all(client, ALICE) if r["status"] == "booked"]
    assert len(expected) == 5  # two seeded + three new
    first = client.get("/v1/reservations", params={"status": "booked", "pageSize": 2}, headers=ALICE).json()
    assert first["totalItems"] == 5 and first["totalPages"] == 3, first
    seen = [r["id"] for r in first["items"]]
    for page in range(2, first["totalPages"] + 1):
        resp = client.get(
            "/v1/reservations", params={"status": "booked", "pageSize": 2, "page": page}, headers=ALICE
        )
        seen.extend(r["id"] for r in resp.json()["items"])
    assert seen == expected, f"booked reservations seen while paging: {seen}, expected {expected}"


def party_size_maximum_not_enforced(client: TestClient) -> None:
    resp = client.post("/v1/reservations", json=_body(partySize=14), headers=ALICE)
    assert resp.status_code == 422, f"party of 14: {resp.status_code} {resp.text}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v1/restaurants").status_code == 401
    assert client.get("/v1/restaurants", headers={"X-Api-Key": "nope"}).status_code == 401
    restaurants = client.get("/v1/restaurants", headers=BOB).json()["items"]
    assert [r["id"] for r in restaurants] == ["rst_001", "rst_002"]
    assert client.get("/v1/restaurants/rst_002", headers=HOST).json() == restaurants[1]
    assert client.get("/v1/restaurants/rst_404", headers=ALICE).status_code == 404
    # Availability.
    day = _at(2)[:10]
    avail = client.get(
        "/v1/restaurants/rst_001/availability", params={"date": day, "partySize": 4}, headers=ALICE
    )
    assert avail.status_code == 200, avail.text
    slots = avail.json()["slots"]
    assert {s["area"] for s in slots} == {"indoor", "terrace", "bar"}
    assert len(slots) == 3 * 39 and all(s["available"] for s in slots)
    bar = client.get(
        "/v1/restaurants/rst_001/availability",
        params={"date": day, "partySize": 7, "area": "bar"},
        headers=ALICE,
    ).json()["slots"]
    assert bar and not any(s["available"] for s in bar) and bar[0]["remainingCovers"] == 6
    far = (datetime.now(UTC) + timedelta(days=90)).date().isoformat()
    for params in (
        {"date": far, "partySize": 2},
        {"date": day, "partySize": 0},
        {"date": "x", "partySize": 2},
    ):
        resp = client.get("/v1/restaurants/rst_001/availability", params=params, headers=ALICE)
        assert resp.status_code == 422, (params, resp.status_code)
    assert (
        client.get(
            "/v1/restaurants/rst_404/availability", params={"date": day, "partySize": 2}, headers=ALICE
        ).status_code
        == 404
    )
    # Booking rules.
    assert client.post("/v1/reservations", content=b"{", headers=ALICE).status_code == 400
    assert client.post("/v1/reservations", json=[], headers=ALICE).status_code == 422
    bad = [
        _body(restaurantId="rst_404"),
        _body(partySize=2, childrenCount=2),
        _body(restaurantId="rst_002", area="terrace", startsAt=_at(1, "18:00")),
        _body(startsAt=_at(1, "19:10")),
        _body(startsAt=_at(1, "23:00")),
        _body(startsAt=_at(1, "11:45")),
        _body(startsAt=_at(75)),
        _body(startsAt="tomorrow at seven"),
        _body(startsAt=_at(1)[:-1]),
        _body(guestPhone="call me"),
        _body(partySize=0),
        _body(partySize="2"),
    ]
    for body in bad:
        resp = client.post("/v1/reservations", json=body, headers=ALICE)
        assert resp.status_code == 422, (body, resp.status_code, resp.text)
    staff_elsewhere = client.post(
        "/v1/reservations", json=_body(restaurantId="rst_002", startsAt=_at(1, "18:00")), headers=HOST
    )
    assert staff_elsewhere.status_code == 403
    walk_in = client.post("/v1/reservations", json=_body(guestName="Walk-in call"), headers=HOST)
    assert walk_in.status_code == 201
    # Capacity of the bar (6 covers).
    at_bar = _book(client, BOB, area="bar", partySize=4, startsAt=_at(3, "19:00"), guestPhone="+33612345678")
    assert at_bar["endsAt"] == _at(3, "21:00")
    overlapping = client.post(
        "/v1/reservations", json=_body(area="bar", partySize=3, startsAt=_at(3, "20:45")), headers=ALICE
    )
    assert overlapping.status_code == 409
    later = _book(client, ALICE, area="bar", partySize=3, startsAt=_at(3, "21:00"))
    assert later["status"] == "booked"
    assert (
        client.post(f"/v1/reservations/{at_bar['id']}/cancel", headers=BOB).json()["refundAmount"] == "0.00"
    )
    assert _book(client, ALICE, area="bar", partySize=2, startsAt=_at(3, "20:45"))["area"] == "bar"
    # Idempotent replay.
    key = {**BOB, "Idempotency-Key": "bob-booking-1"}
    body = _body(restaurantId="rst_002", startsAt=_at(6, "18:30"), partySize=8, occasion="birthday")
    created = client.post("/v1/reservations", json=body, headers=key)
    assert created.status_code == 201 and created.json()["depositAmount"] == "160.00"
    replayed = client.post("/v1/reservations", json=body, headers=key)
    assert replayed.status_code == 201 and replayed.json() == created.json()
    assert replayed.headers["Idempotent-Replayed"] == "true"
    assert (
        client.post(
            "/v1/reservations", json=body, headers={**ALICE, "Idempotency-Key": "bob-booking-1"}
        ).json()["id"]
        != created.json()["id"]
    )
    assert (
        client.post("/v1/reservations", json=body, headers={**BOB, "Idempotency-Key": "short"}).status_code
        == 422
    )
    # Reading and privacy.
    rid = created.json()["id"]
    assert client.get(created.headers["Location"], headers=BOB).json()["id"] == rid
    assert client.get(f"/v1/reservations/{rid}", headers=ALICE).status_code == 404
    assert client.get(f"/v1/reservations/{rid}", headers=HOST).status_code == 404  # other restaurant
    assert client.get("/v1/reservations/res_000001", headers=HOST).json()["guestName"] == "Ada Lovelace"
    assert client.get("/v1/reservations", params={"pageSize": 0}, headers=ALICE).status_code == 422
    assert client.get("/v1/reservations", params={"status": "gone"}, headers=ALICE).status_code == 422
    beyond = client.get("/v1/reservations", params={"page": 99}, headers=BOB).json()
    assert beyond["items"] == [] and beyond["totalItems"] == 3
    staff_view = _all(client, HOST, status="booked")
    assert all(r["restaurantId"] == "rst_001" for r in staff_view) and len(staff_view) >= 5
    # Changes.
    assert client.patch(f"/v1/reservations/{rid}", json={}, headers=BOB).status_code == 422
    assert client.patch(f"/v1/reservations/{rid}", json={"partySize": None}, headers=BOB).status_code == 422
    assert client.patch(f"/v1/reservations/{rid}", json={"area": "terrace"}, headers=BOB).status_code == 422
    moved = client.patch(
        f"/v1/reservations/{rid}",
        json={"startsAt": _at(7, "17:00"), "specialRequests": "Window table", "occasion": None},
        headers=BOB,
    )
    assert moved.status_code == 200, moved.text
    assert (moved.json()["startsAt"], moved.json()["occasion"]) == (_at(7, "17:00"), None)
    assert moved.json()["depositAmount"] == "160.00"
    assert client.patch(f"/v1/reservations/{rid}", json={"childrenCount": 8}, headers=BOB).status_code == 422
    assert client.patch(f"/v1/reservations/{rid}", content=b"nope", headers=BOB).status_code == 400
    assert client.patch(f"/v1/reservations/{rid}", json={"partySize": 2}, headers=ALICE).status_code == 404
    soon = client.patch("/v1/reservations/res_000001", json={"partySize": 3}, headers=ALICE)
    assert soon.status_code == 409  # within 2 hours of startsAt
    # Front of house.
    assert client.post("/v1/reservations/res_000001/seat", headers=ALICE).status_code == 403
    assert client.post(f"/v1/reservations/{walk_in.json()['id']}/seat", headers=HOST).status_code == 409
    assert client.post(f"/v1/reservations/{rid}/seat", headers=HOST).status_code == 404
    seated = client.post("/v1/reservations/res_000001/seat", headers=HOST)
    assert seated.status_code == 200 and seated.json()["status"] == "seated"
    assert client.post("/v1/reservations/res_000001/cancel", headers=ALICE).status_code == 409
    assert (
        client.patch("/v1/reservations/res_000001", json={"partySize": 3}, headers=ALICE).status_code == 409
    )
    assert client.post("/v1/reservations/res_000001/no-show", headers=HOST).status_code == 409
    assert client.post("/v1/reservations/res_000002/no-show", headers=BOB).status_code == 403
    early = client.post(f"/v1/reservations/{walk_in.json()['id']}/no-show", headers=HOST)
    assert early.status_code == 409
    no_show = client.post("/v1/reservations/res_000002/no-show", headers=HOST)
    assert no_show.status_code == 200
    assert (no_show.json()["status"], no_show.json()["depositStatus"]) == ("noShow", "forfeited")
    assert client.post("/v1/reservations/res_000002/seat", headers=HOST).status_code == 409
    late = client.post("/v1/reservations/res_000003/cancel", headers=ALICE)
    assert late.status_code == 200
    assert (late.json()["depositStatus"], late.json()["refundAmount"]) == ("forfeited", "0.00")
    assert client.post("/v1/reservations/res_000003/cancel", headers=ALICE).status_code == 409
    assert client.post("/v1/reservations/res_000404/cancel", headers=ALICE).status_code == 404


PROBES: dict[str, Callable[[TestClient], None]] = {
    "concurrent-same-key-books-twice": concurrent_same_key_books_twice,
    "idempotency-replay-ignores-body": idempotency_replay_ignores_body,
    "bar-accepts-children": bar_accepts_children,
    "deposit-not-recomputed-on-party-change": deposit_not_recomputed_on_party_change,
    "cancelled-reservation-can-be-seated": cancelled_reservation_can_be_seated,
    "refund-window-ignores-days": refund_window_ignores_days,
    "status-filter-applied-after-paging": status_filter_applied_after_paging,
    "party-size-maximum-not-enforced": party_size_maximum_not_enforced,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
