"""`crossfield bench` and `crossfield compare`: the eval harness on the command line.

Only option parsing and printing live here; everything else is `crossfield.evals`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console

from crossfield.errors import CrossfieldError
from crossfield.evals import (
    BaselineSettings,
    BenchSettings,
    GridResult,
    default_judge_factory,
    discover_targets,
    print_report,
    record_cells,
    rescore,
    run_bench,
    run_grid,
    write_comparison,
)
from crossfield.feedback import Store

DEFAULT_TARGETS = Path("datasets/targets")


def _console() -> Console:
    """A console wide enough for the bench tables even when output goes to a file or a CI log."""
    console = Console()
    return console if console.is_terminal else Console(width=max(console.width, 160))


def _split(value: str | None) -> list[str]:
    return [v.strip() for v in (value or "").split(",") if v.strip()]


def bench(
    targets_dirs: Annotated[
        list[Path] | None,
        typer.Argument(help="target directories, or directories holding targets (default: datasets/targets)"),
    ] = None,
    judge: Annotated[str, typer.Option("--judge", help="'heuristic' or 'provider/model'")] = "heuristic",
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="prompt version for model judges (v1, v2, ...)")
    ] = None,
    json_out: Annotated[
        Path | None, typer.Option("--json", help="write the JSON report here (docs/bench-report.md)")
    ] = None,
    store_path: Annotated[
        Path | None, typer.Option("--store", help="feedback store: record judge runs and one cell per target")
    ] = None,
    only_accepted: Annotated[
        bool,
        typer.Option(
            "--only-accepted", help="compile only hypotheses accepted in --store, not all grounded ones"
        ),
    ] = False,
    baseline: Annotated[bool, typer.Option("--baseline/--no-baseline", help="also run schemathesis")] = True,
    targets: Annotated[str | None, typer.Option("--targets", help="comma-separated target names")] = None,
    grid: Annotated[
        str | None, typer.Option("--grid", help="comma-separated judges to compare (needs --store)")
    ] = None,
    prompts: Annotated[
        str | None, typer.Option("--prompts", help="comma-separated prompt versions for --grid")
    ] = None,
    repeat: Annotated[
        int, typer.Option("--repeat", min=1, help="repeats per model judge x prompt in --grid")
    ] = 1,
    rescore_cells: Annotated[
        bool,
        typer.Option("--rescore", help="rerun codegen + suites on stored cells' hypotheses; no judge calls"),
    ] = False,
    grid_id: Annotated[
        str | None, typer.Option("--grid-id", help="with --rescore: the grid to rescore (default latest)")
    ] = None,
    compare_out: Annotated[
        Path | None,
        typer.Option("--compare-out", help="with --grid/--rescore: write compare.md and compare.html here"),
    ] = None,
    jobs: Annotated[int, typer.Option("--jobs", min=1, help="variants served and tested at once")] = 2,
    suite_timeout: Annotated[
        float, typer.Option("--suite-timeout", help="seconds per generated-suite run")
    ] = 180.0,
    st_max_examples: Annotated[
        int, typer.Option("--st-max-examples", min=1, help="schemathesis --max-examples")
    ] = 5,
    st_timeout: Annotated[float, typer.Option("--st-timeout", help="seconds per schemathesis run")] = 90.0,
    work_dir: Annotated[
        Path | None, typer.Option("--work-dir", help="keep generated suites and reports here")
    ] = None,
) -> None:
    """Benchmark a judge on targets with seeded bugs, beside a schemathesis baseline.

    Per target: judge -> compile the hypotheses -> run the suite against the correct app and each single-bug
    variant (fresh app each, on a local port) -> a bug is detected when a test passes on the correct app
    and fails on the variant; tests failing on the correct app are false alarms."""
    console = _console()
    settings = BenchSettings(
        jobs=jobs,
        suite_timeout_s=suite_timeout,
        baseline=baseline,
        schemathesis=BaselineSettings(max_examples=st_max_examples, timeout_s=st_timeout),
        only_accepted=only_accepted,
        work_dir=work_dir,
    )

    def progress(message: str) -> None:
        console.print(f"[dim]{message}[/dim]")

    try:
        if (grid or rescore_cells or only_accepted) and store_path is None:
            raise typer.BadParameter("--grid, --rescore and --only-accepted need --store PATH")
        store = Store.open(store_path) if store_path is not None else None
        dirs = list(targets_dirs or [DEFAULT_TARGETS])
        if rescore_cells:
            assert store is not None
            result = rescore(
                store, grid_id=grid_id, target_dirs=targets_dirs or (), settings=settings, progress=progress
            )
            _finish_grid(console, result, store, json_out, compare_out)
            return
        found = discover_targets(dirs, _split(targets))
        if not found:
            raise typer.BadParameter(f"no targets found in {', '.join(map(str, dirs))}")
        if grid:
            assert store is not None
            result = run_grid(
                found,
                _split(grid),
                list(_split(prompts)) or [None],
                repeat=repeat,
                settings=settings,
                store=store,
                progress=progress,
            )
            _finish_grid(console, result, store, json_out, compare_out)
            return
        report, runs = run_bench(
            found,
            default_judge_factory(judge, prompt),
            settings=settings,
            store=store,
            judge_label=judge,
            prompt=prompt,
            progress=progress,
        )
        print_report(report, console)
        if store is not None:
            stored = record_cells(store, runs, judge=judge, prompt=prompt)
            console.print(f"grid {stored.grid_id}: {len(stored.cells)} cells stored in {store.path}")
        if json_out is not None:
            json_out.parent.mkdir(parents=True, exist_ok=True)
            json_out.write_text(report.model_dump_json(indent=2) + "\n", encoding="utf-8")
            console.print(f"JSON report: {json_out}")
        if any(t.error for t in report.targets):
            raise typer.Exit(1)
    except CrossfieldError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc


def _finish_grid(
    console: Console, result: GridResult, store: Store, json_out: Path | None, compare_out: Path | None
) -> None:
    for report in result.reports:
        print_report(report, console)
    console.print(f"grid {result.grid_id}: {len(result.cells)} cells stored in {store.path}")
    if json_out is not None:
        json_out.parent.mkdir(parents=True, exist_ok=True)
        payload = {"grid_id": result.grid_id, "reports": [r.model_dump(mode="json") for r in result.reports]}
        json_out.write_text(json.dumps(payload, indent=2) + "\n", encoding="utf-8")
        console.print(f"JSON report: {json_out}")
    if compare_out is not None:
        paths = write_comparison(store, compare_out, grid_id=result.grid_id)
        console.print(f"comparison: {paths['markdown']} and {paths['html']}")
    if any(t.error for r in result.reports for t in r.targets):
        raise typer.Exit(1)


def compare(
    store_path: Annotated[Path, typer.Option("--store", help="feedback store holding bench cells")],
    out: Annotated[
        Path, typer.Option("--out", help="directory for compare.md, compare.html and plots")
    ] = Path("bench-compare"),
    grid_id: Annotated[
        str | None, typer.Option("--grid-id", help="grid to report (default: the latest)")
    ] = None,
) -> None:
    """Compare judges and prompt versions from a grid's stored cells (Markdown + self-contained HTML)."""
    console = _console()
    try:
        paths = write_comparison(Store.open(store_path), out, grid_id=grid_id)
    except CrossfieldError as exc:
        console.print(f"[red]error:[/red] {exc}")
        raise typer.Exit(2) from exc
    console.print(f"comparison: {paths['markdown']} and {paths['html']}")


def register(app: typer.Typer) -> None:
    app.command("bench")(bench)
    app.command("compare")(compare)
