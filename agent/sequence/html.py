"""``brief-D.html`` and the summary's page (``dalil summarize --format html``): self-contained pages (inline CSS
and SVG; no scripts, fonts or remote files).

Rendered by ``agent.render_html`` from ``brief.html.j2`` (its picture: ``brief_timeline.svg.j2``) and
``summary.html.j2``, which share the paragraphs, markers, sources and CSS of ``macros.html.j2``; this
module hands the templates the documents and what they cannot compute themselves: each paragraph's parts, the
date explanations' Arabic phrases, the picture's coordinates, the articles' http(s) links. All text is
escaped by the template (after ``render.safe``); Arabic sits in ``dir="rtl" lang="ar"`` blocks; every
``[n]`` links to its source below, and sources link to the article's URL when the store has an http(s)
one. A Content-Security-Policy lets the page load and run nothing but its inline styles. The picture
is the whole sequence known that day, one lane per event type, with the briefing's day highlighted.
"""

from __future__ import annotations

import datetime as dt
import re
from dataclasses import dataclass, field

from agent.events.models import TYPE_LABELS
from agent.render import safe
from agent.render_html import render_html
from agent.sequence.brief import Brief
from agent.sequence.paragraphs import DERIVED_LABEL, SummarySentence, shown_parts
from agent.sequence.summary import Summary

COLORS = {
    "call": "#2f6db5", "agreement": "#2a7a46", "ceasefire_start": "#7a5cc2", "ceasefire_collapse": "#c23b4e",
    "suspension": "#e07b39", "meeting": "#1f9aa5", "statement": "#777777",
}
HIGHLIGHT = "#f6d67a"
_QUOTED_ARABIC = re.compile(r"'([^']*[\u0600-\u06ff][^']*)'")


@dataclass
class Part:
    """One sentence of a paragraph: its text and markers; ``period``: an English sentence, its markers before its period."""

    text: str
    citations: list[int]
    period: bool


@dataclass
class Paragraph:
    lang: str
    parts: list[Part]
    lead: str | None = None
    derived: bool = False
    problems: list[str] = field(default_factory=list)  # why its citations do not support it (flagged on the page)


@dataclass
class Lane:
    label: str
    y: float


@dataclass
class Tick:
    x: float
    label: str


@dataclass
class Mark:
    """One event in a panel: a dot (one day) or a bar (a period)."""

    x: float
    y: float
    width: float | None  # None: a dot
    color: str
    chosen: bool
    label: str


@dataclass
class Panel:
    title: str
    first: dt.date
    last: dt.date
    y0: int
    top: int
    day_x: float
    band_height: int
    left: int
    right_x: int
    axis_y: int
    lanes: list[Lane] = field(default_factory=list)
    ticks: list[Tick] = field(default_factory=list)
    marks: list[Mark] = field(default_factory=list)


@dataclass
class Picture:
    date: dt.date
    width: int
    height: int
    highlight: str
    panels: list[Panel]


def timeline_picture(brief: Brief, width: int = 1100) -> Picture:
    """The whole sequence known that day, then a close-up of the fortnight around it; the day highlighted."""
    points = brief.overview
    lanes = [t for t in TYPE_LABELS if any(p["type"] == t for p in points)] or ["call"]
    first = min([p["start"] for p in points] + [brief.date])
    last = max([p["end"] for p in points] + [brief.date])
    panel_h = 34 * len(lanes) + 60
    near = (brief.date - dt.timedelta(days=10), brief.date + dt.timedelta(days=4))
    return Picture(date=brief.date, width=width, height=2 * panel_h, highlight=HIGHLIGHT, panels=[
        _panel(brief, lanes, first, last, 0, width, "whole sequence", months=True),
        _panel(brief, lanes, near[0], near[1], panel_h, width, "close-up", months=False),
    ])


