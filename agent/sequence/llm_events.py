"""LLM event extraction: one article → the model's JSON (``prompts/events.txt``) → checked ``Report``s.

The reply is validated with pydantic; every quote must be found in the article (exact, or
after normalization) and every date phrase is re-resolved by ``agent.text.dates`` — the
resolver's day wins over the model's. A reply that is not valid JSON falls back to the
offline rules for that article, with a warning.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import Literal

from pydantic import BaseModel, Field, ValidationError

from agent.answer.generate import fence
from agent.answer.llm import ChatClient, load_prompt
from agent.events.corpus import Article, Citer
from agent.events.entities import EntityIndex
from agent.events.events import extract
from agent.events.models import Account, DateBasis, EventDate, Position, Report
from agent.events.textmap import NormText
from agent.events.when import article_dates, event_date, undated
from agent.text import arabic
from agent.text.dates import WEEKDAY_NAMES, ResolvedDate
from agent.text.lexicon import Analyzer

MAX_TOKENS = 2000


class LLMPosition(BaseModel):
    holder: str
    stance: str = "said"
    addressee: str | None = None


class LLMAccount(BaseModel):
    """One side's or source's account of what was said, as the model reads it."""

    attribution: str = Field(min_length=1, max_length=200)
    side: str | None = Field(default=None, max_length=100)
    quote: str = Field(min_length=1)
    topics: list[str] = Field(default_factory=list)
    positions: list[LLMPosition] = Field(default_factory=list)


class LLMEvent(BaseModel):
    type: Literal["call", "agreement", "ceasefire_start", "ceasefire_collapse", "suspension", "meeting", "statement"]
    date: dt.date | None = None
    date_phrase: str | None = None
    date_basis: Literal["stated", "report_day", "not_stated"] = "stated"
    participants: list[str] = Field(default_factory=list)
    initiator: str | None = None
    initiator_quote: str | None = None
    reported_by: str | None = None
    topics: list[str] = Field(default_factory=list)
    positions: list[LLMPosition] = Field(default_factory=list)
    accounts: list[LLMAccount] = Field(default_factory=list)
    quote: str = Field(min_length=1)


class LLMEvents(BaseModel):
    events: list[LLMEvent]


def parse_events(text: str) -> LLMEvents:
    """The model's reply as ``LLMEvents``; raises ValueError when it is not the asked-for JSON."""
    match = re.search(r"\{.*\}", text, re.DOTALL)
    if not match:
        raise ValueError("no JSON object in the reply")
    try:
        return LLMEvents.model_validate(json.loads(match.group(0)))
    except json.JSONDecodeError as exc:
        raise ValueError(f"invalid JSON: {exc.msg}") from None
    except ValidationError as exc:
        first = exc.errors()[0]
        raise ValueError(f"{'.'.join(map(str, first['loc']))}: {first['msg']}") from None


def find_quote(article: Article, nt: NormText, quote: str) -> tuple[int, int] | None:
    """Offsets of ``quote`` in the article: exact, else after normalization and whitespace folding."""
    quote = quote.strip().strip("«»\"“”").strip()
    if not quote:
        return None
    at = article.text.find(quote)
    if at >= 0:
        return at, at + len(quote)
    words = arabic.normalize(quote).split()
    m = re.compile(r"\s+".join(map(re.escape, words))).search(nt.norm) if words else None
    return nt.to_original(m.start(), m.end()) if m else None


def llm_reports(article: Article, client: ChatClient, analyzer: Analyzer, index: EntityIndex,
                citer: Citer) -> tuple[list[Report], list[str], bool]:
    """Reports of ``article`` from the model (or from the rules when its reply is unusable), warnings, fell back."""
    prompt = load_prompt("events.txt").format(
        file=article.file, outlet=fence(article.outlet or "unknown"), published=article.published,
        weekday=WEEKDAY_NAMES[article.published.weekday()], article=fence(article.text),
    )
    completion = client.complete([{"role": "user", "content": prompt}], max_tokens=max(client.settings.max_tokens, MAX_TOKENS))
    try:
        events = parse_events(completion.text)
    except ValueError as exc:
        warning = f"{article.file}: the model's events could not be used ({exc}); the offline rules were used for this article"
        return extract(article, index, analyzer, citer), [warning], True
    nt = NormText(article.text)
    dates = article_dates(article, nt)
    reports, warnings = [], []
    for event in events.events:
        span = find_quote(article, nt, event.quote)
        if span is None:
            warnings.append(f"{article.file}: dropped a {event.type} event whose quote is not in the article: {event.quote[:60]!r}")
            continue
        report = _report(article, event, span, dates, analyzer, index, citer)
        warnings.extend(_accounts(report, article, nt, event, index, citer))
        reports.append(report)
    return reports, warnings, False


