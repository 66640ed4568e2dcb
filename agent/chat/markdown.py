"""`/save FILE`: a conversation as Markdown, every answer followed by its cited quotes.

Article, question and answer text is untrusted: it goes through ``agent.safety.markdown_text``
(no raw HTML, no control or bidi-override characters, no links but http(s))."""

from __future__ import annotations

from agent.chat.conversation import Conversation, Turn
from agent.render import source_label
from agent.safety import markdown_text
from agent.schema import Answer, Citation


def _inline(text: str) -> str:
    """Untrusted text on one line: markup escaped, control and bidi-override characters removed, non-http links broken."""
    return " ".join(markdown_text(text).split())


def _quote_block(text: str) -> list[str]:
    return ["> " + line if line.strip() else ">" for line in markdown_text(text).strip().splitlines()]


def _citation(c: Citation) -> list[str]:
    lines = [f"[{c.n}] {_inline(source_label(c.published, c.outlet, c.file))}, chars {c.start}–{c.end}", "", *_quote_block(c.quote)]
    lines += [f"> *date: {_inline(d.phrase)} = {d.date or 'period'}*" for d in c.dates]
    return [*lines, ""]


def _answer(answer: Answer) -> list[str]:
    if answer.abstained:
        lines = [_inline(answer.answer), ""]
        if answer.nearest:
            lines += ["Nearest passages (they do not answer it):", ""]
            for c in answer.nearest:
                lines += _citation(c)
        return lines
    sentences = []
    for s in answer.sentences:
        marks = "".join(f"[{n}]" for n in s.citations)
        flag = "" if s.supported else " ⚠ *unsupported: " + "; ".join(s.problems or ["no citation"]) + "*"
        sentences.append(f"{_inline(s.text)} {marks}".rstrip() + flag)
    lines = [" ".join(sentences) if sentences else _inline(answer.answer), ""]
    if answer.citations:
        lines += ["**Sources**", ""]
        for c in answer.citations:
            lines += _citation(c)
    return lines


def _turn(n: int, turn: Turn) -> list[str]:
    lines = [f"## {n}. {_inline(turn.question)}", ""]
    if turn.context:
        lines += [f"*Answered in the context of: {_inline(turn.context)}*", ""]
    elif turn.standalone.strip() != turn.question.strip():
        lines += [f"*Standalone question: {_inline(turn.standalone)}*", ""]
    mode = f"*mode: {turn.answer.mode}{', degraded' if turn.answer.degraded else ''} · {turn.asked_at}*"
    lines += [mode, "", *_answer(turn.answer)]
    lines += [f"*note: {_inline(w)}*" for w in turn.answer.warnings]
    return [*lines, ""]


def to_markdown(conversation: Conversation) -> str:
    lines = [f"# Dalil conversation {conversation.id}", "", f"- created: {conversation.created}", f"- turns: {len(conversation.turns)}"]
    active = {k: v for k, v in conversation.filters.items() if v}
    if active:
        lines.append("- filters: " + _inline(", ".join(f"{k}={v}" for k, v in active.items())))
    lines.append("")
    for n, turn in enumerate(conversation.turns, start=1):
        lines += _turn(n, turn)
    return "\n".join(lines).rstrip() + "\n"
