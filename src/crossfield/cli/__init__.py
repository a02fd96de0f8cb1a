"""The `crossfield` command line: a thin layer over the Python API.

Each command lives in its own module with a `register(app)` function; this module only assembles them.
"""

from __future__ import annotations

import typer

from crossfield.cli import _bench, _codegen, _demo, _diff, _export, _inspect, _judge, _review, _run

app = typer.Typer(
    name="crossfield",
    help=(
        "Find the bugs that live between fields and requests.\n\n"
        "crossfield reads an API description (OpenAPI 2/3.x or Postman), asks a judge for cross-field risk "
        "hypotheses, compiles the accepted ones into pytest + httpx tests, and keeps every decision in DuckDB.\n\n"
        "Start with:  crossfield inspect SPEC   then   crossfield judge SPEC --out hyps.json"
    ),
    no_args_is_help=True,
    add_completion=False,
    pretty_exceptions_enable=False,
)

for _module in (_demo, _inspect, _judge, _codegen, _review, _export, _bench, _run, _diff):
    _module.register(app)


def main() -> None:
    app()
