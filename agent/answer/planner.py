"""The offline planner: a question that needs several looks → the agent's tools → one cited answer.

With no LLM, the question frame (``agent.retrieval.question``) routes the question to the same tools an
agent loop calls (``agent.answer.tools``): list and order questions are answered from ``events`` (each
event dated and cited, in chronological order), compare questions from ``accounts`` (each side's
words side by side), and multi-part questions ("When and where was X, and when did Y?") with one
``search`` per part, each part answered extractively and the answers joined. Every quote is
verbatim; labels and dates come from the event index. The answer carries the ``steps`` it took.
``plan`` returns None for any other question (the one-pass extractive answer handles it).
"""

from __future__ import annotations

import datetime as dt
import re
import time
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING, Any

from agent.answer import tools
from agent.retrieval.grounding import kind_fits
from agent.schema import Answer, AnswerSentence, Citation, Step

if TYPE_CHECKING:
    from agent.events.models import Event
    from agent.pipeline import Dalil
    from agent.retrieval.question import QuestionFrame
    from agent.retrieval.retrieve import SearchFilters

StepFn = Callable[[Step], None]
PLANNED = ("list", "order", "compare")
MAX_PARTS = 4
MAX_ACCOUNTS = 3  # per side: the named sources that say most

_SIDES_AR = {"Russia": "الرواية الروسية", "United States": "الرواية الأمريكية"}
_SIDES_EN = {"Russia": "Russian account", "United States": "US account"}
# a second question joined to the first: ", and when …", "، ومتى …", or a new sentence after "?"
_EN_JOIN = re.compile(r",\s*(?:and|but)\s+(?=(?:when|where|who|whom|what|which|how|why|did|does|do|was|were|is|are|has|had)\b)", re.I)
_AR_JOIN = re.compile(r"[،,]\s*(?=و(?:متى|أين|اين|من|ما|ماذا|كم|هل|لماذا|كيف|أي|اي)(?:\s|$))")
_QUESTION_END = re.compile(r"(?<=[?؟])\s+(?=[^\s(])")  # "… ذلك؟ (context words)" from a chat follow-up is one question
# shapes agent.retrieval.question's patterns miss: "ما الترتيب الزمني لـ…", "أي الاتصالين جاء أولا", "in what order"; "how did each side describe"
_ALSO_ORDER = re.compile(r"\bin what order\b|^\s*(put|place|arrange|sort|list) (these|them|the following)?\s*(events )?in (chronological )?order\b"
                         r"|\bwhich (came|happened) first\b|(الترتيب|بالترتيب|للترتيب) الزمني"
                         r"|(جاء|جرى|حدث) (أولا|أولاً|اولا)|أيهما سبق", re.I)
_ALSO_COMPARE = re.compile(r"\b(each|both|the two) sides?\b|كل من الجانبين|كل (طرف|جانب)", re.I)
# "Toner compared the fighting on both sides to what?": a likeness someone drew, not two accounts
_LIKENED = re.compile(r"\b(compared?|likened?)\b.*\bto what\b|\bwhat did \S+ (compare|liken)\b", re.I)


class Planner:
    """Runs tools for one question and keeps the steps."""

    def __init__(self, dalil: Dalil, on_step: StepFn | None = None) -> None:
        self.dalil, self.on_step = dalil, on_step
        self.steps: list[Step] = []

    def run(self, name: str, **arguments: Any) -> Any:
        arguments = {key: value for key, value in arguments.items() if value is not None}
        started = time.perf_counter()
        result = tools.call(self.dalil, name, arguments)
        step = Step(tool=name, arguments=arguments, ids=result.ids(), summary=result.summary(),
                    seconds=round(time.perf_counter() - started, 4))
        self.steps.append(step)
        if self.on_step is not None:
            self.on_step(step)
        return result


