"""Sharing one DuckDB file between processes without anyone noticing.

DuckDB lets a single process open a database file for writing and refuses every other process, readers
included, while it does. A reviewer in a terminal, a notebook and a batch of judge runs all want the same
store, so the store never keeps the file open: every operation opens a connection, does its work (one
transaction for writes) and closes it, which releases the OS lock. When another process holds the file at
that moment we wait and retry with a short jittered backoff, up to a bounded time, and then raise a
`StoreLockedError` that names the holder (DuckDB's lock message carries its PID; we add its command line
from /proc when readable).

Retrying alone is not fair: a process writing in a tight loop releases the lock for microseconds, and a
waiter polling every few milliseconds almost never lands in that gap. So waiters announce themselves by
holding a shared `flock` on a sidecar file (`<store>.wait`) while they retry; a process about to open the
store first checks that file, and while someone is waiting it pauses (briefly, bounded) to let them in.
Where `fcntl` is missing (Windows) the hand-over degrades to plain retrying.
"""

from __future__ import annotations

import os
import random
import re
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager, suppress
from pathlib import Path
from typing import Any, TypeVar

import duckdb

from crossfield.feedback.errors import StoreLockedError

try:  # pragma: no cover - the import itself is platform-dependent
    import fcntl
except ImportError:  # pragma: no cover - Windows
    fcntl = None  # type: ignore[assignment]

T = TypeVar("T")

DEFAULT_TIMEOUT_S = 30.0
"""How long an operation waits for a busy store before giving up (override: CROSSFIELD_STORE_TIMEOUT)."""

_FIRST_DELAY_S = 0.005
_MAX_DELAY_S = 0.05
_MAX_COURTESY_S = 1.0
_CONFLICT_RETRIES = 8

_LOCK_MESSAGE = re.compile(r"Could not set lock on file|Conflicting lock is held", re.IGNORECASE)
_HOLDER = re.compile(r"Conflicting lock is held in (?P<exe>.*?) \(PID (?P<pid>\d+)\)")


def default_timeout() -> float:
    """The wait from `CROSSFIELD_STORE_TIMEOUT` (seconds), else 30 s."""
    raw = os.environ.get("CROSSFIELD_STORE_TIMEOUT")
    if raw:
        with suppress(ValueError):
            return max(0.0, float(raw))
    return DEFAULT_TIMEOUT_S


def is_lock_error(exc: BaseException) -> bool:
    """True when `exc` is DuckDB refusing the file because another process holds it."""
    return isinstance(exc, duckdb.Error) and bool(_LOCK_MESSAGE.search(str(exc)))


def holder_of(message: str) -> tuple[int | None, str | None]:
    """The PID and command line of the process named in a DuckDB lock error (each None if unknown)."""
    match = _HOLDER.search(message)
    if match is None:
        return None, None
    pid = int(match.group("pid"))
    return pid, read_cmdline(pid) or match.group("exe")


def read_cmdline(pid: int) -> str | None:
    """`/proc/PID/cmdline` as one line (arguments joined by spaces, cut at 300 characters), or None."""
    try:
        raw = Path(f"/proc/{pid}/cmdline").read_bytes()
    except OSError:
        return None
    text = " ".join(part.decode("utf-8", "replace") for part in raw.split(b"\0") if part)
    return (text[:297] + "...") if len(text) > 300 else (text or None)


class _Waiters:
    """The sidecar file through which waiting processes ask the current user of the store to make way."""

    def __init__(self, store: Path) -> None:
        self.file = store.with_name(store.name + ".wait")

    @contextmanager
    def waiting(self) -> Iterator[None]:
        """Hold a shared lock on the sidecar for as long as this process is waiting for the store."""
        if fcntl is None:
            yield
            return
        try:
            fd = os.open(self.file, os.O_RDWR | os.O_CREAT, 0o644)
        except OSError:  # read-only directory: no hand-over, plain retrying still works
            yield
            return
        try:
            fcntl.flock(fd, fcntl.LOCK_SH)
            yield
        finally:
            os.close(fd)

    def someone_waiting(self) -> bool:
        if fcntl is None:
            return False
        try:
            fd = os.open(self.file, os.O_RDWR)
        except OSError:
            return False
        try:
            fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            return True
        except OSError:
            return False
        finally:
            os.close(fd)  # closing also drops the probe lock if we got it
        return False

    def make_way(self) -> None:
        """Pause (at most `_MAX_COURTESY_S`) while another process is waiting for the store."""
        deadline = time.monotonic() + _MAX_COURTESY_S
        while self.someone_waiting() and time.monotonic() < deadline:
            time.sleep(0.002)


def _open(path: Path, timeout: float) -> Any:
    waiters = _Waiters(path)
    waiters.make_way()
    try:
        return duckdb.connect(str(path))
    except duckdb.Error as exc:
        if not is_lock_error(exc):
            raise
        last = exc
    started = time.monotonic()
    delay = _FIRST_DELAY_S
    with waiters.waiting():
        while True:
            waited = time.monotonic() - started
            if waited >= timeout:
                pid, cmdline = holder_of(str(last))
                raise StoreLockedError(str(path), waited, pid, cmdline, str(last)) from last
            time.sleep(min(delay * random.uniform(0.5, 1.5), max(0.0, timeout - waited)))
            delay = min(delay * 1.5, _MAX_DELAY_S)
            try:
                return duckdb.connect(str(path))
            except duckdb.Error as exc:
                if not is_lock_error(exc):
                    raise
                last = exc


@contextmanager
def connection(path: Path, timeout: float) -> Iterator[Any]:
    """A short-lived connection to the store file, opened with bounded waiting and always closed."""
    con = _open(path, timeout)
    try:
        yield con
    finally:
        con.close()


def write(path: Path, timeout: float, work: Callable[[Any], T]) -> T:
    """Run `work(con)` in one transaction on a short-lived connection, then CHECKPOINT.

    All or nothing: any exception (or a crash) before COMMIT leaves the file as it was. A write-write
    conflict with another thread of this process re-runs `work` from the start on a fresh transaction.
    """
    for attempt in range(_CONFLICT_RETRIES):
        with connection(path, timeout) as con:
            con.execute("BEGIN TRANSACTION")
            try:
                result = work(con)
                con.execute("COMMIT")
            except duckdb.TransactionException:
                _rollback(con)
                if attempt + 1 == _CONFLICT_RETRIES:
                    raise
                time.sleep(random.uniform(0.001, 0.02))
                continue
            except BaseException:
                _rollback(con)
                raise
            # Fold the WAL into the file now, so a reader in another process never has to replay it.
            # Committed data is already durable in the WAL, so a checkpoint that cannot run (another thread
            # of this process is mid-transaction) is simply left for later.
            with suppress(duckdb.Error):
                con.execute("CHECKPOINT")
            return result
    raise AssertionError("unreachable")  # pragma: no cover


def _rollback(con: Any) -> None:
    with suppress(duckdb.Error):
        con.execute("ROLLBACK")
