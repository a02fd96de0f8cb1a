"""Helpers for the codegen tests: compiling a suite, and running it with pytest in a subprocess against a
real server, reading the outcome from the plugin's JSON report."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import tomllib
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from crossfield.codegen import GeneratedSuite
from crossfield.codegen.config import Config, config_from_mapping


@dataclass
class SuiteRun:
    """One subprocess pytest run of a generated suite."""

    returncode: int
    stdout: str
    stderr: str
    report: dict[str, Any]
    report_text: str
    by_hypothesis: dict[str, dict[str, Any]] = field(default_factory=dict)

    def outcome(self, hypothesis_id: str) -> str:
        return str(self.by_hypothesis[hypothesis_id]["outcome"])

    def message(self, hypothesis_id: str) -> str:
        return str(self.by_hypothesis[hypothesis_id]["message"] or "")


@dataclass(frozen=True)
class ShopRuns:
    """The shop suite and its two runs: against the correct app and against the buggy one."""

    suite: GeneratedSuite
    suite_dir: Path
    correct: SuiteRun
    buggy: SuiteRun
    store_path: Path | None


def config_from_toml(text: str) -> Config:
    return config_from_mapping(tomllib.loads(text), source="test config")


def run_suite(
    suite_dir: Path,
    base_url: str,
    *,
    report: Path,
    extra_args: list[str] | None = None,
    env: dict[str, str] | None = None,
    autoload: bool = False,
    timeout: float = 120,
) -> SuiteRun:
    """`python -m pytest SUITE --base-url URL --crossfield-report REPORT` in a subprocess.

    Third-party plugin autoloading is off unless `autoload` (it only costs start-up time here); the
    crossfield plugin is then loaded explicitly, exactly as its entry point would."""
    args = [
        sys.executable,
        "-m",
        "pytest",
        str(suite_dir),
        "--base-url",
        base_url,
        "-p",
        "no:cacheprovider",
        "-q",
        "--crossfield-report",
        str(report),
        *(extra_args or []),
    ]
    full_env = {**os.environ, **(env or {})}
    full_env.pop("CROSSFIELD_BASE_URL", None)
    full_env.pop("CROSSFIELD_CONFIG", None)
    if not autoload:
        full_env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
        args[4:4] = ["-p", "crossfield.codegen.plugin"]
    done = subprocess.run(
        args, capture_output=True, text=True, env=full_env, cwd=suite_dir, timeout=timeout, check=False
    )
    text = report.read_text(encoding="utf-8") if report.exists() else "{}"
    data = json.loads(text)
    run = SuiteRun(done.returncode, done.stdout, done.stderr, data, text)
    for test in data.get("tests", []):
        if test.get("hypothesis_id"):
            run.by_hypothesis[test["hypothesis_id"]] = test
    return run
