"""`crossfield review` (driven through a pseudo-terminal, key by key), `crossfield decide` and
`crossfield export` from the command line."""

from __future__ import annotations

import json
import os
import sys
import textwrap
from pathlib import Path

import pexpect
import pytest
import yaml
from feedback_support import PAYMENTS_SPEC, refund_draft, scripted_result
from typer.testing import CliRunner

from crossfield.cli import app
from crossfield.feedback import Store
from crossfield.feedback._formats import validate_file

TESTS = Path(__file__).resolve().parent


@pytest.fixture
def store_path(tmp_path: Path) -> Path:
    """A store with three undecided hypotheses, best first: variants 0, 1, 2."""
    path = tmp_path / "review.duckdb"
    store = Store.open(path)
    store.record_judge_run(scripted_result([refund_draft(i, confidence=0.9 - i / 10) for i in range(3)]))
    return path


def _ids(path: Path) -> list[str]:
    return [r["hypothesis_id"] for r in Store.open(path).hypotheses()]


EDITOR = """
    import pathlib, sys, yaml
    target = pathlib.Path(sys.argv[1])
    counter = pathlib.Path(__file__).with_suffix(".count")
    calls = int(counter.read_text()) + 1 if counter.exists() else 1
    counter.write_text(str(calls))
    data = yaml.safe_load(target.read_text())
    if calls == 1:
        data["steps"][0]["operation"] = "createChargeTwice"  # not in the spec: grounding must refuse it
    else:
        data["steps"][0]["operation"] = "createCharge"
        data["title"] = "Refund total is capped by the charge amount"
    target.write_text(yaml.safe_dump(data, sort_keys=False))
"""


def _spawn(store_path: Path, tmp_path: Path, *args: str) -> pexpect.spawn:
    editor = tmp_path / "editor.py"
    editor.write_text(textwrap.dedent(EDITOR))
    env = {
        "PATH": os.environ.get("PATH", "/usr/bin:/bin"),
        "HOME": str(tmp_path),
        "TERM": "xterm-256color",
        "EDITOR": f"{sys.executable} {editor}",
        "CROSSFIELD_CACHE_DIR": str(tmp_path / "cache"),
    }
    child = pexpect.spawn(
        sys.executable,
        ["-m", "crossfield", "review", "--store", str(store_path), "--reviewer", "tess", *args],
        env=env,
        encoding="utf-8",
        timeout=60,
        dimensions=(50, 110),
    )
    return child


def _finish(child: pexpect.spawn) -> str:
    child.expect(pexpect.EOF)
    child.close()
    assert child.exitstatus == 0, child.before
    return str(child.before)


def test_review_accept_reject_skip_then_resume(store_path: Path, tmp_path: Path) -> None:
    first, second, third = _ids(store_path)
    child = _spawn(store_path, tmp_path)
    child.expect("1/3")
    child.expect("variant 0")
    child.expect("decision> ")
    child.send("a")
    child.expect("accepted")
    child.expect("2/3")
    child.expect("decision> ")
    child.send("x")  # not a key: ignored
    child.send("r")
    child.expect("reason> ")
    child.send("4")  # not_testable
    child.expect(r"Note \(optional")
    child.sendline("needs two accounts")
    child.expect("rejected")
    child.expect("3/3")
    child.expect("decision> ")
    child.send("s")
    output = _finish(child)
    assert "1 accepted, 1 rejected, 1 skipped. 1 still undecided." in " ".join(output.split())

    store = Store.open(store_path)
    assert {r["hypothesis_id"]: r["status"] for r in store.hypotheses()} == {
        first: "accepted",
        second: "rejected",
        third: "undecided",
    }
    (rejected,) = store.decisions(second)
    assert (rejected["reason"], rejected["note"], rejected["reviewer"]) == (
        "not_testable",
        "needs two accounts",
        "tess",
    )

    # A later session starts with what is still undecided: the skipped one.
    child = _spawn(store_path, tmp_path)
    child.expect("1/1")
    child.expect("variant 2")
    child.expect("decision> ")
    child.send("q")
    _finish(child)
    assert store.status(third) == "undecided"


