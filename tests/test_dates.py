"""Tests for agent.text.dates: every date phrase in the five seed articles, plus edge cases.

Expected dates are written literally; they were hand-computed from each file's publication
date in seeds/manifest.yaml and checked against Python's calendar (weekday of each date).
"""

from __future__ import annotations

import itertools
import re
from datetime import date as D
from pathlib import Path

import pytest

from agent.text.dates import ResolvedDate, resolve_dates

SEEDS = Path(__file__).parents[1] / "seeds"

F000 = "000_05ef239a9c3f61f9.txt"  # published Wednesday 2016-10-05
F001 = "001_a9aefecacaf48a1a.txt"  # published Monday 2016-10-03
F002 = "002_e83c710a14adfa23.txt"  # published Wednesday 2016-09-28
F003 = "003_6fb0efb9cf778144.txt"  # published Sunday 2016-10-30
F004 = "004_2399a9a2b0d5824e.txt"  # published Tuesday 2016-08-16


def _manifest() -> dict[str, D]:
    """file name -> publication date, read from manifest.yaml without a YAML library."""
    text = (SEEDS / "manifest.yaml").read_text(encoding="utf-8")
    pairs = re.findall(r"file:\s*(\S+)\s*\n\s*published:\s*(\d{4}-\d{2}-\d{2})", text)
    return {name: D.fromisoformat(day) for name, day in pairs}


def _seed(name: str) -> tuple[str, D]:
    return (SEEDS / name).read_text(encoding="utf-8"), _manifest()[name]


def _day(phrase: str, day: D, rule: str) -> tuple[str, str, D, D, str]:
    return (phrase, "day", day, day, rule)


# (phrase, granularity, period_start, period_end, rule) for every date phrase, in text order.
EXPECTED: dict[str, list[tuple[str, str, D, D, str]]] = {
    F000: [
        _day("يوم الأربعاء", D(2016, 10, 5), "weekday_recent"),  # publication weekday = P
        _day("يوم الإثنين", D(2016, 10, 3), "weekday_recent"),
        _day("19 شتنبر الماضي", D(2016, 9, 19), "day_month_past"),  # Moroccan month name
    ],
    F001: [
        # first paragraph: truncated duplicate of the second (scraping artifact)
        _day("امس الأحد", D(2016, 10, 2), "yesterday+weekday"),
        _day("أمس الأول السبت", D(2016, 10, 1), "day_before_yesterday+weekday"),
        _day("امس الأحد", D(2016, 10, 2), "yesterday+weekday"),
        _day("أمس الأول السبت", D(2016, 10, 1), "day_before_yesterday+weekday"),
        _day("الجمعة", D(2016, 9, 30), "weekday_recent"),  # "تحدث ... إلى نظيره الروسي الجمعة"
        _day("الجمعة", D(2016, 9, 30), "weekday_recent"),  # "مارك تونر، الجمعة،"
        _day("أمس الاول السبت", D(2016, 10, 1), "day_before_yesterday+weekday"),
        _day("السبت", D(2016, 10, 1), "weekday_recent"),  # "وقصفت طائرات حربية روسية، السبت،"
        _day("امس (الاحد)", D(2016, 10, 2), "yesterday+weekday"),
        _day("يوم أمس الأول (السبت)", D(2016, 10, 1), "day_before_yesterday+weekday"),
    ],
    F002: [
        _day("التاسع من سبتمبر/أيلول", D(2016, 9, 9), "day_month_recent"),
        _day("19 سبتمبر/أيلول", D(2016, 9, 19), "day_month_recent"),
        _day("اليوم الأربعاء", D(2016, 9, 28), "today+weekday"),  # "فجر اليوم الأربعاء"
        _day("اليوم الأربعاء", D(2016, 9, 28), "today+weekday"),
        _day("اليوم", D(2016, 9, 28), "today"),  # "في وقت سابق اليوم"
    ],
    F003: [
        _day("يوم الجمعة", D(2016, 10, 28), "weekday_recent"),
        ("الأسبوع الماضي", "week", D(2016, 10, 17), D(2016, 10, 23), "last_week"),
        _day("أمس", D(2016, 10, 29), "yesterday"),  # "روسيا اليوم" right after is not a date
        _day("التاسع من شهر أيلول الماضي", D(2016, 9, 9), "day_month_past"),
        ("شباط من عام 2016", "month", D(2016, 2, 1), D(2016, 2, 29), "month_year"),
        ("أيلول", "month", D(2016, 9, 1), D(2016, 9, 30), "month_recent"),  # "حتى أيلول"
    ],
    F004: [
        _day("يوم الثلاثاء", D(2016, 8, 16), "weekday_recent"),
        _day("15 يوليو الماضي", D(2016, 7, 15), "day_month_past"),
        _day("الخامس من آب الحالي", D(2016, 8, 5), "day_month_current"),
        ("منتصف تموز الماضي", "mid_month", D(2016, 7, 11), D(2016, 7, 20), "mid_month_past"),
        _day("27 شباط الماضي", D(2016, 2, 27), "day_month_past"),
        ("الشهر الماضي", "month", D(2016, 7, 1), D(2016, 7, 31), "last_month"),
    ],
}


