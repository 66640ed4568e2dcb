"""One chat: questions and slash commands in, rendered answers out.

``ChatSession.handle(line)`` does everything one typed line asks for and prints to the
session's console; it returns False when the user wants to leave. No terminal is needed,
so the REPL around it (``agent.chat.repl``) stays a thin prompt loop.
"""

from __future__ import annotations

import dataclasses
import datetime as dt
import difflib
import importlib
import json
import re
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from pydantic import BaseModel
from rich.console import Console
from rich.text import Text

from agent.chat import followup, view
from agent.chat.conversation import Conversation, ConversationStore, Turn
from agent.chat.markdown import to_markdown
from agent.errors import DalilError
from agent.render import safe
from agent.retrieval.retrieve import SearchFilters
from agent.schema import Answer, AnswerMode, Citation
from agent.text.arabic import is_arabic

if TYPE_CHECKING:
    from agent.pipeline import Dalil

COMMANDS: dict[str, tuple[str, str]] = {
    "help": ("", "this list"),
    "sources": ("", "full quotes of the last answer's citations"),
    "open": ("N", "the whole article behind citation N, the quote highlighted"),
    "rewritten": ("", "the standalone question the last answer was made for"),
    "lang": ("ar|en|auto", "answer language (LLM mode; offline quotes the articles as written)"),
    "filter": ("from=YYYY-MM-DD to=YYYY-MM-DD outlet=NAME | clear", "limit which articles are searched"),
    "mode": ("llm|extractive", "LLM answers or offline verbatim quotes"),
    "timeline": ("", "the sequence of events (within the date filter)"),
    "steps": ("", "the tool calls that made the last answer (searches, events, accounts)"),
    "save": ("FILE", "write the conversation as Markdown with citations"),
    "clear": ("", "forget the context and start a new conversation"),
    "quit": ("", "leave (Ctrl-D works too)"),
}
ALIASES = {"exit": "quit", "q": "quit", "?": "help", "h": "help", "new": "clear"}
_FILTER_KEY = re.compile(r"(\w+)\s*=\s*")


def parse_filters(args: str, current: SearchFilters, outlets: set[str] | None = None) -> SearchFilters:
    """``from=… to=… outlet=…`` (each optional, an empty value removes it) applied to ``current``;
    ``clear`` removes every filter. Values run to the next ``key=``, so outlet names may have spaces."""
    args = args.strip()
    if args.lower() in ("clear", "off", "none", "reset"):
        return SearchFilters()
    keys = list(_FILTER_KEY.finditer(args))
    if not keys or keys[0].start() != 0:
        raise DalilError("usage: /filter from=YYYY-MM-DD to=YYYY-MM-DD outlet=NAME (any of them), or /filter clear")
    values: dict[str, Any] = {}
    for i, match in enumerate(keys):
        key = match.group(1).lower()
        raw = args[match.end(): keys[i + 1].start() if i + 1 < len(keys) else len(args)].strip().strip("\"'«»")
        if key in ("from", "to"):
            try:
                values["date_" + key] = dt.date.fromisoformat(raw) if raw else None
            except ValueError:
                raise DalilError(f"{key}= takes a day as YYYY-MM-DD, not {raw!r}") from None
        elif key == "outlet":
            if raw and outlets is not None and raw not in outlets:
                known = ", ".join(sorted(outlets)) or "none"
                raise DalilError(f"no articles from outlet {raw!r} (known outlets: {known})")
            values["outlet"] = raw or None
        else:
            raise DalilError(f"unknown filter {key!r}: use from=, to= or outlet=")
    result = dataclasses.replace(current, **values)
    if result.date_from and result.date_to and result.date_from > result.date_to:
        raise DalilError("from= is after to=")
    return result


def describe_filters(filters: SearchFilters) -> str:
    parts = [f"from={filters.date_from}" if filters.date_from else "", f"to={filters.date_to}" if filters.date_to else "",
             f"outlet={filters.outlet}" if filters.outlet else ""]
    return " ".join(p for p in parts if p) or "none (all articles)"


def filters_to_dict(filters: SearchFilters) -> dict[str, str | None]:
    return {"date_from": filters.date_from.isoformat() if filters.date_from else None,
            "date_to": filters.date_to.isoformat() if filters.date_to else None, "outlet": filters.outlet}


def filters_from_dict(data: dict[str, str | None]) -> SearchFilters:
    day = dt.date.fromisoformat
    start, end = data.get("date_from"), data.get("date_to")
    return SearchFilters(day(start) if start else None, day(end) if end else None, data.get("outlet") or None)


