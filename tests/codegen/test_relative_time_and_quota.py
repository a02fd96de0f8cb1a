"""Two runtime aids of generated suites: instants relative to when a test runs (`api.now`), for lead
times and cut-offs, and tests that exhaust a rate limit running after all the others."""

from __future__ import annotations

import ast
from datetime import UTC, date, datetime, timedelta
from itertools import pairwise
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from crossfield.codegen._writer import TestWriter
from crossfield.codegen.runtime import ApiSession, quota_tests_last
from crossfield.judgment import grounding_problems
from crossfield.judgment.models import (
    Body,
    Category,
    FieldRef,
    GroupExpectation,
    Hypothesis,
    HypothesisDraft,
    RelativeTimeValue,
    Severity,
    StatusExpectation,
    Step,
)
from crossfield.spec import Api, load_spec

SPEC = """
openapi: 3.0.3
info: {title: Clinic, version: "1"}
paths:
  /visits:
    post:
      operationId: bookVisit
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [starts_at]
              properties:
                starts_at: {type: string, format: date-time}
                day: {type: string, format: date}
                minutes: {type: integer}
      responses:
        "201": {description: booked}
        "429": {description: slow down}
"""


@pytest.fixture(scope="module")
def api(tmp_path_factory: pytest.TempPathFactory) -> Api:
    path = tmp_path_factory.mktemp("clinic") / "openapi.yaml"
    path.write_text(SPEC)
    return load_spec(path, cache=False)


def _draft(overrides: dict[str, Any], *, burst: bool = False) -> HypothesisDraft:
    step = Step(
        id="book",
        operation="bookVisit",
        body=Body(overrides=overrides),
        expect=[GroupExpectation(codes=[429], min_count=1)] if burst else [StatusExpectation(band="2xx")],
        repeat=30 if burst else 1,
    )
    return HypothesisDraft(
        title="a visit booked a day ahead is accepted",
        rationale="lead times are relative to now",
        category=Category.RATE_LIMITING if burst else Category.TEMPORAL_ORDERING,
        severity=Severity.MEDIUM,
        confidence=0.5,
        fields=[
            FieldRef(operation="bookVisit", path="body.starts_at"),
            FieldRef(operation="bookVisit", path="body.day"),
        ],
        steps=[step],
    )


def test_now_is_relative_to_the_moment_of_the_call() -> None:
    before = datetime.now(UTC).replace(microsecond=0)
    sent = datetime.strptime(ApiSession("http://127.0.0.1:9").now(26 * 3600), "%Y-%m-%dT%H:%M:%SZ").replace(
        tzinfo=UTC
    )
    after = datetime.now(UTC)
    # rounded up to a whole hour: never earlier than asked, at most an hour later
    assert (sent.minute, sent.second) == (0, 0)
    assert before + timedelta(hours=26) <= sent <= after + timedelta(hours=27)
    assert ApiSession("http://127.0.0.1:9").now(-2 * 86400, date_only=True) in {
        (before - timedelta(days=2)).date().isoformat(),
        (after - timedelta(days=2)).date().isoformat(),
    }
    date.fromisoformat(ApiSession("http://127.0.0.1:9").now(0, date_only=True))


def test_a_relative_time_compiles_to_a_call_of_api_now(api: Api) -> None:
    draft = _draft(
        {
            "starts_at": RelativeTimeValue(seconds=90_000),
            "day": RelativeTimeValue(seconds=-86_400, date_only=True),
        }
    )
    assert grounding_problems(draft, api) == []
    code = TestWriter(api).function(Hypothesis(**draft.model_dump()), "test_book")
    calls = {ast.unparse(n) for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)}
    assert "api.now(90000)" in calls
    assert "api.now(-86400, date_only=True)" in calls


@pytest.mark.parametrize(
    ("field", "value", "problem"),
    [
        ("minutes", RelativeTimeValue(seconds=60), "needs a string field"),
        ("day", RelativeTimeValue(seconds=60), "set date_only to true"),
    ],
)
def test_grounding_refuses_a_relative_time_where_no_date_goes(
    api: Api, field: str, value: RelativeTimeValue, problem: str
) -> None:
    problems = grounding_problems(_draft({"starts_at": RelativeTimeValue(seconds=60), field: value}), api)
    assert any(problem in p for p in problems), problems


def test_a_burst_expecting_429_is_marked_to_run_last(api: Api) -> None:
    burst = Hypothesis(**_draft({}, burst=True).model_dump())
    plain = Hypothesis(**_draft({"starts_at": RelativeTimeValue(seconds=60)}).model_dump())
    writer = TestWriter(api)
    assert "quota=True" in writer.function(burst, "test_burst")
    assert "quota" not in writer.function(plain, "test_plain")


