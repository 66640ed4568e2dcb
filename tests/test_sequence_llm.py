"""LLM mode of the sequence commands over real HTTP (the scripted OpenAI-compatible server)."""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app
from tests.scripted_openai import Reply, ScriptedOpenAI

SEEDS = Path(__file__).resolve().parents[1] / "seeds"
F000, F001 = "000_05ef239a9c3f61f9.txt", "001_a9aefecacaf48a1a.txt"
SUMMARY = "Reply with exactly this JSON shape"
FRIDAY = "إعلان وزارة الخارجية الأميركية أن كيري تحدث عبر الهاتف إلى نظيره الروسي الجمعة"
SATURDAY = ("ناقشا في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية. وأضافت أن المحادثة أُجريت أمس الأول السبت")


def events_reply(file: str, events: list[dict] | str) -> Reply:
    content = events if isinstance(events, str) else json.dumps({"events": events}, ensure_ascii=False)
    return Reply(match=f"Article file: {file}", content=content)


def call(date: str, phrase: str, quote: str, **extra) -> dict:
    return {"type": "call", "date": date, "date_phrase": phrase, "date_basis": "stated",
            "participants": ["Sergei Lavrov", "John Kerry"], "quote": quote, **extra}


SEED_EVENTS = [
    call("2016-09-29", "الجمعة", FRIDAY, initiator="John Kerry"),  # the model's day is wrong: the resolver's wins
    call("2016-10-01", "أمس الأول السبت", SATURDAY, reported_by="Russian Foreign Ministry", topics=["Aleppo"]),
    call("2016-10-02", None, "a sentence that is not in the article"),
]


@pytest.fixture
def server(monkeypatch: pytest.MonkeyPatch, seeded_store: Path) -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI(default=Reply(content='{"events": []}')) as srv:
        monkeypatch.setenv("DALIL_LLM_BASE_URL", srv.base_url)
        monkeypatch.setenv("DALIL_LLM_MODEL", "scripted-model")
        monkeypatch.setenv("DALIL_LLM_API_KEY", "sk-test")
        monkeypatch.setenv("DALIL_LLM_MAX_RETRIES", "0")
        monkeypatch.setenv("DALIL_LLM_TIMEOUT", "5")
        monkeypatch.setenv("DALIL_STORE", str(seeded_store))
        yield srv


def run(*args: str) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args))
    return result.exit_code, result.stdout, result.stderr


def test_llm_events_are_validated_quotes_found_and_dates_re_resolved(server: ScriptedOpenAI) -> None:
    server.enqueue(events_reply(F001, SEED_EVENTS), events_reply(F000, "Sure! Here are the events: none."))
    code, out, err = run("timeline", "--json")
    assert code == 0, err
    data = json.loads(out)
    assert data["mode"] == "llm" and data["degraded"] is True
    warnings = " ".join(data["warnings"])
    assert f"{F000}: the model's events could not be used" in warnings and "offline rules" in warnings
    assert "quote is not in the article" in warnings
    llm = [r for e in data["events"] for r in e["reports"] if r["source"] == "llm"]
    assert [(r["date"]["date"], r["date"]["phrase"]) for r in llm] == [("2016-09-30", "الجمعة"), ("2016-10-01", "أمس الأول السبت")]
    assert "the model dated it 2016-09-29" in llm[0]["flags"][0]
    assert llm[0]["initiator"] == "John Kerry" and llm[0]["initiator_side"] == "United States"
    text = (SEEDS / F001).read_text(encoding="utf-8")
    for r in llm:
        c = r["citations"][0]
        assert text[c["start"]:c["end"]] == c["quote"]
    rules = {e["date"]["date"] for e in data["events"] for r in e["reports"] if r["source"] == "rules"}
    assert "2016-10-05" in rules  # 000 fell back to the offline rules
    prompts = [b["messages"][-1]["content"] for b in server.chat_requests]
    assert any(f"Article file: {F001}" in p and "<article>" in p and "Published: 2016-10-03 (Monday)" in p for p in prompts)


def _summary_run(server: ScriptedOpenAI, pairs: list[dict] | str) -> dict:
    server.enqueue(events_reply(F001, SEED_EVENTS[:2]))
    content = pairs if isinstance(pairs, str) else json.dumps({"sentences": pairs}, ensure_ascii=False)
    server.enqueue(Reply(match=SUMMARY, content=content))
    code, out, err = run("summarize", "--json", "--from", "2016-09-30", "--to", "2016-10-01")
    assert code == 0, err
    return json.loads(out)


FRI_AR = "تحدث كيري عبر الهاتف إلى نظيره الروسي يوم الجمعة [1]."
FRI_EN = "Kerry spoke by phone to his Russian counterpart on Friday [1]."
SAT_AR = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في حلب يوم السبت [2]."
SAT_EN = "Lavrov and Kerry discussed normalizing the situation in Aleppo in a phone conversation on Saturday [2]."


