"""Dates for events: the resolver's phrases (``agent.text.dates``) plus "N days after" a date,
quoted speech, and one ``EventDate`` that says how the day was worked out.
"""

from __future__ import annotations

import datetime as dt
import re
from typing import cast

from agent.events import vocab
from agent.events.corpus import Article
from agent.events.models import DateBasis, EventDate
from agent.events.textmap import NormText
from agent.text.dates import WEEKDAY_NAMES, ResolvedDate, resolve_dates

_ONE = {"يوم واحد": 1, "يوما واحدا": 1, "يومين": 2, "يومان": 2, "اسبوع": 7, "اسبوعين": 14}
_QUOTES = {"“": "”", "«": "»", "„": "“"}


def article_dates(article: Article, nt: NormText) -> list[ResolvedDate]:
    """Every date phrase of the article, resolved against its publication date, in text order."""
    found = list(resolve_dates(article.text, article.published, lang="ar"))
    found += _days_after(article, nt, found)
    return sorted(found, key=lambda r: r.start)


def _days_after(article: Article, nt: NormText, dates: list[ResolvedDate]) -> list[ResolvedDate]:
    """"بعد عشرة أيام" = that many days after the nearest earlier day in the same sentence."""
    from agent.text import arabic

    out: list[ResolvedDate] = []
    sentences = arabic.sentence_spans(article.text)
    for m, start, end in nt.finditer(vocab.DAYS_AFTER):
        sentence = next((s for s in sentences if s.start <= start < s.end), None)
        anchors = [d for d in dates if d.date and d.granularity == "day" and sentence and sentence.start <= d.start and d.end <= start]
        if not anchors:
            continue
        anchor = anchors[-1]
        if m.group("one"):
            days = _ONE[" ".join(m.group("one").split())]
        else:
            n = m.group("n")
            days = (int(n) if n.isdigit() else vocab.NUMBER_WORDS[n]) * (7 if m.group("unit").startswith("اس") else 1)
        sign = 1 if m.group("rel") == "بعد" else -1
        day = cast(dt.date, anchor.date) + dt.timedelta(days=sign * days)  # anchors are dated
        phrase = article.text[start:end]
        how = f"{days} day(s) {'after' if sign > 0 else 'before'} '{anchor.phrase}' ({anchor.date})"
        out.append(ResolvedDate(
            phrase=phrase, start=start, end=end, date=day, period_start=day, period_end=day, granularity="day",
            offset_days=(day - article.published).days, weekday_stated=None, weekday_mismatch=False,
            rule="days_after_anchor" if sign > 0 else "days_before_anchor",
            explanation=f"'{phrase}' = {how} = {day} ({WEEKDAY_NAMES[day.weekday()]})",
        ))
    return out


def quote_segments(text: str) -> list[tuple[int, int]]:
    """Spans of quoted speech: “…”, «…» and straight "…" pairs (within a paragraph)."""
    spans: list[tuple[int, int]] = []
    for line in re.finditer(r"[^\n]+", text):
        open_at: tuple[str, int] | None = None
        for i in range(line.start(), line.end()):
            ch = text[i]
            if open_at is None and (ch in _QUOTES or ch == '"'):
                open_at = (_QUOTES.get(ch, '"'), i)
            elif open_at is not None and ch == open_at[0]:
                spans.append((open_at[1], i + 1))
                open_at = None
    return spans


def segment_of(pos: int, segments: list[tuple[int, int]]) -> int:
    """Index of the quote holding ``pos``, or -1 outside quotes."""
    return next((i for i, (s, e) in enumerate(segments) if s <= pos < e), -1)


_BASIS_NOTES: dict[str, str] = {
    "stated": "",
    "report_day": "; only the day it was reported is stated, so the event is on that day at the latest",
    "paragraph": "; the passage has no date of its own: nearest date in the same paragraph",
    "article_lead": "",
    "not_stated": "",
    "model": "",
}


def event_date(r: ResolvedDate, basis: DateBasis, article: Article, lead: str | None = None) -> EventDate:
    """An ``EventDate`` from a resolved phrase; ``lead`` explains an article-lead attribution."""
    explanation = f"{article.file} (published {article.published} {WEEKDAY_NAMES[article.published.weekday()]}): {r.explanation}"
    if basis == "report_day":
        explanation = f"reported on {WEEKDAY_NAMES[r.date.weekday()] if r.date else r.phrase}: " + explanation
    if basis == "article_lead" and lead:
        explanation = f"no date in the passage; {lead}: " + explanation
    if r.weekday_mismatch:
        explanation += " ⚠ the stated weekday does not match the resolved day"
    return EventDate(
        date=r.date, start=cast(dt.date, r.period_start or r.date), end=cast(dt.date, r.period_end or r.date), granularity=r.granularity, basis=basis,
        phrase=r.phrase, phrase_start=r.start, phrase_end=r.end, file=article.file, published=article.published,
        offset_days=r.offset_days, rule=r.rule, weekday_mismatch=r.weekday_mismatch,
        explanation=explanation + _BASIS_NOTES[basis],
    )


def undated(article: Article) -> EventDate:
    day = article.published
    return EventDate(
        date=day, start=day, end=day, granularity="day", basis="not_stated", file=article.file, published=day, offset_days=0,
        explanation=f"date not stated in {article.file}; its publication date {day} is used (the event is on or before it)",
    )
