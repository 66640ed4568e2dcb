"""The bilingual summary: timeline → an Arabic and an English section, same events, same order, same markers.

Offline, each event is one pair of paragraphs (``agent.sequence.paragraphs``), or one per side when the
sides' accounts differ: the Arabic one opens with the event's label (type and resolved date) and quotes
the sentences that report it verbatim, each once in the summary; the English one is short sentences
built only from the event's extracted facts, each cited, marked ``derived`` (not a translation). With
an LLM, the model writes both sides as JSON pairs (``prompts/summary_*.txt``); every sentence of each
side is then checked with ``agent.answer.citations.verify`` and the two sides' markers are compared.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, ValidationError

from agent.answer.citations import split_claims
from agent.answer.generate import render_passage
from agent.answer.llm import load_prompt
from agent.events.corpus import citation_node
from agent.events.models import TYPE_LABELS, Event, Timeline
from agent.schema import Citation
from agent.sequence.paragraphs import DERIVED_LABEL, SummarySentence, paragraph_text, shown_parts
from agent.sequence.paragraphs import checked as _checked
from agent.sequence.paragraphs import pairs as event_pairs
from agent.sequence.timeline import markers, timeline_for
from agent.text import arabic

if TYPE_CHECKING:
    from agent.answer.llm import ChatClient
    from agent.pipeline import Dalil
    from agent.text.lexicon import Analyzer

TRANSLATION_NOTE = (
    "Offline, each English sentence is derived: it states only facts extracted for its event (who, what, when, who "
    "initiated it, whose account), cited like the Arabic quotes. Translation needs an LLM endpoint: the quotes are not translated."
)
_MARKER = re.compile(r"\[\s*([0-9٠-٩]+(?:\s*[,،]\s*[0-9٠-٩]+)*)\s*\]")


class Summary(BaseModel):
    mode: Literal["extractive", "llm"]
    date_from: dt.date | None = None
    date_to: dt.date | None = None
    events: list[str] = Field(description="event ids, in timeline order")
    arabic: list[SummarySentence]
    english: list[SummarySentence]
    english_note: str | None = None
    parity: bool = Field(description="every Arabic/English pair cites the same markers in the same order")
    citations: list[Citation]
    degraded: bool = False
    warnings: list[str] = Field(default_factory=list)


def marker_list(text: str) -> list[int]:
    """The ``[n]`` markers of ``text`` in order (``[1][2]`` and ``[1, 2]`` alike)."""
    return [int(arabic.normalize(n)) for group in _MARKER.findall(text) for n in re.split(r"\s*[,،]\s*", group)]


def summary_for(dalil: Dalil, mode: str | None = None, date_from: dt.date | None = None, date_to: dt.date | None = None) -> Summary:
    """The summary of the store's timeline (``dalil summarize`` and the server's /v1/summarize)."""
    line = timeline_for(dalil, mode, date_from, date_to)
    return summarize(line, dalil.analyzer, dalil.chat if line.mode == "llm" else None)


def summarize(timeline: Timeline, analyzer: Analyzer, client: ChatClient | None = None) -> Summary:
    """The bilingual summary of ``timeline`` (LLM when ``client`` is given, else offline)."""
    if client is not None and timeline.events:
        summary = _llm_summary(timeline, analyzer, client)
        if summary is not None:
            return summary
        offline = _offline_summary(timeline, analyzer)
        offline.degraded = True
        offline.warnings.insert(0, "the model's summary was not usable JSON; showing the offline summary instead")
        return offline
    return _offline_summary(timeline, analyzer)


# ---------------------------------------------------------------------- offline


def _offline_summary(timeline: Timeline, analyzer: Analyzer) -> Summary:
    arabic_side, english_side = [], []
    for ar, en in event_pairs(timeline, analyzer):
        arabic_side.append(ar)
        english_side.append(en)
    return Summary(
        mode="extractive", date_from=timeline.date_from, date_to=timeline.date_to, events=[e.id for e in timeline.events],
        arabic=arabic_side, english=english_side, english_note=TRANSLATION_NOTE,
        parity=all(a.citations == e.citations for a, e in zip(arabic_side, english_side, strict=True)),
        citations=timeline.citations(), warnings=list(timeline.warnings),
    )


# ---------------------------------------------------------------------- LLM


class _Pair(BaseModel):
    event: str
    ar: str
    en: str


class _Pairs(BaseModel):
    sentences: list[_Pair]


def _event_line(event: Event) -> str:
    line = f"- {event.id} · {event.date.label} · {TYPE_LABELS[event.type]} · {', '.join(event.participants) or '-'}"
    for d in event.disagreements:
        versions = [f"{v.value}" + (f" ({v.said()})" if v.accounts else "") + f" {markers(v.citations)}" for v in d.versions]
        line += f" · SOURCES DISAGREE about {d.label}: " + " vs ".join(versions)
    return line + f" · cite {markers(event.citation_numbers)}"


def _llm_summary(timeline: Timeline, analyzer: Analyzer, client: ChatClient) -> Summary | None:
    citations = timeline.citations()
    passages = [citation_node(c) for c in citations]
    user = load_prompt("summary_user.txt").format(
        events="\n".join(_event_line(e) for e in timeline.events),
        passages="\n".join(render_passage(c.n, p) for c, p in zip(citations, passages, strict=True)),
    )
    messages = [{"role": "system", "content": load_prompt("summary_system.txt")}, {"role": "user", "content": user}]
    completion = client.complete(messages, max_tokens=max(client.settings.max_tokens, 2000))
    match = re.search(r"\{.*\}", completion.text, re.DOTALL)
    try:
        pairs = _Pairs.model_validate(json.loads(match.group(0))).sentences if match else None
    except (json.JSONDecodeError, ValidationError):
        pairs = None
    if not pairs:
        return None
    order = {e.id: i for i, e in enumerate(timeline.events)}
    arabic_side, english_side, warnings = [], [], list(timeline.warnings)
    parity, last = True, -1
    for pair in pairs:
        ar_markers, en_markers = marker_list(pair.ar), marker_list(pair.en)
        known = next((e.participants for e in timeline.events if e.id == pair.event), [])  # names the event's quote may omit
        ar = _checked(pair.event, _one_sentence(pair.ar), ar_markers, passages, analyzer, known=known)
        en = _checked(pair.event, _one_sentence(pair.en), en_markers, passages, analyzer, known=known)
        if ar_markers != en_markers:
            parity = False
            for side in (ar, en):
                side.problems.append(f"markers differ between Arabic {markers(ar_markers)} and English {markers(en_markers)}")
                side.supported = False
        position = order.get(pair.event)
        if position is None:
            for side in (ar, en):
                side.problems.append(f"refers to an event that is not in the timeline: {pair.event!r}")
                side.supported = False
        elif position < last:
            warnings.append(f"the model's sentence for {pair.event} is out of timeline order")
            parity = False
        else:
            last = position
        arabic_side.append(ar)
        english_side.append(en)
    covered = {p.event for p in pairs}
    missing = [e.id for e in timeline.events if e.id not in covered]
    if missing:
        warnings.append(f"{len(missing)} event(s) not covered by the model's summary: " + ", ".join(missing))
    unsupported = sum(not s.supported for s in arabic_side + english_side)
    if unsupported:
        warnings.append(f"{unsupported} of {2 * len(pairs)} sentence(s) could not be verified against their citations")
    return Summary(
        mode="llm", date_from=timeline.date_from, date_to=timeline.date_to, events=[e.id for e in timeline.events],
        arabic=arabic_side, english=english_side, parity=parity, citations=citations, degraded=not parity,
        warnings=warnings,
    )


def _one_sentence(text: str) -> str:
    """The pair's text without markers (several model sentences are kept together)."""
    return " ".join(t for t, _ in split_claims(text)) or _MARKER.sub("", text).strip()


