"""`crossfield inspect SPEC`: what crossfield understood of an API description.

Formatting only: the summary, the grouping and the fact descriptions come from `crossfield.spec.summary`.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Annotated

import typer
from rich.console import Console
from rich.markup import escape
from rich.table import Table

from crossfield.errors import SpecError
from crossfield.spec.loader import load_spec
from crossfield.spec.model import Api
from crossfield.spec.summary import FACT_KINDS, api_summary, describe, group_by_resource, inspect_document

_HELP = (
    "Show what crossfield understood of an API description: format and version, operations grouped by "
    "resource, the interaction facts a judge reasons with (links between operations, lifecycles and state "
    "fields, related fields, idempotency, pagination, ownership, privileged fields, rate limits), and the "
    "operations that could not be read.\n\n"
    "--json prints the same as one machine-readable document (crossfield.inspect/1). Exit code 0 when the "
    "file loads (even with broken operations, which are listed), 2 when it cannot be loaded."
)


def register(app: typer.Typer) -> None:
    app.command("inspect", help=_HELP)(inspect_command)


def inspect_command(
    spec: Annotated[Path, typer.Argument(help="the API description (OpenAPI 2.0/3.0/3.1 or Postman v2.1)")],
    as_json: Annotated[bool, typer.Option("--json", help="print a machine-readable JSON document")] = False,
    examples: Annotated[int, typer.Option("--examples", min=0, help="examples shown per fact kind")] = 3,
    no_cache: Annotated[bool, typer.Option("--no-cache", help="parse the file even if it is cached")] = False,
) -> None:
    try:
        api = load_spec(spec, cache=not no_cache)
        imap = api.interactions
    except SpecError as exc:
        _print_error(exc)
        raise typer.Exit(2) from None
    if as_json:
        sys.stdout.write(json.dumps(inspect_document(api, imap), indent=2, ensure_ascii=False) + "\n")
        return
    _print_report(api, examples)


def _print_error(exc: SpecError) -> None:
    err = Console(stderr=True, highlight=False, soft_wrap=True)
    where = exc.file or "<spec>"
    if exc.line is not None:
        where += f":{exc.line}"
    err.print(f"[bold red]error[/]: {escape(where)}: {escape(exc.message)}")
    if exc.pointer is not None:
        err.print(f"  at {escape(exc.pointer or '/')}")
    if exc.hint:
        err.print(f"  hint: {escape(exc.hint)}")


def _print_report(api: Api, examples: int) -> None:
    out = Console(highlight=False, soft_wrap=True)
    imap = api.interactions
    s = api_summary(api)
    out.print(f"[bold]{escape(s['title'])}[/] {escape(s['version'])}  ({s['format']})  {escape(s['source'])}")
    out.print(
        f"{s['operations']} operations, {s['fields']} fields, {len(imap.resources)} resources, "
        f"{s['errors']} operations not read"
    )

    out.print()
    out.print("[bold]Operations by resource[/]")
    for group in group_by_resource(api, imap):
        out.print(f"  [cyan]{escape(group.title)}[/]")
        table = Table(show_header=False, box=None, padding=(0, 1), pad_edge=False)
        table.add_column(style="bold", no_wrap=True)
        table.add_column(no_wrap=True)
        table.add_column(style="dim")
        table.add_column()
        for item in group.operations:
            op = item.operation
            table.add_row("   " + op.method, escape(op.path), escape(op.id), escape(item.role or ""))
        out.print(table)

    out.print()
    out.print("[bold]Interaction facts[/]")
    counts = imap.counts()
    for kind in FACT_KINDS:
        facts = imap.by_kind(kind)
        out.print(f"  [cyan]{kind}[/]: {counts[kind]}")
        if kind == "field_relation" and facts:
            by_relation = ", ".join(f"{k} {v}" for k, v in imap.relation_counts().items() if v)
            out.print(f"    ({by_relation})")
        for fact in facts[:examples]:
            out.print(f"    - {escape(describe(fact))}")

    if api.errors:
        out.print()
        out.print(f"[bold red]Operations that could not be read ({len(api.errors)})[/]")
        for e in api.errors:
            line = f" (line {e.line})" if e.line is not None else ""
            out.print(f"  {escape(e.pointer)}{line}: {escape(e.message)}")
