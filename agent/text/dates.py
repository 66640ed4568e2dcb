"""Deterministic resolver for relative and partial dates in Arabic (and English) news text.

``resolve_dates(text, published)`` finds every date expression in ``text`` and resolves it
against the article's publication date. No LLM, no network: regular expressions and calendar
arithmetic only, so the same input always gives the same output.

Matching and offsets
    Matching runs on a normalized copy of the text (``agent.text.arabic.normalize_with_offsets``):
    Arabic diacritics (tashkeel), tatweel and zero-width/direction marks are dropped, أ/إ/آ/ٱ
    become ا, ى and ی become ي, ؤ becomes و and ئ becomes ي, Arabic-Indic (٠-٩) and Persian
    (۰-۹) digits become ASCII and ٫/٬ become ./, ; case is kept.  Each normalized character
    remembers its position in the original, so every result carries the phrase *exactly as
    written* (diacritics included) and ``text[start:end] == phrase``.  A leading conjunction
    or preposition glued to the phrase (و، ف، ب) is not part of the phrase; "يوم" before a
    weekday or أمس/اليوم is.
    Where two candidate phrases overlap, the longer one wins ("أمس الأول السبت" is one
    phrase, not "أمس" plus "السبت").

Rules (``rule`` names in brackets; P = the publication date)
    * أمس / امس / البارحة [yesterday] = P - 1 day.  With a weekday, also in parentheses
      or after a comma ("امس الأحد", "امس (الاحد)") [yesterday+weekday]: the weekday is
      checked and ``weekday_mismatch`` is set when P - 1 is not that weekday.
    * أمس الأول / أول أمس / أول من أمس [day_before_yesterday(+weekday)] = P - 2 days.
    * اليوم + weekday [today+weekday] = P, weekday checked.  A bare اليوم [today] = P, except
      when it is a name or an adjective phrase: "روسيا اليوم", "اليوم التالي", "اليوم الأول".
    * A bare weekday, with or without "يوم" ("يوم الأربعاء", "الجمعة") [weekday_recent] = the
      most recent such day on or before P (news reports past events; the publication weekday
      itself means P).  "الجمعة الماضية" [weekday_last] is strictly before P;
      "الجمعة المقبلة" [weekday_next] strictly after.  Weekday words only match as whole
      words ("الأحداث" is not "الأحد"); "الأحد عشر" and "كلا الاثنين" are not weekdays.
    * Day + month.  Months: Gregorian (يناير ...), Levantine (كانون الثاني، شباط ...) and
      Maghreb (جانفي، فيفري، أفريل، ماي، جوان، جويلية، يوليوز، أوت، غشت، شتنبر، نونبر، دجنبر)
      names, alone or combined ("سبتمبر/أيلول", "أيلول (سبتمبر)").  The day is digits
      ("19", "١٩", "الـ19") or an ordinal word from الأول to الحادي والثلاثين, optionally
      followed by "من" and/or "شهر".  The year is chosen by the qualifier:
        - explicit year ("15 يوليو 2016", "... من عام 2016") [day_month_year];
        - الحالي / الجاري [day_month_current]: the publication month's year;
        - الماضي / المنصرم / الفائت [day_month_past]: the latest occurrence of that month
          strictly before the publication month (same year if month < P.month, else the year
          before), so "19 شتنبر الماضي" published 2016-10-05 is 2016-09-19;
        - المقبل / القادم [day_month_next]: the first occurrence after the publication month;
        - no qualifier [day_month_recent]: the latest such date on or before P.
      A weekday in front ("الأربعاء 28 سبتمبر") is checked against the resolved date.
      An impossible day (31 شباط) is not reported as a day; the month part still is.
    * منتصف / أواسط + month [mid_month_*]: granularity "mid_month", period the 11th-20th,
      ``date`` the 15th; the year as for day + month.
    * Month without a day [month_year, month_current, month_past, month_next]: when it has
      a qualifier or a year ("تموز الماضي", "شباط من عام 2016"); [month_recent]: after
      "شهر" or a preposition (في، منذ، حتى، خلال، مطلع، بداية، أوائل، أواخر، نهاية) =
      the latest such month on or before P's month.  Bare "آب" needs its madda in the
      original (plain "أب" is "father").  Granularity "month", ``date`` None.
    * الشهر الماضي [last_month] = the previous calendar month; الشهر الحالي/الجاري, هذا الشهر
      [this_month].  الأسبوع الماضي [last_week] = the previous Monday-Sunday week (the week
      before the one containing P); الأسبوع الحالي/الجاري, هذا الأسبوع [this_week].
      العام الماضي / السنة الماضية [last_year]; هذا العام / العام الحالي [this_year];
      عام/سنة + 4-digit year [year].
    * English (``lang="en"``): "the day before yesterday", "yesterday" (optionally
      "yesterday (Sunday)"), "today" (not "Russia Today"/"USA Today"), "on Monday" / "Monday"
      [weekday_recent], "last Friday" [weekday_last, strictly before P], "next Friday"
      [weekday_next], "September 9", "Sept. 9, 2016", "9 September", "the 9th of September"
      [day_month_recent / day_month_year], "mid-July" [mid_month_recent], "last July"
      [month_past], "July 2016" [month_year], "in July" [month_recent], "last week/month/year",
      "this week/month/year", "in 2016" [year].  Month names must be capitalized.
    * Numbers that are not dates ("2031 مرة", "250 ألف", "3500 عسكري", "12.8 ألف") never
      match: a number is only a day when a month name follows, and only a year after
      عام/سنة, after a month, or after an English preposition.

Granularity: "day" (``date`` == ``period_start`` == ``period_end``, ``offset_days`` =
date - P), "week", "month", "mid_month" (``date`` = the 15th) and "year"; ``offset_days``
is None except for days.  ``explanation`` is one English line showing the arithmetic.
"""