def _date(article: Article, event: LLMEvent, span: tuple[int, int], dates: list[ResolvedDate]) -> tuple[EventDate, list[str]]:
    """The resolver's reading of the model's date phrase (nearest the quote); the model's date only as a last resort."""
    flags: list[str] = []
    phrase = " ".join(arabic.normalize(event.date_phrase or "").split())
    matches = [d for d in dates if phrase and (phrase in " ".join(arabic.normalize(d.phrase).split()) or
                                                " ".join(arabic.normalize(d.phrase).split()) in phrase)]
    if matches:
        best = min(matches, key=lambda d: 0 if span[0] <= d.start < span[1] else min(abs(d.start - span[0]), abs(d.start - span[1])))
        basis: DateBasis = "report_day" if event.date_basis == "report_day" else "stated"
        when = event_date(best, basis, article)
        if event.date and best.date and event.date != best.date:
            flags.append(f"the model dated it {event.date}; the resolver reads '{best.phrase}' as {best.date} (used)")
        return when, flags
    if event.date:
        return EventDate(
            date=event.date, start=event.date, end=event.date, basis="model", file=article.file, published=article.published,
            offset_days=(event.date - article.published).days,
            explanation=f"{event.date} as given by the model; no matching date phrase found in {article.file}",
        ), ["date given by the model only"]
    return undated(article), ["date not stated"]


def _report(article: Article, event: LLMEvent, span: tuple[int, int], dates: list[ResolvedDate], analyzer: Analyzer,
            index: EntityIndex, citer: Citer) -> Report:
    when, flags = _date(article, event, span, dates)
    citation = citer.cite(article, *span)
    names = [index.english(p) or p for p in event.participants]
    initiator = (index.english(event.initiator) or event.initiator) if event.initiator else None
    phrase = None
    if event.initiator_quote:
        found = find_quote(article, NormText(article.text), event.initiator_quote)
        phrase = article.text[found[0]:found[1]] if found else None
    if when.weekday_mismatch:
        flags.append(f"weekday mismatch: '{when.phrase}' ({when.explanation})")
    return Report(
        id=f"{article.file}#{span[0]}", type=event.type, doc_id=article.doc_id, file=article.file, published=article.published,
        outlet=article.outlet, date=when, participants=list(dict.fromkeys(names)), initiator=initiator,
        initiator_side=index.side_of(initiator) if initiator else None, initiator_phrase=phrase,
        reported_by=event.reported_by, topics=[t[:60] for t in event.topics][:8],
        positions=_positions(event.positions, index, citation.n),
        text=citation.quote, citations=[citation], flags=flags, source="llm",
    )


def _positions(positions: list[LLMPosition], index: EntityIndex, n: int) -> list[Position]:
    return [
        Position(holder=index.english(p.holder) or p.holder, stance=p.stance[:30],
                 addressee=(index.english(p.addressee) or p.addressee) if p.addressee else None, citation=n)
        for p in positions
    ]


def _accounts(report: Report, article: Article, nt: NormText, event: LLMEvent, index: EntityIndex, citer: Citer) -> list[str]:
    """The model's accounts of what was said, each quote found in the article and cited (warnings for the others).
    Without any, one account from the event's ``reported_by`` — or, when it names no source, from the one side whose
    people took the stances it lists — as the rules do."""
    warnings = []
    for given in event.accounts:
        span = find_quote(article, nt, given.quote)
        if span is None:
            warnings.append(f"{article.file}: dropped an account by {given.attribution[:40]!r} whose quote is not in the article")
            continue
        citation = citer.cite(article, *span)
        if all(c.n != citation.n for c in report.citations):
            report.citations.append(citation)
        attribution = index.english(given.attribution) or given.attribution.strip()
        report.accounts.append(Account(
            attribution=attribution, side=index.source_side(given.side) or (given.side or "").strip() or index.source_side(attribution),
            basis="model", topics=[t[:60] for t in given.topics][:8], positions=_positions(given.positions, index, citation.n),
            quote=citation.quote, citation=citation.n,
        ))
    if report.accounts or not (report.reported_by or report.positions):
        return warnings
    if report.reported_by:
        attribution, side = report.reported_by, index.source_side(report.reported_by)
    else:
        sides = {index.side_of(p.holder) for p in report.positions}
        if len(sides) != 1 or None in sides:
            return warnings
        attribution, side = report.positions[0].holder, sides.pop()
    main = report.citations[0]
    report.accounts.append(Account(
        attribution=attribution, side=side, basis="model", topics=list(report.topics),
        positions=[p.model_copy() for p in report.positions],
        quote=main.quote, citation=main.n,
    ))
    return warnings
