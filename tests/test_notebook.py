"""examples/walkthrough.ipynb runs from top to bottom: spec -> judge -> store -> review -> tests -> results."""

from __future__ import annotations

import importlib
import importlib.util
from pathlib import Path

import pytest

import crossfield

NOTEBOOK = Path(__file__).resolve().parents[1] / "examples" / "walkthrough.ipynb"


def _missing() -> list[str]:
    """What the notebook needs that this checkout or environment does not have yet."""
    missing = [
        f"the {name} package"
        for name in ("nbclient", "nbformat", "ipykernel", "fastapi", "uvicorn", "pandas")
        if importlib.util.find_spec(name) is None
    ]
    if not callable(getattr(crossfield, "judge", None)):
        missing.append(
            "crossfield.judge (re-export crossfield.judgment.api.judge from crossfield/__init__.py)"
        )
    for module, name in (("crossfield.codegen", "generate"), ("crossfield._serving", "serve_app")):
        try:
            if not hasattr(importlib.import_module(module), name):
                missing.append(f"{module}.{name}")
        except ImportError:
            missing.append(f"{module}.{name}")
    return missing


@pytest.mark.slow
def test_walkthrough_notebook_runs(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    missing = _missing()
    if missing:
        pytest.skip("the walkthrough needs APIs that are not available yet: " + "; ".join(missing))
    import nbformat
    from nbclient import NotebookClient

    work = tmp_path / "walkthrough"
    monkeypatch.setenv("CROSSFIELD_WALKTHROUGH_DIR", str(work))
    monkeypatch.setenv("CROSSFIELD_CACHE_DIR", str(tmp_path / "cache"))
    monkeypatch.setenv(
        "JUPYTER_PLATFORM_DIRS", "1"
    )  # silences jupyter_core's platformdirs deprecation warning
    notebook = nbformat.read(NOTEBOOK, as_version=4)
    client = NotebookClient(
        notebook, timeout=600, kernel_name="python3", resources={"metadata": {"path": str(NOTEBOOK.parent)}}
    )
    client.execute()

    errors = [
        o for cell in notebook.cells for o in cell.get("outputs", []) if o.get("output_type") == "error"
    ]
    assert errors == []
    from crossfield.feedback import Store

    store = Store.open(work / "crossfield.duckdb")
    counts = store.sql(
        "SELECT (SELECT count(*) FROM judge_runs) AS judge_runs, (SELECT count(*) FROM test_runs) AS test_runs, "
        "(SELECT count(DISTINCT run_id) FROM test_results) AS runs_with_results, "
        "(SELECT count(*) FROM generated_tests) > 0 AS generated, (SELECT count(*) FROM http_exchanges) > 0 AS exchanges"
    )[0]
    assert counts == {
        "judge_runs": 1,
        "test_runs": 2,
        "runs_with_results": 2,
        "generated": True,
        "exchanges": True,
    }
    assert store.accepted_hypotheses()
    assert (work / "snapshot" / "hypotheses.parquet").exists()
