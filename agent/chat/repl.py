"""The prompt loop: read a line (prompt_toolkit: editing, history across sessions), hand it to the session.

Ctrl-C at the prompt clears the line; Ctrl-C while an answer is made cancels it; Ctrl-D
leaves. Piped input (not a terminal) is read line by line without prompt_toolkit.
"""

from __future__ import annotations

import sys
from collections.abc import Iterable
from pathlib import Path

from agent.chat.session import ALIASES, COMMANDS, ChatSession

PROMPT = "dalil> "


def run_lines(session: ChatSession, lines: Iterable[str]) -> None:
    """Feed lines to the session until one asks to leave."""
    for line in lines:
        if not session.handle(line.rstrip("\r\n")):
            break


def run_repl(session: ChatSession, history: Path) -> None:
    session.banner()
    if not sys.stdin.isatty():
        run_lines(session, sys.stdin)
        session.goodbye()
        return
    from prompt_toolkit import PromptSession
    from prompt_toolkit.completion import WordCompleter
    from prompt_toolkit.history import FileHistory

    session.conversations.ensure()
    words = [f"/{name}" for name in [*COMMANDS, *ALIASES]]
    prompt: PromptSession[str] = PromptSession(
        history=FileHistory(str(history)), completer=WordCompleter(words, sentence=True), complete_while_typing=False,
    )
    while True:
        try:
            line = prompt.prompt(PROMPT)
        except KeyboardInterrupt:
            continue
        except EOFError:
            break
        try:
            if not session.handle(line):
                break
        except KeyboardInterrupt:  # a second Ctrl-C while the first was being handled
            session.cancelled()
    session.goodbye()