def plan(dalil: Dalil, question: str, filters: SearchFilters | None = None, k: int | None = None, lang: str | None = None,
         on_step: StepFn | None = None) -> Answer | None:
    """The planner's answer to ``question``, or None when it is not a list, order, compare or multi-part question."""
    frame = dalil.frame(question)
    if frame.asks not in PLANNED and _ALSO_ORDER.search(question):
        frame.asks = "order"
    elif frame.asks == "what" and _ALSO_COMPARE.search(question) and frame.speaker is None and not _LIKENED.search(question):
        # "Which image did Toner use for the fighting by both sides": one person's words, not two accounts
        frame.asks = "compare"
    planner = Planner(dalil, on_step)
    lang = lang or frame.lang
    answer = _days_between(planner, frame, question, lang)
    if answer is None:
        parts = split_parts(question)
        if frame.asks not in PLANNED and len(parts) < 2 and not _INITIATED_BY.search(question.lower()):
            return None
        initiator = _asked_initiator(dalil, question)
        if initiator is not None:
            answer = _initiated_by(planner, frame, initiator, lang)
        elif frame.asks in ("list", "order"):
            answer = _chronology(planner, frame, lang, filters)
        elif frame.asks == "compare":
            answer = _compare(planner, frame, lang)
        if answer is None and len(parts) > 1:
            answer = _multi_part(planner, question, parts, filters, k)
    if answer is None:
        return None
    answer.lang = lang
    answer.steps = planner.steps
    answer.frame = frame.model_dump(mode="json")
    return answer


def split_parts(question: str) -> list[str]:
    """The questions inside ``question`` ("When and where was X signed, and when did Y end?" → two); one part if none."""
    parts = [question.strip()]
    for pattern in (_QUESTION_END, _EN_JOIN, _AR_JOIN):
        parts = [p.strip(" ،,;؛") for part in parts for p in pattern.split(part)]
    parts = [p for p in parts if len(p.split()) >= 2]
    if len(parts) < 2:
        return [question.strip()]
    topic, colon, _ = parts[0].partition(":")
    if colon and len(topic.split()) >= 3:  # "The call two days after the freeze: who made the first move, and why?":
        # the topic before the colon is what every part asks about ("why" alone asks about nothing)
        parts = [parts[0], *(f"{topic}: {p}" for p in parts[1:])]
    return parts[:MAX_PARTS]


# ------------------------------------------------------------------------------ which calls X placed
# "Which of the calls did Lavrov place himself?", "which call was initiated by Washington", "أي الاتصالات بادر بها كيري"
_INITIATED_BY = re.compile(
    r"\bwhich\b(?: of the)?[\w\s–-]*?\b(?:calls?|conversations?)\b.*?\b(?:did|was|were) (?P<who>[\w\s.'-]+?) "
    r"(?:place|initiate|make|request|start|set up)\b"
    r"|\bwhich\b[\w\s–-]*?\b(?:calls?|conversations?) (?:was|were) (?:initiated|placed|requested|made) by (?P<who2>[\w\s.'-]+)"
    r"|\b(?:name|list)\b[\w\s–-]*?\bcalls?(?: that| which)?(?: [\w\s]+? says?)? (?P<who4>[\w.'-]+(?: [\w.'-]+)?) "
    r"(?:initiated|placed|requested)\b"
    r"|(?:أي|اي|ما)(?: من)? (?:ال)?(?:اتصال|اتصالات|مكالمة|مكالمات|محادثة|محادثات)\S*(?: \S+){0,3}? (?:التي |الذي )?"
    r"(?:بادر|أجرى|اجرى|أجراه|اجراه|أجراها|اجراها|طلب|طلبه|طلبها)\S*(?: (?:بها|به|إليها|اليها|إليه|اليه))? (?P<who3>\S+(?: \S+)?)")


def _asked_initiator(dalil: Dalil, question: str) -> str | None:
    """The person or country a "which calls did X place" question names as the initiator (its English name)."""
    from agent.retrieval.question import named_entities
    from agent.text.arabic import is_arabic

    m = _INITIATED_BY.search(question if is_arabic(question) else question.lower())
    if m is None:
        return None
    who = next(g for g in m.groups() if g)
    named = named_entities(who, dalil.analyzer)
    return named[0] if named else None


