"""The `dalil` command: thin typer commands over ``agent.pipeline.Dalil``.

Each command parses options, calls one pipeline method and renders the result.
Errors users can cause (``DalilError``) become one line on stderr and exit code 1.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any, Optional, cast

import typer

from agent.cli_common import (
    EXIT_ERROR,
    EXIT_PARTIAL,
    EXIT_UNVERIFIED,
    ConfigOpt,
    DateFromOpt,
    DateToOpt,
    JsonOpt,
    OutletOpt,
    ServerOpt,
    StoreOpt,
    TopKOpt,
    check_outlet,
    err,
    filter_args,
    make_filters,
    open_dalil,
    out,
    remote_client,
    remote_filters,
    set_global_options,
    settings_for,
    shown,
    user_errors,
)
from agent.errors import DalilError
from agent.safety import display

if TYPE_CHECKING:
    from agent.retrieval.retrieve import RetrievalMode
    from agent.schema import AnswerMode

app = typer.Typer(
    name="dalil", no_args_is_help=True, add_completion=False, rich_markup_mode=None,
    help="Dalil (دليل): cited answers about news articles, most of them Arabic. Works offline; uses an LLM endpoint when configured.",
)


@app.callback()
def _setup(server: ServerOpt = None) -> None:
    # before any command (and its threads): the process-wide setup; the settings-dependent part follows when
    # a command opens Dalil(settings). See agent/runtime.py.
    from agent import runtime

    runtime.setup()
    set_global_options(server)

@app.command()
def ingest(
    paths: Annotated[Optional[list[str]], typer.Argument(
        help="Files or folders of .txt, .md, .json, .jsonl articles, or web pages (http:// or https:// URLs).", metavar="PATH|URL",
        show_default=False)] = None,
    feeds: Annotated[Optional[list[str]], typer.Option(
        "--feed", help="An RSS or Atom feed URL whose items not taken before are fetched and added (repeatable).", metavar="URL",
        show_default=False)] = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    watch: Annotated[bool, typer.Option(
        "--watch", help="Keep running: ingest the folders given, then each new or changed article file in them as it appears "
        "(one line per batch), until Ctrl-C or SIGTERM.")] = False,
) -> None:
    """Add articles to the store (unchanged files are skipped, changed files replaced); web pages and feed items are
    fetched first (see fetch.* in the settings: private and local addresses are refused unless in fetch.allow_hosts)."""
    from agent import render
    from agent.ingest.fetch import is_url

    if watch:
        with user_errors():
            if feeds or any(is_url(p) for p in paths or []):
                raise DalilError("--watch takes folders, not URLs or --feed (use `dalil daily` for feeds)")
        watch_and_ingest([Path(p) for p in paths or []], store, config, as_json)
        return
    with user_errors():
        if not paths and not feeds:
            raise DalilError("nothing to ingest: give files, folders or URLs, or --feed URL")
        urls = [p for p in paths or [] if is_url(p)]
        files = [Path(p) for p in paths or [] if not is_url(p)]
        dalil = open_dalil(store, config)
        web = None
        if urls or feeds:
            web = dalil.ingest_web(urls, feeds, files)
            report = web.as_dict()
        else:
            with progress_bar(enabled=not as_json) as advance:
                report = dalil.ingest(files, progress=advance).as_dict()
        if as_json:
            out().print(render.to_json(report), markup=False, soft_wrap=True)
        else:
            render.print_ingest(out(), report)
        for error in report["errors"]:
            err().print(f"dalil: failed: {display(error['path'])}: {display(error['reason'])}", markup=False)
        for url, reason in web.failed if web else []:
            err().print(f"dalil: failed: {shown(url)}: {shown(reason)}", markup=False)
    if report["errors"] or (web and web.failed):
        raise typer.Exit(EXIT_PARTIAL)


def watch_and_ingest(folders: list[Path], store: Path | None, config: Path | None, as_json: bool) -> None:
    """`dalil ingest --watch`: one line per batch (a JSON document with --json), each failed file on stderr; Ctrl-C or
    SIGTERM stops it once the batch under way is written (exit 0), a second one at once."""
    import json
    import signal
    import threading

    from agent.ingest.watch import Batch, check_folders, watch_folders

    stop = threading.Event()

    def stop_after_batch(signum: int, frame: Any) -> None:
        if stop.is_set():
            raise KeyboardInterrupt
        stop.set()

    def printed(batch: Batch) -> None:
        report = batch.report.as_dict() if batch.report else None
        if as_json:
            line = {"batch": batch.number, "paths": [str(p) for p in batch.paths], "report": report, "error": batch.error}
            out().print(json.dumps(line, ensure_ascii=False), markup=False, soft_wrap=True)  # one JSON document a line
        elif report is not None:
            what = "folder" if batch.initial else "change"
            out().print(f"watch: batch {batch.number} ({len(batch.paths)} {what}{'s' if len(batch.paths) != 1 else ''}): "
                        f"{report['added']} added, {report['updated']} updated, {report['unchanged']} unchanged, "
                        f"{report['chunks']} chunks, {len(report['errors'])} failed in {report['seconds']:.1f}s", markup=False, soft_wrap=True)
        if batch.error is not None:
            err().print(f"dalil: error: {shown(batch.error)} (tried again with the next batch)", markup=False)
        for error in report["errors"] if report else []:
            err().print(f"dalil: failed: {display(error['path'])}: {display(error['reason'])}", markup=False)

    with user_errors():
        check_folders(folders)
        dalil = open_dalil(store, config)
        settings = dalil.settings.ingest
        previous = {s: signal.signal(s, stop_after_batch) for s in (signal.SIGINT, signal.SIGTERM)}
        try:
            err().print(f"dalil: watching {', '.join(shown(f) for f in folders)}; Ctrl-C stops", markup=False)
            watch_folders(folders, dalil.ingest, printed, stop, settings.watch_debounce_ms, settings.watch_polling)
        finally:
            for number, handler in previous.items():
                signal.signal(number, handler)
    err().print("dalil: watch stopped", markup=False)


@contextmanager
def progress_bar(enabled: bool) -> Iterator[Callable[[int, int, str], None]]:
    from rich.markup import escape
    from rich.progress import BarColumn, MofNCompleteColumn, Progress, TextColumn, TimeElapsedColumn

    if not enabled:
        yield lambda done, total, label: None
        return
    console = err()
    with Progress(TextColumn("ingest"), BarColumn(), MofNCompleteColumn(), TimeElapsedColumn(), TextColumn("{task.description}"),
                  console=console, transient=True, disable=not console.is_terminal) as progress:  # cron logs get no blank line
        task = progress.add_task("", total=None)

        def advance(done: int, total: int, label: str) -> None:
            progress.update(task, completed=done, total=total, description=escape(display(label)))

        yield advance


@app.command()
def search(
    query: Annotated[str, typer.Argument(help="What to look for (Arabic or English).", show_default=False)],
    top_k: TopKOpt = None,
    mode: Annotated[Optional[str], typer.Option("--mode", help="hybrid, dense or bm25.", show_default=False)] = None,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    outlet: OutletOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Show the passages that best match QUERY (hybrid BM25 + dense retrieval)."""
    from agent import render
    from agent.schema import SearchResult
    from agent.serve import server

    with user_errors():
        if mode not in (None, "hybrid", "dense", "bm25"):
            raise DalilError(f"--mode must be hybrid, dense or bm25, not {mode!r}")
        if not query.strip():  # as /v1/search says it (a library caller gets no hits)
            raise DalilError("the query is empty")
        settings = settings_for(store, config)
        remote = remote_client(settings)
        if remote is not None:  # --server: the remote server's SearchResult
            served = remote.call("POST", "/v1/search", {"query": query, "k": top_k, "mode": mode,
                                                        **remote_filters(date_from, date_to, outlet)}, timeout=settings.server.timeout)
        else:
            check_outlet(settings, outlet)
            served = server.request(settings, "search", {"query": query, "top_k": top_k, "mode": mode,
                                                         **filter_args(date_from, date_to, outlet)})
        if served is not None:
            result = SearchResult.model_validate(served)
        else:
            from agent.pipeline import Dalil

            retrieval = cast("RetrievalMode | None", mode)  # checked above
            result = Dalil(settings).search(query, top_k, make_filters(date_from, date_to, outlet), retrieval)
        if as_json:
            out().print(render.to_json(result), markup=False, soft_wrap=True)
        else:
            render.print_search(out(), result)


