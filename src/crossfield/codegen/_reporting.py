"""The plugin's reporter: test outcomes and HTTP exchanges of a run, written to a JSON report and/or the
feedback store. Only registered when `--crossfield-report` or `--crossfield-store` is given.
"""

from __future__ import annotations

import json
import os
import uuid
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from crossfield.codegen._atomic import write_text_atomic
from crossfield.codegen._recording import MARKER, Collector

__all__ = ["REPORT_FORMAT", "RunReporter", "check_store_available"]

REPORT_FORMAT = "crossfield.report/1"
_MESSAGE_CHARS = 4000


def check_store_available() -> None:
    """Fail the run early (a usage error) when the feedback store cannot take test runs."""
    try:
        from crossfield.feedback import Store
    except ImportError as exc:
        raise pytest.UsageError(
            f"--crossfield-store: the crossfield feedback store is not available ({exc})"
        ) from None
    if not hasattr(Store, "add_test_run"):
        raise pytest.UsageError(
            "--crossfield-store: this crossfield.feedback.Store cannot record test runs (no add_test_run)"
        )


@dataclass(slots=True)
class _Result:
    test_id: str
    hypothesis_id: str | None
    outcome: str = "passed"
    duration_s: float = 0.0
    message: str | None = None


class RunReporter:
    """pytest hooks that collect one run; registered by `plugin.pytest_configure` when asked for."""

    def __init__(self, config: pytest.Config, *, store: str | None, report: str | None) -> None:
        self.config = config
        self.store = store
        self.report = report
        self.collector = Collector()
        self.run_id = "tr_" + uuid.uuid4().hex[:16]
        self.started_at = _now()
        self._hypotheses: dict[str, str | None] = {}
        self._paths: dict[str, Path] = {}
        self._results: dict[str, _Result] = {}

    # ---- hooks ------------------------------------------------------------------------------------

    def pytest_itemcollected(self, item: pytest.Item) -> None:
        marker = item.get_closest_marker(MARKER)
        hypothesis = marker.kwargs.get("hypothesis") if marker is not None else None
        self._hypotheses[item.nodeid] = str(hypothesis) if hypothesis else None
        self._paths[item.nodeid] = Path(str(item.path))

    def pytest_runtest_logreport(self, report: pytest.TestReport) -> None:
        result = self._results.get(report.nodeid)
        if result is None:
            result = _Result(test_id=report.nodeid, hypothesis_id=self._hypotheses.get(report.nodeid))
            self._results[report.nodeid] = result
        result.duration_s = round(result.duration_s + float(report.duration), 6)
        if report.when == "setup":
            if report.failed:
                result.outcome, result.message = "error", self._message(report)
            elif report.skipped:
                result.outcome, result.message = "skipped", self._message(report)
        elif report.when == "call":
            if report.failed:
                result.outcome, result.message = "failed", self._message(report)
            elif report.skipped:
                result.outcome, result.message = "skipped", self._message(report)
        elif report.failed and result.outcome == "passed":
            result.outcome, result.message = "error", self._message(report)

    def pytest_sessionfinish(self, session: pytest.Session, exitstatus: int) -> None:
        finished_at = _now()
        results = [self._result_dict(r) for r in self._results.values()]
        exchanges = [e for e in self.collector.exchanges]
        exchanges.sort(key=lambda e: (e.test_id, e.seq))
        base_url = self.collector.base_url or str(self.config.getoption("base_url", default=None) or "")
        suite_dir = self._suite_dir()
        if self.report:
            counts: dict[str, int] = {}
            for outcome in ("passed", "failed", "error", "skipped"):
                counts[outcome] = sum(1 for r in results if r["outcome"] == outcome)
            payload = {
                "format": REPORT_FORMAT,
                "run_id": self.run_id,
                "started_at": self.started_at,
                "finished_at": finished_at,
                "base_url": base_url,
                "suite_dir": suite_dir,
                "summary": {"tests": len(results), **counts, "exchanges": len(exchanges)},
                "tests": results,
                "exchanges": [e.to_dict() for e in exchanges],
            }
            _write_json_atomic(Path(self.report), payload)
        if self.store:
            self._write_store(
                results, [e.to_store() for e in exchanges], base_url, suite_dir, finished_at, session
            )

    def pytest_terminal_summary(self, terminalreporter: Any) -> None:
        if self.collector.notes:
            terminalreporter.section("crossfield notes")
            for test_id, notes in sorted(self.collector.notes.items()):
                for note in notes:
                    terminalreporter.write_line(f"{test_id}: {note}")
        if self.report:
            terminalreporter.write_line(f"crossfield: report written to {self.report}")

    # ---- helpers ----------------------------------------------------------------------------------

    def _result_dict(self, result: _Result) -> dict[str, Any]:
        exchanges = len(self.collector.exchanges_of(result.test_id))
        return {
            "test_id": result.test_id,
            "nodeid": result.test_id,
            "hypothesis_id": result.hypothesis_id,
            "outcome": result.outcome,
            "duration_s": result.duration_s,
            "message": result.message,
            "exchanges": exchanges,
            "notes": list(self.collector.notes.get(result.test_id, [])),
        }

    def _message(self, report: pytest.TestReport) -> str | None:
        longrepr = report.longrepr
        if longrepr is None:
            return None
        if isinstance(longrepr, tuple) and len(longrepr) == 3:
            text = str(longrepr[2])
        else:
            crash = getattr(longrepr, "reprcrash", None)
            text = str(crash.message) if crash is not None else report.longreprtext
        text = self.collector.redactor.text(text)
        return text if len(text) <= _MESSAGE_CHARS else text[:_MESSAGE_CHARS] + "..."

    def _suite_dir(self) -> str:
        dirs = sorted({str(p.parent) for nodeid, p in self._paths.items() if self._hypotheses.get(nodeid)})
        if not dirs:
            dirs = sorted({str(p.parent) for p in self._paths.values()})
        if not dirs:
            return str(self.config.rootpath)
        return os.path.commonpath(dirs)

    def _write_store(
        self,
        results: list[dict[str, Any]],
        exchanges: list[dict[str, Any]],
        base_url: str,
        suite_dir: str,
        finished_at: str,
        session: pytest.Session,
    ) -> None:
        store_results = [
            {k: r[k] for k in ("test_id", "hypothesis_id", "outcome", "duration_s", "message")}
            for r in results
        ]
        try:
            write_store(
                str(self.store),
                run_id=self.run_id,
                started_at=self.started_at,
                finished_at=finished_at,
                base_url=base_url,
                suite_dir=suite_dir,
                results=store_results,
                exchanges=exchanges,
            )
        except Exception as exc:  # report it, never crash pytest at the very end
            reporter = self.config.pluginmanager.get_plugin("terminalreporter")
            if reporter is not None:
                reporter.write_line(f"crossfield: could not record the run in {self.store}: {exc}", red=True)
            session.exitstatus = pytest.ExitCode.INTERNAL_ERROR


def write_store(
    path: str,
    *,
    run_id: str,
    started_at: str,
    finished_at: str,
    base_url: str,
    suite_dir: str,
    results: list[dict[str, Any]],
    exchanges: list[dict[str, Any]],
) -> None:
    """Record one test run in the feedback store at `path`."""
    from crossfield.feedback import Store

    with Store.open(path) as store:
        store.add_test_run(
            run_id=run_id,
            started_at=started_at,
            finished_at=finished_at,
            base_url=base_url,
            suite_dir=suite_dir,
            results=results,
            exchanges=exchanges,
        )


def _now() -> str:
    return datetime.now(UTC).isoformat()


def _write_json_atomic(path: Path, payload: Any) -> None:
    write_text_atomic(path, json.dumps(payload, indent=2, ensure_ascii=False) + "\n")
