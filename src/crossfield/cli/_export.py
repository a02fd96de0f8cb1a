"""`crossfield export`: review decisions out of the store as fine-tuning data, or the whole store as Parquet.

The formats and how examples are built are described in `crossfield.feedback.export`.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

import typer

from crossfield.cli._review import StoreOption, fail
from crossfield.errors import CrossfieldError
from crossfield.feedback import EXPORT_FORMATS, ExportFilters, Store, export


def export_command(
    fmt: Annotated[str, typer.Option("--format", "-f", help=f"one of: {', '.join(EXPORT_FORMATS)}")],
    out: Annotated[Path, typer.Option("--out", "-o", help="the file to write (a directory for parquet)")],
    since: Annotated[
        str | None, typer.Option("--since", help="decisions made on/after this date or ISO time (UTC)")
    ] = None,
    until: Annotated[
        str | None,
        typer.Option("--until", help="decisions made up to this date (inclusive) or ISO time (UTC)"),
    ] = None,
    prompt: Annotated[
        str | None, typer.Option("--prompt", help="only hypotheses from this prompt id")
    ] = None,
    model: Annotated[str | None, typer.Option("--model", help="only hypotheses from this model")] = None,
    category: Annotated[str | None, typer.Option("--category", help="only this category")] = None,
    store_path: StoreOption = None,
) -> None:
    """Export review decisions as training data (openai-sft, openai-dpo, trl-preference, trl-kto) or the
    whole store as Parquet files."""
    if fmt not in EXPORT_FORMATS:
        raise fail(f"unknown format {fmt!r}: use one of {', '.join(EXPORT_FORMATS)}")
    filters = ExportFilters(since=since, until=until, prompt_id=prompt, model=model, category=category)
    try:
        summary = export(Store.open(store_path), fmt, out, filters)
    except (CrossfieldError, OSError) as exc:
        raise fail(str(exc)) from exc
    if summary.tables:
        typer.echo(f"wrote {len(summary.tables)} tables ({summary.records} rows) to {summary.out}/")
    else:
        typer.echo(f"wrote {summary.records} {fmt} records to {summary.out}")


def register(app: typer.Typer) -> None:
    app.command("export")(export_command)