def _initiated_by(planner: Planner, frame: QuestionFrame, who: str, lang: str) -> Answer:
    """The calls whose reports say ``who`` (or their side) placed them, each dated and cited with the words that say so."""
    dalil = planner.dalil
    entity = next((e for e in dalil.analyzer.entities if e.en == who), None)
    side = (entity.side if entity else None) or who
    found = planner.run("events", type="call")
    wanted = {item.id for item in found.events}
    sentences: list[AnswerSentence] = []
    citations: list[Citation] = []
    for event in sorted((e for e in dalil.events() if e.id in wanted), key=lambda e: e.date.start):
        # a person placed the call when a report names them, or names their side and they took part in it
        # ("the American side" for Kerry's call; not for Obama, who was not on it)
        takes_part = who in event.participants or (entity is not None and entity.kind != "person")
        report = next((r for r in event.reports if r.initiator == who
                       or (takes_part and side in (r.initiator, r.initiator_side))), None)
        quote = next(iter(report.initiator_citations()), None) if report is not None else None
        if quote is None:
            continue
        cite = _renumbered(quote, len(citations) + 1)
        citations.append(cite)
        item = tools.EventItem.of(event)
        label = item.label_ar if lang == "ar" else item.label_en
        sentences.append(AnswerSentence(text=f"{len(sentences) + 1}. {label}: {cite.quote}", citations=[cite.n], supported=True,
                                        support=1.0))
    if not sentences:
        return _abstain(frame, lang, f"no report says {who} placed any of these: {found.summary()}")
    about = f"الاتصالات التي بادر بها {entity.ar if entity else who}" if lang == "ar" else f"the calls {who} placed, per the reports"
    return _answer(frame, about, sentences, citations,
                   [f"answered by the offline planner from the events tool and each report's initiator: {found.summary()}"])


# ---------------------------------------------------------------------------------- days between two events
# "How many days passed between A and B?", "كم يوماً مرّ بين A وB؟": the day count, from the event index's dates
_DAYS_BETWEEN = re.compile(
    r"\bhow many days\b(?:\s+(?:\w+\s+){0,2}?)?\s*(?:between|separated)\s+(?P<en>.+?)\s*\??$"
    r"|كم (?:يوم\S*|من الأيام|من الايام)\s+(?:\S+\s+){0,2}?(?:ما )?بين\s+(?P<ar>.+?)\s*[?؟]?$", re.I)


_THE_TWO = re.compile(r"\b(the|both) two\b|\bboth\b|(^|\s)(الاتصالين|المكالمتين|الحدثين|الاتصالان|المكالمتان)(\s|$)", re.I)


def counts_days(question: str) -> bool:
    """Whether ``question`` asks how many days lay between two events."""
    return _DAYS_BETWEEN.search(question.strip()) is not None


def _days_between(planner: Planner, frame: QuestionFrame, question: str, lang: str) -> Answer | None:
    """The days between the two events a "how many days between A and B" question names, each event's dating quote
    cited; None when the question is not one, or its two parts do not each name one event dated to the day."""
    m = _DAYS_BETWEEN.search(question.strip())  # as written: the parts are understood as questions of their own
    if m is None:
        return None
    dalil = planner.dalil
    text = m.group("en") or m.group("ar")
    joins = re.finditer(r"\s+and\s+", text) if m.group("en") else re.finditer(r"\s+(?=و\S{2,})", text)
    pairs = []
    for join in joins:  # the words "and"/"و" may also be inside A: the first split that names two events wins
        first, second = text[:join.start()], text[join.end():]
        if m.group("ar"):
            second = second[1:]  # "ومكالمة الأربعاء": the conjunction off
        pairs.append((_one_event(dalil, first), _one_event(dalil, second)))
    if _THE_TWO.search(text):  # "the two August calls": one description, two events
        pairs.append(_two_events(dalil, text))
    for a, b in pairs:
        if a is None or b is None or a.id == b.id or a.date.date is None or b.date.date is None:
            continue
        a, b = sorted((a, b), key=lambda e: e.date.start)
        assert a.date.date is not None and b.date.date is not None
        found = planner.run("events", **{"from": _iso(a.date.start), "to": _iso(b.date.end)})
        items = [tools.EventItem.of(e) for e in (a, b)]
        citations = [_renumbered(tools.dating_citation(e), n) for n, e in enumerate((a, b), start=1)]
        sentences = [AnswerSentence(text=f"{(item.label_ar if lang == 'ar' else item.label_en)}: {cite.quote}", citations=[cite.n],
                                    supported=True, support=1.0) for item, cite in zip(items, citations, strict=True)]
        days = (b.date.date - a.date.date).days
        about = (f"{_days_ar(days)} بين {items[0].label_ar} و{items[1].label_ar}" if lang == "ar"
                 else f"{days} days between {items[0].label_en} and {items[1].label_en}")
        answer = _answer(frame, about, sentences, citations,
                         [f"answered by the offline planner: the days between two events the index dates ({found.summary()})"])
        if lang == "en":
            answer.lead = f"Derived from the quotes' dates: {days} days passed between {items[0].label_en} and {items[1].label_en}."
        return answer
    return None


