"""The JSON contract of the sequence commands: reports, events, timelines (pydantic).

A *report* is what one article says about one event (its evidence quoted verbatim, with
offsets); an *event* groups the reports of the same happening across articles and keeps
their disagreements side by side. ``docs/SEQUENCE.md`` documents every field.
"""

from __future__ import annotations

import datetime as dt
from typing import Literal

from pydantic import BaseModel, Field

from agent.schema import Citation

EventType = Literal["call", "agreement", "ceasefire_start", "ceasefire_collapse", "suspension", "meeting", "statement"]
DateBasis = Literal["stated", "report_day", "paragraph", "article_lead", "not_stated", "model"]
Granularity = Literal["day", "week", "month", "mid_month", "year"]

TYPE_LABELS: dict[str, str] = {
    "call": "phone call",
    "agreement": "agreement",
    "ceasefire_start": "ceasefire starts",
    "ceasefire_collapse": "ceasefire ends / collapses",
    "suspension": "suspension",
    "meeting": "meeting / visit",
    "statement": "statement",
}
WEEKDAYS = ("Mon", "Tue", "Wed", "Thu", "Fri", "Sat", "Sun")


class EventDate(BaseModel):
    """When an event happened and how that was worked out from the article."""

    date: dt.date | None = Field(description="the day; for a period its nominal day, if any")
    start: dt.date = Field(description="first day of the period (== date for a day)")
    end: dt.date
    granularity: Granularity = "day"
    basis: DateBasis = Field(
        description="stated: a date phrase about the event; report_day: only the day it was reported (the event is "
        "on or before it); paragraph: nearest date in the paragraph; article_lead: the date of the article's main "
        "event of the same kind; not_stated: the publication date; model: given by the LLM only",
    )
    phrase: str | None = Field(default=None, description="the date phrase exactly as written")
    phrase_start: int | None = Field(default=None, description="offset of the phrase in the article")
    phrase_end: int | None = None
    file: str | None = Field(default=None, description="article the phrase is in")
    published: dt.date | None = None
    offset_days: int | None = Field(default=None, description="days from the publication date")
    rule: str | None = None
    weekday_mismatch: bool = False
    explanation: str

    @property
    def label(self) -> str:
        if self.granularity == "day" and self.date:
            return f"{self.date} ({WEEKDAYS[self.date.weekday()]})"
        if self.granularity == "month":
            return f"{self.start:%Y-%m} (month)"
        return f"{self.start}…{self.end} ({self.granularity.replace('_', '-')})"

    @property
    def spoken(self) -> str:
        """The date in words an English sentence can carry (no derived day numbers for periods)."""
        if self.granularity == "day" and self.date:
            return self.label
        if self.granularity == "month":
            return f"{self.start:%B %Y}"
        if self.granularity == "mid_month":
            return f"mid-{self.start:%B %Y}"
        if self.granularity == "week":
            return f"a week in {self.start:%B %Y}"
        return f"{self.start:%Y}"

    def overlaps(self, start: dt.date | None, end: dt.date | None) -> bool:
        return (start is None or self.end >= start) and (end is None or self.start <= end)


class Position(BaseModel):
    """A stance taken by someone in an event ("Lavrov urged Kerry …"), with its evidence."""

    holder: str
    stance: str = Field(description="English verb: urged, told, warned, stressed, …")
    addressee: str | None = None
    citation: int = Field(description="number of the citation holding the sentence")


AccountBasis = Literal["named", "continued", "speaker", "model"]


class Account(BaseModel):
    """One side's or source's version of what was said in an event: whose it is, what it claims, its words verbatim."""

    attribution: str = Field(description="whose account: a ministry, agency, country or person (English name)")
    side: str | None = Field(default=None, description="the country or body it speaks for (Russia, United States, …), None when unknown")
    via: str | None = Field(default=None, description="the person who gave it for that source (a spokesman), when named")
    basis: AccountBasis = Field(
        description="named: the source is named in the passage (قالت وزارة الخارجية الروسية، بحسب …، المتحدث باسم …); "
        "continued: the passage goes on with the source of the sentence before (وأضاف أن …، وفق المصدر، أوضح البيان، "
        "الوزارة); speaker: no source named, the words are those of the person quoted (أبلغ كيري لافروف أن …); "
        "model: given by the LLM",
    )
    cue: str | None = Field(default=None, description="the attribution words, verbatim")
    topics: list[str] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    quote: str = Field(description="the account's words, verbatim (its citation's quote)")
    citation: int = Field(description="number of the citation holding the quote")

    @property
    def key(self) -> str:
        """Accounts with the same key are one version (the same side; a source without a known side stands alone)."""
        return self.side or self.attribution

    @property
    def claims(self) -> set[str]:
        """What the account says, as comparable items: its topics and who took which stance."""
        return set(self.topics) | {f"{p.holder} {p.stance}" for p in self.positions}

    @property
    def source(self) -> str:
        """"US State Department (via John Kirby)", "John Kerry (no source named)"."""
        if self.basis == "speaker":
            return f"{self.attribution} (no source named)"
        return self.attribution + (f" (via {self.via})" if self.via and self.via != self.attribution else "")

    def summary(self) -> str:
        """The account's claims in English, from its fields only (no translation)."""
        parts = [", ".join(f"{p.holder} {p.stance}" + (f" (to {p.addressee})" if p.addressee else "") for p in self.positions)]
        if self.topics:
            parts.append("on " + ", ".join(self.topics))
        return "; ".join(p for p in parts if p) or "no stance or topic the rules can read"


