"""Compiling hypotheses into a pytest suite: the mechanical half of crossfield (no model in it).

    files = compile_hypotheses(hypotheses, api, config=config)   # {relative path: text}
    write_suite(files, "tests/api")

One test function per hypothesis, named from its title; one module per API resource (the operation's
first tag, else the first path segment), a `conftest.py` with the fixtures, `crossfield_schemas.json`
with the response schemas the runtime checks, and, when a configuration is given, the suite's own
`crossfield.toml`. The output is deterministic: the same hypotheses and spec give byte-identical files,
whatever order the hypotheses come in.

The compiler parses every module it writes before returning it, so a bug here can never produce a file
that does not parse.
"""

from __future__ import annotations

import ast
import os
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path

from crossfield.codegen._atomic import write_text_atomic
from crossfield.codegen._files import CONFTEST, GENERATED_MARKER, config_toml, module_text, schemas_json
from crossfield.codegen._names import slug
from crossfield.codegen._spec_book import SCHEMAS_FILE_NAME
from crossfield.codegen._writer import TestWriter
from crossfield.codegen.config import CONFIG_FILE_NAME, Config, load_config
from crossfield.codegen.synth import Synthesizer
from crossfield.errors import HypothesisError
from crossfield.judgment.grounding import grounding_problems
from crossfield.judgment.models import Hypothesis, HypothesisDraft, Provenance
from crossfield.spec.model import Api, Operation

__all__ = ["GeneratedSuite", "compile_hypotheses", "compile_suite", "generate", "prune_stale", "write_suite"]

_VERSION_SEGMENT = re.compile(r"^(v\d+(\.\d+)*|api|rest)$", re.IGNORECASE)
_TEST_NAME_LENGTH = 70


@dataclass(frozen=True, slots=True)
class GeneratedSuite:
    """A compiled suite: its files, and which test checks which hypothesis."""

    files: dict[str, str]
    tests: dict[str, str] = field(default_factory=dict)
    """hypothesis id -> pytest node id relative to the suite (`test_charges.py::test_refund_...`)."""
    out_dir: Path | None = None
    warnings: tuple[str, ...] = ()
    removed: tuple[Path, ...] = ()
    """Stale generated test modules `generate` deleted (a resource no hypothesis covers any more)."""

    @property
    def test_files(self) -> list[str]:
        return sorted(p for p in self.files if p.startswith("test_"))

    def generated_tests(self) -> list[dict[str, str]]:
        """Rows for the feedback store's `add_generated_tests`: hypothesis_id, file, test_name."""
        rows = []
        for hypothesis_id, nodeid in sorted(self.tests.items()):
            file, _, name = nodeid.partition("::")
            rows.append({"hypothesis_id": hypothesis_id, "file": file, "test_name": name})
        return rows


def compile_hypotheses(
    hypotheses: Iterable[Hypothesis | HypothesisDraft],
    api: Api,
    *,
    config: Config | str | os.PathLike[str] | None = None,
) -> dict[str, str]:
    """{relative path: file text} of the suite for `hypotheses` (see `compile_suite`)."""
    return compile_suite(hypotheses, api, config=config).files


def compile_suite(
    hypotheses: Iterable[Hypothesis | HypothesisDraft],
    api: Api,
    *,
    config: Config | str | os.PathLike[str] | None = None,
) -> GeneratedSuite:
    """Compile grounded hypotheses. Raises `HypothesisError` (naming the hypothesis) for one that does
    not ground against `api`: re-ground first (`grounding_problems`) to skip those instead."""
    cfg = load_config(config) if isinstance(config, str | os.PathLike) else config
    unique = _dedupe([_as_hypothesis(h) for h in hypotheses])
    for hyp in unique:
        problems = grounding_problems(hyp, api)
        if problems:
            raise HypothesisError([f"hypothesis {hyp.id} ({hyp.title!r}): {p}" for p in problems])
    writer = TestWriter(api, Synthesizer(api.schema_defs))
    by_file: dict[str, list[Hypothesis]] = {}
    for hyp in unique:
        by_file.setdefault(_file_for(hyp, api), []).append(hyp)
    files: dict[str, str] = {}
    tests: dict[str, str] = {}
    taken: set[str] = set()
    used_ops: set[str] = set()
    for file_name in sorted(by_file):
        group = sorted(by_file[file_name], key=lambda h: (slug(h.title), h.id))
        functions = []
        writer.uses_paging = False
        for hyp in group:
            name = _test_name(hyp, taken)
            functions.append(writer.function(hyp, name))
            tests[hyp.id] = f"{file_name}::{name}"
            used_ops.update(step.operation for step in hyp.steps)
        resource = file_name.removeprefix("test_").removesuffix(".py")
        text = module_text(resource, api, functions, uses_paging=writer.uses_paging, count=len(group))
        _check_parses(file_name, text)
        files[file_name] = text
    warnings: list[str] = []
    if cfg is not None:
        used_ops.update(_login_operations(cfg))
        files[CONFIG_FILE_NAME] = config_toml(cfg)
    warnings.extend(_identity_warnings(unique, cfg))
    files["conftest.py"] = CONFTEST
    files[SCHEMAS_FILE_NAME] = schemas_json(api, used_ops)
    return GeneratedSuite(files=dict(sorted(files.items())), tests=tests, warnings=tuple(warnings))


