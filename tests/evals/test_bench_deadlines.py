"""Deadlines relative to now, end to end: the heuristic judge reads a lead time and a cut-off from the
clinic fixture's prose, the generated tests send instants relative to when they run, and the bench finds
both seeded bugs without a false alarm on the correct app."""

from __future__ import annotations

from pathlib import Path

import pytest

from crossfield.evals import BenchSettings, load_target, run_bench
from crossfield.judgment.heuristic import HeuristicJudge

CLINIC = Path(__file__).resolve().parents[1] / "fixtures" / "targets" / "clinic"

pytestmark = pytest.mark.slow


def test_lead_time_and_cut_off_bugs_are_detected(tmp_path: Path) -> None:
    settings = BenchSettings(baseline=False, jobs=2, work_dir=tmp_path)
    judge = HeuristicJudge(families=("deadlines",))
    report, _ = run_bench([load_target(CLINIC)], judge, settings=settings)
    target = report.targets[0]
    assert target.error is None
    detected = {b.id: b.detected for b in target.bugs}
    assert detected == {"lead-time-ignored": True, "late-cancellation-accepted": True}
    assert target.scores.false_alarms == 0
    assert target.scores.detecting_tests >= 2
