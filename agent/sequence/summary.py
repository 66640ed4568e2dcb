"""The bilingual summary: timeline → an Arabic and an English section, same events, same order, same markers.

Offline, the Arabic side quotes each event's evidence verbatim (one sentence) and the
English side gives the event's structured facts (date, type, people, initiator, topics)
while saying that translation needs an LLM endpoint. With an LLM, the model writes both
sides as JSON pairs (``prompts/summary_*.txt``); every sentence of each side is then
checked with ``agent.citations.verify`` and the two sides' markers are compared.
"""

from __future__ import annotations

import datetime as dt
import json
import re
from typing import TYPE_CHECKING, Literal

from pydantic import BaseModel, Field, ValidationError

from agent import arabic
from agent.citations import split_claims, verify
from agent.generate import render_passage
from agent.llm import load_prompt
from agent.schema import Citation
from agent.sequence.corpus import citation_node
from agent.sequence.models import TYPE_LABELS, Event, Timeline
from agent.sequence.timeline import markers

if TYPE_CHECKING:
    from agent.lexicon import Analyzer
    from agent.llm import ChatClient

TRANSLATION_NOTE = (
    "Translation needs an LLM endpoint: offline, each English line gives the event's date, type, people, initiator and "
    "topics as extracted by the rules — the Arabic quotes are not translated."
)
_MARKER = re.compile(r"\[\s*([0-9٠-٩]+(?:\s*[,،]\s*[0-9٠-٩]+)*)\s*\]")


class SummarySentence(BaseModel):
    event: str = Field(description="id of the timeline event it covers")
    text: str = Field(description="the sentence without its markers")
    citations: list[int]
    supported: bool
    support: float = 0.0
    problems: list[str] = Field(default_factory=list)


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


def first_sentence(text: str) -> str:
    spans = arabic.sentence_spans(text)
    return spans[0].of(text) if spans else text


def _units(event: Event) -> list[tuple[str, str, list[int]]]:
    """(Arabic quote, English line, markers) per event; one per version when the sources disagree (the first
    date or initiator dispute, then each side's account when they differ about what was said)."""
    date = event.date.spoken
    units = []
    dispute = next((d for d in event.disagreements if d.field != "what_was_said"), None)
    if dispute is not None:
        for version in dispute.versions:
            report = next(r for r in event.reports if r.id in version.reports)
            en = f"{date}: {TYPE_LABELS[event.type]}, {dispute.field} according to {report.outlet or report.file}: {version.value}."
            units.append((first_sentence(report.text), en, version.citations))
    said = next((d for d in event.disagreements if d.field == "what_was_said"), None)
    if said is not None:
        dated_by = event.reports[0].citations[0].n  # the passage the event's date comes from
        for version in said.versions:
            main = version.main_account()
            numbers = version.citations
            if units:  # the date is already given (and cited) by the event's first sentence
                en = f"The same {TYPE_LABELS[event.type]}, according to {version.value} — {version.said()}."
            else:
                en = f"{date}: {TYPE_LABELS[event.type]}, what was said according to {version.value} — {version.said()}."
                numbers = sorted({*numbers, dated_by})
            units.append((first_sentence(main.quote if main else event.what_ar), en, numbers))
    return units or [(first_sentence(event.what_ar), f"{date}: {event.what_en}", event.citation_numbers)]


def _offline_summary(timeline: Timeline, analyzer: Analyzer) -> Summary:
    citations = timeline.citations()
    passages = [citation_node(c) for c in citations]
    arabic_side, english_side = [], []
    for event in timeline.events:
        for ar, en, numbers in _units(event):
            # a verbatim quote of a cited passage: the slot checks are for a model's own sentences
            arabic_side.append(_checked(event.id, ar, numbers, passages, analyzer, strict=False))
            english_side.append(_checked(event.id, en, numbers, passages, analyzer, strict=False))  # Dalil's template line
    return Summary(
        mode="extractive", date_from=timeline.date_from, date_to=timeline.date_to, events=[e.id for e in timeline.events],
        arabic=arabic_side, english=english_side, english_note=TRANSLATION_NOTE, parity=True, citations=citations,
        warnings=list(timeline.warnings),
    )


def _checked(event_id: str, text: str, numbers: list[int], passages, analyzer: Analyzer, strict: bool = True,
             known: list[str] | None = None) -> SummarySentence:
    """One summary sentence verified against the passages its markers point to (``strict``: every
    content word; ``False`` only for Dalil's own English template lines; ``known``: the event's
    participants, see ``citations.verify``)."""
    clean = _MARKER.sub("", text).strip()
    checked = verify(f"{clean} {markers(numbers)}" if numbers else clean, passages, analyzer, strict=strict, known=known or ())
    problems = list(dict.fromkeys(p for s in checked.sentences for p in s.problems))
    if checked.dangling:
        problems.append("cites passages that do not exist: " + ", ".join(map(str, checked.dangling)))
    support = min((s.support for s in checked.sentences), default=0.0)
    return SummarySentence(event=event_id, text=clean, citations=numbers, supported=not problems, support=support, problems=problems)


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
    """The summary as Markdown: the Arabic section (``dir="rtl"``), the English section, the sources."""
    import html

    from agent.render import safe

    def esc(text: str | None) -> str:
        return html.escape(safe(text or ""), quote=False)

    span = f" ({summary.date_from or '…'} – {summary.date_to or '…'})" if summary.date_from or summary.date_to else ""
    lines = [f"# The sequence{span}", "", f"_Dalil · mode: {summary.mode} · {len(summary.events)} events_", "", "## العربية", ""]
    lines.append('<div dir="rtl" lang="ar">')
    lines += [f"<p>{esc(s.text)} {markers(s.citations)}{'' if s.supported else ' ⚠'}</p>" for s in summary.arabic]
    lines += ["</div>", "", "## English", ""]
    if summary.english_note:
        lines += [f"_{summary.english_note}_", ""]
    lines += [f"- {esc(s.text)} {markers(s.citations)}{'' if s.supported else ' ⚠ ' + esc('; '.join(s.problems))}" for s in summary.english]
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
            line = Text(safe(s.text))
            line.append(" " + markers(s.citations), style="bold cyan")
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
