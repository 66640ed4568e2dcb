"""Event grounding: a ``QuestionFrame`` and the store's events → the events a question is about.

Takes a frame, the events of the corpus (``agent.events`` models: dated, with participants,
initiator and cited reports) and retrieved passages; returns the candidate events the
frame's constraints select, the chunks that report them (to boost or add in retrieval),
the one event an answer is about, the event (or pair) a description such as "the Tuesday call"
names, and an event's label in the question's language.
"""

from __future__ import annotations

import datetime as dt
import re
from collections.abc import Callable, Iterable
from typing import TYPE_CHECKING, cast

from agent.retrieval.question import QuestionFrame, country_stem
from agent.text import arabic

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

    from agent.events.models import Event
    from agent.text.lexicon import Analyzer

_KINDS = {"ceasefire": ("ceasefire_start", "ceasefire_collapse")}
TYPE_EN = {"call": "phone call", "agreement": "agreement", "ceasefire_start": "start of the ceasefire",
           "ceasefire_collapse": "end of the ceasefire", "suspension": "suspension", "meeting": "meeting", "statement": "statement"}
TYPE_AR = {"call": "الاتصال الهاتفي", "agreement": "الاتفاق", "ceasefire_start": "بدء الهدنة", "ceasefire_collapse": "انهيار الهدنة",
           "suspension": "التعليق", "meeting": "اللقاء", "statement": "البيان"}
WEEKDAYS_AR = ("الاثنين", "الثلاثاء", "الأربعاء", "الخميس", "الجمعة", "السبت", "الأحد")
MONTHS_AR = ("كانون الثاني", "شباط", "آذار", "نيسان", "أيار", "حزيران", "تموز", "آب", "أيلول", "تشرين الأول", "تشرين الثاني", "كانون الأول")
_PEOPLE_KINDS = ("person",)


def constrained(frame: QuestionFrame) -> bool:
    """Whether the frame narrows the events by time or relation (a kind of event alone does not)."""
    return frame.pins_time or frame.relation is not None or frame.described is not None


def kind_matches(frame: QuestionFrame, event: Event) -> bool:
    return frame.event is None or event.type in _KINDS.get(frame.event, (frame.event,))


_START = re.compile(r"\b(start\w*|began|begin\w*|entered into force|took effect)\b|بدء|بداي|دخل حيز|دخول", re.I)
_END = re.compile(r"\b(end\w*|collaps\w*|fail\w*|broke down|breakdown)\b|انهيار|انهار|انتهاء|انتهت|فشل", re.I)


def kind_fits(frame: QuestionFrame, kind: str, text: str | None = None) -> bool:
    """Whether an event of ``kind`` is what the frame asks about ("the start of the ceasefire" is not its end)."""
    if frame.event is None:
        return True
    if frame.event != "ceasefire":
        return kind == frame.event
    words = text or frame.question
    if _START.search(words) and not _END.search(words):
        return kind == "ceasefire_start"
    if _END.search(words) and not _START.search(words):
        return kind == "ceasefire_collapse"
    return kind in ("ceasefire_start", "ceasefire_collapse")