class Report(BaseModel):
    """What one article says about one event."""

    id: str = Field(description="file#offset of the evidence")
    type: EventType
    doc_id: str
    file: str
    published: dt.date | None
    outlet: str | None
    date: EventDate
    participants: list[str] = Field(default_factory=list, description="English names (people, else sides)")
    initiator: str | None = Field(default=None, description="who placed/initiated the call, per this report")
    initiator_side: str | None = None
    initiator_phrase: str | None = Field(default=None, description="the words saying so, verbatim")
    reported_by: str | None = Field(default=None, description="whose account the article relays (ministry, agency, person)")
    reported_on: EventDate | None = Field(default=None, description="when that account was given, if the article says")
    topics: list[str] = Field(default_factory=list)
    positions: list[Position] = Field(default_factory=list)
    accounts: list[Account] = Field(default_factory=list, description="whose version of what was said this report carries")
    text: str = Field(description="the evidence, verbatim (the first citation's quote)")
    citations: list[Citation] = Field(description="the evidence first, then the passages of its accounts")
    flags: list[str] = Field(default_factory=list)
    source: Literal["rules", "llm"] = "rules"

    def initiator_citations(self) -> list[Citation]:
        """The citations whose quote holds the words naming who initiated the event (none when no one is named)."""
        phrase = self.initiator_phrase
        return [c for c in self.citations if phrase and phrase in c.quote]


class Version(BaseModel):
    value: str
    reports: list[str]
    citations: list[int]
    accounts: list[Account] = Field(default_factory=list, description="what_was_said: this side's accounts, each cited")

    def said(self) -> str:
        """The accounts' claims in English, one clause per source ("Russian Foreign Ministry: Sergei Lavrov urged
        (to John Kerry); on Aleppo")."""
        sources: dict[str, list[Account]] = {}
        for a in self.accounts:
            sources.setdefault(a.source, []).append(a)
        clauses = []
        for source, accounts in sources.items():
            positions = list(dict.fromkeys(
                f"{p.holder} {p.stance}" + (f" (to {p.addressee})" if p.addressee else "") for a in accounts for p in a.positions
            ))
            topics = list(dict.fromkeys(t for a in accounts for t in a.topics))
            said = ", ".join(positions) + ("; " if positions and topics else "") + ("on " + ", ".join(topics) if topics else "")
            clauses.append(f"{source}: {said}" if said else source)
        return "; ".join(clauses)

    def main_account(self) -> Account | None:
        """The account that says most, a named source first: what a one-line summary quotes."""
        return max(self.accounts, key=lambda a: (a.basis == "named", len(a.claims)), default=None)


DisputeField = Literal["date", "initiator", "what_was_said"]
DISPUTE_LABELS: dict[str, str] = {"date": "the date", "initiator": "the initiator", "what_was_said": "what was said"}


class Disagreement(BaseModel):
    """Reports of one event that do not agree; every version is kept."""

    field: DisputeField
    versions: list[Version]
    note: str

    @property
    def label(self) -> str:
        """"the date", "the initiator", "what was said"."""
        return DISPUTE_LABELS[self.field]

    @property
    def short(self) -> str:
        """"date", "initiator", "what was said"."""
        return self.field.replace("_", " ")


class Event(BaseModel):
    id: str
    type: EventType
    date: EventDate
    participants: list[str]
    initiator: str | None = Field(description="agreed initiator, None when unknown or disputed")
    topics: list[str]
    what_ar: str = Field(description="the main report's evidence, verbatim Arabic")
    what_en: str = Field(description="English line built from the structured fields (no translation)")
    reports: list[Report]
    disagreements: list[Disagreement] = Field(default_factory=list)
    flags: list[str] = Field(default_factory=list)

    @property
    def citation_numbers(self) -> list[int]:
        return sorted({c.n for r in self.reports for c in r.citations})


class Timeline(BaseModel):
    mode: Literal["extractive", "llm"]
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    articles: int
    events: list[Event]
    warnings: list[str] = Field(default_factory=list)
    degraded: bool = Field(default=False, description="LLM mode fell back to the offline rules for some article")

    def citations(self) -> list[Citation]:
        """Every citation once, by number."""
        seen: dict[int, Citation] = {}
        for event in self.events:
            for report in event.reports:
                for c in report.citations:
                    seen.setdefault(c.n, c)
        return [seen[n] for n in sorted(seen)]