def _summary(results: list[ResolvedDate]) -> list[tuple[str, str, D | None, D | None, str]]:
    return [(r.phrase, r.granularity, r.period_start, r.period_end, r.rule) for r in results]


def test_manifest_dates() -> None:
    assert _manifest() == {
        F000: D(2016, 10, 5), F001: D(2016, 10, 3), F002: D(2016, 9, 28),
        F003: D(2016, 10, 30), F004: D(2016, 8, 16),
    }


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_phrases_exhaustive(name: str) -> None:
    text, published = _seed(name)
    assert _summary(resolve_dates(text, published)) == EXPECTED[name]


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_offsets_map_back(name: str) -> None:
    text, published = _seed(name)
    results = resolve_dates(text, published)
    assert results
    for r in results:
        assert text[r.start:r.end] == r.phrase
    for a, b in itertools.pairwise(results):
        assert a.end <= b.start  # in text order, no overlaps


@pytest.mark.parametrize("name", sorted(EXPECTED))
def test_seed_days_are_consistent(name: str) -> None:
    text, published = _seed(name)
    for r in resolve_dates(text, published):
        assert not r.weekday_mismatch, r.explanation  # high-confidence dates: every weekday agrees
        assert r.explanation.startswith(f"'{r.phrase}' = ")
        if r.granularity == "day":
            assert r.date == r.period_start == r.period_end
            assert r.offset_days == (r.date - published).days
        else:
            assert r.offset_days is None


def _find(name: str, phrase: str) -> ResolvedDate:
    text, published = _seed(name)
    return next(r for r in resolve_dates(text, published) if r.phrase == phrase)


def test_seed_001_details() -> None:
    r = _find(F001, "امس الأحد")
    assert (r.date, r.offset_days, r.weekday_stated) == (D(2016, 10, 2), -1, "Sunday")
    assert not r.weekday_mismatch
    assert r.explanation == "'امس الأحد' = published 2016-10-03 minus 1 day = 2016-10-02 (Sunday)"
    r = _find(F001, "أمس الأول السبت")
    assert (r.date, r.offset_days, r.weekday_stated) == (D(2016, 10, 1), -2, "Saturday")
    assert not r.weekday_mismatch
    r = _find(F001, "امس (الاحد)")
    assert (r.date, r.weekday_stated) == (D(2016, 10, 2), "Sunday")
    r = _find(F001, "الجمعة")
    assert (r.date, r.offset_days, r.weekday_stated) == (D(2016, 9, 30), -3, "Friday")


def test_seed_004_details() -> None:
    mid = _find(F004, "منتصف تموز الماضي")
    assert (mid.date, mid.period_start, mid.period_end) == (D(2016, 7, 15), D(2016, 7, 11), D(2016, 7, 20))
    month = _find(F004, "الشهر الماضي")
    assert (month.date, month.granularity) == (None, "month")
    assert _find(F004, "يوم الثلاثاء").offset_days == 0


def test_seed_003_week_is_explained() -> None:
    week = _find(F003, "الأسبوع الماضي")
    assert week.date is None
    assert "Monday-Sunday week before the week of published 2016-10-30" in week.explanation


def test_seed_003_alternative_publication_date() -> None:
    """The manifest says 003 could be a late posting of 2016-10-29: "أمس" moves, Friday does not."""
    text, _ = _seed(F003)
    by_phrase = {r.phrase: r.date for r in resolve_dates(text, D(2016, 10, 29))}
    assert by_phrase["يوم الجمعة"] == D(2016, 10, 28)
    assert by_phrase["أمس"] == D(2016, 10, 28)