def _one_event(dalil: Dalil, text: str) -> Event | None:
    """The one event, dated to the day, that ``text`` ("the Tuesday call reported by SyriaNews") names; else None."""
    from agent.retrieval.grounding import named_event

    sub = dalil.frame(text)
    return named_event(sub, dalil.events(), dalil._people(sub), _overlap(dalil, text), text)


def _two_events(dalil: Dalil, text: str) -> tuple[Event | None, Event | None]:
    """The two events, dated to the day, that ``text`` ("the two August Lavrov-Kerry calls") names together."""
    from agent.retrieval.grounding import named_pair

    sub = dalil.frame(text)
    return named_pair(sub, dalil.events(), dalil._people(sub), text)


def _days_ar(n: int) -> str:
    """"3 أيام", "11 يوماً": the counted noun's form depends on the number."""
    return {0: "لا أيام", 1: "يوم واحد", 2: "يومان"}.get(n) or (f"{n} أيام" if 3 <= n <= 10 else f"{n} يوماً")


# ---------------------------------------------------------------------------------- list and order
def _chronology(planner: Planner, frame: QuestionFrame, lang: str, filters: SearchFilters | None) -> Answer | None:
    """The events the question names or asks for, in time order, each dated and cited."""
    dalil = planner.dalil
    named = _named_events(dalil, frame) if frame.asks == "order" else []
    if named:
        found = planner.run("events", **{"from": _iso(min(e.date.start for e in named)), "to": _iso(max(e.date.end for e in named))})
        wanted = {e.id for e in named}
        items = [e for e in found.events if e.id in wanted]
        left_out = 0
    else:
        if frame.event is None and not frame.pins_time and frame.relation is None:
            return None  # "list the officials …": not a question about events
        people = dalil._people(frame)
        kind = None if frame.event == "ceasefire" else frame.event
        span = {"from": _iso(frame.date_from), "to": _iso(frame.date_to)}
        found = planner.run("events", type=kind, participant=people[0] if people else None, **span)
        items = [e for e in found.events if kind_fits(frame, e.type) and set(people) <= set(e.participants) | set(people[:1])]
        if not items and people:  # "the Russian and American ministers' calls": countries, not the calls' participants
            found = planner.run("events", type=kind, **span)
            items = [e for e in found.events if kind_fits(frame, e.type)]
        left_out = found.left_out
    items = [e for e in items if _published_within(dalil, e, filters)]
    if not items:
        return _abstain(frame, lang, f"the events tool found none of these: {found.summary()}") if frame.event else None
    items.sort(key=lambda e: (e.start, e.end))
    citations: list[Citation] = []
    sentences = []
    for i, item in enumerate(items, start=1):
        cite = _renumbered(item.evidence, len(citations) + 1)
        citations.append(cite)
        label = item.label_ar if lang == "ar" else item.label_en
        sentences.append(AnswerSentence(text=f"{i}. {label}: {cite.quote}", citations=[cite.n], supported=True, support=1.0))
    about = (f"{len(items)} من الأحداث بالترتيب الزمني" if lang == "ar" else f"{len(items)} events in chronological order") \
        if len({e.type for e in items}) > 1 else _heading(items, lang)
    warnings = [f"answered by the offline planner from the events tool: {found.summary()}"]
    if left_out:
        warnings.append(f"{left_out} more reported without a day (a month or week only): see `dalil timeline`")
    return _answer(frame, about, sentences, citations, warnings)


def _named_events(dalil: Dalil, frame: QuestionFrame) -> list[Event]:
    """The events an order question enumerates ("Order these: Kerry's Moscow visit, the 5 August call, …"), when
    every item it lists points at one event (or a few the item's words choose between); else none."""
    from agent.retrieval.grounding import candidate_events
    from agent.retrieval.question import understand

    text = frame.question.split(":", 1)[1] if ":" in frame.question else ""
    items = [p.strip() for p in re.split(r"[;؛,،]|\s+(?:and|or|أم|او|أو)\s+", text) if len(p.split()) >= 2]
    if len(items) < 2:
        return []
    reference = dalil.store.registry.latest_published()
    events = dalil.events()
    chosen: list[Event] = []
    for item in items:
        sub = understand(item, dalil.analyzer, reference)
        if sub.event is None and not sub.pins_time:
            return []
        pool = [e for e in candidate_events(sub, events) if kind_fits(sub, e.type, item)]
        placed = _placed_by(dalil, item)  # "the Kerry-initiated call": one of the calls Kerry's side placed
        pool = [e for e in pool if any(placed & {r.initiator, r.initiator_side} for r in e.reports)] or pool if placed else pool
        best = _best_match(dalil, item, pool, sub.entities)
        if not best:
            return []
        chosen += [e for e in best if e not in chosen]
    return chosen


