"""Chat output: answers with a compact source list, full quotes, whole articles, notes.

Everything goes through a rich ``Console``; article text through ``render.safe``. With
``--bidi`` the console is a :class:`BidiConsole`: each Arabic line is wrapped first and
then reordered for display (python-bidi), because reordering a paragraph before the
terminal wraps it puts its lines in the wrong order.
"""

from __future__ import annotations

import os
import re
import shutil
import unicodedata
from typing import Any

from rich.cells import cell_len
from rich.console import Console, JustifyMethod
from rich.text import Text

from agent.render import MODE_LINES, StreamPrinter, print_checked, print_sentences, print_sources, safe, source_label, step_line
from agent.schema import Answer, Citation

_RTL = ("R", "AL")
_LTR_RUN = re.compile(r"[A-Za-z0-9](?:[A-Za-z0-9_./:\-– ]*[A-Za-z0-9])?")
HIGHLIGHT = "bold black on yellow"


def has_rtl(text: str) -> bool:
    return any(unicodedata.bidirectional(c) in _RTL for c in text)


def rtl_base(text: str) -> bool:
    """Is the line right-to-left: is its first strong character, outside the Latin/digit runs
    that :func:`visual` isolates, Arabic (or Hebrew)?"""
    for c in _LTR_RUN.sub("", text):
        kind = unicodedata.bidirectional(c)
        if kind in _RTL:
            return True
        if kind == "L":
            return False
    return False


def visual(line: str) -> str:
    """One display line reordered for a terminal without bidi support. Latin and digit runs
    (dates, file names, English) are isolated first, so "2016-09-28" or "002_e83c.txt" inside
    an Arabic line keep their order instead of being reordered around their - and _; brackets
    and quotation marks shown right-to-left get their mirrored glyph, so "[1]" stays "[1]"."""
    try:
        from bidi import get_display  # python-bidi >= 0.5: Unicode 6.3 algorithm, with isolates, no mirroring
    except ImportError:  # older python-bidi: no isolate support, mirrors itself
        from bidi.algorithm import get_display

        return get_display(line)
    isolated = _LTR_RUN.sub(lambda m: f"\u2066{m.group(0)}\u2069", mirror_rtl(line))
    return get_display(isolated).replace("\u2066", "").replace("\u2069", "")


def _strong(c: str) -> str | None:
    kind = unicodedata.bidirectional(c)
    return "R" if kind in ("R", "AL", "AN") else "L" if kind == "L" else None


def mirror_rtl(line: str) -> str:
    """``line`` with the mirrorable characters (brackets, « », < >) that will be laid out
    right-to-left replaced by their mirror image (rule L4 of the bidi algorithm, which the
    Rust-based python-bidi leaves out). A neutral takes the direction of the strong characters
    on both sides when they agree, else the line's; the isolated Latin/digit runs count as
    neutral, as isolates do."""
    try:
        from bidi.mirror import MIRRORED
    except ImportError:
        MIRRORED = dict(zip("()[]{}<>«»‹›", ")(][}{><»«›‹", strict=True))
    if not any(c in MIRRORED for c in line):
        return line
    masked = _LTR_RUN.sub(lambda m: "\0" * len(m.group(0)), line)
    base = "R" if rtl_base(line) else "L"
    out = list(line)
    for i, c in enumerate(masked):
        if c not in MIRRORED:
            continue
        before = next((d for d in map(_strong, reversed(masked[:i])) if d), base)
        after = next((d for d in map(_strong, masked[i + 1:]) if d), base)
        if (before if before == after else base) == "R":
            out[i] = MIRRORED[c]
    return "".join(out)


class BidiConsole(Console):
    """A console that reorders right-to-left lines itself (for terminals without bidi)."""

    def print(self, *objects: Any, **kwargs: Any) -> None:
        if len(objects) == 1 and isinstance(objects[0], Text) and has_rtl(objects[0].plain):
            text: Text = objects[0]
            for line in text.wrap(self, self.width):
                if has_rtl(line.plain):
                    style = line.get_style_at_offset(self, 0) if line.plain else line.style
                    justify: JustifyMethod = "right" if rtl_base(line.plain) else "left"
                    super().print(Text(visual(line.plain.strip()), style=style), justify=justify, **kwargs)
                else:
                    super().print(line, **kwargs)
            return
        super().print(*objects, **kwargs)


