"""Scoring: which seeded bugs the generated suite detected, and which tests are false alarms.

The rule is differential on purpose. A test *detects* a bug when it passes on the correct app and fails
(or errors) on that bug's variant: a test that fails everywhere says nothing about the bug, and is
reported instead as a false alarm, because a test failing on a correct implementation is a defect of
crossfield's (a wrong hypothesis, a bad synthesized value, a codegen bug) that someone must explain.
Skipped and missing outcomes never count either way.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence

from crossfield.evals._report import (
    CORRECT,
    BugResult,
    DetectingTest,
    FalseAlarm,
    Outcome,
    Scores,
    Split,
    SuiteRun,
    TestOutcome,
    TestRecord,
)
from crossfield.evals._targets import Bug

FAILING: frozenset[Outcome] = frozenset({"failed", "error"})


def score_suites(
    bugs: Sequence[Bug],
    runs: Mapping[str, SuiteRun],
    titles: Mapping[str, tuple[str, str]],
) -> tuple[list[BugResult], list[FalseAlarm], list[TestRecord], Scores]:
    """Score suite runs keyed by variant (`correct` and each bug id).

    `titles` maps hypothesis id -> (title, category), for readable false alarms and detections."""
    correct = _by_nodeid(runs.get(CORRECT))
    variants = {bug.id: _by_nodeid(runs.get(bug.id)) for bug in bugs}
    nodeids = sorted(set(correct).union(*(set(v) for v in variants.values())))

    records: list[TestRecord] = []
    for nodeid in nodeids:
        base = correct.get(nodeid)
        hyp = base.hypothesis_id if base else _first_hypothesis(nodeid, variants)
        records.append(
            TestRecord(
                nodeid=nodeid,
                hypothesis_id=hyp,
                correct=base.outcome if base else "missing",
                variants={b: (v[nodeid].outcome if nodeid in v else "missing") for b, v in variants.items()},
            )
        )

    false_alarms = [
        FalseAlarm(
            nodeid=o.nodeid,
            hypothesis_id=o.hypothesis_id,
            hypothesis_title=titles.get(o.hypothesis_id or "", ("", ""))[0],
            category=titles.get(o.hypothesis_id or "", ("", None))[1] or None,
            outcome=o.outcome,
            message=o.message,
        )
        for o in sorted(correct.values(), key=lambda o: o.nodeid)
        if o.outcome in FAILING
    ]

    results: list[BugResult] = []
    for bug in bugs:
        on_variant = variants[bug.id]
        detecting = [
            DetectingTest(
                nodeid=nodeid,
                hypothesis_id=on_variant[nodeid].hypothesis_id,
                hypothesis_title=titles.get(on_variant[nodeid].hypothesis_id or "", ("", ""))[0],
                message=on_variant[nodeid].message,
            )
            for nodeid, base in sorted(correct.items())
            if base.outcome == "passed" and nodeid in on_variant and on_variant[nodeid].outcome in FAILING
        ]
        results.append(
            BugResult(
                id=bug.id,
                title=bug.title,
                category=bug.category,
                cross_field=bug.cross_field,
                detected=bool(detecting),
                detected_by=detecting,
                error=_run_problem(runs.get(bug.id), bool(correct)),
            )
        )

    scores = Scores(
        bugs=len(bugs),
        detected=sum(r.detected for r in results),
        false_alarms=len(false_alarms),
        unjudged=sum(o.outcome == "skipped" for o in correct.values()),
        detecting_tests=sum(len(r.detected_by) for r in results),
    )
    for r in results:
        _count(scores.by_cross_field, "cross_field" if r.cross_field else "single_field", r.detected)
        _count(scores.by_category, r.category, r.detected)
    return results, false_alarms, records, scores


def _run_problem(run: SuiteRun | None, suite_exists: bool) -> str | None:
    """Why a variant's outcomes cannot be trusted to be complete (None when they can)."""
    if not suite_exists:
        return None  # no suite at all: nothing to detect with, which is a score, not an error
    if run is None:
        return "the suite did not run against this variant"
    if run.error and not run.outcomes:
        return run.error.splitlines()[0]
    if run.timed_out:
        return "the suite timed out against this variant; tests that had not reported count as missing"
    return None


def _by_nodeid(run: SuiteRun | None) -> dict[str, TestOutcome]:
    return {o.nodeid: o for o in run.outcomes} if run is not None else {}


def _first_hypothesis(nodeid: str, variants: Mapping[str, Mapping[str, TestOutcome]]) -> str | None:
    for outcomes in variants.values():
        if nodeid in outcomes:
            return outcomes[nodeid].hypothesis_id
    return None


def _count(into: dict[str, Split], key: str, detected: bool) -> None:
    split = into.setdefault(key, Split())
    split.total += 1
    split.detected += int(detected)