def _panel(brief: Brief, lanes: list[str], first: dt.date, last: dt.date, y0: int, width: int, title: str,
           months: bool) -> Panel:
    left, right, top, lane_h = 170, 60, y0 + 34, 34
    span = max((last - first).days, 1)

    def x(day: dt.date) -> float:
        return left + (width - left - right) * (min(max(day, first), last) - first).days / span

    panel = Panel(title=title, first=first, last=last, y0=y0, top=top, day_x=x(brief.date), band_height=lane_h * len(lanes) + 12,
                  left=left, right_x=width - right, axis_y=top + lane_h * len(lanes) + 14)
    panel.lanes = [Lane(TYPE_LABELS[lane], top + lane_h * i + lane_h / 2) for i, lane in enumerate(lanes)]
    ticks = _month_ticks(first, last) if months else [first + dt.timedelta(days=i) for i in range(span + 1)]
    panel.ticks = [Tick(x(tick), f"{tick:%b %Y}" if months else f"{tick:%d}") for tick in ticks]
    chosen = set(brief.day_events) | set(brief.reported_events)
    for p in brief.overview:
        if p["end"] < first or p["start"] > last:
            continue
        y = top + lane_h * lanes.index(p["type"]) + lane_h / 2
        width_ = None if p["start"] == p["end"] else max(x(p["end"]) - x(p["start"]), 6)
        panel.marks.append(Mark(x(p["start"]), y, width_, COLORS[p["type"]], p["id"] in chosen, p["label"]))
    return panel


def _month_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    ticks, month = [], dt.date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            ticks.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return ticks


def explained(text: str) -> list[tuple[str, bool]]:
    """An English explanation in pieces, ``True`` for its quoted Arabic phrases (isolated right to left, so the
    line reads left to right); the quotes stay outside the pieces."""
    pieces = _QUOTED_ARABIC.split(safe(text))
    return [(piece, i % 2 == 1) for i, piece in enumerate(pieces) if piece]


def paragraph(sentence: SummarySentence, lang: str, flagged: bool = False) -> Paragraph:
    """An event's paragraph: English sentences (derived ones marked) or the Arabic label and quotes, each part with
    its markers; ``flagged``: an unsupported one carries its problems (the summary shows them, as its Markdown does)."""
    parts = []
    for part in shown_parts(sentence):
        english = lang == "en" and part.text.endswith(".")  # markers before the sentence's period
        parts.append(Part(part.text[:-1] if english else part.text, part.citations, english))
    return Paragraph(lang, parts, lead=sentence.lead if lang == "ar" else None, derived=lang == "en" and sentence.derived,
                     problems=[] if sentence.supported or not flagged else sentence.problems or ["not supported by its citations"])


def brief_html(brief: Brief) -> str:
    return render_html(
        "brief.html.j2",
        brief=brief,
        picture=timeline_picture(brief),
        paragraphs={event_id: [paragraph(s, "en") for s in brief.english.get(event_id, [])]
                    + [paragraph(s, "ar") for s in brief.arabic.get(event_id, [])]
                    for event_id in [*brief.day_events, *brief.reported_events]},
        explanations={e.id: explained(e.date.explanation) for e in brief.timeline.events},
        earlier=[i for i in brief.reported_events if i not in brief.day_events],
        citations=brief.timeline.citations(),
        type_labels=TYPE_LABELS,
        colors=COLORS,
        derived_label=DERIVED_LABEL,
    )


def summary_html(summary: Summary) -> str:
    """``dalil summarize --format html``: the Arabic section right to left, the English one (derived sentences marked),
    every ``[n]`` a link to its source below; the same page frame, CSS and Content-Security-Policy as the briefing."""
    span = f" ({summary.date_from or '…'} – {summary.date_to or '…'})" if summary.date_from or summary.date_to else ""
    return render_html(
        "summary.html.j2",
        summary=summary,
        arabic=[paragraph(s, "ar", flagged=True) for s in summary.arabic],
        english=[paragraph(s, "en", flagged=True) for s in summary.english],
        span=span,
        derived_label=DERIVED_LABEL,
    )