from __future__ import annotations

import calendar
import datetime
import re
from collections.abc import Callable, Iterable
from dataclasses import dataclass
from typing import Literal

from pydantic import BaseModel, ConfigDict

from agent.text import arabic

__all__ = ["Granularity", "ResolvedDate", "resolve_dates"]

Granularity = Literal["day", "week", "month", "mid_month", "year"]

WEEKDAY_NAMES = ("Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday")
MONTH_NAMES = (
    "", "January", "February", "March", "April", "May", "June",
    "July", "August", "September", "October", "November", "December",
)


class ResolvedDate(BaseModel):
    """One date expression found in a text and the calendar span it denotes."""

    model_config = ConfigDict(frozen=True)

    phrase: str
    start: int
    end: int
    date: datetime.date | None
    period_start: datetime.date | None
    period_end: datetime.date | None
    granularity: Granularity
    offset_days: int | None
    weekday_stated: str | None
    weekday_mismatch: bool
    rule: str
    explanation: str


# --------------------------------------------------------------------------- the matched text


@dataclass(frozen=True)
class _Source:
    """The original text, its normalized form and the map between them."""

    text: str
    norm: str
    index: list[int]
    published: datetime.date
    lang: str = "ar"  # the rule set's language: how "5/10" is read

    def span(self, norm_start: int, norm_end: int) -> tuple[int, int]:
        """Original offsets of a normalized span; trailing diacritics stay with their letter."""
        start = self.index[norm_start]
        end = self.index[norm_end - 1] + 1
        while end < len(self.text) and arabic.dropped(self.text[end]):
            end += 1
        return start, end


# --------------------------------------------------------------------------- vocabulary

_AR_WEEKDAYS = {
    "الاثنين": 0, "الثلاثاء": 1, "الاربعاء": 2, "الخميس": 3,
    "الجمعة": 4, "الجمعه": 4, "السبت": 5, "الاحد": 6,
}
_AR_MONTHS = {
    "يناير": 1, "كانون الثاني": 1, "جانفي": 1, "جانفييه": 1, "ينير": 1,
    "فبراير": 2, "شباط": 2, "فيفري": 2, "فبرير": 2,
    "مارس": 3, "اذار": 3, "مارش": 3,
    "ابريل": 4, "نيسان": 4, "افريل": 4, "ابرير": 4,
    "مايو": 5, "ايار": 5, "ماي": 5,
    "يونيو": 6, "يونيه": 6, "حزيران": 6, "جوان": 6, "يونيوز": 6,
    "يوليو": 7, "يوليه": 7, "تموز": 7, "جويلية": 7, "جويليه": 7, "يوليوز": 7,
    "اغسطس": 8, "اب": 8, "اوت": 8, "غشت": 8,
    "سبتمبر": 9, "ايلول": 9, "شتنبر": 9, "سبتمبير": 9,
    "اكتوبر": 10, "تشرين الاول": 10, "اكتوبير": 10,
    "نوفمبر": 11, "تشرين الثاني": 11, "نونبر": 11, "نوفمبير": 11,
    "ديسمبر": 12, "كانون الاول": 12, "دجنبر": 12, "ديسمبير": 12,
}
_UNITS = ["الاول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن", "التاسع"]


