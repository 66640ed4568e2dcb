"""The offline planner (agent.answer.planner): list, order, compare and multi-part questions answered through the tools."""

from __future__ import annotations

import json
from pathlib import Path

import pytest

from agent.answer.planner import split_parts
from agent.config import load_settings
from agent.pipeline import Dalil
from agent.schema import Answer
from tests.conftest import run_cli

CALL_DAYS = ["2016-08-05", "2016-08-16", "2016-09-28", "2016-09-30", "2016-10-01", "2016-10-05", "2016-10-28"]
LIST_EN = "List the Lavrov–Kerry calls in chronological order"
LIST_AR = "اذكر الاتصالات بين لافروف وكيري بالترتيب الزمني"


@pytest.fixture
def dalil(seeded_store: Path) -> Dalil:
    return Dalil(load_settings(None, {"store": {"path": seeded_store}}))


def _days(answer: Answer) -> list[str]:
    """The listed events' days (from the events step), each checked against a date its cited quote states."""
    days = [event_id[:10] for event_id in answer.steps[-1].ids]
    assert len(days) == len(answer.sentences)
    for day, sentence in zip(days, answer.sentences, strict=True):
        cite = next(c for c in answer.citations if c.n == sentence.citations[0])
        assert day in {d.date for d in cite.dates}, (day, cite.quote)
    return days


@pytest.mark.parametrize("question", [LIST_EN, LIST_AR])
def test_the_list_question_gives_the_seven_calls_dated_and_cited(dalil: Dalil, question: str) -> None:
    answer = dalil.ask(question, mode="extractive")
    assert not answer.abstained
    assert len(answer.sentences) == 7 and len(answer.citations) == 7
    assert _days(answer) == CALL_DAYS
    texts = {p.name: p.read_text(encoding="utf-8") for p in (Path(__file__).parents[1] / "seeds").glob("*.txt")}
    for sentence, cite in zip(answer.sentences, answer.citations, strict=True):
        assert sentence.citations == [cite.n] and cite.quote in texts[cite.file]
        assert cite.quote in sentence.text and cite.quote in answer.answer  # quoted verbatim
    assert [s.tool for s in answer.steps] == ["events"]
    assert answer.steps[0].summary == "events: 7 calls" and len(answer.steps[0].ids) == 7


def test_labels_are_in_the_question_language(dalil: Dalil) -> None:
    english = dalil.ask(LIST_EN, mode="extractive")
    arabic = dalil.ask(LIST_AR, mode="extractive")
    assert english.sentences[0].text.startswith("1. the phone call of Friday 5 August 2016: ")
    assert arabic.sentences[0].text.startswith("1. الاتصال الهاتفي يوم الجمعة 5 آب 2016: ")
    assert english.lang == "en" and arabic.lang == "ar"


def test_an_order_question_orders_the_events_it_names(dalil: Dalil) -> None:
    answer = dalil.ask("Order these: the 5 August call, Kerry's Moscow visit, the start of the cessation of hostilities",
                       mode="extractive")
    lines = [s.text for s in answer.sentences]
    assert len(lines) == 3
    assert lines[0].startswith("1. the start of the ceasefire of Saturday 27 February 2016")
    assert lines[1].startswith("2. the meeting of Friday 15 July 2016")
    assert lines[2].startswith("3. the phone call of Friday 5 August 2016")


def test_an_order_question_over_a_month(dalil: Dalil) -> None:
    answer = dalil.ask("ما تسلسل الاتصالات الهاتفية بين لافروف وكيري خلال شهر تشرين الأول 2016؟", mode="extractive")
    assert _days(answer) == ["2016-10-01", "2016-10-05", "2016-10-28"]


def test_nothing_to_list_abstains(dalil: Dalil) -> None:
    answer = dalil.ask("List the Lavrov–Kerry calls in November 2016.", mode="extractive")
    assert answer.abstained and not answer.citations
    assert answer.steps and all(s.tool == "events" for s in answer.steps)


