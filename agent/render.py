"""Render: results → terminal (rich) or JSON text.

Takes the typed results (``SearchResult``, ``Answer``, ``IngestReport``, settings dicts);
prints them. Article text is untrusted: control and escape characters are removed and
it is never parsed as rich markup.
"""

from __future__ import annotations

import json
import re
from typing import Any

from pydantic import BaseModel
from rich.console import Console
from rich.table import Table
from rich.text import Text

from agent.safety import display, mask_url
from agent.schema import Answer, ArticleDetail, Carrier, SearchResult, Step, StoredArticle

_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")
MODE_LINES = {
    "extractive": "mode: extractive (no LLM): sentences quoted verbatim from the articles",
    "llm": "mode: llm: written by the model, every citation checked against its passage",
}


def safe(text: str | None) -> str:
    """Article text made safe for a terminal: no ANSI/control/bidi-override characters."""
    return _CONTROL.sub("", text or "")


def to_json(data: BaseModel | dict[str, Any] | list[Any]) -> str:
    if isinstance(data, BaseModel):
        data = data.model_dump(mode="json")
    return json.dumps(data, ensure_ascii=False, indent=2)


def source_label(published: str | None, outlet: str | None, file: str) -> str:
    """Outlet, date and file name: metadata from the articles, so sanitized like their text."""
    return safe(f"{outlet or 'unknown outlet'} · {published or 'undated'} · {file}")


def carried_line(carriers: list[Carrier]) -> str | None:
    """"also carried by: OUTLET (date), …": the other articles of a passage's wire story."""
    if not carriers:
        return None
    return "also carried by: " + ", ".join(safe(f"{c.outlet or c.file} ({c.published or 'undated'})") for c in carriers)


def print_frame(console: Console, frame: dict[str, Any] | None) -> None:
    """``dalil ask --explain``: how the question was understood, one decision a line."""
    from agent.retrieval.question import QuestionFrame

    if frame:
        console.print(Text("question understood as:", style="dim"))
        for line in QuestionFrame.model_validate(frame).explain():
            console.print(Text(f"  {safe(line)}", style="dim"))
        console.print()


def print_search(console: Console, result: SearchResult) -> None:
    if not result.hits:
        console.print(Text(f"No passages found for: {safe(result.query)}", style="yellow"))
    for hit in result.hits:
        header = Text(f"{hit.rank}. ", style="bold")
        header.append(source_label(hit.published, hit.outlet, hit.file), style="cyan")
        header.append(f"  score {hit.score:.4f}", style="dim")
        console.print(header)
        carried = carried_line(hit.also_carried_by)
        if carried:
            console.print(Text(carried, style="dim"))
        console.print(Text(safe(hit.text)))
        console.print()
    for warning in result.warnings:
        console.print(Text(f"note: {warning}", style="yellow"))


def print_answer(console: Console, answer: Answer) -> None:
    console.print(Text(MODE_LINES.get(answer.mode, f"mode: {answer.mode}"), style="dim"))
    if answer.degraded:
        console.print(Text("degraded answer: see the warnings below", style="bold yellow"))
    print_steps(console, answer.steps)
    console.print()
    if answer.abstained:
        console.print(Text(safe(answer.answer), style="bold yellow"))
        if answer.nearest:
            console.print(Text("\nNearest passages (they do not answer it):", style="dim"))
            for c in answer.nearest:
                line = Text(f"  [{c.n}] {source_label(c.published, c.outlet, c.file)}\n      ", style="dim")
                line.append(safe(c.quote[:220]) + ("…" if len(c.quote) > 220 else ""))
                carried = carried_line(c.also_carried_by)
                if carried:
                    line.append(f"\n      {carried}", style="dim")
                console.print(line)
    else:
        if answer.about:
            console.print(Text(("عن: " if answer.lang == "ar" else "about: ") + safe(answer.about), style="bold"))
        if answer.lead:
            console.print(Text(safe(answer.lead), style="italic"))
        print_sentences(console, answer)
        if answer.mode == "llm" and answer.sentences:
            print_checked(console, answer)
        print_sources(console, answer)
    for warning in answer.warnings:
        console.print(Text(f"note: {warning}", style="yellow"))


def print_checked(console: Console, answer: Answer) -> None:
    """"citations checked: 2/3 sentences supported" (green when all are)."""
    ok = sum(s.supported for s in answer.sentences)
    style = "green" if ok == len(answer.sentences) else "bold red"
    console.print(Text(f"citations checked: {ok}/{len(answer.sentences)} sentences supported", style=style))


