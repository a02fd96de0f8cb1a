"""Registrar target (blind2): course registration, waitlists, drops/withdrawals and grades.

``create_app()`` returns the correct implementation; every id in ``bugs`` switches on one
seeded defect (see ``bugs.yaml``). All state lives inside the returned app.
"""

import asyncio
import json
import math
import time
import weakref
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from typing import Annotated, Any, Literal, TypeVar

from fastapi import Depends, FastAPI, Header, Query, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, ConfigDict, Field, ValidationError
from starlette.exceptions import HTTPException as StarletteHTTPException

BUG_IDS = frozenset(
    {
        "grade-posted-for-enrollment-of-other-section",
        "readonly-status-honoured-on-create",
        "rate-limit-counted-per-section",
        "audit-enrollment-keeps-credits",
        "waitlisted-can-self-enroll",
        "drop-checked-against-withdraw-deadline",
        "concurrent-registration-overfills-section",
        "grade-enum-not-enforced",
    }
)


@dataclass(frozen=True)
class Principal:
    id: str
    role: Literal["student", "instructor"]


TOKENS = {
    "stu_alice_4c1d9e": Principal("stu_alice", "student"),
    "stu_bob_90ae2b": Principal("stu_bob", "student"),
    "ins_carol_77b3f0": Principal("ins_carol", "instructor"),
    "ins_dave_1e5c88": Principal("ins_dave", "instructor"),
}

RATE_LIMIT = 10
RATE_WINDOW = 60.0
OFFER_TTL = timedelta(hours=48)
# Simulated latency of the student-records lookup between the seat count and the insert.
RECORDS_LATENCY = 0.25
LETTER_GRADES = ("A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D", "F")
PASS_FAIL_GRADES = ("P", "NP")
ACTIVE = ("waitlisted", "offered", "enrolled")

M = TypeVar("M", bound=BaseModel)

ERROR_TYPES = {
    400: "invalid_request_error",
    401: "authentication_error",
    403: "permission_error",
    404: "not_found_error",
    405: "invalid_request_error",
    409: "conflict_error",
    429: "rate_limit_error",
}


class ApiError(Exception):
    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        param: str | None = None,
        headers: dict[str, str] | None = None,
    ):
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.param = param
        self.headers = headers


