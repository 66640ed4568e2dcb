"""Gold sources located in their articles, and whether a passage or citation matches one.

A retrieved chunk (or a cited quote) matches a gold source when it comes from the same
file AND either its normalized text contains the normalized quote, or its character
span overlaps the quote's span (found with ``str.find``) by at least half the quote.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from agent.evals.suite import Item, Suite
from agent.evals.textnorm import norm
from agent.text import arabic

MIN_OVERLAP = 0.5


@dataclass(frozen=True)
class GoldSpan:
    """One gold quote: its file name, normalized text and character span in the article."""

    file: str
    quote: str
    start: int
    end: int

    @property
    def length(self) -> int:
        return self.end - self.start


def gold_spans(item: Item, suite: Suite) -> list[GoldSpan]:
    """The item's gold sources located in the suite's corpus texts."""
    spans = []
    for source in item.sources:
        text = suite.text_of(source.file)
        start = text.find(source.quote)
        spans.append(GoldSpan(Path(source.file).name, norm(source.quote), start, start + len(source.quote)))
    return spans


def overlap(a_start: int, a_end: int, b_start: int, b_end: int) -> int:
    """Characters shared by the half-open spans ``[a_start, a_end)`` and ``[b_start, b_end)``."""
    return max(0, min(a_end, b_end) - max(a_start, b_start))


def matches(gold: GoldSpan, file: str, text: str, start: int, end: int) -> bool:
    """Does the passage ``text`` at ``[start, end)`` of ``file`` match ``gold``?"""
    if Path(file).name != gold.file:
        return False
    if gold.quote and gold.quote in norm(text):
        return True
    return gold.start >= 0 and overlap(start, end, gold.start, gold.end) >= MIN_OVERLAP * gold.length


def matched(golds: list[GoldSpan], file: str, text: str, start: int, end: int) -> list[int]:
    """Indices of the gold sources the passage matches."""
    return [i for i, g in enumerate(golds) if matches(g, file, text, start, end)]


def reference_sentences(item: Item, suite: Suite) -> list[str]:
    """The item's reference sentences: each gold quote and every article sentence it overlaps.

    A quote is often a clause; an extractive answer quotes whole sentences. An answer that
    contains any of these (after normalization) quotes the reference (``answer_hit``).
    """
    found: list[str] = []
    for source in item.sources:
        text = suite.text_of(source.file)
        start = text.find(source.quote)
        found.append(source.quote)
        if start < 0:
            continue
        end = start + len(source.quote)
        found += [span.of(text) for span in arabic.sentence_spans(text) if span.start < end and start < span.end]
    return list(dict.fromkeys(found))
