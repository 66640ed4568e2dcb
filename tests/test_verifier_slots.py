"""The verifier checks the asked slot, and the answer's language ("Answers that answer", part 6).

A sentence that states an initiator, a date, a number, a speaker or the participants of an event
is supported only when the facts the offline rules extract from its cited passage agree
(``agent.answer.facts``). The regression: "Kerry initiated the 1 October call. [2]" against the seed
passage that reports the 1 October call without naming who initiated it. An answer in another
language than the one requested is degraded, so ``dalil ask --strict`` exits 4. Unit tests on
``verify``; end-to-end tests over real HTTP against the scripted OpenAI-compatible server.
"""

from __future__ import annotations

import json
import re
from pathlib import Path

from llama_index.core.schema import NodeWithScore, TextNode

from agent.answer.citations import verify
from agent.text.lexicon import load_analyzer
from tests.conftest import run_cli as run
from tests.scripted_openai import Reply, ScriptedOpenAI

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
LINES_001 = (SEEDS / "001_a9aefecacaf48a1a.txt").read_text(encoding="utf-8").splitlines()
LINES_004 = (SEEDS / "004_2399a9a2b0d5824e.txt").read_text(encoding="utf-8").splitlines()
LINES_000 = (SEEDS / "000_05ef239a9c3f61f9.txt").read_text(encoding="utf-8").splitlines()
# seed 001 (published Monday 3 October 2016): the call of "أمس الأول السبت" (1 October); no initiator named
SATURDAY = LINES_001[1]
# seed 004 (published Tuesday 16 August 2016): the call of "يوم الثلاثاء", "بمبادرة من الجانب الأمريكي"
TUESDAY = "\n".join(LINES_004[:2])
# seed 000 (published 5 October 2016): the call "بعد مبادرة من هذا الأخير" (Kerry)
KERRY_CALL = LINES_000[0]
# seed 001: Zakharova's words
ZAKHAROVA = LINES_001[8]
# seed 001: O'Brien's appeal for "نحو 250 ألف شخص"
OBRIEN = LINES_001[14]


def passage(text: str, file: str, published: str) -> NodeWithScore:
    meta = {"doc_id": file, "file": file, "start_char": 0, "end_char": len(text), "published": published}
    return NodeWithScore(node=TextNode(id_=f"{file}-{len(text)}", text=text, metadata=meta), score=1.0)


PASSAGES = {
    "tuesday": passage(TUESDAY, "004_2399a9a2b0d5824e.txt", "2016-08-16"),
    "saturday": passage(SATURDAY, "001_a9aefecacaf48a1a.txt", "2016-10-03"),
    "kerry": passage(KERRY_CALL, "000_05ef239a9c3f61f9.txt", "2016-10-05"),
    "zakharova": passage(ZAKHAROVA, "001_a9aefecacaf48a1a.txt", "2016-10-03"),
    "obrien": passage(OBRIEN, "001_a9aefecacaf48a1a.txt", "2016-10-03"),
}


def check(answer: str, *names: str):
    result = verify(answer, [PASSAGES[n] for n in names], load_analyzer())
    assert len(result.sentences) == 1, result.sentences
    return result.sentences[0]


def problems_about(sentence, slot: str) -> list[str]:
    return [p for p in sentence.problems if p.startswith(slot + ":")]


# ---------------------------------------------------------------- who initiated


def test_regression_kerry_initiated_the_1_october_call_is_unsupported() -> None:
    """Passage 2 reports the 1 October call and names no initiator."""
    assert "مبادر" not in SATURDAY and "أمس الأول السبت" in SATURDAY
    sentence = check("Kerry initiated the 1 October call. [2]", "tuesday", "saturday")
    assert not sentence.supported
    assert problems_about(sentence, "initiator") == [
        "initiator: the cited passage names no initiator, but the sentence says John Kerry"], sentence.problems


def test_an_initiator_from_another_call_does_not_support_the_dated_one() -> None:
    """Passage 1 names the American side as initiator of the 16 August call; the sentence dates its call 1 October."""
    sentence = check("Kerry initiated the 1 October call [1][2].", "tuesday", "saturday")
    assert not sentence.supported
    assert problems_about(sentence, "initiator"), sentence.problems


def test_initiator_english_supported_and_contradicted() -> None:
    kept = check("Kerry initiated the call with Lavrov [1].", "kerry")
    assert kept.supported, kept.problems
    wrong = check("Lavrov initiated the call with Kerry [1].", "kerry")
    assert not wrong.supported
    assert problems_about(wrong, "initiator") == [
        "initiator: the cited passage names John Kerry as the initiator, not Sergei Lavrov"], wrong.problems


