"""The agent's tools: typed, validated calls over the store, shared by every caller.

``search``, ``events``, ``accounts``, ``read`` and ``resolve_date`` each take a pydantic input
model and return a typed result (passages and events with their citations) with a one-line
``summary()`` for the terminal and ``ids()`` for step records. ``TOOLS`` maps a tool's name to
its input model, function and description; ``openai_tool_specs()`` turns them into OpenAI tool
schemas, and ``call`` runs one by name with arguments as a model would send them (a dict or
JSON text). Arguments come from untrusted places (a model that has read article text): every
bad one raises a one-line ``DalilError``, and ``read`` only ever reads documents of the store.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from collections.abc import Callable
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Literal

from pydantic import BaseModel, ConfigDict, Field, ValidationError, field_validator, model_validator

from agent.errors import DalilError
from agent.schema import Citation, SearchHit

if TYPE_CHECKING:
    from agent.events.models import Event
    from agent.pipeline import Dalil

MAX_K = 50
MAX_READ = 2000  # characters one read returns: about a paragraph and its neighbours
EventType = Literal["call", "agreement", "ceasefire_start", "ceasefire_collapse", "suspension", "meeting", "statement"]
_ISO_DAY = re.compile(r"^\d{4}-\d{2}-\d{2}$")
_DOC = re.compile(r"^[A-Za-z0-9_][A-Za-z0-9_.-]{0,200}$")


def _iso_day(value: Any) -> dt.date | None:
    """A YYYY-MM-DD day (strings only: a number is not a date here)."""
    if value is None or isinstance(value, dt.date):
        return value
    if not isinstance(value, str) or not _ISO_DAY.match(value.strip()):
        raise ValueError(f"must be a YYYY-MM-DD date, not {value!r}"[:120])
    try:
        return dt.date.fromisoformat(value.strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a calendar day") from None


class _Input(BaseModel):
    model_config = ConfigDict(extra="forbid", populate_by_name=True)


class _Span(_Input):
    date_from: dt.date | None = Field(default=None, alias="from", description="first day, YYYY-MM-DD")
    date_to: dt.date | None = Field(default=None, alias="to", description="last day, YYYY-MM-DD")

    @field_validator("date_from", "date_to", mode="before")
    @classmethod
    def _days(cls, value: Any) -> dt.date | None:
        return _iso_day(value)

    @model_validator(mode="after")
    def _ordered(self) -> _Span:
        if self.date_from and self.date_to and self.date_from > self.date_to:
            raise ValueError("from is after to")
        return self


class SearchInput(_Span):
    """Passages of the articles that best match a query (Arabic or English), optionally by publication day and outlet."""

    query: str = Field(min_length=1, max_length=500, description="what to look for")
    outlet: str | None = Field(default=None, max_length=200, description="only articles from this outlet (as stored)")
    k: int = Field(default=5, ge=1, le=MAX_K, description="how many passages")


class EventsInput(_Span):
    """The corpus's events (calls, agreements, the ceasefire's start and end, suspensions, meetings, statements), dated and cited."""

    type: EventType | None = Field(default=None, description="only events of this kind")
    participant: str | None = Field(default=None, max_length=100, description="only events with this participant (English or Arabic name)")


class AccountsInput(_Input):
    """Each side's account (Russian, US, …) of one event, quoted verbatim, and where the sources disagree."""

    event: str = Field(min_length=1, max_length=100, description="an event id from the events tool")


class ReadInput(_Input):
    """The text of a stored article between two character offsets (at most 2000 characters)."""

    doc: str = Field(min_length=1, max_length=200, description="a doc_id or file name from a passage or citation")
    start: int = Field(ge=0, description="first character offset")
    end: int = Field(ge=1, description="offset after the last character")

    @field_validator("doc")
    @classmethod
    def _not_a_path(cls, value: str) -> str:
        if not _DOC.match(value) or ".." in value:
            raise ValueError("must be a doc_id or file name of the store, not a path")
        return value

    @model_validator(mode="after")
    def _bounded(self) -> ReadInput:
        if self.end <= self.start:
            raise ValueError("end must be after start")
        if self.end - self.start > MAX_READ:
            raise ValueError(f"at most {MAX_READ} characters per read")
        return self


