"""Several processes on one store file: nobody sees DuckDB's lock, no row is lost, a crash leaves no half
batch, and a holder that never lets go produces a StoreBusyError naming it."""

from __future__ import annotations

import os
import subprocess
import sys
import textwrap
import time
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import duckdb
import pytest
from feedback_support import refund_draft, scripted_result

from crossfield.errors import StoreBusyError
from crossfield.feedback import Store, StoreLockedError
from crossfield.feedback import _rows as rows_module

TESTS = Path(__file__).resolve().parent


def _python(script: str, *args: str) -> list[str]:
    return [sys.executable, "-c", textwrap.dedent(script), *args]


def _env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = os.pathsep.join([str(TESTS), env.get("PYTHONPATH", "")])
    return env


WRITER = """
    import sys
    from feedback_support import refund_draft, scripted_result
    from crossfield.feedback import Store
    path, runs, per_run, done = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4]
    store = Store.open(path)
    for run in range(runs):
        base = 1000 + run * per_run
        store.record_judge_run(scripted_result([refund_draft(base + i) for i in range(per_run)]))
    open(done, "w").close()
"""

REVIEWER = """
    import os, sys, time
    from crossfield.feedback import Store
    path, done, expected = sys.argv[1], sys.argv[2], int(sys.argv[3])
    store = Store.open(path)
    decided = 0
    deadline = time.monotonic() + 120
    while time.monotonic() < deadline:
        writer_done = os.path.exists(done)
        undecided = store.hypotheses(status="undecided")
        for row in undecided:
            if decided % 3 == 2:
                store.decide(row["hypothesis_id"], "reject", reviewer="rita", reason="not_risky")
            else:
                store.decide(row["hypothesis_id"], "accept", reviewer="rita")
            decided += 1
        if writer_done and not undecided:
            break
        if not undecided:
            time.sleep(0.02)  # a person takes a moment too; no need to spin on the lock
    print(decided)
"""