def print_steps(console: Console, steps: list[Step]) -> None:
    """The tools an answer called, one line each: "step 1 · events: 7 calls · 4 ms"."""
    for i, step in enumerate(steps, start=1):
        console.print(Text(f"step {i} · {safe(step_line(step))}", style="dim"))


class StepPrinter:
    """Prints each tool call as it is made ("… searching 'حلب': 5 passages · 12 ms"), to stderr in `dalil ask`."""

    def __init__(self, console: Console) -> None:
        self.console = console

    def __call__(self, step: Step) -> None:
        self.console.print(Text(f"… {safe(step_line(step))}", style="dim"))


def step_line(step: Step) -> str:
    if step.error:
        return f"{display(step.tool)}: refused: {display(step.error.removeprefix(f'{step.tool}: '))}"
    return f"{display(step.summary or step.tool)} · {step.seconds * 1000:.0f} ms"


class StreamPrinter:
    """Prints model text as it streams (sanitized), before citations are checked."""

    def __init__(self, console: Console) -> None:
        self.console = console
        self.started = False

    def __call__(self, delta: str) -> None:
        if not self.started:
            self.console.print(Text(MODE_LINES["llm"] + " (streaming; checked below)", style="dim"))
            self.started = True
        self.console.file.write(safe(delta))
        self.console.file.flush()

    def finish(self) -> None:
        self.console.file.write("\n")
        self.console.file.flush()


def print_verification(console: Console, answer: Answer) -> None:
    """After a streamed answer: the checked sentences (unsupported ones marked), sources, warnings."""
    console.print()
    if answer.abstained or answer.mode != "llm":
        print_answer(console, answer)
        return
    print_checked(console, answer)
    if not all(s.supported for s in answer.sentences) or answer.degraded:
        print_sentences(console, answer)
    print_sources(console, answer)
    for warning in answer.warnings:
        console.print(Text(f"note: {warning}", style="yellow"))


def print_sentences(console: Console, answer: Answer) -> None:
    for sentence in answer.sentences or []:
        line = Text(safe(sentence.text))
        if sentence.citations:
            line.append(" " + "".join(f"[{n}]" for n in sentence.citations), style="bold cyan")
        if not sentence.supported:
            line.stylize("red")
            line.append("  ⚠ unsupported: " + "; ".join(sentence.problems or ["no citation"]), style="bold red")
        console.print(line)


def print_sources(console: Console, answer: Answer) -> None:
    if not answer.citations:
        return
    console.print(Text("\nSources", style="bold"))
    for c in answer.citations:
        line = Text(f"[{c.n}] ", style="bold cyan")
        line.append(source_label(c.published, c.outlet, c.file), style="cyan")
        line.append(f"  chars {c.start}–{c.end}\n    «{safe(c.quote)}»")
        for note in c.dates:
            flag = "  ⚠ weekday does not match" if note.weekday_mismatch else ""
            line.append(f"\n    date: {safe(note.phrase)} = {note.date or 'period'}{flag}", style="dim")
        carried = carried_line(c.also_carried_by)
        if carried:
            line.append(f"\n    {carried}", style="dim")
        console.print(line)


def print_ingest(console: Console, report: dict[str, Any]) -> None:
    table = Table(title="ingest", show_header=False, box=None)
    for key in ("added", "updated", "unchanged"):
        table.add_row(key, str(report[key]))
    if report.get("repaired"):
        table.add_row("repaired", str(report["repaired"]))  # half-written by a crashed run, written again
    if report.get("reanalyzed"):
        table.add_row("reanalyzed", str(report["reanalyzed"]))  # chunks whose terms another lexicon made
    table.add_row("duplicates", str(len(report["duplicates"])))
    table.add_row("chunks written", str(report["chunks"]))
    web_failed = sum(f["error"] is not None for f in report.get("web", {}).get("feeds", [])) + \
        sum(i["status"] == "failed" for i in report.get("web", {}).get("items", []))
    table.add_row("failed", str(len(report["errors"]) + web_failed))
    table.add_row("seconds", f"{report['seconds']:.2f}")
    console.print(table)
    for dup in report["duplicates"]:
        console.print(Text(f"skipped {display(dup['file'])}: same text as {display(dup['same_as'])}", style="dim"))
    web_files = {item["url"] for item in report.get("web", {}).get("items", [])}
    for enc_file, enc in report["encodings"].items():
        if enc != "utf-8" and enc_file.split("#", 1)[-1] not in web_files:
            console.print(Text(f"{display(enc_file)}: decoded as {display(enc)}", style="dim"))
    if "web" in report:
        print_web(console, report["web"])


_DATE_SOURCES = {"page": "", "text": " (from the text)", "feed": " (the feed's date)", "none": ""}