def _item(name: str, **kwargs: Any) -> Any:
    mark = SimpleNamespace(kwargs=kwargs)
    return SimpleNamespace(
        name=name, get_closest_marker=lambda marker: mark if marker == "crossfield" else None
    )


def test_quota_tests_run_after_the_others_in_their_own_order() -> None:
    items = [_item("a", quota=True), _item("b"), _item("c", quota=True), _item("d", hypothesis="h")]
    quota_tests_last(items)
    assert [i.name for i in items] == ["b", "d", "a", "c"]


def test_the_generated_conftest_orders_the_collection(tmp_path: Path) -> None:
    from crossfield.codegen._files import CONFTEST

    tree = ast.parse(CONFTEST)
    hooks = {n.name: n for n in tree.body if isinstance(n, ast.FunctionDef)}
    assert "quota_tests_last(items)" in ast.unparse(hooks["pytest_collection_modifyitems"])


def test_now_at_a_time_of_day_counts_weekdays() -> None:
    api = ApiSession("http://127.0.0.1:9")
    days = [
        datetime.strptime(api.now(n * 86400, at="10:30", weekday=True), "%Y-%m-%dT%H:%M:%SZ").replace(
            tzinfo=UTC
        )
        for n in range(12)
    ]
    assert all((d.hour, d.minute) == (10, 30) and d.weekday() < 5 for d in days)
    assert days[0].date() >= datetime.now(UTC).date()
    for before, after in pairwise(days):
        gap = (after.date() - before.date()).days
        # the next weekday: a day later, or over a weekend from Friday to Monday
        assert gap == 1 or (before.weekday() == 4 and gap == 3)


def test_each_test_of_a_run_takes_its_own_days() -> None:
    first, third = ApiSession("http://127.0.0.1:9", lane=0), ApiSession("http://127.0.0.1:9", lane=2)
    a = date.fromisoformat(first.now(7 * 86400, date_only=True, lane_days=6))
    b = date.fromisoformat(third.now(7 * 86400, date_only=True, lane_days=6))
    assert (b - a).days == 12
    assert first.now(3600) == third.now(3600), "without lane_days the lane changes nothing"


def test_a_time_of_day_compiles_into_the_call(api: Api) -> None:
    value = RelativeTimeValue(seconds=7 * 86400, at="14:00", weekday=True)
    draft = _draft({"starts_at": value})
    assert grounding_problems(draft, api) == []
    code = TestWriter(api).function(Hypothesis(**draft.model_dump()), "test_book")
    assert "api.now(604800, at='14:00', weekday=True)" in {
        ast.unparse(n) for n in ast.walk(ast.parse(code)) if isinstance(n, ast.Call)
    }


def test_a_synthesized_body_starts_from_the_specs_valid_example(tmp_path: Path) -> None:
    spec = tmp_path / "openapi.yaml"
    spec.write_text(
        """
openapi: 3.0.3
info: {title: Clinic, version: "1"}
paths:
  /visits:
    post:
      operationId: bookVisit
      requestBody:
        required: true
        content:
          application/json:
            schema:
              type: object
              required: [id, starts_at, reason]
              properties:
                id: {type: string, readOnly: true}
                starts_at: {type: string, format: date-time}
                reason: {type: string}
                minutes: {type: integer}
            example: {starts_at: '2030-01-07T10:00:00Z', reason: checkup, minutes: 45}
      responses:
        "201": {description: booked}
"""
    )
    example_api = load_spec(spec, cache=False)
    assert example_api.operation("bookVisit").body_examples
    draft = _draft({"starts_at": RelativeTimeValue(seconds=86400)})
    draft.fields[1] = FieldRef(operation="bookVisit", path="body.reason")
    code = TestWriter(example_api).function(Hypothesis(**draft.model_dump()), "test_book")
    assert '"minutes": 45' in code and '"reason": "checkup"' in code
    assert "2030-01-07" not in code, "an override replaces the example's value"


def test_a_setup_step_is_compiled_with_setup_true(api: Api) -> None:
    draft = _draft({"starts_at": RelativeTimeValue(seconds=86400)})
    draft.steps[0] = draft.steps[0].model_copy(update={"setup": True})
    code = TestWriter(api).function(Hypothesis(**draft.model_dump()), "test_book")
    assert "setup=True" in code
    plain = TestWriter(api).function(Hypothesis(**_draft({}).model_dump()), "test_plain")
    assert "setup" not in plain


def test_the_setup_flag_changes_a_hypothesis_id_only_when_set() -> None:
    plain = _draft({})
    legacy = plain.model_dump(mode="json")
    for step in legacy["steps"]:
        del step["setup"]  # a hypothesis written before steps had the flag
    assert HypothesisDraft.model_validate(legacy).content_id() == plain.content_id()
    marked = plain.model_copy(update={"steps": [plain.steps[0].model_copy(update={"setup": True})]})
    assert marked.content_id() != plain.content_id()
