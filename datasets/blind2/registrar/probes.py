"""Behavioural probes for the registrar target.

Each probe scripts an interaction and asserts the *correct* behaviour: it passes against
``create_app()`` and raises ``AssertionError`` against ``create_app(frozenset({bug_id}))``.

Seed data: the autumn term (trm_autumn) is running; its add and drop deadlines have passed and
its withdraw deadline is 28 days away. Alice (enr_0001) and Bob (enr_0002, pass/fail) take
PHYS 110 (sec_ph110_01, taught by Carol); Alice also takes CHEM 105 (enr_0003, sec_ch105_01,
taught by Dave). The spring term (trm_spring) is open for registration: CS 101
(sec_cs101_01, Carol) has 3 seats, all taken; HIST 210 (sec_hi210_01) has 1 free seat;
ECON 101 (sec_ec101_01) has 1 free seat and 2 waitlist places; MUS 120 (sec_mu120_01) and its
waitlist are full.
"""

import asyncio
from collections.abc import Callable
from typing import Any

import httpx
from fastapi.testclient import TestClient

ALICE = {"Authorization": "Bearer stu_alice_4c1d9e"}
BOB = {"Authorization": "Bearer stu_bob_90ae2b"}
CAROL = {"Authorization": "Bearer ins_carol_77b3f0"}
DAVE = {"Authorization": "Bearer ins_dave_1e5c88"}


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


def _enroll(client: TestClient, headers: dict[str, str], section_id: str, **extra: Any) -> httpx.Response:
    return client.post("/v1/enrollments", json={"section_id": section_id, **extra}, headers=headers)


def _section(client: TestClient, section_id: str) -> dict[str, Any]:
    resp = client.get(f"/v1/sections/{section_id}", headers=ALICE)
    assert resp.status_code == 200, resp.text
    return resp.json()


def grade_posted_for_enrollment_of_other_section(client: TestClient) -> None:
    # enr_0003 is Alice's CHEM 105 enrollment (Dave's section), posted through Carol's PHYS 110.
    resp = client.post(
        "/v1/sections/sec_ph110_01/grades", json={"enrollment_id": "enr_0003", "grade": "A"}, headers=CAROL
    )
    assert resp.status_code == 404, f"Carol graded a CHEM 105 enrollment: {resp.status_code} {resp.text}"
    chem = client.get("/v1/enrollments/enr_0003", headers=ALICE).json()
    assert (chem["status"], chem["grade"]) == ("enrolled", None), chem


def readonly_status_honoured_on_create(client: TestClient) -> None:
    resp = _enroll(client, ALICE, "sec_cs101_01", status="enrolled", tuition_cents=0)
    assert resp.status_code == 201, resp.text
    created = resp.json()
    assert (created["status"], created["waitlist_position"]) == ("waitlisted", 1), created
    assert created["tuition_cents"] == 208000, created
    section = _section(client, "sec_cs101_01")
    assert (section["enrolled_count"], section["waitlist_count"]) == (3, 1), section


def rate_limit_counted_per_section(client: TestClient) -> None:
    plan = [
        ("sec_ma220_01", {}),
        ("sec_bi110_01", {}),
        ("sec_pl205_01", {}),
        ("sec_ar150_01", {"credits": 2}),
    ]
    codes = []
    for n in range(10):
        section_id, extra = plan[n % len(plan)]
        codes.append(_enroll(client, ALICE, section_id, **extra).status_code)
    assert 429 not in codes and codes[:4] == [201] * 4, codes
    eleventh = _enroll(client, ALICE, "sec_ec101_01")
    assert eleventh.status_code == 429, (
        f"11th registration request within a minute (spread over sections): {eleventh.status_code}"
    )
    assert int(eleventh.headers["Retry-After"]) >= 1
    assert _section(client, "sec_ec101_01")["enrolled_count"] == 0
    assert _enroll(client, BOB, "sec_ec101_01").status_code == 201  # limits are per student


def audit_enrollment_keeps_credits(client: TestClient) -> None:
    resp = _enroll(client, ALICE, "sec_pl205_01", grading_basis="audit", credits=3)
    assert resp.status_code == 400, f"audit enrollment with 3 credits: {resp.status_code} {resp.text}"
    listed = client.get("/v1/enrollments", params={"term_id": "trm_spring"}, headers=ALICE).json()
    assert listed["data"] == [], listed