def print_web(console: Console, web: dict[str, Any]) -> None:
    """The feeds read and the pages that landed, one line each (failures go to stderr, one line each, from the command)."""
    for feed in web["feeds"]:
        if not feed["error"]:
            console.print(Text(f"feed {display(mask_url(feed['url']) or '')}: {feed['items']} items, {feed['new']} new", style="dim"),
                          soft_wrap=True)
    for item in web["items"]:
        if item["status"] == "failed":
            continue
        date = (item["published"] or "no date") + _DATE_SOURCES.get(item["date_source"] or "", "")
        line = f"{item['status']:<9} {display(mask_url(item['url']) or '')} · {safe(item['title'] or 'untitled')} · {date} · {safe(item['outlet'])}"
        if item["encoding"] not in (None, "utf-8"):
            line += f" · decoded as {display(item['encoding'])}"
        console.print(Text(line), soft_wrap=True)  # one line per page, as in a log


def print_articles(console: Console, articles: list[StoredArticle]) -> None:
    """``dalil articles list``: one row an article (id, day, outlet, title or first words, chunks, events)."""
    if not articles:
        console.print(Text("No articles match.", style="yellow"))
        return
    table = Table(box=None, pad_edge=False)
    widest_id = max(len(a.doc_id) for a in articles)
    for column, least in (("id", widest_id), ("published", 10), ("outlet", 8), ("title / first words", 12), ("chunks", 6),
                          ("events", 6)):  # the title gives way on a narrow terminal, the id never does
        table.add_column(column, justify="right" if column in ("chunks", "events") else "left", no_wrap=True, min_width=least,
                         overflow="ellipsis", ratio=1 if column.startswith("title") else None)
    for a in articles:
        table.add_row(Text(a.doc_id), Text(safe(a.published or "undated")), Text(safe(a.outlet or "unknown outlet")),
                      Text(safe(a.title or a.opening or a.file)), str(a.chunks), "" if a.events is None else str(a.events))
    console.print(table)
    console.print(Text(f"{len(articles)} article(s)", style="dim"))


def print_article(console: Console, article: ArticleDetail) -> None:
    """``dalil articles show``: the metadata, the original text, its chunks with their offsets, its events with their dates."""
    console.print(Text(f"{article.doc_id}  {source_label(article.published, article.outlet, article.file)}", style="bold"))
    for key in ("title", "url", "language"):
        value = getattr(article, key)
        if value:
            console.print(Text(f"{key}: {safe(value)}", style="dim"))
    console.print(Text("\nText", style="bold"))
    console.print(Text(safe(article.text)))
    console.print(Text(f"\nChunks ({len(article.passages)})", style="bold"))
    for c in article.passages:
        console.print(Text(f"#{c.ordinal}  paragraph {c.paragraph}  chars {c.start}–{c.end}", style="cyan"))
        console.print(Text(safe(c.text)))
    grouped: dict[str, list[Any]] = {}
    for report in article.reported:  # an event the article reports in several passages: one entry, its passages under it
        grouped.setdefault(report.event, []).append(report)
    console.print(Text(f"\nEvents ({len(grouped)})", style="bold"))
    if not grouped:
        console.print(Text("no dated event found in this article", style="dim"))
    for number, (event, reports) in enumerate(grouped.items(), start=1):
        first = reports[0]
        line = Text(f"event {number}: {safe(first.date)}  {first.label}", style="bold cyan")
        if first.participants:
            line.append(" · " + safe(", ".join(first.participants)))
        line.append(f"  ({event})", style="dim")
        console.print(line)
        for explanation in dict.fromkeys(r.explanation for r in reports):
            console.print(Text(f"  date: {safe(explanation)}", style="dim"))
        for r in reports:
            console.print(Text(f"  chars {r.evidence_start}: «{safe(r.evidence)}»"))


def print_settings(console: Console, data: dict[str, Any], source: str | None) -> None:
    console.print(Text(f"config file: {display(source) if source else '(none)'}", style="dim"))
    for section, values in data.items():
        if isinstance(values, dict):
            for key, value in values.items():
                console.print(Text(f"{section}.{key} = {value!r}"))
        else:
            console.print(Text(f"{section} = {values!r}"))


def print_checks(console: Console, checks: list[Any]) -> None:
    for check in checks:
        line = Text("✓ " if check.ok else "✗ ", style="green" if check.ok else "bold red")
        line.append(f"{check.name}: ", style="bold")
        line.append(safe(check.detail))
        if not check.ok and check.fix:
            line.append(f"\n    fix: {display(check.fix)}", style="yellow")
        console.print(line)
