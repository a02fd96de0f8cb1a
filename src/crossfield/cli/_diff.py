"""`crossfield diff OLD NEW`: what changed between two versions of one API, grouped by operation."""

from __future__ import annotations

import json
import sys
from pathlib import Path

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crossfield.errors import SpecError
from crossfield.spec.diff import ChangeKind, SpecDiff, diff_specs
from crossfield.spec.loader import load_spec

_LISTED_IN_HEADER = frozenset({ChangeKind.OPERATION_ADDED, ChangeKind.OPERATION_REMOVED})


_HELP = (
    "Semantic diff of two versions of one API: operations added/removed/renamed, fields added/removed/"
    "retyped, required changes, enum values, constraints tightened or loosened, deprecations; each change "
    "flagged breaking or not.\n\nExit code 0 whether or not anything changed; 2 when a file cannot be loaded."
)


def register(app: typer.Typer) -> None:
    @app.command("diff", help=_HELP)
    def diff_command(
        old: Path = typer.Argument(..., help="the older API description"),
        new: Path = typer.Argument(..., help="the newer API description"),
        as_json: bool = typer.Option(
            False, "--json", help="print the diff as JSON (format crossfield.diff/1)"
        ),
        breaking_only: bool = typer.Option(False, "--breaking", help="list only breaking changes"),
    ) -> None:
        try:
            result = diff_specs(load_spec(old), load_spec(new))
        except SpecError as exc:
            Console(stderr=True).print(f"[red]error:[/red] {escape(str(exc))}")
            raise typer.Exit(2) from None
        if as_json:
            data = result.to_dict()
            if breaking_only:
                data["changes"] = [c for c in data["changes"] if c["breaking"]]
            sys.stdout.write(json.dumps(data, indent=2, default=str) + "\n")
            return
        render(result, Console(), breaking_only=breaking_only)


def render(result: SpecDiff, console: Console, *, breaking_only: bool = False) -> None:
    """Readable output: a header, operations added/removed, then one table per changed operation."""
    console.print(
        f"[bold]{escape(result.old_title)}[/bold] {escape(result.old_version)} -> {escape(result.new_version)}: "
        f"{len(result.changes)} changes ({len(result.breaking)} breaking), "
        f"{result.operations_old} -> {result.operations_new} operations"
    )
    if not result.changes:
        console.print("no changes")
        return
    for label, ids in (("added", result.added_operations), ("removed", result.removed_operations)):
        if ids and not (breaking_only and label == "added"):
            colour = "green" if label == "added" else "red"
            console.print(
                f"\n[{colour}]operations {label} ({len(ids)}):[/{colour}] " + escape(", ".join(ids))
            )
    for operation, changes in result.by_operation().items():
        rows = [c for c in changes if c.kind not in _LISTED_IN_HEADER]
        if breaking_only:
            rows = [c for c in rows if c.breaking]
        if not rows:
            continue
        table = Table(title=escape(operation), title_justify="left", show_edge=False, expand=False)
        table.add_column("change", no_wrap=True)
        table.add_column("field", overflow="fold", ratio=3)
        table.add_column("old -> new", overflow="fold", ratio=2)
        table.add_column("breaking", no_wrap=True)
        for c in rows:
            table.add_row(
                c.kind.value,
                escape(c.field or ""),
                escape(_values(c.old, c.new, c.detail)),
                "[red]yes[/red]" if c.breaking else "",
            )
        console.print()
        console.print(table)


def _values(old: object, new: object, detail: str | None) -> str:
    parts = []
    if detail:
        parts.append(f"{detail}:")
    if old is not None and new is not None:
        parts.append(f"{_show(old)} -> {_show(new)}")
    elif new is not None:
        parts.append(f"+ {_show(new)}")
    elif old is not None:
        parts.append(f"- {_show(old)}")
    return " ".join(parts)


def _show(value: object) -> str:
    text = json.dumps(value, default=str)
    return text if len(text) <= 80 else text[:77] + "..."