_PLACED_BY = re.compile(r"\b(?P<who>[\w.']+?)-initiated\b|\binitiated by (?:the )?(?P<who2>[\w.'-]+(?: [\w.'-]+)?)"
                        r"|(?:بمبادرة|بمبادره|بطلب) (?:من )?(?:ال)?(?P<who3>\S+)", re.I)


def _placed_by(dalil: Dalil, text: str) -> set[str]:
    """Who an item says placed the event ("the Kerry-initiated call"): the person and their side, as the index names them."""
    from agent.retrieval.question import named_entities

    m = _PLACED_BY.search(text)
    if m is None:
        return set()
    names = named_entities(next(g for g in m.groups() if g), dalil.analyzer)
    entities = [e for e in dalil.analyzer.entities if e.en in names]
    return {n for e in entities for n in (e.en, e.side) if n}


def _best_match(dalil: Dalil, text: str, pool: list[Event], names: Sequence[str] = ()) -> list[Event]:
    """The events of ``pool`` whose reports share most words (and participants) with ``text``; all of them on a tie."""
    if len(pool) <= 1:
        return pool
    overlap = _overlap(dalil, text)
    scores = [overlap(" ".join(c.quote for r in e.reports for c in r.citations)) + 2 * len(set(names) & set(e.participants))
              for e in pool]
    top = max(scores)
    return [e for e, s in zip(pool, scores, strict=True) if s == top]


def _heading(items: list[tools.EventItem], lang: str) -> str:
    """"7 phone calls (Sergei Lavrov, John Kerry), in chronological order"."""
    from agent.retrieval.grounding import TYPE_AR, TYPE_EN

    kind = items[0].type
    shared = [p for p in items[0].participants if all(p in e.participants for e in items)]
    if lang == "ar":
        return f"{TYPE_AR.get(kind, kind)} ({len(items)}) بالترتيب الزمني"
    who = f" ({', '.join(shared)})" if shared else ""
    return f"{len(items)} × {TYPE_EN.get(kind, kind)}{who}, in chronological order"


# ------------------------------------------------------------------------------------------ compare
def _compare(planner: Planner, frame: QuestionFrame, lang: str) -> Answer | None:
    """Each side's account, side by side: of the event the question names when the event index has both
    sides' accounts of it, else the accounts (of any event) that speak to the question's words."""
    from agent.retrieval.grounding import constrained

    dalil = planner.dalil
    events = dalil.events()
    pool = _compare_pool(frame, events)
    if not pool and frame.event is not None and constrained(frame):  # "تعليق" is also "a comment": try without the kind
        pool = _compare_pool(frame.model_copy(update={"event": None}), events)
    names_one = frame.event is not None or frame.pins_time
    if constrained(frame) and frame.date_from is not None and len(set().union(*map(_sides, pool))) < 2:
        near = frame.model_copy(update={"date_from": frame.date_from - dt.timedelta(days=3),
                                        "date_to": (frame.date_to or frame.date_from) + dt.timedelta(days=3)})
        widened = _compare_pool(near, events)  # "around 1 October": the other side spoke a day or two apart
        if widened:
            pool, names_one = widened, False
    overlap = _overlap(dalil, frame.question)
    ranked = sorted(pool, key=lambda e: (len(_sides(e)) >= 2, any(d.field == "what_was_said" for d in e.disagreements),
                                         overlap(" ".join(c.quote for r in e.reports for c in r.citations))), reverse=True)
    if names_one and ranked and len(_sides(ranked[0])) >= 2:
        return _accounts_answer(planner, frame, [ranked[0].id], lang)
    if constrained(frame) and not pool:  # "the 15 November call": no such event, so no accounts of it
        found = planner.run("events", **{"from": _iso(frame.date_from), "to": _iso(frame.date_to)})
        return _abstain(frame, lang, f"no event with both sides' accounts in that period ({found.summary()})")
    chosen = _accounts_about(dalil, frame.question, pool if constrained(frame) else [e for e in events if _sides(e)])
    if not chosen:
        return None
    return _accounts_answer(planner, frame, list(dict.fromkeys(event for event, _ in chosen)), lang, keep=set(chosen))