def make_console(bidi: bool, **kwargs: Any) -> Console:
    kwargs.setdefault("highlight", False)
    kwargs.setdefault("soft_wrap", False)
    if "width" not in kwargs and os.environ.get("TERM", "").lower() in ("dumb", "unknown"):
        # rich assumes 80x25 on a dumb terminal; the terminal still knows its real size
        kwargs["width"], kwargs["height"] = shutil.get_terminal_size()
    return BidiConsole(**kwargs) if bidi else Console(**kwargs)


def clip(text: str, max_cells: int) -> str:
    """``text`` on one line, cut to ``max_cells`` columns at a word boundary, so Arabic words keep
    their letters' joining (only a single word wider than the room is cut, and never between a
    letter and its diacritics)."""
    text = " ".join(safe(text).split())
    if cell_len(text) <= max_cells:
        return text
    room = max(max_cells - 1, 1)
    cut, used = 0, 0
    for i, ch in enumerate(text):
        used += cell_len(ch)
        if used > room:
            break
        cut = i + 1
    head = text[:cut]
    if text[cut] != " " and " " in head:
        head = head[: head.rfind(" ")]
    while head and unicodedata.combining(text[len(head)]):
        head = head[:-1]
    return head.rstrip(" ،,؛;:") + "…"


class ChatStreamPrinter(StreamPrinter):
    """Streams the model's text word by word, wrapped at the console width (and reordered
    line by line with ``--bidi``, where a line is shown once it is complete)."""

    def __init__(self, console: Console, bidi: bool = False) -> None:
        super().__init__(console)
        self.bidi = bidi
        self._line = ""
        self._word = ""

    def __call__(self, delta: str) -> None:
        if not self.started:
            self.console.print(Text(MODE_LINES["llm"] + " (streaming; checked below)", style="dim"))
            self.started = True
        for ch in safe(delta):
            if ch == "\n":
                self._push_word()
                self._end_line()
            elif ch.isspace():
                self._push_word()
            else:
                self._word += ch
        self.console.file.flush()

    def _push_word(self) -> None:
        if not self._word:
            return
        word, self._word = self._word, ""
        sep = " " if self._line else ""
        if self._line and cell_len(self._line + sep + word) > self.console.width:
            self._end_line()
            sep = ""
        self._line += sep + word
        if not self.bidi:
            self.console.file.write(sep + word)

    def _end_line(self) -> None:
        if self.bidi:
            self.console.print(Text(self._line))
        else:
            self.console.file.write("\n")
        self._line = ""

    def finish(self) -> None:
        self._push_word()
        if self._line or not self.bidi:
            self._end_line()
        self.console.file.flush()

    def abandon(self) -> None:
        """Cancelled (Ctrl-C): end the line without the half-received word."""
        self._word = ""
        if self.bidi and self._line and self.console.is_terminal:
            self.console.file.write("\n")  # past the terminal's ^C echo, so the right-aligned line fits
        if self._line or not self.bidi:
            self._end_line()
        self.console.file.flush()


def note(console: Console, message: str, style: str = "dim") -> None:
    console.print(Text(safe(message), style=style))


def error(console: Console, message: str) -> None:
    console.print(Text(f"error: {safe(' '.join(message.split()))}", style="bold red"))


def print_compact_sources(console: Console, citations: list[Citation], heading: str = "Sources") -> None:
    """One line per citation: label and the start of the quote, cut to the console width."""
    if not citations:
        return
    console.print(Text(f"{heading} (/sources for full quotes, /open N for the article)", style="bold"))
    for c in citations:
        line = Text(f"[{c.n}] ", style="bold cyan")
        line.append(safe(source_label(c.published, c.outlet, c.file)), style="cyan")
        room = console.width - cell_len(line.plain) - 4
        if room >= 12:
            line.append(f"  «{clip(c.quote, room)}»")
        console.print(line)


