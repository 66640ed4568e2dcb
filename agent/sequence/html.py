"""``brief-D.html``: one self-contained page (inline CSS and SVG; no scripts, fonts or remote files).

All article text goes through ``html.escape`` after ``render.safe``; Arabic sits in
``dir="rtl" lang="ar"`` blocks; every ``[n]`` links to its source below, and sources
link to the article's URL when the store has an http(s) one. A Content-Security-Policy
lets the page load and run nothing but its inline styles. The picture is the whole sequence
known that day, one lane per event type, with the briefing's day highlighted.
"""

from __future__ import annotations

import datetime as dt
import html
import re

from agent.events.models import TYPE_LABELS, Disagreement, Event
from agent.render import safe
from agent.safety import CSP_META, http_link
from agent.sequence.brief import Brief
from agent.sequence.paragraphs import DERIVED_LABEL, SummarySentence, shown_parts

COLORS = {
    "call": "#2f6db5", "agreement": "#2a7a46", "ceasefire_start": "#7a5cc2", "ceasefire_collapse": "#c23b4e",
    "suspension": "#e07b39", "meeting": "#1f9aa5", "statement": "#777777",
}
HIGHLIGHT = "#f6d67a"
CSS = """
*{box-sizing:border-box}
body{margin:0;padding:24px 32px;font-family:"DejaVu Sans",Arial,sans-serif;color:#222;background:#f6f7f9;font-size:14px;line-height:1.5}
h1{font-size:22px;margin:0 0 4px}h2{font-size:18px;margin:26px 0 10px;border-bottom:2px solid #dde;padding-bottom:4px}
.meta{color:#555;margin:0 0 12px}
.card{background:#fff;border:1px solid #dde;border-radius:8px;padding:10px 14px;margin:10px 0}
.card h3{font-size:15px;margin:0 0 6px}.type{display:inline-block;border-radius:10px;padding:0 8px;color:#fff;font-size:12px;margin-right:6px}
.en{margin:4px 0}.ar{direction:rtl;text-align:right;font-size:17px;background:#fbfbfd;border-right:4px solid #2f6db5;padding:6px 10px;margin:6px 0}
.date{color:#666;font-size:12px}.warn{background:#fff4e5;border:1px solid #f0c27b;border-radius:6px;padding:6px 10px;margin:6px 0}
a.m{color:#2f6db5;text-decoration:none;font-weight:bold}.derived{color:#666;font-style:italic}
ol.src li{margin:6px 0}.src .ar{font-size:15px}
svg{background:#fff;border:1px solid #dde;border-radius:8px;max-width:100%;height:auto}
ul.changes li{margin:4px 0}
.sides{display:grid;grid-template-columns:repeat(auto-fit,minmax(280px,1fr));gap:10px;margin-top:8px}
.side{background:#fff;border:1px solid #f0c27b;border-radius:6px;padding:6px 10px}.side h4{margin:0 0 4px;font-size:14px}
.who{margin:6px 0 2px;font-size:13px}
.said{direction:rtl;text-align:right;font-size:15px;border-right:3px solid #e0a040;padding:2px 8px;margin:0 0 8px}
"""


def _e(text: object) -> str:
    return html.escape(safe(str(text) if text is not None else ""))


def _explained(text: str) -> str:
    """An English explanation with its quoted Arabic phrases isolated (so the line reads left to right)."""
    return re.sub(r"'([^']*[\u0600-\u06ff][^']*)'", r"'<bdi dir=\"rtl\">\1</bdi>'", _e(text).replace("&#x27;", "'"))


def _markers(numbers: list[int]) -> str:
    return "".join(f'<a class="m" href="#src-{n}">[{n}]</a>' for n in numbers)


def timeline_svg(brief: Brief, width: int = 1100) -> str:
    """The whole sequence known that day, then a close-up of the fortnight around it; the day highlighted."""
    points = brief.overview
    lanes = [t for t in TYPE_LABELS if any(p["type"] == t for p in points)] or ["call"]
    first = min([p["start"] for p in points] + [brief.date])
    last = max([p["end"] for p in points] + [brief.date])
    panel_h = 34 * len(lanes) + 60
    near = (brief.date - dt.timedelta(days=10), brief.date + dt.timedelta(days=4))
    parts = [
        f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{2 * panel_h}" viewBox="0 0 {width} {2 * panel_h}" '
        f'role="img" aria-label="timeline of the sequence, {brief.date} highlighted">',
        *_panel(brief, lanes, first, last, 0, width, "whole sequence", months=True),
        *_panel(brief, lanes, near[0], near[1], panel_h, width, "close-up", months=False),
        "</svg>",
    ]
    return "".join(parts)


