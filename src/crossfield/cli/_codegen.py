"""`crossfield codegen`: compile hypotheses into a pytest suite.

Only option parsing and printing live here; the work is `crossfield.codegen.generate`.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Annotated, Any

import typer
from pydantic import TypeAdapter, ValidationError
from rich.console import Console
from rich.markup import escape

from crossfield.codegen.compiler import GeneratedSuite, generate
from crossfield.codegen.config import Config, load_config
from crossfield.errors import ConfigError, CrossfieldError, SpecError
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import Hypothesis, HypothesisSet
from crossfield.spec.loader import load_spec
from crossfield.spec.model import Api

_HELP = (
    "Compile hypotheses into a pytest + httpx suite (mechanically: no model involved).\n\n"
    "Give a hypotheses file (crossfield.hypotheses/1 JSON from `crossfield judge`, or a JSON list of "
    "hypotheses), or --store with --accepted to compile the hypotheses reviewers accepted (rewritten ones "
    "in their rewritten form). Each hypothesis is grounded against --spec again first; those that no "
    "longer fit the spec are listed and skipped.\n\n"
    "The suite is one module per API resource, a conftest.py, crossfield_schemas.json (the response "
    "schemas every response is checked against) and, with --config, its crossfield.toml. Run it with: "
    "pytest DIR --base-url URL.\n\n"
    "Exit code 0 when tests were written, 1 when no hypothesis could be compiled, 2 for unusable input."
)

_HYPOTHESES = TypeAdapter(list[Hypothesis])


def register(app: typer.Typer) -> None:
    app.command("codegen", help=_HELP)(codegen_command)


def codegen_command(
    spec: Annotated[Path, typer.Option("--spec", help="the API description the tests target")],
    out: Annotated[Path, typer.Option("--out", help="directory to write the suite into")],
    hypotheses: Annotated[
        Path | None,
        typer.Argument(help="hypotheses JSON (a crossfield.hypotheses/1 file or a list); omit with --store"),
    ] = None,
    config: Annotated[
        Path | None,
        typer.Option("--config", help="crossfield.toml (identities, base_url) to copy next to the suite"),
    ] = None,
    store: Annotated[
        Path | None, typer.Option("--store", help="compile accepted hypotheses from this feedback store")
    ] = None,
    accepted: Annotated[
        bool, typer.Option("--accepted", help="with --store: the accepted (and rewritten) hypotheses")
    ] = False,
    any_spec: Annotated[
        bool,
        typer.Option(
            "--any-spec", help="with --store: include hypotheses judged against other spec versions"
        ),
    ] = False,
) -> None:
    err = Console(stderr=True, highlight=False)
    if (hypotheses is None) == (store is None):
        _fail(err, "give a hypotheses file or --store STORE --accepted (exactly one of them)")
    try:
        api = load_spec(spec)
        cfg = load_config(config) if config is not None else None
    except (SpecError, ConfigError) as exc:
        _fail(err, str(exc))
    if hypotheses is not None:
        items = _read_hypotheses(hypotheses, err)
        source = str(hypotheses)
    else:
        assert store is not None
        if not accepted:
            err.print("[yellow]note:[/yellow] --store compiles the accepted hypotheses (as with --accepted)")
        items = _accepted_from_store(store, None if any_spec else api.content_hash, err)
        source = f"{store} (accepted)"
    grounded = _reground(items, api, err)
    if not grounded:
        err.print(
            f"[red]error:[/red] no hypothesis from {escape(source)} can be compiled against {escape(str(spec))}"
        )
        raise typer.Exit(1)
    try:
        suite = generate(grounded, api, out, config=cfg)
    except (CrossfieldError, OSError, ValueError) as exc:
        _fail(err, str(exc))
    if store is not None:
        _record_generated(store, suite, err)
    _summary(err, suite, out, cfg)


def _fail(err: Console, message: str) -> Any:
    err.print(f"[red]error:[/red] {escape(message)}")
    raise typer.Exit(2)


def _read_hypotheses(path: Path, err: Console) -> list[Hypothesis]:
    """A crossfield.hypotheses/1 file, or a plain JSON list of hypotheses."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except FileNotFoundError:
        _fail(err, f"{path}: no such file")
    except (OSError, UnicodeDecodeError, json.JSONDecodeError) as exc:
        _fail(err, f"{path}: not a JSON file: {exc}")
    try:
        if isinstance(data, list):
            return _HYPOTHESES.validate_python(data)
        return list(HypothesisSet.model_validate(data).hypotheses)
    except ValidationError as exc:
        problems = "; ".join(
            f"{'.'.join(str(p) for p in e['loc'])}: {e['msg']}" for e in exc.errors(include_url=False)[:5]
        )
        _fail(err, f"{path}: not a hypotheses file ({problems})")
    return []


def _accepted_from_store(path: Path, spec_hash: str | None, err: Console) -> list[Hypothesis]:
    try:
        from crossfield.feedback import Store

        with Store.open(path) as store:
            return list(store.accepted_hypotheses(spec_hash=spec_hash))
    except (CrossfieldError, OSError) as exc:
        _fail(err, f"{path}: {exc}")
    return []


def _reground(items: list[Hypothesis], api: Api, err: Console) -> list[Hypothesis]:
    """The hypotheses that still ground against `api`; the others are reported, not compiled."""
    grounded = []
    skipped = []
    for hyp in items:
        problems = grounding_problems(hyp, api)
        if problems:
            skipped.append((hyp, problems))
        else:
            grounded.append(hyp)
    if skipped:
        err.print(
            f"[yellow]skipped {len(skipped)} hypotheses that no longer ground against the spec:[/yellow]"
        )
        for hyp, problems in skipped:
            err.print(f"  {escape(hyp.id)} {escape(hyp.title)}")
            for problem in problems[:3]:
                err.print(f"    - {escape(problem)}")
            if len(problems) > 3:
                err.print(f"    - ... and {len(problems) - 3} more")
    return grounded


def _record_generated(path: Path, suite: GeneratedSuite, err: Console) -> None:
    try:
        from crossfield.feedback import Store

        with Store.open(path) as store:
            if hasattr(store, "add_generated_tests"):
                store.add_generated_tests(suite.generated_tests(), suite_dir=str(suite.out_dir))
    except (CrossfieldError, OSError) as exc:
        err.print(
            f"[yellow]note:[/yellow] could not record the generated tests in {escape(str(path))}: {escape(str(exc))}"
        )


def _summary(err: Console, suite: GeneratedSuite, out: Path, cfg: Config | None) -> None:
    per_file: dict[str, int] = {}
    for nodeid in suite.tests.values():
        file = nodeid.partition("::")[0]
        per_file[file] = per_file.get(file, 0) + 1
    err.print(f"wrote {len(suite.tests)} tests in {len(per_file)} modules to {escape(str(out))}/")
    for file in sorted(per_file):
        err.print(f"  {escape(file)}: {per_file[file]} tests")
    others = sorted(name for name in suite.files if name not in per_file)
    err.print(f"  plus {escape(', '.join(others))}")
    for path in suite.removed:
        err.print(f"  removed stale {escape(path.name)}")
    for warning in suite.warnings:
        err.print(f"[yellow]warning:[/yellow] {escape(warning)}")
    url = (cfg.base_url if cfg is not None else None) or "http://127.0.0.1:8000"
    err.print(f"run them with:  pytest {escape(str(out))} --base-url {escape(url)}")
