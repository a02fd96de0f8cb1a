"""The scoring rule, on hand-made outcomes: differential detection and false alarms."""

from __future__ import annotations

from crossfield.evals import SuiteRun, TestOutcome, score_suites
from crossfield.evals._targets import Bug


def _run(variant: str, **outcomes: str) -> SuiteRun:
    return SuiteRun(
        variant=variant,
        outcomes=[
            TestOutcome(nodeid=n, hypothesis_id=f"h_{n}", outcome=o, message=f"{n} {o}")  # type: ignore[arg-type]
            for n, o in outcomes.items()
        ],
    )


BUGS = [
    Bug("a", "A", "inter_parameter", (), (), True),
    Bug("b", "B", "input_validation", (), (), False),
    Bug("c", "C", "state_transition", (), (), True),
]


def test_detection_needs_pass_on_correct_and_fail_on_variant() -> None:
    runs = {
        "correct": _run("correct", t1="passed", t2="failed", t3="passed", t4="skipped"),
        "a": _run("a", t1="failed", t2="failed", t3="passed", t4="failed"),
        "b": _run("b", t1="passed", t2="failed", t3="error", t4="skipped"),
        "c": _run("c", t1="passed", t2="passed", t3="passed"),
    }
    bugs, false_alarms, records, scores = score_suites(
        BUGS, runs, {"h_t2": ("wrong claim", "arithmetic_invariant")}
    )
    by_id = {b.id: b for b in bugs}
    assert by_id["a"].detected and [d.nodeid for d in by_id["a"].detected_by] == ["t1"]
    assert by_id["a"].detected_by[0].message == "t1 failed"
    assert by_id["b"].detected, "an error on the variant counts as a failure"
    assert not by_id["c"].detected, "a test failing on the correct app never detects anything"
    assert [f.nodeid for f in false_alarms] == ["t2"]
    assert false_alarms[0].hypothesis_title == "wrong claim" and false_alarms[0].message == "t2 failed"
    assert scores.bugs == 3 and scores.detected == 2 and scores.false_alarms == 1
    assert scores.unjudged == 1, "t4 skipped on the correct app: its claim was not evaluated"
    assert scores.by_cross_field["cross_field"].model_dump() == {"total": 2, "detected": 1, "rate": 0.5}
    assert scores.by_category["input_validation"].detected == 1
    t4 = next(r for r in records if r.nodeid == "t4")
    assert t4.correct == "skipped" and t4.variants["c"] == "missing"
    assert all(b.error is None for b in bugs)


def test_missing_run_detects_nothing() -> None:
    runs = {"correct": _run("correct", t1="passed")}
    bugs, _, _, scores = score_suites(BUGS, runs, {})
    assert not any(b.detected for b in bugs) and scores.detected == 0
    assert all(b.error == "the suite did not run against this variant" for b in bugs), (
        "and says it was not scored"
    )
    runs["a"] = SuiteRun(variant="a", error="pytest wrote no report (exit code 3):\nImportError")
    bugs, _, _, _ = score_suites(BUGS, runs, {})
    assert bugs[0].error == "pytest wrote no report (exit code 3):"