def _compare_pool(frame: QuestionFrame, events: list[Event]) -> list[Event]:
    """The events with accounts that the frame's kind, dates and relation select."""
    from agent.retrieval.grounding import candidate_events, constrained

    if constrained(frame):
        pool = [e for e in candidate_events(frame, events) if kind_fits(frame, e.type)]
    else:
        pool = [e for e in events if frame.event is not None and kind_fits(frame, e.type)]
    return [e for e in pool if _sides(e)]


def _overlap(dalil: Dalil, text: str) -> Callable[[str], int]:
    """How many of ``text``'s words (with their Arabic bridges) another text shares."""
    wanted = {t for c in dalil.analyzer.concepts(text) for t in c.alternatives}
    return lambda other: len(wanted & set(dalil.analyzer.terms(other)))


def _sides(event: Event) -> set[str]:
    return {a.side for r in event.reports for a in r.accounts if a.side}


def _accounts_about(dalil: Dalil, question: str, events: list[Event]) -> list[tuple[str, str]]:
    """(event id, quote) of the accounts sharing most words with ``question``, the best few per side; none
    unless two sides have one."""
    overlap = _overlap(dalil, question)
    by_side: dict[str, list[tuple[int, str, str]]] = {}
    for event in events:
        for report in event.reports:
            for a in report.accounts:
                if a.side:
                    score = overlap(a.quote)
                    by_side.setdefault(a.side, []).append((score, event.id, a.quote))
    best = max((score for found in by_side.values() for score, _, _ in found), default=0)
    floor = max(2, best // 2)
    chosen = {side: sorted((f for f in found if f[0] >= floor), key=lambda f: -f[0])[:MAX_ACCOUNTS] for side, found in by_side.items()}
    chosen = {side: found for side, found in chosen.items() if found}
    if len(chosen) < 2:
        return []
    return [(event_id, quote) for found in chosen.values() for _, event_id, quote in found]


def _accounts_answer(planner: Planner, frame: QuestionFrame, event_ids: list[str], lang: str,
                     keep: set[tuple[str, str]] | None = None) -> Answer | None:
    sides: dict[str, list[tools.SideAccount]] = {}
    results = []
    for event_id in event_ids:
        found = planner.run("accounts", event=event_id)
        results.append(found)
        for side in found.sides:
            accounts = [a for a in side.accounts if keep is None or (event_id, a.quote) in keep]
            if keep is None:
                accounts = sorted(accounts, key=lambda a: (a.source.endswith("(no source named)"), a.said.startswith("no stance")))
                accounts = accounts[:MAX_ACCOUNTS]  # named sources that say something the rules can read, first
            sides.setdefault(side.side, []).extend(accounts)
    citations: list[Citation] = []
    sentences = []
    for side in sorted(sides, key=lambda s: (s not in _SIDES_EN, list(_SIDES_EN).index(s) if s in _SIDES_EN else 0, s)):
        name = (_SIDES_AR if lang == "ar" else _SIDES_EN).get(side, side)
        for a in sides[side]:
            if any(c.doc_id == a.citation.doc_id and c.start == a.citation.start for c in citations):
                continue
            cite = _renumbered(a.citation, len(citations) + 1)
            citations.append(cite)
            said = "" if lang == "ar" else f" ({a.source}: {a.said})"
            sentences.append(AnswerSentence(text=f"{name}{said}: {cite.quote}", citations=[cite.n], supported=True, support=1.0))
    if not sentences:
        return None
    disagreements = [d for r in results for d in r.disagreements]
    if disagreements and lang != "ar" and len(results) == 1:
        sentences.append(AnswerSentence(text="Where they differ (event index): " + "; ".join(disagreements),
                                        citations=[c.n for c in citations], supported=True, support=1.0))
    about = None
    if len(results) == 1:
        about = results[0].event.label_ar if lang == "ar" else results[0].event.label_en
    summaries = "; ".join(r.summary() for r in results)
    return _answer(frame, about, sentences, citations, [f"answered by the offline planner from the accounts tool: {summaries}"])


# ---------------------------------------------------------------------------------------- multi-part
def _multi_part(planner: Planner, question: str, parts: list[str], filters: SearchFilters | None, k: int | None) -> Answer | None:
    """One search for the whole question, then one per part, each answered extractively from its passages; the
    answers joined (the whole question's first: a part such as "and did Washington follow through?" loses its
    subject on its own), repeated sentences dropped, citations renumbered."""
    from llama_index.core.schema import NodeWithScore

    dalil = planner.dalil
    citations: list[Citation] = []
    sentences: list[AnswerSentence] = []
    warnings: list[str] = []
    seen: dict[tuple[str, int, int], int] = {}
    answered = 0
    for i, part in enumerate([question, *parts]):
        found = planner.run("search", query=part[:500], k=k or dalil.settings.retrieval.top_k, outlet=filters.outlet if filters else None,
                            **{"from": _iso(filters.date_from if filters else None), "to": _iso(filters.date_to if filters else None)})
        nodes = dalil.store.registry.nodes([p.chunk_id for p in found.passages])
        passages = [NodeWithScore(node=nodes[p.chunk_id], score=p.score) for p in found.passages if p.chunk_id in nodes]
        part_answer = dalil._extractive(part, passages)
        if part_answer.abstained:
            if i:
                warnings.append(f"part {i} not answered by the articles: {part}")
            elif _decisive(part_answer):  # the whole question asks about what no article holds ("what sanctions did
                return part_answer  # Washington actually impose, and when?"): its parts alone lose that focus
            continue
        answered += 1
        by_old, new = {}, set()
        for c in part_answer.citations:
            key = (c.doc_id, c.start, c.end)
            if key not in seen:
                seen[key] = len(citations) + 1
                citations.append(_renumbered(c, seen[key]))
                new.add(seen[key])
            by_old[c.n] = seen[key]
        for s in part_answer.sentences:
            cited = [by_old.get(n, n) for n in s.citations]
            if set(cited) & new:
                sentences.append(s.model_copy(update={"citations": cited}))
        if part_answer.about and i:
            warnings.append(f"part {i} is about {part_answer.about}")
    if not answered:
        return None
    frame = planner.dalil.frame(question)
    warnings.insert(0, f"answered by the offline planner: one search per part ({len(parts)} parts)")
    return _answer(frame, None, sentences, citations, warnings)


# ------------------------------------------------------------------------------------------ helpers
# abstentions of the whole question that its parts cannot overturn: what it asks about is absent, only weighed,
# or not what the articles say (a low coverage alone is not one: the parts are searched for what it missed)
_DECISIVE = ("the articles never mention", "only as weighed or planned", "no passage names the", "no passage found names",
             "do not say who initiated", "no passage states the", "the articles report no")


def _decisive(answer: Answer) -> bool:
    return any(d in w for w in answer.warnings for d in _DECISIVE)


def _answer(frame: QuestionFrame, about: str | None, sentences: list[AnswerSentence], citations: list[Citation],
            warnings: list[str]) -> Answer:
    from agent.answer.extractive import TRANSLATION_NOTE, defang_markers

    for s in sentences:
        s.text = defang_markers(s.text)
    text = "\n".join(f"{s.text} " + "".join(f"[{n}]" for n in s.citations) for s in sentences)
    if frame.lang == "en":
        warnings.append(TRANSLATION_NOTE)
    return Answer(question=frame.question, mode="extractive", answer=text, abstained=False, citations=citations,
                  sentences=sentences, lang=frame.lang, warnings=warnings, about=about)


def _abstain(frame: QuestionFrame, lang: str, why: str) -> Answer:
    from agent.answer.answers import abstention

    return abstention(frame.question, lang, [], "extractive", [f"offline planner: {why}"])


def _renumbered(citation: Citation, n: int) -> Citation:
    return tools.numbered(citation, n)


def _published_within(dalil: Dalil, item: tools.EventItem, filters: SearchFilters | None) -> bool:
    """With --from/--to/--outlet, an event counts when one of its citations is from a matching article."""
    if not filters:
        return True
    for c in item.citations:
        day = c.published[:10] if c.published else None
        if filters.outlet and c.outlet != filters.outlet:
            continue
        if day and ((filters.date_from and day < filters.date_from.isoformat()) or (filters.date_to and day > filters.date_to.isoformat())):
            continue
        return True
    return False


def _iso(day: Any) -> str | None:
    return day.isoformat() if day is not None else None

