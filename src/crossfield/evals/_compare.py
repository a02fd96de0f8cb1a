"""Comparing judges and prompt versions: grid cells aggregated per judge x prompt, rendered as Markdown
and as one self-contained HTML file with inline SVG plots.

Rates are pooled (detected bugs over seeded bugs, summed over targets) within a repeat, then averaged
over repeats with the min-max spread shown, because a sampled model's single run is an anecdote. The
acceptance rate comes from the humans' recorded decisions on the hypotheses a configuration produced, so
a judge that finds bugs by spraying hypotheses reviewers reject shows it.
"""

from __future__ import annotations

from collections import defaultdict
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from html import escape
from pathlib import Path

from crossfield.evals._cells import Cell
from crossfield.evals._svg import bar_chart, scatter


@dataclass(slots=True)
class ConfigRow:
    """One judge x prompt configuration over every target and repeat of a grid."""

    judge: str
    prompt: str | None
    targets: list[str] = field(default_factory=list)
    repeats: int = 0
    detection: list[float] = field(default_factory=list)
    """Pooled detection rate of each repeat."""
    bugs: int = 0
    detected: float = 0.0
    false_alarms: list[int] = field(default_factory=list)
    cost_usd: list[float] = field(default_factory=list)
    tokens: list[int] = field(default_factory=list)
    wall_s: list[float] = field(default_factory=list)
    baseline_detected: int | None = None
    decisions: dict[str, int] = field(default_factory=dict)
    per_target: dict[str, tuple[float, int]] = field(default_factory=dict)
    """target -> (mean detected, bugs)."""

    @property
    def label(self) -> str:
        return self.judge if self.prompt is None else f"{self.judge} · {self.prompt}"

    @property
    def detection_mean(self) -> float:
        return _mean(self.detection)

    @property
    def detection_range(self) -> tuple[float, float]:
        return (min(self.detection, default=0.0), max(self.detection, default=0.0))

    @property
    def decided(self) -> int:
        return sum(self.decisions.values())

    @property
    def acceptance_rate(self) -> float | None:
        """Accepted (or rewritten, i.e. kept in changed form) over decided; None when nothing is decided."""
        if not self.decided:
            return None
        return (self.decisions.get("accept", 0) + self.decisions.get("rewrite", 0)) / self.decided


def aggregate(
    cells: Sequence[Cell], decisions: Mapping[str, Mapping[str, int]] | None = None
) -> list[ConfigRow]:
    """Rows per (judge, prompt), in first-seen order. `decisions` maps a row label to decision counts."""
    groups: dict[tuple[str, str | None], list[Cell]] = {}
    for cell in cells:
        groups.setdefault((cell.judge, cell.prompt), []).append(cell)
    rows = []
    for (judge, prompt), members in groups.items():
        row = ConfigRow(judge=judge, prompt=prompt)
        by_repeat: dict[int, list[Cell]] = defaultdict(list)
        by_target: dict[str, list[Cell]] = defaultdict(list)
        for c in members:
            by_repeat[c.repeat].append(c)
            by_target[c.target].append(c)
        row.targets = sorted(by_target)
        row.repeats = len(by_repeat)
        for rep in sorted(by_repeat):
            cs = by_repeat[rep]
            bugs = sum(c.scores.bugs for c in cs)
            row.detection.append(sum(c.scores.detected for c in cs) / bugs if bugs else 0.0)
            row.false_alarms.append(sum(c.scores.false_alarms for c in cs))
            row.cost_usd.append(sum(c.scores.usage.cost_usd for c in cs))
            row.tokens.append(sum(c.scores.usage.input_tokens + c.scores.usage.output_tokens for c in cs))
            row.wall_s.append(sum(c.scores.timing.total_s for c in cs))
        row.bugs = sum(c.scores.bugs for c in by_repeat[min(by_repeat)])
        row.detected = _mean([float(sum(c.scores.detected for c in by_repeat[r])) for r in by_repeat])
        for target, cs in by_target.items():
            row.per_target[target] = (_mean([float(c.scores.detected) for c in cs]), cs[0].scores.bugs)
        base = [
            c.scores.baseline_detected
            for c in by_repeat[min(by_repeat)]
            if c.scores.baseline_detected is not None
        ]
        row.baseline_detected = sum(base) if base else None
        row.decisions = dict((decisions or {}).get(row.label, {}))
        rows.append(row)
    return rows


