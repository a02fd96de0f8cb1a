"""`crossfield judge SPEC`: write cross-field risk hypotheses for an API description.

Only option parsing and printing live here; the work is `crossfield.judgment.make_judge(...).judge(...)`.
"""

from __future__ import annotations

import logging
import os
import sys
import tempfile
from collections import Counter
from pathlib import Path
from typing import Annotated, Any

import typer
from rich.console import Console
from rich.logging import RichHandler
from rich.markup import escape
from rich.progress import (
    BarColumn,
    MofNCompleteColumn,
    Progress,
    SpinnerColumn,
    TaskID,
    TextColumn,
    TimeElapsedColumn,
)
from rich.table import Table

from crossfield.errors import ConfigError, CrossfieldError, SpecError
from crossfield.judgment.base import Judge, JudgeResult, Requirement
from crossfield.judgment.registry import make_judge
from crossfield.judgment.requirements import load_requirements
from crossfield.spec.loader import load_spec

_HELP = (
    "Write cross-field and cross-request risk hypotheses for an API description.\n\n"
    "The default judge is the offline heuristic one (no key, no network). A model judge is PROVIDER/MODEL: "
    "anthropic/claude-sonnet-5-5 (ANTHROPIC_API_KEY), openai/gpt-5.5 (OPENAI_API_KEY), or "
    "openai-compatible/MODEL with --base-url for Ollama, vLLM or a llama.cpp server. Model responses are "
    "cached on disk ($CROSSFIELD_CACHE_DIR/llm), so re-running an unchanged spec costs nothing.\n\n"
    "Progress and the summary go to stderr; --out writes the hypotheses (crossfield.hypotheses/1 JSON, "
    "'-' for stdout). Exit code 0 on success (also when some chunks failed: they are listed), 1 when every "
    "chunk failed, 2 for unusable input or configuration."
)


def register(app: typer.Typer) -> None:
    app.command("judge", help=_HELP)(judge_command)


def judge_command(
    spec: Annotated[Path, typer.Argument(help="the API description (OpenAPI 2/3.x or Postman)")],
    judge: Annotated[
        str,
        typer.Option(
            "--judge", help="'heuristic' (default) or PROVIDER/MODEL, e.g. anthropic/claude-sonnet-5-5"
        ),
    ] = "heuristic",
    prompt: Annotated[
        str | None,
        typer.Option("--prompt", help="prompt version for model judges: v1 (default), v2, or a directory"),
    ] = None,
    requirements: Annotated[
        Path | None,
        typer.Option("--requirements", help="Markdown/text file of requirements with ids like REQ-12"),
    ] = None,
    base_url: Annotated[
        str | None,
        typer.Option(
            "--base-url", help="server URL for openai-compatible/MODEL (or $CROSSFIELD_OPENAI_BASE_URL)"
        ),
    ] = None,
    concurrency: Annotated[int, typer.Option("--concurrency", min=1, help="model requests in flight")] = 4,
    out: Annotated[
        Path | None, typer.Option("--out", help="write the hypotheses JSON here ('-' for stdout)")
    ] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="record the run in this feedback store (DuckDB file)")
    ] = None,
    budget: Annotated[
        int | None,
        typer.Option("--budget", min=2000, help="token budget of one chunk's prompt (default 12000)"),
    ] = None,
    max_retries: Annotated[
        int | None, typer.Option("--max-retries", min=0, help="grounding corrections per chunk (default 2)")
    ] = None,
    max_tokens: Annotated[
        int | None,
        typer.Option("--max-tokens", min=256, help="output token limit per model call (default 16000)"),
    ] = None,
    no_cache: Annotated[
        bool, typer.Option("--no-cache", help="ignore and do not fill the response cache")
    ] = False,
    verbose: Annotated[bool, typer.Option("--verbose", "-v", help="log every model call")] = False,
) -> None:
    err = Console(stderr=True)
    _configure_logging(err, verbose)
    try:
        api = load_spec(spec)
        reqs: list[Requirement] | None = load_requirements(requirements) if requirements is not None else None
    except (SpecError, ConfigError) as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    model_judge = judge.strip() not in ("heuristic", "scripted")
    progress = _ProgressDisplay(err) if model_judge else None
    options: dict[str, Any] = {}
    if model_judge:
        options = {
            "prompt": prompt,
            "base_url": base_url,
            "concurrency": concurrency,
            "budget_tokens": budget,
            "max_retries": max_retries,
            "max_tokens": max_tokens,
            "cache": False if no_cache else None,
            "progress": progress,
        }
    elif prompt or base_url:
        err.print("[yellow]note:[/yellow] --prompt and --base-url apply to model judges only; ignored")
    try:
        chosen = make_judge(judge, **options)
        if progress is not None:
            with progress:
                result = chosen.judge(api, requirements=reqs)
        else:
            result = chosen.judge(api, requirements=reqs)
    except CrossfieldError as exc:
        err.print(f"[red]error:[/red] {escape(str(exc))}")
        raise typer.Exit(2) from None
    print_summary(result, err)
    if out is not None:
        payload = result.to_set().model_dump_json(indent=2) + "\n"
        if str(out) == "-":
            sys.stdout.write(payload)
        else:
            write_atomically(out, payload)
            err.print(f"wrote {len(result.hypotheses)} hypotheses to {escape(str(out))}")
    if store is not None:
        run_id = _record(store, result, chosen)
        err.print(f"recorded judge run {run_id} in {escape(str(store))}")
    chunks = result.parameters.get("chunks") or []
    if result.chunk_errors and len(result.chunk_errors) >= max(1, len(chunks)):
        raise typer.Exit(1)


