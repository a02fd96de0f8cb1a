"""Live progress of a run on stderr: specs done and failed, hypotheses, calls, tokens and cost so far.

It is quiet when stderr is not a terminal (CI logs, pipes, `--json` consumers), where a redrawn bar is
noise; the end-of-run summary carries the same numbers.
"""

from __future__ import annotations

import threading
from typing import Protocol

from rich.console import Console
from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

from crossfield.batch.summary import SpecOutcome


class RunProgress(Protocol):
    def start(self, total: int) -> None: ...

    def advance(self, outcome: SpecOutcome) -> None: ...

    def close(self) -> None: ...


class NoProgress:
    def start(self, total: int) -> None:
        return None

    def advance(self, outcome: SpecOutcome) -> None:
        return None

    def close(self) -> None:
        return None


class RichProgress:
    """A rich progress bar; disabled (prints nothing) when the console is not a terminal."""

    def __init__(self, console: Console | None = None) -> None:
        self.console = console or Console(stderr=True)
        self._bar = Progress(
            TextColumn("[bold]crossfield run[/bold]"),
            BarColumn(),
            MofNCompleteColumn(),
            TextColumn("{task.description}"),
            TimeElapsedColumn(),
            console=self.console,
            disable=not self.console.is_terminal,
            transient=False,
        )
        self._task = self._bar.add_task("", total=None)
        self._failed = self._hyps = self._calls = self._tokens = 0
        self._cost = 0.0
        self._lock = threading.Lock()

    def start(self, total: int) -> None:
        self._bar.update(self._task, total=total, description=self._text())
        self._bar.start()

    def advance(self, outcome: SpecOutcome) -> None:
        with self._lock:  # outcomes arrive from the loop and from the writer thread
            self._count(outcome)
        self._bar.update(self._task, advance=1, description=self._text())

    def _count(self, outcome: SpecOutcome) -> None:
        if outcome.status in ("failed", "not-loadable"):
            self._failed += 1
        if outcome.status == "done":
            self._hyps += outcome.hypotheses
            self._calls += outcome.calls
            self._tokens += outcome.input_tokens + outcome.output_tokens
            self._cost += outcome.cost_usd

    def close(self) -> None:
        self._bar.stop()

    def _text(self) -> str:
        failed = f"[red]{self._failed} failed[/red]" if self._failed else "0 failed"
        return f"specs · {failed} · {self._hyps} hypotheses · {self._calls} calls · {self._tokens} tokens · ${self._cost:.4f}"
