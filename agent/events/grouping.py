"""Reports → events: the same happening reported by several articles becomes one event.

Two reports are the same event when they have the same type, the same day (or a short
period that holds that day) and overlapping participants. Calls reported by different
articles on consecutive days with the same people and topics, where no article tells them
apart, are also merged — with their dates kept side by side as a disagreement (a date only
known as "the day it was reported" is an upper bound, not a disagreement). Reports that
name different initiators are kept side by side as a disagreement too, and so are the sides'
accounts of what was said when they claim different things (``what_was_said``).
"""

from __future__ import annotations

import datetime as dt
from collections import Counter
from itertools import combinations
from typing import cast

from agent.events.entities import EntityIndex
from agent.events.models import TYPE_LABELS, Account, Disagreement, Event, EventDate, Report, Version

BASIS_RANK = {"stated": 0, "report_day": 1, "paragraph": 2, "model": 3, "article_lead": 4, "not_stated": 5}
TYPE_RANK = {t: i for i, t in enumerate(TYPE_LABELS)}
SHORT_PERIODS = ("week", "mid_month")
NEEDS_PEOPLE = ("call", "meeting", "statement")


def group(reports: list[Report], index: EntityIndex) -> list[Event]:
    """Events in time order, each with its reports and disagreements."""
    groups: list[list[Report]] = []
    for report in sorted(reports, key=_report_order):
        target = next((g for g in groups if _same(g, report, index)), None)
        if target is None:
            groups.append([report])
        else:
            target.append(report)
    groups = _merge_adjacent_calls(groups, index)
    groups = _attach_statements(groups)
    events = [_event(g, index) for g in groups]
    events.sort(key=lambda e: (e.date.start, e.date.granularity == "day", e.date.end, TYPE_RANK[e.type]))
    counts: Counter[str] = Counter()
    for event in events:
        key = f"{event.date.start}-{event.type}"
        counts[key] += 1
        event.id = f"{key}-{counts[key]}"
    return events


def _report_order(r: Report) -> tuple:
    return (r.date.granularity != "day", r.date.start, BASIS_RANK[r.date.basis], r.published or dt.date.min, r.file, r.id)


def people_overlap(a: list[str], b: list[str], index: EntityIndex) -> bool:
    if not a or not b:
        return True
    if set(a) & set(b):
        return True
    sides_a = {index.side_of(x) for x in a} - {None}
    sides_b = {index.side_of(x) for x in b} - {None}
    people_a = [x for x in a if index.kind_of(x) == "person"]
    people_b = [x for x in b if index.kind_of(x) == "person"]
    return (not people_a or not people_b) and bool(sides_a & sides_b)


def same_time(a: EventDate, b: EventDate) -> bool:
    if a.granularity == "day" and b.granularity == "day":
        return a.date == b.date
    if a.granularity == "day" or b.granularity == "day":
        day, period = (a, b) if a.granularity == "day" else (b, a)
        return period.granularity in SHORT_PERIODS and period.start <= day.start <= period.end
    return (a.start, a.end) == (b.start, b.end)


def _same(group: list[Report], r: Report, index: EntityIndex) -> bool:
    first = group[0]
    if first.type != r.type or not same_time(first.date, r.date):
        return False
    if r.type == "statement":
        return first.participants[:1] == r.participants[:1]
    if r.type in NEEDS_PEOPLE:
        return people_overlap(first.participants, r.participants, index)
    return True


def _merge_adjacent_calls(groups: list[list[Report]], index: EntityIndex) -> list[list[Report]]:
    """Calls a day apart from different articles, same people and topics: one call, dates disputed."""
    merged = True
    while merged:
        merged = False
        for i, a in enumerate(groups):
            for j, b in enumerate(groups):
                if i < j and _adjacent_same_call(a, b, index):
                    groups[i] = a + b
                    del groups[j]
                    merged = True
                    break
            if merged:
                break
    return groups


def _adjacent_same_call(a: list[Report], b: list[Report], index: EntityIndex) -> bool:
    if a[0].type != "call" or b[0].type != "call":
        return False
    da, db = a[0].date, b[0].date
    if da.granularity != "day" or db.granularity != "day" or abs((da.start - db.start).days) != 1:
        return False
    if {r.doc_id for r in a} & {r.doc_id for r in b}:
        return False  # one article tells the two calls apart
    people = people_overlap(_union(x.participants for x in a), _union(x.participants for x in b), index)
    topics = set(_union(x.topics for x in a)) & set(_union(x.topics for x in b))
    return people and bool(topics)


