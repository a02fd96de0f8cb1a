"""Running a generated suite against one served variant, in a subprocess, and reading its outcomes.

A subprocess (not `pytest.main` in-process) because generated modules are imported by pytest: running
the same suite eight times in one interpreter would reuse stale modules and leak plugin state, and a
hanging test must be killable by a timeout without taking the harness down.
"""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from crossfield.evals._report import Outcome, SuiteRun, TestOutcome

_OUTCOMES: Mapping[str, Outcome] = {
    "passed": "passed",
    "pass": "passed",
    "xpassed": "passed",
    "failed": "failed",
    "fail": "failed",
    "failure": "failed",
    "error": "error",
    "errored": "error",
    "skipped": "skipped",
    "skip": "skipped",
    "xfailed": "skipped",
    "deselected": "skipped",
}


@dataclass(frozen=True, slots=True)
class Subprocess:
    """What a bounded subprocess run produced."""

    returncode: int | None
    stdout: str
    stderr: str
    duration_s: float
    timed_out: bool


def run_bounded(
    cmd: list[str], *, cwd: Path, timeout_s: float, env: Mapping[str, str] | None = None
) -> Subprocess:
    """Run `cmd`; on timeout interrupt it (SIGINT, so tools can flush their reports), then kill it.

    The child gets its own process group so the kill reaches anything it started, and only that."""
    start = time.monotonic()
    proc = subprocess.Popen(
        cmd,
        cwd=cwd,
        env=dict(env) if env is not None else None,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        start_new_session=True,
    )
    timed_out = False
    try:
        out, err = proc.communicate(timeout=timeout_s)
    except subprocess.TimeoutExpired:
        timed_out = True
        _signal_group(proc, signal.SIGINT)
        try:
            out, err = proc.communicate(timeout=5)
        except subprocess.TimeoutExpired:
            _signal_group(proc, signal.SIGKILL)
            out, err = proc.communicate()
    return Subprocess(proc.returncode, out or "", err or "", round(time.monotonic() - start, 3), timed_out)


def _signal_group(proc: subprocess.Popen[str], sig: signal.Signals) -> None:
    with contextlib.suppress(ProcessLookupError, PermissionError):
        os.killpg(proc.pid, sig)


def child_env() -> dict[str, str]:
    """The environment of a child test run: ours, minus anything that would change pytest's behaviour
    from outside, and without bytecode files written into the generated suite."""
    env = {k: v for k, v in os.environ.items() if k not in ("PYTEST_ADDOPTS", "PYTEST_PLUGINS")}
    env["PYTHONDONTWRITEBYTECODE"] = "1"
    return env


def pytest_env() -> dict[str, str]:
    """`child_env`, with pytest's plugin autoloading off: a generated suite needs only the crossfield
    plugin (loaded explicitly by `pytest_command`), and the hypothesis/schemathesis plugins that a
    test environment usually has installed cost about five seconds per run at startup."""
    env = child_env()
    env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return env


def pytest_command(suite_dir: Path, base_url: str, config: Path, report: Path) -> list[str]:
    return [
        sys.executable,
        "-m",
        "pytest",
        str(suite_dir),
        "-p",
        "crossfield.codegen.plugin",
        "--base-url",
        base_url,
        "--crossfield-config",
        str(config),
        "--crossfield-report",
        str(report),
        "-p",
        "no:cacheprovider",
        "-q",
        "--rootdir",
        str(suite_dir),
    ]


def run_suite(
    suite_dir: Path, base_url: str, *, config: Path, variant: str, report: Path, timeout_s: float
) -> SuiteRun:
    """Run the suite in `suite_dir` against `base_url` and read the plugin's JSON report."""
    report.unlink(missing_ok=True)
    result = run_bounded(
        pytest_command(suite_dir, base_url, config, report),
        cwd=suite_dir,
        timeout_s=timeout_s,
        env=pytest_env(),
    )
    run = SuiteRun(
        variant=variant, duration_s=result.duration_s, exit_code=result.returncode, timed_out=result.timed_out
    )
    if report.is_file():
        try:
            run.outcomes = parse_plugin_report(json.loads(report.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError) as exc:
            run.error = f"unreadable report {report}: {exc}"
    else:
        tail = (result.stdout + result.stderr).strip().splitlines()[-15:]
        what = f"timed out after {timeout_s:.0f}s" if result.timed_out else f"exit code {result.returncode}"
        run.error = f"pytest wrote no report ({what}):\n" + "\n".join(tail)
    if result.timed_out and run.error is None:
        run.error = f"timed out after {timeout_s:.0f}s; tests that had not reported count as missing"
    return run


def parse_plugin_report(data: Any) -> list[TestOutcome]:
    """Outcomes from the crossfield pytest plugin's `--crossfield-report` JSON.

    Accepts a list of per-test objects or an object holding one under `tests` (or `results`); each has a
    node id, a hypothesis id, an outcome and a message. Unknown outcomes are kept as errors rather than
    dropped, so a new plugin outcome can never silently turn into a pass."""
    items = data
    if isinstance(data, dict):
        items = data.get("tests", data.get("results"))
    if not isinstance(items, list):
        raise ValueError("expected a list of test outcomes (or an object with 'tests')")
    outcomes: dict[str, TestOutcome] = {}
    for item in items:
        if not isinstance(item, dict):
            continue
        nodeid = str(item.get("nodeid") or item.get("test_id") or item.get("id") or "")
        if not nodeid:
            continue
        raw = str(item.get("outcome", "")).lower()
        hyp = item.get("hypothesis_id", item.get("hypothesis"))
        message = item.get("message") or item.get("longrepr") or ""
        outcome = _OUTCOMES.get(raw, "error")
        previous = outcomes.get(nodeid)
        # a test reported for several phases (setup/call/teardown): the worst outcome wins
        if previous is None or _rank(outcome) > _rank(previous.outcome):
            outcomes[nodeid] = TestOutcome(
                nodeid=nodeid,
                hypothesis_id=str(hyp) if hyp else None,
                outcome=outcome,
                message=str(message)[:4000],
            )
    return list(outcomes.values())


def _rank(outcome: Outcome) -> int:
    return {"missing": 0, "skipped": 1, "passed": 2, "failed": 3, "error": 4}[outcome]
