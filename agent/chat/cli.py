"""`dalil chat` (registered on the main app by ``agent.cli``).

Annotations are evaluated when ``register`` runs (no ``from __future__ import
annotations``) because the shared option types are imported inside it, from ``agent.cli_common``.
"""

from pathlib import Path
from typing import Annotated, Any, Optional

import typer


def conversations_dir(dalil: Any) -> Path:
    """Where conversations live: beside the store, so ``--store`` keeps them apart (with ``--server``: per server)."""
    return getattr(dalil, "conversations_dir", None) or Path(dalil.settings.store.path) / "conversations"


def register(app: typer.Typer) -> None:
    """Add the chat command to ``app``."""
    from agent.cli_common import ConfigOpt, DateFromOpt, DateToOpt, JsonOpt, OutletOpt, StoreOpt, TopKOpt

    @app.command("chat")
    def chat(
        resume: Annotated[Optional[str], typer.Option(
            "--resume", help="Continue a saved conversation: its ID, a unique prefix of it, or `last`.", show_default=False)] = None,
        list_: Annotated[bool, typer.Option("--list", help="List the saved conversations and exit.")] = False,
        mode: Annotated[Optional[str], typer.Option(
            "--mode", help="llm or extractive (default: llm when an endpoint is configured).", show_default=False)] = None,
        lang: Annotated[Optional[str], typer.Option(
            "--lang", help="Answer language: ar or en (default: each question's).", show_default=False)] = None,
        bidi: Annotated[bool, typer.Option(
            "--bidi", help="Reorder Arabic lines for display, for terminals without right-to-left support.")] = False,
        show_rewrites: Annotated[bool, typer.Option(
            "--show-rewrites", help="Print the standalone question each follow-up was rewritten into.")] = False,
        top_k: TopKOpt = None,
        date_from: DateFromOpt = None,
        date_to: DateToOpt = None,
        outlet: OutletOpt = None,
        store: StoreOpt = None,
        config: ConfigOpt = None,
        as_json: JsonOpt = False,
    ) -> None:
        """Talk with the articles: a prompt with history, streamed cited answers, follow-up questions
        and /commands (/help lists them). Conversations are saved beside the store."""
        from agent.chat.conversation import ConversationStore
        from agent.chat.repl import run_repl
        from agent.chat.session import ChatSession
        from agent.chat.view import make_console
        from agent.cli_common import check_outlet, make_filters, out, remote_client, settings_for, user_errors
        from agent.errors import DalilError

        with user_errors():
            if mode not in (None, "llm", "extractive"):
                raise DalilError(f"--mode must be llm or extractive, not {mode!r}")
            if lang not in (None, "ar", "en"):
                raise DalilError(f"--lang must be ar or en, not {lang!r}")
            settings = settings_for(store, config)
            remote = remote_client(settings)
            if remote is not None:  # --server: questions, articles and the timeline come from the server (it checks --outlet)
                from agent.serve.remote import RemoteDalil

                dalil: Any = RemoteDalil(settings, remote)
            else:
                from agent.pipeline import Dalil

                dalil = Dalil(settings)
                check_outlet(settings, outlet)  # like /filter outlet=: a name the store does not know is an error
            conversations = ConversationStore(conversations_dir(dalil))
            if list_:
                print_list(conversations, as_json, out())
                return
            console = make_console(bidi)
            filters = make_filters(date_from, date_to, outlet)
            options: dict[str, Any] = {"mode": mode, "lang": lang, "filters": filters or None, "k": top_k, "bidi": bidi,
                                       "show_rewrites": show_rewrites}
            if resume:
                session = ChatSession.resume(dalil, conversations, console, conversations.load(resume), **options)
            else:
                session = ChatSession(dalil, conversations, console, **options)
            session.current_mode()  # --mode llm without an endpoint: say what to set, before the prompt
            run_repl(session, conversations.history_path)


def print_list(conversations: Any, as_json: bool, console: Any) -> None:
    from rich.table import Table
    from rich.text import Text

    from agent.chat.view import clip
    from agent.render import to_json

    found, broken = conversations.list()
    rows = [{"id": c.id, "created": c.created, "updated": c.updated, "turns": len(c.turns), "first_question": c.title} for c in found]
    if as_json:
        console.print(to_json({"folder": str(conversations.folder), "conversations": rows}), markup=False, soft_wrap=True)
        return
    if not rows:
        console.print(Text(f"no saved conversations in {conversations.folder}", style="dim"))
    else:
        table = Table(box=None, show_edge=False, pad_edge=False)
        for column in ("id", "updated", "turns", "first question"):
            table.add_column(column, no_wrap=column != "first question")
        for row in rows:
            table.add_row(row["id"], row["updated"][:16].replace("T", " "), str(row["turns"]), clip(row["first_question"], 70))
        console.print(table)
        console.print(Text("resume one with: dalil chat --resume ID", style="dim"))
    for path in broken:
        console.print(Text(f"skipped unreadable {path.name}", style="yellow"))
