"""`crossfield.batch.run` through the Python API with a scripted judge: outcomes, outputs, resume, summary."""

from __future__ import annotations

import json
import os
import signal
import time
from pathlib import Path

import pytest
from batch_support import CountingJudge, draft, orders_doc, write_spec

from crossfield.batch import MANIFEST_NAME, RunSummary, discover, run
from crossfield.batch import _judges as batch_judges
from crossfield.batch._outputs import TEMP_PREFIX
from crossfield.errors import ConfigError
from crossfield.judgment.base import JudgeResult, Requirement
from crossfield.judgment.heuristic import RULESET_VERSION, HeuristicJudge, ruleset_hash
from crossfield.judgment.heuristic import judge as heuristic_judge
from crossfield.judgment.models import HypothesisSet
from crossfield.spec.model import Api


def _corpus(root: Path, n: int = 3) -> Path:
    for i in range(n):
        write_spec(root / f"api{i}.json", orders_doc(f"API {i}"))
    (root / "broken.yaml").write_text("openapi: 3.0.0\npaths: {a: [\n", encoding="utf-8")
    (root / "package.json").write_text('{"name": "not-an-api", "version": "1.0.0"}', encoding="utf-8")
    (root / "README.md").write_text("not a spec", encoding="utf-8")
    return root


def _run(corpus: Path, out: Path, judge: CountingJudge, **kw: object) -> RunSummary:
    return run([corpus], judge=judge, out=out, progress=False, **kw)  # type: ignore[arg-type]


def _temp_files(out: Path) -> list[Path]:
    return [p for p in out.rglob("*") if p.name.startswith(TEMP_PREFIX)]


def test_run_reports_unloadable_files_and_goes_on(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path / "corpus"), tmp_path / "out"
    judge = CountingJudge()
    summary = _run(corpus, out, judge)
    by_name = {s.name: s for s in summary.specs}
    assert set(by_name) == {"api0", "api1", "api2", "broken", "package"}
    assert [by_name[f"api{i}"].status for i in range(3)] == ["done"] * 3
    assert by_name["broken"].status == "not-loadable"
    assert "broken.yaml:3" in (by_name["broken"].reason or "")  # the SpecError text, with its line
    assert by_name["package"].status == "not-loadable"
    assert "not an API description" in (by_name["package"].reason or "")
    assert sorted(judge.calls) == ["API 0", "API 1", "API 2"]
    assert summary.exit_code == 1 and not summary.interrupted
    for i in range(3):
        hset = HypothesisSet.model_validate_json((out / f"api{i}" / "hypotheses.json").read_text())
        assert hset.api_title == f"API {i}" and [h.title for h in hset.hypotheses] == [draft().title]
    assert by_name["api0"].hypotheses == 1 and by_name["api0"].operations == 3
    assert _temp_files(out) == []


def test_a_failing_judge_is_one_specs_outcome(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path / "corpus"), tmp_path / "out"
    summary = _run(corpus, out, CountingJudge(fail_on="API 1"))
    outcome = next(s for s in summary.specs if s.name == "api1")
    assert outcome.status == "failed" and outcome.reason == "RuntimeError: judge exploded on API 1"
    assert not (out / "api1").exists()
    assert summary.totals()["done"] == 2


def test_rerun_skips_done_specs_and_rejudges_a_changed_one(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path / "corpus"), tmp_path / "out"
    first = CountingJudge()
    _run(corpus, out, first)
    assert len(first.calls) == 3
    manifest = json.loads((out / MANIFEST_NAME).read_text())
    assert sorted(manifest["specs"]) == ["api0", "api1", "api2"]

    second = CountingJudge()
    summary = _run(corpus, out, second)
    assert second.calls == []
    assert {s.name: s.status for s in summary.specs if s.name.startswith("api")} == dict.fromkeys(
        ["api0", "api1", "api2"], "skipped"
    )
    assert next(s for s in summary.specs if s.name == "api0").hypotheses == 1

    write_spec(corpus / "api1.json", orders_doc("API 1 edited"))
    third = CountingJudge()
    summary = _run(corpus, out, third)
    assert third.calls == ["API 1 edited"]
    assert next(s for s in summary.specs if s.name == "api1").status == "done"