def write_suite(files: Mapping[str, str], out_dir: str | os.PathLike[str]) -> list[Path]:
    """Write `files` under `out_dir`, each atomically (a temporary file renamed into place)."""
    root = Path(out_dir)
    written = []
    for relative, text in sorted(files.items()):
        target = (root / relative).resolve()
        if root.resolve() not in target.parents:
            raise ValueError(f"refusing to write {relative!r} outside {root}")
        write_text_atomic(target, text)
        written.append(target)
    return written


def generate(
    hypotheses: Iterable[Hypothesis | HypothesisDraft],
    api: Api,
    out_dir: str | os.PathLike[str],
    config: Config | str | os.PathLike[str] | None = None,
) -> GeneratedSuite:
    """Compile `hypotheses` and write the suite to `out_dir`; returns what was written.

    Test modules that an earlier `generate` wrote into `out_dir` and that this suite no longer has are
    removed (only files carrying the generated-file header; anything else is left alone)."""
    suite = compile_suite(hypotheses, api, config=config)
    write_suite(suite.files, out_dir)
    removed = prune_stale(out_dir, suite.files)
    return GeneratedSuite(
        files=suite.files, tests=suite.tests, out_dir=Path(out_dir), warnings=suite.warnings, removed=removed
    )


def prune_stale(out_dir: str | os.PathLike[str], keep: Mapping[str, str]) -> tuple[Path, ...]:
    """Delete generated `test_*.py` modules in `out_dir` that are not in `keep`."""
    removed = []
    for path in sorted(Path(out_dir).glob("test_*.py")):
        if path.name in keep:
            continue
        try:
            head = path.read_text(encoding="utf-8")[:600]
        except (OSError, UnicodeDecodeError):
            continue
        if GENERATED_MARKER in head:
            path.unlink()
            removed.append(path)
    return tuple(removed)


# ---- helpers --------------------------------------------------------------------------------------


def _as_hypothesis(item: Hypothesis | HypothesisDraft) -> Hypothesis:
    if isinstance(item, Hypothesis):
        return item
    return Hypothesis.from_draft(item, Provenance(judge="unknown"))


def _dedupe(hypotheses: Sequence[Hypothesis]) -> list[Hypothesis]:
    """One hypothesis per id (the same content id is the same claim), independent of input order."""
    by_id: dict[str, Hypothesis] = {}
    for hyp in sorted(hypotheses, key=lambda h: (h.id, h.model_dump_json())):
        by_id.setdefault(hyp.id, hyp)
    return [by_id[k] for k in sorted(by_id)]


def resource_of(op: Operation) -> str:
    """The resource an operation belongs to: its first tag, else its first non-version path segment."""
    if op.tags:
        return slug(op.tags[0], max_length=40, fallback="api")
    for segment in op.path.split("/"):
        if segment and not segment.startswith("{") and not _VERSION_SEGMENT.match(segment):
            return slug(segment, max_length=40, fallback="api")
    return "api"


def _file_for(hyp: Hypothesis, api: Api) -> str:
    op = api.operation(hyp.fields[0].operation) or api.operation(hyp.steps[0].operation)
    resource = resource_of(op) if op is not None else "api"
    return f"test_{resource}.py"


def _test_name(hyp: Hypothesis, taken: set[str]) -> str:
    base = "test_" + slug(hyp.title, max_length=_TEST_NAME_LENGTH, fallback=hyp.id.removeprefix("h_"))
    name, number = base, 2
    while name in taken:
        name, number = f"{base}_{number}", number + 1
    taken.add(name)
    return name


def _check_parses(file_name: str, text: str) -> None:
    try:
        ast.parse(text, filename=file_name)
    except SyntaxError as exc:  # a compiler bug, never the input's fault
        raise RuntimeError(f"crossfield generated invalid Python in {file_name}: {exc}") from exc


def _login_operations(config: Config) -> set[str]:
    return {
        i.login.operation for i in config.identities.values() if i.login is not None and i.login.operation
    }


def _identity_warnings(hypotheses: Sequence[Hypothesis], config: Config | None) -> list[str]:
    needed: dict[str, list[str]] = {}
    for hyp in hypotheses:
        for step in hyp.steps:
            if step.identity != "default":
                needed.setdefault(step.identity, []).append(hyp.id)
    if not needed:
        return []
    out = []
    for name in sorted(n for n in needed if config is None or config.identity(n) is None):
        ids = ", ".join(sorted(set(needed[name]))[:5])
        out.append(
            f"identity {name!r} (used by {ids}) is not configured; add [identities.{name}] to crossfield.toml "
            "or those tests will fail"
        )
    return out
