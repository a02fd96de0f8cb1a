"""`crossfield demo`: the whole pipeline, offline, on a bundled target.

Judges the target's spec with the heuristic judge, writes the hypotheses and the generated pytest suite
where you can read them, then runs the suite against the correct app and against each seeded-bug variant
and shows which bugs the tests caught. Nothing needs a network or a key.
"""

from __future__ import annotations

import warnings
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.table import Table

from crossfield.errors import CrossfieldError
from crossfield.evals import BenchSettings, bench_target, load_target

_HERE = Path(__file__).resolve()
DEFAULT_TARGET = "datasets/targets/payments"


def _find_default_target() -> Path | None:
    """The bundled payments target, from the current directory or from the source checkout."""
    for base in (Path.cwd(), *_HERE.parents):
        candidate = base / DEFAULT_TARGET
        if (candidate / "openapi.yaml").is_file():
            return candidate
    return None


def demo(
    target: Annotated[
        Path | None,
        typer.Option(help="a target directory (openapi.yaml, app.py, bugs.yaml, crossfield.toml)"),
    ] = None,
    out: Annotated[
        Path, typer.Option(help="where the hypotheses and the generated tests are written")
    ] = Path("crossfield-demo"),
) -> None:
    """Run the pipeline end to end on a bundled API: judge, generate tests, run them against the correct
    app and every seeded bug."""
    plain = Console()
    console = plain if plain.is_terminal else Console(width=max(plain.width, 160))
    root = target or _find_default_target()
    if root is None:
        console.print(
            f"[red]error:[/] no target given and {DEFAULT_TARGET} was not found; run from the repository "
            "checkout or pass --target DIR"
        )
        raise typer.Exit(2)
    try:
        loaded = load_target(root)
    except CrossfieldError as exc:
        console.print(f"[red]error:[/] {exc}")
        raise typer.Exit(2) from None
    # FastAPI's Header() parameters trip a pydantic warning inside the target apps; it is not ours to fix
    # and says nothing about the demo.
    warnings.filterwarnings("ignore", message="The 'alias' attribute with value")
    from crossfield.judgment.heuristic import HeuristicJudge

    settings = BenchSettings(baseline=False, work_dir=out.resolve())
    console.print(f"[bold]crossfield demo[/] on {loaded.name} ({loaded.spec_path})")
    with console.status("judging, generating tests, running them against the correct app and each bug..."):
        run = bench_target(loaded, judge=HeuristicJudge(), settings=settings, work_dir=out.resolve())
    result = run.result
    if result.error:
        console.print(f"[red]error:[/] {result.error}")
        raise typer.Exit(1)
    if run.judge_result is not None:
        hyps_path = out / loaded.name / "hypotheses.json"
        hyps_path.write_text(run.judge_result.to_set().model_dump_json(indent=2), encoding="utf-8")
        console.print(f"hypotheses: {len(run.hypotheses)} written to {hyps_path}")
    console.print(f"tests: {result.scores.hypotheses.tests} in {out / loaded.name / 'suite'}")

    table = Table(title="seeded bugs")
    table.add_column("bug")
    table.add_column("category")
    table.add_column("cross-field")
    table.add_column("caught by")
    for bug in result.bugs:
        caught = ", ".join(t.nodeid.split("::")[-1] for t in bug.detected_by) if bug.detected else "-"
        table.add_row(bug.id, bug.category, "yes" if bug.cross_field else "no", caught)
    console.print(table)
    detected = sum(1 for b in result.bugs if b.detected)
    console.print(
        f"detected {detected}/{len(result.bugs)} seeded bugs; "
        f"false alarms on the correct app: {len(result.false_alarms)}"
    )
    console.print(
        f"run the suite yourself: pytest {out / loaded.name / 'suite'} --base-url URL "
        f"--crossfield-config {loaded.config_path}"
    )


def register(app: typer.Typer) -> None:
    app.command("demo")(demo)