def waitlisted_can_self_enroll(client: TestClient) -> None:
    created = _enroll(client, ALICE, "sec_cs101_01")
    assert created.status_code == 201 and created.json()["status"] == "waitlisted", created.text
    eid = created.json()["id"]
    resp = client.patch(f"/v1/enrollments/{eid}", json={"status": "enrolled"}, headers=ALICE)
    assert resp.status_code == 409, f"waitlisted -> enrolled without an offer: {resp.status_code}"
    assert client.get(f"/v1/enrollments/{eid}", headers=ALICE).json()["status"] == "waitlisted"
    assert _section(client, "sec_cs101_01")["enrolled_count"] == 3


def drop_checked_against_withdraw_deadline(client: TestClient) -> None:
    resp = client.patch("/v1/enrollments/enr_0001", json={"status": "dropped"}, headers=ALICE)
    assert resp.status_code == 409, f"drop after the drop deadline: {resp.status_code} {resp.text}"
    after = client.get("/v1/enrollments/enr_0001", headers=ALICE).json()
    assert (after["status"], after["refund_cents"]) == ("enrolled", None), after


def concurrent_registration_overfills_section(client: TestClient) -> None:
    async def register_both() -> list[httpx.Response]:
        async with _async_client(client) as ac:
            return await asyncio.gather(
                *(
                    ac.post("/v1/enrollments", json={"section_id": "sec_hi210_01"}, headers=who)
                    for who in (ALICE, BOB)
                )
            )

    responses = asyncio.run(register_both())
    assert [r.status_code for r in responses] == [201, 201], [r.text for r in responses]
    statuses = sorted(r.json()["status"] for r in responses)
    assert statuses == ["enrolled", "waitlisted"], f"two students, one seat: {statuses}"
    section = _section(client, "sec_hi210_01")
    assert section["enrolled_count"] == 1 <= section["capacity"], section


def grade_enum_not_enforced(client: TestClient) -> None:
    resp = client.post(
        "/v1/sections/sec_ph110_01/grades", json={"enrollment_id": "enr_0001", "grade": "A+"}, headers=CAROL
    )
    assert resp.status_code == 400, f"grade A+: {resp.status_code} {resp.text}"
    assert client.get("/v1/enrollments/enr_0001", headers=ALICE).json()["grade"] is None


