"""Inline SVG charts for the HTML report: grouped bars and a histogram, no JavaScript.

Every label is escaped; the SVG is returned as a string to be embedded as is.
"""

from __future__ import annotations

import html
import math
from collections.abc import Sequence

PALETTE = ("#2f6db5", "#e07b39", "#3a9d5d", "#c23b4e", "#7d5ba6", "#8c6d31", "#1f9e9e", "#d4a017")
_FONT = 'font-family="DejaVu Sans, Arial, sans-serif"'


def _text(x: float, y: float, label: str, size: int = 12, anchor: str = "middle", extra: str = "") -> str:
    return (f'<text x="{x:.1f}" y="{y:.1f}" font-size="{size}" text-anchor="{anchor}" {_FONT} fill="#333" {extra}>'
            f"{html.escape(label)}</text>")


def bar_chart(categories: Sequence[str], series: Sequence[tuple[str, Sequence[float | None]]], title: str,
              width: int = 1100, height: int = 360, y_max: float = 1.0) -> str:
    """Grouped vertical bars: one group per category, one bar per series (None = no bar)."""
    left, right, top, bottom = 48, 16, 64, 40
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [_svg_open(width, height, title), _text(left, 20, title, 15, "start", 'font-weight="bold"')]
    parts += _legend([name for name, _ in series], left, 40, width - right)
    for i in range(5):
        tick = y_max * i / 4
        y = top + plot_h - plot_h * i / 4
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#ddd"/>')
        parts.append(_text(left - 6, y + 4, f"{tick:g}", 11, "end"))
    group_w = plot_w / max(len(categories), 1)
    bar_w = group_w * 0.8 / max(len(series), 1)
    for c, category in enumerate(categories):
        x0 = left + c * group_w + group_w * 0.1
        for s, (name, values) in enumerate(series):
            value = values[c]
            if value is None:
                continue
            h = plot_h * max(0.0, min(value, y_max)) / y_max
            x, y = x0 + s * bar_w, top + plot_h - h
            color = PALETTE[s % len(PALETTE)]
            parts.append(f'<rect x="{x:.1f}" y="{y:.1f}" width="{bar_w * 0.9:.1f}" height="{h:.1f}" fill="{color}">'
                         f"<title>{html.escape(f'{category} · {name}: {value:.3f}')}</title></rect>")
        parts.append(_text(left + c * group_w + group_w / 2, height - bottom + 18, category))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


def histogram(values: Sequence[float], title: str, unit: str = "s", bins: int = 12,
              width: int = 1100, height: int = 260) -> str:
    """Counts of ``values`` in ``bins`` equal-width bins between their min and max."""
    left, right, top, bottom = 48, 16, 40, 44
    plot_w, plot_h = width - left - right, height - top - bottom
    parts = [_svg_open(width, height, title), _text(left, 20, title, 15, "start", 'font-weight="bold"')]
    if not values:
        parts += [_text(width / 2, height / 2, "no data"), "</svg>"]
        return "".join(parts)
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
        parts.append(f'<rect x="{x + 1:.1f}" y="{y:.1f}" width="{bar_w - 2:.1f}" height="{h:.1f}" fill="{PALETTE[0]}">'
                     f"<title>{edge_lo:.3f}–{edge_hi:.3f} {html.escape(unit)}: {count}</title></rect>")
        if count:
            parts.append(_text(x + bar_w / 2, y - 4, str(count), 11))
        if i % max(1, math.ceil(bins / 6)) == 0:
            parts.append(_text(x, height - bottom + 16, f"{edge_lo:.3f}", 11, "start"))
    parts.append(_text(width - right, height - bottom + 16, f"{high:.3f}", 11, "end"))
    parts.append(_text(left + plot_w / 2, height - 6, f"seconds per item ({len(values)} items)", 11))
    parts.append(f'<line x1="{left}" y1="{top + plot_h}" x2="{width - right}" y2="{top + plot_h}" stroke="#888"/>')
    parts.append("</svg>")
    return "".join(parts)


def _text_width(label: str, size: int = 12) -> float:
    """Rough rendered width of ``label`` (wide capitals, digits and symbols; narrow lowercase)."""
    return sum(0.72 if (c.isupper() or c.isdigit() or c in "@%&") else 0.3 if c == " " else 0.58 for c in label) * size


def _svg_open(width: int, height: int, title: str) -> str:
    return (f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height}" viewBox="0 0 {width} {height}" '
            f'role="img" aria-label="{html.escape(title)}">')


def _legend(names: Sequence[str], x: float, y: float, max_x: float) -> list[str]:
    parts = []
    for i, name in enumerate(names):
        width = 34 + _text_width(name)
        if x + width > max_x:
            break
        parts.append(f'<rect x="{x:.1f}" y="{y - 10:.1f}" width="12" height="12" fill="{PALETTE[i % len(PALETTE)]}"/>')
        parts.append(_text(x + 16, y, name, 12, "start"))
        x += width
    return parts