@pytest.mark.slow
def test_a_reviewer_and_a_judge_share_one_store(tmp_path: Path) -> None:
    path = tmp_path / "shared.duckdb"
    done = tmp_path / "writer.done"
    Store.open(path)
    runs, per_run = 20, 5
    writer = subprocess.Popen(
        _python(WRITER, str(path), str(runs), str(per_run), str(done)),
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    reviewer = subprocess.Popen(
        _python(REVIEWER, str(path), str(done), str(runs * per_run)),
        env=_env(), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
    )  # fmt: skip
    _w_out, w_err = writer.communicate(timeout=180)
    r_out, r_err = reviewer.communicate(timeout=180)
    assert writer.returncode == 0, w_err
    assert reviewer.returncode == 0, r_err
    assert "Error" not in w_err + r_err
    store = Store.open(path)
    counts = store.sql(
        "SELECT (SELECT count(*) FROM judge_runs) AS runs, (SELECT count(*) FROM hypotheses) AS hyps, "
        "(SELECT count(*) FROM decisions) AS decisions, (SELECT count(DISTINCT hypothesis_id) FROM decisions) AS decided"
    )[0]
    total = runs * per_run
    assert counts == {"runs": runs, "hyps": total, "decisions": total, "decided": total}
    assert int(r_out.strip()) == total
    assert store.hypotheses(status="undecided") == []


CRASHER = """
    import os, sys
    from feedback_support import refund_draft, scripted_result
    from crossfield.feedback import Store, _rows
    path = sys.argv[1]
    store = Store.open(path)
    real = _rows.insert_rows

    def insert_then_die(con, table, columns, rows, **kw):
        if table == "hypotheses":
            rows = list(rows)
            real(con, table, columns, rows[: len(rows) // 2], **kw)  # half the batch is in...
            os._exit(17)  # ...and the process dies without COMMIT
        return real(con, table, columns, rows, **kw)

    _rows.insert_rows = insert_then_die
    store.record_judge_run(scripted_result([refund_draft(500 + i) for i in range(20)]))
"""


def test_a_crash_mid_batch_leaves_nothing_of_it(tmp_path: Path) -> None:
    path = tmp_path / "crash.duckdb"
    store = Store.open(path)
    store.record_judge_run(scripted_result([refund_draft(1), refund_draft(2)]))
    before = store.sql(
        "SELECT (SELECT count(*) FROM judge_runs) AS runs, (SELECT count(*) FROM hypotheses) AS hyps"
    )
    proc = subprocess.run(
        _python(CRASHER, str(path)), env=_env(), capture_output=True, text=True, timeout=120
    )
    assert proc.returncode == 17, proc.stderr
    after = store.sql(
        "SELECT (SELECT count(*) FROM judge_runs) AS runs, (SELECT count(*) FROM hypotheses) AS hyps"
    )
    assert before == after == [{"runs": 1, "hyps": 2}]
    # The file is healthy: the next batch goes in whole.
    store.record_judge_run(scripted_result([refund_draft(3)]))
    assert store.sql("SELECT count(*) AS n FROM hypotheses") == [{"n": 3}]


def test_an_exception_mid_batch_rolls_the_batch_back(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    store = Store.open(tmp_path / "rollback.duckdb")
    real = rows_module.insert_rows
    calls = {"n": 0}

    def failing(con: object, table: str, *args: object, **kwargs: object) -> int:
        calls["n"] += 1
        if table == "llm_calls":
            raise RuntimeError("injected")
        return real(con, table, *args, **kwargs)  # type: ignore[arg-type]

    monkeypatch.setattr(rows_module, "insert_rows", failing)
    with pytest.raises(RuntimeError, match="injected"):
        store.record_judge_run(scripted_result([refund_draft(1)]))
    monkeypatch.undo()
    assert calls["n"] >= 3  # specs and judge_runs went in before the failure...
    assert store.sql(  # ...and were rolled back with it
        "SELECT (SELECT count(*) FROM specs) + (SELECT count(*) FROM judge_runs) + (SELECT count(*) FROM hypotheses) AS n"
    ) == [{"n": 0}]


HOLDER = """
    import sys, time, duckdb
    con = duckdb.connect(sys.argv[1])
    con.execute("SELECT count(*) FROM hypotheses").fetchall()
    print("holding", flush=True)
    time.sleep(float(sys.argv[2]))
    con.close()
"""


@contextmanager
def _hold(path: Path, seconds: float) -> Iterator[subprocess.Popen[str]]:
    """Another process holding the store file open for `seconds` (killed on exit)."""
    with subprocess.Popen(
        _python(HOLDER, str(path), str(seconds)), stdout=subprocess.PIPE, text=True
    ) as proc:
        assert proc.stdout is not None and proc.stdout.readline().strip() == "holding"
        try:
            yield proc
        finally:
            proc.kill()


def test_a_holder_past_the_wait_gives_store_busy_with_its_pid(tmp_path: Path) -> None:
    path = tmp_path / "held.duckdb"
    store = Store.open(path, timeout=0.6)
    with _hold(path, 30) as holder:
        started = time.monotonic()
        with pytest.raises(StoreBusyError) as info:
            store.hypotheses()
        waited = time.monotonic() - started
    error = info.value
    assert isinstance(error, StoreLockedError)
    assert 0.6 <= waited < 5
    assert error.pid == holder.pid
    assert error.cmdline is not None and "duckdb.connect" in error.cmdline
    assert f"process {holder.pid}" in str(error) and "CROSSFIELD_STORE_TIMEOUT" in str(error)
    assert store.hypotheses() == []  # the lock dies with its holder


def test_a_holder_that_lets_go_in_time_is_waited_for(tmp_path: Path) -> None:
    path = tmp_path / "brief.duckdb"
    store = Store.open(path, timeout=20)
    with _hold(path, 1.0):
        started = time.monotonic()
        store.record_judge_run(scripted_result([refund_draft(1)]))
        assert time.monotonic() - started >= 0.5
    assert store.sql("SELECT count(*) AS n FROM hypotheses") == [{"n": 1}]


def test_the_wait_is_configurable_from_the_environment(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setenv("CROSSFIELD_STORE_TIMEOUT", "2.5")
    assert Store.open(tmp_path / "t.duckdb").timeout == 2.5
    assert Store.open(tmp_path / "t.duckdb", timeout=1).timeout == 1


def test_lock_errors_are_recognised_and_parsed() -> None:
    from crossfield.feedback._locking import holder_of, is_lock_error

    message = (
        'IO Error: Could not set lock on file "/tmp/x.duckdb": Conflicting lock is held in '
        "/usr/bin/python3.11 (PID 4242). See also https://duckdb.org/docs/current/connect/concurrency"
    )
    assert is_lock_error(duckdb.IOException(message))
    assert not is_lock_error(duckdb.IOException("IO Error: disk full"))
    pid, cmdline = holder_of(message)
    assert pid == 4242 and cmdline  # the executable when /proc has no such process
    assert holder_of("no pid here") == (None, None)


def test_insert_rows_chunks_large_batches(tmp_path: Path) -> None:
    con = duckdb.connect(str(tmp_path / "chunks.duckdb"))
    con.execute("CREATE TABLE t (a INTEGER, b VARCHAR)")
    assert rows_module.insert_rows(con, "t", ("a", "b"), ((i, str(i)) for i in range(15_001))) == 15_001
    assert con.execute("SELECT count(*), sum(a) FROM t").fetchone() == (15_001, sum(range(15_001)))
    con.close()
