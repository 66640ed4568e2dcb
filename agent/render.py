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

from agent.safety import display
from agent.schema import Answer, Carrier, SearchResult, Step

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
    table.add_row("duplicates", str(len(report["duplicates"])))
    table.add_row("chunks written", str(report["chunks"]))
    table.add_row("failed", str(len(report["errors"])))
    table.add_row("seconds", f"{report['seconds']:.2f}")
    console.print(table)
    for dup in report["duplicates"]:
        console.print(Text(f"skipped {display(dup['file'])}: same text as {display(dup['same_as'])}", style="dim"))
    for enc_file, enc in report["encodings"].items():
        if enc != "utf-8":
            console.print(Text(f"{display(enc_file)}: decoded as {display(enc)}", style="dim"))


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