def hypothesis_ids_by_label(cells: Sequence[Cell]) -> dict[str, list[str]]:
    """The distinct hypothesis ids each configuration produced (for looking up human decisions)."""
    out: dict[str, set[str]] = defaultdict(set)
    for cell in cells:
        label = cell.judge if cell.prompt is None else f"{cell.judge} · {cell.prompt}"
        out[label].update(str(h["id"]) for h in cell.hypotheses if h.get("id"))
    return {k: sorted(v) for k, v in out.items()}


def _mean(values: Sequence[float]) -> float:
    return sum(values) / len(values) if values else 0.0


def _pct(v: float | None) -> str:
    return "—" if v is None else f"{v:.0%}"


def _table_rows(rows: Sequence[ConfigRow]) -> tuple[list[str], list[list[str]]]:
    header = [
        "judge · prompt",
        "targets",
        "repeats",
        "detected",
        "detection (min–max)",
        "false alarms / run",
        "cost / run (USD)",
        "tokens / run",
        "wall / run (s)",
        "acceptance (decided)",
        "schemathesis detected",
    ]
    body = []
    for r in rows:
        lo, hi = r.detection_range
        body.append(
            [
                r.label,
                str(len(r.targets)),
                str(r.repeats),
                f"{r.detected:.3g}/{r.bugs}",
                f"{r.detection_mean:.0%} ({lo:.0%}–{hi:.0%})",
                f"{_mean([float(x) for x in r.false_alarms]):.3g}",
                f"{_mean(r.cost_usd):.4f}",
                f"{_mean([float(t) for t in r.tokens]):.0f}",
                f"{_mean(r.wall_s):.1f}",
                f"{_pct(r.acceptance_rate)} ({r.decided})",
                "—" if r.baseline_detected is None else f"{r.baseline_detected}/{r.bugs}",
            ]
        )
    return header, body


def _target_rows(rows: Sequence[ConfigRow]) -> tuple[list[str], list[list[str]]]:
    targets = sorted({t for r in rows for t in r.targets})
    header = ["judge · prompt", *targets]
    body = []
    for r in rows:
        cells = []
        for t in targets:
            got = r.per_target.get(t)
            cells.append("—" if got is None else f"{got[0]:.3g}/{got[1]}")
        body.append([r.label, *cells])
    return header, body


def _md_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    def line(cells: Sequence[str]) -> str:
        return "| " + " | ".join(c.replace("|", "\\|") for c in cells) + " |"

    return "\n".join([line(header), line(["---"] * len(header)), *(line(b) for b in body)])


def charts(rows: Sequence[ConfigRow]) -> list[str]:
    """The four comparison plots, as SVG strings."""
    labels = [r.label for r in rows]
    return [
        bar_chart(
            "Detection rate (pooled over targets; whiskers: min–max over repeats)",
            labels,
            [r.detection_mean for r in rows],
            ranges=[r.detection_range for r in rows],
            y_label="detected / seeded",
            y_max=1.0,
            fmt=lambda v: f"{v:.0%}",
        ),
        bar_chart(
            "False alarms per run (tests failing on the correct apps)",
            labels,
            [_mean([float(x) for x in r.false_alarms]) for r in rows],
            ranges=[
                (float(min(r.false_alarms, default=0)), float(max(r.false_alarms, default=0))) for r in rows
            ],
            y_label="tests",
        ),
        scatter(
            "Cost per run against detection rate",
            [(r.label, _mean(r.cost_usd), r.detection_mean) for r in rows],
            x_label="USD per run (all targets)",
            y_label="detection rate",
            y_max=1.0,
            fmt_x=lambda v: f"${v:.3g}",
            fmt_y=lambda v: f"{v:.0%}",
        ),
        bar_chart(
            "Acceptance rate against recorded human decisions",
            [f"{r.label} (n={r.decided})" for r in rows],
            [r.acceptance_rate or 0.0 for r in rows],
            y_label="accepted / decided",
            y_max=1.0,
            fmt=lambda v: f"{v:.0%}",
        ),
    ]


