"""`dalil timeline`, `dalil summarize`, `dalil brief`, `dalil daily` (registered on the main app).

Thin commands: parse options, call one function of ``agent.sequence``, render.
"""

from __future__ import annotations

import datetime as dt
import sys
from collections import Counter
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Optional

import typer

from agent.cli_common import ConfigOpt, JsonOpt, StoreOpt, err, out, remote_client, settings_for, shown, user_errors
from agent.errors import DalilError

if TYPE_CHECKING:
    from agent.ingest.web_run import WebReport
    from agent.sequence.brief import Brief
    from agent.sequence.summary import Summary
    from agent.serve.client import Client

EventFromOpt = Annotated[
    Optional[dt.datetime],
    typer.Option("--from", formats=["%Y-%m-%d"], help="Only events on or after this day.", show_default=False),
]
EventToOpt = Annotated[
    Optional[dt.datetime],
    typer.Option("--to", formats=["%Y-%m-%d"], help="Only events on or before this day.", show_default=False),
]
ModeOpt = Annotated[
    Optional[str],
    typer.Option("--mode", help="llm or extractive (default: llm when an endpoint is configured).", show_default=False),
]


def _range(date_from: dt.datetime | None, date_to: dt.datetime | None) -> tuple[dt.date | None, dt.date | None]:
    if date_from and date_to and date_from > date_to:
        raise DalilError("--from is after --to")
    return (date_from.date() if date_from else None), (date_to.date() if date_to else None)


