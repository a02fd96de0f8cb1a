"""The heuristic judge on small specs written for these tests (a library-loans API, a shipments API and
a spec with nothing cross-field in it), never on the benchmark targets' domains."""

from __future__ import annotations

import time
from collections import Counter
from pathlib import Path

import pytest

from crossfield.judgment.base import Judge
from crossfield.judgment.grounding import expects_success, grounding_problems
from crossfield.judgment.heuristic import (
    RULESET_VERSION,
    HeuristicConfig,
    HeuristicJudge,
    ruleset_hash,
    select,
)
from crossfield.judgment.heuristic import judge as heuristic_judge
from crossfield.judgment.models import (
    Category,
    CollectionExpectation,
    ConstraintKind,
    GroupExpectation,
    Hypothesis,
    RelationExpectation,
    RelativeTimeValue,
    SameResponseExpectation,
    StatusExpectation,
    Step,
)
from crossfield.spec import Api, load_spec

HERE = Path(__file__).parent
SHARED = HERE.parents[2].parent / "shared" / "corpora"


@pytest.fixture(scope="module")
def library() -> Api:
    return load_spec(HERE / "library.yaml")


@pytest.fixture(scope="module")
def library_hyps(library: Api) -> list[Hypothesis]:
    result = HeuristicJudge(per_operation=10, max_hypotheses=200).judge(library)
    assert result.dropped == []
    return result.hypotheses


def _rejects(step: Step) -> bool:
    return any(isinstance(e, StatusExpectation) and e.band == "4xx" for e in step.expect)


def _by_title(hyps: list[Hypothesis], *words: str) -> Hypothesis:
    found = [h for h in hyps if all(w in h.title for w in words)]
    assert found, f"no hypothesis with {words}: {[h.title for h in hyps]}"
    return found[0]


def test_is_a_judge_with_provenance(library: Api) -> None:
    judge = HeuristicJudge()
    assert isinstance(judge, Judge)
    result = judge.judge(library)
    assert result.judge == "heuristic" and result.prompt_id == "heuristic-v1" and result.prompt_hash
    for h in result.hypotheses:
        assert h.provenance.judge == "heuristic"
        assert h.provenance.spec_hash == library.content_hash
        assert h.provenance.api_version == "1.0.0"


def test_exposes_the_rule_set_version_and_hash_it_stamps(
    library: Api, monkeypatch: pytest.MonkeyPatch
) -> None:
    judge = HeuristicJudge()
    assert judge.prompt_id == RULESET_VERSION == "heuristic-v1"
    assert judge.prompt_hash == ruleset_hash() and len(judge.prompt_hash) == 16
    result = judge.judge(library)
    assert (result.prompt_id, result.prompt_hash) == (judge.prompt_id, judge.prompt_hash)
    assert {(h.provenance.prompt_id, h.provenance.prompt_hash) for h in result.hypotheses} == {
        (judge.prompt_id, judge.prompt_hash)
    }
    monkeypatch.setattr(heuristic_judge, "ruleset_hash", lambda: "f" * 16)  # as if a rule had changed
    assert judge.prompt_hash == "f" * 16
    assert {h.provenance.prompt_hash for h in judge.judge(library).hypotheses} == {"f" * 16}


def test_every_hypothesis_is_grounded_and_controlled(library: Api, library_hyps: list[Hypothesis]) -> None:
    assert library_hyps
    for h in library_hyps:
        assert grounding_problems(h.draft(), library) == []
        rejected = [s for s in h.steps if _rejects(s)]
        for step in rejected:
            # a positive control: some step of the same operation is expected to succeed
            assert any(
                expects_success(s) and s.operation == step.operation for s in h.steps if s is not step
            ), h.title


def test_categories_covered(library_hyps: list[Hypothesis]) -> None:
    cats = Counter(h.category for h in library_hyps)
    for cat in (
        Category.INTER_PARAMETER,
        Category.STATE_TRANSITION,
        Category.IDEMPOTENCY,
        Category.ARITHMETIC_INVARIANT,
        Category.PAGINATION,
        Category.CONCURRENCY,
        Category.AUTHORIZATION,
        Category.TEMPORAL_ORDERING,
        Category.RATE_LIMITING,
    ):
        assert cats[cat] >= 1, cat


def test_over_limit_creates_the_referenced_object_first(library_hyps: list[Hypothesis]) -> None:
    h = _by_title(library_hyps, "borrow", "above the book")
    assert h.category is Category.ARITHMETIC_INVARIANT
    first = h.steps[0]
    assert first.operation == "addBook"
    assert first.body is not None and first.body.overrides["copies_available"].model_dump() == {
        "kind": "literal",
        "value": 5,
    }
    over, at = h.steps[1], h.steps[2]
    assert _rejects(over) and expects_success(at)
    assert over.body is not None and over.body.overrides["copies"].model_dump()["value"] == 6
    assert over.body.overrides["book_id"].model_dump() == {
        "kind": "captured",
        "name": first.captures[0].name,
        "plus": None,
    }


def test_mutual_exclusion_from_prose(library_hyps: list[Hypothesis]) -> None:
    h = _by_title(library_hyps, "addBook", "mutually exclusive")
    assert h.constraint_kind is ConstraintKind.ZERO_OR_ONE
    both, control = h.steps
    assert _rejects(both) and expects_success(control)
    assert both.body is not None and {"shelf_code", "storage_box"} <= set(both.body.overrides)
    assert control.body is not None and "storage_box" not in control.body.overrides


