"""Rich tables for a bench report: one per target (bug by bug, crossfield beside schemathesis), the false
alarms with their messages, and an overall table with the cross-field/single-field and category splits.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Iterable

from rich.console import Console, Group
from rich.table import Table
from rich.text import Text

from crossfield.evals._report import BenchReport, BugResult, Scores, TargetResult

_YES = Text("✔", style="bold green")
_NO = Text("✘", style="red")
_NA = Text("—", style="dim")


def _mark(value: bool | None, extra: str = "") -> Text:
    if value is None:
        return _NA.copy()
    text = (_YES if value else _NO).copy()
    if extra:
        text.append(f" {extra}", style="dim")
    return text


def _rate(detected: int | None, total: int) -> str:
    if detected is None:
        return "—"
    return f"{detected}/{total}" + (f" ({detected / total:.0%})" if total else "")


def target_table(result: TargetResult) -> Table:
    title = f"{result.name}" + (f"  [red]error: {result.error}[/red]" if result.error else "")
    table = Table(title=title, title_justify="left", show_lines=False)
    table.add_column("bug")
    table.add_column("category")
    table.add_column("kind")
    table.add_column("crossfield", justify="center")
    table.add_column("schemathesis", justify="center")
    for bug in result.bugs:
        n = len(bug.detected_by)
        table.add_row(
            bug.id,
            bug.category,
            "cross-field" if bug.cross_field else "single-field",
            _mark(bug.detected, f"{n} test{'s' * (n != 1)}" if n else "")
            if not bug.error
            else Text("! not scored", style="yellow"),
            _mark(bug.baseline_detected),
        )
    s = result.scores
    h = s.hypotheses
    table.caption = (
        f"detected {_rate(s.detected, s.bugs)} · schemathesis {_rate(s.baseline_detected, s.bugs)} · "
        f"false alarms {s.false_alarms} (schemathesis {_or_dash(s.baseline_false_alarms)}) · "
        f"not evaluated {s.unjudged} · "
        f"hypotheses {h.emitted} emitted / {h.grounded} grounded / {h.compiled} compiled · {h.tests} tests · "
        f"{s.timing.total_s:.1f}s"
    )
    problems = [f"suite on {r.variant}: {r.error.splitlines()[0]}" for r in result.runs if r.error]
    if result.baseline is not None:
        if result.baseline.error:
            problems.append(f"schemathesis: {result.baseline.error}")
        problems += [f"schemathesis on {r.variant}: timed out" for r in result.baseline.runs if r.timed_out]
    if problems:
        table.caption += "\n[yellow]" + "\n".join(problems) + "[/yellow]"
    table.caption_justify = "left"
    return table


def false_alarm_table(result: TargetResult, *, width: int = 160) -> Table | None:
    if not result.false_alarms and not (result.baseline and result.baseline.false_alarms):
        return None
    table = Table(title=f"{result.name}: failing on the correct app", title_justify="left", show_lines=True)
    table.add_column("source")
    table.add_column("test / check")
    table.add_column("message", overflow="fold", max_width=width)
    for fa in result.false_alarms:
        table.add_row("crossfield", fa.nodeid, _first_lines(fa.message))
    if result.baseline:
        for sig in result.baseline.false_alarms:
            table.add_row("schemathesis", f"{sig.check} {sig.operation}", sig.title)
    return table


def _first_lines(message: str, lines: int = 4) -> str:
    parts = [p for p in message.strip().splitlines() if p.strip()]
    text = "\n".join(parts[:lines])
    return text + ("\n…" if len(parts) > lines else "")


def _or_dash(value: int | None) -> str:
    return "—" if value is None else str(value)


def overall_table(report: BenchReport) -> Table:
    table = Table(
        title=f"Overall — judge {report.judge}" + (f", prompt {report.prompt}" if report.prompt else "")
    )
    for col, justify in (
        ("target", "left"),
        ("bugs", "right"),
        ("crossfield", "right"),
        ("schemathesis", "right"),
        ("false alarms", "right"),
        ("st false alarms", "right"),
        ("not evaluated", "right"),
        ("hyps e/g/c", "right"),
        ("tests", "right"),
        ("tests/det. bug", "right"),
        ("LLM calls", "right"),
        ("tokens", "right"),
        ("cost $", "right"),
        ("wall s", "right"),
    ):
        table.add_column(col, justify=justify)  # type: ignore[arg-type]
    for t in report.targets:
        table.add_row(*_score_cells(t.name, t.scores))
    table.add_section()
    table.add_row(*_score_cells("overall", report.overall), style="bold")
    return table


def _score_cells(name: str, s: Scores) -> list[str]:
    h, u = s.hypotheses, s.usage
    return [
        name,
        str(s.bugs),
        _rate(s.detected, s.bugs),
        _rate(s.baseline_detected, s.bugs),
        str(s.false_alarms),
        _or_dash(s.baseline_false_alarms),
        str(s.unjudged),
        f"{h.emitted}/{h.grounded}/{h.compiled}",
        str(h.tests),
        f"{s.tests_per_detected_bug:.1f}",
        str(u.llm_calls),
        str(u.input_tokens + u.output_tokens),
        f"{u.cost_usd:.4f}",
        f"{s.timing.total_s:.1f}",
    ]


def split_table(report: BenchReport) -> Table:
    """Detection by cross-field vs single-field and by category, crossfield beside schemathesis."""
    bugs = [b for t in report.targets for b in t.bugs]
    baseline_ran = any(t.baseline is not None for t in report.targets)
    table = Table(title="Detection by kind and category")
    table.add_column("group")
    table.add_column("bugs", justify="right")
    table.add_column("crossfield", justify="right")
    table.add_column("schemathesis", justify="right")
    for label, members in _groups(bugs):
        found = sum(b.detected for b in members)
        base = sum(bool(b.baseline_detected) for b in members) if baseline_ran else None
        table.add_row(label, str(len(members)), _rate(found, len(members)), _rate(base, len(members)))
    return table


def _groups(bugs: Iterable[BugResult]) -> list[tuple[str, list[BugResult]]]:
    kinds: dict[str, list[BugResult]] = defaultdict(list)
    cats: dict[str, list[BugResult]] = defaultdict(list)
    for b in bugs:
        kinds["cross-field" if b.cross_field else "single-field"].append(b)
        cats[b.category].append(b)
    return [*sorted(kinds.items()), *((f"  {k}", v) for k, v in sorted(cats.items()))]


def render(report: BenchReport) -> Group:
    parts: list[Table] = []
    for t in report.targets:
        parts.append(target_table(t))
        fa = false_alarm_table(t)
        if fa is not None:
            parts.append(fa)
    parts += [overall_table(report), split_table(report)]
    return Group(*parts)


def print_report(report: BenchReport, console: Console | None = None) -> None:
    (console or Console()).print(render(report))
