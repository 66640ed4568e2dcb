"""`dalil chat` as a command: piped input, --list, --resume, option errors."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
from typer.testing import CliRunner

from agent.cli import app

AR_QUESTION = "متى جرى الاتصال الهاتفي بين لافروف وكيري حول حلب؟"
FOLLOW_UP = "ومتى حدث ذلك؟"


def run(*args: str, stdin: str | None = None) -> tuple[int, str, str]:
    result = CliRunner().invoke(app, list(args), input=stdin)
    return result.exit_code, result.stdout, result.stderr


def test_chat_is_a_documented_command() -> None:
    code, out, _ = run("--help")
    assert code == 0 and "chat" in out
    code, out, _ = run("chat", "--help")
    for option in ("--resume", "--list", "--bidi", "--mode", "--lang", "--show-rewrites", "--store"):
        assert option in out


def test_piped_session_is_saved_listed_and_resumed(store: Path) -> None:
    code, out, err = run("chat", "--store", str(store), stdin=f"{AR_QUESTION}\n{FOLLOW_UP}\n/quit\n")
    assert code == 0, err
    assert "mode: extractive" in out and f"answered in the context of: {AR_QUESTION}" in out
    files = list((store / "conversations").glob("*.json"))
    assert len(files) == 1
    cid = files[0].stem
    assert f"conversation saved as {cid} (dalil chat --resume {cid})" in out

    code, out, _ = run("chat", "--list", "--store", str(store))
    assert code == 0 and cid in out and "resume one with: dalil chat --resume ID" in out
    code, out, _ = run("chat", "--list", "--json", "--store", str(store))
    listed = json.loads(out)["conversations"]
    assert [(c["id"], c["turns"], c["first_question"]) for c in listed] == [(cid, 2, AR_QUESTION)]

    code, out, err = run("chat", "--resume", cid[:-2], "--store", str(store), stdin="/sources\nوماذا قال الأمريكيون؟\n")
    assert code == 0, err
    assert f"conversation {cid} (resumed, 2 turn(s))" in out and f"last question: {FOLLOW_UP}" in out
    assert "chars " in out, "/sources works on the resumed conversation's last answer"
    assert "answered in the context of: " + AR_QUESTION in out
    assert len(json.loads(files[0].read_text(encoding="utf-8"))["turns"]) == 3


def test_conversations_follow_the_store(store: Path, tmp_path: Path) -> None:
    run("chat", "--store", str(store), stdin=f"{AR_QUESTION}\n")
    other = tmp_path / "other"
    code, out, _ = run("chat", "--list", "--store", str(other))
    assert code == 0 and f"no saved conversations in {other / 'conversations'}" in out


@pytest.mark.parametrize(("args", "message"), [
    (["--resume", "nope"], "no conversation 'nope'"),
    (["--resume", "../x"], "not a conversation ID"),
    (["--mode", "llm"], "DALIL_LLM_MODEL"),
    (["--mode", "fast"], "--mode must be llm or extractive"),
    (["--lang", "fr"], "--lang must be ar or en"),
])
def test_option_errors_are_one_line(store: Path, args: list[str], message: str) -> None:
    code, out, err = run("chat", *args, "--store", str(store), stdin="")
    assert code == 1 and message in err and len(err.strip().splitlines()) == 1 and "Traceback" not in out + err