@app.command()
def ask(
    question: Annotated[str, typer.Argument(help="The question (Arabic or English).", show_default=False)],
    mode: Annotated[
        Optional[str], typer.Option("--mode", help="llm or extractive (default: llm when an endpoint is configured).", show_default=False),
    ] = None,
    lang: Annotated[Optional[str], typer.Option("--lang", help="Answer language: ar or en (default: the question's).", show_default=False)] = None,
    top_k: TopKOpt = None,
    date_from: DateFromOpt = None,
    date_to: DateToOpt = None,
    outlet: OutletOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    strict: Annotated[bool, typer.Option(
        "--strict", help="Exit with code 4 when the answer is degraded or has an unsupported sentence.")] = False,
    explain: Annotated[bool, typer.Option("--explain", help="Also show how the question was understood (what is asked, names, "
                                                             "dates, event).")] = False,
) -> None:
    """Answer QUESTION from the articles, every sentence cited and checked (extractive when offline)."""
    from agent import render
    from agent.schema import Answer
    from agent.serve import server

    with user_errors():
        if mode not in (None, "llm", "extractive"):
            raise DalilError(f"--mode must be llm or extractive, not {mode!r}")
        if lang not in (None, "ar", "en"):
            raise DalilError(f"--lang must be ar or en, not {lang!r}")
        settings = settings_for(store, config)
        console = out()
        remote = remote_client(settings)
        served: dict[str, Any] | None
        if remote is not None:  # --server: the remote server answers, streamed here as in process
            from agent.serve.remote import remote_answer

            streamed = None if as_json else render.StreamPrinter(console)
            body = {"question": question, "mode": mode, "lang": lang, "k": top_k, **remote_filters(date_from, date_to, outlet)}
            served = remote_answer(remote, settings.server.timeout, body, streamed, None if as_json else render.StepPrinter(err()),
                                   stream=not as_json).model_dump(mode="json")
        else:
            check_outlet(settings, outlet)
            streaming = not as_json and (mode or settings.default_answer_mode) == "llm"
            streamed = render.StreamPrinter(console) if streaming else None
            # a running `dalil serve` answers without this process loading anything; the stream is printed here only
            served = None if streaming else server.request(settings, "ask", {
                "question": question, "mode": mode, "lang": lang, "top_k": top_k, **filter_args(date_from, date_to, outlet)})
        if served is not None:
            answer = Answer.model_validate(served)
        else:
            from agent.pipeline import Dalil

            dalil = Dalil(settings)
            filters = make_filters(date_from, date_to, outlet)
            steps = None if as_json else render.StepPrinter(err())
            answer_mode = cast("AnswerMode | None", mode)  # checked above
            answer = dalil.ask(question, filters, top_k, mode=answer_mode, lang=lang, on_text=streamed, on_step=steps)
        if as_json:
            console.print(render.to_json(answer), markup=False, soft_wrap=True)
        elif streamed is not None and streamed.started:
            streamed.finish()
            render.print_verification(console, answer)
            if explain:
                render.print_frame(console, answer.frame)
        else:
            if explain:
                render.print_frame(console, answer.frame)
            render.print_answer(console, answer)
    if strict and (unverified := unverified_reason(answer)):
        err().print(f"dalil: not verified (--strict): {unverified}", markup=False)
        raise typer.Exit(EXIT_UNVERIFIED)