class ResolveDateInput(_Input):
    """The calendar day or period a date phrase ("يوم الثلاثاء", "last Friday") means, read against a publication day."""

    phrase: str = Field(min_length=1, max_length=200)
    published: dt.date = Field(description="the article's publication day, YYYY-MM-DD")

    @field_validator("published", mode="before")
    @classmethod
    def _day(cls, value: Any) -> dt.date | None:
        return _iso_day(value)


# ------------------------------------------------------------------------------------------ outputs
class _Output(BaseModel):
    def summary(self) -> str:
        raise NotImplementedError

    def ids(self) -> list[str]:
        return []


class SearchOutput(_Output):
    query: str
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    passages: list[SearchHit]
    warnings: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        span = f" {self.date_from or '…'}…{self.date_to or '…'}" if self.date_from or self.date_to else ""
        return f"searching {self.query[:60]!r}{span}: {len(self.passages)} passages"

    def ids(self) -> list[str]:
        return [p.chunk_id for p in self.passages]


class EventItem(BaseModel):
    """An event as a tool returns it: dated, labelled in both languages, its evidence cited."""

    id: str
    type: str
    date: dt.date | None = Field(description="the day, when known to the day")
    start: dt.date
    end: dt.date
    granularity: str
    date_phrase: str | None = Field(default=None, description="the phrase dating it, verbatim")
    label_en: str
    label_ar: str
    participants: list[str]
    initiator: str | None
    what_en: str
    evidence: Citation = Field(description="the passage that dates or best reports the event")
    citations: list[Citation]
    disagreements: list[str] = Field(default_factory=list, description="where the reports disagree")

    @classmethod
    def of(cls, event: Event) -> EventItem:
        from agent.retrieval.grounding import label

        cites = list({c.n: c for r in event.reports for c in r.citations}.values())
        return cls(
            id=event.id, type=event.type, date=event.date.date if event.date.granularity == "day" else None,
            start=event.date.start, end=event.date.end, granularity=event.date.granularity, date_phrase=event.date.phrase,
            label_en=label(event, "en"), label_ar=label(event, "ar"), participants=list(event.participants),
            initiator=event.initiator, what_en=event.what_en, evidence=evidence(event), citations=cites,
            disagreements=[d.note for d in event.disagreements],
        )


def numbered(citation: Citation, n: int) -> Citation:
    """``citation`` as the ``n``-th of an answer, with the notes on the dates its quote states."""
    from agent.events.corpus import date_notes

    return citation.model_copy(update={"n": n, "dates": citation.dates or date_notes(citation.quote, citation.published)})


def dating_citation(event: Event) -> Citation:
    """The event's citation whose own words state its day ("والذي انتهى في 19 سبتمبر"), else ``evidence(event)``."""
    from agent.events.corpus import date_notes

    day = event.date.date.isoformat() if event.date.granularity == "day" and event.date.date else None
    for report in event.reports:
        for c in report.citations:
            if day and day in {d.date for d in (c.dates or date_notes(c.quote, c.published))}:
                return c
    return evidence(event)


def evidence(event: Event) -> Citation:
    """The citation holding the phrase that dates the event, else the main report's evidence."""
    phrase, file = event.date.phrase, event.date.file
    for report in event.reports:
        for c in report.citations:
            if phrase and c.file == file and phrase in c.quote:
                return c
    return event.reports[0].citations[0]


class EventsOutput(_Output):
    events: list[EventItem]
    left_out: int = Field(default=0, description="events of the kind asked dated only to a period (not listed by day)")

    def summary(self) -> str:
        kinds = {e.type for e in self.events}
        noun = {"call": "calls", "meeting": "meetings", "agreement": "agreements"}.get(next(iter(kinds)), "events") if len(kinds) == 1 else "events"
        return f"events: {len(self.events)} {noun}"

    def ids(self) -> list[str]:
        return [e.id for e in self.events]


class SideAccount(BaseModel):
    source: str = Field(description="whose account: ministry, agency or person")
    said: str = Field(description="its claims in English, from the structured fields (no translation)")
    quote: str = Field(description="the account's words, verbatim")
    citation: Citation


class Side(BaseModel):
    side: str
    accounts: list[SideAccount]