def _attach_statements(groups: list[list[Report]]) -> list[list[Report]]:
    """A same-day statement by one call participant to the other ("Lavrov urged Kerry today") joins the call."""
    calls = [g for g in groups if g[0].type == "call" and g[0].date.granularity == "day"]
    kept = []
    for g in groups:
        r = g[0]
        target = None
        if r.type == "statement" and len(g) == 1 and r.positions:
            target = next((c for c in calls if c[0].date.date == r.date.date and all(
                p.holder in _union(x.participants for x in c) and p.addressee in _union(x.participants for x in c)
                for p in r.positions
            )), None)
        if target is not None:
            target.append(r)
        else:
            kept.append(g)
    return kept


def _people_first(names: list[str], index: EntityIndex) -> list[str]:
    """People, then the sides none of them speaks for ("Lavrov, Kerry", not "Lavrov, Kerry, Russia")."""
    people = [n for n in names if index.kind_of(n) == "person"]
    covered = {index.side_of(p) for p in people}
    return people + [n for n in names if n not in people and n not in covered]


def _union(lists) -> list[str]:
    counts: Counter[str] = Counter()
    for names in lists:
        counts.update(dict.fromkeys(names, 1))
    return [name for name, _ in counts.most_common()]


def _event(reports: list[Report], index: EntityIndex) -> Event:
    kind = reports[0].type
    main = [r for r in reports if r.type == kind]
    disagreements = []
    date, date_dispute = _date(sorted(main, key=lambda r: (BASIS_RANK[r.date.basis], r.date.granularity != "day")))
    main.sort(key=lambda r: (r.date != date, BASIS_RANK[r.date.basis], r.published or dt.date.min, r.file, r.id))
    if date_dispute:
        disagreements.append(date_dispute)
    initiator, initiator_dispute = _initiator(main, index)
    if initiator_dispute:
        disagreements.append(initiator_dispute)
    ordered = [*main, *(r for r in reports if r.type != kind)]
    said = what_was_said(ordered)
    if said:
        disagreements.append(said)
    participants = _people_first(_union(r.participants for r in main), index)
    topics = _union(r.topics for r in ordered)
    flags = list(dict.fromkeys(f for r in ordered for f in r.flags))
    flags += [f"sources disagree about {d.label}" for d in disagreements]
    if all(r.date.basis in ("article_lead", "not_stated") for r in main):
        flags.append("no report states the date of this event")
    what_en = english_line(kind, participants, initiator, initiator_dispute, topics, main, said)
    return Event(
        id="", type=kind, date=date, participants=participants, initiator=initiator, topics=topics,
        what_ar=main[0].text, what_en=what_en, reports=ordered, disagreements=disagreements, flags=flags,
    )


def _date(reports: list[Report]) -> tuple[EventDate, Disagreement | None]:
    stated = [r for r in reports if r.date.basis == "stated" and r.date.granularity == "day"]
    if not stated:
        return reports[0].date, None
    counts = Counter(cast(dt.date, r.date.date) for r in stated)  # a day-granularity date has its day
    best_day = min(counts, key=lambda d: (-counts[d], d))
    best = next(r.date for r in stated if r.date.date == best_day)
    if len(counts) == 1:
        return best, None
    versions = [
        Version(value=f"{day}", reports=[r.id for r in stated if r.date.date == day],
                citations=sorted({c.n for r in stated if r.date.date == day for c in r.citations}))
        for day in sorted(counts)
    ]
    note = "; ".join(f"{v.value} per {', '.join(_files(stated, v.reports))}" for v in versions)
    return best, Disagreement(field="date", versions=versions, note=f"the reports give different days: {note}")