def summary_markdown(summary: Summary) -> str:
    """The summary as Markdown: the Arabic section (``dir="rtl"``), the English section, the sources. Text from
    the articles and the model goes through ``safety.markdown_text`` (as in ``brief-D.md``)."""
    from agent.safety import markdown_text as esc

    span = f" ({summary.date_from or '…'} – {summary.date_to or '…'})" if summary.date_from or summary.date_to else ""
    lines = [f"# The sequence{span}", "", f"_Dalil · mode: {summary.mode} · {len(summary.events)} events_", "", "## العربية", ""]
    lines.append('<div dir="rtl" lang="ar">')
    lines += [f"<p>{esc(paragraph_text(s))}{'' if s.supported else ' ⚠'}</p>" for s in summary.arabic]
    lines += ["</div>", "", "## English", ""]
    if summary.english_note:
        lines += [f"_{esc(summary.english_note)}_", ""]
    for s in summary.english:
        mark = f"_{DERIVED_LABEL}_ " if s.derived else ""
        lines.append(f"- {mark}{esc(paragraph_text(s))}{'' if s.supported else ' ⚠ ' + esc('; '.join(s.problems))}")
    lines += ["", "## Sources", ""]
    for c in summary.citations:
        lines.append(f"{c.n}. {esc(c.outlet or 'unknown outlet')} · {c.published} · `{esc(c.file)}` chars {c.start}–{c.end}")
        lines.append(f'   <div dir="rtl" lang="ar">«{esc(c.quote)}»</div>')
    lines += [f"\n> note: {esc(w)}" for w in summary.warnings]
    return "\n".join(lines) + "\n"


def print_summary(console, summary: Summary) -> None:
    from rich.text import Text

    from agent.render import safe, source_label
    from agent.sequence.timeline import clip

    head = "mode: llm: written by the model, every citation checked" if summary.mode == "llm" else \
        "mode: extractive (no LLM): Arabic quoted verbatim, English from the extracted facts"
    console.print(Text(head, style="dim"))
    if summary.degraded:
        console.print(Text("degraded summary: see the warnings below", style="bold yellow"))
    for title, side in (("العربية", summary.arabic), ("English", summary.english)):
        console.print(Text(f"\n{title}", style="bold"))
        if title == "English" and summary.english_note:
            console.print(Text(summary.english_note, style="dim"))
        for s in side:
            line = Text(f"{DERIVED_LABEL} " if s.derived else "", style="dim")
            if s.lead:
                line.append(safe(s.lead) + ": ", style="bold")
            for i, part in enumerate(shown_parts(s)):
                english = part.text.endswith(".") and not arabic.is_arabic(part.text)  # markers before its period
                line.append((" " if i else "") + safe(part.text[:-1] if english else part.text) + (" " if part.text else ""))
                line.append(markers(part.citations), style="bold cyan")
                line.append("." if english else "")
            if not s.supported:
                line.append("  ⚠ " + "; ".join(s.problems), style="bold red")
            console.print(line)
    console.print(Text(f"\ncitation parity (same markers, same order, both languages): {'yes' if summary.parity else 'NO'}",
                       style="green" if summary.parity else "bold red"))
    console.print(Text("\nSources", style="bold"))
    for c in summary.citations:
        line = Text(f"[{c.n}] ", style="bold cyan")
        line.append(source_label(c.published, c.outlet, c.file), style="cyan")
        line.append(f"  chars {c.start}–{c.end}\n    «{clip(c.quote, 300)}»")
        console.print(line)
    for w in summary.warnings:
        console.print(Text(f"note: {safe(w)}", style="yellow"))