def _configure_logging(console: Console, verbose: bool) -> None:
    handler = RichHandler(console=console, show_time=False, show_path=False, markup=False)
    logger = logging.getLogger("crossfield")
    logger.handlers[:] = [handler]
    logger.setLevel(logging.INFO if verbose else logging.WARNING)
    logger.propagate = False
    # instructor logs every failed attempt at ERROR; crossfield reports failures itself.
    logging.getLogger("instructor").setLevel(logging.DEBUG if verbose else logging.CRITICAL)


class _ProgressDisplay:
    """A rich progress bar on stderr, fed by the judge's progress callback."""

    def __init__(self, console: Console) -> None:
        self.progress = Progress(
            SpinnerColumn(),
            TextColumn("[bold]judging[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.fields[detail]}"),
            TimeElapsedColumn(),
            console=console,
            transient=True,
        )
        self.task: TaskID | None = None

    def __enter__(self) -> _ProgressDisplay:
        self.progress.start()
        self.task = self.progress.add_task("judge", total=None, detail="preparing chunks")
        return self

    def __exit__(self, *exc: object) -> None:
        self.progress.stop()

    def __call__(self, event: Any) -> None:
        if self.task is None:
            return
        detail = (
            f"chunks {event.chunks_done}/{event.chunks_total} · calls {event.calls} (+{event.cached_calls} cached) · "
            f"tokens {_k(event.input_tokens)} in / {_k(event.output_tokens)} out · ${event.cost_usd:.4f}"
        )
        self.progress.update(self.task, total=event.chunks_total, completed=event.chunks_done, detail=detail)
        if event.error:
            self.progress.console.print(
                f"[yellow]chunk {escape(event.chunk)} failed:[/yellow] {escape(event.error)}"
            )


def _k(n: int) -> str:
    return f"{n / 1000:.1f}k" if n >= 1000 else str(n)


def print_summary(result: JudgeResult, console: Console) -> None:
    """Hypotheses by category, what was dropped and why, failed chunks, and usage."""
    who = result.model or result.judge
    prompt = f", prompt {result.prompt_id} ({(result.prompt_hash or '')[:12]})" if result.prompt_id else ""
    chunks = result.parameters.get("chunks") or []
    console.print(
        f"[bold]{escape(result.api.title)}[/bold] {escape(result.api.version)}: "
        f"{len(result.hypotheses)} hypotheses from {escape(who)}{escape(prompt)}"
        + (f", {len(chunks)} chunk(s)" if chunks else "")
    )
    if chunks:
        sizes = ", ".join(f"{c['name']} ~{_k(int(c.get('prompt_tokens', 0)))}" for c in chunks[:12])
        more = f", +{len(chunks) - 12} more" if len(chunks) > 12 else ""
        console.print(f"prompt size per chunk (tokens, est.): {escape(sizes + more)}")
    if result.hypotheses:
        table = Table(show_edge=False, title="hypotheses by category", title_justify="left")
        table.add_column("category")
        table.add_column("count", justify="right")
        table.add_column("critical/high", justify="right")
        counts = Counter(h.category.value for h in result.hypotheses)
        severe = Counter(
            h.category.value for h in result.hypotheses if h.severity.value in ("critical", "high")
        )
        for category, count in counts.most_common():
            table.add_row(category, str(count), str(severe.get(category, 0)))
        console.print(table)
    if result.dropped:
        console.print(f"[yellow]dropped {len(result.dropped)} ungrounded draft(s):[/yellow]")
        for dropped in result.dropped[:10]:
            reason = dropped.problems[0] if dropped.problems else "no reason given"
            extra = f" (+{len(dropped.problems) - 1} more)" if len(dropped.problems) > 1 else ""
            console.print(f"  - {escape(dropped.title)}: {escape(reason)}{extra}")
        if len(result.dropped) > 10:
            console.print(f"  … {len(result.dropped) - 10} more")
    for chunk, error in result.chunk_errors.items():
        console.print(f"[red]chunk {escape(chunk)} failed:[/red] {escape(error)}")
    usage = result.usage
    if result.calls:
        as_of = result.parameters.get("prices_as_of")
        console.print(
            f"usage: {usage['calls']} call(s), {usage['cached_calls']} cached; tokens {usage['input_tokens']} in, "
            f"{usage['output_tokens']} out, {usage['cache_read_tokens']} cache read, "
            f"{usage['cache_write_tokens']} cache write; cost ${usage['cost_usd']:.4f}"
            + (f" (prices as of {as_of})" if as_of else "")
        )


def write_atomically(path: Path, text: str) -> None:
    """Write via a temporary file in the same directory and rename: readers never see half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as fh:
            fh.write(text)
        umask = os.umask(0)
        os.umask(umask)
        os.chmod(tmp, 0o666 & ~umask)  # mkstemp makes 0600; the result is an ordinary file
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _record(path: Path, result: JudgeResult, judge: Judge) -> str:
    from crossfield.feedback import RenderedPrompt, Store

    prepared = getattr(judge, "last_prepared", None) or []
    prompts = [
        RenderedPrompt(
            prompt_id=result.prompt_id or "",
            prompt_hash=result.prompt_hash or "",
            chunk=item.name,
            system=item.system,
            user=item.user,
        )
        for item in prepared
    ]
    with Store.open(path) as store:
        return store.record_judge_run(result, prompts=prompts)
