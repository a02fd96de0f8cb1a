"""`crossfield codegen`: from a hypotheses file or from the accepted hypotheses of a feedback store."""

from __future__ import annotations

import json
from pathlib import Path

import codegen_shop_hypotheses as shop_hyps
import pytest
from typer.testing import CliRunner

from crossfield.cli import app
from crossfield.judgment.base import ScriptedJudge
from crossfield.judgment.models import HypothesisSet, Step
from crossfield.spec import load_spec

GOLDEN_SPEC = Path(__file__).resolve().parents[1] / "golden" / "codegen" / "shop_openapi.json"
runner = CliRunner()


@pytest.fixture
def spec(tmp_path: Path) -> Path:
    path = tmp_path / "shop.json"
    path.write_text(GOLDEN_SPEC.read_text(encoding="utf-8"), encoding="utf-8")
    return path


def write_hypotheses(path: Path, *, plain_list: bool = False, broken: bool = False) -> Path:
    hypotheses = [c.hypothesis for c in shop_hyps.cases()][:4]
    if broken:
        stale = hypotheses[0].model_copy(update={"steps": [Step(id="gone", operation="deletedOperation")]})
        hypotheses.append(stale)
    if plain_list:
        path.write_text(json.dumps([h.model_dump(mode="json") for h in hypotheses]), encoding="utf-8")
    else:
        path.write_text(HypothesisSet(hypotheses=hypotheses).model_dump_json(), encoding="utf-8")
    return path


def test_compiles_a_hypotheses_file(tmp_path: Path, spec: Path) -> None:
    config = tmp_path / "crossfield.toml"
    config.write_text(shop_hyps.SHOP_CONFIG, encoding="utf-8")
    out = tmp_path / "suite"
    result = runner.invoke(
        app,
        [
            "codegen",
            str(write_hypotheses(tmp_path / "h.json")),
            "--spec",
            str(spec),
            "--out",
            str(out),
            "--config",
            str(config),
        ],
    )
    assert result.exit_code == 0, result.output
    assert "wrote 4 tests in 1 modules" in result.output
    assert f"pytest {out} --base-url http://127.0.0.1:8000" in " ".join(result.output.split())
    assert sorted(p.name for p in out.iterdir()) == [
        "conftest.py",
        "crossfield.toml",
        "crossfield_schemas.json",
        "test_orders.py",
    ]


def test_plain_list_and_regrounding(tmp_path: Path, spec: Path) -> None:
    hyps = write_hypotheses(tmp_path / "h.json", plain_list=True, broken=True)
    result = runner.invoke(app, ["codegen", str(hyps), "--spec", str(spec), "--out", str(tmp_path / "s")])
    assert result.exit_code == 0, result.output
    assert "skipped 1 hypotheses that no longer ground" in result.output
    assert "deletedOperation" in result.output
    assert "wrote 4 tests" in result.output
    assert "identity 'carol'" in result.output, "unconfigured identities are warned about"


def test_nothing_to_compile_is_exit_1(tmp_path: Path, spec: Path) -> None:
    hyps = tmp_path / "h.json"
    hyps.write_text("[]", encoding="utf-8")
    result = runner.invoke(app, ["codegen", str(hyps), "--spec", str(spec), "--out", str(tmp_path / "s")])
    assert result.exit_code == 1
    assert "no hypothesis" in result.output


@pytest.mark.parametrize(
    ("args", "fragment"),
    [
        (["{hyps}", "--spec", "{tmp}/missing.yaml"], "file not found"),
        (["{tmp}/nope.json", "--spec", "{spec}"], "no such file"),
        (["{bad}", "--spec", "{spec}"], "not a hypotheses file"),
        (["--spec", "{spec}"], "exactly one of them"),
        (["{hyps}", "--spec", "{spec}", "--store", "{tmp}/s.duckdb"], "exactly one of them"),
        (["{hyps}", "--spec", "{spec}", "--config", "{tmp}/missing.toml"], "configuration file not found"),
    ],
)
def test_unusable_input_is_exit_2(tmp_path: Path, spec: Path, args: list[str], fragment: str) -> None:
    hyps = write_hypotheses(tmp_path / "h.json")
    bad = tmp_path / "bad.json"
    bad.write_text(json.dumps({"hypotheses": [{"title": 1}]}), encoding="utf-8")
    filled = [a.format(hyps=hyps, tmp=tmp_path, spec=spec, bad=bad) for a in args]
    result = runner.invoke(app, ["codegen", *filled, "--out", str(tmp_path / "out")])
    assert result.exit_code == 2, result.output
    assert fragment in " ".join(result.output.split())


def test_compiles_the_accepted_hypotheses_of_a_store(tmp_path: Path, spec: Path) -> None:
    feedback = pytest.importorskip("crossfield.feedback")
    if not hasattr(feedback.Store, "accepted_hypotheses"):
        pytest.skip("the feedback store has no accepted_hypotheses yet")
    api = load_spec(spec)
    drafts = [c.hypothesis.draft() for c in shop_hyps.cases()][:3]
    result = ScriptedJudge([drafts]).judge(api)
    store_path = tmp_path / "store.duckdb"
    with feedback.Store.open(store_path) as store:
        store.record_judge_run(result)
        first, second, third = result.hypotheses
        store.decide(first.id, "accept", reviewer="ana")
        store.decide(second.id, "reject", reviewer="ana", reason=sorted(feedback.REJECT_REASONS)[0])
        rewritten = third.draft().model_copy(update={"title": "Rewritten: scheduled delivery needs a date"})
        store.decide(third.id, "rewrite", reviewer="ana", rewritten=rewritten, api=api)
    out = tmp_path / "suite"
    cli = runner.invoke(
        app, ["codegen", "--spec", str(spec), "--out", str(out), "--store", str(store_path), "--accepted"]
    )
    assert cli.exit_code == 0, cli.output
    assert "wrote 2 tests" in cli.output
    source = (out / "test_orders.py").read_text(encoding="utf-8")
    assert "Rewritten: scheduled delivery needs a date" in source
    assert second.title not in source
    with feedback.Store.open(store_path) as store:
        rows = store.sql("SELECT hypothesis_id, file, test_name FROM generated_tests")
    assert len(rows) == 2 and {r["file"] for r in rows} == {"test_orders.py"}