def test_review_rewrite_in_the_editor_revalidates_until_grounded(store_path: Path, tmp_path: Path) -> None:
    first = _ids(store_path)[0]
    child = _spawn(store_path, tmp_path)
    child.expect("1/3")
    child.expect("decision> ")
    child.send("e")
    child.expect("problems")  # the first edit names an operation the spec does not have
    child.expect("createChargeTwice")
    child.expect("rewrite> ")
    child.send("e")  # edit again: the editor fixes it
    child.expect(r"Note \(optional")
    child.sendline("")
    child.expect("rewritten")
    child.expect("2/3")
    child.expect("decision> ")
    child.send("q")
    _finish(child)
    store = Store.open(store_path)
    assert store.status(first) == "rewritten"
    (rewritten,) = store.accepted_hypotheses()
    assert rewritten.title == "Refund total is capped by the charge amount"
    assert rewritten.provenance.judge == "human"
    assert (tmp_path / "editor.count").read_text() == "2"


def test_review_rewrite_can_be_aborted(store_path: Path, tmp_path: Path) -> None:
    child = _spawn(store_path, tmp_path)
    child.expect("decision> ")
    child.send("e")
    child.expect("rewrite> ")
    child.send("a")  # abort: back to the same hypothesis
    child.expect("decision> ")
    child.send("q")
    _finish(child)
    assert Store.open(store_path).decisions() == []