def print_chat_answer(console: Console, answer: Answer, streamed: bool) -> None:
    """The checked answer after streaming (or the whole answer offline), then compact sources."""
    if not streamed:
        console.print(Text(MODE_LINES.get(answer.mode, f"mode: {answer.mode}"), style="dim"))
    if answer.degraded:
        console.print(Text("degraded answer: see the notes below", style="bold yellow"))
    if answer.abstained:
        console.print(Text(safe(answer.answer), style="bold yellow"))
        print_compact_sources(console, answer.nearest, "Nearest passages, which do not answer it")
    else:
        if streamed and answer.mode == "llm":
            ok = sum(s.supported for s in answer.sentences)
            total = len(answer.sentences)
            console.print(Text(f"citations checked: {ok}/{total} sentences supported", style="green" if ok == total else "bold red"))
            if ok != total or answer.degraded:
                print_sentences(console, answer)
        else:
            print_sentences(console, answer)
            if answer.mode == "llm" and answer.sentences:
                print_checked(console, answer)
        print_compact_sources(console, answer.citations)
    for warning in answer.warnings:
        console.print(Text(f"note: {safe(warning)}", style="yellow"))


def print_steps(console: Console, answer: Answer) -> None:
    """/steps: the tool calls that made the last answer, with their arguments and what they returned."""
    if not answer.steps:
        note(console, "the last answer took no tool calls (one retrieval)")
        return
    for i, step in enumerate(answer.steps, start=1):
        line = Text(f"{i}. {safe(step_line(step))}", style="bold" if not step.error else "yellow")
        arguments = ", ".join(f"{k}={v!r}" for k, v in step.arguments.items())
        line.append(f"\n    {step.tool}({safe(arguments)})", style="cyan")
        if step.ids:
            line.append(f"\n    returned: {clip(', '.join(step.ids), max(console.width - 14, 20))}", style="dim")
        console.print(line)


def print_full_sources(console: Console, answer: Answer) -> None:
    if answer.citations:
        print_sources(console, answer)
    elif answer.nearest:
        console.print(Text("No citations: the articles did not answer. Nearest passages:", style="dim"))
        print_sources(console, answer.model_copy(update={"citations": answer.nearest}))
    else:
        console.print(Text("the last answer has no citations", style="dim"))


def find_quote(text: str, citation: Citation) -> tuple[int, int] | None:
    """Where the quote is in the article: its recorded offsets, else wherever it occurs now."""
    if text[citation.start:citation.end] == citation.quote:
        return citation.start, citation.end
    at = text.find(citation.quote)
    return (at, at + len(citation.quote)) if at >= 0 and citation.quote else None


def print_article(console: Console, citation: Citation, text: str, title: str | None = None, url: str | None = None,
                  markers: bool = False) -> None:
    """The whole article, the cited passage highlighted (and bracketed ⟦…⟧ when ``markers``)."""
    header = Text(f"[{citation.n}] ", style="bold cyan")
    header.append(safe(source_label(citation.published, citation.outlet, citation.file)), style="cyan")
    console.print(header)
    if title:
        console.print(Text(safe(title), style="bold"))
    if url:
        console.print(Text(safe(url), style="dim"))
    span = find_quote(text, citation)
    where = f"the cited passage (chars {span[0]}–{span[1]}) is highlighted" if span else "the quoted passage is no longer in this article"
    console.print(Text(where + (" and marked ⟦…⟧" if span and markers else ""), style="dim"))
    console.print()
    body = Text()
    if span:
        start, end = span
        body.append(safe(text[:start]))
        body.append(("⟦" if markers else "") + safe(text[start:end]) + ("⟧" if markers else ""), style=HIGHLIGHT)
        body.append(safe(text[end:]))
    else:
        body.append(safe(text))
    console.print(body)