def _ordinals() -> dict[str, int]:
    """Masculine Arabic ordinals 1-31 (normalized): الاول ... الحادي عشر ... الحادي والثلاثين."""
    table = {word: n for n, word in enumerate(_UNITS, start=1)}
    table["العاشر"] = 10
    table |= {f"{word} عشر": n for n, word in enumerate(["الحادي", *_UNITS[1:]], start=11)}
    for tens, value in (("العشرين", 20), ("العشرون", 20), ("الثلاثين", 30), ("الثلاثون", 30)):
        table[tens] = value
        units = ["الحادي", *_UNITS[1:]] if value == 20 else ["الحادي"]
        table |= {f"{word} و{tens}": value + n for n, word in enumerate(units, start=1)}
        table[f"الواحد و{tens}"] = value + 1
    return table


_AR_ORDINALS = _ordinals()
_AR_QUALIFIERS = {
    "الماضي": "past", "المنصرم": "past", "الفائت": "past",
    "الحالي": "current", "الجاري": "current",
    "المقبل": "next", "القادم": "next",
}
_EN_WEEKDAYS = {name.lower(): i for i, name in enumerate(WEEKDAY_NAMES)}
_EN_MONTHS = {name: i for i, name in enumerate(MONTH_NAMES) if name}
_EN_ABBREVIATIONS = {
    "Jan": 1, "Feb": 2, "Mar": 3, "Apr": 4, "Jun": 6, "Jul": 7, "Aug": 8,
    "Sep": 9, "Sept": 9, "Oct": 10, "Nov": 11, "Dec": 12,
}
_EN_MONTHS |= _EN_ABBREVIATIONS | {f"{abbr}.": n for abbr, n in _EN_ABBREVIATIONS.items()}
# the first word of every month name, folded and lower-cased ("تشرين", "ايلول", "september", "sept"): a number next
# to one is a day of the month, not a count
MONTH_WORDS = frozenset(arabic.fold(name.split()[0]).lower().rstrip(".") for name in (*_AR_MONTHS, *_EN_MONTHS))


def _alt(words: Iterable[str]) -> str:
    """Regex alternation of ``words``, longest first; spaces inside a word match any whitespace."""
    parts = sorted(set(words), key=len, reverse=True)
    return "(?:" + "|".join(r"\s+".join(map(re.escape, w.split())) for w in parts) + ")"


def _key(matched: str) -> str:
    """Lookup key for a matched vocabulary word: single spaces."""
    return " ".join(matched.split())


# --------------------------------------------------------------------------- calendar helpers


def _shift_weekday(published: datetime.date, weekday: int, mode: str) -> datetime.date:
    """The ``weekday`` nearest ``published``: mode "recent" (on or before), "last" (strictly
    before) or "next" (strictly after)."""
    if mode == "next":
        return published + datetime.timedelta(days=(weekday - published.weekday() - 1) % 7 + 1)
    back = (published.weekday() - weekday) % 7
    if mode == "last" and back == 0:
        back = 7
    return published - datetime.timedelta(days=back)


def _month_bounds(year: int, month: int) -> tuple[datetime.date, datetime.date]:
    return datetime.date(year, month, 1), datetime.date(year, month, calendar.monthrange(year, month)[1])


def _previous_month(published: datetime.date) -> tuple[int, int]:
    return (published.year, published.month - 1) if published.month > 1 else (published.year - 1, 12)


def _year_for_month(month: int, mode: str, published: datetime.date, day: int | None = None) -> int:
    """Year of ``month`` given a qualifier mode: current, past, next or recent (no qualifier)."""
    if mode == "current":
        return published.year
    if mode == "past":
        return published.year if month < published.month else published.year - 1
    if mode == "next":
        return published.year if month > published.month else published.year + 1
    latest = (month, day or 1) <= (published.month, published.day)
    return published.year if latest else published.year - 1


