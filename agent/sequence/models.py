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
    text: str = Field(description="the evidence, verbatim (the first citation's quote)")
    citations: list[Citation]
    flags: list[str] = Field(default_factory=list)
    source: Literal["rules", "llm"] = "rules"


class Version(BaseModel):
    value: str
    reports: list[str]
    citations: list[int]


class Disagreement(BaseModel):
    """Reports of one event that do not agree; every version is kept."""

    field: Literal["date", "initiator"]
    versions: list[Version]
    note: str


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
