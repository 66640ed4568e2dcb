"""Articles for the event extraction: the store's documents with their chunks, and their citations.

``Article`` is a plain value (tests build them directly); ``load_articles`` reads them from
the store's registry. ``citation`` builds a ``Citation`` of any span of an article, its relative
dates resolved (``date_notes``): every answerer (``agent.answer.answers``) and the sequence
commands build theirs with it, so their JSON is the same. ``Citer`` numbers verbatim quotes once
per run (quote == article text[start:end]).
"""

from __future__ import annotations

import datetime as dt
from dataclasses import dataclass, field
from typing import TYPE_CHECKING

from agent.errors import DalilError
from agent.schema import Citation, DateNote

if TYPE_CHECKING:
    from llama_index.core.schema import NodeWithScore

    from agent.pipeline import Dalil


@dataclass(frozen=True)
class Article:
    doc_id: str
    file: str
    published: dt.date
    outlet: str | None
    text: str
    chunks: tuple[tuple[str, int, int], ...] = ()  # (chunk_id, start, end)
    url: str | None = None

    def chunk_id(self, start: int, end: int) -> str:
        """The stored chunk holding most of ``[start, end)`` (a synthetic id when there is none)."""
        best, overlap = None, 0
        for chunk_id, s, e in self.chunks:
            shared = min(e, end) - max(s, start)
            if shared > overlap:
                best, overlap = chunk_id, shared
        return best or f"{self.doc_id}:{start}-{end}"


def load_articles(dalil: Dalil) -> tuple[list[Article], list[str]]:
    """Every stored article with a publication date, oldest first; warnings for the others."""
    registry = dalil.store.registry
    docs, _ = registry.counts()
    if not docs:
        raise DalilError(f"the store at {dalil.settings.store.path} is empty: run `dalil ingest seeds` first")
    chunks: dict[str, list[tuple[str, int, int]]] = {}
    for c in registry.chunks():
        chunks.setdefault(c.doc_id, []).append((c.chunk_id, c.start_char, c.end_char))
    articles, warnings = [], []
    for doc in registry.documents():
        if not doc.published:
            warnings.append(f"{doc.file}: no publication date, so its relative dates cannot be resolved; left out")
            continue
        articles.append(Article(
            doc_id=doc.doc_id, file=doc.file, published=dt.date.fromisoformat(doc.published[:10]), outlet=doc.outlet,
            text=doc.text, chunks=tuple(chunks.get(doc.doc_id, ())), url=doc.url,
        ))
    articles.sort(key=lambda a: (a.published, a.file))
    return articles, warnings


def date_notes(quote: str, published: str | None) -> list[DateNote]:
    """Relative dates in ``quote`` resolved against the publication date (none when undated)."""
    from agent.text.dates import resolve_dates

    if not published:
        return []
    return [
        DateNote(phrase=r.phrase, date=r.date.isoformat() if r.date else None, explanation=r.explanation,
                 weekday_mismatch=r.weekday_mismatch)
        for r in resolve_dates(quote, dt.date.fromisoformat(published), lang="any")
    ]


def citation(n: int, quote: str, start: int, end: int, *, chunk_id: str, doc_id: str, file: str,
             published: str | None, outlet: str | None) -> Citation:
    """Citation ``[n]`` of ``quote``, the article's text from ``start`` to ``end``, with its dates resolved."""
    return Citation(
        n=n, chunk_id=chunk_id, doc_id=doc_id, file=file, published=published, outlet=outlet,
        quote=quote, start=start, end=end, dates=date_notes(quote, published),
    )


@dataclass
class Citer:
    """Numbers quotes in first-seen order; the same span always gets the same number."""

    numbers: dict[tuple[str, int, int], int] = field(default_factory=dict)
    reserved: int = 0  # numbers taken by reports read from the event index (``reserve``)

    def cite(self, article: Article, start: int, end: int) -> Citation:
        key = (article.doc_id, start, end)
        n = self.numbers.setdefault(key, self.reserved + len(self.numbers) + 1)
        return citation(n, article.text[start:end], start, end, chunk_id=article.chunk_id(start, end),
                        doc_id=article.doc_id, file=article.file, published=article.published.isoformat(),
                        outlet=article.outlet)

    def reserve(self, count: int) -> int:
        """Take the next ``count`` numbers (for an article whose reports were numbered 1..count on their
        own); returns the offset to add to them."""
        offset = self.reserved + len(self.numbers)
        self.reserved += count
        return offset


def citation_node(citation: Citation) -> NodeWithScore:
    """A citation as a retrieved passage (for ``agent.answer.citations.verify``)."""
    from llama_index.core.schema import NodeWithScore, TextNode

    meta = {
        "doc_id": citation.doc_id, "file": citation.file, "published": citation.published or "",
        "outlet": citation.outlet or "", "start_char": citation.start, "end_char": citation.end,
    }
    return NodeWithScore(node=TextNode(id_=citation.chunk_id, text=citation.quote, metadata=meta), score=1.0)
