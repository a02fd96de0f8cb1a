"""Ctrl-C for real: a run in a subprocess gets SIGINT mid-run, exits 130 with what finished intact and no
temporary files, and a re-run completes the rest."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from batch_support import CountingJudge, orders_doc, write_spec

from crossfield.batch import MANIFEST_NAME, run
from crossfield.batch._outputs import TEMP_PREFIX
from crossfield.judgment.models import HypothesisSet

HERE = Path(__file__).resolve().parent

_CHILD = """
import sys
sys.path.insert(0, {support!r})
from batch_support import CountingJudge
from crossfield.batch import run
summary = run([{corpus!r}], judge=CountingJudge(delay=0.25), out={out!r}, concurrency=2, progress=False,
              json_summary={summary!r})
sys.exit(summary.exit_code)
"""


def _ctrl_c_enabled() -> None:
    """Children get Ctrl-C handling even when this test runs where SIGINT is ignored (a shell's
    background job ignores it, and children inherit that): the test is about handling it, not receiving it."""
    signal.signal(signal.SIGINT, signal.SIG_DFL)


def _corpus(root: Path, n: int) -> Path:
    for i in range(n):
        write_spec(root / f"api{i:02d}.json", orders_doc(f"API {i}"))
    return root


def _interrupt_after(
    out: Path, at_least: int, proc: subprocess.Popen[bytes], timeout: float = 60.0
) -> tuple[bytes, bytes]:
    """Send SIGINT once `at_least` specs are in the manifest; return (stdout, stderr). Never leaves `proc`
    running."""
    try:
        _wait_for_done(out, at_least, proc, timeout)
        proc.send_signal(signal.SIGINT)
        return proc.communicate(timeout=60)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()


def _wait_for_done(out: Path, at_least: int, proc: subprocess.Popen[bytes], timeout: float) -> int:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        assert proc.poll() is None, "the run ended before it could be interrupted"
        try:
            done = len(json.loads((out / MANIFEST_NAME).read_text())["specs"])
        except (OSError, ValueError, KeyError):
            done = 0
        if done >= at_least:
            return done
        time.sleep(0.02)
    raise AssertionError("the run made no progress")


def _check_interrupted_run(out: Path, corpus: Path, n: int, summary_file: Path) -> set[str]:
    manifest = json.loads((out / MANIFEST_NAME).read_text())["specs"]
    assert 0 < len(manifest) < n
    for name in manifest:  # every finished spec's output is complete and valid
        hset = HypothesisSet.model_validate_json((out / name / "hypotheses.json").read_text())
        assert hset.spec_hash and hset.api_title.startswith("API ")
    assert [p for p in out.rglob("*") if p.name.startswith(TEMP_PREFIX)] == []
    # no spec directory without its manifest entry
    assert {p.name for p in out.iterdir() if p.is_dir()} == set(manifest)
    summary = json.loads(summary_file.read_text())
    assert summary["interrupted"] is True and summary["exit_code"] == 130
    statuses = {s["name"]: s["status"] for s in summary["specs"]}
    assert {n for n, s in statuses.items() if s == "done"} == set(manifest)
    assert set(statuses.values()) <= {"done", "interrupted"}
    return set(manifest)


@pytest.mark.slow
def test_sigint_stops_a_python_api_run_cleanly_and_a_rerun_finishes(tmp_path: Path) -> None:
    n = 16
    corpus, out, summary_file = _corpus(tmp_path / "corpus", n), tmp_path / "out", tmp_path / "summary.json"
    code = _CHILD.format(support=str(HERE), corpus=str(corpus), out=str(out), summary=str(summary_file))
    proc = subprocess.Popen(
        [sys.executable, "-c", code],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        preexec_fn=_ctrl_c_enabled,
    )
    _, stderr = _interrupt_after(out, 2, proc)
    assert proc.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    finished = _check_interrupted_run(out, corpus, n, summary_file)

    rerun = CountingJudge()
    summary = run([corpus], judge=rerun, out=out, progress=False)
    assert len(rerun.calls) == n - len(finished)
    assert summary.exit_code == 0 and summary.count("skipped") == len(finished)


def _heuristic_available() -> bool:
    try:
        from crossfield.judgment.registry import make_judge

        make_judge("heuristic")
    except Exception:
        return False
    return True


@pytest.mark.slow
@pytest.mark.skipif(
    not _heuristic_available(), reason="needs the heuristic judge (crossfield.judgment.registry)"
)
@pytest.mark.parametrize("concurrency", ["1", "2"])  # 2: the heuristic judge in worker processes
def test_sigint_stops_the_cli_cleanly_and_a_rerun_finishes(tmp_path: Path, concurrency: str) -> None:
    n = 150
    corpus, out, summary_file = _corpus(tmp_path / "corpus", n), tmp_path / "out", tmp_path / "summary.json"
    cmd = [sys.executable, "-m", "crossfield", "run", str(corpus), "--judge", "heuristic", "--out", str(out),
           "--concurrency", concurrency, "--json", str(summary_file)]  # fmt: skip
    env = {**os.environ, "CROSSFIELD_CACHE_DIR": str(tmp_path / "cache")}
    proc = subprocess.Popen(
        cmd, stdout=subprocess.PIPE, stderr=subprocess.PIPE, env=env, preexec_fn=_ctrl_c_enabled
    )
    stdout, stderr = _interrupt_after(out, 3, proc)
    assert proc.returncode == 130, stderr.decode()
    assert b"Traceback" not in stderr
    assert b"interrupted" in stdout  # the summary table was printed
    finished = _check_interrupted_run(out, corpus, n, summary_file)

    rerun = subprocess.run(cmd, capture_output=True, env=env, timeout=300, check=False)
    assert rerun.returncode == 0, rerun.stderr.decode()
    summary = json.loads(summary_file.read_text())
    assert summary["totals"]["skipped"] == len(finished)
    assert summary["totals"]["done"] == n - len(finished)
