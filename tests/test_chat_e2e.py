"""`dalil chat` end to end in a pseudo-terminal (pexpect): what a user types and what appears on screen.

The LLM session runs against the scripted OpenAI-compatible server (in-process thread; the
chat is a child process pointed at it); the offline session has no endpoint at all.
TERM=dumb keeps prompt_toolkit from drawing with cursor movements, so the screen is the
plain output stream.
"""

from __future__ import annotations

import io
import json
import os
import sys
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.scripted_openai import Reply, ScriptedOpenAI

pytestmark = pytest.mark.slow  # dalil chat driven in a real terminal (pexpect)

pexpect = pytest.importorskip("pexpect")

DALIL = str(Path(sys.executable).parent / "dalil")
PROMPT = "dalil> "
LLM_QUESTION = "ماذا ناقش لافروف وكيري في المحادثة الهاتفية يوم السبت؟"
AR_QUESTION = "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟"
FOLLOW_UP = "ومتى حدث ذلك؟"
STANDALONE = "متى جرى الاتصال الهاتفي الذي ناقش فيه لافروف وكيري الوضع في حلب؟"
ANSWER = "ناقش لافروف وكيري في محادثة هاتفية تطبيع الوضع في مدينة حلب السورية [1]."
SLOW = " ".join(["ناقش لافروف وكيري الوضع في حلب"] * 30) + " [1]."
REWRITE = Reply(match="search queries", content='{"ar": "اتصال هاتفي لافروف كيري حلب", "en": "Lavrov Kerry call Aleppo"}')
PLANTED_KEY = "sk-planted-e2e-key-0042"


@pytest.fixture
def server() -> Iterator[ScriptedOpenAI]:
    with ScriptedOpenAI() as srv:
        yield srv


class Terminal:
    """A `dalil chat` child on a 50x200 pseudo-terminal; ``screen`` is everything it showed."""

    def __init__(self, store: Path, cwd: Path, **env: str) -> None:
        self.screen = io.StringIO()
        self.child = pexpect.spawn(
            DALIL, ["chat", "--store", str(store)], cwd=str(cwd), env={**os.environ, "TERM": "dumb", "COLUMNS": "200", **env},
            dimensions=(50, 200), encoding="utf-8", codec_errors="replace", timeout=30,
        )
        self.child.logfile_read = self.screen

    def expect(self, text: str) -> str:
        """Wait for ``text`` on screen; return what came before it."""
        self.child.expect_exact(text)
        return self.child.before

    def ask(self, line: str) -> str:
        """Type ``line`` at the prompt; return everything shown until the next prompt."""
        self.child.sendline(line)
        return self.expect(PROMPT)

    def quit_with_ctrl_d(self) -> None:
        time.sleep(0.3)  # let prompt_toolkit switch the terminal to raw mode, so ^D reaches it as a key
        self.child.sendeof()
        self.expect("conversation saved as")
        self.child.expect(pexpect.EOF)
        self.child.close()
        assert self.child.exitstatus == 0, self.screen.getvalue()[-2000:]


def check_sources_open_save(term: Terminal, cwd: Path) -> None:
    sources = term.ask("/sources")
    assert "Sources" in sources and "chars " in sources and "«" in sources and "»" in sources
    opened = term.ask("/open 1")
    assert "is highlighted and marked ⟦…⟧" in opened
    article = opened.split("marked ⟦…⟧", 1)[1]
    marked = article[article.index("⟦") + 1: article.index("⟧")]
    assert len(marked) > 20
    assert len(article) > len(marked) + 200, "the whole article, not just the quote"
    saved = term.ask("/save chat.md")
    assert "saved 2 turn(s) to chat.md" in saved
    text = (cwd / "chat.md").read_text(encoding="utf-8")
    assert text.startswith("# Dalil conversation") and "**Sources**" in text and "\n> " in text


