"""Answer parts shared by every answerer: citations of verbatim quotes, and abstentions.

A ``Citation`` is built here from a retrieved passage (or any span of a stored article) with
the relative dates of its quote resolved against the publication date; an abstention is an
``Answer`` that says the articles do not answer, in the question's language, and offers the
nearest passages. The offline answerer, the LLM answerer, the verifier and the sequence
commands all build them here, so their JSON is the same.
"""

from __future__ import annotations

import datetime as dt

from llama_index.core.schema import NodeWithScore

from agent.schema import Answer, AnswerMode, Citation, DateNote

ABSTAIN_AR = "لا تجيب المقالات المخزنة عن هذا السؤال."
ABSTAIN_EN = "The stored articles do not answer this question."
NEAREST = 3  # passages offered with an abstention


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


def citation_for(n: int, passage: NodeWithScore, start: int, end: int, quote: str) -> Citation:
    """Citation ``[n]`` of ``quote`` (article offsets ``start``..``end``) inside a retrieved passage."""
    meta = passage.node.metadata
    return citation(n, quote, start, end, chunk_id=passage.node.node_id, doc_id=meta["doc_id"], file=meta["file"],
                    published=meta.get("published") or None, outlet=meta.get("outlet") or None)


def passage_citation(n: int, passage: NodeWithScore) -> Citation:
    """Citation ``[n]`` of a whole retrieved passage."""
    meta = passage.node.metadata
    return citation_for(n, passage, int(meta["start_char"]), int(meta["end_char"]), passage.node.get_content())


def abstention(question: str, lang: str, passages: list[NodeWithScore], mode: AnswerMode,
               warnings: list[str] | None = None) -> Answer:
    """The answer that says the stored articles do not answer ``question``, with the nearest passages."""
    return Answer(
        question=question, mode=mode, answer=ABSTAIN_AR if lang == "ar" else ABSTAIN_EN, abstained=True,
        citations=[], nearest=[passage_citation(i, p) for i, p in enumerate(passages[:NEAREST], start=1)], lang=lang,
        warnings=list(warnings or []),
    )
