"""The schemathesis peer baseline: command, report parsing, differential scoring, and a real bounded run."""

from __future__ import annotations

from pathlib import Path

import pytest
from evals_support import TINY

from crossfield.evals import (
    BaselineRun,
    BaselineSettings,
    BenchSettings,
    load_target,
    parse_schemathesis_report,
    run_bench,
)
from crossfield.evals._baseline import operation_labels, schemathesis_command, score_baseline
from crossfield.evals._report import BaselineSignature
from crossfield.judgment.base import ScriptedJudge
from crossfield.spec import load_spec


def test_command_uses_all_checks_phases_identity_and_bounds(tmp_path: Path) -> None:
    cmd = schemathesis_command(
        load_target(TINY), "http://127.0.0.1:1", tmp_path / "r.json", BaselineSettings(max_examples=7)
    )
    joined = " ".join(cmd)
    assert "--checks all" in joined and "--phases examples,coverage,fuzzing,stateful" in joined
    assert "--max-examples 7" in joined and "--generation-deterministic" in joined
    assert cmd[cmd.index("-H") + 1] == "Authorization: Bearer tiny-token"


def test_parse_and_score_signatures() -> None:
    report = {
        "failures": [
            {
                "code": "ST202",
                "title": "Schema-valid request rejected",
                "operations": ["POST /items", "Stateful tests"],
            },
            {"code": "ST201", "title": "Schema-invalid request accepted", "operations": ["POST /items"]},
        ],
        "errors": [],
    }
    sigs = parse_schemathesis_report(report)
    assert [s.key for s in sigs] == ["ST201 POST /items", "ST202 POST /items", "ST202 Stateful tests"]
    target = load_target(TINY)
    correct = BaselineRun(variant="correct", signatures=[s for s in sigs if s.check == "ST202"])
    runs = {"correct": correct, "negative-price-accepted": BaselineRun(variant="x", signatures=sigs)}
    labels = operation_labels(load_spec(target.spec_path, cache=False))
    assert labels["createItem"] == "POST /items"
    result = score_baseline(target, runs, 1.0, [], labels)
    by_id = {b.id: b for b in result.bugs}
    assert by_id["negative-price-accepted"].detected
    assert [s.key for s in by_id["negative-price-accepted"].new_signatures] == ["ST201 POST /items"]
    assert not by_id["discount-exceeds-price"].detected, "a variant that did not run detects nothing"
    assert len(result.false_alarms) == 2 and result.error is None


def test_new_signature_on_an_unrelated_operation_is_noise() -> None:
    target = load_target(TINY)
    labels = operation_labels(load_spec(target.spec_path, cache=False))
    unrelated = BaselineSignature(check="ST201", operation="DELETE /items/{item_id}")
    stateful_known = BaselineSignature(check="ST202", operation="Stateful tests")
    correct = BaselineRun(
        variant="correct", signatures=[BaselineSignature(check="ST202", operation="POST /items")]
    )
    runs = {
        "correct": correct,
        "negative-price-accepted": BaselineRun(variant="x", signatures=[unrelated, stateful_known]),
    }
    (bug,) = [
        b for b in score_baseline(target, runs, 1.0, [], labels).bugs if b.id == "negative-price-accepted"
    ]
    assert not bug.detected and len(bug.new_signatures) == 2
    stateful_new = BaselineSignature(check="ST108", operation="Stateful tests")
    runs["negative-price-accepted"] = BaselineRun(variant="x", signatures=[stateful_new])
    (bug,) = [
        b for b in score_baseline(target, runs, 1.0, [], labels).bugs if b.id == "negative-price-accepted"
    ]
    assert bug.detected


def test_an_incomplete_correct_run_scores_nothing() -> None:
    target = load_target(TINY)
    runs = {
        "correct": BaselineRun(variant="correct", timed_out=True),
        "negative-price-accepted": BaselineRun(
            variant="x", signatures=[BaselineSignature(check="ST201", operation="POST /items")]
        ),
    }
    result = score_baseline(target, runs, 1.0, [], {"createItem": "POST /items"})
    assert result.error and "timed out" in result.error
    assert not any(b.detected for b in result.bugs)


@pytest.mark.slow
def test_schemathesis_runs_on_the_tiny_target(tmp_path: Path) -> None:
    settings = BenchSettings(
        baseline=True, jobs=2, schemathesis=BaselineSettings(max_examples=3, timeout_s=120), work_dir=tmp_path
    )
    report, _ = run_bench([load_target(TINY)], ScriptedJudge([[]]), settings=settings)
    baseline = report.targets[0].baseline
    assert baseline is not None and baseline.version
    assert [r.variant for r in baseline.runs] == [
        "correct",
        "discount-exceeds-price",
        "delete-twice-succeeds",
        "negative-price-accepted",
    ]
    assert all(r.error is None and not r.timed_out for r in baseline.runs), [r.error for r in baseline.runs]
    assert baseline.error is None
    assert {b.id for b in baseline.bugs} == {b.id for b in report.targets[0].bugs}
    assert report.overall.baseline_detected is not None and report.overall.baseline_false_alarms is not None
    assert "[redacted]" in " ".join(baseline.command)
    assert all(b.baseline_detected is not None for b in report.targets[0].bugs)