def timeline(
    date_from: EventFromOpt = None,
    date_to: EventToOpt = None,
    mode: ModeOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The diplomatic sequence as dated events (calls, agreements, ceasefires, suspensions, statements), each cited,
    with how its date was worked out and where the sources disagree."""
    from agent import render
    from agent.sequence.timeline import print_timeline, timeline_for

    with user_errors():
        start, end = _range(date_from, date_to)
        settings = settings_for(store, config)
        remote = remote_client(settings)
        if remote is not None:  # --server: the remote server's timeline
            from agent.serve.remote import remote_timeline

            result = remote_timeline(remote, settings.server.timeout, mode, start, end)
        else:
            from agent.pipeline import Dalil

            result = timeline_for(Dalil(settings), mode, start, end)
        if as_json:
            out().print(render.to_json(result), markup=False, soft_wrap=True)
        else:
            print_timeline(out(), result)


def summarize(
    date_from: EventFromOpt = None,
    date_to: EventToOpt = None,
    out_file: Annotated[
        Optional[Path], typer.Option("--out", help="Write the summary to this file (.md, .html, or .json for the JSON document).",
                                     show_default=False),
    ] = None,
    fmt: Annotated[Optional[str], typer.Option(
        "--format", help="md or html: the document to write to --out, or to print without it (default: --out's suffix; "
        "without --out, the terminal view).", show_default=False)] = None,
    mode: ModeOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """A bilingual summary of the sequence: an Arabic and an English section covering the same events in the
    same order, every sentence cited with the same [n] markers in both and checked against its passages.
    --format html: one self-contained page, as the daily briefing's."""
    from agent import render
    from agent.sequence.brief import write_atomic
    from agent.sequence.summary import Summary, print_summary, summary_for

    with user_errors():
        if fmt not in (None, "md", "html"):
            raise DalilError(f"--format must be md or html, not {fmt!r}")
        if fmt is not None and as_json and out_file is None:
            raise DalilError("--format goes with --out when --json prints the JSON document")
        start, end = _range(date_from, date_to)
        settings = settings_for(store, config)
        remote = remote_client(settings)
        if remote is not None:  # --server: the remote server's summary, written and printed here
            body = {"from": start and start.isoformat(), "to": end and end.isoformat(), "mode": mode}
            result = Summary.model_validate(remote.call("POST", "/v1/summarize", body, timeout=settings.server.timeout))
        else:
            from agent.pipeline import Dalil

            result = summary_for(Dalil(settings), mode, start, end)
        kind = fmt or (out_file.suffix.lstrip(".").lower() if out_file is not None else None)
        if out_file is not None:
            write_atomic(out_file, render.to_json(result) + "\n" if kind == "json" and fmt is None else _summary_document(result, kind))
            err().print(f"dalil: wrote {out_file}", markup=False)
        if as_json:
            out().print(render.to_json(result), markup=False, soft_wrap=True)
        elif out_file is None and fmt is not None:
            sys.stdout.write(_summary_document(result, fmt))  # the document's bytes as written to a file, not a rendering
        elif out_file is None:
            print_summary(out(), result)


def _summary_document(summary: Summary, kind: str | None) -> str:
    """The summary as a page (html) or as Markdown (md, and any other suffix)."""
    from agent.sequence.summary import summary_markdown

    if kind == "html":
        from agent.sequence.html import summary_html

        return summary_html(summary)
    return summary_markdown(summary)


def brief(
    date: Annotated[dt.datetime, typer.Option("--date", formats=["%Y-%m-%d"], help="The day of the briefing.", show_default=False)],
    since: Annotated[
        Optional[str],
        typer.Option("--since", help="Cover articles published after this day (YYYY-MM-DD), or after the last briefing in --out "
                     "('last'), instead of that day only.", show_default=False),
    ] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for brief-DATE.md / brief-DATE.html.")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="md, html or both.")] = "both",
    mode: ModeOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """Write the daily briefing for --date: what that day's articles report, the events of the day, what changed,
    with citations; Markdown and a self-contained HTML page. For cron, exit codes: 0 written; 3 written, but LLM mode
    fell back to the offline rules for part of it; 4 nothing published in the window (nothing written); 1 error; 2 usage."""
    from agent import render
    from agent.sequence import brief as briefing

    with user_errors():
        formats = {"md": ["md"], "html": ["html"], "both": ["md", "html"]}.get(fmt)
        if formats is None:
            raise DalilError(f"--format must be md, html or both, not {fmt!r}")
        day = date.date()
        start = _since(since, out_dir, day)
        settings = settings_for(store, config)
        remote = remote_client(settings)
        if remote is not None:  # --server: the remote server's briefing, written here
            result = _remote_brief(remote, settings.server.timeout, day, start, mode)
        else:
            from agent.pipeline import Dalil

            result = briefing.build_brief(Dalil(settings), day, start, mode)
        if result is None:
            window = f"after {start} up to {day}" if start else f"on {day}"
            err().print(f"dalil: nothing was published {window}; no briefing written", markup=False)
            raise typer.Exit(briefing.EXIT_NOTHING)
        paths = _write_brief(result, out_dir, formats)
        if as_json:
            out().print(render.to_json(result), markup=False, soft_wrap=True)
        else:
            for path in paths:
                out().print(str(path), markup=False)
        for warning in result.warnings:
            err().print(f"dalil: note: {warning}", markup=False)
    if result.degraded:
        raise typer.Exit(briefing.EXIT_DEGRADED)


def daily(
    feeds_file: Annotated[Path, typer.Option("--feeds", help="A file of RSS/Atom feed URLs, one a line (# starts a comment).",
                                             show_default=False)],
    date: Annotated[Optional[dt.datetime], typer.Option(
        "--date", formats=["%Y-%m-%d"], help="The day of the briefing (default: today).", show_default=False)] = None,
    out_dir: Annotated[Path, typer.Option("--out", help="Folder for brief-DATE.md / brief-DATE.html.")] = Path("."),
    fmt: Annotated[str, typer.Option("--format", help="md, html or both.")] = "both",
    mode: ModeOpt = None,
    store: StoreOpt = None,
    config: ConfigOpt = None,
    as_json: JsonOpt = False,
) -> None:
    """The daily run, for cron or a systemd timer: ingest the new items of every feed in --feeds, then write the day's
    briefing into --out. One log line per feed and per stage on stderr, no prompt, safe to run again (a second run adds
    nothing and writes the same briefing). Exit codes: 0 all done; 3 briefing written, but a feed or page failed (or LLM
    mode fell back offline); 4 nothing published on --date (no briefing); 1 nothing could be done; 2 usage. See
    docs/DAILY.md."""
    from agent import render
    from agent.ingest.feeds import read_feed_list
    from agent.sequence import brief as briefing

    log = err()
    with user_errors():
        formats = {"md": ["md"], "html": ["html"], "both": ["md", "html"]}.get(fmt)
        if formats is None:
            raise DalilError(f"--format must be md, html or both, not {fmt!r}")
        day = (date or dt.datetime.now()).date()
        feeds = read_feed_list(feeds_file)
        from agent.pipeline import Dalil

        dalil = Dalil(settings_for(store, config))
        web = dalil.ingest_web([], feeds)
        for line in _feed_lines(web):
            log.print(f"dalil daily: {line}", markup=False)
        stored = web.ingest
        log.print(f"dalil daily: ingest: {len(stored.added)} added, {len(stored.updated)} updated, {len(stored.unchanged)} unchanged, "
                  f"{len(stored.duplicates)} duplicates, {len(web.failed)} failed", markup=False)
        result = briefing.build_brief(dalil, day, None, mode)
        paths = _write_brief(result, out_dir, formats) if result is not None else []
        if result is None:
            log.print(f"dalil daily: brief: nothing was published on {day}; no briefing written", markup=False)
        else:
            log.print(f"dalil daily: brief: wrote {', '.join(str(p) for p in paths)}", markup=False)
            for warning in result.warnings:
                log.print(f"dalil daily: note: {warning}", markup=False)
        if as_json:
            document = {"date": day.isoformat(), **web.as_dict(), "brief": [str(p) for p in paths]}
            out().print(render.to_json(document), markup=False, soft_wrap=True)
    if result is None:
        all_failed = all(f.error for f in web.feeds)
        raise typer.Exit(briefing.EXIT_ERROR if all_failed else briefing.EXIT_NOTHING)
    if web.failed or result.degraded:
        raise typer.Exit(briefing.EXIT_DEGRADED)


def _feed_lines(web: WebReport) -> list[str]:
    """One line per feed: its items, how many were new, and what became of them; then one per failed page."""
    lines = []
    for feed in web.feeds:
        if feed.error:
            lines.append(f"feed {shown(feed.url)}: failed: {shown(feed.error)}")
            continue
        counts = Counter(item.status for item in web.items if item.feed == feed.url)
        done = ", ".join(f"{counts[s]} {s}" for s in ("added", "updated", "unchanged", "duplicate", "failed") if counts[s])
        lines.append(f"feed {shown(feed.url)}: {feed.items} items, {feed.new} new" + (f" ({done})" if done else ""))
    lines += [f"failed: {shown(item.url)}: {shown(item.reason or 'failed')}" for item in web.items if item.status == "failed"]
    return lines


def _remote_brief(remote: Client, timeout: float, day: dt.date, since: dt.date | None, mode: str | None) -> Brief | None:
    """The remote server's briefing (None: nothing was published in the window)."""
    from agent.sequence.brief import Brief
    from agent.serve.client import RemoteError

    body = {"date": day.isoformat(), "since": since and since.isoformat(), "mode": mode}
    try:
        return Brief.model_validate(remote.call("POST", "/v1/brief", {k: v for k, v in body.items() if v}, timeout=timeout))
    except RemoteError as exc:
        if exc.code == "nothing_published":
            return None
        raise


def _write_brief(brief: Brief, out_dir: Path, formats: list[str]) -> list[Path]:
    """``brief-D.md`` / ``brief-D.html``, each written atomically."""
    from agent.sequence.brief import brief_markdown, write_atomic
    from agent.sequence.html import brief_html

    written = []
    for fmt in formats:
        path = out_dir / f"brief-{brief.date}.{fmt}"
        write_atomic(path, brief_markdown(brief) if fmt == "md" else brief_html(brief))
        written.append(path)
    return written


def _since(value: str | None, out_dir: Path, day: dt.date) -> dt.date | None:
    from agent.sequence.brief import previous_brief

    if value is None:
        return None
    if value == "last":
        return previous_brief(out_dir, day)
    try:
        return dt.date.fromisoformat(value)
    except ValueError:
        raise DalilError(f"--since must be a day (YYYY-MM-DD) or 'last', not {value!r}") from None


def register(app: typer.Typer) -> None:
    """Add the sequence commands to ``app``."""
    app.command("timeline")(timeline)
    app.command("summarize")(summarize)
    app.command("brief")(brief)
    app.command("daily")(daily)