class ChatSession:
    """The state of one chat (conversation, mode, language, filters) and what each line does."""

    def __init__(
        self,
        dalil: Dalil,
        conversations: ConversationStore,
        console: Console,
        conversation: Conversation | None = None,
        *,
        mode: AnswerMode | None = None,
        lang: str | None = None,
        filters: SearchFilters | None = None,
        k: int | None = None,
        bidi: bool = False,
        show_rewrites: bool = False,
    ) -> None:
        self.dalil = dalil
        self.conversations = conversations
        self.console = console
        self.conversation = conversation or conversations.new()
        self.mode = mode
        self.lang = lang
        self.filters = filters or SearchFilters()
        self.k = k
        self.bidi = bidi
        self.show_rewrites = show_rewrites
        self._commands: dict[str, Callable[[str], bool | None]] = {
            "help": self.cmd_help, "sources": self.cmd_sources, "open": self.cmd_open, "rewritten": self.cmd_rewritten,
            "lang": self.cmd_lang, "filter": self.cmd_filter, "mode": self.cmd_mode, "timeline": self.cmd_timeline, "steps": self.cmd_steps,
            "save": self.cmd_save, "clear": self.cmd_clear, "quit": self.cmd_quit,
        }

    @classmethod
    def resume(cls, dalil: Dalil, conversations: ConversationStore, console: Console, conversation: Conversation,
               **overrides: Any) -> ChatSession:
        """Continue a saved conversation with its mode, language and filters unless ``overrides`` set them."""
        state: dict[str, Any] = {"mode": conversation.mode, "lang": conversation.lang,
                                 "filters": filters_from_dict(conversation.filters) if conversation.filters else None}
        state.update({k: v for k, v in overrides.items() if v is not None})
        if state.get("mode") == "llm" and not dalil.settings.llm.configured:
            state["mode"] = None
        return cls(dalil, conversations, console, conversation, **state)

    # -- the loop's entry points -------------------------------------------------------

    @property
    def last_answer(self) -> Answer | None:
        return self.conversation.turns[-1].answer if self.conversation.turns else None

    def banner(self) -> None:
        conv = self.conversation
        state = f"resumed, {len(conv.turns)} turn(s)" if conv.turns else "new"
        mode = self.current_mode()
        how = "answers quote the articles verbatim (offline)" if mode == "extractive" else "answers stream from the LLM, citations checked"
        view.note(self.console, f"Dalil chat · conversation {conv.id} ({state}) · mode: {mode}: {how}", style="bold")
        view.note(self.console, "Ask in Arabic or English. /help for commands, Ctrl-C cancels an answer, Ctrl-D leaves.")
        if self.filters:
            view.note(self.console, f"filters: {describe_filters(self.filters)}")
        if conv.turns:
            view.note(self.console, f"last question: {conv.turns[-1].question}")

    def goodbye(self) -> None:
        if self.conversation.turns:
            cid = self.conversation.id
            view.note(self.console, f"conversation saved as {cid} (dalil chat --resume {cid})")

    def handle(self, line: str) -> bool:
        """Do what ``line`` asks (a question or a /command); False means leave."""
        line = line.strip()
        if not line:
            return True
        try:
            if line.startswith("/"):
                return self.command(line) is not False
            self.ask(line)
        except DalilError as exc:
            view.error(self.console, str(exc))
        except KeyboardInterrupt:
            self.cancelled()
        except Exception as exc:  # a bug must not end the conversation: one line, and the chat goes on
            view.error(self.console, f"unexpected {type(exc).__name__}: {exc} (please report it; the chat goes on)")
        return True

    def cancelled(self) -> None:
        view.note(self.console, "(cancelled)", style="yellow")

    def command(self, line: str) -> bool | None:
        name, _, args = line[1:].partition(" ")
        name = ALIASES.get(name.lower(), name.lower())
        handler = self._commands.get(name)
        if handler is None:
            close = difflib.get_close_matches(name, list(self._commands), n=1)
            hint = f" (did you mean /{close[0]}?)" if close else ""
            view.note(self.console, f"unknown command /{safe(name)}{hint}: type /help for the list", style="yellow")
            return True
        return handler(args.strip())

    # -- questions -----------------------------------------------------------------------

    def current_mode(self) -> AnswerMode:
        return self.dalil.answer_mode(self.mode)

    def standalone(self, question: str, mode: AnswerMode) -> tuple[str, str | None]:
        """The question to answer and, offline, the earlier question it is answered against."""
        turns = self.conversation.turns
        if not turns:
            return question, None
        if mode == "llm" and not getattr(self.dalil, "remote", False):  # a remote server's model is not ours to prompt
            return followup.rewrite_followup(question, turns, self.dalil.chat), None
        if followup.is_followup(question):
            topic = followup.topic_of(turns[-1])
            return followup.with_context(question, topic), topic
        return question, None

    def ask(self, question: str) -> Answer:
        self.dalil.refresh_store()  # an ingest in another terminal is seen by the next question
        mode = self.current_mode()
        standalone, context = self.standalone(question, mode)
        if context:
            view.note(self.console, f"answered in the context of: {context}")
        elif standalone != question and self.show_rewrites:
            view.note(self.console, f"standalone question: {standalone}")
        lang = self.lang or ("ar" if is_arabic(question) else "en")
        printer = view.ChatStreamPrinter(self.console, self.bidi) if mode == "llm" else None
        try:
            answer = self.dalil.ask(standalone, self.filters or None, self.k, mode=mode, lang=lang, on_text=printer,
                                    on_step=lambda step: view.note(self.console, f"… {view.step_line(step)}"))
        except KeyboardInterrupt:
            if printer is not None and printer.started:
                printer.abandon()  # the half-received word is not shown
            raise
        except BaseException:
            if printer is not None and printer.started:
                printer.finish()
            raise
        if printer is not None and printer.started:
            printer.finish()
        view.print_chat_answer(self.console, answer, streamed=bool(printer and printer.started))
        self.conversation.turns.append(Turn(question=question, standalone=standalone, context=context, answer=answer))
        self.save_state()
        return answer

    def save_state(self) -> None:
        conv = self.conversation
        conv.mode, conv.lang, conv.filters = self.mode, self.lang, filters_to_dict(self.filters)
        if conv.turns:
            self.conversations.save(conv)

    # -- commands ------------------------------------------------------------------------

    def cmd_help(self, args: str) -> None:
        view.note(self.console, "Type a question (Arabic or English); follow-ups use the conversation so far.", style="bold")
        for name, (usage, text) in COMMANDS.items():
            line = Text(f"  /{name}" + (f" {usage}" if usage else ""), style="bold cyan")
            line.append(f"  {text}")
            self.console.print(line)
        view.note(self.console, "Ctrl-C cancels a streaming answer; Ctrl-D (or /quit) leaves; ↑/↓ recall earlier questions.")

    def _require_answer(self) -> Answer:
        answer = self.last_answer
        if answer is None:
            raise DalilError("no answer yet: ask a question first")
        return answer

    def cmd_sources(self, args: str) -> None:
        view.print_full_sources(self.console, self._require_answer())

    def _citation(self, args: str) -> Citation:
        answer = self._require_answer()
        cited = answer.citations or answer.nearest
        numbers = ", ".join(str(c.n) for c in cited) or "none"
        try:
            n = int(args.strip().strip("[]"))
        except ValueError:
            raise DalilError(f"usage: /open N, where N is a citation number of the last answer ({numbers})") from None
        match = next((c for c in cited if c.n == n), None)
        if match is None:
            raise DalilError(f"the last answer has no citation [{n}] (it has: {numbers})")
        return match

    def cmd_steps(self, args: str) -> None:
        view.print_steps(self.console, self._require_answer())

    def cmd_open(self, args: str) -> None:
        citation = self._citation(args)
        record = self.dalil.store.registry.document(citation.doc_id)
        if record is None:
            raise DalilError(f"the article behind [{citation.n}] ({citation.file}) is no longer in the store")
        markers = self.bidi or self.console.color_system is None
        view.print_article(self.console, citation, record.text, record.title, record.url, markers=markers)

    def cmd_rewritten(self, args: str) -> None:
        if not self.conversation.turns:
            raise DalilError("no question yet")
        turn = self.conversation.turns[-1]
        if turn.context:
            view.note(self.console, f"answered in the context of: {turn.context}", style="")
            view.note(self.console, f"searched with: {turn.standalone}", style="")
        elif turn.standalone != turn.question:
            view.note(self.console, f"rewritten as: {turn.standalone}", style="")
        else:
            view.note(self.console, f"asked as typed: {turn.standalone}", style="")

    def cmd_lang(self, args: str) -> None:
        choice = args.lower()
        if choice not in ("ar", "en", "auto"):
            raise DalilError("usage: /lang ar|en|auto")
        self.lang = None if choice == "auto" else choice
        view.note(self.console, f"answer language: {choice if self.lang else 'auto (the question’s)'}")
        if self.current_mode() == "extractive":
            view.note(self.console, "note: offline answers quote the articles in their own language; translation needs an LLM endpoint",
                      style="yellow")
        self.save_state()

    def cmd_filter(self, args: str) -> None:
        if args:
            outlets = {d.outlet for d in self.dalil.store.registry.documents() if d.outlet}
            self.filters = parse_filters(args, self.filters, outlets)
            self.save_state()
        view.note(self.console, f"filters: {describe_filters(self.filters)}")

    def cmd_mode(self, args: str) -> None:
        choice = args.lower()
        if choice not in ("llm", "extractive"):
            raise DalilError(f"usage: /mode llm|extractive (now: {self.current_mode()})")
        mode = cast("AnswerMode", choice)  # one of the two, checked above
        self.dalil.answer_mode(mode)  # raises when no endpoint is configured
        self.mode = mode
        view.note(self.console, f"mode: {choice}")
        self.save_state()

    def cmd_timeline(self, args: str) -> None:
        """``agent.sequence.timeline.timeline_for`` (as ``dalil timeline``) in the chat's mode and date filter."""
        try:
            module = importlib.import_module("agent.sequence.timeline")
        except ModuleNotFoundError as exc:
            if exc.name not in ("agent.sequence.timeline", "agent.sequence"):
                raise
            module = None
        build = getattr(module, "timeline_for", None)
        if build is None:
            view.note(self.console, "timeline is not available in this version", style="yellow")
            return
        if getattr(self.dalil, "remote", False):  # dalil chat --server: the server's timeline
            result = cast("Any", self.dalil).timeline(self.current_mode(), self.filters.date_from, self.filters.date_to)
        else:
            result = build(self.dalil, self.current_mode(), self.filters.date_from, self.filters.date_to)
        show = getattr(module, "print_timeline", None)
        if callable(show):
            show(self.console, result)
        else:
            print_generic(self.console, result)
        if self.filters.outlet:
            view.note(self.console, f"note: the timeline covers every outlet (outlet={self.filters.outlet} applies to questions only)",
                      style="yellow")

    def cmd_save(self, args: str) -> None:
        if not args:
            raise DalilError("usage: /save FILE (Markdown)")
        if not self.conversation.turns:
            raise DalilError("nothing to save yet: ask a question first")
        path = Path(args.strip().strip("\"'")).expanduser()
        try:
            path.write_text(to_markdown(self.conversation), encoding="utf-8")
        except OSError as exc:
            raise DalilError(f"cannot write {path}: {exc.strerror}") from None
        view.note(self.console, f"saved {len(self.conversation.turns)} turn(s) to {path}", style="green")

    def cmd_clear(self, args: str) -> None:
        old = self.conversation
        self.conversation = self.conversations.new()
        self.save_state()
        kept = f"; the previous one is saved as {old.id}" if old.turns else ""
        view.note(self.console, f"new conversation {self.conversation.id} (earlier questions are no longer used as context){kept}")

    def cmd_quit(self, args: str) -> bool:
        return False


