"""The report's charts as data: grouped bars and a histogram, drawn as inline SVG (no JavaScript) by the macros
of ``eval_charts.svg.j2`` (``agent.render_html``), which escape every label.

:func:`bar_chart` and :func:`histogram` compute the coordinates; they return no markup.
"""

from __future__ import annotations

import math
from collections.abc import Sequence
from dataclasses import dataclass, field

PALETTE = ("#2f6db5", "#e07b39", "#3a9d5d", "#c23b4e", "#7d5ba6", "#8c6d31", "#1f9e9e", "#d4a017")


@dataclass
class Label:
    x: float
    y: float
    text: str
    size: int = 12
    anchor: str = "middle"


@dataclass
class Bar:
    x: float
    y: float
    width: float
    height: float
    color: str
    tip: str  # the bar's tooltip (its <title>)


@dataclass
class LegendEntry:
    x: float
    y: float
    color: str
    label: Label


@dataclass
class Grid:
    y: float
    label: Label


@dataclass
class Chart:
    """One SVG chart: its frame and title, then gridlines, legend, bars, labels and the x axis."""

    width: int
    height: int
    title: str
    left: int
    right_x: int
    axis_y: int
    grid: list[Grid] = field(default_factory=list)
    legend: list[LegendEntry] = field(default_factory=list)
    bars: list[Bar] = field(default_factory=list)
    labels: list[Label] = field(default_factory=list)
    empty: bool = False


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], title: str,
              width: int = 1100, height: int = 360, y_max: float = 1.0) -> Chart:
    """Grouped vertical bars: one group per category, one bar per series (None = no bar)."""
    left, right, top, bottom = 48, 16, 64, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    chart = Chart(width, height, title, left, width - right, top + plot_h)
    chart.legend = _legend([name for name, _ in series], left, 40, width - right)
    for i in range(5):
        tick = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        chart.grid.append(Grid(y, Label(left - 6, y + 4, f"{tick:g}", 11, "end")))
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for c, category in enumerate(categories):
        x0 = left + c * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[c]
            if value is None:
                continue
            h = plot_h * max(0.0, min(value, y_max)) / y_max
            chart.bars.append(Bar(x0 + s * bar_w, top + plot_h - h, bar_w * 0.9, h, PALETTE[s % len(PALETTE)],
                                  f"{category} · {name}: {value:.3f}"))
        chart.labels.append(Label(left + c * group_w + group_w / 2, height - bottom + 18, category))
    return chart


def histogram(values: Sequence[float], title: str, unit: str = "s", bins: int = 12,
              width: int = 1100, height: int = 260) -> Chart:
    """Counts of ``values`` in ``bins`` equal-width bins between their min and max."""
    left, right, top, bottom = 48, 16, 40, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    chart = Chart(width, height, title, left, width - right, top + plot_h)
    if not values:
        chart.empty = True
        chart.labels.append(Label(width / 2, height / 2, "no data"))
        return chart
    low, high = min(values), max(values)
    step = (high - low) / bins or 1.0
    counts = [0] * bins
    for v in values:
        counts[min(int((v - low) / step), bins - 1)] += 1
    peak = max(counts)
    bar_w = plot_w / bins
    for i, count in enumerate(counts):
        h = plot_h * count / peak
        x, y = left + i * bar_w, top + plot_h - h
        edge_lo, edge_hi = low + i * step, low + (i + 1) * step
        chart.bars.append(Bar(x + 1, y, bar_w - 2, h, PALETTE[0], f"{edge_lo:.3f}–{edge_hi:.3f} {unit}: {count}"))
        if count:
            chart.labels.append(Label(x + bar_w / 2, y - 4, str(count), 11))
        if i % max(1, math.ceil(bins / 6)) == 0:
            chart.labels.append(Label(x, height - bottom + 16, f"{edge_lo:.3f}", 11, "start"))
    chart.labels.append(Label(width - right, height - bottom + 16, f"{high:.3f}", 11, "end"))
    chart.labels.append(Label(left + plot_w / 2, height - 6, f"seconds per item ({len(values)} items)", 11))
    return chart


def _text_width(label: str, size: int = 12) -> float:
    """Rough rendered width of ``label`` (wide capitals, digits and symbols; narrow lowercase)."""
    return sum(0.72 if (c.isupper() or c.isdigit() or c in "@%&") else 0.3 if c == " " else 0.58 for c in label) * size


def _legend(names: Sequence[str], x: float, y: float, max_x: float) -> list[LegendEntry]:
    entries = []
    for i, name in enumerate(names):
        width = 34 + _text_width(name)
        if x + width > max_x:
            break
        entries.append(LegendEntry(x, y - 10, PALETTE[i % len(PALETTE)], Label(x + 16, y, name, 12, "start")))
        x += width
    return entries