class AccountsOutput(_Output):
    event: EventItem
    sides: list[Side]
    disagreements: list[str] = Field(default_factory=list)

    def summary(self) -> str:
        sides = ", ".join(f"{s.side} {len(s.accounts)}" for s in self.sides) or "none"
        disputed = "; sources disagree" if self.disagreements else ""
        return f"accounts of {self.event.id}: {sides}{disputed}"

    def ids(self) -> list[str]:
        return [str(a.citation.n) for s in self.sides for a in s.accounts]


class ReadOutput(_Output):
    doc_id: str
    file: str
    published: str | None
    outlet: str | None
    start: int
    end: int
    text: str = Field(description="the article's text between start and end, verbatim")

    def summary(self) -> str:
        return f"reading {self.file} chars {self.start}–{self.end}"

    def ids(self) -> list[str]:
        return [f"{self.doc_id}:{self.start}-{self.end}"]


class ResolvedPhrase(BaseModel):
    phrase: str
    date: dt.date | None
    start: dt.date | None
    end: dt.date | None
    granularity: str
    explanation: str


class ResolveDateOutput(_Output):
    published: dt.date
    dates: list[ResolvedPhrase]

    def summary(self) -> str:
        found = ", ".join(f"{d.phrase} = {d.date or f'{d.start}…{d.end}'}" for d in self.dates) or "no date"
        return f"resolving against {self.published}: {found}"

    def ids(self) -> list[str]:
        return [str(d.date or d.start) for d in self.dates]


# ------------------------------------------------------------------------------------------ tools
def search(dalil: Dalil, args: SearchInput) -> SearchOutput:
    from agent.retrieval.retrieve import SearchFilters

    _known_outlet(dalil, args.outlet)
    hits = dalil.retrieve(args.query, args.k, SearchFilters(args.date_from, args.date_to, args.outlet))
    return SearchOutput(query=args.query, date_from=args.date_from, date_to=args.date_to,
                        passages=[SearchHit.from_node(i, h) for i, h in enumerate(hits, start=1)], warnings=list(dalil.retrieval_warnings))


def events(dalil: Dalil, args: EventsInput) -> EventsOutput:
    """Events in chronological order; with a type, those dated only to a period are counted, not listed."""
    from agent.events.index import events as indexed

    participant = _participant(dalil, args.participant) if args.participant else None
    found = indexed(dalil, args.type, args.date_from, args.date_to, participant)
    found = sorted(found, key=lambda e: (e.date.start, e.date.end))
    dated = [e for e in found if e.date.granularity == "day"] if args.type else found
    return EventsOutput(events=[EventItem.of(e) for e in dated], left_out=len(found) - len(dated))


def accounts(dalil: Dalil, args: AccountsInput) -> AccountsOutput:
    from agent.events.index import events as indexed

    event = next((e for e in indexed(dalil) if e.id == args.event), None)
    if event is None:
        raise DalilError(f"accounts: no event {args.event[:60]!r} (ids come from the events tool)")
    by_n = {c.n: c for r in event.reports for c in r.citations}
    sides: dict[str, list[SideAccount]] = {}
    seen: set[int] = set()
    said = next((d for d in event.disagreements if d.field == "what_was_said"), None)
    grouped = [(v.value, v.accounts) for v in said.versions] if said else \
        [(a.key, [a]) for r in event.reports for a in r.accounts]
    for side, found in grouped:
        for a in found:
            if a.citation in by_n and a.citation not in seen:
                seen.add(a.citation)
                sides.setdefault(side, []).append(SideAccount(source=a.source, said=a.summary(), quote=a.quote, citation=by_n[a.citation]))
    return AccountsOutput(event=EventItem.of(event), sides=[Side(side=s, accounts=a) for s, a in sides.items()],
                          disagreements=[d.note for d in event.disagreements])


def read(dalil: Dalil, args: ReadInput) -> ReadOutput:
    registry = dalil.store.registry
    record = registry.document(args.doc)
    if record is None:
        record = next((r for r in registry.documents(with_text=False) if r.file == args.doc), None)
        record = record and registry.document(record.doc_id)
    if record is None:
        raise DalilError(f"read: no document {args.doc!r} in the store")
    if args.start >= len(record.text):
        raise DalilError(f"read: start {args.start} is past the end of {record.file} ({len(record.text)} characters)")
    end = min(args.end, len(record.text))
    return ReadOutput(doc_id=record.doc_id, file=record.file, published=record.published, outlet=record.outlet,
                      start=args.start, end=end, text=record.text[args.start:end])


