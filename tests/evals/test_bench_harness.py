"""The harness end to end on the tiny target, with a scripted judge (no model, no network beyond 127.0.0.1).

One bench run is shared by the assertions about scoring and the report's shape; the other tests each
run what they are about (any-directory targets, rescoring, grids, the CLI).
"""

from __future__ import annotations

import json
import shutil
from pathlib import Path
from typing import Any

import jsonschema
import pytest
from evals_support import (
    TINY,
    ExplodingJudge,
    discount_draft,
    negative_price_draft,
    tiny_drafts,
    wrong_total_draft,
)
from typer.testing import CliRunner

from crossfield.evals import (
    BenchReport,
    BenchSettings,
    BenchStore,
    TargetRun,
    compare_rows,
    load_target,
    record_cells,
    rescore,
    run_bench,
    run_grid,
    write_comparison,
)
from crossfield.feedback import Store
from crossfield.judgment.base import Judge, ScriptedJudge

REPO = Path(__file__).resolve().parents[2]
SETTINGS = BenchSettings(baseline=False, jobs=2, suite_timeout_s=120)


def _ids() -> dict[str, str]:
    return {
        "discount": discount_draft().content_id(),
        "negative": negative_price_draft().content_id(),
        "wrong": wrong_total_draft().content_id(),
    }


@pytest.fixture(scope="module")
def bench(tmp_path_factory: pytest.TempPathFactory) -> tuple[BenchReport, list[TargetRun]]:
    settings = BenchSettings(baseline=False, jobs=2, work_dir=tmp_path_factory.mktemp("bench"))
    return run_bench([load_target(TINY)], ScriptedJudge([tiny_drafts()]), settings=settings)


def test_a_caught_bug_is_detected_by_its_test(bench: tuple[BenchReport, list[TargetRun]]) -> None:
    report, _ = bench
    (target,) = report.targets
    assert target.error is None, target.error
    bugs = {b.id: b for b in target.bugs}
    found = bugs["discount-exceeds-price"]
    assert found.detected and found.cross_field and found.category == "inter_parameter"
    assert {d.hypothesis_id for d in found.detected_by} == {_ids()["discount"]}
    assert all(d.message for d in found.detected_by), "a detection carries the failure on the variant"
    assert bugs["negative-price-accepted"].detected
    assert {d.hypothesis_id for d in bugs["negative-price-accepted"].detected_by} == {_ids()["negative"]}


def test_a_bug_no_test_catches_is_not_detected(bench: tuple[BenchReport, list[TargetRun]]) -> None:
    report, _ = bench
    missed = next(b for b in report.targets[0].bugs if b.id == "delete-twice-succeeds")
    assert missed.detected is False and missed.detected_by == []


def test_a_test_failing_on_the_correct_app_is_a_false_alarm(
    bench: tuple[BenchReport, list[TargetRun]],
) -> None:
    report, _ = bench
    (alarm,) = report.targets[0].false_alarms
    assert alarm.hypothesis_id == _ids()["wrong"]
    assert alarm.hypothesis_title == "A fetched item's price is net of its discount"
    assert alarm.outcome in ("failed", "error") and alarm.message.strip()
    # a false-alarm test never counts as a detection, even though it fails on every variant
    assert all(d.hypothesis_id != _ids()["wrong"] for b in report.targets[0].bugs for d in b.detected_by)


def test_scores(bench: tuple[BenchReport, list[TargetRun]]) -> None:
    report, _ = bench
    s = report.overall
    assert (s.bugs, s.detected, s.false_alarms) == (3, 2, 1)
    assert s.by_cross_field["cross_field"].total == 2 and s.by_cross_field["cross_field"].detected == 1
    assert s.by_cross_field["single_field"].detected == 1
    assert s.by_category["state_transition"].detected == 0
    assert (s.hypotheses.emitted, s.hypotheses.grounded, s.hypotheses.compiled) == (3, 3, 3)
    assert s.hypotheses.tests >= 3 and s.tests_per_detected_bug >= 1
    assert s.usage.llm_calls == 0 and s.usage.cost_usd == 0
    assert s.timing.total_s > 0 and s.baseline_detected is None


def test_json_report_shape(bench: tuple[BenchReport, list[TargetRun]]) -> None:
    report, _ = bench
    data: dict[str, Any] = json.loads(report.model_dump_json())
    schema = json.loads((REPO / "docs" / "bench-report.schema.json").read_text())
    jsonschema.validate(data, schema)
    assert data["format"] == "crossfield.bench/1"
    target = data["targets"][0]
    assert {"false_alarms", "bugs", "tests", "scores", "runs"} <= set(target)
    for bug in target["bugs"]:
        assert {"id", "category", "cross_field", "detected", "detected_by"} <= set(bug)
    assert {"nodeid", "hypothesis_id", "message", "outcome"} <= set(target["false_alarms"][0])
    record = target["tests"][0]
    assert set(record["variants"]) == {
        "discount-exceeds-price",
        "delete-twice-succeeds",
        "negative-price-accepted",
    }
    assert data["overall"]["detection_rate"] == pytest.approx(2 / 3)
    assert BenchReport.model_validate(data).overall.detected == 2, "a written report reads back"