def unverified_reason(answer: Any) -> str | None:
    """Why ``dalil ask --strict`` rejects an answer: degraded, or sentences its citations do not support."""
    unsupported = sum(not s.supported for s in answer.sentences)
    if unsupported:
        return f"{unsupported} of {len(answer.sentences)} sentence(s) not supported by their citations"
    if answer.degraded:
        return "degraded answer" + (f": {shown(answer.warnings[0])}" if answer.warnings else "")
    return None


@app.command()
def serve(
    store: StoreOpt = None,
    config: ConfigOpt = None,
    http: Annotated[bool, typer.Option(
        "--http", help="Serve HTTP instead: Dalil's JSON API and an OpenAI-compatible chat endpoint (see the README).")] = False,
    host: Annotated[Optional[str], typer.Option(
        "--host", help="--http: the address to listen on (default: serve.host, 127.0.0.1); any other than loopback needs "
        "serve.tokens.", show_default=False)] = None,
    port: Annotated[Optional[int], typer.Option(
        "--port", min=0, max=65535, help="--http: the TCP port (default: serve.port, 8000; 0: any free port).", show_default=False)] = None,
) -> None:
    """Keep the store open and answer `dalil ask` / `dalil search` for it until Ctrl-C (they start in a fraction of the time):
    the HTTP server of --http on a private Unix socket. With --http, answer HTTP clients on a TCP port instead."""
    from agent.serve import server

    if http:
        serve_http(store, config, host, port)
        return

    def ready(info: dict[str, Any]) -> None:
        state = f"{info['documents']} articles, {info['chunks']} chunks" if info.get("status") == "ready" else \
            f"not ready: {shown(info.get('reason'))}"
        err().print(f"dalil serve: pid {info['pid']}, store {shown(info['store'])} ({state}); dalil ask / search with the same "
                    "settings now use it. Ctrl-C stops it.", markup=False)

    with user_errors():
        if host is not None or port is not None:
            raise DalilError("--host and --port go with --http")
        server.serve(settings_for(store, config), on_ready=ready)
    err().print("dalil serve: stopped", markup=False)


