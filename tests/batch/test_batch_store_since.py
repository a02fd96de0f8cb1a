"""Batch runs with the feedback store, changed-operations runs (`since`), and the atomic output writers."""

from __future__ import annotations

import json
import os
import shutil
from pathlib import Path

import pytest
from batch_support import CountingJudge, cancel_draft, draft, orders_doc, write_spec

from crossfield.batch import MANIFEST_NAME, change_scope, run
from crossfield.batch._outputs import TEMP_PREFIX, atomic_write_text, replace_dir, staging_dir, sweep
from crossfield.feedback import Store
from crossfield.judgment.models import HypothesisSet
from crossfield.spec import load_spec


def test_runs_are_logged_to_the_store_and_restored_from_it(tmp_path: Path) -> None:
    corpus, out, db = tmp_path / "corpus", tmp_path / "out", tmp_path / "cf.duckdb"
    for i in range(2):
        write_spec(corpus / f"api{i}.json", orders_doc(f"API {i}"))
    summary = run([corpus], judge=CountingJudge(), out=out, store=db, progress=False)
    assert summary.store == str(db)
    runs = Store.open(db).judge_runs()
    assert len(runs) == 2 and {r["run_id"] for r in runs} == {s.run_id for s in summary.specs}
    assert Store.open(db).hypotheses(as_="models")[0].title == draft().title

    # the output directory is lost: the store still knows these judgments, so nothing is judged again
    shutil.rmtree(out)
    again = CountingJudge()
    summary = run([corpus], judge=again, out=out, store=db, progress=False)
    assert again.calls == []
    assert [s.status for s in summary.specs] == ["done", "done"]
    assert all((s.reason or "").startswith("reused hypotheses from the store run jr") for s in summary.specs)
    hset = HypothesisSet.model_validate_json((out / "api0" / "hypotheses.json").read_text())
    assert [h.title for h in hset.hypotheses] == [draft().title]
    assert len(Store.open(db).judge_runs()) == 2  # restoring records no new judge run


def _versions(tmp_path: Path) -> tuple[Path, Path]:
    old = write_spec(tmp_path / "v1" / "orders.json", orders_doc("Orders"))
    new = write_spec(
        tmp_path / "v2" / "orders.json", orders_doc("Orders", extra_field=True, extra_operation=True)
    )
    return old, new


def test_change_scope_keeps_changed_and_linked_operations(tmp_path: Path) -> None:
    old, new = _versions(tmp_path)
    scope = change_scope(load_spec(old), load_spec(new))
    # createOrder gained body.coupon, cancelOrder is new, getOrder gained response.coupon
    assert set(scope.changed) == {"createOrder", "getOrder", "cancelOrder"}
    assert "health" not in {op.id for op in scope.api.operations}
    assert scope.api.content_hash == load_spec(new).content_hash


def test_since_judges_only_what_changed_and_tags_each_hypothesis(tmp_path: Path) -> None:
    old, new = _versions(tmp_path)
    out = tmp_path / "out"
    judge = CountingJudge(draft(), cancel_draft())
    summary = run(judge=judge, out=out, since=(old, new), progress=False)
    (outcome,) = summary.specs
    assert outcome.status == "done" and outcome.operations == 3 and outcome.changes
    assert [op.id for op in judge.seen[0].operations] == ["createOrder", "getOrder", "cancelOrder"]
    hset = HypothesisSet.model_validate_json((out / "orders" / "hypotheses.json").read_text())
    tags = {h.title: h.change for h in hset.hypotheses}
    assert tags[cancel_draft().title] == "added operation cancelOrder"
    # the discount hypothesis names createOrder's fields; createOrder changed by gaining body.coupon
    assert tags[draft().title] == "createOrder: field body.coupon added"
    # tagging keeps the content id: `change` is not part of it
    assert {h.id for h in hset.hypotheses} == {h.content_id() for h in hset.hypotheses}
    changes = json.loads((out / "orders" / "changes.json").read_text())
    assert changes["format"] == "crossfield.diff/1" and "cancelOrder" in changes["changed_operations"]
    assert summary.since == (str(old), str(new))

    # resume is keyed on both versions: the same pair is skipped, another old version is judged
    again = CountingJudge(draft(), cancel_draft())
    assert run(judge=again, out=out, since=(old, new), progress=False).specs[0].status == "skipped"
    other_old = write_spec(tmp_path / "v0" / "orders.json", orders_doc("Orders", extra_field=True))
    run(judge=again, out=out, since=(other_old, new), progress=False)
    assert len(again.calls) == 1
    # only cancelOrder changed; createOrder is judged beside it as the producer of the order id it consumes
    assert [op.id for op in again.seen[0].operations] == ["createOrder", "cancelOrder"]
    changes = json.loads((out / "orders" / "changes.json").read_text())
    assert (changes["changed_operations"], changes["linked_operations"]) == (["cancelOrder"], ["createOrder"])


