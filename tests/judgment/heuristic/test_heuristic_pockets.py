"""The heuristic judge on `pockets.yaml`, a small spec written for these tests: a value that must match
the object in the path, a list filled only by sibling operations, and spends against a funded balance."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.codegen import compile_hypotheses
from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.models import (
    CapturedValue,
    CollectionExpectation,
    GroupExpectation,
    Hypothesis,
    LiteralValue,
    StatusExpectation,
    Step,
    UniqueValue,
)
from crossfield.spec import Api, load_spec

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def pockets() -> Api:
    return load_spec(HERE / "pockets.yaml")


@pytest.fixture(scope="module")
def hyps(pockets: Api) -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(pockets)
    assert result.dropped == []
    return result.hypotheses


def _titled(hyps: list[Hypothesis], *words: str) -> Hypothesis:
    found = [h for h in hyps if all(w in h.title for w in words)]
    assert found, f"no hypothesis with {words}: {[h.title for h in hyps]}"
    return found[0]


def _band(step: Step) -> str | None:
    return next((e.band for e in step.expect if isinstance(e, StatusExpectation)), None)


def _literal(step: Step, name: str) -> object:
    assert step.body is not None
    value = step.body.overrides[name]
    assert isinstance(value, LiteralValue)
    return value.value


def test_a_value_that_must_match_the_path_object_is_checked_against_it_alone(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "payOut", "`currency` other than the pocket's")
    pays = [s for s in h.steps if s.operation == "payOut"]
    assert [_band(s) for s in pays] == ["2xx", "4xx"]  # the control first
    control, violation = pays
    assert _literal(control, "currency") != _literal(violation, "currency")
    # the target pocket is a fresh one in the second currency, so only the source pocket disagrees
    target = violation.body.overrides["targetPocketId"] if violation.body else None
    assert isinstance(target, CapturedValue)
    made = next(s for s in h.steps if any(c.name == target.name for c in s.captures))
    assert made.operation == "createPocket" and _literal(made, "currency") == _literal(violation, "currency")
    assert violation.params["path.pocketId"] == control.params["path.pocketId"]
    # a refused request has no id to keep, and is a new request (its own idempotency key), not a replay
    assert violation.captures == []
    key_a, key_b = control.params["header.Idempotency-Key"], violation.params["header.Idempotency-Key"]
    assert isinstance(key_a, UniqueValue) and isinstance(key_b, UniqueValue) and key_a.name != key_b.name
    # a top-up has no other object: sending another currency than its pocket's must be refused
    top_up = _titled(hyps, "topUpPocket", "`currency` other than the pocket's")
    assert [_band(s) for s in top_up.steps if s.operation == "topUpPocket"] == ["2xx", "4xx"]


def test_a_list_filled_by_sibling_creates_is_walked(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "listEntries", "walking all pages")
    assert sum(s.operation in ("topUpPocket", "payOut") for s in h.steps) == 5
    one_page, walk = [s for s in h.steps if s.operation == "listEntries"]
    assert one_page.paginate is None and walk.paginate is not None
    checks = {e.check: e for e in walk.expect if isinstance(e, CollectionExpectation)}
    assert set(checks) == {"each_once", "count_delta"}
    assert checks["count_delta"].baseline_step == one_page.id and checks["count_delta"].delta == 0


def test_simultaneous_spends_against_an_exactly_funded_balance(pockets: Api, hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "payOut", "simultaneous requests never spend more")
    fund = [s for s in h.steps if s.operation == "topUpPocket"]
    assert len(fund) == 1 and _literal(fund[0], "amount") == 100  # exactly: no generous top-up
    rush = next(s for s in h.steps if s.concurrent > 1)
    assert _literal(rush, "amount") == 60
    groups = [e for e in rush.expect if isinstance(e, GroupExpectation)]
    assert groups and groups[0].max_count == 1
    # each simultaneous request gets its own idempotency key in the generated test
    assert "header.Idempotency-Key" not in rush.params
    text = "\n".join(compile_hypotheses([h], pockets).values())
    assert "fresh_headers=['Idempotency-Key']" in text or 'fresh_headers=["Idempotency-Key"]' in text