_MODE_TEXT = {
    "year": "explicit year",
    "current": "current month/year of published {p}",
    "past": "latest {m} before the publication month {p:%Y-%m}",
    "next": "first {m} after the publication month {p:%Y-%m}",
    "recent": "latest {m} on or before published {p}",
}


def _mode_text(mode: str, month: int, published: datetime.date) -> str:
    return _MODE_TEXT[mode].format(m=MONTH_NAMES[month], p=published)


# --------------------------------------------------------------------------- result builders


def _day_result(
    src: _Source, span: tuple[int, int], day: datetime.date, rule: str, how: str,
    stated: int | None = None,
) -> ResolvedDate:
    """A day-granularity result; ``stated`` is the weekday named in the phrase, if any."""
    start, end = src.span(*span)
    phrase = src.text[start:end]
    mismatch = stated is not None and stated != day.weekday()
    explanation = f"'{phrase}' = {how} = {day} ({WEEKDAY_NAMES[day.weekday()]})"
    if mismatch and stated is not None:
        explanation += f"; stated weekday {WEEKDAY_NAMES[stated]} does not match"
    return ResolvedDate(
        phrase=phrase, start=start, end=end, date=day, period_start=day, period_end=day,
        granularity="day", offset_days=(day - src.published).days,
        weekday_stated=WEEKDAY_NAMES[stated] if stated is not None else None,
        weekday_mismatch=mismatch, rule=rule, explanation=explanation,
    )


def _period_result(
    src: _Source, span: tuple[int, int], first: datetime.date, last: datetime.date,
    granularity: Granularity, rule: str, how: str, nominal: datetime.date | None = None,
) -> ResolvedDate:
    """A week/month/mid-month/year result covering ``first``..``last``."""
    start, end = src.span(*span)
    phrase = src.text[start:end]
    explanation = f"'{phrase}' = {how} = {first}..{last}"
    if nominal is not None:
        explanation += f" (nominal day {nominal})"
    return ResolvedDate(
        phrase=phrase, start=start, end=end, date=nominal, period_start=first, period_end=last,
        granularity=granularity, offset_days=None, weekday_stated=None, weekday_mismatch=False,
        rule=rule, explanation=explanation,
    )


def _month_result(src: _Source, span: tuple[int, int], month: int, mode: str, year: int) -> ResolvedDate:
    first, last = _month_bounds(year, month)
    how = f"{MONTH_NAMES[month]} {year}, {_mode_text(mode, month, src.published)}"
    return _period_result(src, span, first, last, "month", f"month_{mode}", how)


def _mid_month_result(src: _Source, span: tuple[int, int], month: int, mode: str, year: int) -> ResolvedDate:
    how = f"middle (11th-20th) of {MONTH_NAMES[month]} {year}, {_mode_text(mode, month, src.published)}"
    return _period_result(
        src, span, datetime.date(year, month, 11), datetime.date(year, month, 20), "mid_month",
        f"mid_month_{mode}", how, nominal=datetime.date(year, month, 15),
    )


def _day_month_result(
    src: _Source, span: tuple[int, int], day: int, month: int, mode: str, year: int | None,
    stated: int | None,
) -> ResolvedDate | None:
    """Day ``day`` of ``month``; None for impossible dates such as 31 February."""
    if year is None:
        year = _year_for_month(month, mode, src.published, day)
        while mode == "recent" and day == 29 and month == 2 and not calendar.isleap(year):
            year -= 1  # 29 February: the latest year that has one
    if not 1 <= day <= calendar.monthrange(year, month)[1]:
        return None
    how = f"day {day} of {MONTH_NAMES[month]} {year}, {_mode_text(mode, month, src.published)}"
    return _day_result(src, span, datetime.date(year, month, day), f"day_month_{mode}", how, stated)


def _year_result(src: _Source, span: tuple[int, int], year: int, rule: str, how: str) -> ResolvedDate:
    first, last = datetime.date(year, 1, 1), datetime.date(year, 12, 31)
    return _period_result(src, span, first, last, "year", rule, how)


def _week_result(src: _Source, span: tuple[int, int], weeks_back: int) -> ResolvedDate:
    monday = src.published - datetime.timedelta(days=src.published.weekday() + 7 * weeks_back)
    sunday = monday + datetime.timedelta(days=6)
    if weeks_back:
        how = f"the Monday-Sunday week before the week of published {src.published}"
        rule = "last_week"
    else:
        how = f"the Monday-Sunday week containing published {src.published}"
        rule = "this_week"
    return _period_result(src, span, monday, sunday, "week", rule, how)


