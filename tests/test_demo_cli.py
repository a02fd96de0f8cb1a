"""`crossfield demo` — the README's first command — runs the whole pipeline offline."""

from __future__ import annotations

import json
from pathlib import Path

from typer.testing import CliRunner

from crossfield.cli import app

ROOT = Path(__file__).resolve().parents[1]


def test_demo_judges_generates_and_catches_seeded_bugs(tmp_path: Path) -> None:
    out = tmp_path / "demo"
    result = CliRunner().invoke(
        app, ["demo", "--target", str(ROOT / "datasets/targets/payments"), "--out", str(out)]
    )
    assert result.exit_code == 0, result.output
    hypotheses = json.loads((out / "payments" / "hypotheses.json").read_text())
    assert hypotheses["hypotheses"], "the heuristic judge wrote no hypotheses"
    assert list((out / "payments" / "suite").glob("test_*.py")), "no test modules generated"
    assert "false alarms on the correct app: 0" in result.output
    detected = int(result.output.split("detected ")[1].split("/")[0])
    assert detected >= 1, result.output


def test_demo_without_a_target_outside_the_checkout_says_what_to_do(tmp_path: Path) -> None:
    result = CliRunner().invoke(app, ["demo", "--target", str(tmp_path / "missing")])
    assert result.exit_code == 2
    assert "not a benchmark target" in result.output
    assert "Traceback" not in result.output