def _panel(brief: Brief, lanes: list[str], first: dt.date, last: dt.date, y0: int, width: int, title: str,
           months: bool) -> list[str]:
    left, right, top, lane_h = 170, 60, y0 + 34, 34
    span = max((last - first).days, 1)

    def x(day: dt.date) -> float:
        return left + (width - left - right) * (min(max(day, first), last) - first).days / span

    parts = [
        f'<text x="10" y="{y0 + 16}" font-size="12" fill="#555">{_e(title)}: {first} – {last}</text>',
        f'<rect x="{x(brief.date) - 6:.1f}" y="{top - 12}" width="12" height="{lane_h * len(lanes) + 12}" fill="{HIGHLIGHT}"/>',
        f'<text x="{x(brief.date):.1f}" y="{top - 16}" text-anchor="middle" font-size="12" font-weight="bold">{brief.date}</text>',
    ]
    for i, lane in enumerate(lanes):
        y = top + lane_h * i + lane_h / 2
        parts.append(f'<text x="{left - 10}" y="{y + 4:.1f}" text-anchor="end" font-size="12">{_e(TYPE_LABELS[lane])}</text>')
        parts.append(f'<line x1="{left}" y1="{y:.1f}" x2="{width - right}" y2="{y:.1f}" stroke="#e3e6ec"/>')
    axis_y = top + lane_h * len(lanes) + 14
    ticks = _month_ticks(first, last) if months else [first + dt.timedelta(days=i) for i in range(span + 1)]
    for tick in ticks:
        label = f"{tick:%b %Y}" if months else f"{tick:%d}"
        parts.append(f'<line x1="{x(tick):.1f}" y1="{top - 4}" x2="{x(tick):.1f}" y2="{axis_y - 8}" stroke="#eef0f4"/>')
        parts.append(f'<text x="{x(tick):.1f}" y="{axis_y + 6}" font-size="11" fill="#555" text-anchor="middle">{label}</text>')
    chosen = set(brief.day_events) | set(brief.reported_events)
    for p in brief.overview:
        if p["end"] < first or p["start"] > last:
            continue
        y = top + lane_h * lanes.index(p["type"]) + lane_h / 2
        color = COLORS[p["type"]]
        stroke = ' stroke="#111" stroke-width="2"' if p["id"] in chosen else ""
        tip = f'<title>{_e(p["label"])}</title>'
        if p["start"] == p["end"]:
            radius = 7 if p["id"] in chosen else 5
            parts.append(f'<circle cx="{x(p["start"]):.1f}" cy="{y:.1f}" r="{radius}" fill="{color}"{stroke}>{tip}</circle>')
        else:
            w = max(x(p["end"]) - x(p["start"]), 6)
            parts.append(f'<rect x="{x(p["start"]):.1f}" y="{y - 5:.1f}" width="{w:.1f}" height="10" rx="4" fill="{color}" '
                         f'opacity="0.7"{stroke}>{tip}</rect>')
    return parts


