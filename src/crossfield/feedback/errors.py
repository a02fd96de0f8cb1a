"""Errors of the feedback store.

They subclass `crossfield.errors` so callers can catch `CrossfieldError` (or `StoreBusyError`) without
knowing this package; each message says what happened and what to do about it.
"""

from __future__ import annotations

from crossfield.errors import CrossfieldError, StoreBusyError


class StoreError(CrossfieldError):
    """The feedback store was asked for something it cannot do (unknown id, bad action, newer schema...)."""


class UnknownHypothesisError(StoreError):
    """A hypothesis id that the store has never recorded."""

    def __init__(self, hypothesis_id: str) -> None:
        self.hypothesis_id = hypothesis_id
        super().__init__(
            f"no hypothesis {hypothesis_id!r} in the store; record the judge run that produced it first "
            "(store.record_judge_run) or check the id with store.hypotheses()"
        )


class SpecUnavailableError(StoreError):
    """A rewrite must be grounded against its spec, and the spec could not be found."""


class StoreLockedError(StoreBusyError):
    """The store file stayed locked by another process for longer than the bounded wait.

    Carries the holder's PID and command line (when the OS lets us read it) so the message can say
    exactly which process to finish or close.
    """

    def __init__(self, path: str, waited_s: float, pid: int | None, cmdline: str | None, detail: str) -> None:
        self.path = path
        self.waited_s = waited_s
        self.pid = pid
        self.cmdline = cmdline
        self.detail = detail
        holder = "another process"
        if pid is not None:
            holder = f"process {pid}" + (f" ({cmdline})" if cmdline else "")
        super().__init__(
            f"the feedback store {path} is busy: {holder} has held it for more than {waited_s:.1f}s.\n"
            "  DuckDB lets one process use a database file at a time. Wait for that process to finish, "
            "or close what keeps the file open there (a notebook kernel with a duckdb.connect() left open, "
            "a DuckDB shell), then retry. To wait longer, pass Store.open(path, timeout=SECONDS) or set "
            f"CROSSFIELD_STORE_TIMEOUT.\n  DuckDB said: {detail}"
        )