def test_initiator_arabic_supported_and_contradicted() -> None:
    kept = check("كان الاتصال الهاتفي بين الوزيرين بمبادرة من الجانب الأمريكي [1].", "tuesday")
    assert kept.supported, kept.problems
    wrong = check("كان الاتصال الهاتفي بين الوزيرين بمبادرة من الجانب الروسي [1].", "tuesday")
    assert not wrong.supported
    assert problems_about(wrong, "initiator") == [
        "initiator: the cited passage names United States as the initiator, not Russia"], wrong.problems


# ---------------------------------------------------------------- when


def test_date_english_resolved_against_the_publication_day() -> None:
    """"أمس الأول السبت" in an article of 3 October 2016 is 1 October; "امس الأحد" (2 October) is when it was said."""
    kept = check("The call between Lavrov and Kerry took place on 1 October [1].", "saturday")
    assert kept.supported, kept.problems
    for day in ("5 October", "2 October"):
        wrong = check(f"The call between Lavrov and Kerry took place on {day} [1].", "saturday")
        assert not wrong.supported
        assert problems_about(wrong, "date") == [
            f"date: the cited passage dates the call to 1 October 2016, not {day}"], wrong.problems


def test_date_arabic_supported_and_contradicted() -> None:
    kept = check("أجريت المحادثة الهاتفية بين لافروف وكيري يوم السبت الأول من أكتوبر [1].", "saturday")
    assert kept.supported, kept.problems
    wrong = check("أجريت المحادثة الهاتفية بين لافروف وكيري في الخامس من أكتوبر [1].", "saturday")
    assert not wrong.supported
    assert problems_about(wrong, "date"), wrong.problems


def test_a_weekday_in_the_claim_resolves_like_the_passage() -> None:
    kept = check("Lavrov and Kerry spoke by phone on Tuesday 16 August [1].", "tuesday")
    assert kept.supported, kept.problems
    wrong = check("Lavrov and Kerry spoke by phone on 15 August [1].", "tuesday")
    assert not wrong.supported and problems_about(wrong, "date"), wrong.problems


# ---------------------------------------------------------------- how many


def test_numbers_arabic_words_scales_and_arabic_indic_digits() -> None:
    """"نحو 250 ألف شخص" states 250,000: written in digits, Arabic-Indic digits or words, it is found."""
    for claim in ("أصدر أوبراين نداء لتخفيف معاناة نحو 250 ألف شخص [1].",
                  "أصدر أوبراين نداء لتخفيف معاناة نحو ٢٥٠ ألف شخص [1]."):
        kept = check(claim, "obrien")
        assert kept.supported, (claim, kept.problems)
    wrong = check("أصدر أوبراين نداء لتخفيف معاناة نحو ثلاثة آلاف شخص [1].", "obrien")
    assert not wrong.supported
    assert "numbers not in the cited passages: ثلاثة الاف" in wrong.problems, wrong.problems
    wrong_en = check("O'Brien called for relief for about three thousand people under attack [1].", "obrien")
    assert not wrong_en.supported
    assert "numbers not in the cited passages: three thousand" in wrong_en.problems, wrong_en.problems


# ---------------------------------------------------------------- who said


def test_speaker_english_supported_and_misattributed() -> None:
    kept = check("Zakharova said a direct American aggression against Damascus and the Syrian army [1].", "zakharova")
    assert kept.supported, kept.problems
    wrong = check("Zakharova said Lavrov and Kerry discussed Aleppo by phone [1].", "saturday")
    assert not wrong.supported
    assert problems_about(wrong, "speaker") == [
        "speaker: the cited passage attributes these words to Reuters, Russian Foreign Ministry, not Maria Zakharova"], wrong.problems


def test_speaker_arabic_supported_and_misattributed() -> None:
    kept = check("قالت وزارة الخارجية الروسية إن لافروف وكيري ناقشا في محادثة هاتفية تطبيع الوضع في حلب [1].", "saturday")
    assert kept.supported, kept.problems
    # every word is in the passage (it reports what the ministry said): only the speaker is wrong
    wrong = check("قالت رويترز إن لافروف وكيري ناقشا في محادثة هاتفية تطبيع الوضع في حلب [1].", "zakharova")
    assert not wrong.supported and problems_about(wrong, "speaker"), wrong.problems


# ---------------------------------------------------------------- who took part


def test_participants_english_and_arabic() -> None:
    kept = check("Lavrov and Kerry discussed the situation in Aleppo in a phone call [1].", "saturday")
    assert kept.supported, kept.problems
    whole = passage("\n".join(LINES_004), "004_2399a9a2b0d5824e.txt", "2016-08-16")
    result = verify("Putin and Kerry discussed the situation in Syria in a phone call [1].", [whole], load_analyzer())
    wrong = result.sentences[0]
    assert not wrong.supported  # Putin met Kerry in Moscow; the calls were Lavrov's
    assert problems_about(wrong, "participants") == [
        "participants: Vladimir Putin not among those in the call of the cited passage (John Kerry, Sergei Lavrov)"], wrong.problems
    arabic = verify("بحث بوتين وكيري في اتصال هاتفي الوضع في سوريا [1].", [whole], load_analyzer()).sentences[0]
    assert not arabic.supported and problems_about(arabic, "participants"), arabic.problems