def candidate_events(frame: QuestionFrame, events: list[Event], people: Iterable[str] = ()) -> list[Event]:
    """The events that meet the frame's kind, date, weekday, people and relation constraints."""
    if frame.described:
        return [e for e in events if e.id == frame.described]
    if frame.from_pinned:
        return _from_pinned(frame, events, people)
    wanted_people = set(people)
    out = []
    for event in events:
        if not kind_matches(frame, event):
            continue
        if frame.date_from is not None and not event.date.overlaps(frame.date_from, frame.date_to):
            continue
        if frame.weekday is not None and not (event.date.granularity == "day" and event.date.date is not None
                                              and event.date.date.weekday() == frame.weekday):
            continue
        if wanted_people and event.participants and not wanted_people & set(event.participants):
            continue
        if frame.reported_on is not None and not _made_known_on(event, frame.reported_on):
            continue
        out.append(event)
    if frame.reported_on is not None:
        out = _most_likely_made_known(out, frame.reported_on)
    if frame.relation and frame.relation_from and frame.relation_to:  # anchored on a day: "the call before the one on 16 August"
        if frame.relation == "after":
            out = sorted((e for e in out if e.date.start > frame.relation_to), key=lambda e: e.date.start)
        else:
            out = sorted((e for e in out if e.date.end < frame.relation_from), key=lambda e: e.date.end, reverse=True)
        if frame.relation_days:  # "the meeting the week before the 28 Oct call": about then, not the nearest of any age
            out = [e for e in out if _about_days_from(e, frame, frame.relation_days)]
        return _nearest(out) if frame.nearest else out
    if frame.relation and frame.relation_event and frame.relation_days:  # "two days before the suspension"
        anchors = [e for e in events if e.type in _KINDS.get(frame.relation_event, (frame.relation_event,))
                   and e.date.granularity == "day" and e.date.date]
        if not anchors:
            return []
        sign = -1 if frame.relation == "before" else 1
        target = cast(dt.date, anchors[0].date.date) + dt.timedelta(days=sign * frame.relation_days)
        near = sorted((e for e in out if e.date.granularity == "day" and e.date.date and abs((e.date.date - target).days) <= 1),
                      key=lambda e: abs((cast(dt.date, e.date.date) - target).days))
        return near[:1]
    if frame.relation and frame.relation_event:
        anchors = [e for e in events if e.type in _KINDS.get(frame.relation_event, (frame.relation_event,))]
        anchors = [e for e in anchors if e.id == frame.relation_anchor] or anchors  # the one the question's words describe
        if anchors:
            anchor = anchors[0].date
            if frame.relation == "after":
                out = [e for e in out if e.date.start > anchor.end and e not in anchors]
            else:
                out = [e for e in out if e.date.end < anchor.start and e not in anchors]
    return out


