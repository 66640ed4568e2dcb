"""`ChatSession` without a terminal: questions, follow-ups and every slash command, offline and LLM."""

from __future__ import annotations

import io
import json
import sys
import types
from collections.abc import Iterator
from pathlib import Path

import pytest

from agent.chat import view
from agent.chat.conversation import ConversationStore
from agent.chat.session import ChatSession, parse_filters
from agent.config import load_settings
from agent.errors import DalilError
from agent.pipeline import Dalil
from agent.retrieval.retrieve import SearchFilters
from tests.scripted_openai import Reply, ScriptedOpenAI

AR_QUESTION = "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟"
LLM_QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"
FOLLOW_UP = "ومتى حدث ذلك؟"
STANDALONE = "متى جرى الاتصال الهاتفي الذي بحث فيه لافروف وكيري الوضع في حلب؟"
REWRITE = Reply(match="search queries", content='{"ar": "اتصال هاتفي لافروف كيري حلب", "en": "Lavrov Kerry call Aleppo"}')
ANSWER = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
PLANTED_KEY = "sk-planted-chat-key-0042"


class Screen:
    """A session wired to a console that writes into a string."""

    def __init__(self, dalil: Dalil, folder: Path, bidi: bool = False, **options) -> None:
        self.buffer = io.StringIO()
        console = view.make_console(bidi, file=self.buffer, width=160, color_system=None)
        self.conversations = ConversationStore(folder)
        self.session = ChatSession(dalil, self.conversations, console, bidi=bidi, **options)

    def __call__(self, line: str) -> str:
        """Handle one line; return what it printed."""
        start = len(self.buffer.getvalue())
        self.keep_going = self.session.handle(line)
        return self.buffer.getvalue()[start:]


@pytest.fixture
def offline(seeded_store: Path, tmp_path: Path) -> Screen:
    return Screen(Dalil(load_settings(None, {"store": {"path": seeded_store}})), tmp_path / "conversations")


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as srv:
        yield srv


@pytest.fixture
def online(seeded_store: Path, tmp_path: Path, server: ScriptedOpenAI) -> Screen:
    llm = {"base_url": server.base_url, "model": "scripted-model", "api_key": PLANTED_KEY, "max_retries": 0, "timeout": 5}
    return Screen(Dalil(load_settings(None, {"store": {"path": seeded_store}, "llm": llm})), tmp_path / "conversations")


def saved(screen: Screen) -> dict:
    return json.loads(screen.conversations.path(screen.session.conversation.id).read_text(encoding="utf-8"))


# -- offline ---------------------------------------------------------------------------------


def test_offline_question_then_follow_up_in_context(offline: Screen) -> None:
    first = offline(AR_QUESTION)
    assert "mode: extractive" in first and "[1]" in first
    assert "Sources (/sources for full quotes, /open N for the article)" in first
    second = offline(FOLLOW_UP)
    assert f"answered in the context of: {AR_QUESTION}" in second
    turn = offline.session.conversation.turns[-1]
    assert turn.question == FOLLOW_UP and turn.context == AR_QUESTION
    assert turn.standalone.startswith(FOLLOW_UP) and "لافروف" in turn.standalone and "حلب" in turn.standalone
    assert "searched with: " + turn.standalone in offline("/rewritten")
    data = saved(offline)
    assert [t["question"] for t in data["turns"]] == [AR_QUESTION, FOLLOW_UP]
    assert data["turns"][1]["standalone"] == turn.standalone and data["turns"][1]["answer"]["mode"] == "extractive"


def test_a_new_topic_is_not_treated_as_a_follow_up(offline: Screen) -> None:
    offline(AR_QUESTION)
    shown = offline("ما هو سعر النفط؟")
    assert "answered in the context of" not in shown
    assert "لا تجيب المقالات" in shown and "Nearest passages, which do not answer it" in shown
    assert "No citations: the articles did not answer. Nearest passages:" in offline("/sources")
    assert "is highlighted and marked ⟦…⟧" in offline("/open 1"), "an abstention's nearest passages can be opened"