# ---------------------------------------------------------------- end to end, over HTTP

REWRITE = Reply(match="search queries", content='{"ar": "اتصال هاتفي لافروف كيري السبت", "en": "Lavrov Kerry call Saturday"}')
WHO_QUESTION = "من بادر إلى الاتصال الهاتفي بين لافروف وكيري يوم السبت؟"
AR_QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"
FENCED = re.compile(r'<passage n="(\d+)"[^>\n]*>\n(.*?)\n</passage>', re.DOTALL)



def saturday_passage_number(server: ScriptedOpenAI, question: str) -> int:
    """Which number the prompt gives the passage reporting the Saturday call (retrieval is deterministic)."""
    server.enqueue(REWRITE, Reply(content="NOT_IN_CORPUS"))
    code, _, err = run("ask", question, "--lang", "ar")
    assert code == 0, err
    user = next(b for b in server.chat_requests if "search queries" not in b["messages"][-1]["content"])["messages"][1]["content"]
    return next(int(n) for n, body in FENCED.findall(user) if "أمس الأول السبت" in body and "مبادر" not in body)


def test_a_fabricated_initiator_is_unsupported_and_strict_exits_4(llm: ScriptedOpenAI) -> None:
    n = saturday_passage_number(llm, WHO_QUESTION)
    llm.enqueue(REWRITE, Reply(content=f"Kerry initiated the 1 October call. [{n}]"))
    code, out, err = run("ask", WHO_QUESTION, "--lang", "en", "--json", "--strict")
    assert code == 4, (out, err)
    data = json.loads(out)
    assert [s["supported"] for s in data["sentences"]] == [False]
    assert any(p.startswith("initiator:") and "John Kerry" in p for p in data["sentences"][0]["problems"]), data["sentences"]
    assert "not verified (--strict)" in err


def test_an_english_answer_to_an_arabic_request_is_degraded(llm: ScriptedOpenAI) -> None:
    english = "Lavrov and Kerry discussed normalizing the situation in Aleppo in a phone conversation [1]."
    llm.enqueue(REWRITE, Reply(content=english))
    code, out, err = run("ask", AR_QUESTION, "--lang", "ar", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["lang"] == "ar" and data["degraded"] is True
    assert [s["supported"] for s in data["sentences"]] == [True]  # what it says is right: only the language is not
    assert any("in English, but Arabic was requested (--lang ar)" in w for w in data["warnings"]), data["warnings"]
    llm.enqueue(REWRITE, Reply(content=english))
    code, _, err = run("ask", AR_QUESTION, "--lang", "ar", "--strict")
    assert code == 4 and "not verified (--strict)" in err


def test_a_correct_arabic_answer_with_a_date_stays_verified_under_strict(llm: ScriptedOpenAI) -> None:
    """"السبت الأول من أكتوبر" resolves to the day the passage's "أمس الأول السبت" does: exit 0. The same answer
    with the wrong day ("الأربعاء الخامس من أكتوبر", the day of another call) is not verified: exit 4."""
    n = saturday_passage_number(llm, AR_QUESTION)
    answer = "ناقش لافروف وكيري في محادثة هاتفية يوم {day} من أكتوبر تطبيع الوضع في مدينة حلب السورية [{n}]."
    llm.enqueue(REWRITE, Reply(content=answer.format(day="السبت الأول", n=n)))
    code, out, err = run("ask", AR_QUESTION, "--lang", "ar", "--json", "--strict")
    assert code == 0, (out, err)
    data = json.loads(out)
    assert data["degraded"] is False and [s["supported"] for s in data["sentences"]] == [True], data["sentences"]
    assert not data["sentences"][0]["problems"]
    llm.enqueue(REWRITE, Reply(content=answer.format(day="الأربعاء الخامس", n=n)))
    code, out, err = run("ask", AR_QUESTION, "--lang", "ar", "--json", "--strict")
    assert code == 4, (out, err)
    problems = json.loads(out)["sentences"][0]["problems"]
    assert any(p.startswith("date: the cited passage dates the call to 1 October 2016") for p in problems), problems
    # an English answer quoting the Arabic article stays English: the quotation is not counted
    llm.enqueue(REWRITE, Reply(content=(
        f"The Russian foreign ministry said Lavrov and Kerry discussed «تطبيع الوضع في مدينة حلب السورية» by phone [{n}].")))
    code, out, err = run("ask", AR_QUESTION, "--lang", "en", "--json")
    assert code == 0, err
    assert not any("requested" in w for w in json.loads(out)["warnings"])
