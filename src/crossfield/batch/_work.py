"""The work on one spec, in a worker thread or process: load, scope (`--since`), judge, compile tests.

Everything here is CPU- or I/O-bound work that never touches the store or the manifest; it returns what
it produced and the runner's writer thread puts it in place. Generated tests are built in a staging
directory inside the spec's output directory, so putting them in place is a rename.
"""

from __future__ import annotations

import shutil
import threading
import time
from dataclasses import dataclass
from pathlib import Path

from crossfield.batch._discover import SpecFile
from crossfield.batch._manifest import RunKey
from crossfield.batch._outputs import staging_dir
from crossfield.batch._since import ChangeScope, change_scope, tag_hypotheses
from crossfield.judgment.base import Judge, JudgeResult
from crossfield.judgment.models import Hypothesis
from crossfield.spec.loader import load_spec
from crossfield.spec.model import Api


class Stopped(Exception):
    """The run is stopping (Ctrl-C): a worker gives up between phases instead of finishing a spec nobody
    will record."""


@dataclass(slots=True)
class Job:
    spec: SpecFile
    key: RunKey
    since_old: Path | None = None
    reuse: list[Hypothesis] | None = None
    """Hypotheses already judged under this key (from the manifest's output or the store): skip the judge."""
    reuse_source: str | None = None


@dataclass(slots=True)
class Prepared:
    api: Api
    judged: Api
    scope: ChangeScope | None = None


@dataclass(slots=True)
class Worked:
    prepared: Prepared
    result: JudgeResult | None
    hypotheses: list[Hypothesis]
    staging: Path | None = None
    tests: list[dict[str, str]] | None = None
    """One row per generated test, when tests were compiled."""
    seconds: float = 0.0
    operations: int = 0
    """How many operations the judge saw (all, or the changed and linked ones of a `--since` run)."""


def prepare(job: Job) -> Prepared:
    """Load the spec and, for a changed-operations run, cut it down to what changed (raises SpecError)."""
    api = load_spec(job.spec.path)
    if job.since_old is None:
        return Prepared(api, api)
    scope = change_scope(load_spec(job.since_old), api)
    return Prepared(api, scope.api, scope)


def conclude(prepared: Prepared, result: JudgeResult) -> list[Hypothesis]:
    """The run's hypotheses from a judge result: tagged with their change in a `--since` run."""
    if prepared.scope is None:
        return list(result.hypotheses)
    tagged = tag_hypotheses(result.hypotheses, prepared.scope)
    result.hypotheses = tagged
    return tagged


def compile_tests(
    hypotheses: list[Hypothesis], api: Api, spec_dir: Path
) -> tuple[Path, list[dict[str, str]]]:
    """Generate the test suite into a staging directory; return it and one row per generated test
    (hypothesis id, file, test name: what the store's `generated_tests` table takes)."""
    from crossfield.codegen import generate

    staging = staging_dir(spec_dir)
    try:
        suite = generate(hypotheses, api, staging)
    except BaseException:
        shutil.rmtree(staging, ignore_errors=True)
        raise
    return staging, suite.generated_tests()


def work_sync(
    job: Job, judge: Judge, *, out: Path, codegen: bool, stopping: threading.Event | None
) -> Worked:
    """Everything for one spec with a synchronous judge, in a worker thread (`stopping` lets it give up
    early on Ctrl-C) or a worker process (which is terminated instead)."""
    started = time.perf_counter()
    prepared = prepare(job)
    _check(stopping)
    result: JudgeResult | None = None
    if job.reuse is not None:
        hypotheses = job.reuse
    else:
        result = judge.judge(prepared.judged)
        hypotheses = conclude(prepared, result)
    _check(stopping)
    worked = Worked(prepared, result, hypotheses, operations=len(prepared.judged.operations))
    if codegen:
        worked.staging, worked.tests = compile_tests(hypotheses, prepared.api, out / job.spec.name)
    worked.seconds = time.perf_counter() - started
    return worked


def _check(stopping: threading.Event | None) -> None:
    if stopping is not None and stopping.is_set():
        raise Stopped