def test_bilingual_summary_has_the_same_markers_in_the_same_order_in_both_languages(server: ScriptedOpenAI) -> None:
    data = _summary_run(server, [
        {"event": "2016-09-30-call-1", "ar": FRI_AR, "en": FRI_EN},
        {"event": "2016-10-01-call-1", "ar": SAT_AR, "en": SAT_EN},
    ])
    assert data["mode"] == "llm" and data["parity"] is True and data["degraded"] is False
    assert data["events"] == ["2016-09-30-call-1", "2016-10-01-call-1"]
    assert [s["event"] for s in data["arabic"]] == [s["event"] for s in data["english"]] == data["events"]
    assert [s["citations"] for s in data["arabic"]] == [s["citations"] for s in data["english"]] == [[1], [2]]
    assert all(s["supported"] for s in data["arabic"] + data["english"]), data
    assert [c["n"] for c in data["citations"]] == [1, 2]
    assert FRIDAY in data["citations"][0]["quote"]
    body = next(b for b in server.chat_requests if SUMMARY in b["messages"][-1]["content"])
    user = body["messages"][-1]["content"]
    assert '<passage n="1"' in user and '<passage n="2"' in user
    assert user.index("2016-09-30-call-1") < user.index("2016-10-01-call-1")


def test_markers_that_differ_between_the_languages_are_flagged(server: ScriptedOpenAI) -> None:
    data = _summary_run(server, [
        {"event": "2016-09-30-call-1", "ar": FRI_AR, "en": FRI_EN.replace("[1]", "[2]")},
        {"event": "2016-10-01-call-1", "ar": SAT_AR, "en": SAT_EN},
    ])
    assert data["parity"] is False and data["degraded"] is True
    assert "markers differ between Arabic [1] and English [2]" in data["arabic"][0]["problems"]
    assert not data["english"][0]["supported"] and data["english"][1]["supported"]


def test_the_same_markers_in_another_order_are_flagged(server: ScriptedOpenAI) -> None:
    """Parity is the same markers *in the same order*: [1][2] in Arabic against [2][1] in English is not parity."""
    data = _summary_run(server, [
        {"event": "2016-09-30-call-1", "ar": FRI_AR.replace("[1]", "[1][2]"), "en": FRI_EN.replace("[1]", "[2][1]")},
        {"event": "2016-10-01-call-1", "ar": SAT_AR, "en": SAT_EN},
    ])
    assert data["parity"] is False and data["degraded"] is True
    assert (data["arabic"][0]["citations"], data["english"][0]["citations"]) == ([1, 2], [2, 1])
    assert "markers differ between Arabic [1][2] and English [2][1]" in data["english"][0]["problems"]
    assert data["arabic"][1]["citations"] == data["english"][1]["citations"] == [2] and data["english"][1]["supported"]


def test_summary_out_of_timeline_order_breaks_parity(server: ScriptedOpenAI) -> None:
    data = _summary_run(server, [
        {"event": "2016-10-01-call-1", "ar": SAT_AR, "en": SAT_EN},
        {"event": "2016-09-30-call-1", "ar": FRI_AR, "en": FRI_EN},
    ])
    assert data["parity"] is False and any("out of timeline order" in w for w in data["warnings"])


def test_unusable_summary_falls_back_to_the_offline_summary(server: ScriptedOpenAI) -> None:
    data = _summary_run(server, "I cannot produce JSON today.")
    assert data["mode"] == "extractive" and data["degraded"] is True
    assert "not usable JSON" in data["warnings"][0]
    assert [s["citations"] for s in data["arabic"]] == [s["citations"] for s in data["english"]]


def test_brief_falls_back_offline_with_exit_3_when_the_endpoint_fails(server: ScriptedOpenAI, tmp_path: Path) -> None:
    server.default = Reply(status=400, content="bad request")
    code, _, err = run("brief", "--date", "2016-09-28", "--out", str(tmp_path))
    assert code == 3, err
    assert "LLM mode failed" in err and (tmp_path / "brief-2016-09-28.html").is_file()
    assert "mode: extractive" in (tmp_path / "brief-2016-09-28.md").read_text(encoding="utf-8")


def test_a_summary_sentence_its_passages_do_not_support_is_marked(server: ScriptedOpenAI) -> None:
    data = _summary_run(server, [
        {"event": "2016-09-30-call-1", "ar": FRI_AR, "en": "Kerry and Lavrov agreed on 12 new checkpoints in Aleppo [1]."},
        {"event": "2016-10-01-call-1", "ar": SAT_AR, "en": SAT_EN},
    ])
    assert data["parity"] is True  # same markers: parity holds, but the claim itself is checked
    english = data["english"][0]
    assert not english["supported"] and any("numbers not in the cited passages: 12" in p for p in english["problems"])
    assert any("could not be verified" in w for w in data["warnings"])
