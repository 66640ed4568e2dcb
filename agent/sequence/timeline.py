"""The timeline: articles → reports (rules or LLM) → events in time order, cited.

``build_timeline`` is the one function behind ``dalil timeline``, ``summarize`` and
``brief``; ``print_timeline`` renders it for a terminal (article text made safe). Offline,
the reports come from the event index built at ingest (``agent.events.index``).
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Mapping
from typing import TYPE_CHECKING, cast

from rich.console import Console
from rich.text import Text

from agent.errors import DalilError
from agent.events.corpus import Article, Citer, load_articles
from agent.events.entities import EntityIndex
from agent.events.events import extract
from agent.events.grouping import group, renumber
from agent.events.models import TYPE_LABELS, Disagreement, Event, Report, Timeline
from agent.render import safe, source_label

if TYPE_CHECKING:
    from agent.answer.llm import ChatClient
    from agent.events.index import DocReports
    from agent.pipeline import Dalil
    from agent.schema import AnswerMode
    from agent.text.lexicon import Analyzer

MODE_LINES = {
    "extractive": "mode: extractive (no LLM): events found by rules, evidence quoted verbatim",
    "llm": "mode: llm: events extracted by the model, every quote and date checked against the article",
}


def sequence_mode(dalil: Dalil, requested: str | None) -> str:
    """extractive or llm: as asked, else llm when an endpoint is configured."""
    from agent.errors import DalilError

    if requested not in (None, "llm", "extractive"):
        raise DalilError(f"--mode must be llm or extractive, not {requested!r}")
    return dalil.answer_mode(cast("AnswerMode | None", requested))  # checked just above


def entity_index(dalil: Dalil) -> EntityIndex:
    from agent.events.index import entities_for

    return entities_for(dalil.analyzer, dalil.settings.lexicon)


def timeline_for(dalil: Dalil, mode: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None,
                 published_until: dt.date | None = None) -> Timeline:
    """The timeline of the store's articles (only those published by ``published_until``, if given)."""
    from agent.events.index import load_corpus

    if dalil.store.registry.is_empty():
        raise DalilError(f"the store at {dalil.settings.store.path} is empty: run `dalil ingest seeds` first")
    chosen = sequence_mode(dalil, mode)
    stored = None
    if chosen == "llm":  # the model reads the articles themselves
        articles, warnings = load_articles(dalil)
    else:  # the event index: the reports extracted at ingest
        corpus = load_corpus(dalil)
        articles, warnings, stored = corpus.articles, corpus.warnings, corpus.docs
    if published_until is not None:
        articles = [a for a in articles if a.published <= published_until]
    client = dalil.chat if chosen == "llm" else None
    return build_timeline(articles, dalil.analyzer, entity_index(dalil), client, date_from, date_to, warnings, stored=stored)


def build_timeline(articles: list[Article], analyzer: Analyzer, index: EntityIndex, client: ChatClient | None = None,
                   date_from: dt.date | None = None, date_to: dt.date | None = None,
                   warnings: list[str] | None = None, stored: Mapping[str, DocReports] | None = None) -> Timeline:
    """Events of ``articles`` whose dates overlap [date_from, date_to], citations numbered in timeline order.
    Offline, an article's reports are taken from ``stored`` (the event index, by doc_id) when it has them."""
    warnings = list(warnings or [])
    citer = Citer()
    reports: list[Report] = []
    degraded = False
    for article in articles:
        if client is not None:
            from agent.sequence.llm_events import llm_reports

            found, problems, fell_back = llm_reports(article, client, analyzer, index, citer)
            warnings.extend(problems)
            degraded = degraded or fell_back
        elif stored is not None and article.doc_id in stored:
            found = stored[article.doc_id].numbered(citer)
        else:
            found = extract(article, index, analyzer, citer)
        reports.extend(found)
    events = [e for e in group(reports, index) if e.date.overlaps(date_from, date_to)]
    renumber(events)
    return Timeline(
        mode="llm" if client is not None else "extractive", date_from=date_from, date_to=date_to, articles=len(articles),
        events=events, warnings=warnings, degraded=degraded,
    )


