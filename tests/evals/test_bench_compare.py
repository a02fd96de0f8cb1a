"""Grid cells in the store and the comparison report (Markdown + self-contained HTML with inline SVG)."""

from __future__ import annotations

import re
from pathlib import Path

from crossfield.evals import BenchStore, Cell, Scores, aggregate, write_report
from crossfield.evals._report import Usage
from crossfield.feedback import Store


def _cell(judge: str, prompt: str | None, target: str, repeat: int, detected: int, cost: float) -> Cell:
    return Cell(
        cell_id=f"cell_{judge}_{prompt}_{target}_{repeat}",
        grid_id="grid_1",
        target=target,
        judge=judge,
        prompt=prompt,
        repeat=repeat,
        scores=Scores(bugs=4, detected=detected, false_alarms=1, usage=Usage(cost_usd=cost, llm_calls=2)),
        hypotheses=[{"id": f"h_{judge}_{target}"}],
    )


CELLS = [
    _cell("heuristic", None, "t1", 0, 2, 0.0),
    _cell("heuristic", None, "t2", 0, 1, 0.0),
    _cell("openai/gpt-x", "v1", "t1", 0, 3, 0.01),
    _cell("openai/gpt-x", "v1", "t2", 0, 2, 0.01),
    _cell("openai/gpt-x", "v1", "t1", 1, 4, 0.02),
    _cell("openai/gpt-x", "v1", "t2", 1, 2, 0.02),
]


def test_aggregate_pools_targets_and_averages_repeats() -> None:
    rows = aggregate(CELLS, {"openai/gpt-x · v1": {"accept": 3, "reject": 1}})
    heur, model = rows
    assert heur.label == "heuristic" and heur.detection == [3 / 8]
    assert model.repeats == 2 and model.detection == [5 / 8, 6 / 8]
    assert model.detection_range == (5 / 8, 6 / 8)
    assert model.acceptance_rate == 0.75 and heur.acceptance_rate is None
    assert model.per_target["t1"] == (3.5, 4)


def test_report_files_are_self_contained(tmp_path: Path) -> None:
    paths = write_report(aggregate(CELLS), tmp_path, title="compare <test>")
    html = paths["html"].read_text()
    assert html.count("<svg") == 4
    assert "compare &lt;test&gt;" in html
    assert not re.search(r"""(src|href)=["'](https?:)?//""", html), "no external resources"
    assert "<script" not in html
    md = paths["markdown"].read_text()
    assert "| heuristic |" in md and "| openai/gpt-x · v1 |" in md
    for link in re.findall(r"\]\(([^)]+\.svg)\)", md):
        assert (tmp_path / link).is_file()


def test_cells_round_trip_through_the_store(tmp_path: Path) -> None:
    store = Store.open(tmp_path / "s.duckdb")
    bench = BenchStore(store)
    assert bench.cells() == [] and bench.latest_grid_id() is None
    for cell in CELLS:
        bench.add_cell(cell)
    back = bench.cells(grid_id="grid_1")
    assert len(back) == 6 and back[2].scores.detected == 3 and back[2].prompt == "v1"
    assert bench.latest_grid_id() == "grid_1"
    rows = store.sql("SELECT judge, prompt, target, repeat_index, detected FROM bench_cells ORDER BY cell_id")
    assert len(rows) == 6
    assert store.sql("SELECT version, name FROM bench_schema_migrations") == [
        {"version": 1, "name": "bench_cells"}
    ]
    assert bench.decisions(["h_nope"]) == {}


def test_cli_compare_without_cells_explains(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from crossfield.cli import app

    result = CliRunner().invoke(
        app, ["compare", "--store", str(tmp_path / "s.duckdb"), "--out", str(tmp_path / "o")]
    )
    assert result.exit_code == 2
    assert "no bench cells" in result.output


def test_cli_grid_needs_a_store() -> None:
    from typer.testing import CliRunner

    from crossfield.cli import app

    result = CliRunner().invoke(app, ["bench", "--grid", "heuristic"])
    assert result.exit_code == 2 and "--store" in result.output
