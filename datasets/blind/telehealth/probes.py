"""Behavioural probes for the telehealth target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Alice (insured at 85 %) and Bob (uninsured) are patients, Dr. Lee is a practitioner and Mia a
care coordinator.
"""

import threading
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer mh_at_pat_alice_2f9c1e"}
BOB = {"Authorization": "Bearer mh_at_pat_bob_81d0aa"}
LEE = {"Authorization": "Bearer mh_at_prac_lee_c47e02"}
MIA = {"Authorization": "Bearer mh_at_staff_mia_5b3e77"}


def _at(days: int, hour: int, minute: int = 0) -> str:
    day = datetime.now(UTC).date() + timedelta(days=days)
    return datetime(day.year, day.month, day.day, hour, minute, tzinfo=UTC).isoformat().replace("+00:00", "Z")


def _soon() -> str:
    """A quarter hour 15 to 30 minutes from now: inside the check-in window, under 24 h away."""
    now = datetime.now(UTC).replace(second=0, microsecond=0)
    start = now + timedelta(minutes=15 - now.minute % 15 + 15)
    return start.isoformat().replace("+00:00", "Z")


def _book(
    client: TestClient,
    headers: dict[str, str],
    start: str,
    minutes: int = 30,
    practitioner: str = "prac_lee",
    visit_type: str = "consultation",
    **extra: Any,
) -> httpx.Response:
    body = {
        "practitionerId": practitioner,
        "visitType": visit_type,
        "startAt": start,
        "durationMinutes": minutes,
        "reason": "Follow-up on blood pressure",
        **extra,
    }
    return client.post("/v1/appointments", json=body, headers=headers)


def _booked(client: TestClient, headers: dict[str, str], start: str, **kwargs: Any) -> dict[str, Any]:
    resp = _book(client, headers, start, **kwargs)
    assert resp.status_code == 201, resp.text
    return resp.json()


def _action(
    client: TestClient, appointment_id: str, verb: str, headers: dict[str, str], body: Any = None
) -> httpx.Response:
    return client.post(f"/v1/appointments/{appointment_id}:{verb}", json=body, headers=headers)


def _reason(resp: httpx.Response) -> str:
    return str(resp.json()["error"]["reason"])


def overlap_check_misses_contained_appointment(client: TestClient) -> None:
    _booked(client, ALICE, _at(2, 10, 30), minutes=15)
    resp = _book(client, BOB, _at(2, 10, 0), minutes=60)
    assert resp.status_code == 409, f"10:00-11:00 booked over Dr. Lee's 10:30-10:45: {resp.status_code}"
    assert _reason(resp) == "SLOT_UNAVAILABLE"
    adjacent = _book(client, BOB, _at(2, 10, 45), minutes=15)
    assert adjacent.status_code == 201, adjacent.text


def checked_in_appointment_rescheduled(client: TestClient) -> None:
    appt = _booked(client, ALICE, _soon())
    checked_in = _action(client, appt["id"], "checkIn", MIA)
    assert checked_in.status_code == 200 and checked_in.json()["status"] == "checked_in", checked_in.text
    resp = _action(client, appt["id"], "reschedule", MIA, {"startAt": _at(3, 9)})
    assert resp.status_code == 400, f"checked-in appointment rescheduled: {resp.status_code}"
    assert resp.json()["error"]["status"] == "FAILED_PRECONDITION"
    after = client.get(f"/v1/appointments/{appt['id']}", headers=ALICE).json()
    assert (after["startAt"], after["status"]) == (appt["startAt"], "checked_in")


def request_id_not_scoped_to_caller(client: TestClient) -> None:
    first = _book(client, ALICE, _at(4, 9), requestId="booking-1")
    assert first.status_code == 201, first.text
    retry = _book(client, ALICE, _at(4, 9), requestId="booking-1")
    assert retry.status_code == 200 and retry.json()["id"] == first.json()["id"], retry.text
    other = _book(client, BOB, _at(4, 11), practitioner="prac_okafor", requestId="booking-1")
    assert other.status_code == 201, f"Bob's booking with Alice's requestId: {other.status_code}"
    assert other.json()["patientId"] == "pat_bob" and other.json()["id"] != first.json()["id"]