def markers(numbers: list[int]) -> str:
    return "".join(f"[{n}]" for n in numbers)


def clip(text: str, limit: int = 240) -> str:
    text = " ".join(safe(text).split())
    return text if len(text) <= limit else text[: limit - 1].rstrip() + "…"


def print_timeline(console: Console, timeline: Timeline) -> None:
    console.print(Text(MODE_LINES[timeline.mode], style="dim"))
    span = f" from {timeline.date_from or '…'} to {timeline.date_to or '…'}" if timeline.date_from or timeline.date_to else ""
    console.print(Text(f"{len(timeline.events)} events{span} from {timeline.articles} articles\n", style="bold"))
    if not timeline.events:
        console.print(Text("No events in this period.", style="yellow"))
    for event in timeline.events:
        print_event(console, event)
    print_citations(console, timeline)
    for warning in timeline.warnings:
        console.print(Text(f"note: {safe(warning)}", style="yellow"))


def print_event(console: Console, event: Event) -> None:
    head = Text(f"{event.date.label}  ", style="bold")
    head.append(TYPE_LABELS[event.type], style="bold cyan")
    if event.participants:
        head.append(" · " + " – ".join(event.participants))
    head.append("  " + markers(event.citation_numbers), style="cyan")
    console.print(head)
    console.print(Text(f"  {event.what_en}"))
    console.print(Text(f"  «{clip(event.what_ar)}»"))
    console.print(Text(f"  date: {safe(event.date.explanation)}", style="dim"))
    for d in event.disagreements:
        line = Text(f"  ⚠ disagreement ({d.short}): ", style="bold yellow")
        line.append(" | ".join(f"{v.value} {markers(v.citations)}" for v in d.versions), style="yellow")
        console.print(line)
        if d.field == "what_was_said":
            print_accounts(console, d)
    for flag in event.flags:
        if not flag.startswith("sources disagree"):
            console.print(Text(f"  ⚠ {safe(flag)}", style="yellow"))
    for report in event.reports:
        c = report.citations[0]
        line = Text(f"  [{c.n}] {source_label(c.published, c.outlet, c.file)}", style="dim")
        extra = [f"date: {report.date.basis}"]
        if report.initiator:
            extra.append(f"initiator: {report.initiator}")
        if report.reported_by:
            extra.append(f"per {report.reported_by}")
        if report.reported_on and report.reported_on.date:
            extra.append(f"reported {report.reported_on.date}")
        extra += [f"{p.holder} {p.stance}" + (f" (to {p.addressee})" if p.addressee else "") for p in report.positions]
        line.append(" · " + "; ".join(safe(x) for x in extra), style="dim")
        console.print(line)
    console.print()


def print_accounts(console: Console, dispute: Disagreement) -> None:
    """Each side's accounts, one version after the other: source, claims, the words verbatim."""
    for version in dispute.versions:
        console.print(Text(f"    {version.value}:", style="bold yellow"))
        for a in version.accounts:
            line = Text(f"      [{a.citation}] {safe(a.source)}", style="yellow")
            line.append(f": {safe(a.summary())}")
            console.print(line)
            console.print(Text(f"        «{' '.join(safe(a.quote).split())}»"))


def print_citations(console: Console, timeline: Timeline) -> None:
    citations = timeline.citations()
    if not citations:
        return
    console.print(Text("Sources", style="bold"))
    for c in citations:
        line = Text(f"[{c.n}] ", style="bold cyan")
        line.append(source_label(c.published, c.outlet, c.file), style="cyan")
        line.append(f"  chars {c.start}–{c.end}\n    «{safe(c.quote)}»")
        console.print(line)