def test_temporal_dates_are_ordered_and_violated(library_hyps: list[Hypothesis]) -> None:
    h = _by_title(library_hyps, "borrow", "`due_on` before `starts_on`")
    bad, good = [s for s in h.steps if s.operation == "borrow"]
    assert bad.body is not None and good.body is not None
    b = {k: _instant(v) for k, v in bad.body.overrides.items() if k in ("due_on", "starts_on")}
    g = {k: _instant(v) for k, v in good.body.overrides.items() if k in ("due_on", "starts_on")}
    assert b["due_on"] < b["starts_on"] and g["due_on"] > g["starts_on"]


def test_state_second_cancel_and_after_terminal(library_hyps: list[Hypothesis]) -> None:
    twice = _by_title(library_hyps, "second cancel")
    ops = [s.operation for s in twice.steps]
    assert ops[:2] == ["addBook", "borrow"] and ops.count("cancelLoan") == 2
    assert any(isinstance(e, RelationExpectation) for e in twice.steps[-1].expect)
    after = _by_title(library_hyps, "renewLoan", "after `cancel`")
    renews = [s for s in after.steps if s.operation == "renewLoan"]
    assert expects_success(renews[0]) and _rejects(renews[1])


def test_idempotency_replay_and_reuse(library_hyps: list[Hypothesis]) -> None:
    replay = _by_title(library_hyps, "retry with the same")
    first, again = [s for s in replay.steps if s.operation == "borrow"]
    assert first.params["header.Idempotency-Key"] == again.params["header.Idempotency-Key"]
    assert first.body == again.body
    assert any(isinstance(e, SameResponseExpectation) for e in again.expect)
    reuse = _by_title(library_hyps, "reusing")
    steps = [s for s in reuse.steps if s.operation == "borrow"]
    assert [expects_success(s) for s in steps] == [True, False, True]


def test_pagination_walk(library_hyps: list[Hypothesis]) -> None:
    h = _by_title(library_hyps, "listBooks", "exactly once")
    walk = h.steps[-1]
    assert (
        walk.paginate is not None
        and walk.paginate.style == "offset"
        and walk.paginate.total_pointer == "/total_count"
    )
    assert walk.paginate.items_pointer == "/items"
    checks = {e.check for e in walk.expect if isinstance(e, CollectionExpectation)}
    assert checks == {"each_once", "count_equals_total"}
    assert sum(1 for s in h.steps if s.operation == "addBook") == 5


def test_concurrency_and_authorization(library_hyps: list[Hypothesis]) -> None:
    conc = _by_title(library_hyps, "concurrent")
    group = next(s for s in conc.steps if s.concurrent > 1)
    assert any(isinstance(e, GroupExpectation) and e.max_count == 3 for e in group.expect)
    auth = _by_title(library_hyps, "cancelLoan", "another identity")
    identities = [s.identity for s in auth.steps]
    assert "other" in identities and identities[0] == "default"
    assert expects_success(auth.steps[-1]) and auth.steps[-1].identity == "default"


def test_identity_names_are_configurable(library: Api) -> None:
    result = HeuristicJudge(HeuristicConfig(identities=("default", "second_user"))).judge(library)
    used = {s.identity for h in result.hypotheses for s in h.steps}
    assert "second_user" in used and "other" not in used


def test_shipments_relations() -> None:
    api = load_spec(HERE / "shipments.yaml")
    hyps = HeuristicJudge().judge(api).hypotheses
    titles = [h.title for h in hyps]
    one = _by_title(hyps, "exactly one of")
    assert one.constraint_kind is ConstraintKind.ONLY_ONE and len(one.steps) == 3
    req = _by_title(hyps, "`insured_value` requires `insurance_currency`")
    assert _rejects(req.steps[0]) and expects_success(req.steps[1])
    assert any("pickup_window_end" in t for t in titles)


def test_nothing_to_say_on_a_plain_spec() -> None:
    api = load_spec(HERE / "plain.yaml")
    result = HeuristicJudge().judge(api)
    assert result.hypotheses == [] and result.dropped == []


def test_deterministic(library: Api) -> None:
    a = HeuristicJudge().judge(library).hypotheses
    b = HeuristicJudge().judge(library).hypotheses
    assert [h.id for h in a] == [h.id for h in b]


def test_ranking_and_caps(library: Api) -> None:
    judge = HeuristicJudge(per_operation=1, max_hypotheses=100)
    hyps = judge.judge(library).hypotheses
    ops = Counter(h.steps[-1].operation for h in hyps)
    assert hyps and all(n >= 1 for n in ops.values())
    cands = judge.candidates(library)
    chosen = select(cands, per_operation=1, limit=3)
    assert len(chosen) == 3
    assert [d.score for d in chosen] == sorted((d.score for d in chosen), reverse=True)
    per_op = Counter(c.operation for c in cands if c.draft in chosen)
    assert max(per_op.values()) == 1


def _corpus() -> list[Path]:
    files = sorted((SHARED / "real-specs").glob("*")) if (SHARED / "real-specs").is_dir() else []
    stripe = SHARED / "stripe" / "spec3-2023-08-10.yaml"
    return [*files, stripe] if stripe.exists() else files


@pytest.mark.shared
@pytest.mark.slow
@pytest.mark.parametrize(
    "path",
    _corpus() or [pytest.param(None, marks=pytest.mark.skip(reason="../shared/corpora is absent"))],
    ids=lambda p: p.name if p else "absent",
)
def test_runs_on_shared_corpora(path: Path) -> None:
    api = load_spec(path)
    start = time.monotonic()
    result = HeuristicJudge().judge(api)
    assert time.monotonic() - start < 10
    assert result.dropped == []
    for h in result.hypotheses:
        assert grounding_problems(h.draft(), api) == []


def _instant(value: object) -> tuple[int, str]:
    """A scenario date, comparable with another: days from the run, then the time of day."""
    assert isinstance(value, RelativeTimeValue), value
    return value.seconds, value.at or ""
