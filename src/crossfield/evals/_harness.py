"""The bench harness: judge -> accept -> codegen -> run the suite (and schemathesis) against the correct
app and every single-bug variant -> score.

Every run gets a fresh app from `create_app(bugs)`, served by uvicorn on its own free port, because
generated tests create resources and a variant must never see state (or a rate-limit counter) left by
another. Runs are spread over a small thread pool (the work happens in subprocesses; the threads only
serve apps and wait), sized for CI's two cores.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Callable, Iterator, Sequence
from concurrent.futures import Future, ThreadPoolExecutor
from contextlib import contextmanager
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

from crossfield._version import __version__
from crossfield.evals._baseline import BaselineSettings, operation_labels, run_schemathesis, score_baseline
from crossfield.evals._pipeline import compile_suite
from crossfield.evals._report import (
    CORRECT,
    BaselineRun,
    BenchReport,
    BugResult,
    HypothesisCounts,
    Scores,
    SuiteRun,
    TargetResult,
    Usage,
    merge_scores,
)
from crossfield.evals._scoring import score_suites
from crossfield.evals._suite import run_suite
from crossfield.evals._targets import Target
from crossfield.feedback import Store
from crossfield.judgment.base import Judge, JudgeResult
from crossfield.judgment.models import Hypothesis
from crossfield.spec.loader import load_spec

Progress = Callable[[str], None]


def _quiet(_: str) -> None:
    return None


@dataclass(frozen=True, slots=True)
class BenchSettings:
    """Knobs of a bench run. The defaults fit CI: two runs at a time, bounded suites and baseline."""

    jobs: int = 2
    suite_timeout_s: float = 180.0
    baseline: bool = True
    schemathesis: BaselineSettings = field(default_factory=BaselineSettings)
    only_accepted: bool = False
    """Compile only the hypotheses accepted in the store (human decisions), not every grounded one."""
    work_dir: Path | None = None
    """Where suites and reports go; a temporary directory (removed afterwards) when None."""


@dataclass(slots=True)
class TargetRun:
    """What benchmarking one target produced, beyond the report: for cells and rescoring."""

    result: TargetResult
    hypotheses: list[Hypothesis]
    judge_result: JudgeResult | None = None
    judge_run_id: str | None = None


@contextmanager
def work_directory(settings: BenchSettings) -> Iterator[Path]:
    if settings.work_dir is not None:
        settings.work_dir.mkdir(parents=True, exist_ok=True)
        yield settings.work_dir
        return
    tmp = Path(tempfile.mkdtemp(prefix="crossfield-bench-"))
    try:
        yield tmp
    finally:
        shutil.rmtree(tmp, ignore_errors=True)


def bench_target(
    target: Target,
    *,
    judge: Judge | None = None,
    hypotheses: Sequence[Hypothesis] | None = None,
    settings: BenchSettings,
    work_dir: Path,
    store: Store | None = None,
    progress: Progress = _quiet,
) -> TargetRun:
    """Benchmark one target with `judge`, or with given `hypotheses` (rescoring: no judge is called)."""
    started = time.monotonic()
    result = TargetResult(name=target.name, root=str(target.root))
    scores = result.scores
    run = TargetRun(result=result, hypotheses=[])
    try:
        api = load_spec(target.spec_path, cache=False)
        result.spec_hash = api.content_hash
        if hypotheses is None:
            if judge is None:
                raise ValueError("bench_target needs a judge or hypotheses")
            progress(f"{target.name}: judging with {judge.name}")
            t = time.monotonic()
            judged = judge.judge(api)
            scores.timing.judge_s = round(time.monotonic() - t, 3)
            run.judge_result = judged
            scores.usage = _usage(judged)
            scores.hypotheses = HypothesisCounts(
                emitted=len(judged.hypotheses) + len(judged.dropped), grounded=len(judged.hypotheses)
            )
            if store is not None:
                run.judge_run_id = store.record_judge_run(judged)
            accepted = (
                store.accepted_hypotheses(spec_hash=api.content_hash)
                if settings.only_accepted and store is not None
                else list(judged.hypotheses)
            )
        else:
            accepted = list(hypotheses)
            scores.hypotheses = HypothesisCounts(emitted=len(accepted), grounded=len(accepted))
        run.hypotheses = accepted
        scores.hypotheses.accepted = len(accepted)

        target_dir = work_dir / target.name
        t = time.monotonic()
        suite = compile_suite(accepted, api, target_dir / "suite", target.config_path)
        scores.timing.codegen_s = round(time.monotonic() - t, 3)
        scores.hypotheses.compiled = len(suite.compiled_ids)
        scores.hypotheses.tests = suite.test_count
        result.hypothesis_ids = sorted(suite.compiled_ids)
        progress(f"{target.name}: {len(accepted)} hypotheses -> {suite.test_count} tests; running variants")

        suite_runs, baseline_runs, command = _run_variants(
            target, suite.path if suite.test_count else None, settings, target_dir
        )
        titles = {h.id: (h.title, h.category.value) for h in accepted}
        bugs, false_alarms, records, suite_scores = score_suites(target.bugs, suite_runs, titles)
        result.bugs, result.false_alarms, result.tests = bugs, false_alarms, records
        result.runs = [suite_runs[k] for k in [CORRECT, *(b.id for b in target.bugs)] if k in suite_runs]
        _fold(scores, suite_scores)
        scores.timing.suites_s = round(sum(r.duration_s for r in suite_runs.values()), 3)
        if baseline_runs:
            wall = sum(r.duration_s for r in baseline_runs.values())
            result.baseline = score_baseline(target, baseline_runs, wall, command, operation_labels(api))
            scores.timing.baseline_s = round(wall, 3)
            by_id = {b.id: b.detected for b in result.baseline.bugs}
            for bug in result.bugs:
                bug.baseline_detected = by_id.get(bug.id)
            scores.baseline_detected = sum(by_id.values())
            scores.baseline_false_alarms = len(result.baseline.false_alarms)
    except Exception as exc:  # one broken target must not sink a benchmark of five
        result.error = f"{type(exc).__name__}: {exc}"
        progress(f"{target.name}: FAILED: {result.error}")
        if not result.bugs:
            result.bugs = [
                BugResult(
                    id=b.id, title=b.title, category=b.category, cross_field=b.cross_field, detected=False
                )
                for b in target.bugs
            ]
            scores.bugs = len(target.bugs)
    scores.timing.total_s = round(time.monotonic() - started, 3)
    return run


def _usage(judged: JudgeResult) -> Usage:
    u = judged.usage
    return Usage(
        llm_calls=int(u.get("calls", 0)),
        cached_calls=int(u.get("cached_calls", 0)),
        input_tokens=int(u.get("input_tokens", 0)),
        output_tokens=int(u.get("output_tokens", 0)),
        cost_usd=float(u.get("cost_usd", 0.0)),
    )


def _fold(into: Scores, suite: Scores) -> None:
    into.bugs, into.detected, into.false_alarms = suite.bugs, suite.detected, suite.false_alarms
    into.unjudged = suite.unjudged
    into.detecting_tests = suite.detecting_tests
    into.by_cross_field, into.by_category = suite.by_cross_field, suite.by_category


def _run_variants(
    target: Target, suite_dir: Path | None, settings: BenchSettings, target_dir: Path
) -> tuple[dict[str, SuiteRun], dict[str, BaselineRun], list[str]]:
    """Every variant's suite run and schemathesis run, at most `settings.jobs` at a time."""
    variants = [(CORRECT, frozenset[str]()), *((b.id, frozenset({b.id})) for b in target.bugs)]
    reports = target_dir / "reports"
    reports.mkdir(parents=True, exist_ok=True)
    suite_futures: dict[str, Future[SuiteRun]] = {}
    base_futures: dict[str, Future[tuple[BaselineRun, list[str]]]] = {}
    with ThreadPoolExecutor(max_workers=max(1, settings.jobs), thread_name_prefix="bench") as pool:
        for variant, bugs in variants:
            if suite_dir is not None:
                suite_futures[variant] = pool.submit(
                    _suite_task, target, bugs, variant, suite_dir, reports / f"suite-{variant}.json", settings
                )
            if settings.baseline:
                base_futures[variant] = pool.submit(
                    _baseline_task, target, bugs, variant, target_dir / "schemathesis", settings.schemathesis
                )
        suite_runs = {v: f.result() for v, f in suite_futures.items()}
        baseline: dict[str, BaselineRun] = {}
        command: list[str] = []
        for v, bf in base_futures.items():
            baseline[v], cmd = bf.result()
            if v == CORRECT:
                command = cmd
    return suite_runs, baseline, command