def test_another_judge_or_prompt_is_another_run(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path / "corpus", n=1), tmp_path / "out"
    _run(corpus, out, CountingJudge())
    again = CountingJudge()
    _run(corpus, out, again, prompt="v2")
    assert again.calls == ["API 0"]


class CountingHeuristicJudge(HeuristicJudge):
    def __init__(self) -> None:
        super().__init__()
        self.calls: list[str] = []

    def judge(self, api: Api, *, requirements: list[Requirement] | None = None) -> JudgeResult:
        self.calls.append(api.title)
        return super().judge(api, requirements=requirements)


def test_a_changed_heuristic_rule_set_is_another_run(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    corpus, out = _corpus(tmp_path / "corpus", n=1), tmp_path / "out"
    first = CountingHeuristicJudge()
    _run(corpus, out, first)  # type: ignore[arg-type]
    assert first.calls == ["API 0"]
    run_key = json.loads((out / MANIFEST_NAME).read_text())["specs"]["api0"]["run_key"]
    assert run_key["prompt"] == f"{RULESET_VERSION}@{ruleset_hash()}" and run_key["version"] is None

    same = CountingHeuristicJudge()
    _run(corpus, out, same)  # type: ignore[arg-type]
    assert same.calls == []

    monkeypatch.setattr(heuristic_judge, "ruleset_hash", lambda: "0" * 16)  # a rule changed
    changed = CountingHeuristicJudge()
    summary = _run(corpus, out, changed)  # type: ignore[arg-type]
    assert changed.calls == ["API 0"]
    assert next(s for s in summary.specs if s.name == "api0").status == "done"
    hset = HypothesisSet.model_validate_json((out / "api0" / "hypotheses.json").read_text())
    assert all(h.provenance.prompt_hash == "0" * 16 for h in hset.hypotheses)


def test_the_crossfield_version_keys_only_judges_without_a_hash(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    corpus = _corpus(tmp_path / "corpus", n=1)
    _run(corpus, tmp_path / "heuristic", CountingHeuristicJudge())  # type: ignore[arg-type]
    _run(corpus, tmp_path / "scripted", CountingJudge())
    monkeypatch.setattr(batch_judges, "__version__", "999.0.0")  # a new release, the same rules
    heuristic, scripted = CountingHeuristicJudge(), CountingJudge()
    _run(corpus, tmp_path / "heuristic", heuristic)  # type: ignore[arg-type]
    _run(corpus, tmp_path / "scripted", scripted)
    assert heuristic.calls == [] and scripted.calls == ["API 0"]


def test_json_summary_shape(tmp_path: Path) -> None:
    corpus, out = _corpus(tmp_path / "corpus", n=2), tmp_path / "out"
    summary_file = tmp_path / "summary.json"
    _run(corpus, out, CountingJudge(), json_summary=summary_file, concurrency=2)
    data = json.loads(summary_file.read_text())
    assert data["format"] == "crossfield.run-summary/1"
    assert data["judge"] == "scripted" and data["concurrency"] == 2 and data["interrupted"] is False
    assert data["exit_code"] == 1
    assert set(data["totals"]) >= {
        "specs", "done", "skipped", "failed", "not_loadable", "interrupted", "hypotheses", "calls",
        "input_tokens", "output_tokens", "cost_usd", "seconds", "specs_per_second",
    }  # fmt: skip
    assert (data["totals"]["specs"], data["totals"]["done"], data["totals"]["not_loadable"]) == (4, 2, 2)
    spec = next(s for s in data["specs"] if s["name"] == "api0")
    assert spec["status"] == "done" and spec["outputs"] == ["api0/hypotheses.json"]
    assert spec["spec_hash"] and spec["hypotheses"] == 1 and spec["calls"] == 0


def test_outputs_never_include_the_output_directory_itself(tmp_path: Path) -> None:
    corpus = _corpus(tmp_path / "corpus", n=1)
    out = corpus / "out"  # inside the corpus: its hypotheses.json files must not become specs
    _run(corpus, out, CountingJudge())
    summary = _run(corpus, out, CountingJudge())
    assert sorted(s.name for s in summary.specs) == ["api0", "broken", "package"]


def test_specs_with_the_same_stem_get_distinct_stable_names(tmp_path: Path) -> None:
    a = write_spec(tmp_path / "v1" / "openapi.json", orders_doc("one"))
    b = write_spec(tmp_path / "v2" / "openapi.json", orders_doc("two"))
    names = [s.name for s in discover([tmp_path])]
    assert len(set(names)) == 2 and all(n.startswith("openapi-") for n in names)
    write_spec(tmp_path / "v3" / "other.json")
    assert [s.name for s in discover([tmp_path]) if s.path in (a, b)] == names
    assert [s.name for s in discover([str(tmp_path / "v*" / "*.json")])][:2] == names


def test_discovery_errors_and_glob(tmp_path: Path) -> None:
    from crossfield.batch import DiscoveryError

    with pytest.raises(DiscoveryError, match="no such file"):
        discover([tmp_path / "missing.yaml"])
    with pytest.raises(DiscoveryError, match="no file matches"):
        discover([str(tmp_path / "*.yaml")])
    spec = write_spec(tmp_path / "My API (v2).json")
    assert [s.name for s in discover([spec])] == ["My-API-v2"]


def test_invalid_arguments(tmp_path: Path) -> None:
    with pytest.raises(ConfigError):
        run([], judge=CountingJudge(), out=tmp_path)
    with pytest.raises(ConfigError):
        run([tmp_path], judge=CountingJudge(), out=tmp_path, concurrency=0)
    with pytest.raises(ConfigError):
        run([tmp_path], judge=CountingJudge(), out=tmp_path, since=(tmp_path, tmp_path))


def test_sigint_in_process_keeps_finished_specs(tmp_path: Path) -> None:
    """SIGINT during a run (delivered to the main thread, as Ctrl-C is) ends in a summary, not a traceback."""
    corpus, out = tmp_path / "corpus", tmp_path / "out"
    for i in range(6):
        write_spec(corpus / f"api{i}.json", orders_doc(f"API {i}"))

    class Interrupting(CountingJudge):
        def judge(self, api, *, requirements=None):  # type: ignore[no-untyped-def]
            if api.title == "API 3":
                os.kill(os.getpid(), signal.SIGINT)
                time.sleep(0.2)
            return super().judge(api, requirements=requirements)

    # Ctrl-C handling on, even where this test runs with SIGINT ignored (a shell's background job).
    previous = signal.signal(signal.SIGINT, signal.default_int_handler)
    try:
        summary = run([corpus], judge=Interrupting(), out=out, progress=False, concurrency=1)
    finally:
        signal.signal(signal.SIGINT, previous)
    assert summary.interrupted and summary.exit_code == 130
    statuses = [s.status for s in summary.specs]
    assert statuses[:3] == ["done"] * 3 and set(statuses[3:]) == {"interrupted"}
    assert not (out / "api3").exists()
    assert _temp_files(out) == []
    rerun = CountingJudge()
    run([corpus], judge=rerun, out=out, progress=False)
    assert sorted(rerun.calls) == ["API 3", "API 4", "API 5"]


def test_unreadable_spec_is_not_loadable(tmp_path: Path) -> None:
    corpus = tmp_path / "corpus"
    write_spec(corpus / "fine.json")
    (corpus / "dangling.json").symlink_to(tmp_path / "nowhere.json")
    summary = run([corpus], judge=CountingJudge(), out=tmp_path / "out", progress=False)
    outcome = next(s for s in summary.specs if s.name == "dangling")
    assert outcome.status == "not-loadable" and (outcome.reason or "").startswith("cannot read:")