def test_sources_prints_full_quotes_and_open_highlights_the_quote(offline: Screen) -> None:
    offline(AR_QUESTION)
    answer = offline.session.last_answer
    assert answer is not None and answer.citations
    sources = offline("/sources")
    for c in answer.citations:
        assert f"chars {c.start}–{c.end}" in sources and " ".join(c.quote.split()) in " ".join(sources.split())
    first = answer.citations[0]
    article = offline(f"/open {first.n}")
    text = (Path(__file__).resolve().parents[1] / "seeds" / first.file).read_text(encoding="utf-8")
    flat = " ".join(article.split())
    assert "⟦" + " ".join(first.quote.split()) + "⟧" in flat
    tail = " ".join(text[first.end:].split())[-60:]
    assert tail in flat, "the whole article is shown, not just the quote"
    assert f"chars {first.start}–{first.end}" in article


def test_open_rejects_bad_numbers_in_one_line(offline: Screen) -> None:
    assert offline("/open 1").strip() == "error: no answer yet: ask a question first"
    offline(AR_QUESTION)
    bad = offline("/open 99")
    assert bad.startswith("error: the last answer has no citation [99] (it has: 1") and bad.count("\n") == 1
    assert offline("/open x").startswith("error: usage: /open N")


def test_filters_parse_apply_and_validate(offline: Screen) -> None:
    shown = offline("/filter outlet=العربي الجديد from=2016-09-01")
    assert "filters: from=2016-09-01 outlet=العربي الجديد" in shown
    offline(AR_QUESTION)
    assert {c.outlet for c in offline.session.last_answer.citations} == {"العربي الجديد"}
    assert saved(offline)["filters"] == {"date_from": "2016-09-01", "date_to": None, "outlet": "العربي الجديد"}
    assert "known outlets: العربي الجديد, سيريانيوز, وكالات" in offline("/filter outlet=BBC")
    assert "error: to= takes a day as YYYY-MM-DD" in offline("/filter to=yesterday")
    assert "filters: none (all articles)" in offline("/filter clear")
    assert offline("/filter").strip() == "filters: none (all articles)"


def test_parse_filters_merges_and_rejects() -> None:
    current = SearchFilters(outlet="وكالات")
    merged = parse_filters("from=2016-08-01 to=2016-10-01", current)
    assert merged == SearchFilters(date_from=merged.date_from, date_to=merged.date_to, outlet="وكالات")
    assert parse_filters("outlet=", merged).outlet is None
    for bad, message in [("from=2016-10-02 to=2016-10-01", "after"), ("when=today", "unknown filter"), ("outlet", "usage")]:
        with pytest.raises(DalilError, match=message):
            parse_filters(bad, SearchFilters())


def test_mode_and_lang_commands(offline: Screen) -> None:
    assert offline("/mode llm").startswith("error: no LLM endpoint configured") and offline.session.mode is None
    assert "mode: extractive" in offline("/mode extractive")
    assert offline("/mode fast").startswith("error: usage: /mode llm|extractive")
    shown = offline("/lang en")
    assert "answer language: en" in shown and "translation needs an LLM endpoint" in shown
    assert offline.session.lang == "en"
    assert "auto" in offline("/lang auto") and offline.session.lang is None
    assert offline("/lang fr").startswith("error: usage: /lang ar|en|auto")