def test_since_with_no_changes_judges_nothing_but_succeeds(tmp_path: Path) -> None:
    old = write_spec(tmp_path / "a" / "x.json", orders_doc("X"))
    new = write_spec(tmp_path / "b" / "x.json", orders_doc("X"))
    judge = CountingJudge()
    summary = run(judge=judge, out=tmp_path / "out", since=(old, new), progress=False)
    assert summary.specs[0].status == "done" and summary.specs[0].operations == 0
    assert summary.specs[0].hypotheses == 0


def test_atomic_write_leaves_the_old_file_when_interrupted(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    target = tmp_path / "hypotheses.json"
    atomic_write_text(target, "old")

    def boom(src: str, dst: str) -> None:
        raise KeyboardInterrupt

    monkeypatch.setattr(os, "replace", boom)
    with pytest.raises(KeyboardInterrupt):
        atomic_write_text(target, "new content")
    monkeypatch.undo()
    assert target.read_text() == "old"
    assert [p.name for p in tmp_path.iterdir()] == ["hypotheses.json"]


def test_replace_dir_swaps_whole_directories_and_sweep_cleans_leftovers(tmp_path: Path) -> None:
    target = tmp_path / "spec" / "tests"
    for content in ("one", "two"):
        staging = staging_dir(tmp_path / "spec")
        (staging / "test_a.py").write_text(content)
        replace_dir(staging, target)
    assert [p.read_text() for p in target.iterdir()] == ["two"]
    assert [p.name for p in (tmp_path / "spec").iterdir()] == ["tests"]
    staging_dir(tmp_path / "spec")
    (tmp_path / f"{TEMP_PREFIX}x.part").write_text("half")
    assert sweep(tmp_path) == 2
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["spec", "test_a.py", "tests"]


def test_a_corrupt_manifest_is_set_aside(tmp_path: Path) -> None:
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    write_spec(corpus / "api.json")
    out.mkdir()
    (out / MANIFEST_NAME).write_text("{half")
    judge = CountingJudge()
    assert run([corpus], judge=judge, out=out, progress=False).specs[0].status == "done"
    assert (out / (MANIFEST_NAME + ".corrupt")).read_text() == "{half"
    assert "api" in json.loads((out / MANIFEST_NAME).read_text())["specs"]


def test_codegen_writes_tests_and_a_later_codegen_run_compiles_without_judging(tmp_path: Path) -> None:
    corpus, out, db = tmp_path / "corpus", tmp_path / "out", tmp_path / "cf.duckdb"
    for i in range(2):
        write_spec(corpus / f"api{i}.json", orders_doc(f"API {i}"))
    judge = CountingJudge()
    summary = run([corpus], judge=judge, out=out, codegen=True, store=db, progress=False)
    for outcome in summary.specs:
        assert outcome.status == "done" and outcome.tests == 1
        assert f"{outcome.name}/tests" in outcome.outputs
        test_files = sorted(p.name for p in (out / outcome.name / "tests").glob("test_*.py"))
        assert test_files, "no test module generated"
        compile(((out / outcome.name / "tests") / test_files[0]).read_text(), test_files[0], "exec")
    assert len(Store.open(db).sql("SELECT * FROM generated_tests")) == 2

    # judged earlier without tests: --codegen compiles the saved hypotheses, no judge call
    plain_out = tmp_path / "plain"
    run([corpus], judge=CountingJudge(), out=plain_out, progress=False)
    again = CountingJudge()
    summary = run([corpus], judge=again, out=plain_out, codegen=True, progress=False)
    assert again.calls == []
    assert all(s.status == "done" and s.tests == 1 for s in summary.specs)
    assert all((plain_out / s.name / "tests").is_dir() for s in summary.specs)
    skipped = run([corpus], judge=again, out=plain_out, codegen=True, progress=False)
    assert {s.status for s in skipped.specs} == {"skipped"}