def coverage_percent_writable(client: TestClient) -> None:
    patch = {"phone": "+14155550199", "coveragePercent": 100, "insurancePlan": "Platinum Unlimited"}
    resp = client.patch("/v1/patients/me", json=patch, headers=ALICE)
    assert resp.status_code == 200, resp.text
    profile = resp.json()
    assert profile["phone"] == "+14155550199"
    assert (profile["coveragePercent"], profile["insurancePlan"]) == (85, "Blue Horizon Silver PPO"), profile
    appt = _booked(client, ALICE, _at(5, 9), minutes=15)
    shares = (appt["priceCents"], appt["insurerShareCents"], appt["patientShareCents"])
    assert shares == (4450, 3783, 667), f"shares after the profile update: {shares}"


def page_token_skips_tied_start_times(client: TestClient) -> None:
    first = _booked(client, ALICE, _at(6, 9))
    tied = _booked(client, BOB, _at(6, 9), practitioner="prac_okafor")
    later = _booked(client, ALICE, _at(6, 10))
    seen: list[str] = []
    token = ""
    for _ in range(6):
        params = {"pageSize": 1, **({"pageToken": token} if token else {})}
        resp = client.get("/v1/appointments", params=params, headers=MIA)
        assert resp.status_code == 200, resp.text
        seen += [a["id"] for a in resp.json()["appointments"]]
        token = resp.json()["nextPageToken"]
        if not token:
            break
    assert seen == [first["id"], tied["id"], later["id"]], f"paged listing: {seen}"


def concurrent_bookings_double_book(client: TestClient) -> None:
    start = _at(7, 9)
    barrier = threading.Barrier(2)

    def book(headers: dict[str, str]) -> httpx.Response:
        barrier.wait(timeout=10)
        return _book(client, headers, start, minutes=30)

    with ThreadPoolExecutor(max_workers=2) as pool:
        results = list(pool.map(book, [ALICE, BOB]))
    codes = sorted(r.status_code for r in results)
    assert codes == [201, 409], f"two simultaneous bookings of Dr. Lee's 09:00 slot: {codes}"
    listing = client.get("/v1/appointments", params={"practitionerId": "prac_lee"}, headers=MIA).json()
    assert len(listing["appointments"]) == 1, listing


def patient_books_for_another_patient(client: TestClient) -> None:
    resp = _book(client, ALICE, _at(8, 9), patientId="pat_bob")
    assert resp.status_code == 403, f"Alice booked for Bob: {resp.status_code}"
    assert client.get("/v1/appointments", headers=BOB).json()["appointments"] == []
    own = _book(client, ALICE, _at(8, 9), patientId="pat_alice")
    assert own.status_code == 201 and own.json()["patientId"] == "pat_alice", own.text