def render_markdown(
    rows: Sequence[ConfigRow], *, title: str, note: str = "", svg_dir: str | None = None
) -> str:
    """Markdown tables; with `svg_dir`, also links to the plots written there (see `write_report`)."""
    parts = [f"# {title}", ""]
    if note:
        parts += [note, ""]
    parts += ["## Judges and prompts", "", _md_table(*_table_rows(rows)), ""]
    parts += ["## Detected bugs per target (mean over repeats)", "", _md_table(*_target_rows(rows)), ""]
    if svg_dir is not None:
        parts += ["## Plots", ""]
        for i, name in enumerate(_CHART_NAMES):
            parts.append(f"![{name}]({svg_dir}/{i + 1}-{name}.svg)")
        parts.append("")
    return "\n".join(parts)


_CHART_NAMES = ("detection", "false-alarms", "cost-vs-detection", "acceptance")

_CSS = """
body { font-family: system-ui, sans-serif; margin: 2rem; color: #222; max-width: 1100px; }
table { border-collapse: collapse; margin: 1rem 0; font-size: 0.9rem; }
th, td { border: 1px solid #ccc; padding: 0.3rem 0.6rem; text-align: right; }
th:first-child, td:first-child { text-align: left; }
th { background: #f3f3f3; }
.charts { display: flex; flex-wrap: wrap; gap: 1rem; }
"""


def _html_table(header: Sequence[str], body: Sequence[Sequence[str]]) -> str:
    head = "".join(f"<th>{escape(h)}</th>" for h in header)
    rows = "".join("<tr>" + "".join(f"<td>{escape(c)}</td>" for c in b) + "</tr>" for b in body)
    return f"<table><thead><tr>{head}</tr></thead><tbody>{rows}</tbody></table>"


def render_html(rows: Sequence[ConfigRow], *, title: str, note: str = "") -> str:
    """One self-contained page: inline CSS and inline SVG, no script, no external resource."""
    svgs = "".join(f"<figure>{svg}</figure>" for svg in charts(rows))
    return (
        '<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">'
        f"<title>{escape(title)}</title><style>{_CSS}</style></head><body>"
        f"<h1>{escape(title)}</h1>"
        + (f"<p>{escape(note)}</p>" if note else "")
        + "<h2>Judges and prompts</h2>"
        + _html_table(*_table_rows(rows))
        + "<h2>Detected bugs per target (mean over repeats)</h2>"
        + _html_table(*_target_rows(rows))
        + f'<h2>Plots</h2><div class="charts">{svgs}</div>'
        + "</body></html>\n"
    )


def write_report(rows: Sequence[ConfigRow], out_dir: Path, *, title: str, note: str = "") -> dict[str, Path]:
    """Write `compare.md` (+ its SVG files beside it) and the self-contained `compare.html`."""
    out_dir.mkdir(parents=True, exist_ok=True)
    svg_dir = out_dir / "compare-plots"
    svg_dir.mkdir(exist_ok=True)
    for i, (name, svg) in enumerate(zip(_CHART_NAMES, charts(rows), strict=True)):
        (svg_dir / f"{i + 1}-{name}.svg").write_text(svg + "\n", encoding="utf-8")
    md = out_dir / "compare.md"
    md.write_text(render_markdown(rows, title=title, note=note, svg_dir=svg_dir.name), encoding="utf-8")
    html = out_dir / "compare.html"
    html.write_text(render_html(rows, title=title, note=note), encoding="utf-8")
    return {"markdown": md, "html": html, "plots": svg_dir}