def _suite_task(
    target: Target, bugs: frozenset[str], variant: str, suite_dir: Path, report: Path, settings: BenchSettings
) -> SuiteRun:
    from crossfield._serving import serve_app  # uvicorn is imported only when something is served

    try:
        with serve_app(target.create_app(bugs), log_level="error") as base_url:
            return run_suite(
                suite_dir,
                base_url,
                config=target.config_path,
                variant=variant,
                report=report,
                timeout_s=settings.suite_timeout_s,
            )
    except Exception as exc:
        return SuiteRun(variant=variant, error=f"could not serve the app: {type(exc).__name__}: {exc}")


def _baseline_task(
    target: Target, bugs: frozenset[str], variant: str, work: Path, settings: BaselineSettings
) -> tuple[BaselineRun, list[str]]:
    from crossfield._serving import serve_app

    try:
        with serve_app(target.create_app(bugs), log_level="error") as base_url:
            return run_schemathesis(target, variant, base_url, work, settings)
    except Exception as exc:
        return BaselineRun(variant=variant, error=f"{type(exc).__name__}: {exc}"), []


def run_bench(
    targets: Sequence[Target],
    judge: Judge | None,
    *,
    settings: BenchSettings,
    store: Store | None = None,
    judge_label: str | None = None,
    prompt: str | None = None,
    hypotheses: dict[str, list[Hypothesis]] | None = None,
    progress: Progress = _quiet,
) -> tuple[BenchReport, list[TargetRun]]:
    """Benchmark every target in turn (variants within a target run in parallel)."""
    report = BenchReport(
        crossfield_version=__version__,
        created_at=datetime.now(UTC).isoformat(timespec="seconds"),
        judge=judge_label or (judge.name if judge is not None else "stored"),
        prompt=prompt,
        settings={
            "jobs": settings.jobs,
            "suite_timeout_s": settings.suite_timeout_s,
            "baseline": settings.baseline,
            "schemathesis_max_examples": settings.schemathesis.max_examples,
            "schemathesis_timeout_s": settings.schemathesis.timeout_s,
            "only_accepted": settings.only_accepted,
        },
    )
    runs: list[TargetRun] = []
    with work_directory(settings) as work_dir:
        for target in targets:
            given = hypotheses.get(target.name) if hypotheses is not None else None
            tr = bench_target(
                target,
                judge=judge if given is None else None,
                hypotheses=given,
                settings=settings,
                work_dir=work_dir,
                store=store,
                progress=progress,
            )
            runs.append(tr)
            report.targets.append(tr.result)
    report.overall = merge_scores([r.result.scores for r in runs])
    return report, runs