def duration_accepts_any_minutes(client: TestClient) -> None:
    resp = _book(client, ALICE, _at(9, 9), minutes=20)
    assert resp.status_code == 400, f"durationMinutes 20 accepted: {resp.status_code}"


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v1/practitioners").status_code == 401
    assert client.get("/v1/practitioners", headers={"Authorization": "Bearer nope"}).status_code == 401
    assert client.get("/v1/practitioners", headers={"Authorization": "Basic abc"}).status_code == 401
    # Directory.
    everyone = client.get("/v1/practitioners", headers=BOB).json()["practitioners"]
    assert [p["id"] for p in everyone] == ["prac_lee", "prac_okafor", "prac_ruiz", "prac_weiss"]
    derm = client.get("/v1/practitioners", params={"specialty": "dermatology"}, headers=LEE).json()
    assert [p["id"] for p in derm["practitioners"]] == ["prac_okafor"]
    assert client.get("/v1/practitioners", params={"specialty": "surgery"}, headers=LEE).status_code == 400
    assert client.get("/v1/practitioners/prac_ruiz", headers=MIA).json()["ratePer15MinCents"] == 3900
    assert client.get("/v1/practitioners/prac_nobody", headers=MIA).status_code == 404
    # Profile.
    me = client.get("/v1/patients/me", headers=BOB).json()
    assert (me["coveragePercent"], me["insurancePlan"], me["phone"]) == (0, None, None)
    assert client.get("/v1/patients/me", headers=MIA).status_code == 403
    assert client.patch("/v1/patients/me", json={"phone": None}, headers=LEE).status_code == 403
    assert client.patch("/v1/patients/me", json={}, headers=BOB).status_code == 400
    assert client.patch("/v1/patients/me", json={"coveragePercent": 50}, headers=BOB).status_code == 400
    assert client.patch("/v1/patients/me", json={"email": None}, headers=BOB).status_code == 400
    assert client.patch("/v1/patients/me", json={"phone": "555-0101"}, headers=BOB).status_code == 400
    assert client.patch("/v1/patients/me", content=b"{", headers=BOB).status_code == 400
    renamed = client.patch("/v1/patients/me", json={"displayName": "Bob T.", "phone": None}, headers=BOB)
    assert renamed.status_code == 200 and renamed.json()["displayName"] == "Bob T."
    # Booking rules.
    day = _at(10, 10)
    assert _book(client, LEE, day).status_code == 403
    assert _book(client, MIA, day).status_code == 400  # patientId required for staff
    assert _book(client, MIA, day, patientId="pat_nobody").status_code == 400
    assert _book(client, ALICE, day, practitioner="prac_nobody").status_code == 400
    assert _book(client, ALICE, day, practitioner="prac_ruiz", visit_type="procedure").status_code == 400
    assert _book(client, ALICE, day, minutes=15, visit_type="procedure").status_code == 400
    assert _book(client, ALICE, _at(10, 10, 10)).status_code == 400  # not a quarter hour
    assert _book(client, ALICE, "2026-01-01T10:00:00").status_code == 400  # no offset
    assert _book(client, ALICE, _at(-1, 10)).status_code == 400  # past
    assert _book(client, ALICE, _at(120, 10)).status_code == 400  # too far ahead
    assert _book(client, ALICE, day, minutes=90).status_code == 400
    assert client.post("/v1/appointments", content=b"[", headers=ALICE).status_code == 400
    procedure = _book(client, MIA, day, minutes=45, visit_type="procedure", patientId="pat_alice")
    assert procedure.status_code == 201, procedure.text
    proc = procedure.json()
    assert (proc["endAt"], proc["priceCents"]) == (_at(10, 10, 45), 13350)
    assert proc["insurerShareCents"] + proc["patientShareCents"] == 13350
    assert proc["insurerShareCents"] == 11348  # 85 % of 133.50 USD, rounded half up
    assert _book(client, ALICE, _at(10, 10, 30), practitioner="prac_weiss").status_code == 409  # patient busy
    assert _book(client, BOB, _at(10, 10, 30), practitioner="prac_lee").status_code == 409  # Lee busy
    reused = _book(client, BOB, _at(11, 9), requestId="r-1")
    assert reused.status_code == 201
    conflict = _book(client, BOB, _at(11, 10), requestId="r-1")
    assert conflict.status_code == 409 and conflict.json()["error"]["status"] == "ALREADY_EXISTS"
    # Slots reflect the bookings (half-open intervals).
    slots = client.get(
        "/v1/practitioners/prac_lee/slots", params={"date": day[:10], "durationMinutes": 30}, headers=BOB
    ).json()
    starts = {s["startAt"][11:16] for s in slots["slots"]}
    assert "09:30" in starts and "09:45" not in starts and "10:30" not in starts and "10:45" in starts
    assert len(starts) == 96 - 4
    assert (
        client.get("/v1/practitioners/prac_x/slots", params={"date": day[:10]}, headers=BOB).status_code
        == 404
    )
    assert client.get("/v1/practitioners/prac_lee/slots", headers=BOB).status_code == 400
    bad = client.get(
        "/v1/practitioners/prac_lee/slots", params={"date": day[:10], "durationMinutes": 20}, headers=BOB
    )
    assert bad.status_code == 400
    # Visibility.
    pid = proc["id"]
    assert client.get(f"/v1/appointments/{pid}", headers=ALICE).json() == proc
    assert client.get(f"/v1/appointments/{pid}", headers=LEE).status_code == 200
    assert client.get(f"/v1/appointments/{pid}", headers=BOB).status_code == 404
    assert _action(client, pid, "cancel", BOB, {}).status_code == 404
    # Rescheduling.
    assert _action(client, pid, "reschedule", ALICE, {"startAt": _at(11, 9)}).status_code == 409  # Bob's
    assert _action(client, pid, "reschedule", ALICE, {"startAt": _at(11, 9, 5)}).status_code == 400
    assert _action(client, pid, "reschedule", ALICE, {"durationMinutes": 30}).status_code == 400
    shorter = _action(client, pid, "reschedule", LEE, {"startAt": _at(10, 10, 15), "durationMinutes": 30})
    assert shorter.status_code == 200, shorter.text
    assert (shorter.json()["endAt"], shorter.json()["priceCents"]) == (_at(10, 10, 45), 8900)
    assert (
        _action(client, pid, "reschedule", LEE, {"startAt": _at(12, 9), "durationMinutes": 15}).status_code
        == 400
    )
    # Cancelling: free for staff and far ahead, half price for a late patient cancellation.
    free = _action(client, pid, "cancel", MIA, {"reason": "Practitioner unavailable"})
    assert free.status_code == 200
    assert free.json()["cancellation"] == {
        "cancelledBy": "staff",
        "reason": "Practitioner unavailable",
        "cancelledAt": free.json()["cancellation"]["cancelledAt"],
        "lateFeeCents": 0,
    }
    assert _action(client, pid, "cancel", MIA).status_code == 400
    assert _action(client, pid, "reschedule", MIA, {"startAt": _at(12, 9)}).status_code == 400
    soon = _booked(client, ALICE, _soon())
    late = client.post(f"/v1/appointments/{soon['id']}:cancel", headers=ALICE)
    assert late.status_code == 200 and late.json()["cancellation"]["lateFeeCents"] == 4450, late.text
    far = _booked(client, ALICE, _at(13, 9))
    early = _action(client, far["id"], "cancel", ALICE, {"reason": None})
    assert early.json()["cancellation"]["lateFeeCents"] == 0
    # Check-in and completion.
    visit = _booked(client, BOB, _soon())
    assert (visit["insurerShareCents"], visit["patientShareCents"]) == (0, 8900)
    assert _action(client, visit["id"], "checkIn", BOB).status_code == 403
    assert _action(client, visit["id"], "complete", LEE).status_code == 400  # not checked in
    future = _booked(client, BOB, _at(14, 9))
    too_early = _action(client, future["id"], "checkIn", MIA)
    assert too_early.status_code == 400 and _reason(too_early) == "OUTSIDE_CHECK_IN_WINDOW"
    assert _action(client, visit["id"], "checkIn", MIA).status_code == 200
    assert _action(client, visit["id"], "checkIn", MIA).status_code == 400
    assert _action(client, visit["id"], "cancel", BOB).status_code == 400
    assert _action(client, visit["id"], "complete", MIA).status_code == 403
    done = _action(client, visit["id"], "complete", LEE)
    assert done.status_code == 200 and done.json()["status"] == "completed"
    assert _action(client, visit["id"], "complete", LEE).status_code == 400
    # Listing, filters and page tokens.
    mine = client.get("/v1/appointments", headers=BOB).json()
    assert [a["id"] for a in mine["appointments"]] == [visit["id"], reused.json()["id"], future["id"]]
    assert mine["nextPageToken"] == ""
    lee = client.get("/v1/appointments", params={"status": "booked"}, headers=LEE).json()
    assert [a["id"] for a in lee["appointments"]] == [reused.json()["id"], future["id"]]  # far was cancelled
    assert all(a["practitionerId"] == "prac_lee" for a in lee["appointments"])
    page = client.get("/v1/appointments", params={"pageSize": 2, "from": _at(1, 0)}, headers=MIA).json()
    assert len(page["appointments"]) == 2 and page["nextPageToken"]
    token = page["nextPageToken"]
    assert client.get("/v1/appointments", params={"pageToken": token}, headers=MIA).status_code == 400
    rest = client.get("/v1/appointments", params={"pageToken": token, "from": _at(1, 0)}, headers=MIA)
    assert rest.status_code == 200 and rest.json()["appointments"], rest.text
    assert client.get("/v1/appointments", params={"pageToken": "%%%"}, headers=MIA).status_code == 400
    assert client.get("/v1/appointments", params={"pageSize": 0}, headers=MIA).status_code == 400
    assert client.get("/v1/appointments", params={"status": "lost"}, headers=MIA).status_code == 400


PROBES: dict[str, Callable[[TestClient], None]] = {
    "overlap-check-misses-contained-appointment": overlap_check_misses_contained_appointment,
    "checked-in-appointment-rescheduled": checked_in_appointment_rescheduled,
    "request-id-not-scoped-to-caller": request_id_not_scoped_to_caller,
    "coverage-percent-writable": coverage_percent_writable,
    "page-token-skips-tied-start-times": page_token_skips_tied_start_times,
    "concurrent-bookings-double-book": concurrent_bookings_double_book,
    "patient-books-for-another-patient": patient_books_for_another_patient,
    "duration-accepts-any-minutes": duration_accepts_any_minutes,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