def print_generic(console: Console, result: Any) -> None:
    """Print a result whose type belongs to another module (the timeline's): anything with
    ``events`` (each with ``date.label``, ``what_en``/``what_ar``, ``citation_numbers``),
    rich renderables, text, lists, other models as JSON."""
    if result is None:
        return
    events = getattr(result, "events", None)
    if isinstance(events, list):
        if not events:
            view.note(console, "no events found (within the date filter)")
        for event in events:
            console.print(event_line(console, event))
        for warning in getattr(result, "warnings", None) or []:
            view.note(console, f"note: {warning}", style="yellow")
    elif hasattr(result, "__rich_console__") or hasattr(result, "__rich__"):
        console.print(result)
    elif isinstance(result, list | tuple):
        for item in result:
            print_generic(console, item)
    elif isinstance(result, BaseModel):
        console.print(Text(safe(json.dumps(result.model_dump(mode="json"), ensure_ascii=False))))
    else:
        console.print(Text(safe(str(result))))


def event_line(console: Console, event: Any) -> Text:
    date = getattr(event, "date", None)
    label = getattr(date, "label", None) or (str(date) if date else "undated")
    what = getattr(event, "what_en", None) or getattr(event, "what", None) or getattr(event, "text", None) or str(event)
    line = Text(f"{safe(str(label))}  ", style="bold")
    line.append(safe(str(what)))
    numbers = getattr(event, "citation_numbers", None)
    if numbers:
        line.append(" " + "".join(f"[{n}]" for n in numbers), style="bold cyan")
    arabic = getattr(event, "what_ar", None)
    if arabic:
        line.append(f"\n    «{view.clip(str(arabic), max(console.width - 8, 20))}»")
    return line