# --------------------------------------------------------------------------- rules

_Handler = Callable[[re.Match[str], _Source], "ResolvedDate | None"]


@dataclass(frozen=True)
class _Rule:
    pattern: re.Pattern[str]
    handler: _Handler


def _p(m: re.Match[str]) -> tuple[int, int]:
    """Normalized span of the phrase group ``p``."""
    return m.span("p")


def _g(m: re.Match[str], name: str) -> str | None:
    """Group ``name`` if the pattern has it and it matched, else None."""
    return m.groupdict().get(name) or None


def _stated_weekday(m: re.Match[str]) -> int | None:
    """Weekday named in the phrase (group ``wd``), Arabic or English."""
    word = _g(m, "wd")
    if word is None:
        return None
    return _AR_WEEKDAYS[word] if word in _AR_WEEKDAYS else _EN_WEEKDAYS[word.lower()]


def _month_of(m: re.Match[str]) -> int:
    word = _key(m.group("m"))
    return _AR_MONTHS[word] if word in _AR_MONTHS else _EN_MONTHS[word]


def _qualifier_mode(m: re.Match[str]) -> str:
    """year / current / past / next / recent, from the groups ``year``, ``q`` and ``last``."""
    if _g(m, "year"):
        return "year"
    if _g(m, "last"):
        return "past"
    qualifier = _g(m, "q")
    return _AR_QUALIFIERS[qualifier] if qualifier else "recent"


def _explicit_year(m: re.Match[str]) -> int | None:
    year = _g(m, "year")
    return int(year) if year else None


# Arabic building blocks (all on normalized text).
_W = r"(?<!\w)[وفب]?"                      # word start, optional glued و/ف/ب
_E = r"(?!\w)"                             # word end
_WD = rf"(?P<wd>{_alt(_AR_WEEKDAYS)}){_E}"
_WD_AFTER = rf"(?:\s*(?P<par>\()\s*|\s*[،,]\s*|\s+){_WD}(?(par)\s*\))"  # " الأحد", " (الأحد)", "، الأحد"
_MONTH = _alt(_AR_MONTHS)
_MONTHS = rf"(?P<m>{_MONTH}){_E}(?:\s*/\s*{_MONTH}{_E}|\s*\(\s*{_MONTH}\s*\))?"
_YEAR = (
    r"(?:\s+(?:من\s+)?(?:عام|سنة|العام)\s+|\s*[،,]?\s*)"  # " من عام 2016", " 2016", "، 2016"
    rf"(?P<year>(?:19|20)\d{{2}})(?![\d.,]\d)(?:م{_E})?"
)
_QUAL = rf"\s+(?P<q>{_alt(_AR_QUALIFIERS)}){_E}"
_DATE_TAIL = rf"(?:{_YEAR}|{_QUAL})"


def _yesterday(m: re.Match[str], src: _Source) -> ResolvedDate:
    before = 2 if _g(m, "d2") else 1
    stated = _stated_weekday(m)
    name = "day_before_yesterday" if before == 2 else "yesterday"
    day = src.published - datetime.timedelta(days=before)
    how = f"published {src.published} minus {before} day{'s' if before > 1 else ''}"
    return _day_result(src, _p(m), day, name + ("+weekday" if stated is not None else ""), how, stated)


def _today(m: re.Match[str], src: _Source) -> ResolvedDate:
    stated = _stated_weekday(m)
    rule = "today+weekday" if stated is not None else "today"
    return _day_result(src, _p(m), src.published, rule, "the publication day", stated)


def _weekday(m: re.Match[str], src: _Source) -> ResolvedDate:
    """Bare weekday; Arabic qualifier ``q`` (الماضية/المقبلة) or English modifier ``mod`` (last/next)."""
    weekday = _stated_weekday(m)
    assert weekday is not None
    modifier = (_g(m, "q") or _g(m, "mod") or "").lower()
    if modifier.startswith(("المقبل", "القادم", "next")):
        mode = "next"
    elif modifier and modifier != "on":
        mode = "last"
    else:
        mode = "recent"
    day = _shift_weekday(src.published, weekday, mode)
    relation = {"recent": "on or before", "last": "strictly before", "next": "strictly after"}[mode]
    which = "first" if mode == "next" else "most recent"
    pub = f"{src.published} ({WEEKDAY_NAMES[src.published.weekday()]})"
    how = f"{which} {WEEKDAY_NAMES[weekday]} {relation} published {pub}"
    return _day_result(src, _p(m), day, f"weekday_{mode}", how, weekday)