def _about_days_from(event: Event, frame: QuestionFrame, days: int) -> bool:
    """Whether ``event`` is dated about ``days`` before (or after) the frame's anchor day: within half the
    offset, a day at least ("the week before": three days either side of seven days before)."""
    anchor = frame.relation_from if frame.relation == "before" else frame.relation_to
    if anchor is None or event.date.granularity != "day" or event.date.date is None:
        return False
    target = anchor + dt.timedelta(days=-days if frame.relation == "before" else days)
    return abs((event.date.date - target).days) <= max(1, days // 2)


NEAREST_WITHIN_DAYS = 45  # the event just before or after another: "Kerry's July visit" is the one before the mid-August call


def _from_pinned(frame: QuestionFrame, events: list[Event], people: Iterable[str]) -> list[Event]:
    """The nearest event of the asked kind before (or after) the one the frame's day pins."""
    unrelated = {"relation": None, "relation_event": None, "from_pinned": False, "nearest": False}
    # the anchor is of the kind the relation names: "the meeting before Friday's call" is anchored on a call
    pinned = frame.model_copy(update={**unrelated, "event": frame.relation_event or frame.event})
    anchors = sorted(candidate_events(pinned, events, people), key=lambda e: e.date.start)
    anchors = [e for e in anchors if e.id == frame.relation_anchor] or anchors  # the one the question's words describe
    if not anchors or (pinned.event != frame.event and len(anchors) > 1):
        return []  # "the meeting before Friday's call", with three Friday calls: not one to ground on
    free = frame.model_copy(update={**unrelated, "date_from": None, "date_to": None, "weekday": None, "relation_days": None})
    pool = candidate_events(free, events, people)
    if frame.relation_days and anchors[0].date.granularity == "day" and anchors[0].date.date:  # "a day before the Saturday call"
        sign = -1 if frame.relation == "before" else 1
        target = anchors[0].date.date + dt.timedelta(days=sign * frame.relation_days)
        near = sorted((e for e in pool if e.date.granularity == "day" and e.date.date and abs((e.date.date - target).days) <= 1
                       and e not in anchors), key=lambda e: abs((cast(dt.date, e.date.date) - target).days))
        return near[:1]
    if frame.relation == "after":
        later = sorted((e for e in pool if e.date.start > anchors[-1].date.end), key=lambda e: e.date.start)
        return [e for e in _nearest(later) if (e.date.start - anchors[-1].date.end).days <= NEAREST_WITHIN_DAYS]
    earlier = sorted((e for e in pool if e.date.end < anchors[0].date.start), key=lambda e: e.date.end, reverse=True)
    # the meeting "before Friday's call" that the index holds may be months older: not the one the question means
    return [e for e in _nearest(earlier) if (anchors[0].date.start - e.date.end).days <= NEAREST_WITHIN_DAYS]


def _nearest(events: list[Event]) -> list[Event]:
    """The first of ``events`` (nearest the anchor) with a day date, else the first; as a list."""
    dated = [e for e in events if e.date.granularity == "day"]
    return (dated or events)[:1]


REPORTED_WITHIN_DAYS = 3  # an event a question says was made known on a day, when no report gives that day: up to this many days before


def _told_on(event: Event, day: dt.date) -> bool:
    """Whether a report of ``event`` says it was made known on ``day``."""
    return any(r.reported_on is not None and r.reported_on.start <= day <= r.reported_on.end for r in event.reports)


def _made_known_on(event: Event, day: dt.date) -> bool:
    """Whether ``event`` was made known on ``day``: a report says so, or it happened that day or shortly before."""
    return _told_on(event, day) or (event.date.granularity == "day" and event.date.date is not None
                                    and 0 <= (day - event.date.date).days <= REPORTED_WITHIN_DAYS)


def _most_likely_made_known(events: list[Event], day: dt.date) -> list[Event]:
    """Of the events made known on ``day``, those a report says were told that day, else those of the day itself,
    else all of them (the days just before)."""
    told = [e for e in events if _told_on(e, day)]
    same_day = [e for e in events if e.date.granularity == "day" and e.date.date == day]
    return told or same_day or events


def unmentioned(frame: QuestionFrame, event: Event, texts: list[str], analyzer: Analyzer) -> list[str]:
    """The countries a question about one event names that none of ``texts`` (the passages reporting it) mention:
    "what did they say about Ukraine in the 5 August call" (its one report is about Syria). Not the participants'
    sides, the people naming the call, or a relation's anchor ("the call before the Saturday call on Aleppo")."""
    if frame.relation is not None or frame.described is not None:
        return []
    sides = {e.side for e in analyzer.entities if e.en in event.participants and e.side}
    question = arabic.fold(frame.question)
    asked = [e for e in analyzer.entities if e.en in frame.entities and e.en not in frame.call_names
             and e.kind == "country"  # a place is often where another event the question names was ("the mission in Geneva")
             and e.en not in event.participants and e.en not in sides
             # named in full ("المتحدة" of "الولايات المتحدة" is not the United Nations)
             and (frame.lang == "en" or any(arabic.fold(f) in question for f in [e.ar, *e.variants]))]
    if not asked:
        return []
    terms = {t for text in texts for t in analyzer.terms(text)}
    folded = arabic.fold(" ".join(texts))
    return [e.en for e in asked if not any(set(analyzer.terms(form)) <= terms or arabic.fold(form) in folded
                                           # or its adjective: Syria in "الملف السوري"
                                           or ((stem := country_stem(form)) is not None and f"{stem}ي" in folded)
                                           for form in analyzer.forms(e))]


TOLD_WITHIN_CHARS = 400  # a passage goes on about the event reported just before it, a sentence or two away


def told_at(events: list[Event], doc_id: str, offset: int, kind: str | None = None) -> Event | None:
    """The event (of ``kind``, dated to the day) a passage at ``offset`` of an article tells of: the one the article
    reports nearest at or before it, a sentence or two before at most ("وأوضح البيان أن الوزيرين بحثا …" goes on
    about the call reported just before)."""
    told = [(c.start, e) for e in events if (kind is None or e.type == kind) and e.date.granularity == "day"
            for r in e.reports for c in r.citations if c.doc_id == doc_id and 0 <= offset - c.start <= TOLD_WITHIN_CHARS]
    return max(told, key=lambda pair: pair[0])[1] if told else None


DISTINCT_OVERLAP = 3  # words by which an event's reports must beat the next one's to be the one a description names


def named_event(frame: QuestionFrame, events: list[Event], people: Iterable[str], overlap: Callable[[str], int],
                text: str) -> Event | None:
    """The one event, dated to the day, that ``text`` (understood as ``frame``: "the Tuesday call reported by
    SyriaNews") names, among ``events``; ``overlap`` counts the words another text shares with it. Else None."""
    if frame.event is None and not frame.pins_time and frame.relation is None:
        pool = events  # all of them: "the Geneva meeting" is the week-dated one, not the one dated to the day
    else:
        pool = [e for e in candidate_events(frame, events, people) if kind_fits(frame, e.type, text)]
    chosen = pool[0] if len(pool) == 1 else None
    if len(pool) > 1:
        scores = sorted(((overlap(" ".join(c.quote for r in e.reports for c in r.citations)), e) for e in pool),
                        key=lambda pair: pair[0], reverse=True)
        # words alone must choose clearly: "the Wednesday call in which Kerry warned of a suspension" shares words with
        # both Wednesday calls (the later one's reports recall the suspension), and a wrong day count is worse than none
        if scores[0][0] >= 2 and scores[0][0] - scores[1][0] >= DISTINCT_OVERLAP:
            chosen = scores[0][1]
    return chosen if chosen is not None and chosen.date.granularity == "day" else None


def named_pair(frame: QuestionFrame, events: list[Event], people: Iterable[str], text: str) -> tuple[Event | None, Event | None]:
    """The two events, dated to the day, that ``text`` ("the two August Lavrov-Kerry calls") names together."""
    if frame.event is None or not frame.pins_time:
        return None, None
    found = [e for e in candidate_events(frame, events, people) if kind_fits(frame, e.type, text) and e.date.granularity == "day"]
    return (found[0], found[1]) if len(found) == 2 else (None, None)


def event_chunks(event: Event) -> set[str]:
    """Chunks holding the event's evidence (every report's citations)."""
    return {c.chunk_id for r in event.reports for c in r.citations}


def event_of_passages(frame: QuestionFrame, events: list[Event], passages: list[NodeWithScore],
                      people: Iterable[str] = ()) -> Event | None:
    """The event an answer is about: among the frame's candidates (or, with no time constraint, the
    events of the asked kind), the one the top passages report most (rank-weighted). A time-pinned
    frame that selects a single event gets it even when no passage reports it."""
    pool = candidate_events(frame, events, people) if constrained(frame) else [e for e in events if kind_fits(frame, e.type)]
    if not pool:
        return None
    if not constrained(frame) and frame.event == "ceasefire" and frame.asks == "when" and len(pool) == 1:
        # "when did the truce end": the index holds one end of it, whichever passages ranked first (only for the truce,
        # whose start and end the words tell apart; "the halt to airstrikes" is not the suspension of talks)
        return pool[0]
    rank_of = {p.node.node_id: rank for rank, p in enumerate(passages)}
    scored = []
    for event in pool:
        ranks = [rank_of[c] for c in event_chunks(event) if c in rank_of]
        scored.append((sum(1.0 / (1 + r) for r in ranks), -min(ranks, default=99), event))
    scored.sort(key=lambda s: (s[0], s[1]), reverse=True)
    best_score, best_rank, best = scored[0]
    if constrained(frame) and len(pool) == 1:
        return best
    if best_score == 0 or -best_rank > 1:  # reported by neither of the two best passages: not what they are about
        return None
    return best


def label(event: Event, lang: str) -> str:
    """"the phone call of Saturday 1 October 2016" / "الاتصال الهاتفي يوم السبت 1 تشرين الأول 2016"."""
    date = event.date
    if lang == "ar":
        kind = TYPE_AR.get(event.type, event.type)
        if date.granularity == "day" and date.date:
            d = date.date
            return f"{kind} يوم {WEEKDAYS_AR[d.weekday()]} {d.day} {MONTHS_AR[d.month - 1]} {d.year}"
        month = f"{MONTHS_AR[date.start.month - 1]} {date.start.year}"  # never "(2016-07 (month))"
        spoken = {"month": f"في {month}", "mid_month": f"في منتصف {month}", "week": f"في أسبوع من {month}",
                  "year": f"في {date.start.year}"}
        return f"{kind} {spoken.get(date.granularity, f'({date.start}…{date.end})')}"
    kind = TYPE_EN.get(event.type, event.type)
    if date.granularity == "day" and date.date:
        return f"the {kind} of {date.date:%A} {date.date.day} {date.date:%B %Y}"
    return f"the {kind} of {date.spoken}"