def test_a_compare_question_shows_both_sides(dalil: Dalil) -> None:
    answer = dalil.ask("Compare what the Russian Foreign Ministry and the State Department said about the 28 September call.",
                       mode="extractive")
    assert [s.tool for s in answer.steps] == ["accounts"]
    sides = [s.text.split(" (")[0] for s in answer.sentences if s.text.endswith(tuple("”\".")) or "account" in s.text]
    assert "Russian account" in sides and "US account" in sides
    quotes = {c.quote for c in answer.citations}
    assert any("حث نظيره الأميركي" in q for q in quotes) and any("جون كيربي" in q for q in quotes)
    arabic = dalil.ask("قارن بين الروايتين الروسية والأمريكية لاتصال 28 أيلول", mode="extractive")
    assert {s.text.split(":")[0] for s in arabic.sentences} == {"الرواية الروسية", "الرواية الأمريكية"}


def test_a_multi_part_question_runs_one_search_per_part(dalil: Dalil) -> None:
    question = "When and where was the agreement signed, and when did the truce end?"
    assert split_parts(question) == ["When and where was the agreement signed", "when did the truce end?"]
    answer = dalil.ask(question, mode="extractive")
    assert [s.tool for s in answer.steps] == ["search", "search", "search"]
    assert [s.arguments["query"] for s in answer.steps] == [question, *split_parts(question)]
    assert "التاسع من سبتمبر" in answer.answer and "19" in answer.answer
    assert sorted(c.n for c in answer.citations) == list(range(1, len(answer.citations) + 1))


def test_other_questions_keep_the_one_pass_answer(dalil: Dalil) -> None:
    assert split_parts("When and where was the agreement signed?") == ["When and where was the agreement signed?"]
    # a chat follow-up carries its context in parentheses after the question mark: still one question
    followup = "ومتى حدث ذلك؟ (جرى الاتصال الهاتفي لافروف وكيري حول حلب)"
    assert split_parts(followup) == [followup]
    answer = dalil.ask("On what day did Lavrov and Kerry discuss normalizing Aleppo?", mode="extractive")
    assert answer.steps == []


def test_steps_in_json_and_on_the_terminal(seeded_store: Path) -> None:
    code, out, _ = run_cli("ask", LIST_EN, "--json", "--store", str(seeded_store))
    assert code == 0
    data = json.loads(out)
    assert [s["tool"] for s in data["steps"]] == ["events"]
    step = data["steps"][0]
    assert step["arguments"] == {"type": "call", "participant": "Sergei Lavrov"}
    assert len(step["ids"]) == 7 and step["summary"] == "events: 7 calls" and step["seconds"] >= 0
    code, out, _ = run_cli("ask", LIST_EN, "--store", str(seeded_store))
    assert code == 0 and "step 1 · events: 7 calls · " in out
    code, out, _ = run_cli("ask", "On what day did Lavrov and Kerry discuss normalizing Aleppo?", "--json", "--store", str(seeded_store))
    assert json.loads(out)["steps"] == []


@pytest.mark.parametrize(("question", "days"), [
    ("Which of the Lavrov-Kerry calls did Lavrov place himself?", ["28 October 2016"]),
    ("Which calls were initiated by the United States?", ["16 August 2016", "5 October 2016"]),
    ("أي الاتصالات بادر بها كيري؟", ["16 آب 2016", "5 تشرين الأول 2016"]),
    ("Name the Lavrov-Kerry calls that the Russian Foreign Ministry says Washington initiated.", ["16 August 2016", "5 October 2016"]),
])
def test_which_calls_someone_placed_lists_them_with_the_words_that_say_so(dalil: Dalil, question: str, days: list[str]) -> None:
    answer = dalil.ask(question, mode="extractive")
    assert not answer.abstained, answer.warnings
    assert [s.text.split(":")[0] for s in answer.sentences] == [
        next(s.text.split(":")[0] for s in answer.sentences if d in s.text) for d in days]
    assert len(answer.sentences) == len(days)
    assert any(w in c.quote for c in answer.citations for w in ("بمبادرة", "مبادرة", "أجرى لافروف"))
    assert [s.tool for s in answer.steps] == ["events"]


def test_someone_who_placed_no_call_gets_no_call(dalil: Dalil) -> None:
    """Putin's side placed the 28 October call, but he was not on it: no report says he placed a call."""
    answer = dalil.ask("Which call did Putin initiate?", mode="extractive")
    assert answer.abstained and any("no report says Vladimir Putin placed" in w for w in answer.warnings)


