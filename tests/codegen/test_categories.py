"""End to end, for every category of the taxonomy: a hand-written hypothesis, compiled to a suite, run
with pytest against a real server (uvicorn on 127.0.0.1) passes on the correct app and fails, for the
right reason, on the app with the seeded bug."""

from __future__ import annotations

import codegen_shop_hypotheses as shop_hyps
import pytest
from codegen_support import ShopRuns

from crossfield.judgment.models import Category, ConstraintKind

CASES = shop_hyps.cases()
IDS = [c.bug for c in CASES]

pytestmark = pytest.mark.slow


def test_every_category_has_a_case() -> None:
    covered = {c.hypothesis.category for c in CASES}
    assert covered == set(Category)
    kinds = {c.hypothesis.constraint_kind for c in CASES}
    assert {ConstraintKind.ONLY_ONE, ConstraintKind.REQUIRES} <= kinds
    assert len({c.bug for c in CASES}) == len(CASES), "each case targets its own seeded bug"


def test_one_test_per_hypothesis(shop_runs: ShopRuns) -> None:
    assert set(shop_runs.suite.tests) == {c.hypothesis.id for c in CASES}
    assert shop_runs.correct.report["summary"]["tests"] == len(CASES)


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_passes_against_the_correct_app(shop_runs: ShopRuns, case: shop_hyps.Case) -> None:
    run = shop_runs.correct
    assert run.outcome(case.hypothesis.id) == "passed", run.message(case.hypothesis.id) + run.stdout[-3000:]


@pytest.mark.parametrize("case", CASES, ids=IDS)
def test_fails_against_the_buggy_app_for_the_right_reason(shop_runs: ShopRuns, case: shop_hyps.Case) -> None:
    run = shop_runs.buggy
    message = run.message(case.hypothesis.id)
    assert run.outcome(case.hypothesis.id) == "failed", message
    assert case.hypothesis.id in message, "the failure names the hypothesis"
    assert case.hypothesis.title in message, "the failure says what was claimed"
    assert case.failure in message
    assert "Schema drift" not in message and "server error" not in message


def test_suite_exit_codes(shop_runs: ShopRuns) -> None:
    assert shop_runs.correct.returncode == 0, shop_runs.correct.stdout[-3000:]
    assert shop_runs.buggy.returncode == 1


def test_every_exchange_was_recorded(shop_runs: ShopRuns) -> None:
    report = shop_runs.correct.report
    exchanges = report["exchanges"]
    assert report["summary"]["exchanges"] == len(exchanges) > len(CASES)
    per_test = {t["test_id"]: t["exchanges"] for t in report["tests"]}
    assert all(n >= 1 for n in per_test.values())
    assert sum(per_test.values()) == len(exchanges)
    concurrent = [e for e in exchanges if e["step"] == "purchases"]
    assert len(concurrent) == 8
    assert {e["hypothesis_id"] for e in exchanges} <= {c.hypothesis.id for c in CASES}
    login = [e for e in exchanges if e["step"] == "login"]
    assert len(login) == 1, "carol logs in once per run, then the token is reused"
