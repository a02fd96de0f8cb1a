"""The eval harness: benchmark judges and prompt versions on APIs with seeded bugs.

    from crossfield.evals import BenchSettings, discover_targets, run_bench
    from crossfield.judgment.registry import make_judge
    report, _ = run_bench(discover_targets(["datasets/targets"]), make_judge("heuristic"), settings=BenchSettings())
    print(report.overall.detected, "/", report.overall.bugs)

A target is any directory with openapi.yaml, app.py (`create_app(bugs)`), bugs.yaml and crossfield.toml.
The JSON report is documented in docs/bench-report.md.
"""

from crossfield.evals._baseline import BaselineSettings, parse_schemathesis_report, schemathesis_command
from crossfield.evals._cells import SCORER_VERSION, BenchStore, Cell, bench_migrations, ensure_bench_schema
from crossfield.evals._compare import ConfigRow, aggregate, render_html, render_markdown, write_report
from crossfield.evals._grid import (
    GridResult,
    JudgeFactory,
    compare_rows,
    default_judge_factory,
    grid_configs,
    make_cell,
    record_cells,
    rescore,
    run_grid,
    write_comparison,
)
from crossfield.evals._harness import BenchSettings, TargetRun, bench_target, run_bench
from crossfield.evals._render import print_report, render
from crossfield.evals._report import (
    CORRECT,
    REPORT_FORMAT,
    BaselineResult,
    BaselineRun,
    BaselineSignature,
    BenchReport,
    BugResult,
    DetectingTest,
    FalseAlarm,
    Scores,
    SuiteRun,
    TargetResult,
    TestOutcome,
    TestRecord,
)
from crossfield.evals._scoring import score_suites
from crossfield.evals._targets import Bug, Target, discover_targets, import_app_factory, load_target

__all__ = [
    "CORRECT",
    "REPORT_FORMAT",
    "SCORER_VERSION",
    "BaselineResult",
    "BaselineRun",
    "BaselineSettings",
    "BaselineSignature",
    "BenchReport",
    "BenchSettings",
    "BenchStore",
    "Bug",
    "BugResult",
    "Cell",
    "ConfigRow",
    "DetectingTest",
    "FalseAlarm",
    "GridResult",
    "JudgeFactory",
    "Scores",
    "SuiteRun",
    "Target",
    "TargetResult",
    "TargetRun",
    "TestOutcome",
    "TestRecord",
    "aggregate",
    "bench_migrations",
    "bench_target",
    "compare_rows",
    "default_judge_factory",
    "discover_targets",
    "ensure_bench_schema",
    "grid_configs",
    "import_app_factory",
    "load_target",
    "make_cell",
    "parse_schemathesis_report",
    "print_report",
    "record_cells",
    "render",
    "render_html",
    "render_markdown",
    "rescore",
    "run_bench",
    "run_grid",
    "schemathesis_command",
    "score_suites",
    "write_comparison",
    "write_report",
]
