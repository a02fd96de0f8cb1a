"""Tiny inline-SVG charts for the comparison report.

Drawn by hand (bars and a scatter are a few dozen lines) so the HTML report is one self-contained file
that opens anywhere, offline, and crossfield needs no plotting dependency.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from html import escape

WIDTH = 640
HEIGHT = 300
_MARGIN_L, _MARGIN_R, _MARGIN_T, _MARGIN_B = 56, 16, 34, 78
_COLORS = ("#3b6ea5", "#d1495b", "#edae49", "#00798c", "#66a182", "#8d6a9f", "#30638e", "#a44a3f")


def color(index: int) -> str:
    return _COLORS[index % len(_COLORS)]


def _fmt(value: float) -> str:
    return f"{value:.3g}"


def _svg_open(title: str) -> list[str]:
    return [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{WIDTH}" height="{HEIGHT}" '
        f'viewBox="0 0 {WIDTH} {HEIGHT}" role="img" aria-label="{escape(title)}" '
        'font-family="system-ui, sans-serif" font-size="11">',
        f"<title>{escape(title)}</title>",
        f'<text x="{WIDTH / 2}" y="18" text-anchor="middle" font-size="13" font-weight="600">{escape(title)}</text>',
    ]


def _y_axis(
    parts: list[str], y_max: float, fmt: Callable[[float], str], label: str
) -> Callable[[float], float]:
    plot_h = HEIGHT - _MARGIN_T - _MARGIN_B

    def y_of(v: float) -> float:
        return _MARGIN_T + plot_h * (1 - (v / y_max if y_max else 0.0))

    for i in range(5):
        v = y_max * i / 4
        y = y_of(v)
        parts.append(
            f'<line x1="{_MARGIN_L}" x2="{WIDTH - _MARGIN_R}" y1="{y:.1f}" y2="{y:.1f}" stroke="#ddd"/>'
        )
        parts.append(f'<text x="{_MARGIN_L - 6}" y="{y + 4:.1f}" text-anchor="end">{escape(fmt(v))}</text>')
    parts.append(
        f'<text transform="translate(14 {_MARGIN_T + plot_h / 2:.1f}) rotate(-90)" text-anchor="middle">'
        f"{escape(label)}</text>"
    )
    return y_of


def bar_chart(
    title: str,
    labels: Sequence[str],
    values: Sequence[float],
    *,
    y_label: str = "",
    y_max: float | None = None,
    ranges: Sequence[tuple[float, float] | None] | None = None,
    fmt: Callable[[float], str] = _fmt,
) -> str:
    """Vertical bars, one per label, with optional min-max whiskers (spread over repeats)."""
    parts = _svg_open(title)
    top = max([*values, *(hi for r in ranges or () if r for hi in (r[1],)), 0.0])
    y_max = y_max if y_max is not None else (top * 1.15 or 1.0)
    y_of = _y_axis(parts, y_max, fmt, y_label)
    plot_w = WIDTH - _MARGIN_L - _MARGIN_R
    slot = plot_w / max(len(values), 1)
    bar_w = min(slot * 0.6, 60)
    for i, (label, value) in enumerate(zip(labels, values, strict=True)):
        cx = _MARGIN_L + slot * (i + 0.5)
        y = y_of(value)
        parts.append(
            f'<rect x="{cx - bar_w / 2:.1f}" y="{y:.1f}" width="{bar_w:.1f}" height="{y_of(0) - y:.1f}" '
            f'fill="{color(i)}"><title>{escape(label)}: {escape(fmt(value))}</title></rect>'
        )
        parts.append(f'<text x="{cx:.1f}" y="{y - 4:.1f}" text-anchor="middle">{escape(fmt(value))}</text>')
        whisker = ranges[i] if ranges else None
        if whisker is not None and whisker[0] != whisker[1]:
            lo, hi = y_of(whisker[0]), y_of(whisker[1])
            parts.append(f'<line x1="{cx:.1f}" x2="{cx:.1f}" y1="{lo:.1f}" y2="{hi:.1f}" stroke="#222"/>')
            for yy in (lo, hi):
                parts.append(
                    f'<line x1="{cx - 5:.1f}" x2="{cx + 5:.1f}" y1="{yy:.1f}" y2="{yy:.1f}" stroke="#222"/>'
                )
        parts.append(
            f'<text transform="translate({cx:.1f} {HEIGHT - _MARGIN_B + 14}) rotate(25)" '
            f'text-anchor="start">{escape(_short(label))}</text>'
        )
    parts.append("</svg>")
    return "\n".join(parts)


def scatter(
    title: str,
    points: Sequence[tuple[str, float, float]],
    *,
    x_label: str,
    y_label: str,
    y_max: float | None = None,
    fmt_x: Callable[[float], str] = _fmt,
    fmt_y: Callable[[float], str] = _fmt,
) -> str:
    """Labelled points (label, x, y): e.g. cost per run against detection rate."""
    parts = _svg_open(title)
    y_top = y_max if y_max is not None else (max((p[2] for p in points), default=0.0) * 1.15 or 1.0)
    y_of = _y_axis(parts, y_top, fmt_y, y_label)
    x_top = max((p[1] for p in points), default=0.0) * 1.15 or 1.0
    plot_w = WIDTH - _MARGIN_L - _MARGIN_R - 40

    def x_of(v: float) -> float:
        return _MARGIN_L + 20 + plot_w * (v / x_top)

    for i in range(5):
        v = x_top * i / 4
        parts.append(
            f'<text x="{x_of(v):.1f}" y="{HEIGHT - _MARGIN_B + 16}" text-anchor="middle">{escape(fmt_x(v))}</text>'
        )
    parts.append(
        f'<text x="{_MARGIN_L + plot_w / 2 + 20:.1f}" y="{HEIGHT - _MARGIN_B + 34}" text-anchor="middle">'
        f"{escape(x_label)}</text>"
    )
    for i, (label, x, y) in enumerate(points):
        px, py = x_of(x), y_of(y)
        parts.append(
            f'<circle cx="{px:.1f}" cy="{py:.1f}" r="6" fill="{color(i)}">'
            f"<title>{escape(label)}: {escape(fmt_x(x))}, {escape(fmt_y(y))}</title></circle>"
        )
        parts.append(f'<text x="{px + 9:.1f}" y="{py + 4:.1f}">{escape(_short(label))}</text>')
    parts.append("</svg>")
    return "\n".join(parts)


def _short(label: str, limit: int = 28) -> str:
    return label if len(label) <= limit else label[: limit - 1] + "…"