def _month_ticks(first: dt.date, last: dt.date) -> list[dt.date]:
    ticks, month = [], dt.date(first.year, first.month, 1)
    while month <= last:
        if month >= first:
            ticks.append(month)
        month = dt.date(month.year + month.month // 12, month.month % 12 + 1, 1)
    return ticks


def _event_card(brief: Brief, event: Event) -> str:
    color = COLORS[event.type]
    who = f" · {_e(', '.join(event.participants))}" if event.participants else ""
    out = [
        f'<div class="card" id="{_e(event.id)}"><h3><span class="type" style="background:{color}">{_e(TYPE_LABELS[event.type])}</span>'
        f"{_e(event.date.label)}{who}</h3>",
        *(_paragraph(s, "en") for s in brief.english.get(event.id, [])),
        *(_paragraph(s, "ar") for s in brief.arabic.get(event.id, [])),
        f'<p class="date" dir="ltr">Date: {_explained(event.date.explanation)}</p>',
    ]
    for d in event.disagreements:
        versions = " | ".join(f"{_e(v.value)} {_markers(v.citations)}" for v in d.versions)
        sides = _sides(d) if d.field == "what_was_said" else ""
        out.append(f'<div class="warn"><b>Sources disagree ({_e(d.short)}):</b> {versions}{sides}</div>')
    out.append("</div>")
    return "".join(out)


def _paragraph(sentence: SummarySentence, lang: str) -> str:
    """An event's paragraph: English sentences (derived ones marked) or the Arabic label and quotes, each part with
    its linked markers."""
    parts = []
    for part in shown_parts(sentence):
        english = lang == "en" and part.text.endswith(".")  # markers before the sentence's period
        text = _e(part.text[:-1] if english else part.text)
        numbers = _markers(part.citations) if english else f'<span dir="ltr">{_markers(part.citations)}</span>'  # [1][2], not [2][1]
        parts.append(f"{text}{' ' if text else ''}{numbers}{'.' if english else ''}")
    body = " ".join(parts)
    if lang == "ar":
        lead = f"<b>{_e(sentence.lead)}:</b> " if sentence.lead else ""
        return f'<div class="ar" dir="rtl" lang="ar">{lead}{body}</div>'
    mark = f'<span class="derived">{_e(DERIVED_LABEL)}</span> ' if sentence.derived else ""
    return f'<p class="en" dir="ltr" lang="en">{mark}{body}</p>'


def _sides(dispute: Disagreement) -> str:
    """The sides' accounts side by side: one column per side; each account's source, claims and words verbatim."""
    columns = []
    for v in dispute.versions:
        accounts = "".join(
            f'<p class="who" dir="ltr" lang="en">{_e(a.source)} {_markers([a.citation])}: {_e(a.summary())}</p>'
            f'<div class="said" dir="rtl" lang="ar">«{_e(a.quote)}» {_markers([a.citation])}</div>'
            for a in v.accounts
        )
        columns.append(f'<div class="side"><h4>{_e(v.value)}</h4>{accounts}</div>')
    return f'<div class="sides">{"".join(columns)}</div>'


def brief_html(brief: Brief) -> str:
    window = f"published after {brief.since} up to {brief.date}" if brief.since else f"published on {brief.date}"
    body = [
        f"<h1>Daily briefing — {brief.date}</h1>",
        f'<p class="meta">Dalil · mode: {_e(brief.mode)} · articles {window} · knowledge as of {brief.date}</p>',
        timeline_svg(brief),
        f"<h2>Published ({len(brief.articles)})</h2><ul>",
    ]
    for a in brief.articles:
        link = http_link(a.url)  # only http(s): a javascript: or data: URL from front matter stays unlinked
        name = f'<a href="{_e(link)}">{_e(a.file)}</a>' if link else _e(a.file)
        events = ", ".join(f'<a href="#{_e(i)}">{_e(brief.event(i).date.label)} {_e(TYPE_LABELS[brief.event(i).type])}</a>' for i in a.events)
        body.append(f'<li><span dir="auto">{_e(a.outlet or "unknown outlet")}</span> · {a.published} · {name} — {events or "no dated event"}</li>')
    body.append(f"</ul><h2>Events of {brief.date}</h2>")
    if not brief.day_events:
        body.append(f"<p>No event dated {brief.date} is known from the articles published by then.</p>")
    body += [_event_card(brief, brief.event(i)) for i in brief.day_events]
    body.append('<h2>What changed</h2><ul class="changes">')
    body += [f'<li><a href="#{_e(c.event)}">{_e(c.text)}</a></li>' for c in brief.changes] or ["<li>Nothing new versus the previous day.</li>"]
    body.append("</ul>")
    earlier = [i for i in brief.reported_events if i not in brief.day_events]
    if earlier:
        body.append("<h2>Reported about earlier days</h2>")
        body += [_event_card(brief, brief.event(i)) for i in earlier]
    body.append('<h2>Sources</h2><ol class="src">')
    for c in brief.timeline.citations():
        body.append(
            f'<li id="src-{c.n}" value="{c.n}"><span dir="auto">{_e(c.outlet or "unknown outlet")}</span> · {_e(c.published)} · '
            f"{_e(c.file)} · chars {c.start}–{c.end}"
            f'<div class="ar" dir="rtl" lang="ar">«{_e(c.quote)}»</div></li>'
        )
    body.append("</ol>")
    body += [f'<p class="warn">note: {_e(w)}</p>' for w in brief.warnings]
    return (
        f'<!DOCTYPE html>\n<html lang="en"><head><meta charset="utf-8">{CSP_META}'
        f"<title>Daily briefing {brief.date}</title><style>{CSS}</style></head><body>\n" + "\n".join(body) + "\n</body></html>\n"
    )