# ----------------------------------------------------------------------------- edge cases


def test_weekday_mismatch_flagged() -> None:
    [r] = resolve_dates("قالت الوزارة امس الأحد إن", D(2016, 10, 5))
    assert r.date == D(2016, 10, 4)  # yesterday was a Tuesday
    assert r.weekday_stated == "Sunday"
    assert r.weekday_mismatch
    assert "does not match" in r.explanation


def test_today_weekday_mismatch_flagged() -> None:
    [r] = resolve_dates("فجر اليوم الخميس", D(2016, 9, 28))
    assert (r.date, r.rule, r.weekday_mismatch) == (D(2016, 9, 28), "today+weekday", True)


def test_diacritized_input_resolves_with_original_offsets() -> None:
    text = "قالت الوزارةُ أمسِ الأحدِ إنّ"
    [r] = resolve_dates(text, D(2016, 10, 3))
    assert r.phrase == "أمسِ الأحدِ"  # trailing kasra kept with its letter
    assert text[r.start:r.end] == r.phrase
    assert (r.date, r.weekday_mismatch) == (D(2016, 10, 2), False)


def test_tatweel_and_alef_variants() -> None:
    text = "جرى الاتصال يوم الاثنيـن، وقال إمس الأحد"
    results = resolve_dates(text, D(2016, 10, 5))
    assert [(r.phrase, r.date) for r in results] == [
        ("يوم الاثنيـن", D(2016, 10, 3)),
        ("إمس الأحد", D(2016, 10, 4)),
    ]
    assert results[1].weekday_mismatch


def test_arabic_indic_digits() -> None:
    text = "انتهت الهدنة في ١٩ سبتمبر"
    [r] = resolve_dates(text, D(2016, 10, 5))
    assert (r.phrase, r.date) == ("١٩ سبتمبر", D(2016, 9, 19))


def test_hamza_spellings_match_alike() -> None:
    """The search normalizer's folding (ئ→ي): "أوائل" written without its hamza seat is the same word."""
    for text in ("في أوائل أيلول", "في اوايل ايلول"):
        [r] = resolve_dates(text, D(2016, 10, 5))
        assert (r.rule, r.period_start) == ("month_recent", D(2016, 9, 1))


def test_non_dates_not_matched() -> None:
    text = "انتهكت 2031 مرة. ونحو 250 ألف شخص، و3500 عسكري سوري و12.8 ألف مدني و١٢٫٨ ألف"
    assert resolve_dates(text, D(2016, 10, 30)) == []


def test_seed_003_numbers_are_not_dates() -> None:
    text, published = _seed(F003)
    sentence = text[text.index("انتهكت"):text.index("لقوا مصرعهم")]
    assert [r.phrase for r in resolve_dates(sentence, published)] == ["شباط من عام 2016", "أيلول"]


@pytest.mark.parametrize(
    "text",
    [
        "الأحداث الأخيرة",  # contains الأحد
        "الجمعية العامة للأمم المتحدة",  # not الجمعة
        "الخامس والسادس",  # الخامس contains امس
        "لامس الحقيقة",  # ل + امس is "touched"
        "بحسب موقع «روسيا اليوم»",  # channel name
        "في اليوم التالي",  # relative to an event, not today
        "الأحد عشر كوكبا",  # "the eleven"
        "كلا الاثنين",  # "both"
        "بعد يوم واحد منذ أكثر من أسبوع",  # durations
        "زار الأب في بيته",  # أب is "father", not آب
    ],
)
def test_words_that_are_not_dates(text: str) -> None:
    assert resolve_dates(text, D(2016, 10, 5)) == []


def test_bare_weekday_on_publication_weekday_is_publication_day() -> None:
    [r] = resolve_dates("أعلنت الوزارة الأربعاء", D(2016, 10, 5))
    assert (r.date, r.offset_days) == (D(2016, 10, 5), 0)


def test_weekday_qualifiers() -> None:
    results = resolve_dates("الجمعة الماضية والأربعاء الماضي والاثنين المقبل", D(2016, 10, 5))
    assert [(r.phrase, r.date, r.rule) for r in results] == [
        ("الجمعة الماضية", D(2016, 9, 30), "weekday_last"),
        ("الأربعاء الماضي", D(2016, 9, 28), "weekday_last"),  # strictly before
        ("الاثنين المقبل", D(2016, 10, 10), "weekday_next"),
    ]


