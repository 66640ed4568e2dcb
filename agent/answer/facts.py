"""Slot facts for citation checking: what a passage states and what a claim says about the same slots.

A passage (text + its article's publication day) → ``PassageFacts``: who initiated its calls,
the days its date phrases resolve to (and the day of each event), the numbers it states
(digits, Arabic-Indic digits and Arabic number words, with ألف/مليون scales), whose words it
relays and who took part in its events. The passage side reuses the offline event rules of
``agent.events.events`` (``Extractor``: initiator patterns, attribution, participants) and
``agent.text.dates`` (relative dates such as "امس الأحد" resolved against the publication day).

A claim (one answer sentence, Arabic or English) → ``ClaimSlots``: the initiator, dates,
numbers, speaker and participants it states, by patterns over its words and the lexicon's
names (English names map to the same entities as the Arabic ones). ``check_slots`` says
where the two disagree; ``agent.answer.citations.verify`` turns each disagreement into a problem.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Sequence
from dataclasses import dataclass, field
from functools import lru_cache

from agent.text import arabic
from agent.text.dates import ResolvedDate, resolve_dates
from agent.text.lexicon import Analyzer

# --------------------------------------------------------------------------- numbers

_AR_UNITS = {
    "واحد": 1, "واحده": 1, "اثنان": 2, "اثنين": 2, "اثنتان": 2, "اثنتين": 2, "ثلاث": 3, "ثلاثه": 3, "اربع": 4, "اربعه": 4,
    "خمس": 5, "خمسه": 5, "ست": 6, "سته": 6, "سبع": 7, "سبعه": 7, "ثمان": 8, "ثماني": 8, "ثمانيه": 8, "تسع": 9, "تسعه": 9,
    "عشر": 10, "عشره": 10, "عشرون": 20, "عشرين": 20, "ثلاثون": 30, "ثلاثين": 30, "اربعون": 40, "اربعين": 40,
    "خمسون": 50, "خمسين": 50, "ستون": 60, "ستين": 60, "سبعون": 70, "سبعين": 70, "ثمانون": 80, "ثمانين": 80,
    "تسعون": 90, "تسعين": 90, "مئه": 100, "مائه": 100, "مئتان": 200, "مئتين": 200, "مائتان": 200, "مائتين": 200,
    "الف": 1000, "الفان": 2000, "الفين": 2000, "مليون": 1_000_000, "مليونان": 2_000_000, "مليونين": 2_000_000,
} | {dual: 2 for dual in (  # a dual noun states two: "بعد يومين"
    "يومين يومان ساعتين ساعتان اسبوعين اسبوعان شهرين شهران دقيقتين دقيقتان مرتين مرتان عامين عامان سنتين سنتان"
).split()}
_AR_SCALES = {"الف": 1000, "الاف": 1000, "مليون": 1_000_000, "ملايين": 1_000_000, "مليار": 1_000_000_000}
# "one" is left out: "one of the …" states no count
_EN_UNITS = {
    "two": 2, "three": 3, "four": 4, "five": 5, "six": 6, "seven": 7, "eight": 8, "nine": 9, "ten": 10, "eleven": 11,
    "twelve": 12, "thirteen": 13, "fourteen": 14, "fifteen": 15, "sixteen": 16, "seventeen": 17, "eighteen": 18,
    "nineteen": 19, "twenty": 20, "thirty": 30, "forty": 40, "fifty": 50, "sixty": 60, "seventy": 70, "eighty": 80,
    "ninety": 90, "hundred": 100, "thousand": 1000, "million": 1_000_000, "dozen": 12,
}
_EN_SCALES = {"hundred": 100, "thousand": 1000, "million": 1_000_000, "billion": 1_000_000_000}
_TOKEN = re.compile(r"\d+(?:[.,]\d+)*|[^\W\d_]+", re.UNICODE)


@dataclass(frozen=True)
class Number:
    written: str
    value: float


def _digits_value(token: str) -> float:
    if re.fullmatch(r"\d{1,3}(?:,\d{3})+", token):  # 250,000
        return float(token.replace(",", ""))
    return float(token.replace(",", "."))


def _word_value(word: str) -> int | None:
    word = word.replace("ة", "ه")
    if word in _AR_UNITS:
        return _AR_UNITS[word]
    if len(word) > 3 and word[0] in "وبل" and word[1:] in _AR_UNITS:
        return _AR_UNITS[word[1:]]
    return _EN_UNITS.get(word)


def _scale(word: str) -> int | None:
    word = word.replace("ة", "ه")
    return _AR_SCALES.get(word) or _EN_SCALES.get(word)


def numbers(text: str, skip: Sequence[tuple[int, int]] = ()) -> list[Number]:
    """The numbers ``text`` states: digits (any script, "250,000", "12.8 ألف") and number words
    ("ثلاثة أيام", "عشرة", "three", "twenty-five"); spans in ``skip`` (date phrases) are left out."""
    norm = arabic.normalize(text)
    out: list[Number] = []
    tokens = [m for m in _TOKEN.finditer(norm) if not any(a <= m.start() < b for a, b in skip)]
    i = 0
    while i < len(tokens):
        tok = tokens[i].group()
        value: float | None = _digits_value(tok) if tok[0].isdigit() else _word_value(tok)
        if value is None:
            i += 1
            continue
        start, end = tokens[i].start(), tokens[i].end()
        j = i + 1
        # "ثلاثة وعشرون", "twenty five" / "twenty-five"
        if j < len(tokens) and not tok[0].isdigit():
            nxt = tokens[j].group()
            extra = _word_value(nxt[1:]) if nxt.startswith("و") and len(nxt) > 2 else _word_value(nxt)
            if extra is not None and (value < 10 <= extra < 100 or (10 < value < 100 and value % 10 == 0 and extra < 10)):
                value += extra
                end = tokens[j].end()
                j += 1
        if j < len(tokens) and (scale := _scale(tokens[j].group())) and value < 1000:
            value *= scale
            end = tokens[j].end()
            j += 1
        out.append(Number(norm[start:end], value))
        i = j
    return out


@lru_cache(maxsize=512)
def numbers_of(text: str) -> frozenset[float]:
    """The values of the numbers ``text`` states."""
    return frozenset(n.value for n in numbers(text))


# --------------------------------------------------------------------------- passage facts


@dataclass(frozen=True)
class Initiator:
    name: str  # English name of a person, or a side
    side: str | None
    phrase: str | None
    date: dt.date | None = None  # the day of the call it initiated, when the passage dates it


@dataclass
class PassageFacts:
    """What one passage states, slot by slot (names are the lexicon's English names)."""

    initiators: list[Initiator] = field(default_factory=list)
    dates: dict[dt.date, str] = field(default_factory=dict)  # every day a date phrase resolves to → the phrase
    event_dates: dict[str, dict[dt.date, str]] = field(default_factory=dict)  # event type → its days
    numbers: set[float] = field(default_factory=set)
    speakers: set[str] = field(default_factory=set)  # sources, their spokesmen, people whose words are given
    participants: dict[str, set[str]] = field(default_factory=dict)  # event type → people (and sides) taking part
    published: dt.date | None = None


_INDEXES: dict[int, tuple[Analyzer, object]] = {}


def entity_index(analyzer: Analyzer):
    """The event rules' entity index for ``analyzer`` (built once per analyzer)."""
    from agent.events.entities import build_index

    held = _INDEXES.get(id(analyzer))
    if held is None or held[0] is not analyzer:
        held = _INDEXES[id(analyzer)] = (analyzer, build_index(analyzer))
    return held[1]


def passage_facts(text: str, published: dt.date | None, analyzer: Analyzer) -> PassageFacts:
    """The facts of one passage; dates resolve against ``published`` (none when it is unknown)."""
    entity_index(analyzer)
    return _passage_facts(text, published, id(analyzer))


@lru_cache(maxsize=512)
def _passage_facts(text: str, published: dt.date | None, analyzer_id: int) -> PassageFacts:
    from agent.events.corpus import Article, Citer
    from agent.events.events import Extractor

    analyzer = _INDEXES[analyzer_id][0]
    facts = PassageFacts(published=published, numbers=set(numbers_of(text)))
    if published is None:  # relative dates cannot be resolved; absolute ones still can, against any year
        return facts
    article = Article(doc_id="passage", file="passage", published=published, outlet=None, text=text)
    extractor = Extractor(article, entity_index(analyzer), analyzer, Citer())
    for d in extractor.dates:
        if d.date and d.granularity == "day":
            facts.dates.setdefault(d.date, d.phrase)
    for a in extractor.attributions:
        if a is not None:
            facts.speakers.update(x for x in (a.name, a.via) if x)
    for report in extractor.run():
        kind = "call" if report.type == "call" else "meeting" if report.type == "meeting" else report.type
        if report.initiator:
            day = report.date.date if report.date.basis != "not_stated" else None
            facts.initiators.append(Initiator(report.initiator, report.initiator_side, report.initiator_phrase, day))
        if report.date.date and report.date.basis != "not_stated":
            facts.event_dates.setdefault(kind, {}).setdefault(report.date.date, report.date.phrase or "")
        facts.participants.setdefault(kind, set()).update(report.participants)
        facts.speakers.update(x for x in (report.reported_by,) if x)
        for p in report.positions:
            facts.speakers.add(p.holder)
        for account in report.accounts:
            facts.speakers.update(x for x in (account.attribution, account.via) if x)
            facts.speakers.update(p.holder for p in account.positions)
    return facts


# --------------------------------------------------------------------------- claim slots

# English names of the sources the event rules name (agent.events.vocab.REPORTERS), as an answer writes them
_EN_SOURCES = [
    (r"russian\s+foreign\s+ministry|russian\s+ministry\s+of\s+foreign\s+affairs|foreign\s+ministry\s+of\s+russia|"
     r"russia'?s\s+foreign\s+ministry|moscow'?s\s+foreign\s+ministry|russian\s+foreign\s+ministry'?s?", "Russian Foreign Ministry"),
    (r"(?:u\.?s\.?|us|american|united\s+states)\s+state\s+department|state\s+department|american\s+foreign\s+ministry|"
     r"u\.?s\.?\s+foreign\s+ministry", "US State Department"),
    (r"kremlin", "Kremlin"), (r"reuters", "Reuters"), (r"afp|agence\s+france[-\s]presse", "AFP"), (r"sputnik", "Sputnik"),
    (r"russian\s+news\s+agencies", "Russian news agencies"),
]
_EN_SOURCE_RE = [(re.compile(r"\b(?:" + p + r")\b"), name) for p, name in _EN_SOURCES]
_EN_SIDES = [(re.compile(r"\b(?:american|us|u\.s\.|washington)\s+side\b|\bwashington\b|\bamericans\b|\bthe\s+(?:us|u\.s\.|united\s+states)\b"),
              "United States"),
             (re.compile(r"\brussian\s+side\b|\bmoscow\b|\brussians\b"), "Russia")]


@dataclass(frozen=True)
class Named:
    start: int
    end: int
    name: str
    kind: str  # person, country, place, organization, side, source


def mentions(sentence: str, analyzer: Analyzer) -> list[Named]:
    """People, places, sides and sources a sentence names (offsets in ``arabic.normalize(sentence)``)."""
    from agent.events import vocab
    from agent.events.textmap import NormText

    norm = arabic.normalize(sentence)
    index = entity_index(analyzer)
    found: list[Named] = []
    for pattern, name in vocab.REPORTER_RE:
        found += [Named(m.start(), m.end(), name, "source") for m in pattern.finditer(norm)]
    for pattern, name in _EN_SOURCE_RE:
        found += [Named(m.start(), m.end(), name, "source") for m in pattern.finditer(norm)]
    for pattern, side in _EN_SIDES:
        found += [Named(m.start(), m.end(), side, "side") for m in pattern.finditer(norm)]
    nt = NormText(norm)  # already normalized: offsets are the same
    found += [Named(m.start, m.end, m.name, m.kind) for m in index.mentions(nt)]
    for entity in analyzer.entities:
        info = next((i for i in index.entities if i.en == entity.en), None)
        words = {arabic.normalize(v) for v in (entity.en, *entity.en_variants) if len(v) > 2}
        for word in sorted(words, key=len, reverse=True):
            for m in re.finditer(r"(?<![\w'])" + re.escape(word) + r"(?:'s)?(?![\w])", norm):
                found.append(Named(m.start(), m.end(), entity.en, info.kind if info else "other"))
    found.sort(key=lambda m: (m.start, -(m.end - m.start), m.kind != "source"))
    kept: list[Named] = []
    for n in found:
        if kept and n.start < kept[-1].end:
            continue
        kept.append(n)
    return kept


_WORD = re.compile(r"\S+")

# who initiated: the initiator comes after the cue (passive, "بمبادرة من …", VSO Arabic verbs) or before it (English subject)
_INIT_AFTER = re.compile(
    r"\b(?:at\s+the\s+(?:initiative|request|behest|invitation)\s+of|on\s+the\s+initiative\s+of|(?:initiated|requested|"
    r"placed|made|arranged|proposed|sought)\s+by|initiative\s+(?:came\s+)?from)\b"
    r"|(?<!\w)(?:بعد\s+)?[وف]?(?:بمبادره|مبادره)\s+(?:من\s+)?|(?<!\w)[وف]?(?:بناء\s+علي\s+طلب|بطلب\s+من)\s+"
    r"|(?<!\w)[وف]?(?:بادر|بادرت|اجري|اجرت|اتصل|اتصلت|طلب|طلبت)(?!\w)"
)
_INIT_BEFORE = re.compile(
    r"\b(?:initiated|initiates|initiate|requested|took\s+the\s+initiative|placed\s+(?:the|a)\s+(?:phone\s+)?call|"
    r"made\s+(?:the|a)\s+(?:phone\s+)?call|phoned|rang|called\s+(?=[a-z])(?!for\b|on\b|off\b|it\b))\b"
    r"|(?<!\w)[وف]?(?:بادر|بادرت|اجري|اجرت|اتصل|اتصلت)(?!\w)"
)
_POSSESSIVE_INIT = re.compile(r"'s\s+(?:initiative|request|behest)\b")
_SPEECH_EN = re.compile(
    r"\b(?:said|says|say|told|tells|stated|states|announced|announces|warned|warns|added|adds|stressed|affirmed|confirmed|"
    r"noted|explained|urged|declared|insisted|claimed|accused|reported|expressed|informed|according\s+to)\b")
_SPEECH_AR = re.compile(
    r"(?<!\w)[وف]?(?:قال|قالت|يقول|تقول|اعلن|اعلنت|صرح|صرحت|اكد|اكدت|حذر|حذرت|اضاف|اضافت|اوضح|اوضحت|ابلغ|ابلغت|"
    r"شدد|شددت|ذكر|ذكرت|افاد|افادت|حث|حثت|بحسب|وفق|حسب)(?!\w)")
_CALL_EN = re.compile(r"\b(?:call|calls|called(?!\s+(?:for|on|off)\b)|phone|phoned|telephone|spoke|speak|talked|conversation)\b")
_MEETING_EN = re.compile(r"\b(?:met|meet|meets|meeting|visit|visited)\b")
_AGAINST = re.compile(r"\b(?:with|to)\b\s*$")


@dataclass
class ClaimSlots:
    """What one answer sentence states, slot by slot (English names; dates unresolved until a passage is known)."""

    initiators: list[str] = field(default_factory=list)  # "" when it states an initiator the lexicon cannot name
    date_phrases: bool = False
    numbers: list[Number] = field(default_factory=list)
    speakers: list[str] = field(default_factory=list)
    participants: list[str] = field(default_factory=list)
    event: str | None = None  # "call" or "meeting" when the sentence is about one

    def empty(self) -> bool:
        return not (self.initiators or self.date_phrases or self.speakers or self.participants)


def _word_gap(norm: str, a: int, b: int) -> int:
    return len(_WORD.findall(norm[min(a, b):max(a, b)]))


def _event(norm: str) -> str | None:
    from agent.events import vocab

    if _CALL_EN.search(norm) or vocab.CALL_STRONG.search(norm) or vocab.CALL_WEAK.search(norm) or vocab.CALL_ANAPHOR.search(norm):
        return "call"
    if _MEETING_EN.search(norm) or vocab.MEETING.search(norm):
        return "meeting"
    return None


def claim_dates(sentence: str, reference: dt.date) -> list[ResolvedDate]:
    """The claim's date phrases that name a day or a month, resolved against ``reference``."""
    return [d for d in resolve_dates(sentence, reference, lang="any")
            if d.granularity in ("day", "month") and (d.date or d.period_start)]


def claim_slots(sentence: str, analyzer: Analyzer) -> ClaimSlots:
    """Which slots ``sentence`` states: who initiated, when, how many, who said, who took part."""
    entity_index(analyzer)
    return _claim_slots(sentence, id(analyzer))


@lru_cache(maxsize=1024)
def _claim_slots(sentence: str, analyzer_id: int) -> ClaimSlots:
    analyzer = _INDEXES[analyzer_id][0]
    norm = arabic.fold(sentence)  # one character for one: offsets stay those of mentions()
    slots = ClaimSlots(event=_event(arabic.normalize(sentence)))
    found = mentions(sentence, analyzer)
    agents = [m for m in found if m.kind in ("person", "side", "source", "country", "organization")]
    dated = resolve_dates(sentence, dt.date(2000, 1, 1), lang="any")
    slots.date_phrases = any(d.granularity in ("day", "month") for d in dated)
    skip = [(_norm_offset(sentence, d.start), _norm_offset(sentence, d.end)) for d in dated]
    slots.numbers = numbers(sentence, skip)

    # who initiated
    for m in _POSSESSIVE_INIT.finditer(norm):
        before = [a for a in agents if a.end <= m.start() + 2 and _word_gap(norm, a.end, m.start()) <= 0]
        slots.initiators.append(before[-1].name if before else "")
    for m in _INIT_AFTER.finditer(norm):
        after = [a for a in agents if a.start >= m.end() and _word_gap(norm, m.end(), a.start) <= 3]
        if m.group().strip().endswith(("اجري", "اجرت", "اتصل", "اتصلت", "طلب", "طلبت", "بادر", "بادرت")) and not after:
            continue  # an Arabic verb with its subject before it: handled below
        if not after and not arabic.is_arabic(m.group()):
            slots.initiators.append("")
        elif after:
            slots.initiators.append(after[0].name)
    for m in _INIT_BEFORE.finditer(norm):
        if any(n.start() <= m.start() < n.end() for n in _INIT_AFTER.finditer(norm)) and arabic.is_arabic(m.group()) \
                and [a for a in agents if a.start >= m.end() and _word_gap(norm, m.end(), a.start) <= 3]:
            continue
        before = [a for a in agents if a.end <= m.start() and _word_gap(norm, a.end, m.start()) <= 3
                  and not _AGAINST.search(norm[:a.start])]
        if before:
            slots.initiators.append(before[-1].name)
        elif not arabic.is_arabic(m.group()) and m.group().startswith(("initiat", "took")):
            slots.initiators.append("")
    slots.initiators = list(dict.fromkeys(slots.initiators))

    # who said
    speakers: list[Named] = []
    for m in _SPEECH_EN.finditer(norm):
        if m.group().startswith("according"):
            after = [a for a in agents if a.start >= m.end() and _word_gap(norm, m.end(), a.start) <= 2]
            speakers += after[:1]
            continue
        before = [a for a in agents if a.end <= m.start() and _word_gap(norm, a.end, m.start()) <= 2]
        speakers += before[-1:]
    for m in _SPEECH_AR.finditer(norm):
        after = [a for a in agents if a.start >= m.end() and _word_gap(norm, m.end(), a.start) <= 4]
        before = [a for a in agents if a.end <= m.start() and _word_gap(norm, a.end, m.start()) <= 1]
        speakers += after[:1] or before[-1:]
    slots.speakers = list(dict.fromkeys(s.name for s in speakers))

    # who took part (people only: "the Russian side", "Moscow" also name a ministry or a country's voice)
    if slots.event:
        said = {s.start for s in speakers}
        slots.participants = list(dict.fromkeys(
            m.name for m in found if m.kind == "person" and m.start not in said and m.name not in slots.speakers
        ))
    return slots


def _norm_offset(text: str, original: int) -> int:
    return len(arabic.normalize(text[:original]))


# --------------------------------------------------------------------------- agreement


@dataclass(frozen=True)
class Cited:
    """One cited passage: its text and its article's publication day."""

    text: str
    published: dt.date | None


def _side_of(name: str, analyzer: Analyzer) -> str | None:
    index = entity_index(analyzer)
    from agent.events import vocab

    if name in vocab.REPORTER_SIDES:
        return vocab.REPORTER_SIDES[name]
    return index.side_of(name) or (name if index.kind_of(name) == "country" else None)


def _same_agent(claimed: str, stated: str, analyzer: Analyzer, by_side: bool) -> bool:
    """Whether the claim's name and the passage's agree: the same name, or (``by_side``) a side and one of its members."""
    if claimed == stated:
        return True
    if not by_side:
        return False
    index = entity_index(analyzer)
    claimed_kind, stated_kind = index.kind_of(claimed), index.kind_of(stated)
    side_c, side_s = _side_of(claimed, analyzer), _side_of(stated, analyzer)
    if side_c is None or side_c != side_s:
        return False
    # a side on either end ("بمبادرة من الجانب الأمريكي" and "Kerry initiated"): the side level is all the passage says
    return claimed_kind != "person" or stated_kind != "person"


def _fmt(day: dt.date) -> str:
    return f"{day.day} {day.strftime('%B')} {day.year}"


def check_slots(sentence: str, cited: Sequence[Cited], analyzer: Analyzer,
                known: Sequence[str] = ()) -> tuple[list[str], list[tuple[int, int]]]:
    """Problems with the slots ``sentence`` states against its cited passages, and the spans (original offsets) of
    its date phrases when they were verified (their words need no other check). ``known``: participants the caller
    has already tied to these passages (an event's, in the sequence summary)."""
    slots = claim_slots(sentence, analyzer)
    if slots.empty() or not cited:
        return [], []
    facts = [passage_facts(c.text, c.published, analyzer) for c in cited]
    where = "the cited passage" if len(cited) == 1 else "the cited passages"
    problems: list[str] = []
    verified: list[tuple[int, int]] = []

    if slots.initiators:
        stated = [i for c, f in zip(cited, facts, strict=True) for i in f.initiators if _initiated_then(sentence, c, i)]
        for claimed in slots.initiators:
            if not stated:
                who = f", but the sentence says {claimed}" if claimed else ", but the sentence states one"
                problems.append(f"initiator: {where} name{'s' if len(cited) == 1 else ''} no initiator{who}")
            elif claimed and not any(_same_agent(claimed, i.name, analyzer, True) or (i.side and claimed == i.side) for i in stated):
                names = ", ".join(dict.fromkeys(i.name for i in stated))
                problems.append(f"initiator: {where} names {names} as the initiator, not {claimed}")

    if slots.date_phrases:
        problem, spans = _check_dates(sentence, slots, cited, facts, where)
        if problem:
            problems.append(problem)
        verified = spans

    for claimed in slots.speakers:
        stated_speakers = set().union(*(f.speakers for f in facts))
        if not any(_same_agent(claimed, s, analyzer, entity_index(analyzer).kind_of(claimed) != "person") for s in stated_speakers):
            names = ", ".join(sorted(stated_speakers)) or "no one"
            problems.append(f"speaker: {where} attribute{'s' if len(cited) == 1 else ''} these words to {names}, not {claimed}")

    if slots.participants and slots.event:
        taking_part = set().union(*(f.participants.get(slots.event, set()) for f in facts))
        absent = [p for p in slots.participants if p not in taking_part and p not in known]
        if absent:
            event = "call" if slots.event == "call" else "meeting"
            if not taking_part:
                problems.append(f"participants: {where} report{'s' if len(cited) == 1 else ''} no {event} with " + ", ".join(absent))
            else:
                problems.append(f"participants: {', '.join(absent)} not among those in the {event} of {where} "
                                f"({', '.join(sorted(taking_part))})")
    return problems, verified


def _initiated_then(sentence: str, cited: Cited, initiator: Initiator) -> bool:
    """Whether the call ``initiator`` initiated can be the one the sentence dates ("the 1 October call"): an
    undated call or sentence fits any."""
    if initiator.date is None or cited.published is None:
        return True
    days = [d for d in claim_dates(sentence, cited.published) if d.granularity == "day"]
    return not days or any(_same_day(d, {initiator.date: ""}) for d in days)


def _names_year(d: ResolvedDate) -> bool:
    return bool(re.search(r"\d{4}", arabic.normalize(d.phrase)))


def _same_day(d: ResolvedDate, pool: dict[dt.date, str]) -> bool:
    """The claimed day is one of ``pool``: the same date, or the same day and month when the claim names no year."""
    if d.date in pool:
        return True
    return d.date is not None and not _names_year(d) and any(
        (x.month, x.day) == (d.date.month, d.date.day) for x in pool) and not d.offset_days


def _in_month(d: ResolvedDate, day: dt.date) -> bool:
    if d.period_start is None or d.period_end is None:
        return False
    if _names_year(d):
        return d.period_start <= day <= d.period_end
    return day.month == d.period_start.month


def _check_dates(sentence: str, slots: ClaimSlots, cited: Sequence[Cited], facts: list[PassageFacts],
                 where: str) -> tuple[str | None, list[tuple[int, int]]]:
    """Every day (or month) the claim states must be a day the passage's date phrases resolve to — the event's own
    day when the claim is about a call or meeting the passage dates — resolved against that passage's publication day."""
    undated = [c for c in cited if c.published is None]
    if len(undated) == len(cited):
        return f"date: {where} {'has' if len(cited) == 1 else 'have'} no publication date to resolve dates against", []
    claimed_all: list[ResolvedDate] = []
    unmatched: dict[int, ResolvedDate] = {}
    for c, f in zip(cited, facts, strict=True):
        if c.published is None:
            continue
        days = dict(f.dates)
        event_days = f.event_dates.get(slots.event or "", {})
        pool = event_days or days
        for d in claim_dates(sentence, c.published):
            if not claimed_all or all(x.start != d.start for x in claimed_all):
                claimed_all.append(d)
            ok = (d.granularity == "day" and _same_day(d, pool)) or (
                d.granularity == "month" and any(_in_month(d, x) for x in pool))
            if ok:
                unmatched.pop(d.start, None)
                unmatched.setdefault(-1 - d.start, d)  # marks the phrase as matched somewhere
            elif -1 - d.start not in unmatched:
                unmatched[d.start] = d
    missing = [d for k, d in unmatched.items() if k >= 0]
    if not missing:
        return None, [(d.start, d.end) for d in claimed_all]
    d = missing[0]
    stated = sorted({x for f in facts for x in (f.event_dates.get(slots.event or "") or f.dates)})
    claimed = (_fmt(d.date) if _names_year(d) else f"{d.date.day} {d.date.strftime('%B')}") \
        if d.granularity == "day" and d.date else d.phrase
    what = f"the {slots.event}" if slots.event and any(f.event_dates.get(slots.event) for f in facts) else "its date phrases"
    if not stated:
        return f"date: {where} {'states' if len(cited) == 1 else 'state'} no date for {claimed}", []
    return f"date: {where} date{'s' if len(cited) == 1 else ''} {what} to {', '.join(_fmt(x) for x in stated)}, not {claimed}", []
