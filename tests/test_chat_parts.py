"""The chat's plain parts: follow-up detection and rewriting, saved conversations, terminal text, Markdown."""

from __future__ import annotations

import io
import json
import unicodedata
from pathlib import Path

import pytest
from bidi import get_display
from rich.cells import cell_len
from rich.console import Console

from agent.chat import followup
from agent.chat.conversation import Conversation, ConversationStore, Turn
from agent.chat.markdown import to_markdown
from agent.chat.view import BidiConsole, ChatStreamPrinter, clip, mirror_rtl, print_compact_sources, visual
from agent.errors import DalilError
from agent.schema import Answer, AnswerSentence, Citation

AR_QUESTION = "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟"
ARABIC = ("بحث وزير الخارجية الروسي سيرغي لافروف، في اتصال هاتفي مع نظيره الأمريكي جون كيري، يوم الثلاثاء، "
          "تنسيق الأعمال لمكافحة الإرهاب في سوريا وضمان استمرار نظام وقف العمليات القتالية.")


@pytest.mark.parametrize(("question", "expected"), [
    ("ومتى حدث ذلك؟", True),
    ("and what did the Americans say?", True),
    ("وماذا قال الأمريكيون؟", True),
    ("What did he say about it?", True),
    ("ما هو سعر النفط؟", False),
    (AR_QUESTION, False),
    ("Who initiated the call, according to the Russian foreign ministry?", False),
])
def test_follow_up_detection(question: str, expected: bool) -> None:
    assert followup.is_followup(question) is expected


def test_offline_context_adds_the_topic_words_once() -> None:
    combined = followup.with_context("ومتى حدث ذلك؟", AR_QUESTION)
    assert combined.startswith("ومتى حدث ذلك؟ (") and combined.endswith(")")
    assert "لافروف" in combined and "حلب" in combined and "متى جرى" not in combined and "بين" not in combined


@pytest.mark.parametrize(("reply", "expected"), [
    ("متى جرى الاتصال؟", "متى جرى الاتصال؟"),
    ("Standalone question: When did Lavrov call Kerry?\nextra words", "When did Lavrov call Kerry?"),
    ("«متى جرى الاتصال؟»", "متى جرى الاتصال؟"),
    ("", "ومتى حدث ذلك؟"),
    ("...", "ومتى حدث ذلك؟"),
    ("x" * 700, "ومتى حدث ذلك؟"),
])
def test_rewrite_reply_parsing(reply: str, expected: str) -> None:
    assert followup.parse_rewrite(reply, "ومتى حدث ذلك؟") == expected


def _answer(text: str = "ناقش الوزيران الوضع في حلب [1].") -> Answer:
    quote = "وقالت الخارجية الروسية في بيان بأن الاتصال الهاتفي بين الوزيرين كان بمبادرة من الجانب الأمريكي."
    citation = Citation(n=1, chunk_id="c", doc_id="d", file="004_2399a9a2b0d5824e.txt", published="2016-08-16",
                        outlet="سيريانيوز", quote=quote, start=177, end=272)
    return Answer(question="q", mode="llm", answer=text, abstained=False, citations=[citation],
                  sentences=[AnswerSentence(text="ناقش الوزيران الوضع في حلب.", citations=[1], supported=True),
                             AnswerSentence(text="وقتل 987 شخصا.", citations=[1], supported=False, problems=["numbers: 987"])])


def test_rewrite_prompt_carries_the_conversation_without_markers() -> None:
    turns = [Turn(question=AR_QUESTION, standalone=AR_QUESTION, answer=_answer())]
    prompt = followup.rewrite_prompt("ومتى حدث ذلك؟", turns)
    assert f"User: {AR_QUESTION}" in prompt and "Assistant: ناقش الوزيران الوضع في حلب." in prompt
    assert "[1]" not in prompt and prompt.rstrip().endswith("Latest message: ومتى حدث ذلك؟")


def test_conversation_store_round_trip_prefix_last_and_errors(tmp_path: Path) -> None:
    store = ConversationStore(tmp_path / "conversations")
    assert store.list() == ([], [])
    with pytest.raises(DalilError, match="no saved conversations"):
        store.load("last")
    first = store.new()
    first.turns.append(Turn(question=AR_QUESTION, standalone=AR_QUESTION, answer=_answer()))
    store.save(first)
    second = store.new()
    second.id = first.id[:-4] + "zzzz"
    store.save(second)
    assert store.load(first.id).turns[0].answer.citations[0].quote.startswith("وقالت")
    assert store.load("last").id == second.id
    with pytest.raises(DalilError, match="matches 2 conversations"):
        store.load(first.id[:8])
    assert store.load(first.id[:-2]).id == first.id
    for bad, message in [("../etc/passwd", "not a conversation ID"), ("nope", "no conversation 'nope'")]:
        with pytest.raises(DalilError, match=message):
            store.load(bad)
    (store.folder / "broken.json").write_text("{not json", encoding="utf-8")
    found, broken = store.list()
    assert [c.id for c in found] == [second.id, first.id] and [p.name for p in broken] == ["broken.json"]
    data = json.loads(store.path(first.id).read_text(encoding="utf-8"))
    assert set(data) == {"id", "created", "updated", "mode", "lang", "filters", "turns"}
    assert set(data["turns"][0]) == {"question", "standalone", "context", "asked_at", "answer"}
    assert not list(store.folder.glob(".tmp-*"))