def test_day_before_yesterday_variants() -> None:
    results = resolve_dates("أول أمس وأول من أمس والبارحة", D(2016, 10, 3))
    assert [(r.phrase, r.date) for r in results] == [
        ("أول أمس", D(2016, 10, 1)),
        ("أول من أمس", D(2016, 10, 1)),
        ("البارحة", D(2016, 10, 2)),
    ]


def test_yesterday_weekday_after_comma() -> None:
    [r] = resolve_dates("وقالت الوزارة، أمس، الأحد، إن", D(2016, 10, 3))
    assert (r.phrase, r.date, r.weekday_mismatch) == ("أمس، الأحد", D(2016, 10, 2), False)


ORDINALS = [
    "الأول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن", "التاسع", "العاشر",
    "الحادي عشر", "الثاني عشر", "الثالث عشر", "الرابع عشر", "الخامس عشر", "السادس عشر",
    "السابع عشر", "الثامن عشر", "التاسع عشر", "العشرين", "الحادي والعشرين", "الثاني والعشرين",
    "الثالث والعشرين", "الرابع والعشرين", "الخامس والعشرين", "السادس والعشرين", "السابع والعشرين",
    "الثامن والعشرين", "التاسع والعشرين", "الثلاثين", "الحادي والثلاثين",
]


@pytest.mark.parametrize(("day", "ordinal"), list(enumerate(ORDINALS, start=1)))
def test_ordinal_days(day: int, ordinal: str) -> None:
    text = f"جرى الاتصال في {ordinal} من تموز الماضي"
    [r] = resolve_dates(text, D(2016, 8, 16))
    assert (r.phrase, r.date) == (f"{ordinal} من تموز الماضي", D(2016, 7, day))


MONTH_NAMES = [
    ("يناير", 1), ("كانون الثاني", 1), ("جانفي", 1), ("فبراير", 2), ("شباط", 2), ("فيفري", 2),
    ("مارس", 3), ("آذار", 3), ("أبريل", 4), ("ابريل", 4), ("نيسان", 4), ("أفريل", 4),
    ("مايو", 5), ("أيار", 5), ("ماي", 5), ("يونيو", 6), ("حزيران", 6), ("جوان", 6),
    ("يوليو", 7), ("تموز", 7), ("جويلية", 7), ("يوليوز", 7), ("أغسطس", 8), ("آب", 8),
    ("أوت", 8), ("غشت", 8), ("سبتمبر", 9), ("أيلول", 9), ("شتنبر", 9), ("أكتوبر", 10),
    ("تشرين الأول", 10), ("نوفمبر", 11), ("تشرين الثاني", 11), ("نونبر", 11), ("ديسمبر", 12),
    ("كانون الأول", 12), ("دجنبر", 12),
]


@pytest.mark.parametrize(("name", "month"), MONTH_NAMES)
def test_month_names(name: str, month: int) -> None:
    [r] = resolve_dates(f"في 3 {name} 2015", D(2016, 10, 5))
    assert (r.phrase, r.date, r.rule) == (f"3 {name} 2015", D(2015, month, 3), "day_month_year")


@pytest.mark.parametrize(
    ("phrase", "published", "expected", "rule"),
    [
        ("19 شتنبر الماضي", D(2016, 10, 5), D(2016, 9, 19), "day_month_past"),
        ("27 شباط الماضي", D(2016, 8, 16), D(2016, 2, 27), "day_month_past"),
        ("5 أكتوبر الماضي", D(2016, 10, 5), D(2015, 10, 5), "day_month_past"),  # same month -> a year back
        ("20 ديسمبر الماضي", D(2016, 1, 10), D(2015, 12, 20), "day_month_past"),
        ("الخامس من آب الحالي", D(2016, 8, 16), D(2016, 8, 5), "day_month_current"),
        ("3 تشرين الأول الجاري", D(2016, 10, 30), D(2016, 10, 3), "day_month_current"),
        ("19 سبتمبر/أيلول", D(2016, 9, 28), D(2016, 9, 19), "day_month_recent"),
        ("30 سبتمبر", D(2016, 9, 28), D(2015, 9, 30), "day_month_recent"),  # never after publication
        ("أيلول (سبتمبر) 9", D(2016, 9, 28), None, ""),  # day after month: not an Arabic pattern
        ("10 نوفمبر المقبل", D(2016, 10, 5), D(2016, 11, 10), "day_month_next"),
        ("الـ19 من سبتمبر", D(2016, 10, 5), D(2016, 9, 19), "day_month_recent"),
        ("29 فبراير", D(2017, 3, 5), D(2016, 2, 29), "day_month_recent"),
    ],
)
def test_day_month_year_choice(phrase: str, published: D, expected: D | None, rule: str) -> None:
    results = [r for r in resolve_dates(f"في {phrase} جرى", published) if r.granularity == "day"]
    if expected is None:
        assert results == []
        return
    [r] = results
    assert (r.phrase, r.date, r.rule) == (phrase, expected, rule)


