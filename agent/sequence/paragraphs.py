"""An event in two paragraphs, offline: Arabic quoted verbatim, English derived from its extracted facts.

The Arabic paragraph opens with the event's label (its type and resolved date, ``agent.retrieval.grounding.label``)
and quotes the sentences that report it: what happened, the date phrase, who initiated it, each
side's account; every quote carries its markers. A sentence already quoted for an earlier event (or a
near-identical sentence of another passage) is not quoted again: its markers are repeated instead.

The English paragraph is short sentences built only from the event's fields (who, what, when, who
initiated it, whose account), each cited with the markers of the quotes it rests on and marked
``derived``: Dalil's words, not a translation.
"""

from __future__ import annotations

import calendar
import re
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from pydantic import BaseModel, Field

from agent.answer.citations import verify
from agent.events.corpus import citation_node
from agent.retrieval.grounding import TYPE_EN, label
from agent.sequence.timeline import markers
from agent.text import arabic

if TYPE_CHECKING:
    from agent.events.models import Account, Event, Report, Timeline, Version
    from agent.text.lexicon import Analyzer

_MARKER = re.compile(r"\[\s*([0-9٠-٩]+(?:\s*[,،]\s*[0-9٠-٩]+)*)\s*\]")
_NEAR = 0.8  # share of the shorter sentence's words in the other: the same sentence from another passage
_TRANSITIVE = {"urged", "told", "warned"}
_STANCE_EN = {"expressed": "expressed a position to", "stressed": "stressed a point to", "affirmed": "affirmed a position to",
              "demanded": "made demands of", "called for": "called on", "set conditions": "set conditions for"}
_MAIN = {
    "call": ("{who} spoke by phone {when}", "A phone call took place {when}"),
    "agreement": ("{who} reached an agreement {when}", "An agreement was reached {when}"),
    "ceasefire_start": ("A ceasefire involving {who} started {when}", "A ceasefire started {when}"),
    "ceasefire_collapse": ("A ceasefire involving {who} ended {when}", "A ceasefire ended {when}"),
    "suspension": ("There was a suspension involving {who} {when}", "There was a suspension {when}"),
    "meeting": ("{who} met {when}", "A meeting took place {when}"),
    "statement": ("{who} made a statement {when}", "A statement was made {when}"),
}
DERIVED_LABEL = "Derived from the cited reports:"


class SummaryPart(BaseModel):
    """One sentence of a paragraph with its own markers; an empty ``text`` repeats the markers of a sentence
    quoted earlier in the same document."""

    text: str
    citations: list[int]


class SummarySentence(BaseModel):
    event: str = Field(description="id of the timeline event it covers")
    text: str = Field(description="the sentence (offline: the paragraph, label and sentences) without its markers")
    citations: list[int]
    supported: bool
    support: float = 0.0
    problems: list[str] = Field(default_factory=list)
    lead: str | None = Field(default=None, description="Arabic, offline: the event's label (type and resolved date), Dalil's words")
    parts: list[SummaryPart] = Field(default_factory=list, description="offline: the verbatim quotes (Arabic) or the derived "
                                     "sentences (English), each with its markers")
    derived: bool = Field(default=False, description="English built by Dalil from the event's extracted facts, not a translation")


def cited(text: str, numbers: list[int]) -> str:
    """``text`` with its markers: before an English sentence's final period, after a quote."""
    if not numbers:
        return text
    if text.endswith(".") and not arabic.is_arabic(text):
        return f"{text[:-1]} {markers(numbers)}."
    return f"{text} {markers(numbers)}".strip()


def shown_parts(sentence: SummarySentence) -> list[SummaryPart]:
    """The paragraph's sentences with their markers (a model's sentence is one part)."""
    return sentence.parts or [SummaryPart(text=sentence.text, citations=sentence.citations)]


def paragraph_text(sentence: SummarySentence) -> str:
    """The paragraph as read: its label, then each sentence with its markers."""
    body = " ".join(cited(p.text, p.citations) for p in shown_parts(sentence))
    return f"{sentence.lead}: {body}" if sentence.lead else body


def checked(event_id: str, text: str, numbers: list[int], passages, analyzer: Analyzer, strict: bool = True,
            known: list[str] | None = None) -> SummarySentence:
    """One sentence verified against the passages its markers point to (``strict``: every content word;
    ``False`` only for Dalil's own sentences and verbatim quotes; ``known``: the event's participants, see
    ``citations.verify``)."""
    clean = _MARKER.sub("", text).strip()
    result = verify(f"{clean} {markers(numbers)}" if numbers else clean, passages, analyzer, strict=strict, known=known or ())
    problems = list(dict.fromkeys(p for s in result.sentences for p in s.problems))
    if result.dangling:
        problems.append("cites passages that do not exist: " + ", ".join(map(str, result.dangling)))
    support = min((s.support for s in result.sentences), default=0.0)
    return SummarySentence(event=event_id, text=clean, citations=numbers, supported=not problems, support=support, problems=problems)