def test_clip_cuts_between_words_and_keeps_diacritics() -> None:
    text = "وَقَالَتْ الخَارِجِيَّةُ الرُّوسِيَّةُ فِي بَيَانٍ بِأَنَّ الاتِّصَالَ"
    for width in range(12, 40):
        cut = clip(text, width)
        assert cell_len(cut) <= width
        assert cut.endswith("…") and text.startswith(cut[:-1])
        assert text[len(cut) - 1] == " ", "cut at a word boundary"
    lone = clip("كَتَبَكَتَبَكَتَبَ", 4)
    assert not unicodedata.combining("كَتَبَكَتَبَكَتَبَ"[len(lone) - 1]) and lone.endswith("…")
    assert clip("short\nline", 40) == "short line"
    assert clip("bad \x1b[31m escape", 40) == "bad [31m escape"


def test_bidi_console_wraps_then_reorders_each_line() -> None:
    from rich.text import Text

    buffer = io.StringIO()
    console = BidiConsole(file=buffer, width=40, color_system=None, highlight=False)
    console.print(Text(ARABIC))
    logical = [str(line).rstrip() for line in Text(ARABIC).wrap(Console(width=40), 40)]
    shown = [line.strip() for line in buffer.getvalue().splitlines()]
    assert len(logical) > 2 and shown == [get_display(line) for line in logical]
    assert all(line.endswith(get_display(logical[i])) for i, line in enumerate(buffer.getvalue().splitlines())), "right-aligned"


def test_visual_keeps_dates_file_names_and_english_in_order() -> None:
    line = "[1] unknown outlet · 2016-10-05 · 000_05ef239a9c3f61f9.txt «قالت الخارجية في 19 سبتمبر»"
    assert visual(line) == "«ربمتبس 19 يف ةيجراخلا تلاق» 000_05ef239a9c3f61f9.txt · 2016-10-05 · unknown outlet [1]"


def test_visual_mirrors_brackets_and_quotes_shown_right_to_left() -> None:
    assert visual("ناقش لافروف وكيري (الاحد) الوضع [1].") == ".[1] عضولا (دحالا) يريكو فورفال شقان"
    assert visual("قالت «رويترز» إن [2]") == "[2] نإ «زرتيور» تلاق"
    assert mirror_rtl("see (Reuters) and [1]") == "see (Reuters) and [1]", "no Arabic: nothing mirrored"
    assert mirror_rtl("é (x) é قال") == "é (x) é قال", "brackets between left-to-right letters stay"


def test_stream_printer_wraps_words_and_reorders_with_bidi() -> None:
    for bidi in (False, True):
        buffer = io.StringIO()
        console = (BidiConsole if bidi else Console)(file=buffer, width=40, color_system=None, highlight=False)
        printer = ChatStreamPrinter(console, bidi=bidi)
        for start in range(0, len(ARABIC), 7):
            printer(ARABIC[start:start + 7])
        printer.finish()
        header, _, body = buffer.getvalue().partition("checked below)\n")
        assert header.startswith("mode: llm")
        lines = body.splitlines()
        assert all(cell_len(line.strip()) <= 40 for line in lines)
        logical = [get_display(line.strip()) if bidi else line for line in lines]
        assert " ".join(logical) == ARABIC, "every word once, in order, none split"


def test_compact_sources_fit_one_line_each() -> None:
    buffer = io.StringIO()
    console = Console(file=buffer, width=90, color_system=None, highlight=False)
    print_compact_sources(console, _answer().citations)
    lines = buffer.getvalue().splitlines()
    assert lines[0].startswith("Sources") and len(lines) == 2
    assert lines[1].startswith("[1] سيريانيوز · 2016-08-16 · 004_2399a9a2b0d5824e.txt  «وقالت الخارجية") and lines[1].endswith("…»")
    assert cell_len(lines[1]) <= 90


def test_markdown_marks_unsupported_sentences_and_quotes_sources() -> None:
    conv = Conversation(id="20240101-000000-abcd", created="2024-01-01T00:00:00", updated="2024-01-01T00:00:00",
                        filters={"outlet": "سيريانيوز", "date_from": None})
    conv.turns.append(Turn(question="ومتى؟", standalone="متى جرى الاتصال؟", answer=_answer()))
    text = to_markdown(conv)
    assert "- filters: outlet=سيريانيوز" in text
    assert "## 1. ومتى؟" in text and "*Standalone question: متى جرى الاتصال؟*" in text
    assert "ناقش الوزيران الوضع في حلب. [1] وقتل 987 شخصا. [1] ⚠ *unsupported: numbers: 987*" in text
    assert "[1] سيريانيوز · 2016-08-16 · 004_2399a9a2b0d5824e.txt, chars 177–272" in text
    assert "> وقالت الخارجية الروسية" in text
