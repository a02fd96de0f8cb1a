"""The pytest plugin: inert in unrelated runs, and when asked, a JSON report and feedback-store records of
every test and every exchange, with no secret in either."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import types
from pathlib import Path
from typing import Any

import pytest
from codegen_support import ShopRuns

from crossfield.codegen._reporting import write_store

SECRETS = ("alice-token", "bob-key", "session-t_", "Bearer ")


def run_pytest(args: list[str], cwd: Path, *, autoload: bool = True) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("CROSSFIELD_")}
    if not autoload:
        env["PYTEST_DISABLE_PLUGIN_AUTOLOAD"] = "1"
    return subprocess.run(
        [sys.executable, "-m", "pytest", "-p", "no:cacheprovider", *args],
        capture_output=True,
        text=True,
        cwd=cwd,
        env=env,
        timeout=120,
        check=False,
    )


def test_plugin_is_inert_in_an_unrelated_project(tmp_path: Path) -> None:
    (tmp_path / "pyproject.toml").write_text(
        '[tool.pytest.ini_options]\nfilterwarnings = ["error"]\naddopts = "--strict-markers"\n'
    )
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    assert 1 + 1 == 2\n")
    done = run_pytest(["-q", "-W", "error"], tmp_path)
    assert done.returncode == 0, done.stdout + done.stderr
    assert "crossfield" not in done.stdout.lower()
    assert not list(tmp_path.glob("*.json")), "no report unless asked for"
    fixtures = run_pytest(["-q", "--fixtures", "-p", "crossfield.codegen.plugin"], tmp_path, autoload=False)
    assert "crossfield" not in fixtures.stdout.lower(), "the plugin defines no fixtures"


def test_plugin_is_registered_by_its_entry_point(tmp_path: Path) -> None:
    (tmp_path / "test_plain.py").write_text("def test_plain():\n    pass\n")
    done = run_pytest(["--help"], tmp_path)
    for option in ("--base-url", "--crossfield-config", "--crossfield-store", "--crossfield-report"):
        assert option in done.stdout


def test_importing_the_plugin_has_no_side_effects() -> None:
    code = (
        "import sys\n"
        "before = set(sys.modules)\n"
        "import crossfield.codegen.plugin\n"
        "heavy = {'httpx', 'jsonschema', 'crossfield.codegen.runtime', 'crossfield.codegen.compiler', 'crossfield.feedback'}\n"
        "print(sorted(heavy & set(sys.modules)))\n"
    )
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True)
    assert out.stdout.strip() == "[]"


def test_report_has_one_entry_per_test(shop_runs: ShopRuns) -> None:
    report = shop_runs.buggy.report
    assert report["format"] == "crossfield.report/1"
    assert report["summary"]["tests"] == len(report["tests"]) == len(shop_runs.suite.tests)
    assert report["summary"]["failed"] == len(report["tests"])
    assert report["base_url"].startswith("http://127.0.0.1:")
    assert Path(report["suite_dir"]) == shop_runs.suite_dir
    for test in report["tests"]:
        assert set(test) >= {"test_id", "hypothesis_id", "outcome", "duration_s", "message", "exchanges"}
        assert test["test_id"] == shop_runs.suite.tests[test["hypothesis_id"]]
        assert test["duration_s"] > 0 and test["exchanges"] >= 1
        assert test["message"].startswith("crossfield.codegen._checks.CrossfieldFailure: Hypothesis ")


@pytest.mark.parametrize("which", ["correct", "buggy"])
def test_no_secret_reaches_the_report(shop_runs: ShopRuns, which: str) -> None:
    run: Any = getattr(shop_runs, which)
    for secret in SECRETS:
        assert secret not in run.report_text, secret
    exchanges = run.report["exchanges"]
    authorized = [e for e in exchanges if "authorization" in e["request_headers"]]
    keyed = [e for e in exchanges if "x-api-key" in e["request_headers"]]
    assert authorized and keyed, "alice, carol (Authorization) and bob (X-API-Key) all made calls"
    assert {e["request_headers"]["authorization"] for e in authorized} == {"[REDACTED]"}
    assert {e["request_headers"]["x-api-key"] for e in keyed} == {"[REDACTED]"}
    (login,) = [e for e in exchanges if e["step"] == "login"]
    assert '"password": "[REDACTED]"' in login["request_body"]
    assert '"access_token":"[REDACTED]"' in login["response_body"].replace(": ", ":")


def test_the_store_records_results_and_exchanges_without_secrets(shop_runs: ShopRuns) -> None:
    if shop_runs.store_path is None:
        pytest.skip("crossfield.feedback.Store has no add_test_run yet")
    from crossfield.feedback import Store

    with Store.open(shop_runs.store_path) as store:
        runs = store.sql("SELECT * FROM test_runs")
        results = store.sql("SELECT * FROM test_results")
        exchanges = store.sql("SELECT * FROM http_exchanges ORDER BY test_id, seq")
    assert len(runs) == 1 and runs[0]["base_url"].startswith("http://127.0.0.1:")
    assert {r["hypothesis_id"] for r in results} == set(shop_runs.suite.tests)
    assert {r["outcome"] for r in results} == {"passed"}
    assert len(exchanges) == len(shop_runs.correct.report["exchanges"])
    dumped = json.dumps(exchanges, default=str)
    for secret in SECRETS:
        assert secret not in dumped, secret


def test_store_writer_calls_the_store_exactly(monkeypatch: pytest.MonkeyPatch) -> None:
    calls: list[tuple[str, dict[str, Any]]] = []

    class FakeStore:
        @classmethod
        def open(cls, path: str) -> FakeStore:
            calls.append(("open", {"path": path}))
            return cls()

        def __enter__(self) -> FakeStore:
            return self

        def __exit__(self, *exc: object) -> None:
            calls.append(("close", {}))

        def add_test_run(self, **kwargs: Any) -> None:
            calls.append(("add_test_run", kwargs))

    fake = types.ModuleType("crossfield.feedback")
    fake.Store = FakeStore  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "crossfield.feedback", fake)
    result = {
        "test_id": "t::x",
        "hypothesis_id": "h_1",
        "outcome": "passed",
        "duration_s": 0.1,
        "message": None,
    }
    write_store(
        "store.duckdb",
        run_id="tr_1",
        started_at="2024-01-01T00:00:00+00:00",
        finished_at="2024-01-01T00:00:01+00:00",
        base_url="http://h",
        suite_dir="/s",
        results=[result],
        exchanges=[],
    )
    assert [c[0] for c in calls] == ["open", "add_test_run", "close"]
    assert calls[1][1] == {
        "run_id": "tr_1",
        "started_at": "2024-01-01T00:00:00+00:00",
        "finished_at": "2024-01-01T00:00:01+00:00",
        "base_url": "http://h",
        "suite_dir": "/s",
        "results": [result],
        "exchanges": [],
    }


def test_a_missing_base_url_is_a_clear_error(shop_runs: ShopRuns, tmp_path: Path) -> None:
    done = run_pytest(
        [str(shop_runs.suite_dir), "-q", "-x", "-p", "crossfield.codegen.plugin"], tmp_path, autoload=False
    )
    assert done.returncode == 1
    assert "no base URL for the API under test; pass --base-url URL" in done.stdout
