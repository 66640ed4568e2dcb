"""`dalil articles list / show / rm`: the store's articles, one, or their removal (registered on the main app).

Thin commands over ``Dalil.articles`` / ``Dalil.article`` / ``Dalil.remove``; with ``--server`` the same
documents come from the server's ``/v1/articles`` routes (a removal needs its ``serve.ingest``).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated, Any
from urllib.parse import quote

import typer

from agent.cli_common import (
    ConfigOpt,
    DateFromOpt,
    DateToOpt,
    JsonOpt,
    OutletOpt,
    StoreOpt,
    check_outlet,
    filter_args,
    make_filters,
    out,
    remote_client,
    remote_filters,
    settings_for,
    shown,
    user_errors,
)
from agent.errors import DalilError

if TYPE_CHECKING:
    from agent.config import Settings
    from agent.schema import ArticleDetail, RemovedArticles, StoredArticle
    from agent.serve.client import Client

articles_app = typer.Typer(name="articles", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
                           help="The store's articles: list them, show one with its chunks and events, remove some.")

IdsArg = Annotated[list[str], typer.Argument(help="Article ids (the id column of `dalil articles list`), or their files.",
                                             show_default=False)]


@articles_app.command("list")
def list_articles(
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    outlet: OutletOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The store's articles by publication date: id, day, outlet, title (or first words), chunks and events."""
    from agent import render
    from agent.schema import ArticleList

    with user_errors():
        filter_args(date_from, date_to, outlet)  # --from after --to
        settings = settings_for(store, config)
        remote = remote_client(settings)
        if remote is not None:
            found = _remote_list(remote, settings.server.timeout, remote_filters(date_from, date_to, outlet))
        else:
            from agent.pipeline import Dalil

            check_outlet(settings, outlet)
            found = Dalil(settings).articles(make_filters(date_from, date_to, outlet))
        if as_json:
            out().print(render.to_json(ArticleList(total=len(found), articles=found)), markup=False, soft_wrap=True)
        else:
            render.print_articles(out(), found)


@articles_app.command("show")
def show_article(
    doc_id: Annotated[str, typer.Argument(help="The article's id (or its file).", show_default=False)],
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """One article: its metadata, its original text, its chunks with their offsets, the events it reports with their
    resolved dates."""
    from agent import render

    with user_errors():
        settings = settings_for(store, config)
        article = _article(settings, doc_id)
        if article is None:
            raise DalilError(f"no article {doc_id!r} in the store (`dalil articles list` shows their ids)")
        if as_json:
            out().print(render.to_json(article), markup=False, soft_wrap=True)
        else:
            render.print_article(out(), article)


@articles_app.command("rm")
def remove_articles(ids: IdsArg, store: StoreOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Remove articles with their chunks, vectors, search-index entries and events; nothing else changes. An unknown
    id is an error and then nothing is removed."""
    from agent import render

    with user_errors():
        settings = settings_for(store, config)
        wanted = list(dict.fromkeys(ids))
        remote = remote_client(settings)
        removed = _remote_remove(remote, settings.server.timeout, wanted) if remote is not None else _remove(settings, wanted)
        if as_json:
            out().print(render.to_json(removed), markup=False, soft_wrap=True)
        else:
            out().print(f"removed {len(removed.removed)} article(s): {', '.join(shown(f) for f in removed.files)}", markup=False)


def _remove(settings: Settings, names: list[str]) -> RemovedArticles:
    from agent.pipeline import Dalil
    from agent.schema import RemovedArticles

    removed = Dalil(settings).remove_articles(names)  # all or nothing: an unknown name raises before anything is removed
    return RemovedArticles(removed=[d.doc_id for d in removed], files=[d.file for d in removed])


def _article(settings: Settings, doc_id: str) -> ArticleDetail | None:
    remote = remote_client(settings)
    if remote is None:
        from agent.pipeline import Dalil

        return Dalil(settings).article(doc_id)
    from agent.schema import ArticleDetail
    from agent.serve.client import RemoteError

    try:
        return ArticleDetail.model_validate(remote.call("GET", f"/v1/articles/{quote(doc_id, safe='')}", timeout=settings.server.timeout))
    except RemoteError as exc:
        if exc.status == 404:
            return None
        raise


def _remote_list(remote: Client, timeout: float, filters: dict[str, Any]) -> list[StoredArticle]:
    from agent.schema import StoredArticle

    query = {k: v for k, v in filters.items() if v}
    found: list[StoredArticle] = []
    while True:  # the server pages by 1000 at most
        page = remote.call("GET", "/v1/articles", query={**query, "offset": len(found), "limit": 1000}, timeout=timeout)
        found += [StoredArticle.model_validate(a) for a in page["articles"]]
        if not page["articles"] or len(found) >= page["total"]:
            return found


def _remote_remove(remote: Client, timeout: float, ids: list[str]) -> RemovedArticles:
    """Each id checked first, then removed one request at a time (the server removes by id only)."""
    from agent.schema import RemovedArticles
    from agent.serve.client import RemoteError

    missing = []
    for doc_id in ids:
        try:
            remote.call("GET", f"/v1/articles/{quote(doc_id, safe='')}", timeout=timeout)
        except RemoteError as exc:
            if exc.status != 404:
                raise
            missing.append(doc_id)
    if missing:
        raise DalilError(f"not in the store: {', '.join(missing)} (nothing was removed)")
    done = RemovedArticles(removed=[], files=[])
    for doc_id in ids:
        reply = RemovedArticles.model_validate(remote.call("DELETE", f"/v1/articles/{quote(doc_id, safe='')}", timeout=timeout))
        done.removed += reply.removed
        done.files += reply.files
    return done


def register(app: typer.Typer) -> None:
    """Add ``dalil articles`` to ``app``."""
    app.add_typer(articles_app, name="articles")