def _initiator(reports: list[Report], index: EntityIndex) -> tuple[str | None, Disagreement | None]:
    claims = [r for r in reports if r.initiator]
    sides = Counter(cast(str, r.initiator_side or r.initiator) for r in claims)  # claims all name an initiator
    if not sides:
        return None, None
    if len(sides) == 1:
        side = next(iter(sides))
        people = [r.initiator for r in claims if index.kind_of(r.initiator or "") == "person"]
        return (f"{side} ({people[0]})" if people and people[0] != side else side), None
    versions = []
    for side in sides:
        mine = [r for r in claims if (r.initiator_side or r.initiator) == side]
        names = sorted({r.initiator for r in mine if r.initiator})
        value = side if names == [side] else f"{side} ({', '.join(n for n in names if n != side)})"
        versions.append(Version(value=value, reports=[r.id for r in mine], citations=sorted({c.n for r in mine for c in r.citations})))
    note = "; ".join(f"{v.value} per {', '.join(_files(claims, v.reports))}" for v in versions)
    return None, Disagreement(field="initiator", versions=versions, note=f"the reports name different initiators: {note}")


def what_was_said(reports: list[Report]) -> Disagreement | None:
    """The sides' accounts of one event, side by side, when they say different things.

    Accounts are grouped by the side they speak for (a source without a known side stands alone), so two
    outlets relaying the same side are one version. The event is disputed when two versions that each claim
    something (a topic, or who took which stance) do not claim the same things — one side's warning that the
    other's readout leaves out counts. Versions that say the same, or a version with nothing the rules can read
    ("the ministers spoke"), are no dispute.
    """
    versions: dict[str, list[tuple[Report, Account]]] = {}
    seen: set[tuple[int, str]] = set()
    for report in reports:
        for account in report.accounts:
            if (account.citation, account.attribution) not in seen:
                seen.add((account.citation, account.attribution))
                versions.setdefault(account.key, []).append((report, account))
    claims = {key: set().union(*(a.claims for _, a in pairs)) for key, pairs in versions.items()}
    if not any(claims[a] and claims[b] and claims[a] != claims[b] for a, b in combinations(claims, 2)):
        return None
    kept = [
        Version(value=key, reports=list(dict.fromkeys(r.id for r, _ in pairs)), citations=sorted({a.citation for _, a in pairs}),
                accounts=[a.model_copy(deep=True) for _, a in pairs])
        for key, pairs in versions.items()
    ]
    note = " | ".join(f"{v.value} — {v.said()}" for v in kept)
    return Disagreement(field="what_was_said", versions=kept, note=f"the sides' accounts of what was said differ: {note}")


def _files(reports: list[Report], ids: list[str]) -> list[str]:
    return list(dict.fromkeys(f"{r.outlet or r.file}" for r in reports if r.id in ids))


def english_line(kind: str, participants: list[str], initiator: str | None, dispute: Disagreement | None,
                 topics: list[str], reports: list[Report], said: Disagreement | None = None) -> str:
    """What happened, in English, from the structured fields only (no translation)."""
    line = TYPE_LABELS[kind].capitalize() + (": " + " – ".join(participants) if participants else "")
    if initiator:
        line += f"; initiated by {initiator}"
    elif dispute:
        line += "; who initiated it is disputed (" + " vs ".join(v.value for v in dispute.versions) + ")"
    if topics:
        line += "; topics: " + ", ".join(topics)
    if said:
        line += "; the sides' accounts of what was said differ (" + " vs ".join(v.value for v in said.versions) + ")"
    by = list(dict.fromkeys(r.reported_by for r in reports if r.reported_by))
    if by:
        line += "; according to " + ", ".join(by)
    return line + "."


def renumber(events: list[Event]) -> None:
    """Citation numbers 1..n in the order the timeline shows them."""
    numbers: dict[int, int] = {}
    for event in events:
        for report in event.reports:
            for c in report.citations:
                numbers.setdefault(c.n, len(numbers) + 1)
    def account(a: Account) -> None:
        a.citation = numbers.get(a.citation, a.citation)
        for p in a.positions:
            p.citation = numbers.get(p.citation, p.citation)

    for event in events:
        for report in event.reports:
            for c in report.citations:
                c.n = numbers[c.n]
            for p in report.positions:
                p.citation = numbers.get(p.citation, p.citation)
            for a in report.accounts:
                account(a)
        for d in event.disagreements:
            for v in d.versions:
                v.citations = sorted(numbers.get(n, n) for n in v.citations)
                for a in v.accounts:
                    account(a)
