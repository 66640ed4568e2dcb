"""The daily briefing: what one day's articles report, that day's events, what changed.

A briefing for day D only uses articles published on or before D, so re-running it later
gives the same page. Its window is the articles published on D (or, with ``since``, after
that day up to D). Files: ``brief-D.md`` and ``brief-D.html`` (written atomically).

Exit codes of ``dalil brief`` (for cron): 0 written; 3 written, but LLM mode fell back to the
offline rules for part of it; 4 nothing was published in the window (nothing written);
1 error (nothing written); 2 bad usage.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import tempfile
from pathlib import Path
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, field_validator

from agent.errors import DalilError
from agent.events.corpus import Article
from agent.events.grouping import people_overlap, renumber, same_time
from agent.events.index import Corpus, load_corpus, with_texts
from agent.events.models import TYPE_LABELS, Disagreement, Event, Timeline
from agent.safety import markdown_text
from agent.sequence.paragraphs import DERIVED_LABEL, SummarySentence, pairs, paragraph_text
from agent.sequence.timeline import build_timeline, entity_index, markers, sequence_mode

if TYPE_CHECKING:
    from agent.pipeline import Dalil

EXIT_WRITTEN, EXIT_ERROR, EXIT_DEGRADED, EXIT_NOTHING = 0, 1, 3, 4
_BRIEF_FILE = re.compile(r"^brief-(\d{4}-\d{2}-\d{2})\.(?:md|html)$")


class BriefArticle(BaseModel):
    file: str
    doc_id: str
    outlet: str | None
    published: dt.date
    url: str | None = None
    events: list[str] = Field(default_factory=list, description="ids of the events it reports")


class Change(BaseModel):
    kind: Literal["new", "new_reports", "disagreement", "date"]
    event: str
    text: str


class Brief(BaseModel):
    date: dt.date
    since: dt.date | None = Field(description="window: articles published after this day (None: on the day only)")
    mode: Literal["extractive", "llm"]
    articles: list[BriefArticle]
    day_events: list[str] = Field(description="ids of events dated on the day")
    reported_events: list[str] = Field(description="ids of events the window's articles report")
    changes: list[Change]
    arabic: dict[str, list[SummarySentence]] = Field(
        default_factory=dict, description="event id → its Arabic paragraphs: its label, then verbatim quotes, each once in the briefing")
    english: dict[str, list[SummarySentence]] = Field(
        default_factory=dict, description="event id → its English paragraphs: sentences derived from its facts (LLM: the model's)")
    timeline: Timeline = Field(description="the events of this briefing, citations numbered for it")
    overview: list[dict] = Field(default_factory=list, description="every event known that day (for the picture)")
    warnings: list[str] = Field(default_factory=list)
    degraded: bool = False

    @field_validator("overview")
    @classmethod
    def _dates(cls, points: list[dict]) -> list[dict]:
        """Its days as dates again when read back from JSON (a server's briefing written by its client)."""
        return [{**p, **{k: dt.date.fromisoformat(p[k]) for k in ("start", "end") if isinstance(p.get(k), str)}} for p in points]

    def event(self, event_id: str) -> Event:
        return next(e for e in self.timeline.events if e.id == event_id)


def previous_brief(out_dir: Path, day: dt.date) -> dt.date | None:
    """The latest briefing already written in ``out_dir`` before ``day``."""
    days = []
    if out_dir.is_dir():
        for path in out_dir.iterdir():
            m = _BRIEF_FILE.match(path.name)
            if m and dt.date.fromisoformat(m.group(1)) < day:
                days.append(dt.date.fromisoformat(m.group(1)))
    return max(days, default=None)


def build_brief(dalil: Dalil, day: dt.date, since: dt.date | None = None, mode: str | None = None) -> Brief | None:
    """The briefing for ``day`` (None when nothing was published in the window)."""
    if since is not None and since >= day:
        raise DalilError("--since must be before --date")
    corpus = load_corpus(dalil)  # the event index: the articles (text left out) and their reports
    if not corpus.documents:
        raise DalilError(f"the store at {dalil.settings.store.path} is empty: run `dalil ingest seeds` first")
    known = [a for a in corpus.articles if a.published <= day]
    start = since or day - dt.timedelta(days=1)
    window = [a for a in known if a.published > start]
    if not window:
        return None
    chosen = sequence_mode(dalil, mode)
    try:
        return _brief(dalil, day, since, known, window, chosen, corpus)
    except DalilError as exc:
        if chosen != "llm":
            raise
        brief = _brief(dalil, day, since, known, window, "extractive", corpus)
        brief.degraded = True
        brief.warnings.insert(0, f"LLM mode failed ({exc}); this briefing was made offline")
        return brief


def _brief(dalil: Dalil, day: dt.date, since: dt.date | None, known: list[Article], window: list[Article], mode: str,
           corpus: Corpus) -> Brief:
    index = entity_index(dalil)
    client = dalil.chat if mode == "llm" else None
    read = with_texts(dalil, known) if client is not None else known  # the model reads the articles themselves
    full = build_timeline(read, dalil.analyzer, index, client, warnings=corpus.warnings, stored=corpus.docs)
    start = since or day - dt.timedelta(days=1)
    before = build_timeline([a for a in known if a.published <= start], dalil.analyzer, index, None, stored=corpus.docs)
    window_ids = {a.doc_id for a in window}
    reported = [e for e in full.events if any(r.doc_id in window_ids for r in e.reports)]
    on_day = [e for e in full.events if e.date.granularity == "day" and e.date.date == day]
    chosen = [e for e in full.events if e in reported or e in on_day]
    timeline = full.model_copy(update={"events": [e.model_copy(deep=True) for e in chosen]})
    renumber(timeline.events)
    brief = Brief(
        date=day, since=since, mode=full.mode,
        articles=[
            BriefArticle(file=a.file, doc_id=a.doc_id, outlet=a.outlet, published=a.published, url=a.url,
                         events=[e.id for e in reported if any(r.doc_id == a.doc_id for r in e.reports)])
            for a in window
        ],
        day_events=[e.id for e in on_day], reported_events=[e.id for e in reported],
        changes=_changes(reported, before.events, index, window_ids), timeline=timeline,
        overview=[{"id": e.id, "type": e.type, "start": e.date.start, "end": e.date.end, "label": e.date.label} for e in full.events],
        warnings=list(full.warnings), degraded=full.degraded,
    )
    shown = [e for e in timeline.events if e.id in brief.day_events] + [e for e in timeline.events if e.id not in brief.day_events]
    for ar, en in pairs(timeline.model_copy(update={"events": shown}), dalil.analyzer):  # quoted once, in the page's order
        brief.arabic.setdefault(ar.event, []).append(ar)
        brief.english.setdefault(en.event, []).append(en)
    if client is not None and timeline.events:
        from agent.sequence.summary import summarize

        summary = summarize(timeline, dalil.analyzer, client)
        if summary.mode == "llm":
            written: dict[str, list[SummarySentence]] = {}
            for sentence in summary.english:
                if sentence.supported:
                    written.setdefault(sentence.event, []).append(sentence)
            brief.english.update(written)
        brief.warnings.extend(w for w in summary.warnings if w not in brief.warnings)
        brief.degraded = brief.degraded or summary.degraded
    return brief


def _changes(reported: list[Event], earlier: list[Event], index, window_ids: set[str]) -> list[Change]:
    """New events, new reports of known events, new disagreements and revised dates versus the day before."""
    changes = []
    for event in reported:
        old = next((o for o in earlier if o.type == event.type and same_time(o.date, event.date)
                    and people_overlap(o.participants, event.participants, index)), None)
        label = f"{event.date.spoken}, {TYPE_LABELS[event.type]}"
        if old is None:
            changes.append(Change(kind="new", event=event.id, text=f"New event, {event.date.spoken}: {event.what_en}"))
            continue
        fresh = [r for r in event.reports if r.doc_id in window_ids]
        if fresh:
            outlets = ", ".join(dict.fromkeys(r.outlet or r.file for r in fresh))
            changes.append(Change(kind="new_reports", event=event.id, text=f"More reports of {label}: {outlets}"))
        known = {d.field for d in old.disagreements}
        for d in event.disagreements:
            if d.field not in known:
                changes.append(Change(kind="disagreement", event=event.id, text=f"Sources now disagree about {d.label} ({label}): {d.note}"))
        if old.date.date != event.date.date:
            changes.append(Change(kind="date", event=event.id, text=f"Date revised: {old.date.label} → {event.date.label}"))
    return changes


# ---------------------------------------------------------------------- files


def write_atomic(path: Path, text: str) -> None:
    """Write ``text`` so that a reader (or a crash) never sees half a file."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=f".{path.name}.", dir=path.parent)
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as handle:
            handle.write(text)
        mask = os.umask(0)
        os.umask(mask)
        os.chmod(tmp, 0o666 & ~mask)  # mkstemp makes 0600; a briefing is meant to be read by others
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


def _esc(text: str | None) -> str:
    """Untrusted text for the Markdown briefing: markup escaped, control and bidi characters removed, non-http links broken."""
    return markdown_text(text or "")


def brief_markdown(brief: Brief) -> str:
    """The briefing as Markdown (Arabic quotes in ``dir="rtl"`` blocks)."""
    lines = [f"# Daily briefing — {brief.date}", ""]
    window = f"published after {brief.since} up to {brief.date}" if brief.since else f"published on {brief.date}"
    lines.append(f"_Dalil · mode: {brief.mode} · articles {window} · knowledge as of {brief.date}_")
    lines += ["", f"## Published ({len(brief.articles)} article{'s' if len(brief.articles) != 1 else ''})", ""]
    for a in brief.articles:
        reported = ", ".join(f"{brief.event(i).date.label} {TYPE_LABELS[brief.event(i).type]}" for i in a.events) or "no dated event"
        lines.append(f"- {_esc(a.outlet or 'unknown outlet')} · {a.published} · `{_esc(a.file)}` — {reported}")
    lines += ["", f"## Events of {brief.date}", ""]
    if not brief.day_events:
        lines.append(f"No event dated {brief.date} is known from the articles published by then.")
    for event_id in brief.day_events:
        lines += _md_event(brief, brief.event(event_id))
    lines += ["", "## What changed", ""]
    lines += [f"- {_esc(c.text)}" for c in brief.changes] or ["- Nothing new versus the previous day."]
    earlier = [i for i in brief.reported_events if i not in brief.day_events]
    if earlier:
        lines += ["", "## Reported about earlier days", ""]
        for event_id in earlier:
            lines += _md_event(brief, brief.event(event_id))
    lines += ["", "## Sources", ""]
    for c in brief.timeline.citations():
        lines.append(f"{c.n}. {_esc(c.outlet or 'unknown outlet')} · {c.published} · `{_esc(c.file)}` chars {c.start}–{c.end}")
        lines.append(f'   <div dir="rtl" lang="ar">«{_esc(c.quote)}»</div>')
    for w in brief.warnings:
        lines.append(f"\n> note: {_esc(w)}")
    return "\n".join(lines) + "\n"


def _md_event(brief: Brief, event: Event) -> list[str]:
    out = [f"### {event.date.label} · {TYPE_LABELS[event.type]}" + (f" · {_esc(', '.join(event.participants))}" if event.participants else ""), ""]
    for en in brief.english.get(event.id, []):
        out += [(f"_{DERIVED_LABEL}_ " if en.derived else "") + _esc(paragraph_text(en)), ""]
    out += [f'<div dir="rtl" lang="ar">{_esc(paragraph_text(ar))}</div>' for ar in brief.arabic.get(event.id, [])]
    out.append("")
    out.append(f"_Date: {_esc(event.date.explanation)}_")
    for d in event.disagreements:
        out.append(f"\n**Sources disagree ({d.short}):** " + " | ".join(f"{_esc(v.value)} {markers(v.citations)}" for v in d.versions))
        if d.field == "what_was_said":
            out += ["", _md_accounts(d)]
    out.append("")
    return out


def _md_accounts(dispute: Disagreement) -> str:
    """The sides' accounts side by side: one column per side, each account with its source, claims and quote."""
    head = "".join(f"<th>{_esc(v.value)}</th>" for v in dispute.versions)
    cells = []
    for v in dispute.versions:
        parts = [
            f"<p>{_esc(a.source)} {markers([a.citation])}: {_esc(a.summary())}</p>"
            f'<div dir="rtl" lang="ar">«{_esc(" ".join(a.quote.split()))}» {markers([a.citation])}</div>'
            for a in v.accounts
        ]
        cells.append('<td valign="top">' + "".join(parts) + "</td>")
    return f"<table><tr>{head}</tr><tr>{''.join(cells)}</tr></table>"
