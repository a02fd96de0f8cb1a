"""The heuristic judge on `parking.yaml`, a small spec written for these tests: resources split across
paths, custom-method actions, ids that only the caller's profile tells, funded balances, back-dated
records and per-caller holding limits."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.judgment.heuristic import HeuristicJudge
from crossfield.judgment.heuristic._analysis import Analysis, analyze
from crossfield.judgment.models import Hypothesis, LiteralValue, StatusExpectation, Step
from crossfield.spec import Api, load_spec

HERE = Path(__file__).parent


@pytest.fixture(scope="module")
def parking() -> Api:
    return load_spec(HERE / "parking.yaml")


@pytest.fixture(scope="module")
def analysis(parking: Api) -> Analysis:
    return analyze(parking)


@pytest.fixture(scope="module")
def hyps(parking: Api) -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(parking)
    assert result.dropped == []
    return result.hypotheses


def _titled(hyps: list[Hypothesis], *words: str) -> Hypothesis:
    found = [h for h in hyps if all(w in h.title for w in words)]
    assert found, f"no hypothesis with {words}: {[h.title for h in hyps]}"
    return found[0]


def _rejects(step: Step) -> bool:
    return any(isinstance(e, StatusExpectation) and e.band == "4xx" for e in step.expect)


def test_a_plural_collection_named_like_a_profile_is_not_a_singleton(analysis: Analysis) -> None:
    accounts = analysis.resources["/accounts"]
    assert not accounts.singleton
    assert accounts.create is not None and accounts.get is not None


def test_nested_create_and_top_level_item_paths_are_one_resource(analysis: Analysis) -> None:
    permits = analysis.resources["/drivers/{driverId}/permits"]
    assert permits.get is not None and permits.get.id == "getPermit"
    assert [(a.verb, a.op.id) for a in permits.actions] == [("revoke", "revokePermit")]
    assert "/permits" not in analysis.resources


def test_parent_id_from_the_callers_profile(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "revokePermit", "second revoke")
    first = h.steps[0]
    assert first.operation == "whoAmI" and first.captures[0].pointer == "/driverId"
    create = next(s for s in h.steps if s.operation == "issuePermit")
    assert create.params["path.driverId"].kind == "captured"


def test_nested_collection_under_another_identity_is_refused(hyps: list[Hypothesis]) -> None:
    for op in ("issuePermit", "listPermits"):
        h = _titled(hyps, op, "someone else's `driverId`")
        calls = [s for s in h.steps if s.operation == op]
        assert len(calls) == 2
        violation, control = calls
        assert _rejects(violation) and violation.identity != control.identity
        assert violation.params["path.driverId"] == control.params["path.driverId"]
        assert not _rejects(control)


def test_back_dated_records_get_past_dates_on_both_sides(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "issuePermit", "before")
    for step in h.steps:
        if step.operation != "issuePermit" or step.body is None:
            continue
        dates = [v for k, v in step.body.overrides.items() if k.startswith("valid")]
        assert len(dates) == 2
        assert all(isinstance(v, LiteralValue) and str(v.value) < "2025" for v in dates)


def test_spending_from_a_balance_funds_it_first(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "payWithCard", "retry")
    ops = [s.operation for s in h.steps]
    assert ops.index("topUpCard") < ops.index("payWithCard")
    assert ops.count("topUpCard") == 1


def test_a_shared_catalogue_with_an_author_is_not_owned(hyps: list[Hypothesis]) -> None:
    assert not [h for h in hyps if h.category.value == "authorization" and "zone" in h.title]


def test_objects_under_a_holding_limit_are_released(hyps: list[Hypothesis]) -> None:
    h = _titled(hyps, "getPermit", "another identity")
    creates = [s for s in h.steps if s.operation == "issuePermit"]
    releases = [s for s in h.steps if s.operation == "revokePermit"]
    assert creates and len(releases) == len(creates)
    assert h.steps[-1].operation == "revokePermit"
