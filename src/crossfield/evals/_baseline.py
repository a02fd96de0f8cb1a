"""The peer baseline: schemathesis (`st run`) against the same correct app and bug variants.

A benchmark number means little without a reference point, and schemathesis is what a team would run
instead of crossfield: property-based fuzzing with a stateful phase and every built-in check. It is scored
with crossfield's rule: a bug is detected when schemathesis reports a failure signature (check + operation)
on the variant that it does not report on the correct app. A correct app may still fail some checks
(e.g. 405 without `Allow`); those are its false alarms. Runs are bounded by `--max-examples`, a
deterministic generation mode and a hard timeout, because CI runs it over every target and variant.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import Any

from crossfield.evals._report import BaselineBug, BaselineResult, BaselineRun, BaselineSignature
from crossfield.evals._suite import child_env, run_bounded
from crossfield.evals._targets import Target
from crossfield.spec.model import Api

PHASES = "examples,coverage,fuzzing,stateful"


@dataclass(frozen=True, slots=True)
class BaselineSettings:
    """How much schemathesis may do per variant."""

    max_examples: int = 5
    timeout_s: float = 90.0
    request_timeout_s: float = 5.0
    phases: str = PHASES
    checks: str = "all"


def schemathesis_version() -> str:
    try:
        return metadata.version("schemathesis")
    except metadata.PackageNotFoundError:
        return ""


def schemathesis_command(
    target: Target, base_url: str, report: Path, settings: BaselineSettings
) -> list[str]:
    """`st run` with all checks and phases, the target's default identity headers, deterministic data."""
    cmd = [
        sys.executable,
        "-m",
        "schemathesis.cli",
        "run",
        str(target.spec_path),
        "--url",
        base_url,
        "--checks",
        settings.checks,
        "--phases",
        settings.phases,
        "--max-examples",
        str(settings.max_examples),
        "--generation-deterministic",  # also implies no example database (nothing written to disk)
        "--no-shrink",
        "--workers",
        "1",
        "--request-timeout",
        str(settings.request_timeout_s),
        "--report",
        "json",
        "--report-json-path",
        str(report),
        "--report-dir",
        str(report.parent),
        "--no-color",
    ]
    for name, value in target.default_headers().items():
        cmd += ["-H", f"{name}: {value}"]
    return cmd


def run_schemathesis(
    target: Target, variant: str, base_url: str, work_dir: Path, settings: BaselineSettings
) -> tuple[BaselineRun, list[str]]:
    """One bounded `st run` against a served variant; returns the run and the command (headers redacted)."""
    work_dir.mkdir(parents=True, exist_ok=True)
    report = work_dir / f"st-{variant}.json"
    report.unlink(missing_ok=True)
    cmd = schemathesis_command(target, base_url, report, settings)
    result = run_bounded(cmd, cwd=work_dir, timeout_s=settings.timeout_s, env=child_env())
    run = BaselineRun(
        variant=variant, duration_s=result.duration_s, exit_code=result.returncode, timed_out=result.timed_out
    )
    if report.is_file():
        try:
            run.signatures = parse_schemathesis_report(json.loads(report.read_text(encoding="utf-8")))
        except (ValueError, TypeError, KeyError) as exc:
            run.error = f"unreadable schemathesis report: {exc}"
    else:
        tail = (result.stdout + result.stderr).strip().splitlines()[-10:]
        run.error = (
            "schemathesis wrote no report"
            + (" (timed out)" if result.timed_out else "")
            + ":\n"
            + "\n".join(tail)
        )
    return run, _redact(cmd)


def parse_schemathesis_report(data: Any) -> list[BaselineSignature]:
    """Failure signatures from `st run --report json`: one per (check code, operation)."""
    found: dict[tuple[str, str], BaselineSignature] = {}
    for failure in data.get("failures") or []:
        check = str(failure.get("code") or failure.get("type") or "unknown")
        title = str(failure.get("title") or "")
        for operation in failure.get("operations") or ["(unknown operation)"]:
            found.setdefault(
                (check, str(operation)), BaselineSignature(check=check, title=title, operation=str(operation))
            )
    for error in data.get("errors") or []:
        # an error is not a finding, but it changes what ran; keep it visible under its own code
        label = (
            str(error.get("operation") or error.get("label") or "(run)")
            if isinstance(error, dict)
            else "(run)"
        )
        found.setdefault(
            ("error", label), BaselineSignature(check="error", title="schemathesis error", operation=label)
        )
    return sorted(found.values(), key=lambda s: (s.check, s.operation))


STATEFUL = "Stateful tests"
"""The operation schemathesis reports for failures found by its stateful phase."""


def score_baseline(
    target: Target,
    runs: dict[str, BaselineRun],
    wall_s: float,
    command: list[str],
    labels: Mapping[str, str] | None = None,
) -> BaselineResult:
    """Apply the differential rule to schemathesis's signatures.

    A new signature (on the variant, not on the correct app) detects a bug when it is on one of the
    operations `bugs.yaml` names for that bug, or comes from the stateful phase with a check the correct
    app never failed: data generation is not perfectly repeatable across apps whose state differs, and a
    failure that moves to an unrelated operation is noise, not a finding about this bug. `labels` maps
    operationId -> schemathesis's 'METHOD /path' label. When the correct app's run is incomplete (timed
    out, crashed) nothing can be scored: every bug is reported undetected and `error` says why."""
    correct = runs.get("correct")
    result = BaselineResult(
        version=schemathesis_version(),
        command=command,
        false_alarms=[s for s in (correct.signatures if correct else []) if s.check != "error"],
        runs=[runs[k] for k in ["correct", *(b.id for b in target.bugs)] if k in runs],
        wall_s=round(wall_s, 3),
    )
    if correct is None or correct.timed_out or correct.error:
        why = "did not run" if correct is None else ("timed out" if correct.timed_out else correct.error)
        result.error = f"the correct app's schemathesis run {why}; no bug can be scored (raise --st-timeout)"
        result.bugs = [BaselineBug(id=b.id, detected=False) for b in target.bugs]
        return result
    base_keys = {s.key for s in correct.signatures}
    base_checks = {s.check for s in correct.signatures}
    for bug in target.bugs:
        run = runs.get(bug.id)
        new = [s for s in run.signatures if s.key not in base_keys and s.check != "error"] if run else []
        ops = {(labels or {}).get(o, o) for o in bug.operations}
        relevant = [
            s for s in new if s.operation in ops or (s.operation == STATEFUL and s.check not in base_checks)
        ]
        result.bugs.append(BaselineBug(id=bug.id, detected=bool(relevant), new_signatures=new))
    return result


def operation_labels(api: Api) -> dict[str, str]:
    """operationId -> 'METHOD /path', the label schemathesis reports an operation under."""
    return {op.id: f"{op.method.upper()} {op.path}" for op in api.operations}


def _redact(cmd: list[str]) -> list[str]:
    out: list[str] = []
    redact_next = False
    for part in cmd:
        if redact_next:
            name, _, _ = part.partition(":")
            part = f"{name}: [redacted]"
        redact_next = part == "-H"
        out.append(part)
    return out