# ---------------------------------------------------------------------- quotes


def _words(text: str) -> set[str]:
    return set(re.findall(r"\w+", arabic.normalize(text)))


@dataclass
class _Quote:
    text: str  # verbatim; "" when quoted earlier
    citations: list[int]
    reports: list[Report] = field(default_factory=list)

    def cite(self, numbers) -> None:
        self.citations = sorted({*self.citations, *numbers})


class Shown:
    """The sentences already quoted in one document (a summary, a briefing)."""

    def __init__(self) -> None:
        self._quotes: list[tuple[set[str], _Quote]] = []

    def find(self, text: str) -> _Quote | None:
        words = _words(text)
        for seen, quote in self._quotes:
            if words and seen and len(words & seen) / min(len(words), len(seen)) >= _NEAR:
                return quote
        return None

    def add(self, quote: _Quote) -> None:
        self._quotes.append((_words(quote.text), quote))


def first_sentence(text: str) -> str:
    spans = arabic.sentence_spans(text)
    return spans[0].of(text) if spans else text


def _sentence_with(text: str, phrase: str | None) -> str | None:
    """The sentence of ``text`` holding ``phrase`` (verbatim), if any."""
    at = text.find(phrase) if phrase else -1
    if at < 0:
        return None
    for span in arabic.sentence_spans(text):
        if span.start <= at < span.end:
            return span.of(text)
    return None


class _Paragraph:
    """One Arabic/English pair under construction."""

    def __init__(self, shown: Shown) -> None:
        self.shown = shown
        self.quotes: list[_Quote] = []
        self.english: list[tuple[str, list[int]]] = []

    def quote(self, text: str, numbers: list[int], reports: list[Report], after: Report | None = None) -> _Quote:
        """``text`` quoted once in the document: a near-identical sentence adds its markers to the quote; one
        quoted for an earlier paragraph is referred to by its markers."""
        mine = next((q for q in self.quotes if q.text and self.shown.find(text) is q), None)
        if mine is not None:
            mine.cite(numbers)
            mine.reports += [r for r in reports if r not in mine.reports]
            return mine
        earlier = self.shown.find(text)
        if earlier is not None:
            ref = next((q for q in self.quotes if not q.text), None)
            if ref is None:
                ref = _Quote("", [])
                self.quotes.append(ref)
            ref.cite(numbers)
            ref.reports += reports
            return _Quote("", sorted(set(numbers)), list(reports))
        quote = _Quote(text, sorted(set(numbers)), list(reports))
        at = next((i + 1 for i, q in enumerate(self.quotes) if after is not None and after in q.reports), len(self.quotes))
        self.quotes.insert(at, quote)  # a report's date sentence right after its first
        self.shown.add(quote)
        return quote

    def say(self, sentence: str, numbers: list[int]) -> None:
        if numbers:
            self.english.append((sentence, sorted(set(numbers))))


def _and(items: list[str]) -> str:
    return items[0] if len(items) == 1 else ", ".join(items[:-1]) + " and " + items[-1]


def _when(event: Event) -> str:
    """"on Saturday 1 October 2016", "in July 2016", "on or before Wednesday 5 October 2016" (the label's date)."""
    date = event.date
    words = label(event, "en").removeprefix(f"the {TYPE_EN.get(event.type, event.type)} of ")
    if date.granularity != "day" or not date.date:
        return ("during " if date.granularity == "week" else "in ") + words
    return ("on or before " if date.basis == "report_day" else "on ") + words


def _main_sentence(event: Event) -> str:
    named, unnamed = _MAIN[event.type]
    who = _and(event.participants) if event.participants else ""
    text = (named if who else unnamed).format(who=who, when=_when(event))
    return text[0].upper() + text[1:] + "."