def test_llm_chat_in_a_terminal(store: Path, tmp_path: Path, server: ScriptedOpenAI) -> None:
    term = Terminal(store, tmp_path, DALIL_LLM_BASE_URL=server.base_url, DALIL_LLM_MODEL="scripted-model",
                    DALIL_LLM_API_KEY=PLANTED_KEY, DALIL_LLM_MAX_RETRIES="0", DALIL_LLM_TIMEOUT="10")
    banner = term.expect(PROMPT)
    assert "mode: llm: answers stream from the LLM, citations checked" in banner

    server.enqueue(REWRITE, Reply(match="<passage", content=ANSWER, chunk_size=5, chunk_delay=0.02))
    first = term.ask(LLM_QUESTION)
    assert "(streaming; checked below)" in first and "ناقش لافروف وكيري في محادثة هاتفية" in first
    assert "citations checked: 1/1 sentences supported" in first
    assert "Sources (/sources for full quotes, /open N for the article)" in first and "\n[1] " in first

    server.enqueue(Reply(match="Latest message", content=STANDALONE), REWRITE, Reply(match="<passage", content=ANSWER))
    second = term.ask(FOLLOW_UP)
    assert "citations checked: 1/1 sentences supported" in second
    assert f"rewritten as: {STANDALONE}" in term.ask("/rewritten")

    check_sources_open_save(term, tmp_path)

    server.enqueue(Reply(match="Latest message", content=LLM_QUESTION), REWRITE,
                   Reply(match="<passage", content=SLOW, chunk_size=4, chunk_delay=0.1))
    term.child.sendline("وماذا أيضا؟")
    term.expect("ناقش لافروف")
    term.child.sendintr()
    cancelled = term.expect(PROMPT)
    assert "(cancelled)" in cancelled and "citations checked" not in cancelled

    failed = term.ask("سؤال آخر عن حلب؟")  # nothing queued: the endpoint answers HTTP 500
    assert [line for line in failed.splitlines() if line.startswith("error:")] == [
        "error: the LLM endpoint failed with HTTP 500 after 1 attempt(s)"]
    assert "Traceback" not in failed

    assert "unknown command /wat: type /help for the list" in term.ask("/wat")
    term.quit_with_ctrl_d()

    screen = term.screen.getvalue()
    assert PLANTED_KEY not in screen and "Traceback" not in screen
    (saved,) = (store / "conversations").glob("*.json")
    data = json.loads(saved.read_text(encoding="utf-8"))
    assert [t["question"] for t in data["turns"]] == [LLM_QUESTION, FOLLOW_UP], "cancelled and failed questions are not turns"
    assert data["turns"][1]["standalone"] == STANDALONE and PLANTED_KEY not in saved.read_text(encoding="utf-8")
    history = (store / "conversations" / "history").read_text(encoding="utf-8")
    assert f"+{LLM_QUESTION}" in history and "+/open 1" in history


def test_offline_chat_in_a_terminal(store: Path, tmp_path: Path) -> None:
    term = Terminal(store, tmp_path)
    assert "mode: extractive: answers quote the articles verbatim (offline)" in term.expect(PROMPT)

    first = term.ask(AR_QUESTION)
    assert "mode: extractive (no LLM)" in first and "[1]" in first and "Sources (/sources" in first
    second = term.ask(FOLLOW_UP)
    assert f"answered in the context of: {AR_QUESTION}" in second and "Sources (/sources" in second

    check_sources_open_save(term, tmp_path)

    assert "/open N  the whole article behind citation N" in term.ask("/help")
    assert "filters: from=2016-09-01 to=2016-09-30" in term.ask("/filter from=2016-09-01 to=2016-09-30")
    timeline = term.ask("/timeline")  # the real agent.sequence timeline, within the date filter
    assert "events from 2016-09-01 to 2016-09-30 from 5 articles" in timeline and "error:" not in timeline
    assert "filters: none (all articles)" in term.ask("/filter clear")

    term.child.send("half a question")  # Ctrl-C at the prompt drops the line, the chat goes on
    time.sleep(0.3)
    term.child.sendintr()
    term.expect(PROMPT)
    term.child.sendline(AR_QUESTION)  # Ctrl-C right after asking: cancelled, or too late (answer done); never fatal
    term.child.sendintr()
    term.child.sendline("/filter")  # typed ahead; shows once the chat is back at the prompt
    term.expect("filters: none (all articles)")
    term.expect(PROMPT)
    assert "Sources" in term.ask("/sources")

    term.quit_with_ctrl_d()
    assert "Traceback" not in term.screen.getvalue()
    (saved,) = (store / "conversations").glob("*.json")
    assert json.loads(saved.read_text(encoding="utf-8"))["turns"][1]["context"] == AR_QUESTION