def _day_month(m: re.Match[str], src: _Source) -> ResolvedDate | None:
    number = _g(m, "dn")
    day = int(number) if number else _AR_ORDINALS[_key(m.group("do"))]
    return _day_month_result(
        src, _p(m), day, _month_of(m), _qualifier_mode(m), _explicit_year(m), _stated_weekday(m)
    )


def _numeric_day_month(m: re.Match[str], src: _Source) -> ResolvedDate | None:
    """"16/8", "١٦/٨/٢٠١٦": day then month in Arabic; in English only when the order cannot be mistaken
    ("28/9" or "9/28"), since "5/10" is 5 October in London and May 10 in Washington."""
    first, second = int(m.group("a")), int(m.group("b"))
    if src.lang == "en" and first <= 12 and second <= 12 and first != second:
        return None
    day, month = (second, first) if src.lang == "en" and second > 12 else (first, second)
    if not 1 <= month <= 12:
        return None
    year = _explicit_year(m)
    if year is not None and year < 100:
        year += 2000
    return _day_month_result(src, _p(m), day, month, "year" if year else "recent", year, None)


def _mid_month(m: re.Match[str], src: _Source) -> ResolvedDate:
    month, mode = _month_of(m), _qualifier_mode(m)
    year = _explicit_year(m) or _year_for_month(month, mode, src.published, day=11)  # period has begun
    return _mid_month_result(src, _p(m), month, mode, year)


def _month_only(m: re.Match[str], src: _Source) -> ResolvedDate | None:
    month, mode = _month_of(m), _qualifier_mode(m)
    if _key(m.group("m")) == "اب" and mode == "recent" and src.text[src.span(*m.span("m"))[0]] != "آ":
        return None  # bare "أب"/"اب" is "father", only "آب" is August
    year = _explicit_year(m) or _year_for_month(month, mode, src.published)
    return _month_result(src, _p(m), month, mode, year)


def _relative_period(src: _Source, span: tuple[int, int], unit: str, past: bool) -> ResolvedDate:
    """Last/this week, month or year relative to the publication date."""
    if unit == "week":
        return _week_result(src, span, 1 if past else 0)
    if unit == "month":
        year, month = _previous_month(src.published) if past else (src.published.year, src.published.month)
        first, last = _month_bounds(year, month)
        which = "previous calendar month" if past else "publication month"
        how = f"{which} of published {src.published}: {MONTH_NAMES[month]} {year}"
        return _period_result(src, span, first, last, "month", "last_month" if past else "this_month", how)
    year = src.published.year - 1 if past else src.published.year
    which = "year before the publication year" if past else "publication year"
    return _year_result(src, span, year, "last_year" if past else "this_year", f"{which}: {year}")


def _year(m: re.Match[str], src: _Source) -> ResolvedDate:
    year = int(m.group("year"))
    return _year_result(src, _p(m), year, "year", f"explicit year {year}")


_AR_PAST = _alt(["الماضي", "الماضية", "المنصرم", "المنصرمة", "الفائت", "الفائتة"])
_AR_CURRENT = _alt(["الحالي", "الحالية", "الجاري", "الجارية"])
_AR_NEXT = _alt(["المقبل", "المقبلة", "القادم", "القادمة"])
_AR_UNITS = {"الاسبوع": "week", "الشهر": "month", "العام": "year", "السنة": "year"}
_AR_PERIOD = (
    rf"(?P<p>(?:(?P<unit>{_alt(_AR_UNITS)})\s+(?:(?P<past>{_AR_PAST})|{_AR_CURRENT})"
    rf"|(?:هذا|هذه)\s+(?P<unit2>{_alt(_AR_UNITS)})){_E})"
)


def _ar_period(m: re.Match[str], src: _Source) -> ResolvedDate:
    unit = _AR_UNITS[m.group("unit") or m.group("unit2")]
    return _relative_period(src, _p(m), unit, m.group("past") is not None)