# ------------------------------------------------------------------------------ days between two events
@pytest.mark.parametrize(("question", "days", "count"), [
    ("How many days passed between the early-August Lavrov-Kerry call and the Tuesday call reported by SyriaNews?",
     ["2016-08-05", "2016-08-16"], "11 days"),
    ("كم يوماً مرّ بين انتهاء الهدنة واتصال السبت الذي ناقش فيه الوزيران تطبيع الوضع في حلب؟",
     ["2016-09-19", "2016-10-01"], "12 يوماً"),
    ("how many days between the suspension and the call of 5 October?", ["2016-10-03", "2016-10-05"], "2 days"),
])
def test_days_between_two_events_counted_from_their_dating_quotes(dalil: Dalil, question: str, days: list[str], count: str) -> None:
    answer = dalil.ask(question, mode="extractive")
    assert not answer.abstained and answer.about is not None and answer.about.startswith(count)
    assert len(answer.citations) == 2
    for day, cite in zip(days, answer.citations, strict=True):  # each event's quote states the day the count uses
        assert day in {d.date for d in cite.dates}, (day, cite.quote)
    if answer.lang == "en":
        assert answer.lead is not None and answer.lead.startswith("Derived") and count in answer.lead


def test_days_between_gives_no_count_when_the_words_do_not_say_which_event(dalil: Dalil) -> None:
    # two Wednesday calls share these words (the later one's reports recall the suspension): no guessed count
    question = "كم يوم بين مكالمة الأربعاء اللي حذّر فيها كيري من تعليق التعاون، ومحادثة السبت عن تطبيع الوضع بحلب؟"
    answer = dalil.ask(question, mode="extractive")
    assert answer.about is None and not any(step.tool == "events" for step in answer.steps)
    assert any(w.startswith("no day count") for w in answer.warnings)


@pytest.mark.parametrize("question", [
    "How many days between the Geneva meeting of military experts and the 28 October call?",  # dated to a week only
    "How many days passed between the meeting and the suspension?",  # which meeting?
    "How many days separated the two October calls?",  # there are three
])
def test_no_day_count_from_events_the_words_do_not_pin_to_the_day(dalil: Dalil, question: str) -> None:
    answer = dalil.ask(question, mode="extractive")
    assert answer.about is None and any(w.startswith("no day count") for w in answer.warnings), answer.about


def test_days_between_the_two_events_one_phrase_names(dalil: Dalil) -> None:
    answer = dalil.ask("How many days separated the two August Lavrov-Kerry calls?", mode="extractive")
    assert answer.about is not None and answer.about.startswith("11 days")
    assert [{d.date for d in c.dates} & {"2016-08-05", "2016-08-16"} for c in answer.citations] == [{"2016-08-05"}, {"2016-08-16"}]


def test_put_in_order_with_a_request_after_it_is_an_order_question(dalil: Dalil) -> None:
    """"Kerry-initiated" does not make it a who-initiated question, and "Give" starting the next sentence is no
    unknown name to abstain on."""
    question = ("Put in order: State Dept announces it's suspending Syria channels with Russia; Kerry-initiated call "
                "with Lavrov; Saturday call on normalizing Aleppo. Give the dates.")
    answer = dalil.ask(question, mode="extractive")
    assert not answer.abstained and answer.steps and answer.steps[0].tool == "events", (answer.warnings, answer.steps)
    labels = [s.text.split(":", 1)[0].split(". ", 1)[1] for s in answer.sentences]
    # "the Kerry-initiated call": the calls his side placed (the words do not say which of the two), no other call
    kerry = {"the phone call of Tuesday 16 August 2016", "the phone call of Wednesday 5 October 2016"}
    named = {"the phone call of Saturday 1 October 2016", "the suspension of Monday 3 October 2016"}
    assert named < set(labels) <= named | kerry and set(labels) & kerry
    assert labels.index("the phone call of Saturday 1 October 2016") < labels.index("the suspension of Monday 3 October 2016")


def test_an_item_placed_by_someone_is_one_of_the_calls_their_side_placed(dalil: Dalil) -> None:
    answer = dalil.ask("Put in order: the Kerry-initiated call; the suspension; the Lavrov-initiated call.", mode="extractive")
    labels = [s.text.split(":", 1)[0] for s in answer.sentences]
    assert "the phone call of Friday 28 October 2016" in labels[-1]  # Lavrov placed it (003), after the suspension
    assert "the phone call of Wednesday 28 September 2016" not in " ".join(labels)  # no report says who placed it