class LoopLock:
    """An asyncio.Lock per running event loop (TestClient may use several loops)."""

    def __init__(self) -> None:
        self._locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )

    def get(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._locks.get(loop)
        if lock is None:
            lock = self._locks[loop] = asyncio.Lock()
        return lock


class _Strict(BaseModel):
    model_config = ConfigDict(strict=True, extra="ignore")


class EnrollmentCreate(_Strict):
    section_id: str = Field(min_length=1, max_length=64)
    grading_basis: Literal["letter", "pass_fail", "audit"] = "letter"
    credits: int | None = Field(default=None, ge=0, le=12)


class EnrollmentUpdate(_Strict):
    status: Literal["enrolled", "dropped", "withdrawn"]


class GradeCreate(_Strict):
    enrollment_id: str = Field(min_length=1, max_length=64)
    grade: Literal["A", "A-", "B+", "B", "B-", "C+", "C", "C-", "D", "F", "P", "NP"]


class GradeCreateLoose(GradeCreate):
    grade: str = Field(min_length=1, max_length=3)  # type: ignore[assignment]


def _iso(value: datetime) -> str:
    return value.astimezone(UTC).replace(microsecond=0).isoformat().replace("+00:00", "Z")


def _parse_iso(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _error_body(status: int, code: str, message: str, param: str | None) -> dict[str, Any]:
    return {
        "error": {
            "type": ERROR_TYPES.get(status, "invalid_request_error"),
            "code": code,
            "message": message,
            "param": param,
        }
    }


def _first_error(errors: list[Any]) -> tuple[str, str | None]:
    if not errors:
        return "Invalid request.", None
    err = errors[0]
    loc = [str(p) for p in err.get("loc", ()) if p not in ("body", "query", "header", "path")]
    param = loc[0] if loc else None
    return f"{param or 'request'}: {err.get('msg', 'invalid')}", param


async def _parse(request: Request, model: type[M]) -> tuple[M, dict[str, Any]]:
    raw = await request.body()
    try:
        data = json.loads(raw)
    except (ValueError, RecursionError) as exc:
        raise ApiError(400, "body_not_json", "The request body is not valid JSON.") from exc
    if not isinstance(data, dict):
        raise ApiError(400, "parameter_invalid", "The request body must be a JSON object.")
    try:
        return model.model_validate(data), data
    except ValidationError as exc:
        message, param = _first_error(exc.errors())
        missing = any(e.get("type") == "missing" for e in exc.errors()[:1])
        raise ApiError(400, "parameter_missing" if missing else "parameter_invalid", message, param) from exc


def create_app(bugs: frozenset[str] = frozenset()) -> FastAPI:
    unknown = set(bugs) - BUG_IDS
    if unknown:
        raise ValueError(f"unknown bug ids: {sorted(unknown)}")

    app = FastAPI(
        title="Registrar API", version="2026-08-01", openapi_url=None, docs_url=None, redoc_url=None
    )

    terms: dict[str, dict[str, Any]] = {}
    sections: dict[str, dict[str, Any]] = {}
    enrollments: dict[str, dict[str, Any]] = {}
    counters = {"enrollment": 0}
    calls: dict[Any, deque[float]] = {}
    lock = LoopLock()

    @app.exception_handler(ApiError)
    async def _api_error(_: Request, exc: ApiError) -> JSONResponse:
        return JSONResponse(
            _error_body(exc.status, exc.code, exc.message, exc.param), exc.status, headers=exc.headers
        )

    @app.exception_handler(RequestValidationError)
    async def _request_validation(_: Request, exc: RequestValidationError) -> JSONResponse:
        message, param = _first_error(list(exc.errors()))
        return JSONResponse(_error_body(400, "parameter_invalid", message, param), 400)

    @app.exception_handler(StarletteHTTPException)
    async def _http_error(_: Request, exc: StarletteHTTPException) -> JSONResponse:
        code = {404: "resource_missing", 405: "method_not_allowed"}.get(exc.status_code, "http_error")
        return JSONResponse(_error_body(exc.status_code, code, str(exc.detail), None), exc.status_code)

    async def current_principal(authorization: Annotated[str | None, Header()] = None) -> Principal:
        scheme, _, token = (authorization or "").partition(" ")
        principal = TOKENS.get(token.strip()) if scheme.lower() == "bearer" else None
        if principal is None:
            raise ApiError(401, "invalid_token", "Missing or invalid bearer token.")
        return principal

    Caller = Annotated[Principal, Depends(current_principal)]

    # ------------------------------------------------------------------ seed

    now = datetime.now(UTC)
    today = now.date()
    terms["trm_autumn"] = {
        "id": "trm_autumn",
        "object": "term",
        "name": "Autumn term",
        "starts_on": (today - timedelta(days=35)).isoformat(),
        "ends_on": (today + timedelta(days=60)).isoformat(),
        "add_deadline": _iso(now - timedelta(days=21)),
        "drop_deadline": _iso(now - timedelta(days=14)),
        "withdraw_deadline": _iso(now + timedelta(days=28)),
        "max_credits": 18,
    }
    terms["trm_spring"] = {
        "id": "trm_spring",
        "object": "term",
        "name": "Spring term",
        "starts_on": (today + timedelta(days=45)).isoformat(),
        "ends_on": (today + timedelta(days=150)).isoformat(),
        "add_deadline": _iso(now + timedelta(days=52)),
        "drop_deadline": _iso(now + timedelta(days=59)),
        "withdraw_deadline": _iso(now + timedelta(days=100)),
        "max_credits": 18,
    }
    catalogue = [
        # id, term, code, title, instructor, capacity, waitlist, credits, per-credit, audit fee, bases, meeting
        (
            "sec_ph110_01",
            "trm_autumn",
            "PHYS 110",
            "Mechanics",
            "ins_carol",
            40,
            5,
            (4, 4),
            52000,
            30000,
            ["letter", "pass_fail"],
            (["mon", "wed", "fri"], "09:00", "09:50", "Hall B 120"),
        ),
        (
            "sec_ch105_01",
            "trm_autumn",
            "CHEM 105",
            "General Chemistry",
            "ins_dave",
            40,
            5,
            (4, 4),
            52000,
            30000,
            ["letter"],
            (["tue", "thu"], "11:00", "12:15", "Lab 3"),
        ),
        (
            "sec_cs101_01",
            "trm_spring",
            "CS 101",
            "Introduction to Programming",
            "ins_carol",
            3,
            3,
            (4, 4),
            52000,
            30000,
            ["letter", "pass_fail", "audit"],
            (["mon", "wed"], "10:00", "11:15", "Eng 204"),
        ),
        (
            "sec_ma220_01",
            "trm_spring",
            "MATH 220",
            "Linear Algebra",
            "ins_dave",
            30,
            5,
            (3, 3),
            52000,
            30000,
            ["letter"],
            (["tue", "thu"], "09:30", "10:45", "Math 12"),
        ),
        (
            "sec_ar150_01",
            "trm_spring",
            "ART 150",
            "Studio Drawing",
            "ins_carol",
            12,
            4,
            (1, 3),
            48000,
            20000,
            ["letter", "pass_fail", "audit"],
            (["fri"], "13:00", "16:00", "Studio 2"),
        ),
        (
            "sec_hi210_01",
            "trm_spring",
            "HIST 210",
            "The Atlantic World",
            "ins_dave",
            1,
            5,
            (3, 3),
            52000,
            30000,
            ["letter", "audit"],
            (["mon"], "14:00", "16:30", "Humanities 5"),
        ),
        (
            "sec_bi110_01",
            "trm_spring",
            "BIO 110",
            "Cells and Organisms",
            "ins_dave",
            40,
            5,
            (4, 4),
            52000,
            30000,
            ["letter", "pass_fail"],
            (["mon", "wed", "fri"], "08:00", "08:50", "Science 1"),
        ),
        (
            "sec_pl205_01",
            "trm_spring",
            "PHIL 205",
            "Ethics",
            "ins_carol",
            25,
            5,
            (3, 3),
            52000,
            30000,
            ["letter", "pass_fail", "audit"],
            (["tue", "thu"], "15:00", "16:15", "Humanities 2"),
        ),
        (
            "sec_ec101_01",
            "trm_spring",
            "ECON 101",
            "Principles of Economics",
            "ins_carol",
            1,
            2,
            (3, 3),
            52000,
            30000,
            ["letter", "pass_fail"],
            (["wed"], "18:00", "20:30", "Business 9"),
        ),
        (
            "sec_mu120_01",
            "trm_spring",
            "MUS 120",
            "Jazz Ensemble",
            "ins_dave",
            2,
            1,
            (1, 1),
            52000,
            10000,
            ["letter", "pass_fail"],
            (["thu"], "19:00", "21:00", "Music Hall"),
        ),
    ]
    for sid, term_id, code, title, instructor, cap, wl, (cmin, cmax), per, audit, bases, meet in catalogue:
        sections[sid] = {
            "id": sid,
            "object": "section",
            "term_id": term_id,
            "course_code": code,
            "title": title,
            "instructor_id": instructor,
            "capacity": cap,
            "waitlist_capacity": wl,
            "credits_min": cmin,
            "credits_max": cmax,
            "grading_bases": bases,
            "tuition_per_credit_cents": per,
            "audit_fee_cents": audit,
            "currency": "usd",
            "meeting": {"days": meet[0], "start_time": meet[1], "end_time": meet[2], "room": meet[3]},
        }

    def new_enrollment(
        student: str, section: dict[str, Any], basis: str, credits: int, status: str
    ) -> dict[str, Any]:
        counters["enrollment"] += 1
        eid = f"enr_{counters['enrollment']:04d}"
        tuition = (
            section["audit_fee_cents"] if basis == "audit" else credits * section["tuition_per_credit_cents"]
        )
        stamp = _iso(datetime.now(UTC))
        enrollment = {
            "id": eid,
            "student_id": student,
            "section_id": section["id"],
            "term_id": section["term_id"],
            "status": status,
            "offer_expires_at": None,
            "grading_basis": basis,
            "credits": credits,
            "tuition_cents": tuition,
            "refund_cents": None,
            "grade": None,
            "created_at": stamp,
            "updated_at": stamp,
            "_seq": counters["enrollment"],
        }
        enrollments[eid] = enrollment
        return enrollment

    for student, sid, basis in [
        ("stu_alice", "sec_ph110_01", "letter"),
        ("stu_bob", "sec_ph110_01", "pass_fail"),
        ("stu_alice", "sec_ch105_01", "letter"),
        ("stu_erin", "sec_cs101_01", "letter"),
        ("stu_farid", "sec_cs101_01", "letter"),
        ("stu_gwen", "sec_cs101_01", "pass_fail"),
        ("stu_erin", "sec_mu120_01", "letter"),
        ("stu_farid", "sec_mu120_01", "letter"),
    ]:
        new_enrollment(student, sections[sid], basis, sections[sid]["credits_min"], "enrolled")
    new_enrollment("stu_gwen", sections["sec_mu120_01"], "letter", 1, "waitlisted")

    # ------------------------------------------------------------------ helpers

    def of_section(section_id: str) -> list[dict[str, Any]]:
        return sorted(
            (e for e in enrollments.values() if e["section_id"] == section_id), key=lambda e: e["_seq"]
        )

    def seats_taken(section_id: str) -> int:
        return sum(1 for e in of_section(section_id) if e["status"] in ("enrolled", "offered"))

    def waitlist(section_id: str) -> list[dict[str, Any]]:
        return [e for e in of_section(section_id) if e["status"] == "waitlisted"]

    def public_section(section: dict[str, Any]) -> dict[str, Any]:
        return {
            **section,
            "enrolled_count": seats_taken(section["id"]),
            "waitlist_count": len(waitlist(section["id"])),
        }

    def public(enrollment: dict[str, Any]) -> dict[str, Any]:
        position = None
        if enrollment["status"] == "waitlisted":
            queue = waitlist(enrollment["section_id"])
            position = next(i for i, e in enumerate(queue, 1) if e["id"] == enrollment["id"])
        out = {k: v for k, v in enrollment.items() if not k.startswith("_")}
        return {"object": "enrollment", **out, "waitlist_position": position}

    def offer_free_seats(section_id: str) -> None:
        section = sections[section_id]
        while seats_taken(section_id) < section["capacity"]:
            queue = waitlist(section_id)
            if not queue:
                return
            first = queue[0]
            first["status"] = "offered"
            first["offer_expires_at"] = _iso(datetime.now(UTC) + OFFER_TTL)
            first["updated_at"] = _iso(datetime.now(UTC))

    def sweep() -> None:
        """Expire offers that were not accepted in time and pass the seat on."""
        now = datetime.now(UTC)
        touched = set()
        for e in enrollments.values():
            if e["status"] == "offered" and _parse_iso(e["offer_expires_at"]) <= now:
                e["status"] = "dropped"
                e["refund_cents"] = 0
                e["offer_expires_at"] = None
                e["updated_at"] = _iso(now)
                touched.add(e["section_id"])
        for section_id in touched:
            offer_free_seats(section_id)

    def find_section(section_id: str) -> dict[str, Any]:
        section = sections.get(section_id)
        if section is None:
            raise ApiError(404, "resource_missing", f"No such section: '{section_id}'.", "section_id")
        return section

    def visible(caller: Principal, enrollment: dict[str, Any]) -> bool:
        if caller.role == "student":
            return enrollment["student_id"] == caller.id
        return sections[enrollment["section_id"]]["instructor_id"] == caller.id

    def find_enrollment(caller: Principal, enrollment_id: str) -> dict[str, Any]:
        enrollment = enrollments.get(enrollment_id)
        if enrollment is None or not visible(caller, enrollment):
            raise ApiError(404, "resource_missing", f"No such enrollment: '{enrollment_id}'.")
        return enrollment

    def paginate(items: list[dict[str, Any]], limit: int, starting_after: str | None) -> dict[str, Any]:
        if starting_after is not None:
            ids = [item["id"] for item in items]
            if starting_after not in ids:
                raise ApiError(
                    400,
                    "parameter_invalid",
                    "starting_after is not an object of this list.",
                    "starting_after",
                )
            items = items[ids.index(starting_after) + 1 :]
        return {"object": "list", "data": items[:limit], "has_more": len(items) > limit}

    def check_rate(caller: Principal, raw: bytes) -> None:
        key: Any = caller.id
        if "rate-limit-counted-per-section" in bugs:
            try:
                data = json.loads(raw)
            except (ValueError, RecursionError):
                data = None
            section_id = data.get("section_id") if isinstance(data, dict) else None
            key = (caller.id, section_id if isinstance(section_id, str) else None)
        stamps = calls.setdefault(key, deque())
        now = time.monotonic()
        while stamps and stamps[0] <= now - RATE_WINDOW:
            stamps.popleft()
        if len(stamps) >= RATE_LIMIT:
            retry = max(1, math.ceil(stamps[0] + RATE_WINDOW - now))
            raise ApiError(
                429,
                "rate_limited",
                f"At most {RATE_LIMIT} registration requests per minute.",
                headers={"Retry-After": str(retry)},
            )
        stamps.append(now)

    # ------------------------------------------------------------------ terms and sections

    @app.get("/v1/terms")
    async def listTerms(caller: Caller) -> dict[str, Any]:
        return {"object": "list", "data": list(terms.values()), "has_more": False}

    @app.get("/v1/sections")
    async def listSections(
        caller: Caller,
        term_id: str | None = None,
        course_code: Annotated[str | None, Query(pattern=r"^[A-Z]{2,4} \d{3}$")] = None,
        instructor_id: str | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        starting_after: str | None = None,
    ) -> dict[str, Any]:
        sweep()
        found = sorted(
            (
                s
                for s in sections.values()
                if (term_id is None or s["term_id"] == term_id)
                and (course_code is None or s["course_code"] == course_code)
                and (instructor_id is None or s["instructor_id"] == instructor_id)
            ),
            key=lambda s: (s["course_code"], s["id"]),
        )
        return paginate([public_section(s) for s in found], limit, starting_after)

    @app.get("/v1/sections/{section_id}")
    async def getSection(section_id: str, caller: Caller) -> dict[str, Any]:
        sweep()
        return public_section(find_section(section_id))

    @app.get("/v1/sections/{section_id}/roster")
    async def getRoster(section_id: str, caller: Caller) -> dict[str, Any]:
        sweep()
        section = find_section(section_id)
        if section["instructor_id"] != caller.id:
            raise ApiError(403, "not_section_instructor", "Only the section's instructor can see its roster.")
        return {"object": "list", "data": [public(e) for e in of_section(section_id)], "has_more": False}

    @app.post("/v1/sections/{section_id}/grades")
    async def postGrade(section_id: str, request: Request, caller: Caller) -> dict[str, Any]:
        section = find_section(section_id)
        if section["instructor_id"] != caller.id:
            raise ApiError(403, "not_section_instructor", "Only the section's instructor can post grades.")
        model = GradeCreateLoose if "grade-enum-not-enforced" in bugs else GradeCreate
        body, _ = await _parse(request, model)
        enrollment = enrollments.get(body.enrollment_id)
        in_section = enrollment is not None and enrollment["section_id"] == section_id
        if enrollment is None or (
            not in_section and "grade-posted-for-enrollment-of-other-section" not in bugs
        ):
            raise ApiError(
                404,
                "resource_missing",
                f"No enrollment '{body.enrollment_id}' in section {section_id}.",
                "enrollment_id",
            )
        term = terms[section["term_id"]]
        if datetime.now(UTC).date().isoformat() < term["starts_on"]:
            raise ApiError(409, "term_not_started", "Grades can be posted once the term has started.")
        if enrollment["status"] not in ("enrolled", "completed") or enrollment["grading_basis"] == "audit":
            raise ApiError(
                409,
                "not_gradable",
                f"An {enrollment['status']} {enrollment['grading_basis']} enrollment cannot be graded.",
            )
        if enrollment["grading_basis"] == "pass_fail":
            valid = body.grade in PASS_FAIL_GRADES
        elif "grade-enum-not-enforced" in bugs:
            valid = body.grade not in PASS_FAIL_GRADES
        else:
            valid = body.grade in LETTER_GRADES
        if not valid:
            raise ApiError(
                400,
                "grade_invalid_for_basis",
                f"Grade {body.grade} is not valid for {enrollment['grading_basis']} grading.",
                "grade",
            )
        enrollment["grade"] = body.grade
        enrollment["status"] = "completed"
        enrollment["updated_at"] = _iso(datetime.now(UTC))
        return public(enrollment)

    # ------------------------------------------------------------------ enrollments

    @app.get("/v1/enrollments")
    async def listEnrollments(
        caller: Caller,
        term_id: str | None = None,
        status: Literal["waitlisted", "offered", "enrolled", "dropped", "withdrawn", "completed"]
        | None = None,
        limit: Annotated[int, Query(ge=1, le=100)] = 10,
        starting_after: str | None = None,
    ) -> dict[str, Any]:
        if caller.role != "student":
            raise ApiError(403, "students_only", "Instructors see enrollments through section rosters.")
        sweep()
        mine = sorted(
            (
                e
                for e in enrollments.values()
                if e["student_id"] == caller.id
                and (term_id is None or e["term_id"] == term_id)
                and (status is None or e["status"] == status)
            ),
            key=lambda e: e["_seq"],
        )
        return paginate([public(e) for e in mine], limit, starting_after)

    @app.post("/v1/enrollments", status_code=201)
    async def createEnrollment(request: Request, caller: Caller) -> JSONResponse:
        if caller.role != "student":
            raise ApiError(403, "students_only", "Only students can register for sections.")
        check_rate(caller, await request.body())
        body, data = await _parse(request, EnrollmentCreate)
        section = sections.get(body.section_id)
        if section is None:
            raise ApiError(404, "resource_missing", f"No such section: '{body.section_id}'.", "section_id")
        if body.grading_basis not in section["grading_bases"]:
            raise ApiError(
                400,
                "grading_basis_not_offered",
                f"{section['course_code']} offers {', '.join(section['grading_bases'])} grading.",
                "grading_basis",
            )
        if body.grading_basis == "audit":
            if body.credits and "audit-enrollment-keeps-credits" not in bugs:
                raise ApiError(400, "credits_not_allowed", "Audit enrollments carry no credits.", "credits")
            credits = body.credits or 0
        elif body.credits is None:
            if section["credits_min"] != section["credits_max"]:
                raise ApiError(
                    400,
                    "parameter_missing",
                    f"credits is required: {section['course_code']} is offered for "
                    f"{section['credits_min']}-{section['credits_max']} credits.",
                    "credits",
                )
            credits = section["credits_min"]
        else:
            if not section["credits_min"] <= body.credits <= section["credits_max"]:
                raise ApiError(
                    400,
                    "credits_out_of_range",
                    f"{section['course_code']} is offered for {section['credits_min']}-"
                    f"{section['credits_max']} credits.",
                    "credits",
                )
            credits = body.credits
        term = terms[section["term_id"]]
        forced = "readonly-status-honoured-on-create" in bugs and data.get("status") == "enrolled"

        def admit() -> str:
            """Check the registration rules; return the status the new enrollment gets."""
            sweep()
            if datetime.now(UTC) > _parse_iso(term["add_deadline"]):
                raise ApiError(409, "registration_closed", f"Registration for the {term['name']} has closed.")
            if any(
                e["student_id"] == caller.id and e["status"] in (*ACTIVE, "completed")
                for e in of_section(section["id"])
            ):
                raise ApiError(409, "already_enrolled", f"You already hold an enrollment in {section['id']}.")
            load = sum(
                e["credits"]
                for e in enrollments.values()
                if e["student_id"] == caller.id and e["term_id"] == term["id"] and e["status"] in ACTIVE
            )
            if load + credits > term["max_credits"]:
                raise ApiError(
                    409,
                    "credit_limit_exceeded",
                    f"{load} + {credits} credits exceed the term's limit of {term['max_credits']}.",
                    "credits",
                )
            if forced or seats_taken(section["id"]) < section["capacity"]:
                return "enrolled"
            if len(waitlist(section["id"])) < section["waitlist_capacity"]:
                return "waitlisted"
            raise ApiError(409, "section_full", f"{section['course_code']} and its waitlist are full.")

        if "concurrent-registration-overfills-section" in bugs:
            async with lock.get():
                status = admit()
            await asyncio.sleep(RECORDS_LATENCY)
            enrollment = new_enrollment(caller.id, section, body.grading_basis, credits, status)
        else:
            async with lock.get():
                status = admit()
                enrollment = new_enrollment(caller.id, section, body.grading_basis, credits, status)
        return JSONResponse(public(enrollment), 201)

    @app.get("/v1/enrollments/{enrollment_id}")
    async def getEnrollment(enrollment_id: str, caller: Caller) -> dict[str, Any]:
        sweep()
        return public(find_enrollment(caller, enrollment_id))

    @app.patch("/v1/enrollments/{enrollment_id}")
    async def updateEnrollment(enrollment_id: str, request: Request, caller: Caller) -> dict[str, Any]:
        enrollment = find_enrollment(caller, enrollment_id)
        if enrollment["student_id"] != caller.id:
            raise ApiError(404, "resource_missing", f"No such enrollment: '{enrollment_id}'.")
        body, _ = await _parse(request, EnrollmentUpdate)
        async with lock.get():
            sweep()
            term = terms[enrollment["term_id"]]
            now = datetime.now(UTC)
            current, target = enrollment["status"], body.status
            frees_seat = False
            if target == "enrolled" and (
                current == "offered" or (current == "waitlisted" and "waitlisted-can-self-enroll" in bugs)
            ):
                if current == "offered" and now >= _parse_iso(enrollment["offer_expires_at"]):
                    raise ApiError(409, "offer_expired", "The offered seat has expired.")
                enrollment["offer_expires_at"] = None
            elif target == "dropped" and current in ("waitlisted", "offered"):
                frees_seat = current == "offered"
                enrollment["offer_expires_at"] = None
                enrollment["refund_cents"] = 0
            elif target == "dropped" and current == "enrolled":
                deadline = term[
                    "withdraw_deadline"
                    if "drop-checked-against-withdraw-deadline" in bugs
                    else "drop_deadline"
                ]
                if now > _parse_iso(deadline):
                    raise ApiError(
                        409, "drop_deadline_passed", "The drop deadline has passed; withdraw instead."
                    )
                enrollment["refund_cents"] = enrollment["tuition_cents"]
                frees_seat = True
            elif target == "withdrawn" and current == "enrolled":
                if now <= _parse_iso(term["drop_deadline"]):
                    raise ApiError(409, "drop_instead", "Before the drop deadline, drop the course instead.")
                if now > _parse_iso(term["withdraw_deadline"]):
                    raise ApiError(409, "withdraw_deadline_passed", "The withdrawal deadline has passed.")
                enrollment["refund_cents"] = 0
                enrollment["grade"] = "W"
                frees_seat = True
            else:
                raise ApiError(
                    409,
                    "invalid_status_transition",
                    f"An enrollment cannot go from {current} to {target}.",
                    "status",
                )
            enrollment["status"] = target
            enrollment["updated_at"] = _iso(now)
            if frees_seat:
                offer_free_seats(enrollment["section_id"])
        return public(enrollment)

    return app