_PREP = _alt([  # normalized: حتى is حتي, أوائل is اوايل
    "في", "منذ", "حتي", "خلال", "مطلع", "بداية", "بدايه", "اوايل", "اواخر", "اخر", "نهاية", "نهايه", "قبل", "بعد",
])
_AR_DAY = rf"(?:(?:ال)?(?P<dn>\d{{1,2}})(?![\d.,]\d)|(?P<do>{_alt(_AR_ORDINALS)}){_E})"

# "16/8", "١٦/٨/٢٠١٦", "28/9/16": written with a slash (either language; the order is read in _numeric_day_month)
_NUMERIC_DATE = _Rule(re.compile(
    r"(?<![\w./-])(?P<p>(?P<a>\d{1,2})\s*/\s*(?P<b>\d{1,2})(?:\s*/\s*(?P<year>(?:19|20)?\d{2}))?)(?![\w/]|[.,]\d)"
), _numeric_day_month)

_AR_RULES = [
    _Rule(re.compile(
        _W + r"(?P<p>(?:يوم\s+)?(?:(?P<d2>امس\s+الاول|اول\s+امس|اول\s+من\s+امس)|امس|البارحة|البارحه)"
        rf"{_E}(?:{_WD_AFTER})?)"
    ), _yesterday),
    _Rule(re.compile(_W + rf"(?P<p>(?:يوم\s+)?اليوم{_WD_AFTER})"), _today),
    _Rule(re.compile(r"(?<!روسيا\s)" + _W + rf"(?P<p>اليوم){_E}(?!\s+ال)"), _today),
    _Rule(re.compile(
        r"(?<!كلا\s)" + _W + rf"(?P<p>(?:يوم\s+)?{_WD}(?:\s+(?P<q>{_AR_PAST}|{_AR_NEXT}){_E})?)"
        r"(?!\s+(?:عشر|معا))"
    ), _weekday),
    _Rule(re.compile(
        r"(?<![\w.,])[وفب]?(?P<p>(?:(?:يوم\s+)?" + _WD + r"\s*[،,]?\s*)?"
        + _AR_DAY + r"\s*(?:من\s+)?(?:شهر\s+)?" + _MONTHS + rf"(?:{_DATE_TAIL})?)"
    ), _day_month),
    _Rule(re.compile(
        _W + r"(?P<p>(?:منتصف|اواسط)\s+(?:شهر\s+)?" + _MONTHS + rf"(?:{_DATE_TAIL})?)"
    ), _mid_month),
    _Rule(re.compile(_W + r"(?P<p>(?:شهر\s+)?" + _MONTHS + _DATE_TAIL + ")"), _month_only),
    _Rule(re.compile(
        rf"(?:(?<!\w){_PREP}\s+|(?=شهر\s))(?P<p>(?:شهر\s+)?{_MONTHS})(?!\s*[\d/(])"
    ), _month_only),
    _Rule(re.compile(_W + _AR_PERIOD), _ar_period),
    _Rule(re.compile(
        _W + r"(?P<p>(?:عام|سنة|العام)\s+(?P<year>(?:19|20)\d{2}))(?![\d.,]\d)"
    ), _year),
    _NUMERIC_DATE,
]


# English building blocks.
_EN_WD = rf"(?P<wd>(?i:{_alt(_EN_WEEKDAYS)})){_E}"
_EN_MONTH = rf"(?P<m>{_alt(_EN_MONTHS)})(?!\w)"
_EN_DAY = r"(?P<dn>\d{1,2})(?:st|nd|rd|th)?(?![\d.,]\d)"
_EN_YEAR = r"(?:,?\s+(?P<year>(?:19|20)\d{2})(?![\d.,]\d))"


def _en_period(m: re.Match[str], src: _Source) -> ResolvedDate:
    return _relative_period(src, _p(m), m.group("unit").lower(), m.group("which").lower() == "last")