def test_review_filters_by_run_and_category(store_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    result = runner.invoke(app, ["review", "--store", str(store_path), "--category", "state_transition"])
    assert result.exit_code == 0 and "Nothing to review" in result.output
    result = runner.invoke(app, ["review", "--store", str(store_path), "--run", "jr_nope"])
    assert result.exit_code == 0 and "Nothing to review" in result.output


def test_review_reads_lines_when_stdin_is_not_a_terminal(store_path: Path) -> None:
    result = CliRunner().invoke(
        app, ["review", "--store", str(store_path), "--reviewer", "pipe"], input="a\nr\n1\ndup of first\n"
    )
    assert result.exit_code == 0, result.output
    assert "1/3" in result.output and "2/3" in result.output and "3/3" in result.output
    statuses = [r["status"] for r in Store.open(store_path).hypotheses()]
    assert statuses == ["accepted", "rejected", "undecided"]  # end of input quits


# ---- decide -----------------------------------------------------------------------------------------


def test_decide_accept_and_reject_with_a_short_id(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    first, second, _ = _ids(store_path)
    monkeypatch.setenv("CROSSFIELD_REVIEWER", "envy")
    runner = CliRunner()
    result = runner.invoke(app, ["decide", first[:8], "accept", "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert f"{first}: accept" in result.output
    result = runner.invoke(
        app,
        [
            "decide",
            second,
            "reject",
            "--reason",
            "duplicate",
            "--note",
            "see first",
            "--store",
            str(store_path),
        ],
    )
    assert result.exit_code == 0, result.output
    store = Store.open(store_path)
    assert [(d["action"], d["reviewer"]) for d in store.decisions()] == [
        ("accept", "envy"),
        ("reject", "envy"),
    ]


def test_decide_uses_the_environment_store(store_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("CROSSFIELD_STORE", str(store_path))
    first = _ids(store_path)[0]
    result = CliRunner().invoke(app, ["decide", first, "accept", "--reviewer", "ana"])
    assert result.exit_code == 0, result.output
    assert Store.open(store_path).status(first) == "accepted"


def test_decide_rewrite_from_yaml_and_json(store_path: Path, tmp_path: Path) -> None:
    first, second, _ = _ids(store_path)
    as_yaml = tmp_path / "rewrite.yaml"
    as_yaml.write_text(yaml.safe_dump(refund_draft(70).model_dump(mode="json")))
    as_json = tmp_path / "rewrite.json"
    # A full hypothesis (with id and provenance) is accepted too: the store sets both itself.
    full = Store.open(store_path).hypothesis(second).model_dump(mode="json")
    full["title"] = "Rewritten from JSON"
    as_json.write_text(json.dumps(full))
    runner = CliRunner()
    for hid, file in ((first, as_yaml), (second, as_json)):
        result = runner.invoke(
            app, ["decide", hid, "rewrite", "--file", str(file), "--store", str(store_path), "--reviewer", "r",
                  "--spec", str(PAYMENTS_SPEC)],
        )  # fmt: skip
        assert result.exit_code == 0, result.output
    titles = {h.title for h in Store.open(store_path).accepted_hypotheses()}
    assert titles == {refund_draft(70).title, "Rewritten from JSON"}


def test_decide_reports_an_invalid_rewrite_with_every_problem(store_path: Path, tmp_path: Path) -> None:
    first = _ids(store_path)[0]
    data = refund_draft(71).model_dump(mode="json")
    data["steps"][1]["operation"] = "refundEverything"
    data["confidence"] = 3
    bad = tmp_path / "bad.yaml"
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(
        app, ["decide", first, "rewrite", "--file", str(bad), "--store", str(store_path), "--reviewer", "r"]
    )
    assert result.exit_code == 1
    assert "confidence" in result.output
    data["confidence"] = 0.5
    bad.write_text(yaml.safe_dump(data))
    result = CliRunner().invoke(
        app, ["decide", first, "rewrite", "--file", str(bad), "--store", str(store_path), "--reviewer", "r"]
    )
    assert result.exit_code == 1 and "refundEverything" in result.output
    assert Store.open(store_path).decisions() == []


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["h_nothere", "accept"], "no hypothesis"),
        (["{first}", "approve"], "unknown action"),
        (["{first}", "reject"], "needs a reason"),
        (["{first}", "reject", "--reason", "meh"], "unknown reason"),
        (["{first}", "rewrite"], "needs --file"),
        (["{first}", "accept", "--file", "x.yaml"], "needs --file"),
        (["h_", "accept"], "matches several"),
    ],
)
def test_decide_errors(store_path: Path, args: list[str], message: str) -> None:
    first = _ids(store_path)[0]
    argv = ["decide", *(a.format(first=first) for a in args), "--store", str(store_path), "--reviewer", "r"]
    result = CliRunner().invoke(app, argv)
    assert result.exit_code == 1
    assert message in result.output
    assert Store.open(store_path).decisions() == []


# ---- export -----------------------------------------------------------------------------------------


@pytest.mark.parametrize("fmt", ["openai-sft", "openai-dpo", "trl-preference", "trl-kto"])
def test_export_command_writes_valid_files(store_path: Path, tmp_path: Path, fmt: str) -> None:
    first, second, third = _ids(store_path)
    store = Store.open(store_path)
    store.decide(first, "accept", reviewer="r")
    store.decide(second, "reject", reviewer="r", reason="wrong")
    store.decide(third, "rewrite", reviewer="r", rewritten=refund_draft(80))
    out = tmp_path / f"{fmt}.jsonl"
    result = CliRunner().invoke(
        app, ["export", "--format", fmt, "--out", str(out), "--store", str(store_path)]
    )
    assert result.exit_code == 0, result.output
    assert "records" in result.output
    assert out.read_text().strip() and validate_file(fmt, out) == []


def test_export_command_parquet_and_errors(store_path: Path, tmp_path: Path) -> None:
    runner = CliRunner()
    out = tmp_path / "snapshot"
    result = runner.invoke(app, ["export", "-f", "parquet", "-o", str(out), "--store", str(store_path)])
    assert result.exit_code == 0, result.output
    assert (out / "hypotheses.parquet").exists()
    result = runner.invoke(app, ["export", "-f", "csv", "-o", str(out), "--store", str(store_path)])
    assert result.exit_code == 1 and "unknown format" in result.output
    result = runner.invoke(
        app, ["export", "-f", "parquet", "-o", str(out), "--since", "2025-01-01", "--store", str(store_path)]
    )
    assert result.exit_code == 1 and "full snapshots" in result.output
    result = runner.invoke(
        app,
        [
            "export",
            "-f",
            "trl-kto",
            "-o",
            str(out / "k.jsonl"),
            "--since",
            "yesterday",
            "--store",
            str(store_path),
        ],
    )
    assert result.exit_code == 1 and "not a date" in result.output
