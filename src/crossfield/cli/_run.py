"""`crossfield run PATHS... --judge J --out DIR`: judge a whole corpus (or what changed between two versions)."""

from __future__ import annotations

from pathlib import Path
from typing import Literal, cast

import typer
from rich.console import Console
from rich.markup import escape

from crossfield.batch import DiscoveryError, render_summary, run
from crossfield.errors import CrossfieldError

Workers = Literal["auto", "threads", "processes"]

_HELP = (
    "Judge every spec under PATHS, unattended: failures are reported and the run goes on; Ctrl-C stops "
    "cleanly (exit 130) keeping what finished; running the same command again resumes.\n\n"
    "Writes DIR/<spec>/hypotheses.json (and DIR/<spec>/tests/ with --codegen) and DIR/.crossfield-run.json. "
    "With --since OLD NEW, judges only the operations changed from OLD to NEW and those linked to them.\n\n"
    "Exit code: 0 when every spec is done or skipped, 1 when some failed or were not loadable, 2 on a usage "
    "error, 130 when interrupted."
)


def register(app: typer.Typer) -> None:
    @app.command("run", help=_HELP)
    def run_command(
        paths: list[Path] = typer.Argument(
            None, help="spec files, directories (searched recursively) or globs"
        ),
        judge: str = typer.Option(..., "--judge", "-j", help="'heuristic' or 'provider/model'"),
        out: Path = typer.Option(..., "--out", "-o", help="output directory: one sub-directory per spec"),
        prompt: str | None = typer.Option(None, "--prompt", help="prompt id for LLM judges"),
        store: Path | None = typer.Option(
            None, "--store", help="feedback store (DuckDB) to log every judge run to"
        ),
        concurrency: int = typer.Option(
            4, "--concurrency", "-c", min=1, help="specs (and LLM requests) in flight"
        ),
        codegen: bool = typer.Option(
            False, "--codegen", help="also compile each spec's hypotheses into tests"
        ),
        json_summary: Path | None = typer.Option(
            None, "--json", help="write the machine-readable summary here"
        ),
        batch_api: bool = typer.Option(
            False, "--batch-api", help="send all chunks as one provider batch (cheaper, slower)"
        ),
        since: tuple[Path, Path] | None = typer.Option(
            None,
            "--since",
            help="OLD NEW: judge only operations changed from OLD to NEW (and their linked ones)",
        ),
        base_url: str | None = typer.Option(None, "--base-url", help="endpoint for openai-compatible judges"),
        workers: str = typer.Option(
            "auto", "--workers", help="where synchronous judges run: auto, threads or processes"
        ),
    ) -> None:
        err = Console(stderr=True)
        options = {"base_url": base_url} if base_url else None
        if workers not in ("auto", "threads", "processes"):
            err.print(
                f"[red]error:[/red] --workers must be auto, threads or processes, not {escape(workers)}"
            )
            raise typer.Exit(2)
        try:
            summary = run(
                paths or [], judge=judge, out=out, store=store, prompt=prompt, concurrency=concurrency,
                codegen=codegen, since=since, batch_api=batch_api, json_summary=json_summary,
                judge_options=options, workers=cast(Workers, workers),
            )  # fmt: skip
        except (CrossfieldError, DiscoveryError) as exc:
            err.print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        render_summary(summary, Console())
        raise typer.Exit(summary.exit_code)