def resolve_date(dalil: Dalil, args: ResolveDateInput) -> ResolveDateOutput:
    from agent.text.dates import resolve_dates

    found = resolve_dates(args.phrase, args.published, lang="any")
    return ResolveDateOutput(published=args.published, dates=[
        ResolvedPhrase(phrase=f.phrase, date=f.date, start=f.period_start, end=f.period_end, granularity=f.granularity,
                       explanation=f.explanation) for f in found])


def _known_outlet(dalil: Dalil, outlet: str | None) -> None:
    if outlet is None:
        return
    known = {r.outlet for r in dalil.store.registry.documents(with_text=False) if r.outlet}
    if outlet not in known:
        raise DalilError(f"search: no articles from outlet {outlet[:60]!r} (known outlets: {', '.join(sorted(known)) or 'none'})")


def _participant(dalil: Dalil, name: str) -> str:
    """The English name the event index uses for ``name`` ("Lavrov", "لافروف" → "Sergei Lavrov")."""
    from agent.text.arabic import normalize

    wanted = name.strip().casefold()
    words = set(normalize(name).split())
    for entity in dalil.analyzer.entities:
        english = {w.casefold() for v in (entity.en, *entity.en_variants) for w in [v, *v.split()]}
        arabic = {w for v in (entity.ar, *entity.variants) for w in [normalize(v), *normalize(v).split()]}
        if wanted in english or normalize(name.strip()) in arabic or (words and words <= arabic):
            return entity.en
    return name


# ------------------------------------------------------------------------------------------ registry
@dataclass(frozen=True)
class Tool:
    input: type[_Input]
    fn: Callable[[Dalil, Any], _Output]
    description: str


TOOLS: dict[str, Tool] = {
    "search": Tool(SearchInput, search, "Search the articles: passages matching a query, optionally by publication day and outlet."),
    "events": Tool(EventsInput, events, "The events of the corpus in chronological order, each dated and cited; by type, period, participant."),
    "accounts": Tool(AccountsInput, accounts, "Each side's account of one event (by event id), quoted verbatim, and where the sources disagree."),
    "read": Tool(ReadInput, read, "The text of a stored article between two character offsets (at most 2000 characters)."),
    "resolve_date": Tool(ResolveDateInput, resolve_date, "The day or period a date phrase means, read against a publication day."),
}


def openai_tool_specs() -> list[dict[str, Any]]:
    """The tools as OpenAI ``tools=[...]`` entries (JSON schema from the input models, field aliases such as ``from``)."""
    specs = []
    for name, tool in TOOLS.items():
        schema = tool.input.model_json_schema(by_alias=True)
        schema.pop("title", None)
        specs.append({"type": "function", "function": {"name": name, "description": tool.description, "parameters": schema}})
    return specs


def parse_arguments(name: str, arguments: dict[str, Any] | str | None) -> _Input:
    """Validated arguments of tool ``name`` (a dict, or JSON text as a model sends it); one-line DalilError otherwise."""
    tool = TOOLS.get(name) if isinstance(name, str) else None
    if tool is None:
        raise DalilError(f"unknown tool {str(name)[:40]!r} (tools: {', '.join(TOOLS)})")
    if isinstance(arguments, str):
        try:
            arguments = json.loads(arguments or "{}")
        except json.JSONDecodeError as exc:
            raise DalilError(f"{name}: arguments are not valid JSON ({exc.msg})") from None
    if not isinstance(arguments, dict):
        raise DalilError(f"{name}: arguments must be a JSON object")
    try:
        return tool.input.model_validate(arguments)
    except ValidationError as exc:
        raise DalilError(f"{name}: {_first_problem(exc)}") from None


def call(dalil: Dalil, name: str, arguments: dict[str, Any] | str | None) -> _Output:
    """Run tool ``name`` with ``arguments`` (validated first)."""
    args = parse_arguments(name, arguments)
    return TOOLS[name].fn(dalil, args)


def _first_problem(exc: ValidationError) -> str:
    error = exc.errors()[0]
    where = ".".join(str(p) for p in error["loc"])
    message = " ".join(str(error["msg"]).split()).removeprefix("Value error, ")
    if error["type"] == "extra_forbidden":
        message = "unknown argument"
    more = f" (and {exc.error_count() - 1} more)" if exc.error_count() > 1 else ""
    return (f"argument {where}: " if where else "") + message[:160] + more