def serve_http(store: Path | None, config: Path | None, host: str | None, port: int | None) -> None:
    """`dalil serve --http`: one line on stderr once it listens (its URL), nothing per request."""
    from agent.serve import http as http_server

    def ready(info: dict[str, Any]) -> None:
        if info.get("status") == "ready":
            state = f"{info['documents']} articles, {info['chunks']} chunks, {info['mode']} answers"
        else:
            state = f"not ready: {shown(info.get('reason'))}"
        tokens = "API token required" if info["tokens"] else "no API token (loopback only)"
        err().print(f"dalil serve --http: listening on {info['url']} (store {shown(info['store'])}: {state}; {tokens}); "
                    f"API docs at {info['url']}/docs. Ctrl-C stops it.", markup=False)

    with user_errors():
        http_server.run(settings_for(store, config, serve__host=host, serve__port=port), on_ready=ready)
    err().print("dalil serve --http: stopped", markup=False)


@app.command()
def mcp(store: StoreOpt = None, config: ConfigOpt = None) -> None:
    """Answer an MCP client (Claude Desktop, an IDE, an agent) over stdin/stdout until it disconnects: the tools search, ask,
    timeline and read_article, with the JSON of --json (see the README). `dalil serve --http` serves them at /mcp."""
    from agent.serve import http as http_server
    from agent.serve import mcp as mcp_server

    with user_errors():
        settings = settings_for(store, config)
        mcp_server.run_stdio(settings, http_server.Worker(settings))


@app.command("config")
def show_config(store: StoreOpt = None, config: ConfigOpt = None, as_json: JsonOpt = False) -> None:
    """Print the effective settings (defaults < config file < DALIL_* env < flags), secrets masked."""
    from agent import render
    from agent.config import find_config_file

    with user_errors():
        dalil = open_dalil(store, config)
        data = dalil.settings.public_dict()
        data["collection_name"] = dalil.settings.collection_name()
        if as_json:
            out().print(render.to_json(data), markup=False, soft_wrap=True)
        else:
            source = find_config_file(config)
            render.print_settings(out(), data, str(source) if source else None)


@app.command()
def doctor(
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
    repair: Annotated[bool, typer.Option(
        "--repair", help="First rebuild the vector index from the registry (the articles' text is kept there).")] = False,
) -> None:
    """Check the configuration, the store, the LLM endpoint and the tiktoken cache; say how to fix failures."""
    from agent import render
    from agent.doctor import run_checks

    with user_errors():
        dalil = open_dalil(store, config)
        if repair:
            rebuilt = dalil.rebuild_vectors()
            kept = f"; the old index was moved to {rebuilt.set_aside} (delete it when satisfied)" if rebuilt.set_aside else ""
            err().print(f"repair: {rebuilt.vectors} vectors rebuilt from the registry in {rebuilt.seconds:.1f}s{kept}", markup=False)
            dalil.store.close()
        checks = run_checks(dalil.settings)
        if as_json:
            out().print(render.to_json([c.as_dict() for c in checks]), markup=False, soft_wrap=True)
        else:
            render.print_checks(out(), checks)
    if not all(c.ok for c in checks):
        raise typer.Exit(EXIT_ERROR)


def _mount_subcommands() -> None:
    from agent.articles.cli import register as register_articles
    from agent.chat.cli import register as register_chat
    from agent.evals.cli import eval_app
    from agent.sequence.cli import register as register_sequence

    app.add_typer(eval_app, name="eval")
    register_sequence(app)
    register_chat(app)
    register_articles(app)


_mount_subcommands()


def main() -> None:
    app()