def smoke(client: TestClient) -> None:
    """Happy paths and error paths not covered by the bug probes (schema coverage)."""
    assert client.get("/v1/terms").status_code == 401
    assert client.get("/v1/terms", headers={"Authorization": "Basic stu_alice_4c1d9e"}).status_code == 401
    terms = client.get("/v1/terms", headers=CAROL).json()
    assert [t["id"] for t in terms["data"]] == ["trm_autumn", "trm_spring"]
    # Sections: filters and cursor walk.
    walked: list[str] = []
    params: dict[str, Any] = {"term_id": "trm_spring", "limit": 3}
    for _ in range(10):
        page = client.get("/v1/sections", params=params, headers=ALICE).json()
        walked.extend(s["id"] for s in page["data"])
        if not page["has_more"]:
            break
        params = {**params, "starting_after": page["data"][-1]["id"]}
    assert len(walked) == 8 and len(set(walked)) == 8, walked
    carols = client.get("/v1/sections", params={"instructor_id": "ins_carol", "limit": 100}, headers=BOB)
    assert {s["instructor_id"] for s in carols.json()["data"]} == {"ins_carol"}
    cs = client.get("/v1/sections", params={"course_code": "CS 101"}, headers=BOB).json()["data"]
    assert [s["id"] for s in cs] == ["sec_cs101_01"] and cs[0]["enrolled_count"] == 3
    for bad in ({"course_code": "cs101"}, {"limit": 0}, {"limit": 101}, {"starting_after": "sec_nope"}):
        assert client.get("/v1/sections", params=bad, headers=ALICE).status_code == 400, bad
    assert client.get("/v1/sections/sec_nope", headers=ALICE).status_code == 404
    # Registration errors (Alice: 9 requests, Bob: 5).
    assert (
        client.post("/v1/enrollments", json={"section_id": "sec_ma220_01"}, headers=CAROL).status_code == 403
    )
    assert client.post("/v1/enrollments", content=b"{]", headers=ALICE).status_code == 400
    assert client.post("/v1/enrollments", json={"credits": 3}, headers=ALICE).status_code == 400
    assert _enroll(client, ALICE, "sec_nope").status_code == 404
    assert _enroll(client, ALICE, "sec_ma220_01", grading_basis="pass_fail").status_code == 400
    assert _enroll(client, ALICE, "sec_ar150_01").status_code == 400  # variable credits need a value
    assert _enroll(client, ALICE, "sec_ar150_01", credits=5).status_code == 400
    assert _enroll(client, ALICE, "sec_ph110_01").status_code == 409  # registration closed
    assert _enroll(client, ALICE, "sec_mu120_01").status_code == 409  # section and waitlist full
    audit = _enroll(client, BOB, "sec_ar150_01", grading_basis="audit")
    assert audit.status_code == 201
    assert (audit.json()["credits"], audit.json()["tuition_cents"]) == (0, 20000)
    assert _enroll(client, BOB, "sec_ar150_01", credits=2).status_code == 409  # already enrolled
    for section_id in ("sec_cs101_01", "sec_bi110_01", "sec_ma220_01"):
        assert _enroll(client, BOB, section_id).status_code == 201
    bob_terms = client.get("/v1/enrollments", params={"term_id": "trm_spring"}, headers=BOB).json()["data"]
    assert sum(e["credits"] for e in bob_terms) == 11
    # Offer flow on ECON 101 (1 seat).
    alice_econ = _enroll(client, ALICE, "sec_ec101_01").json()
    assert alice_econ["status"] == "enrolled" and alice_econ["tuition_cents"] == 156000
    bob_econ = _enroll(client, BOB, "sec_ec101_01", grading_basis="pass_fail").json()
    assert (bob_econ["status"], bob_econ["waitlist_position"]) == ("waitlisted", 1)
    assert (
        client.patch(
            f"/v1/enrollments/{bob_econ['id']}", json={"status": "enrolled"}, headers=BOB
        ).status_code
        == 409
    )
    dropped = client.patch(f"/v1/enrollments/{alice_econ['id']}", json={"status": "dropped"}, headers=ALICE)
    assert dropped.status_code == 200
    assert (dropped.json()["status"], dropped.json()["refund_cents"]) == ("dropped", 156000)
    offered = client.get(f"/v1/enrollments/{bob_econ['id']}", headers=BOB).json()
    assert offered["status"] == "offered" and offered["offer_expires_at"] is not None
    accepted = client.patch(f"/v1/enrollments/{bob_econ['id']}", json={"status": "enrolled"}, headers=BOB)
    assert accepted.status_code == 200 and accepted.json()["offer_expires_at"] is None
    assert (
        client.patch(
            f"/v1/enrollments/{alice_econ['id']}", json={"status": "enrolled"}, headers=ALICE
        ).status_code
        == 409
    )
    early_withdraw = client.patch(
        f"/v1/enrollments/{bob_econ['id']}", json={"status": "withdrawn"}, headers=BOB
    )
    assert early_withdraw.status_code == 409
    # Leaving a waitlist.
    bob_cs = next(e for e in bob_terms if e["section_id"] == "sec_cs101_01")
    assert bob_cs["status"] == "waitlisted"
    left = client.patch(f"/v1/enrollments/{bob_cs['id']}", json={"status": "dropped"}, headers=BOB)
    assert (left.json()["status"], left.json()["refund_cents"]) == ("dropped", 0)
    # Update validation and visibility.
    assert (
        client.patch(f"/v1/enrollments/{bob_cs['id']}", json={"status": "completed"}, headers=BOB).status_code
        == 400
    )
    assert client.patch(f"/v1/enrollments/{bob_cs['id']}", content=b"x", headers=BOB).status_code == 400
    assert (
        client.patch(f"/v1/enrollments/{bob_cs['id']}", json={"status": "dropped"}, headers=ALICE).status_code
        == 404
    )
    assert (
        client.patch("/v1/enrollments/enr_0001", json={"status": "dropped"}, headers=CAROL).status_code == 404
    )
    assert client.get("/v1/enrollments/enr_0001", headers=BOB).status_code == 404
    assert client.get("/v1/enrollments/enr_0001", headers=CAROL).json()["student_id"] == "stu_alice"
    assert client.get("/v1/enrollments/enr_0003", headers=CAROL).status_code == 404
    assert client.get("/v1/enrollments", headers=CAROL).status_code == 403
    # Alice's enrollments, cursor-paginated.
    first = client.get("/v1/enrollments", params={"limit": 2}, headers=ALICE).json()
    assert [e["id"] for e in first["data"]] == ["enr_0001", "enr_0003"] and first["has_more"]
    rest = client.get(
        "/v1/enrollments", params={"limit": 2, "starting_after": "enr_0003"}, headers=ALICE
    ).json()
    assert [e["id"] for e in rest["data"]] == [alice_econ["id"]] and not rest["has_more"]
    assert (
        client.get("/v1/enrollments", params={"starting_after": "enr_0002"}, headers=ALICE).status_code == 400
    )
    assert client.get("/v1/enrollments", params={"status": "lost"}, headers=ALICE).status_code == 400
    assert (
        client.get("/v1/enrollments", params={"status": "dropped"}, headers=ALICE).json()["data"][0]["id"]
        == alice_econ["id"]
    )
    # Rosters and grades.
    roster = client.get("/v1/sections/sec_ph110_01/roster", headers=CAROL)
    assert [e["id"] for e in roster.json()["data"]] == ["enr_0001", "enr_0002"]
    assert client.get("/v1/sections/sec_ph110_01/roster", headers=ALICE).status_code == 403
    assert client.get("/v1/sections/sec_ph110_01/roster", headers=DAVE).status_code == 403
    assert client.get("/v1/sections/sec_nope/roster", headers=CAROL).status_code == 404
    grade = client.post(
        "/v1/sections/sec_ph110_01/grades", json={"enrollment_id": "enr_0001", "grade": "B+"}, headers=CAROL
    )
    assert grade.status_code == 200 and (grade.json()["status"], grade.json()["grade"]) == ("completed", "B+")
    regrade = client.post(
        "/v1/sections/sec_ph110_01/grades", json={"enrollment_id": "enr_0001", "grade": "A-"}, headers=CAROL
    )
    assert regrade.json()["grade"] == "A-"
    assert (
        client.post(
            "/v1/sections/sec_ph110_01/grades",
            json={"enrollment_id": "enr_0002", "grade": "B"},
            headers=CAROL,
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/v1/sections/sec_ph110_01/grades",
            json={"enrollment_id": "enr_0002", "grade": "P"},
            headers=CAROL,
        ).json()["grade"]
        == "P"
    )
    assert (
        client.post(
            "/v1/sections/sec_ph110_01/grades", json={"enrollment_id": "enr_0001"}, headers=CAROL
        ).status_code
        == 400
    )
    assert (
        client.post(
            "/v1/sections/sec_ph110_01/grades",
            json={"enrollment_id": "enr_9999", "grade": "A"},
            headers=CAROL,
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/v1/sections/sec_ch105_01/grades",
            json={"enrollment_id": "enr_0003", "grade": "A"},
            headers=CAROL,
        ).status_code
        == 403
    )
    assert (
        client.post(
            "/v1/sections/sec_nope/grades", json={"enrollment_id": "enr_0003", "grade": "A"}, headers=CAROL
        ).status_code
        == 404
    )
    assert (
        client.post(
            "/v1/sections/sec_cs101_01/grades",
            json={"enrollment_id": "enr_0004", "grade": "A"},
            headers=CAROL,
        ).status_code
        == 409
    )
    # Withdrawal in the running term.
    withdrawn = client.patch("/v1/enrollments/enr_0003", json={"status": "withdrawn"}, headers=ALICE)
    assert withdrawn.status_code == 200
    assert (withdrawn.json()["grade"], withdrawn.json()["refund_cents"]) == ("W", 0)
    assert (
        client.patch("/v1/enrollments/enr_0003", json={"status": "withdrawn"}, headers=ALICE).status_code
        == 409
    )
    assert (
        client.post(
            "/v1/sections/sec_ch105_01/grades", json={"enrollment_id": "enr_0003", "grade": "A"}, headers=DAVE
        ).status_code
        == 409
    )
    assert (
        client.patch("/v1/enrollments/enr_0001", json={"status": "withdrawn"}, headers=ALICE).status_code
        == 409
    )


PROBES: dict[str, Callable[[TestClient], None]] = {
    "grade-posted-for-enrollment-of-other-section": grade_posted_for_enrollment_of_other_section,
    "readonly-status-honoured-on-create": readonly_status_honoured_on_create,
    "rate-limit-counted-per-section": rate_limit_counted_per_section,
    "audit-enrollment-keeps-credits": audit_enrollment_keeps_credits,
    "waitlisted-can-self-enroll": waitlisted_can_self_enroll,
    "drop-checked-against-withdraw-deadline": drop_checked_against_withdraw_deadline,
    "concurrent-registration-overfills-section": concurrent_registration_overfills_section,
    "grade-enum-not-enforced": grade_enum_not_enforced,
}

SMOKE: list[Callable[[TestClient], None]] = [smoke]