_EN_WD_LEAD = rf"(?:(?:(?i:on)\s+)?{_EN_WD},?\s+)?"
_EN_RULES = [
    _Rule(re.compile(
        rf"(?<!\w)(?P<p>(?i:(?P<d2>the\s+day\s+before\s+yesterday)|yesterday)"
        rf"(?:\s*\(\s*{_EN_WD}\s*\))?)"
    ), _yesterday),
    _Rule(re.compile(r"(?<!Russia\s)(?<!USA\s)(?<!\w)(?P<p>(?i:today))" + _E), _today),
    _Rule(re.compile(rf"(?<!\w)(?P<p>(?:(?P<mod>(?i:on|last|next))\s+)?{_EN_WD})"), _weekday),
    _Rule(re.compile(
        rf"(?<![\w.,])(?P<p>{_EN_WD_LEAD}(?:(?i:the)\s+)?{_EN_DAY}\s+(?:(?i:of)\s+)?{_EN_MONTH}{_EN_YEAR}?)"
    ), _day_month),
    _Rule(re.compile(rf"(?<!\w)(?P<p>{_EN_WD_LEAD}{_EN_MONTH}\s*{_EN_DAY}{_EN_YEAR}?)"), _day_month),
    _Rule(re.compile(rf"(?<!\w)(?P<p>(?i:mid)(?:-|\s+){_EN_MONTH}{_EN_YEAR}?)"), _mid_month),
    _Rule(re.compile(rf"(?<!\w)(?P<p>(?P<last>(?i:last))\s+{_EN_MONTH})"), _month_only),
    _Rule(re.compile(rf"(?<!\w)(?P<p>{_EN_MONTH}{_EN_YEAR})"), _month_only),
    _Rule(re.compile(
        r"(?<!\w)(?i:in|since|until|till|through|during|from|early|late|by)\s+"
        rf"(?P<p>{_EN_MONTH})(?!\s*\d)"
    ), _month_only),
    # the month as a modifier of a call or meeting: "the August calls", "the two October Lavrov-Kerry meetings"
    # ("the September truce" names the truce agreed then, not a period to search)
    _Rule(re.compile(rf"(?<!\w)(?i:the|both|two|which|what)\s+(?:(?i:two|three|both)\s+)?(?P<p>{_EN_MONTH})"
                     r"(?=\s+(?:[A-Z][\w'–-]*\s+){0,2}(?i:calls?|phone|conversations?|talks|meetings?|contacts?)\b)"), _month_only),
    _Rule(re.compile(
        r"(?<!\w)(?P<p>(?i:(?P<which>last|this)\s+(?P<unit>week|month|year)))" + _E
    ), _en_period),
    _Rule(re.compile(
        r"(?<!\w)(?i:in|since|until|during|by)\s+(?P<p>(?P<year>(?:19|20)\d{2}))(?![\d.,]\d|\s*%)"
    ), _year),
    _NUMERIC_DATE,
]

_RULES_BY_LANG = {"ar": _AR_RULES, "en": _EN_RULES, "any": _AR_RULES + _EN_RULES}


# --------------------------------------------------------------------------- entry point


def _candidates(src: _Source, rules: list[_Rule]) -> list[tuple[int, ResolvedDate]]:
    """Every rule match, tagged with the rule's priority (lower wins ties)."""
    found: list[tuple[int, ResolvedDate]] = []
    for priority, rule in enumerate(rules):
        for match in rule.pattern.finditer(src.norm):
            result = rule.handler(match, src)
            if result is not None:
                found.append((priority, result))
    return found


def _select(candidates: list[tuple[int, ResolvedDate]]) -> list[ResolvedDate]:
    """Keep non-overlapping results, longest first; return them in text order."""
    ranked = sorted(candidates, key=lambda c: (-(c[1].end - c[1].start), c[1].start, c[0]))
    kept: list[ResolvedDate] = []
    for _, result in ranked:
        if all(result.end <= k.start or result.start >= k.end for k in kept):
            kept.append(result)
    return sorted(kept, key=lambda r: r.start)


def resolve_dates(text: str, published: datetime.date, lang: str = "ar") -> list[ResolvedDate]:
    """All date expressions in ``text``, resolved against ``published``, in order of position.

    ``lang`` selects the rule set: "ar" (Arabic), "en" (English) or "any" (both).
    """
    if lang not in _RULES_BY_LANG:
        raise ValueError(f"lang must be one of {sorted(_RULES_BY_LANG)}, not {lang!r}")
    norm, index = arabic.normalize_with_offsets(text)
    src = _Source(text=text, norm=norm, index=index, published=published, lang=lang)
    return _select(_candidates(src, _RULES_BY_LANG[lang]))
