"""`crossfield run` and `crossfield diff` on the command line (in process, through typer's runner)."""

from __future__ import annotations

import io
import json
from pathlib import Path

import pytest
from batch_support import orders_doc, write_spec
from rich.console import Console
from typer.testing import CliRunner

from crossfield.batch import RichProgress, SpecOutcome
from crossfield.cli import app


def _heuristic_available() -> bool:
    try:
        from crossfield.judgment.registry import make_judge

        make_judge("heuristic")
    except Exception:
        return False
    return True


needs_heuristic = pytest.mark.skipif(
    not _heuristic_available(), reason="needs the heuristic judge (crossfield.judgment.registry)"
)


@pytest.fixture(autouse=True)
def _private_cache(monkeypatch: pytest.MonkeyPatch, tmp_path: Path) -> None:
    monkeypatch.setenv("CROSSFIELD_CACHE_DIR", str(tmp_path / "cache"))


@needs_heuristic
@pytest.mark.parametrize("workers_concurrency", ["1", "2"])
def test_run_cli_reports_broken_files_writes_json_and_exits_1(
    tmp_path: Path, workers_concurrency: str
) -> None:
    corpus, out, summary_file = tmp_path / "corpus", tmp_path / "out", tmp_path / "summary.json"
    for i in range(3):
        write_spec(corpus / f"api{i}.json", orders_doc(f"API {i}"))
    (corpus / "broken.yaml").write_text("openapi: 3.0.0\npaths: {a: [\n")
    args = ["run", str(corpus), "--judge", "heuristic", "--out", str(out), "--json", str(summary_file)]
    result = CliRunner().invoke(app, [*args, "--concurrency", workers_concurrency])
    assert result.exit_code == 1, result.output
    assert "broken" in result.output and "not-loadable" in result.output
    data = json.loads(summary_file.read_text())
    assert data["judge"] == "heuristic"
    assert (data["totals"]["done"], data["totals"]["not_loadable"]) == (3, 1)
    broken = next(s for s in data["specs"] if s["name"] == "broken")
    assert broken["reason"].startswith(str(corpus / "broken.yaml"))
    assert all((out / f"api{i}" / "hypotheses.json").is_file() for i in range(3))

    again = CliRunner().invoke(app, args)
    assert again.exit_code == 1  # the broken file is still broken; the rest is skipped
    assert json.loads(summary_file.read_text())["totals"]["skipped"] == 3


@needs_heuristic
def test_run_cli_since(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "v1" / "orders.json", orders_doc("Orders"))
    new = write_spec(tmp_path / "v2" / "orders.json", orders_doc("Orders", extra_operation=True))
    out = tmp_path / "out"
    result = CliRunner().invoke(
        app, ["run", "--since", str(old), str(new), "--judge", "heuristic", "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    changes = json.loads((out / "orders" / "changes.json").read_text())
    assert changes["changed_operations"] == ["cancelOrder"]
    hset = json.loads((out / "orders" / "hypotheses.json").read_text())
    assert all(h["change"] for h in hset["hypotheses"])


def test_run_cli_usage_errors_exit_2(tmp_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["run", str(tmp_path / "missing"), "--judge", "scripted", "--out", str(tmp_path)]
    )
    assert result.exit_code == 2 and "no such file or directory" in " ".join(result.output.split())
    result = CliRunner().invoke(
        app, ["run", str(tmp_path), "-j", "heuristic", "-o", str(tmp_path), "--workers", "x"]
    )
    assert result.exit_code == 2 and "--workers must be" in result.output
    result = CliRunner().invoke(app, ["run", "--judge", "scripted", "--out", str(tmp_path)])
    assert result.exit_code == 2 and "no spec paths" in " ".join(result.output.split())


def test_diff_cli_text_and_json(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "old.json", orders_doc("Orders"))
    new = write_spec(tmp_path / "new.json", orders_doc("Orders", extra_field=True, extra_operation=True))
    text = CliRunner().invoke(app, ["diff", str(old), str(new)], env={"COLUMNS": "200"})
    assert text.exit_code == 0, text.output
    assert "operations added (1): cancelOrder" in text.output
    assert "createOrder" in text.output and "body.coupon" in text.output
    as_json = CliRunner().invoke(app, ["diff", str(old), str(new), "--json"])
    data = json.loads(as_json.output)
    assert data["summary"]["by_kind"]["operation_added"] == 1
    fields = [(c["kind"], c["operation"], c["field"]) for c in data["changes"]]
    assert ("field_added", "createOrder", "body.coupon") in fields
    breaking = CliRunner().invoke(app, ["diff", str(new), str(old), "--json", "--breaking"])
    assert {c["kind"] for c in json.loads(breaking.output)["changes"]} == {
        "operation_removed",
        "field_removed",
    }
    missing = CliRunner().invoke(app, ["diff", str(old), str(tmp_path / "nope.yaml")])
    assert missing.exit_code == 2 and "file not found" in " ".join(missing.output.split())


def test_progress_bar_shows_counts_on_a_terminal_and_nothing_otherwise() -> None:
    buf = io.StringIO()
    bar = RichProgress(Console(file=buf, force_terminal=True, width=160))
    bar.start(3)
    bar.advance(
        SpecOutcome("a", "a", "done", hypotheses=4, calls=2, input_tokens=100, output_tokens=20, cost_usd=0.5)
    )
    bar.advance(SpecOutcome("b", "b", "failed", reason="x"))
    bar.close()
    text = buf.getvalue()
    assert "2/3" in text and "1 failed" in text and "4 hypotheses" in text and "120 tokens" in text
    quiet = io.StringIO()
    bar = RichProgress(Console(file=quiet, force_terminal=False))
    bar.start(1)
    bar.advance(SpecOutcome("a", "a", "done"))
    bar.close()
    assert quiet.getvalue() == ""