def _stances(accounts: list[Account]) -> str:
    """"Sergei Lavrov told and urged John Kerry", from the accounts' positions only."""
    verbs: dict[tuple[str, str | None], list[str]] = {}
    for a in accounts:
        for p in a.positions:
            verbs.setdefault((p.holder, p.addressee), [])
            if p.stance not in verbs[(p.holder, p.addressee)]:
                verbs[(p.holder, p.addressee)].append(p.stance)
    clauses = []
    for (holder, addressee), stances in verbs.items():
        if addressee is None:
            clauses.append(f"{holder} {_and(stances)}")
            continue
        plain = [s for s in stances if s in _TRANSITIVE]
        other = [_STANCE_EN.get(s, s + " to") for s in stances if s not in _TRANSITIVE]
        if plain:
            clauses.append(f"{holder} {_and(plain)} {addressee}")
        clauses += [f"{holder} {verb} {addressee}" for verb in other]
    return _and(clauses) if clauses else ""


def _account_sentence(event: Event, accounts: list[Account], side: str) -> str:
    a = accounts[0]
    kind = TYPE_EN.get(event.type, event.type)
    if a.basis == "speaker":
        head = "With no source named"
    else:
        head = f"According to {a.source}" + (f", speaking for {side}" if side not in (a.attribution, a.source) else "")
    stances = _stances(accounts)
    topics = list(dict.fromkeys(t for x in accounts for t in x.topics))
    if stances and topics:
        return f"{head}, {stances}, on {_and(topics)}."
    if stances:
        return f"{head}, {stances}."
    if topics:
        return f"{head}, the {kind} concerned {_and(topics)}."
    return f"{a.source} gave an account of the {kind}."


def _version_paragraph(paragraph: _Paragraph, event: Event, version: Version) -> None:
    """One side's accounts of what was said: each source's main sentence quoted, its claims in English."""
    sources: dict[str, list[Account]] = {}
    for a in version.accounts:
        sources.setdefault(a.source, []).append(a)
    for accounts in sources.values():
        main = max(accounts, key=lambda a: (a.basis == "named", len(a.claims)))
        numbers = sorted({a.citation for a in accounts})
        reports = [r for r in event.reports if any(c.n in numbers for c in r.citations)]
        quote = paragraph.quote(first_sentence(main.quote), numbers, reports)
        paragraph.say(_account_sentence(event, accounts, version.value), quote.citations if quote.text else numbers)


def _claims_source(reports: list[Report]) -> str:
    by = list(dict.fromkeys(r.reported_by for r in reports if r.reported_by))
    return _and(by) if by else "the cited report"


def _first_paragraph(paragraph: _Paragraph, event: Event) -> None:
    kind = TYPE_EN.get(event.type, event.type)
    main = [r for r in event.reports if r.type == event.type] or event.reports
    dated = [r for r in main if r.date == event.date] or main[:1]
    candidates = dated + [r for r in main if r not in dated]
    said = next((d for d in event.disagreements if d.field == "what_was_said"), None)
    if said is not None:  # the sides' accounts are quoted in their own paragraphs
        accounts = {a.citation for v in said.versions for a in v.accounts}
        candidates = candidates[:1] + [r for r in candidates[1:] if r.citations[0].n not in accounts]
    said_when: list[int] = []
    for report in candidates:  # each report's evidence once (a sentence quoted before: its markers only)
        said_when += paragraph.quote(first_sentence(report.text), [report.citations[0].n], [report]).citations
    dating = next((r for r in main if r.date == event.date), None)
    sentence = _sentence_with(dating.text, event.date.phrase) if dating is not None else None
    if sentence and dating is not None and not any(sentence in q.text for q in paragraph.quotes):
        said_when += paragraph.quote(sentence, [dating.citations[0].n], [dating], after=dating).citations
    paragraph.say(_main_sentence(event), said_when)

    claims = [r for r in main if r.initiator]
    if event.initiator and claims:
        numbers = [r.citations[0].n for r in claims]
        text = _sentence_with(claims[0].text, claims[0].initiator_phrase) or first_sentence(claims[0].text)
        in_paragraph = next((q for q in paragraph.quotes if q.text and text in q.text), None)
        if in_paragraph is not None:
            in_paragraph.cite(numbers)
            numbers = in_paragraph.citations
        else:
            numbers = paragraph.quote(text, numbers, claims).citations
        paragraph.say(f"{event.initiator} initiated the {kind}, according to {_claims_source(claims)}.", numbers)
    for dispute in event.disagreements:
        if dispute.field not in ("date", "initiator"):
            continue
        for version in dispute.versions:
            reports = [r for r in main if r.id in version.reports]
            if not reports:
                continue
            r = reports[0]
            phrase = r.date.phrase if dispute.field == "date" else r.initiator_phrase
            text = _sentence_with(r.text, phrase) or first_sentence(r.text)
            numbers = paragraph.quote(text, [x.citations[0].n for x in reports], reports).citations
            if dispute.field == "date":
                paragraph.say(f"According to {_claims_source(reports)}, the {kind} took place on {version.value}.", numbers)
            else:
                paragraph.say(f"According to {_claims_source(reports)}, {version.value} initiated the {kind}.", numbers)

    if not any(d.field == "what_was_said" for d in event.disagreements):
        quoted = [(q, r) for q in paragraph.quotes for r in q.reports]
        for source in dict.fromkeys(r.reported_by for _, r in quoted if r.reported_by):
            if source not in event.participants:
                numbers = [n for q, r in quoted if r.reported_by == source for n in q.citations]
                paragraph.say(f"{source} reported the {kind}.", numbers)
        topics = list(dict.fromkeys(t for _, r in quoted for t in r.topics))
        if topics:
            paragraph.say(f"The cited reports mention {_and(topics)}.", [n for q, r in quoted if r.topics for n in q.citations])