def test_impossible_day_falls_back_to_the_month() -> None:
    [r] = resolve_dates("في 31 شباط الماضي", D(2016, 10, 5))
    assert (r.phrase, r.granularity, r.date, r.rule) == ("شباط الماضي", "month", None, "month_past")


@pytest.mark.parametrize(
    ("phrase", "published", "granularity", "start", "end", "rule"),
    [
        ("الشهر الماضي", D(2016, 8, 16), "month", D(2016, 7, 1), D(2016, 7, 31), "last_month"),
        ("الشهر الماضي", D(2016, 1, 4), "month", D(2015, 12, 1), D(2015, 12, 31), "last_month"),
        ("الشهر الجاري", D(2016, 2, 4), "month", D(2016, 2, 1), D(2016, 2, 29), "this_month"),
        ("الأسبوع الماضي", D(2016, 10, 30), "week", D(2016, 10, 17), D(2016, 10, 23), "last_week"),
        ("الأسبوع الماضي", D(2016, 10, 3), "week", D(2016, 9, 26), D(2016, 10, 2), "last_week"),
        ("هذا الأسبوع", D(2016, 10, 5), "week", D(2016, 10, 3), D(2016, 10, 9), "this_week"),
        ("العام الماضي", D(2016, 10, 5), "year", D(2015, 1, 1), D(2015, 12, 31), "last_year"),
        ("عام 2014", D(2016, 10, 5), "year", D(2014, 1, 1), D(2014, 12, 31), "year"),
        ("تموز الماضي", D(2016, 8, 16), "month", D(2016, 7, 1), D(2016, 7, 31), "month_past"),
        ("آب الحالي", D(2016, 8, 16), "month", D(2016, 8, 1), D(2016, 8, 31), "month_current"),
        ("شباط من عام 2016", D(2016, 10, 30), "month", D(2016, 2, 1), D(2016, 2, 29), "month_year"),
        ("شهر نوفمبر", D(2016, 10, 5), "month", D(2015, 11, 1), D(2015, 11, 30), "month_recent"),
        ("منتصف تموز الماضي", D(2016, 8, 16), "mid_month", D(2016, 7, 11), D(2016, 7, 20), "mid_month_past"),
    ],
)
def test_periods(phrase: str, published: D, granularity: str, start: D, end: D, rule: str) -> None:
    [r] = resolve_dates(f"خلال {phrase} جرى", published)
    assert _summary([r]) == [(phrase, granularity, start, end, rule)]
    assert r.offset_days is None


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("Lavrov said yesterday", [("yesterday", D(2016, 10, 2), "yesterday")]),
        (
            "the call took place the day before yesterday",
            [("the day before yesterday", D(2016, 10, 1), "day_before_yesterday")],
        ),
        ("Kerry said today", [("today", D(2016, 10, 3), "today")]),
        ("they spoke on Wednesday", [("on Wednesday", D(2016, 9, 28), "weekday_recent")]),
        ("they spoke on Monday", [("on Monday", D(2016, 10, 3), "weekday_recent")]),
        ("they spoke last Friday", [("last Friday", D(2016, 9, 30), "weekday_last")]),
        ("they spoke last Monday", [("last Monday", D(2016, 9, 26), "weekday_last")]),
        ("agreed on September 9 in Geneva", [("September 9", D(2016, 9, 9), "day_month_recent")]),
        ("agreed on 9 September 2016", [("9 September 2016", D(2016, 9, 9), "day_month_year")]),
        ("ended Sept. 19", [("Sept. 19", D(2016, 9, 19), "day_month_recent")]),
        ("said yesterday (Sunday)", [("yesterday (Sunday)", D(2016, 10, 2), "yesterday+weekday")]),
        ("according to Russia Today", []),
        ("He may march 250 times", []),
    ],
)
def test_english_days(text: str, expected: list[tuple[str, D, str]]) -> None:
    results = resolve_dates(text, D(2016, 10, 3), lang="en")
    assert [(r.phrase, r.date, r.rule) for r in results] == expected


