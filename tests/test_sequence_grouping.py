"""Cross-source grouping and disagreements (agent.events.grouping) on small synthetic articles."""

from __future__ import annotations

import datetime as dt

import pytest

from agent.events.corpus import Article
from agent.events.entities import build_index
from agent.sequence.timeline import build_timeline
from agent.text.lexicon import load_analyzer

MONDAY = dt.date(2016, 10, 3)


def article(name: str, text: str, published: dt.date = MONDAY, outlet: str | None = None) -> Article:
    return Article(doc_id=name, file=f"{name}.txt", published=published, outlet=outlet or name, text=text)


@pytest.fixture(scope="module")
def tools():
    analyzer = load_analyzer(None)
    return analyzer, build_index(analyzer)


def timeline(tools, *articles: Article):
    analyzer, index = tools
    return build_timeline(list(articles), analyzer, index)


def calls(line):
    return [e for e in line.events if e.type == "call"]


def test_same_call_from_two_outlets_is_one_event_and_the_initiator_dispute_is_kept(tools) -> None:
    a = article("a", "قالت الخارجية الروسية إن سيرغي لافروف بحث مع نظيره الأمريكي جون كيري في اتصال هاتفي يوم السبت الوضع في حلب، "
                     "وإن الاتصال جرى بمبادرة من الجانب الأمريكي.")
    b = article("b", "أجرى وزير الخارجية الروسي سيرجي لافروف يوم السبت اتصالاً هاتفياً بجون كيري تناول الوضع في مدينة حلب.")
    (event,) = calls(timeline(tools, a, b))
    assert event.date.date == dt.date(2016, 10, 1)
    assert {r.file for r in event.reports} == {"a.txt", "b.txt"}
    assert event.participants == ["Sergei Lavrov", "John Kerry"]  # سيرغي / سيرجي: one person
    assert event.initiator is None
    (dispute,) = event.disagreements
    assert dispute.field == "initiator"
    values = {v.value: v for v in dispute.versions}
    assert set(values) == {"United States", "Russia (Sergei Lavrov)"}
    cited = {n for v in dispute.versions for n in v.citations}
    assert cited == set(event.citation_numbers)
    assert "sources disagree about the initiator" in event.flags
    for report in event.reports:
        c = report.citations[0]
        assert (a if report.file == "a.txt" else b).text[c.start:c.end] == c.quote
    assert "disputed" in event.what_en and "United States" in event.what_en


def test_reports_that_agree_on_the_initiator_are_not_a_dispute(tools) -> None:
    a = article("a", "وقالت الخارجية الروسية إن الاتصال الهاتفي بين لافروف وكيري يوم السبت كان بمبادرة من الجانب الأمريكي.")
    b = article("b", "جرى اتصال هاتفي بين سيرغي لافروف وجون كيري يوم السبت بعد مبادرة من هذا الأخير.")
    (event,) = calls(timeline(tools, a, b))
    assert not event.disagreements
    assert event.initiator == "United States (John Kerry)"  # "هذا الأخير" = the last one named: Kerry


def test_one_call_dated_differently_by_two_outlets_keeps_both_dates(tools) -> None:
    a = article("a", "ناقش سيرغي لافروف ونظيره جون كيري في اتصال هاتفي يوم السبت الوضع في حلب.")
    b = article("b", "ناقش لافروف وكيري في مكالمة هاتفية يوم الجمعة تطبيع الوضع في مدينة حلب.")
    (event,) = calls(timeline(tools, a, b))
    (dispute,) = event.disagreements
    assert dispute.field == "date"
    assert [v.value for v in dispute.versions] == ["2016-09-30", "2016-10-01"]
    assert all(v.citations for v in dispute.versions)


def test_one_article_that_tells_two_calls_apart_keeps_them_apart(tools) -> None:
    text = ("ناقش لافروف ونظيره الأمريكي كيري في محادثة هاتفية يوم السبت الوضع في حلب.\n"
            "ويأتي الاتصال بعد يوم واحد من إعلان واشنطن أن كيري تحدث عبر الهاتف إلى نظيره الروسي لافروف الجمعة بشأن حلب.")
    line = timeline(tools, article("a", text))
    assert [e.date.date for e in calls(line)] == [dt.date(2016, 9, 30), dt.date(2016, 10, 1)]
    assert not any(e.disagreements for e in line.events)


def test_the_day_an_account_was_given_is_an_upper_bound_not_a_disagreement(tools) -> None:
    a = article("a", "قالت وزارة الخارجية الروسية امس الأحد إن لافروف ونظيره كيري بحثا في مكالمة هاتفية الوضع في حلب.")
    b = article("b", "بحث لافروف وكيري في اتصال هاتفي يوم السبت الوضع في حلب.")
    (event,) = calls(timeline(tools, a, b))
    assert event.date.date == dt.date(2016, 10, 1) and event.date.basis == "stated"
    said = next(r for r in event.reports if r.file == "a.txt")
    assert said.date.basis == "report_day" and said.date.date == dt.date(2016, 10, 2)
    assert "at the latest" in said.date.explanation
    assert not event.disagreements


def test_weekday_mismatch_is_flagged_on_the_event(tools) -> None:
    # published Monday 2016-10-03: "yesterday" is Sunday, but the text says Saturday
    line = timeline(tools, article("a", "بحث لافروف ونظيره الأمريكي كيري في اتصال هاتفي امس السبت الوضع في حلب."))
    (event,) = calls(line)
    assert event.date.date == dt.date(2016, 10, 2) and event.date.weekday_mismatch
    assert any(f.startswith("weekday mismatch") for f in event.flags)
    assert "does not match" in event.date.explanation


def test_typed_events_group_across_outlets_without_shared_people(tools) -> None:
    a = article("a", "وكانت الهدنة في سوريا قد انتهت يوم 19 سبتمبر الماضي.", published=dt.date(2016, 10, 5))
    b = article("b", "وهذا التعاون بين موسكو وواشنطن متوقف منذ وقف الأعمال القتالية الذي انتهى في 19 سبتمبر/أيلول.",
                published=dt.date(2016, 9, 28))
    (event,) = [e for e in timeline(tools, a, b).events if e.type == "ceasefire_collapse"]
    assert event.date.date == dt.date(2016, 9, 19) and len(event.reports) == 2


def test_contacts_suspension_is_not_a_call_and_a_threat_is_not_a_suspension(tools) -> None:
    a = article("a", "وكانت وزارة الخارجية الأمريكية قد أعلنت يوم الإثنين تعليق جميع قنوات الاتصال مع روسيا.\n"
                     "وقال المتحدث مارك تونر الجمعة إن واشنطن على وشك تعليق الاتصالات الثنائية مع روسيا.")
    line = timeline(tools, a)
    assert [e.type for e in line.events] == ["statement", "suspension"]
    assert line.events[1].date.date == MONDAY


def test_citations_are_numbered_in_timeline_order(tools) -> None:
    a = article("a", "بحث لافروف وكيري في اتصال هاتفي يوم السبت الوضع في حلب.\nوكانت الهدنة قد انهارت يوم 19 سبتمبر الماضي.")
    line = timeline(tools, a)
    assert [c.n for c in line.citations()] == [1, 2]
    assert line.events[0].type == "ceasefire_collapse" and line.events[0].citation_numbers == [1]
