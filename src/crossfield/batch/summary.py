"""What a batch run did, spec by spec: the `RunSummary` returned by `crossfield.run`, written by `--json`,
and printed as a table at the end of a run (also after Ctrl-C, for what finished)."""

from __future__ import annotations

from dataclasses import asdict, dataclass, field
from typing import Any, Literal

from rich.console import Console
from rich.markup import escape
from rich.table import Table

SpecStatus = Literal["done", "skipped", "failed", "not-loadable", "interrupted"]
"""done: judged (and compiled) in this run; skipped: already done under the same run key; failed: loaded but
the judge (or codegen, or writing) failed; not-loadable: not an API description, or a broken one;
interrupted: started or queued when the run was stopped."""

FORMAT = "crossfield.run-summary/1"


@dataclass(slots=True)
class SpecOutcome:
    path: str
    name: str
    status: SpecStatus
    reason: str | None = None
    spec_hash: str | None = None
    title: str | None = None
    operations: int = 0
    """Operations the judge saw: all of them, or for `--since` the changed and linked ones."""
    hypotheses: int = 0
    dropped: int = 0
    calls: int = 0
    input_tokens: int = 0
    output_tokens: int = 0
    cost_usd: float = 0.0
    failed_chunks: int = 0
    seconds: float = 0.0
    tests: int | None = None
    changes: int | None = None
    run_id: str | None = None
    outputs: list[str] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass(slots=True)
class RunSummary:
    judge: str
    out: str
    prompt: str | None = None
    store: str | None = None
    since: tuple[str, str] | None = None
    specs: list[SpecOutcome] = field(default_factory=list)
    started_at: str = ""
    finished_at: str = ""
    seconds: float = 0.0
    interrupted: bool = False
    concurrency: int = 1

    def count(self, status: SpecStatus) -> int:
        return sum(1 for s in self.specs if s.status == status)

    @property
    def exit_code(self) -> int:
        """130 when interrupted (the shell convention for SIGINT), 1 when a spec failed or could not be
        loaded, else 0."""
        if self.interrupted:
            return 130
        return 1 if any(s.status in ("failed", "not-loadable") for s in self.specs) else 0

    def totals(self) -> dict[str, Any]:
        judged = [s for s in self.specs if s.status == "done"]
        return {
            "specs": len(self.specs),
            "done": self.count("done"),
            "skipped": self.count("skipped"),
            "failed": self.count("failed"),
            "not_loadable": self.count("not-loadable"),
            "interrupted": self.count("interrupted"),
            "hypotheses": sum(s.hypotheses for s in judged),
            "dropped": sum(s.dropped for s in judged),
            "calls": sum(s.calls for s in judged),
            "input_tokens": sum(s.input_tokens for s in judged),
            "output_tokens": sum(s.output_tokens for s in judged),
            "cost_usd": round(sum(s.cost_usd for s in judged), 6),
            "tests": sum(s.tests or 0 for s in judged),
            "seconds": round(self.seconds, 3),
            "specs_per_second": round(len(judged) / self.seconds, 3) if self.seconds > 0 else None,
        }

    def to_dict(self) -> dict[str, Any]:
        return {
            "format": FORMAT,
            "judge": self.judge,
            "prompt": self.prompt,
            "out": self.out,
            "store": self.store,
            "since": list(self.since) if self.since else None,
            "concurrency": self.concurrency,
            "started_at": self.started_at,
            "finished_at": self.finished_at,
            "interrupted": self.interrupted,
            "exit_code": self.exit_code,
            "totals": self.totals(),
            "specs": [s.to_dict() for s in self.specs],
        }


_STYLE = {
    "done": "green",
    "skipped": "dim",
    "failed": "red",
    "not-loadable": "yellow",
    "interrupted": "magenta",
}


def render_summary(summary: RunSummary, console: Console) -> None:
    """The end-of-run table: one row per spec, then the totals and where the outputs are. The LLM columns
    (calls, tokens, cost) appear only when some spec made a call."""
    llm = any(s.calls or s.input_tokens for s in summary.specs)
    table = Table(title="crossfield run", title_justify="left", show_edge=False)
    table.add_column("spec", no_wrap=True, max_width=40, overflow="ellipsis")
    table.add_column("status", no_wrap=True)
    for name in ("ops", "hyps", *(("calls", "tokens", "cost $") if llm else ()), "s"):
        table.add_column(name, justify="right", no_wrap=True)
    table.add_column("reason", overflow="fold")
    for s in summary.specs:
        style = _STYLE.get(s.status, "")
        reason = (s.reason or "").splitlines()[0] if s.reason else ""
        cells = (
            str(s.calls or ""),
            str(s.input_tokens + s.output_tokens or ""),
            f"{s.cost_usd:.4f}" if s.cost_usd else "",
        )
        table.add_row(
            escape(s.name), f"[{style}]{s.status}[/{style}]", str(s.operations or ""), str(s.hypotheses or ""),
            *(cells if llm else ()), f"{s.seconds:.1f}" if s.seconds else "", escape(reason),
        )  # fmt: skip
    console.print(table)
    t = summary.totals()
    rate = f", {t['specs_per_second']} specs/s" if t["specs_per_second"] else ""
    usage_text = (
        f", {t['calls']} calls, {t['input_tokens'] + t['output_tokens']} tokens, ${t['cost_usd']:.4f}"
        if llm
        else ""
    )
    console.print(
        f"{t['done']} done, {t['skipped']} skipped, {t['failed']} failed, {t['not_loadable']} not loadable"
        + (f", {t['interrupted']} interrupted" if t["interrupted"] else "")
        + f" | {t['hypotheses']} hypotheses{usage_text} | {t['seconds']:.1f}s{rate} | outputs in {escape(summary.out)}"
    )
    if summary.interrupted:
        console.print(
            "[magenta]interrupted:[/magenta] finished specs are saved; run the same command again to resume"
        )