def test_english_periods() -> None:
    text = "Kerry visited Moscow in mid-July; last month and last week they talked, and in July 2015."
    results = resolve_dates(text, D(2016, 8, 16), lang="en")
    assert [(r.phrase, r.granularity, r.period_start, r.period_end) for r in results] == [
        ("mid-July", "mid_month", D(2016, 7, 11), D(2016, 7, 20)),
        ("last month", "month", D(2016, 7, 1), D(2016, 7, 31)),
        ("last week", "week", D(2016, 8, 8), D(2016, 8, 14)),
        ("July 2015", "month", D(2015, 7, 1), D(2015, 7, 31)),
    ]
    assert results[0].date == D(2016, 7, 15)


def test_english_weekday_mismatch() -> None:
    [r] = resolve_dates("said yesterday (Sunday)", D(2016, 10, 5), lang="en")
    assert (r.date, r.weekday_stated, r.weekday_mismatch) == (D(2016, 10, 4), "Sunday", True)


def test_lang_selects_rules() -> None:
    text = "امس الأحد and yesterday"
    assert [r.phrase for r in resolve_dates(text, D(2016, 10, 3))] == ["امس الأحد"]
    assert [r.phrase for r in resolve_dates(text, D(2016, 10, 3), lang="en")] == ["yesterday"]
    assert [r.phrase for r in resolve_dates(text, D(2016, 10, 3), lang="any")] == ["امس الأحد", "yesterday"]
    with pytest.raises(ValueError):
        resolve_dates(text, D(2016, 10, 3), lang="fr")


def test_deterministic() -> None:
    text, published = _seed(F001)
    assert resolve_dates(text, published) == resolve_dates(text, published)


@pytest.mark.parametrize(("text", "phrase"), [
    ("How many days separated the two August Lavrov-Kerry calls?", "August"),
    ("What did the October meetings decide?", "October"),
    ("Who placed the September call?", "September"),
])
def test_a_month_that_names_calls_or_meetings_dates_them(text: str, phrase: str) -> None:
    [r] = resolve_dates(text, D(2016, 10, 30), lang="en")
    assert r.phrase == phrase and r.granularity == "month"
    assert r.period_start is not None and r.period_end is not None and r.period_start.month == r.period_end.month


@pytest.mark.parametrize("text", ["Who broke the September truce?", "the August agreement held", "It may rain"])
def test_a_month_naming_a_thing_is_no_period_to_search(text: str) -> None:
    assert resolve_dates(text, D(2016, 10, 30), lang="en") == []


def test_which_month_call_dates_the_call() -> None:
    [r] = resolve_dates("Which October call covered Aleppo?", D(2016, 10, 30), lang="en")
    assert r.phrase == "October" and r.period_start == D(2016, 10, 1)


@pytest.mark.parametrize(("text", "lang", "day"), [
    ("اتصال ١٦/٨ بين لافروف وكيري", "ar", D(2016, 8, 16)),  # Arabic-Indic digits, day then month
    ("مكالمة 5/10", "ar", D(2016, 10, 5)),
    ("يوم 28/9/2016", "ar", D(2016, 9, 28)),
    ("اتصال 1/10/16", "ar", D(2016, 10, 1)),
    ("the 28/9 call", "en", D(2016, 9, 28)),
    ("the 9/28 call", "en", D(2016, 9, 28)),  # American order, when it cannot be mistaken
])
def test_a_date_written_with_slashes(text: str, lang: str, day: D) -> None:
    [r] = resolve_dates(text, D(2016, 10, 30), lang=lang)
    assert r.date == day and r.granularity == "day", r.explanation


@pytest.mark.parametrize("text", ["the 5/10 call", "on 10/5", "a score of 12.8/10", "the 2016/17 season"])
def test_a_slash_date_whose_order_english_cannot_tell_is_not_guessed(text: str) -> None:
    """"5/10" is 5 October in London and May 10 in Washington: no day is searched rather than a wrong one."""
    assert [r for r in resolve_dates(text, D(2016, 10, 30), lang="en") if r.granularity == "day"] == []