def test_timeline_absent_says_so(offline: Screen, monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setitem(sys.modules, "agent.sequence.timeline", None)
    assert offline("/timeline").strip() == "timeline is not available in this version"


def test_timeline_calls_timeline_for_with_the_mode_and_date_filter(offline: Screen, monkeypatch: pytest.MonkeyPatch) -> None:
    calls = []
    fake = types.ModuleType("agent.sequence.timeline")

    def timeline_for(dalil, mode=None, date_from=None, date_to=None):
        calls.append((dalil, mode, date_from, date_to))
        event = types.SimpleNamespace(date=types.SimpleNamespace(label="2016-08-16 (Tue)"), what_en="Lavrov and Kerry spoke by phone",
                                      what_ar="بحث وزير الخارجية الروسي سيرغي لافروف، في اتصال هاتفي", citation_numbers=[1, 2])
        return types.SimpleNamespace(events=[event], warnings=["one date is uncertain"])

    fake.timeline_for = timeline_for  # type: ignore[attr-defined]
    monkeypatch.setitem(sys.modules, "agent.sequence.timeline", fake)
    offline("/filter from=2016-08-01 to=2016-09-30")
    shown = offline("/timeline")
    assert "2016-08-16 (Tue)  Lavrov and Kerry spoke by phone [1][2]" in shown
    assert "«بحث وزير الخارجية الروسي سيرغي لافروف، في اتصال هاتفي»" in shown and "note: one date is uncertain" in shown
    fake.timeline_for = lambda dalil, mode=None, date_from=None, date_to=None: ["plain line"]  # type: ignore[attr-defined]
    assert offline("/timeline").strip() == "plain line"
    dalil, mode, date_from, date_to = calls[0]
    assert dalil is offline.session.dalil and mode == "extractive" and str(date_from) == "2016-08-01" and str(date_to) == "2016-09-30"


def test_timeline_runs_the_real_sequence_module(offline: Screen) -> None:
    """The chat against the real ``agent.sequence.timeline`` (its API, not a guess of it): an import
    error in it fails here instead of being skipped."""
    from agent.sequence import timeline

    assert callable(timeline.timeline_for) and callable(timeline.print_timeline)
    offline("/filter from=2016-09-01 to=2016-09-30 outlet=العربي الجديد")
    shown = offline("/timeline")
    assert "error:" not in shown and offline.keep_going
    assert "events from 2016-09-01 to 2016-09-30" in shown and "2016-09-09" in shown
    assert "the timeline covers every outlet" in shown


def test_an_unexpected_error_is_one_line_and_the_chat_continues(offline: Screen, monkeypatch: pytest.MonkeyPatch) -> None:
    def broken(args: str) -> None:
        raise TypeError("boom\nsecond line")

    monkeypatch.setitem(offline.session._commands, "sources", broken)
    shown = offline("/sources")
    assert shown.strip().splitlines() == ["error: unexpected TypeError: boom second line (please report it; the chat goes on)"]
    assert offline.keep_going and "mode: extractive" in offline(AR_QUESTION)


def test_save_writes_markdown_with_citations(offline: Screen, tmp_path: Path) -> None:
    assert offline("/save").startswith("error: usage: /save FILE")
    assert offline("/save x.md").startswith("error: nothing to save yet")
    offline(AR_QUESTION)
    offline(FOLLOW_UP)
    target = tmp_path / "chat.md"
    assert f"saved 2 turn(s) to {target}" in offline(f"/save {target}")
    text = target.read_text(encoding="utf-8")
    assert text.startswith(f"# Dalil conversation {offline.session.conversation.id}")
    assert f"## 1. {AR_QUESTION}" in text and f"## 2. {FOLLOW_UP}" in text
    assert f"*Answered in the context of: {AR_QUESTION}*" in text
    first = offline.session.conversation.turns[0].answer.citations[0]
    assert f"[{first.n}] " in text and f"chars {first.start}–{first.end}" in text and "> " + first.quote.split("\n")[0] in text
    assert offline(f"/save {tmp_path}/missing/dir/x.md").startswith("error: cannot write")


def test_clear_starts_a_new_conversation_without_context(offline: Screen) -> None:
    offline(AR_QUESTION)
    old = offline.session.conversation.id
    shown = offline("/clear")
    assert f"the previous one is saved as {old}" in shown and offline.session.conversation.id != old
    assert "answered in the context of" not in offline(FOLLOW_UP)
    assert offline.conversations.path(old).is_file()


def test_unknown_commands_help_and_quit(offline: Screen) -> None:
    assert offline("/sorces").strip() == "unknown command /sorces (did you mean /sources?): type /help for the list"
    assert offline("/zzz").strip() == "unknown command /zzz: type /help for the list"
    shown = offline("/help")
    for name in ("/sources", "/open N", "/lang", "/filter", "/mode", "/timeline", "/save FILE", "/clear", "/quit", "/rewritten"):
        assert name in shown
    offline("/quit")
    assert offline.keep_going is False
    offline("/exit")
    assert offline.keep_going is False
    offline("   ")
    assert offline.keep_going is True


def test_resume_restores_turns_and_filters(offline: Screen) -> None:
    offline("/filter outlet=سيريانيوز")
    offline(AR_QUESTION)
    stored = offline.conversations.load(offline.session.conversation.id[:10])
    again = ChatSession.resume(offline.session.dalil, offline.conversations, offline.session.console, stored)
    assert again.filters.outlet == "سيريانيوز" and len(again.conversation.turns) == 1
    assert again.standalone(FOLLOW_UP, "extractive")[1] == AR_QUESTION


# -- LLM mode --------------------------------------------------------------------------------


def test_llm_follow_up_is_rewritten_with_the_conversation(online: Screen, server: ScriptedOpenAI) -> None:
    server.enqueue(REWRITE, Reply(match="<passage", content=ANSWER, chunk_size=5))
    first = online(LLM_QUESTION)
    assert "streaming; checked below" in first and "citations checked: 1/1 sentences supported" in first
    server.enqueue(Reply(match="Latest message", content=f"Standalone question: «{STANDALONE}»"), REWRITE,
                   Reply(match="<passage", content=ANSWER))
    second = online(FOLLOW_UP)
    assert STANDALONE not in second, "the rewrite is shown on request only"
    rewrite = next(b for b in server.chat_requests if "Latest message" in b["messages"][0]["content"])["messages"][0]["content"]
    assert f"User: {LLM_QUESTION}" in rewrite and "Assistant: ناقش لافروف وكيري" in rewrite and "[1]" not in rewrite
    assert rewrite.rstrip().endswith(f"Latest message: {FOLLOW_UP}")
    asked = [b["messages"][1]["content"] for b in server.chat_requests if "<passage" in b["messages"][-1]["content"]]
    assert STANDALONE in asked[-1]
    assert online("/rewritten").strip() == f"rewritten as: {STANDALONE}"
    assert online.session.conversation.turns[-1].standalone == STANDALONE
    raw = online.conversations.path(online.session.conversation.id).read_text(encoding="utf-8")
    assert PLANTED_KEY not in raw and "api_key" not in raw


def test_show_rewrites_prints_the_standalone_question(online: Screen, server: ScriptedOpenAI) -> None:
    online.session.show_rewrites = True
    server.enqueue(REWRITE, Reply(match="<passage", content=ANSWER))
    online(LLM_QUESTION)
    server.enqueue(Reply(match="Latest message", content=STANDALONE), REWRITE, Reply(match="<passage", content=ANSWER))
    assert f"standalone question: {STANDALONE}" in online(FOLLOW_UP)


def test_ctrl_c_while_streaming_cancels_and_keeps_the_chat(online: Screen, server: ScriptedOpenAI,
                                                           monkeypatch: pytest.MonkeyPatch) -> None:
    seen: list[str] = []
    original = view.ChatStreamPrinter.__call__

    def interrupting(self, delta: str) -> None:
        seen.append(delta)
        original(self, delta)
        if len(seen) == 2:  # 8 characters: "ناقش لاف", the second word half received
            raise KeyboardInterrupt

    monkeypatch.setattr(view.ChatStreamPrinter, "__call__", interrupting)
    server.enqueue(REWRITE, Reply(match="<passage", content=ANSWER * 5, chunk_size=4, chunk_delay=0.02))
    shown = online(LLM_QUESTION)
    assert shown.rstrip().endswith("(cancelled)") and "citations checked" not in shown
    streamed = shown.split("checked below)\n", 1)[1].split("(cancelled)")[0].split()
    assert streamed and set(streamed) <= set(ANSWER.split()), "whole words only: the half-received one is dropped"
    assert online.keep_going and online.session.conversation.turns == []
    monkeypatch.setattr(view.ChatStreamPrinter, "__call__", original)
    server.enqueue(REWRITE, Reply(match="<passage", content=ANSWER))
    assert "citations checked: 1/1" in online(LLM_QUESTION)


def test_endpoint_error_is_one_line_and_the_chat_continues(online: Screen, server: ScriptedOpenAI) -> None:
    server.default = Reply(status=500)
    shown = online(LLM_QUESTION)
    assert shown.strip().splitlines() == ["error: the LLM endpoint failed with HTTP 500 after 1 attempt(s)"]
    server.default = None
    server.enqueue(REWRITE, Reply(match="<passage", content=ANSWER))
    assert "citations checked: 1/1" in online(LLM_QUESTION)
    assert PLANTED_KEY not in online.buffer.getvalue()


def test_bidi_session_reorders_arabic_lines(seeded_store: Path, tmp_path: Path) -> None:
    dalil = Dalil(load_settings(None, {"store": {"path": seeded_store}}))
    plain = Screen(dalil, tmp_path / "a")(AR_QUESTION)
    shown = Screen(dalil, tmp_path / "b", bidi=True)(AR_QUESTION)
    label = "العربي الجديد · 2016-09-28 · 002_e83c710a14adfa23.txt"
    assert label in plain and label not in shown
    assert "002_e83c710a14adfa23.txt · 2016-09-28 · ديدجلا يبرعلا [1]" in shown, "dates, file names and [n] keep their order"
    first = plain.splitlines()[1]
    assert first.split()[0] not in shown and first.split()[0][::-1] in shown
    assert "mode: extractive (no LLM)" in shown, "lines without Arabic are left alone"