def event_paragraphs(event: Event, shown: Shown) -> list[tuple[str, list[_Quote], list[tuple[str, list[int]]]]]:
    """(Arabic label, quotes, English sentences) per paragraph: one, or one per side when the sides' accounts of
    what was said differ (the first also says what happened, when and who initiated it)."""
    lead = label(event, "ar")
    said = next((d for d in event.disagreements if d.field == "what_was_said"), None)
    first = _Paragraph(shown)
    _first_paragraph(first, event)
    paragraphs = [first]
    if said is not None:
        for i, version in enumerate(said.versions):
            paragraph = first if i == 0 else _Paragraph(shown)
            _version_paragraph(paragraph, event, version)
            if i:
                paragraphs.append(paragraph)
    return [(lead, p.quotes, p.english) for p in paragraphs]


def pairs(timeline: Timeline, analyzer: Analyzer, shown: Shown | None = None) -> list[tuple[SummarySentence, SummarySentence]]:
    """The (Arabic, English) paragraphs of every event of ``timeline``, in order, each part verified against its
    passages; no sentence is quoted twice."""
    passages = [citation_node(c) for c in timeline.citations()]
    shown = shown or Shown()
    out = []
    for event in timeline.events:
        for lead, quotes, english in event_paragraphs(event, shown):
            ar_parts = [SummaryPart(text=q.text, citations=q.citations) for q in quotes if q.citations]
            en_parts = [SummaryPart(text=t, citations=n) for t, n in english]
            ar = _paragraph(event, lead, ar_parts, passages, analyzer)
            en = _paragraph(event, None, en_parts, passages, analyzer)
            en.derived = True
            out.append((ar, en))
    return out


_CALENDAR = re.compile(r"\b(?:" + "|".join(calendar.day_name[:] + calendar.month_name[1:]) + r")\b")
NOTHING_TO_CHECK = "nothing in the sentence can be checked against the passages"


def _checkable(sentence: str, event: Event) -> str:
    """Dalil's English sentence without the fields the rules already tied to the event's passages (its kind, people,
    sources, initiator and topics: a name may come from elsewhere in the article, "الوزيرين" → Lavrov and Kerry) and
    the words of its resolved date: what is left is checked, and its numbers against the passages' dates."""
    names = {*event.participants, *(r.reported_by for r in event.reports if r.reported_by),
             *(r.initiator for r in event.reports if r.initiator), *(r.initiator_side for r in event.reports if r.initiator_side),
             *(a.source for r in event.reports for a in r.accounts), *(a.attribution for r in event.reports for a in r.accounts)}
    names |= {TYPE_EN.get(event.type, event.type), "initiated", *event.topics, *(t for r in event.reports for a in r.accounts for t in a.topics)}
    for name in sorted(names, key=len, reverse=True):
        sentence = sentence.replace(name, " ")
    return _CALENDAR.sub(" ", sentence)


def _paragraph(event: Event, lead: str | None, parts: list[SummaryPart], passages, analyzer: Analyzer) -> SummarySentence:
    numbers = sorted({n for p in parts for n in p.citations})
    checks = [checked(event.id, p.text if lead else _checkable(p.text, event), p.citations, passages, analyzer, strict=False)
              for p in parts if p.text]
    problems = list(dict.fromkeys(x for c in checks for x in c.problems if lead or x != NOTHING_TO_CHECK))
    body = " ".join(p.text for p in parts if p.text)
    text = f"{lead}: {body}" if lead else body
    return SummarySentence(event=event.id, text=text, citations=numbers, supported=not problems,
                           support=min((c.support for c in checks), default=0.0), problems=problems,
                           lead=lead, parts=parts)
