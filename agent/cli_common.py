"""What every `dalil` command shares: option types, consoles, exit codes, the error edge, opening ``Dalil``.

The main app (``agent.cli``) and the sub-apps (``agent.chat.cli``, ``agent.evals.cli``,
``agent.sequence.cli``) import it; it imports none of them.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional

import typer
from rich.console import Console

from agent.errors import DalilError
from agent.safety import display, mask_urls_in

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.pipeline import Dalil
    from agent.retrieval.retrieve import SearchFilters
    from agent.serve.client import Client

EXIT_ERROR = 1
EXIT_PARTIAL = 3
EXIT_UNVERIFIED = 4  # dalil ask --strict: the answer is degraded or has unsupported sentences

StoreOpt = Annotated[Optional[Path], typer.Option("--store", envvar="DALIL_STORE", help="Store folder (default: ./store).", show_default=False)]
ConfigOpt = Annotated[Optional[Path], typer.Option("--config", envvar="DALIL_CONFIG", help="TOML config file.", show_default=False)]
JsonOpt = Annotated[bool, typer.Option("--json", help="Print one JSON document instead of text.")]
TopKOpt = Annotated[Optional[int], typer.Option("-k", "--top-k", min=1, max=200, help="Passages to retrieve.", show_default=False)]
DateFromOpt = Annotated[
    Optional[dt.datetime],
    typer.Option("--from", formats=["%Y-%m-%d"], help="Only articles published on or after this day.", show_default=False),
]
DateToOpt = Annotated[
    Optional[dt.datetime],
    typer.Option("--to", formats=["%Y-%m-%d"], help="Only articles published on or before this day.", show_default=False),
]
OutletOpt = Annotated[Optional[str], typer.Option("--outlet", help="Only articles from this outlet.", show_default=False)]
ServerOpt = Annotated[Optional[str], typer.Option(
    "--server", help="A Dalil HTTP server (dalil serve --http) that ask, search, timeline, summarize, brief, chat and articles talk to "
    "instead of opening a store: http(s)://host:port (default: server.url, DALIL_SERVER; its token: DALIL_SERVER_TOKEN).",
    show_default=False)]

_global: dict[str, Any] = {}  # the main app's options (--server), set by its callback before any command


def out() -> Console:
    return Console(soft_wrap=False, highlight=False)


def err() -> Console:
    return Console(stderr=True, highlight=False, soft_wrap=True)  # one message, one line, whatever the width


def shown(message: object) -> str:
    """A message for the terminal: credentials in URLs masked, control and bidi characters escaped (one line)."""
    return display(mask_urls_in(str(message)))


@contextmanager
def user_errors() -> Iterator[None]:
    """Turn DalilError (and Ctrl-C) into one line and an exit code, never a traceback."""
    try:
        yield
    except DalilError as exc:
        err().print(f"dalil: error: {shown(exc)}", markup=False)
        raise typer.Exit(EXIT_ERROR) from None
    except KeyboardInterrupt:
        err().print("dalil: interrupted", markup=False)
        raise typer.Exit(130) from None


def settings_for(store: Path | None, config: Path | None, **overrides: Any) -> Settings:
    """The effective settings: config file < DALIL_* < these flags (``section__name=value``)."""
    from agent.config import load_settings

    layer: dict[str, Any] = {}
    if store is not None:
        layer["store"] = {"path": store}
    if _global.get("server") is not None:
        layer["server"] = {"url": _global["server"]}
    for key, value in overrides.items():
        if value is not None:
            section, name = key.split("__")
            layer.setdefault(section, {})[name] = value
    return load_settings(config, layer)


def open_dalil(store: Path | None, config: Path | None, **overrides: Any) -> Dalil:
    from agent.pipeline import Dalil

    return Dalil(settings_for(store, config, **overrides))


def filter_args(date_from: dt.datetime | None, date_to: dt.datetime | None, outlet: str | None) -> dict[str, str | None]:
    """The --from / --to / --outlet options as text, the form ``SearchFilters.parse`` takes; --from after --to is an error."""
    if date_from and date_to and date_from > date_to:
        raise DalilError("--from is after --to")
    return {"date_from": date_from.date().isoformat() if date_from else None,
            "date_to": date_to.date().isoformat() if date_to else None, "outlet": outlet}


def known_outlets(settings: Settings) -> set[str] | None:
    """The outlets of the store's articles, read from its registry without writing to it (None: no registry yet)."""
    import sqlite3
    from contextlib import closing

    registry = Path(settings.store.path) / f"{settings.collection_name()}.sqlite"
    if not registry.is_file():
        return None
    try:
        with closing(sqlite3.connect(f"{registry.resolve().as_uri()}?mode=ro", uri=True, timeout=30)) as db:
            return {row[0] for row in db.execute("SELECT DISTINCT outlet FROM documents WHERE outlet IS NOT NULL")}
    except sqlite3.Error:
        return None  # the search itself reports a broken store


def check_outlet(settings: Settings, outlet: str | None) -> None:
    """--outlet must name an outlet of the store, as chat's /filter requires: else one line listing the known ones."""
    # with a Chroma server the local registry is a cache that may be behind: the outlet may be in articles it has yet to fetch
    known = known_outlets(settings) if outlet and not settings.store.url else None
    if known is not None and outlet not in known:
        raise DalilError(f"no articles from outlet {outlet!r} (known outlets: {', '.join(sorted(known)) or 'none'})")


def make_filters(date_from: dt.datetime | None, date_to: dt.datetime | None, outlet: str | None) -> SearchFilters:
    from agent.retrieval.retrieve import SearchFilters

    return SearchFilters.parse(**filter_args(date_from, date_to, outlet))


def set_global_options(server: str | None) -> None:
    _global["server"] = server


def remote_client(settings: Settings) -> Client | None:
    """The client of ``server.url`` (``--server``, DALIL_SERVER) with its token, or None when no remote server is set."""
    if not settings.server.url:
        return None
    from agent.serve.client import Client

    token = settings.server.token.get_secret_value() if settings.server.token else None
    return Client.for_url(settings.server.url, token)


def remote_filters(date_from: dt.datetime | None, date_to: dt.datetime | None, outlet: str | None) -> dict[str, str | None]:
    """The --from / --to / --outlet options as the server's JSON fields."""
    args = filter_args(date_from, date_to, outlet)
    return {"from": args["date_from"], "to": args["date_to"], "outlet": outlet}