def test_json_schema_file_is_current() -> None:
    on_disk = json.loads((REPO / "docs" / "bench-report.schema.json").read_text())
    assert on_disk == BenchReport.model_json_schema(mode="serialization"), (
        "regenerate docs/bench-report.schema.json"
    )


def test_a_target_anywhere_with_another_name(tmp_path: Path) -> None:
    copy = tmp_path / "some" / "where" / "shop-api"
    shutil.copytree(TINY, copy)
    report, _ = run_bench([load_target(copy)], ScriptedJudge([[discount_draft()]]), settings=SETTINGS)
    (target,) = report.targets
    assert target.name == "shop-api" and target.error is None
    assert [b.id for b in target.bugs if b.detected] == ["discount-exceeds-price"]


@pytest.mark.slow
def test_rescore_reruns_stored_hypotheses_without_judging(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    store = Store.open(tmp_path / "store.duckdb")
    _, runs = run_bench([load_target(TINY)], ScriptedJudge([tiny_drafts()]), settings=SETTINGS, store=store)
    first = record_cells(store, runs, judge="scripted", prompt=None)

    def no_judges(*_: Any, **__: Any) -> Judge:
        return ExplodingJudge()

    monkeypatch.setattr("crossfield.evals._grid.default_judge_factory", no_judges)
    monkeypatch.setattr(ScriptedJudge, "judge", lambda *_a, **_k: pytest.fail("a judge was called"))
    again = rescore(store, settings=SETTINGS)
    (cell,) = again.cells
    assert cell.rescored_from == first.cells[0].cell_id
    assert cell.scores.detected == 2 and cell.scores.false_alarms == 1
    assert len(BenchStore(store).cells()) == 2


@pytest.mark.slow
def test_grid_stores_one_cell_per_configuration_and_reports(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.duckdb")
    made: list[tuple[str, str | None]] = []

    def factory(spec: str, prompt: str | None) -> Judge:
        made.append((spec, prompt))
        drafts = tiny_drafts() if prompt != "v2" else [negative_price_draft()]
        return ScriptedJudge([drafts], repeat=True)

    grid = run_grid(
        [load_target(TINY)],
        ["scripted", "acme/model"],
        ["v1", "v2"],
        repeat=1,
        settings=SETTINGS,
        store=store,
        make_judge=factory,
    )
    assert made == [("scripted", None), ("acme/model", "v1"), ("acme/model", "v2")]
    rows = store.sql("SELECT judge, prompt, target, detected FROM bench_cells ORDER BY judge, prompt")
    assert [(r["judge"], r["prompt"], r["detected"]) for r in rows] == [
        ("acme/model", "v1", 2),
        ("acme/model", "v2", 1),
        ("scripted", None, 2),
    ]
    hid = grid.cells[1].hypotheses[0]["id"]
    store.decide(hid, "accept", reviewer="ana")
    by_label = {r.label: r for r in compare_rows(store, grid.cells)}
    assert by_label["acme/model · v1"].acceptance_rate == 1.0
    assert by_label["acme/model · v2"].acceptance_rate is None
    paths = write_comparison(store, tmp_path / "cmp")
    html = paths["html"].read_text()
    assert "acme/model · v2" in html and html.count("<svg") == 4


def test_cli_bench_writes_json(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from crossfield.cli import app

    monkeypatch.setattr(
        "crossfield.cli._bench.default_judge_factory", lambda spec, prompt: ScriptedJudge([tiny_drafts()])
    )
    out = tmp_path / "bench.json"
    result = CliRunner().invoke(
        app,
        ["bench", str(TINY), "--judge", "scripted", "--no-baseline", "--json", str(out)],
        env={"COLUMNS": "220"},
    )
    assert result.exit_code == 0, result.output
    assert "discount-exceeds-price" in result.output and "Overall" in result.output
    data = json.loads(out.read_text())
    assert data["overall"]["detected"] == 2 and len(data["targets"][0]["false_alarms"]) == 1


def test_only_accepted_compiles_what_reviewers_accepted(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "store.duckdb")
    settings = BenchSettings(baseline=False, only_accepted=True)
    target = load_target(TINY)
    report, _ = run_bench([target], ScriptedJudge([tiny_drafts()]), settings=settings, store=store)
    assert report.overall.hypotheses.grounded == 3 and report.overall.hypotheses.accepted == 0
    assert report.overall.hypotheses.tests == 0 and report.overall.detected == 0
    store.decide(_ids()["discount"], "accept", reviewer="ana")
    report, _ = run_bench([target], ScriptedJudge([tiny_drafts()]), settings=settings, store=store)
    assert report.overall.hypotheses.accepted == 1 and report.overall.hypotheses.tests == 1
    assert [b.id for b in report.targets[0].bugs if b.detected] == ["discount-exceeds-price"]
    assert report.overall.false_alarms == 0
